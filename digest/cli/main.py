"""The `digest` command: thin shells over the pipeline, one line per error."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from digest import __version__
from digest.cli import failures, logs, run_report
from digest.cli import feeds as cli_feeds
from digest.cli import inbox as cli_inbox
from digest.cli.settings import settings as settings_command
from digest.cli.subscribers import subscribers
from digest.errors import DigestError, UsageError
from digest.records import Reporter
from digest.runs import run as pipeline
from digest.settings import Settings, load_settings, parse_recipients, startup_warnings
from digest.summary import cache as summaries

if TYPE_CHECKING:
    from digest.cli.extract import Readout
    from digest.edition.render import Rendered
    from digest.records import Article, Summary

T = TypeVar("T")
PROGRESS_MIN_ITEMS = 20  # below this a bar only flickers


class ClickReporter(Reporter):
    """Lines to stderr; a progress bar on stderr when it is a terminal."""

    def __init__(self) -> None:
        super().__init__(lambda line: click.echo(line, err=True))

    def track(self, items: Sequence[T], label: str) -> Iterable[T]:
        if len(items) < PROGRESS_MIN_ITEMS or not sys.stderr.isatty():
            return items
        return _bar(items, label)


def _bar(items: Sequence[T], label: str) -> Iterable[T]:
    with click.progressbar(items, label=label, file=sys.stderr) as bar:
        yield from bar


class Invocation:
    """What every command gets: settings loaded once, and the verbosity."""

    def __init__(self, env_file: Path, verbose: bool) -> None:
        self.env_file = env_file
        self.verbose = verbose
        self.loaded: Settings | None = None

    def settings(self) -> Settings:
        """Check every setting once, after warning of misspelled names and a readable .env."""
        if self.loaded is None:
            for warning in startup_warnings(os.environ, self.env_file):
                click.echo(f"digest: {warning}", err=True)
            self.loaded = load_settings(os.environ, self.env_file)
        return self.loaded


pass_invocation = click.make_pass_decorator(Invocation)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env-file",
    type=click.Path(path_type=Path),
    default=Path(".env"),
    show_default=True,
    help="Settings file read before the environment.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Show details (e.g. language fallbacks) and tracebacks."
)
@click.version_option(version=__version__, prog_name="digest")
@click.pass_context
def cli(ctx: click.Context, env_file: Path, verbose: bool) -> None:
    """Summarize new article files from the seeds folder into one email.

    Settings come from the environment or a .env file (see .env.example).
    With no DIGEST_SMTP_HOST the digest is written to the outbox folder.

    Example: digest run --dry-run
    """
    ctx.obj = Invocation(env_file, verbose)
    if verbose:
        logs.send_log(logs.SHORT)


@cli.command()
@click.option(
    "--dry-run", is_flag=True, help="Write the message to the outbox only; send and record nothing."
)
@click.option(
    "--to", "to", metavar="ADDR[,ADDR]", help="Send to these recipients instead of DIGEST_TO."
)
@click.option("--no-fetch", is_flag=True, help="Do not poll the feeds first.")
@click.option(
    "--due",
    is_flag=True,
    help="Send only what `digest serve` would send now: for running from cron.",
)
@pass_invocation
def run(inv: Invocation, dry_run: bool, to: str | None, no_fetch: bool, due: bool) -> None:
    """Poll the due feeds, then send one digest now of the articles not sent yet.

    Messages left queued by an earlier failure are delivered first. A failing
    feed is one line on stderr; the rest of the digest still goes out. With
    subscribers, every active reader gets theirs now, whatever their cadence;
    `--due` sends only to the readers whose time has come (or, with no readers,
    only when a DIGEST_SCHEDULE time has come since the last): run it from cron
    every few minutes. Exit status: 0 done (also when nothing is new or due),
    1 delivery failed, 2 bad usage or settings.

    Example: digest run --to me@example.org
    """
    settings = inv.settings()
    if due and (dry_run or to is not None):
        raise UsageError("--due goes alone", "leave out --to and --dry-run")
    if due:
        from digest.runs import serve as scheduler

        done = scheduler.run_due(settings, reporter=ClickReporter(), fetch=not no_fetch)
        code = 0 if done.result is None else run_report.finish(done.result, settings)
        click.echo(done.note)
        sys.exit(code)
    recipients = parse_recipients(to, "--to") if to is not None else None
    result = pipeline.run_once(
        settings,
        reporter=ClickReporter(),
        dry_run=dry_run,
        recipients=recipients,
        fetch=not no_fetch,
    )
    sys.exit(run_report.finish(result, settings))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON instead.")
@click.option("--open", "open_browser", is_flag=True, help="Open the HTML file in a browser.")
@pass_invocation
def preview(inv: Invocation, as_json: bool, open_browser: bool) -> None:
    """Render the next digest to an HTML file and print its path; changes no state.

    Example: digest preview --json
    """
    settings = inv.settings()
    rendered = pipeline.preview(settings, reporter=ClickReporter())
    if as_json:
        click.echo(json.dumps(_digest_json(rendered), ensure_ascii=False, indent=2))
        return
    if rendered is None:
        click.echo("nothing new to preview")
        return
    path = settings.outbox_dir / f"preview-{rendered.digest.created:%Y%m%d-%H%M%S}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rendered.html, encoding="utf-8")
    click.echo(str(path))
    if open_browser:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())


def _digest_json(rendered: Rendered | None) -> dict[str, Any]:
    """What the email shows: full entries (also grouped by section), "More stories", the count."""
    digest = None if rendered is None else rendered.digest
    entries = [] if digest is None else list(digest.entries)
    sections: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        sections.setdefault(entry.section or "", []).append(_entry_json(entry))
    more = [] if digest is None else list(digest.more)
    return {
        "entries": [_entry_json(e) for e in entries],
        "sections": [{"name": name, "entries": items} for name, items in sections.items()],
        "more": [{"title": a.title, "source": a.source, "url": a.url} for a in more],
        "unlisted": 0 if digest is None else len(digest.unlisted),
    }


def _entry_json(entry: Any) -> dict[str, Any]:
    article = entry.article
    return {
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "published": article.published.isoformat() if article.published else None,
        "section": entry.section or article.section,
        "rank": entry.rank,
        "updated": entry.updated,
        "also_reported_by": [{"source": a.source, "url": a.url} for a in entry.also],
        "summary": list(entry.summary.sentences),
    }


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.option(
    "--sentences",
    "count",
    type=click.IntRange(1, 50),
    default=None,
    help="Sentences per summary (default DIGEST_SENTENCES).",
)
@pass_invocation
def summarize(inv: Invocation, paths: tuple[Path, ...], as_json: bool, count: int | None) -> None:
    """Print the summary of each article file; sends and records nothing.

    Many files are read and summarized in DIGEST_WORKERS processes. With a
    state database, summaries are kept in it, so a digest reuses them.

    Example: digest summarize --json seeds/*
    """
    settings = inv.settings()
    done = summaries.summarize_files(settings, paths, count=count, reporter=ClickReporter())
    for item in done.skipped:
        click.echo(f"digest: skipped {item.path}: {item.reason}", err=True)
    for article, summary in done.summaries:
        _print_summary(article.path, article, summary, as_json)
    sys.exit(1 if len(done.summaries) < len(paths) else 0)


def _print_summary(path: Path, article: Article, summary: Summary, as_json: bool) -> None:
    if as_json:
        record = {
            "path": str(path),
            "title": article.title,
            "source": article.source,
            "language": summary.language,
            "summary": list(summary.sentences),
        }
        click.echo(json.dumps(record, ensure_ascii=False))
        return
    click.echo(f"{article.title}\n  ({path}; {article.source or 'unknown source'})")
    for sentence in summary.sentences:
        click.echo(f"  - {sentence}")
    click.echo()


@cli.command()
@click.argument("targets", nargs=-1, required=True, metavar="PATH_OR_URL...")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object a line: path (or url), title, section, source, published, url,"
    " language, text.",
)
@pass_invocation
def extract(inv: Invocation, targets: tuple[str, ...], as_json: bool) -> None:
    """Show what the loader reads from article files or web pages; sends and records nothing.

    The tool for an entry that looks wrong: the title, section, source, date,
    link, language and text exactly as a digest would take them. Exit status 1
    if any input could not be read (the others are still shown).

    Example: digest extract seeds/story.html https://example.org/news/1 --json
    """
    from digest.cli.extract import read_out

    settings = inv.settings()
    failed = 0
    for target in targets:
        try:
            readout = read_out(target, settings)
        except DigestError as exc:
            failed += 1
            click.echo(f"digest: error: {exc}", err=True)
            continue
        if as_json:
            click.echo(json.dumps(readout.as_json(), ensure_ascii=False))
        else:
            click.echo(_readout_block(readout))
    sys.exit(1 if failed else 0)


def _readout_block(readout: Readout) -> str:
    published = readout.published.isoformat() if readout.published else None
    fields = [
        ("title", readout.title),
        ("section", readout.section),
        ("source", readout.source),
        ("published", published),
        ("url", readout.url),
        ("language", readout.language),
    ]
    head = "\n".join(f"{name + ':':<11}{value or '-'}" for name, value in fields)
    return f"== {readout.where}\n{head}\n\n{readout.text}\n"


@cli.command()
@click.option(
    "--log-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also append the log to this file (it always goes to stderr).",
)
@pass_invocation
def serve(inv: Invocation, log_file: Path | None) -> None:
    """Send a digest on DIGEST_SCHEDULE, in the foreground, until SIGTERM or Ctrl-C.

    The schedule is a crontab ("0 7 * * mon-fri"), @hourly, @daily, @weekly or
    @every 30s/10m/2h, in DIGEST_TIMEZONE. A run missed while stopped is sent
    once at start. A stop lets the message in flight finish; a second one
    stops at once (the message stays queued for the next run).

    Example: DIGEST_SCHEDULE="0 7 * * mon-fri" digest serve --log-file digest.log
    """
    from digest.runs import serve as scheduler

    settings = inv.settings()
    logs.send_log(logs.TIMESTAMPED, log_file)
    sys.exit(scheduler.serve(settings))


@cli.command()
@click.option(
    "--listen",
    metavar="HOST:PORT",
    help="Listen here instead of DIGEST_WEB_LISTEN (default 127.0.0.1:8080).",
)
@click.option(
    "--log-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also append the log to this file (it always goes to stderr).",
)
@pass_invocation
def web(inv: Invocation, listen: str | None, log_file: Path | None) -> None:
    """Serve the reader pages (one-click unsubscribe, preferences, archive) until Ctrl-C.

    Plain HTTP for the TLS proxy in front of it, which DIGEST_PUBLIC_URL (https)
    points at. `digest serve` serves the same pages when DIGEST_WEB_LISTEN is set.

    Example: DIGEST_WEB_LISTEN=127.0.0.1:8080 digest web
    """
    from digest.readers.web import server as webserver

    settings = inv.settings()
    logs.send_log(logs.TIMESTAMPED, log_file)
    sys.exit(webserver.serve_web(settings, listen=listen))


@cli.command()
@pass_invocation
def status(inv: Invocation) -> None:
    """Show pending articles, queued messages, recent digests and the settings.

    Passwords are masked. Example: digest status
    """
    from digest.cli import status as state

    for line in state.report(inv.settings()).lines():
        click.echo(line)


cli.add_command(cli_feeds.feeds)
cli.add_command(cli_feeds.fetch)
cli.add_command(subscribers)
cli.add_command(settings_command)
cli.add_command(cli_inbox.inbox)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the group, turning every failure into one line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    verbose = "-v" in args or "--verbose" in args
    ctx: click.Context | None = None
    try:
        with cli.make_context("digest", list(args)) as ctx:
            cli.invoke(ctx)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.exceptions.Abort:
        click.echo("digest: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except Exception as exc:  # ours as one line; an OS error names its setting; a bug too
        obj = ctx.obj if ctx is not None else None
        sys.exit(failures.report(exc, getattr(obj, "loaded", None), verbose))
