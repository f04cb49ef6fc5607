"""What `digest run` says it did: who got mail, each edition sent or still queued, each error."""

from __future__ import annotations

import click

from digest.runs.run import RunResult, named
from digest.settings import Settings


def finish(result: RunResult, settings: Settings) -> int:
    """Print the run's lines (stdout) and its refusals and errors (stderr); the exit status."""
    for line in lines(result, settings):
        click.echo(line)
    for refused in result.refused:
        click.echo(f"refused: {refused}", err=True)
    for error in result.errors:
        click.echo(f"digest: error: {error}", err=True)
    return result.exit_code


def lines(result: RunResult, settings: Settings) -> list[str]:
    """Delivered recipients first, then each edition; never "nothing new" over a stuck queue."""
    out = []
    if result.accepted:
        where = "SMTP" if settings.is_smtp else "the outbox"
        count = len(result.accepted)
        out.append(f"delivered to {count} recipient(s) via {where}: {named(result.accepted, 10)}")
    if result.status == "nothing-new":
        stuck = "nothing new; a queued message still waits for the next run (see: digest status)"
        return [*out, stuck if result.errors else "nothing new to send"]
    if result.status == "dry-run" and result.digest is not None:
        n = result.digest.article_count
        return [*out, f"dry-run: digest of {n} article(s), saved as {result.eml_path}"]
    saved = [f", saved as {p.eml_path}" for p in result.published]
    return out + [line + path for line, path in zip(result.edition_lines(), saved, strict=True)]
