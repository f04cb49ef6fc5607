"""`digest subscribers ...`: thin commands over the store's reader methods."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from digest.errors import UsageError
from digest.readers.subscribers import (
    PreferenceError,
    check_email,
    parse_preferences,
    preference_fields,
    read_csv,
    unknown_sections,
    write_csv,
)
from digest.records import Subscriber
from digest.store import Store

# the group's Invocation of digest.cli.main (kept loose here to avoid a cycle)
pass_obj = click.pass_obj


@click.group()
def subscribers() -> None:
    """Readers with their own preferences; with any, DIGEST_TO is not used.

    Example: digest subscribers add ann@example.org --sections World --at 07:30
    """


@subscribers.command()
@click.argument("email")
@click.option("--name", help="How to address them.")
@click.option("--every", metavar="daily|weekly", help="Cadence (default daily).")
@click.option("--day", metavar="mon..sun", help="Weekday for --every weekly (default mon).")
@click.option("--at", metavar="HH:MM", help="Time of day (default: DIGEST_SCHEDULE).")
@click.option("--timezone", metavar="IANA", help="e.g. Europe/Paris (default DIGEST_TIMEZONE).")
@click.option("--sections", metavar="A,B", help="Only these sections (any case).")
@click.option("--include", metavar="WORDS", help="Only articles with one of these words/phrases.")
@click.option("--exclude", metavar="WORDS", help="No article with any of these words/phrases.")
@click.option(
    "--max", "max_", metavar="N", help="At most N full entries (default DIGEST_MAX_ARTICLES)."
)
@pass_obj
def add(
    ctx: object, /, email: str, name: str | None, max_: str | None, **options: str | None
) -> None:
    """Add a reader; they get what arrives from now on, not the backlog.

    Lists are comma-separated; words match whole words in the title or text.

    Example: digest subscribers add ann@example.org --every weekly --day fri --at 08:00
    --timezone Europe/Paris --include "climate,solar power" --max 10
    """
    fields = {k: v or "" for k, v in options.items()} | {"max": max_ or ""}
    try:
        address = check_email(email)
        prefs = parse_preferences(fields)
    except PreferenceError as exc:
        what = "EMAIL" if exc.field == "email" else f"--{exc.field}"
        raise UsageError(f"{what} {exc.value!r}: {exc.why}", exc.hint) from None
    with _store(ctx) as store:
        if store.add_subscriber(address, name, prefs, datetime.now(UTC)) is None:
            raise UsageError(f"{address} is already a subscriber", "change them with pause/resume")
        _warn_sections(store, prefs.sections)
    click.echo(f"added {address}")


@subscribers.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_obj
def import_(ctx: object, /, file: Path) -> None:
    """Add the readers of a CSV file; a bad row is reported by line and skipped.

    The header row names any of: email,name,every,day,at,timezone,sections,include,exclude,max
    (and status, as `export` writes it). Empty cells take the default. Exit status 1 when a
    row was skipped.

    Example: digest subscribers import readers.csv
    """
    try:
        rows, problems = read_csv(file.read_text(encoding="utf-8-sig"))
    except PreferenceError as exc:
        raise UsageError(f"{file}:1: {exc.why} ({exc.value!r})", exc.hint) from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{file}: not UTF-8 text ({exc.reason})", "save it as UTF-8 CSV") from None
    lines = [(p.line, p.message) for p in problems]
    added = 0
    now = datetime.now(UTC)
    with _store(ctx) as store:
        for row in rows:
            if store.add_subscriber(row.email, row.name, row.prefs, now, row.status) is None:
                lines.append((row.line, f"{row.email} is already a subscriber; row skipped"))
            else:
                added += 1
        _warn_sections(store, tuple(s for r in rows for s in r.prefs.sections))
    for line, message in sorted(lines):
        click.echo(f"{file}:{line}: {message}", err=True)
    click.echo(f"imported {added} subscriber(s), skipped {len(lines)} row(s)")
    sys.exit(1 if lines else 0)


@subscribers.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per reader, one a line.")
@pass_obj
def list_(ctx: object, /, as_json: bool) -> None:
    """Show every reader: email, name, status, preferences, last sent.

    Example: digest subscribers list --json
    """
    with _store(ctx, readonly=True) as store:
        found = store.subscribers()
    for s in found:
        if as_json:
            click.echo(json.dumps(_as_json(s), ensure_ascii=False))
        else:
            shown = ", ".join(f"{k}={v}" for k, v in preference_fields(s.prefs).items() if v)
            last = f"{s.last_sent:%Y-%m-%d %H:%M}" if s.last_sent else "never"
            click.echo(f"{s.email}\t{s.name or '-'}\t{s.status}\t{shown}\tlast sent {last}")


def _as_json(s: Subscriber) -> dict[str, object]:
    return {
        "email": s.email,
        "name": s.name,
        "status": s.status,
        "preferences": preference_fields(s.prefs),
        "joined": s.joined.isoformat(),
        "last_sent": s.last_sent.isoformat() if s.last_sent else None,
    }


def _status_command(name: str, status: str | None, done: str) -> Callable[..., None]:
    @pass_obj
    def command(ctx: object, /, email: str) -> None:
        with _store(ctx) as store:
            found = store.subscriber_by_email(email.strip())
            if found is None:
                raise UsageError(f"{email} is not a subscriber", "see `digest subscribers list`")
            if status is None:
                store.remove_subscriber(found.id)
            else:
                store.set_status(found.id, status)
        click.echo(f"{done} {found.email}")

    return command


_HELP = {
    "pause": (
        "paused",
        "Stop sending to a reader for now (they keep their place).\n\n"
        "Example: digest subscribers pause ann@example.org",
    ),
    "resume": (
        "active",
        "Send to a reader again; also clears `bouncing`.\n\n"
        "Example: digest subscribers resume ann@example.org",
    ),
    "remove": (
        None,
        "Forget a reader (to keep them out, prefer pause: an import adds them back).\n\n"
        "Example: digest subscribers remove ann@example.org",
    ),
}
for _name, (_status, _doc) in _HELP.items():
    _fn = _status_command(
        _name, _status, {"pause": "paused", "resume": "resumed"}.get(_name, "removed")
    )
    _fn.__doc__ = _doc
    subscribers.command(name=_name, help=_doc)(click.argument("email")(_fn))


@subscribers.command()
@pass_obj
def export(ctx: object, /) -> None:
    """Print every reader as CSV (the columns `import` reads), on stdout.

    Example: digest subscribers export > readers.csv
    """
    with _store(ctx, readonly=True) as store:
        found = store.subscribers()
    for line in write_csv(found):
        click.echo(line, nl=False)


class _store:  # noqa: N801 - used as `with _store(ctx) as store`
    """Open the state store from the command's settings, close it after."""

    def __init__(self, ctx: object, readonly: bool = False) -> None:
        settings = ctx.settings()  # type: ignore[attr-defined]
        self._store = Store.open(settings.state_dir, readonly=readonly)

    def __enter__(self) -> Store:
        return self._store

    def __exit__(self, *exc: object) -> None:
        self._store.close()


def _warn_sections(store: Store, sections: tuple[str, ...]) -> None:
    from digest.records import Preferences

    unknown = unknown_sections(
        Preferences(sections=tuple(dict.fromkeys(sections))), store.known_sections()
    )
    if unknown:
        known = ", ".join(store.known_sections()) or "none yet"
        click.echo(
            f"warning: no article so far had section {', '.join(map(repr, unknown))}"
            f" (known: {known}); kept, in case a feed brings it",
            err=True,
        )
