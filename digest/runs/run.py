"""One digest run, stage by stage: scan -> stories -> summaries -> compose -> render -> deliver.

A run first delivers what is queued, then publishes what is new: with subscribers (and no
`--to`) one edition per group of readers (digest.readers.fanout), else one edition for
DIGEST_TO; both go through digest.edition.publish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from digest.edition import publish
from digest.errors import DeliveryError
from digest.intake.files import seeds_root
from digest.intake.scan import collect
from digest.readers import fanout
from digest.records import Article, Clock, Reporter, Skipped, utc_now
from digest.runs.context import RunContext
from digest.runs.lock import run_lock
from digest.settings import Settings
from digest.store import Store
from digest.store.schema import iso
from digest.summary.summarizer import Summarizer

if TYPE_CHECKING:  # imported where used: a run with nothing new loads no Jinja2 or smtplib
    from digest.delivery import queue as deliver
    from digest.edition.compose import Digest
    from digest.edition.render import Rendered

__all__ = ["RunResult", "preview", "run_once"]
LOCK_WAIT_SECONDS = 5.0


@dataclass
class RunResult:
    """What a run did; `exit_code` is the one README's Commands promise (0 done, 1 failed)."""

    status: str = "nothing-new"  # nothing-new | sent | queued | dry-run
    digest: Digest | None = None
    eml_path: Path | None = None
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[DeliveryError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    published: list[publish.Published] = field(default_factory=list)  # every edition queued
    waiting: dict[Path, tuple[str, ...]] = field(default_factory=dict)  # .eml -> still pending

    @property
    def exit_code(self) -> int:
        return 1 if self.errors or self.refused else 0

    def delivered(self, edition: publish.Published) -> bool:
        """Whether the edition's message went out to everyone (none still waits for it)."""
        return not self.waiting.get(edition.eml_path)

    def edition_lines(self) -> list[str]:
        """Each edition queued, as it stands: "sent: digest of 2 article(s) to ann@…" or
        "queued: digest of 2 article(s) for ann@… (waits for the next run)"."""
        lines = []
        for edition in self.published:
            n = edition.digest.article_count
            if self.delivered(edition):
                lines.append(f"sent: digest of {n} article(s) to {named(edition.recipients)}")
            else:
                waiting = named(self.waiting[edition.eml_path])
                lines.append(f"queued: digest of {n} article(s) for {waiting} (waits for next run)")
        return lines


def named(addresses: Sequence[str], most: int = 3) -> str:
    """A few addresses, then how many more: a line stays a line with 10,000 readers."""
    more = f" and {len(addresses) - most} more" if len(addresses) > most else ""
    return ", ".join(addresses[:most]) + more


def run_once(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    reporter: Reporter | None = None,
    open_sender: deliver.SenderFactory | None = None,
    summarizer: Summarizer | None = None,
    dry_run: bool = False,
    recipients: tuple[str, ...] | None = None,
    send_empty: bool = False,
    fetch: bool = True,
    due: fanout.Due | None = None,
) -> RunResult:
    """Poll due feeds, deliver what is queued, then build, save and send one digest of what is new.

    With `send_empty` (scheduled runs under DIGEST_SEND_EMPTY) a run that finds
    nothing new and delivered nothing sends a short "No new articles." note.
    `fetch=False` (`run --no-fetch`) leaves the feeds alone; a dry run never polls.
    """
    rep = reporter or Reporter()
    to = recipients or settings.recipients
    if dry_run:
        return _dry_run(settings, clock(), rep, summarizer, to)
    from digest.delivery import queue as deliver

    seeds_root(settings.seeds_dir)  # a bad seeds folder stops the run before .digest/ is made
    with run_lock(settings.state_dir, wait=LOCK_WAIT_SECONDS):
        with Store.open(settings.state_dir) as store:
            # with subscribers (and no --to) the run is theirs
            readers = recipients is None and store.has_subscribers()
            delivery = deliver.for_settings(settings, open_sender)
            ctx = RunContext(settings, store, delivery, clock, rep, summarizer)
            _read_inbox(ctx)
            if fetch:
                _fetch_feeds(ctx)
            try:
                return _deliver_and_publish(ctx, readers, to, send_empty, due)
            finally:
                delivery.close()  # the run's SMTP connections


def _deliver_and_publish(
    ctx: RunContext,
    readers: bool,
    to: tuple[str, ...],
    send_empty: bool,
    due: fanout.Due | None,
) -> RunResult:
    """Send what is queued, then publish (and send) the readers' editions or the one edition."""
    result = RunResult()
    _flush_queue(ctx, result)
    if readers:
        _readers_editions(ctx, result, send_empty, due or fanout.always_due)
    else:
        _list_edition(ctx, result, to, send_empty)
    result.waiting = {q.eml_path: tuple(q.pending) for q in ctx.store.queued()}
    return result


def _read_inbox(ctx: RunContext) -> None:
    """Bounces, complaints and unsubscribe mails first (DIGEST_INBOX); never fatal."""
    if ctx.settings.inbox:
        from digest.inbox import apply as inbox

        inbox.before_run(ctx.settings, ctx.store, ctx.clock(), ctx.reporter.say)


def _fetch_feeds(ctx: RunContext) -> None:
    """Poll the due feeds into the seeds folder; a failing feed is one line, never fatal."""
    from digest.intake.feeds import (
        poll as feedrun,  # requests and feedparser load only when a feed is due
    )

    feedrun.fetch_for_run(ctx.settings, ctx.store, ctx.clock(), ctx.reporter)


def _flush_queue(ctx: RunContext, result: RunResult) -> None:
    """Deliver the queued messages, oldest first, until one cannot go out now."""
    for queued in ctx.store.queued():
        report = ctx.delivery.deliver(ctx.store, queued, iso(ctx.clock()))
        result.accepted += report.accepted
        result.refused += report.refused
        result.errors += report.errors
        if report.errors:
            return  # the server is not taking mail now; newer digests wait behind this one


def _list_edition(
    ctx: RunContext, result: RunResult, to: tuple[str, ...], send_empty: bool
) -> None:
    """One edition of everything new for DIGEST_TO (or `--to`), queued, then sent."""
    settings, store, now = ctx.settings, ctx.store, ctx.clock()
    articles, result.skipped = collect(settings, store, now=now, reporter=ctx.reporter, record=True)
    if articles and store.has_subscribers():  # `run --to` takes nothing from readers
        fanout.intake(store, articles, now)
    if not articles and (not send_empty or result.accepted or result.errors):
        return  # the empty note only when this run got nothing else out (and mail flows)
    edition = publish.Edition(
        articles,
        to,
        now,
        publish.stem_for(now, articles),
        links=publish.list_links(settings),
        sent=publish.recently_sent(settings, store, now),
        send_empty=send_empty,
    )
    published = publish.publish(ctx, edition)
    if published is None:  # every article was a copy of one sent lately: remember them
        store.record_repeats([(a.id, str(a.path), a.title) for a in articles], now)
        return
    result.digest, result.eml_path = published.digest, published.eml_path
    result.published = [published]
    _send_new(ctx, result)


def _readers_editions(
    ctx: RunContext, result: RunResult, send_empty: bool, due: fanout.Due
) -> None:
    """Record what arrived, queue each due group of readers' edition, send, then count bounces."""
    now = ctx.clock()
    articles, result.skipped = collect(
        ctx.settings, ctx.store, now=now, reporter=ctx.reporter, record=True
    )
    before = fanout.intake(ctx.store, articles, now)
    fanout.archive_edition(ctx, articles, before, now)
    published = fanout.queue_for_readers(ctx, now, due=due, send_empty=send_empty)
    if published:
        result.digest, result.eml_path = published[0].digest, published[0].eml_path
        result.published = published
        _send_new(ctx, result)
    else:
        if not result.errors:
            _flush_queue(ctx, result)
        if result.accepted:
            result.status = "sent"
    fanout.bounce_check(ctx)


def _send_new(ctx: RunContext, result: RunResult) -> None:
    """Send what was just queued, unless the queue ahead of it is stuck (next run, then)."""
    if not result.errors:
        _flush_queue(ctx, result)
    result.status = "queued" if result.errors else "sent"


def _dry_run(
    settings: Settings,
    now: datetime,
    rep: Reporter,
    summarizer: Summarizer | None,
    to: tuple[str, ...],
) -> RunResult:
    """Render the next digest into the outbox; nothing is recorded, queued or sent."""
    from digest.delivery import queue as deliver

    with Store.open(settings.state_dir, readonly=True) as store:
        articles, skipped = collect(settings, store, now=now, reporter=rep, record=False)
    result = RunResult(status="dry-run", skipped=skipped)
    if not articles:
        result.status = "nothing-new"
        return result
    rendered = _build_cached(settings, articles, now, rep, summarizer)
    links = publish.list_links(settings)
    eml = publish.message(settings, rendered, to, now, links).as_bytes()
    stem = f"dry-run-{now:%Y%m%d-%H%M%S}"
    result.digest = rendered.digest
    result.eml_path = deliver.save_to_outbox(settings.outbox_dir, stem, eml, rendered.html)
    return result


def preview(
    settings: Settings, *, clock: Clock = utc_now, reporter: Reporter | None = None
) -> Rendered | None:
    """The email the next run would send (its fitted digest too), without changing any state."""
    rep = reporter or Reporter()
    now = clock()
    with Store.open(settings.state_dir, readonly=True) as store:
        articles, _ = collect(settings, store, now=now, reporter=rep, record=False)
    if not articles:
        return None
    return _build_cached(settings, articles, now, rep, None)


def _build_cached(
    settings: Settings,
    articles: Sequence[Article],
    now: datetime,
    rep: Reporter,
    summarizer: Summarizer | None,
) -> Rendered:
    """The next edition's email for commands that change no state (summaries still cached)."""
    cache = Store.open_existing(settings.state_dir)
    try:
        built = publish.build(
            settings,
            articles,
            created=now,
            reporter=rep,
            summarizer=summarizer,
            cache=cache,
            sent=publish.recently_sent(settings, cache, now) if cache is not None else [],
            links=publish.list_links(settings),
        )
    finally:
        if cache is not None:
            cache.close()
    return built.rendered
