"""`digest subscribers ...`: thin commands over the store's reader methods."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from digest.errors import UsageError
from digest.readers.subscribers import (
    PreferenceError,
    check_email,
    form_text,
    parse_preferences,
    preference_fields,
    read_csv,
    unknown_sections,
    write_csv,
)
from digest.records import Preferences, Subscriber
from digest.store import Store

if TYPE_CHECKING:
    from digest.runs.cadence import NextSend

# the group's Invocation of digest.cli.main (kept loose here to avoid a cycle)
pass_obj = click.pass_obj


@click.group()
def subscribers() -> None:
    """Readers with their own preferences; with any, DIGEST_TO is not used.

    Example: digest subscribers add ann@example.org --sections World --at 07:30
    """


def _reader_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of `add` and `edit`: a reader's name and preferences."""
    options = [
        click.option("--name", help="How to address them (the To: line's name)."),
        click.option("--every", metavar="daily|weekly", help="Cadence (default daily)."),
        click.option("--day", metavar="mon..sun", help="Weekday for --every weekly (default mon)."),
        click.option("--at", metavar="HH:MM", help="Time of day (default: DIGEST_SCHEDULE)."),
        click.option(
            "--timezone", metavar="IANA", help="e.g. Europe/Paris (default DIGEST_TIMEZONE)."
        ),
        click.option("--sections", metavar="A,B", help="Only these sections (any case)."),
        click.option(
            "--include", metavar="WORDS", help="Only articles with one of these words/phrases."
        ),
        click.option(
            "--exclude", metavar="WORDS", help="No article with any of these words/phrases."
        ),
        click.option(
            "--max",
            "max_",
            metavar="N",
            help="At most N full entries (default DIGEST_MAX_ARTICLES).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _checked(email: str, fields: dict[str, str]) -> tuple[str, Preferences]:
    """The bare address and the preferences, or one UsageError naming the option."""
    try:
        return check_email(email), parse_preferences(fields)
    except PreferenceError as exc:
        what = "EMAIL" if exc.field == "email" else f"--{exc.field}"
        raise UsageError(f"{what} {exc.value!r}: {exc.why}", exc.hint) from None


@subscribers.command()
@click.argument("email")
@_reader_options
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
    address, prefs = _checked(email, fields)
    with _store(ctx) as store:
        if store.add_subscriber(address, _name(name), prefs, datetime.now(UTC)) is None:
            raise UsageError(f"{address} is already a subscriber", "change them with `edit`")
        _warn_sections(store, prefs.sections)
    click.echo(f"added {address}")


@subscribers.command()
@click.argument("email")
@_reader_options
@pass_obj
def edit(
    ctx: object, /, email: str, name: str | None, max_: str | None, **options: str | None
) -> None:
    """Change a reader's name or preferences; the options not given stay as they are.

    An empty value (--sections "") sets that preference back to the default.

    Example: digest subscribers edit ann@example.org --every daily --sections "" --max 5
    """
    given = {k: v for k, v in (options | {"max": max_}).items() if v is not None}
    with _store(ctx) as store:
        found = _existing(store, email)
        fields = preference_fields(found.prefs) | given
        if "every" in given and given["every"].strip().lower() == "daily" and "day" not in given:
            fields["day"] = ""  # a weekly reader made daily drops their weekday
        _, prefs = _checked(found.email, fields)
        new_name = found.name if name is None else _name(name)
        store.edit_subscriber(found.id, new_name, prefs)
        _warn_sections(store, prefs.sections)
    shown = ", ".join(f"{k}={v}" for k, v in preference_fields(prefs).items() if v)
    click.echo(f"changed {found.email}: {shown or 'the defaults'}")


@subscribers.command()
@click.argument("email")
@pass_obj
def link(ctx: object, /, email: str) -> None:
    """Print a reader's preferences link (for a reader who lost their emails).

    The page also pauses, resumes and unsubscribes. Send it only to the reader's own address.

    Example: digest subscribers link ann@example.org
    """
    from digest.readers import tokens  # late: itsdangerous only for this command

    settings = ctx.settings()  # type: ignore[attr-defined]
    if settings.public_url is None:
        raise UsageError(
            "DIGEST_PUBLIC_URL is not set, so there are no reader pages to link to",
            "set it to the https:// address `digest web` is served at",
        )
    with _store(ctx, readonly=True) as store:
        found = _existing(store, email)
    secret = tokens.secret_key(settings.state_dir, settings.secret_key)
    token = tokens.make(secret, "preferences", found.id, found.key)
    click.echo(f"{settings.public_url}/preferences/{token}")


def _name(raw: str | None) -> str | None:
    return form_text(raw or "") or None


def _existing(store: Store, email: str) -> Subscriber:
    found = store.subscriber_by_email(email.strip())
    if found is None:
        raise UsageError(f"{email} is not a subscriber", "see `digest subscribers list`")
    return found


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
            added_id = store.add_subscriber(
                row.email, row.name, row.prefs, now, row.status, row.consent
            )
            if added_id is None:
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
    """Show every reader: email, name, status, preferences, last sent, next due.

    "next due" is when `digest serve` (or `digest run --due`) sends to them next;
    "-" for a reader who is not active.

    Example: digest subscribers list --json
    """
    from digest.runs.cadence import next_sends

    with _store(ctx, readonly=True) as store:
        found = store.subscribers()
        due = {n.reader.id: n for n in next_sends(ctx.settings(), store)}  # type: ignore[attr-defined]
    if not found and not as_json:
        click.echo("no subscribers; add one with: digest subscribers add EMAIL")
    for s in found:
        if as_json:
            click.echo(json.dumps(_as_json(s, due.get(s.id)), ensure_ascii=False))
        else:
            shown = ", ".join(f"{k}={v}" for k, v in preference_fields(s.prefs).items() if v)
            last = f"{s.last_sent:%Y-%m-%d %H:%M}" if s.last_sent else "never"
            upcoming = due[s.id].when if s.id in due else "-"
            click.echo(
                f"{s.email}\t{s.name or '-'}\t{s.status}\t{shown}\tlast sent {last}"
                f"\tnext due {upcoming}"
            )


def _as_json(s: Subscriber, due: NextSend | None) -> dict[str, object]:
    return {
        "email": s.email,
        "name": s.name,
        "status": s.status,
        "preferences": preference_fields(s.prefs),
        "joined": s.joined.isoformat(),
        "last_sent": s.last_sent.isoformat() if s.last_sent else None,
        "next_due": due.at.isoformat() if due is not None and due.at is not None else None,
        "consent": vars(s.consent) if s.consent else None,
    }


@subscribers.command()
@click.argument("email")
@pass_obj
def pause(ctx: object, /, email: str) -> None:
    """Stop sending to a reader for now (they keep their place).

    Example: digest subscribers pause ann@example.org
    """
    with _store(ctx) as store:
        found = _existing(store, email)
        store.set_status(found.id, "paused")
    click.echo(f"paused {found.email}")


@subscribers.command()
@click.argument("email")
@click.option("--force", is_flag=True, help="Also a reader who unsubscribed themselves.")
@pass_obj
def resume(ctx: object, /, email: str, force: bool) -> None:
    """Send to a reader again; also clears `bouncing`.

    A reader who unsubscribed themselves withdrew their consent: they are resumed only
    with --force (when they asked you to, say).

    Example: digest subscribers resume ann@example.org
    """
    with _store(ctx) as store:
        found = _existing(store, email)
        if found.status == "unsubscribed" and not force:
            raise UsageError(
                f"{found.email} unsubscribed themselves; their consent is gone",
                "they can sign up again, or, if they asked you to, add --force",
            )
        store.set_status(found.id, "active")
    click.echo(f"resumed {found.email}")


@subscribers.command()
@click.argument("email")
@pass_obj
def remove(ctx: object, /, email: str) -> None:
    """Forget a reader (to keep them out, prefer pause: an import adds them back).

    Their old links stop working for good: a reader added later never gets their id's powers.

    Example: digest subscribers remove ann@example.org
    """
    with _store(ctx) as store:
        found = _existing(store, email)
        store.remove_subscriber(found.id)
    click.echo(f"removed {found.email}")


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
