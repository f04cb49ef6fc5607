"""`digest feeds ...` and `digest fetch`: thin shells over intake.feeds.catalog and .poll."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from digest.errors import UsageError
from digest.settings import Settings


def _settings() -> Settings:
    # The group's object (digest.cli.main.Invocation) loads the settings once per command.
    obj: Any = click.get_current_context().find_root().obj
    settings: Settings = obj.settings()
    return settings


def _now() -> Any:
    from digest.records import utc_now

    return utc_now()


@click.group()
def feeds() -> None:
    """Manage the feeds polled before each run (RSS, Atom, JSON Feed).

    Example: digest feeds add https://example.org/feed.xml
    """


@feeds.command("add")
@click.argument("urls", nargs=-1, required=True)
def feeds_add(urls: tuple[str, ...]) -> None:
    """Add feeds by URL; they are polled on the next run or `digest fetch`.

    Each URL is fetched once: a feed is added with its title and entry count; a
    web page is searched for the feed it announces (<link rel="alternate">).
    Anything else is refused (exit status 2); the other URLs are still added.
    The entries a feed lists already count as new within DIGEST_FEED_BACKLOG_DAYS
    and DIGEST_FEED_BACKLOG_ENTRIES.

    Example: digest feeds add https://example.org/feed.xml https://example.com/
    """
    from digest.intake import fetch
    from digest.intake.feeds import catalog as feedlist
    from digest.intake.feeds import poll as feedrun

    settings, failed = _settings(), 0
    with fetch.Fetcher(feedrun.policy(settings)) as client:
        for url in urls:
            try:
                added = feedlist.add_feed(settings, client, url, now=_now())
            except UsageError as exc:
                failed += 1
                click.echo(f"digest: error: {exc}", err=True)
                continue
            click.echo(added.line())
    if failed:
        sys.exit(UsageError.exit_code)


@feeds.command("remove")
@click.argument("url")
def feeds_remove(url: str) -> None:
    """Stop polling a feed (by its URL now, or as it was added); its seed files stay.

    Example: digest feeds remove https://example.org/feed.xml
    """
    from digest.intake.feeds import catalog as feedlist

    feedlist.remove_feed(_settings(), url)
    click.echo(f"removed: {url}")


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
def feeds_list(as_json: bool) -> None:
    """List the feeds: url, title, status, last success, last error, next poll.

    Status is active, failing (the last poll failed; it is retried with backoff)
    or gone (the server said 410; never polled again).

    Example: digest feeds list --json
    """
    from digest.intake.feeds import catalog as feedlist

    settings = _settings()
    rows = feedlist.list_feeds(settings)
    for row in rows:
        record = feedlist.feed_json(row, timedelta(seconds=settings.feed_interval))
        if as_json:
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        click.echo(f"{record['status']:8} {row.url}  {row.title or '(no title yet)'}")
        click.echo(
            f"         last success {record['last_success'] or 'never'}, next poll"
            f" {record['next_poll'] or ('never' if row.status == 'gone' else 'now')}"
        )
        if row.last_error:
            click.echo(f"         last error: {row.last_error}")
    if not rows and not as_json:
        click.echo("no feeds; add one with: digest feeds add URL")


@feeds.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
def feeds_import(path: Path) -> None:
    """Add every feed an OPML file lists (as feed readers export it; nested folders too).

    Each outline skipped (not http(s), or no xmlUrl) is one line on stderr and
    makes the exit status 1; the others are still added.

    Example: digest feeds import subscriptions.opml
    """
    from digest.intake.feeds import catalog as feedlist

    added, skipped = feedlist.import_opml(_settings(), path, now=_now())
    for line in skipped:
        click.echo(f"digest: {path}: skipped outline {line}", err=True)
    new = sum(a.added for a in added)
    tail = f", {len(skipped)} skipped" if skipped else ""
    click.echo(f"imported {new} new feed(s), {len(added) - new} already polled{tail}")
    sys.exit(1 if skipped else 0)


@feeds.command("export")
def feeds_export() -> None:
    """Print every feed as OPML, for a feed reader or another digest.

    Example: digest feeds export > subscriptions.opml
    """
    from digest.intake.feeds import catalog as feedlist

    click.echo(feedlist.export_opml(_settings()), nl=False)


@click.command()
@click.option("--all", "every", is_flag=True, help="Poll every active feed, due or not.")
def fetch(every: bool) -> None:
    """Poll every due feed now and write new entries into the seeds folder; one line per feed.

    `digest run` and `digest serve` do this first. A failing feed is reported and
    skipped (exit status 0); nothing is sent. DIGEST_FETCH_WORKERS hosts are fetched
    at once; what DIGEST_FETCH_BUDGET does not reach waits for the next fetch.

    Example: digest fetch
    """
    from digest.intake.feeds import poll as feedrun

    settings = _settings()
    report = feedrun.fetch_now(settings, now=_now(), every=every)
    for result in report.results:
        click.echo(result.line)
    if report.pages_waiting:
        click.echo(feedrun.waiting_line(report.pages_waiting))
    if not report.results:
        click.echo(feedrun.nothing_due(settings))
