"""One digest run, stage by stage: scan -> stories -> summaries -> compose -> render -> deliver."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from digest.errors import DeliveryError, DigestError
from digest.intake.files import Article, Skipped
from digest.intake.scan import collect
from digest.runs.context import Clock, Reporter, RunContext, utc_now
from digest.runs.lock import run_lock
from digest.settings import Settings
from digest.store import Store
from digest.store.schema import iso
from digest.summary import cache as summary_cache
from digest.summary.summarizer import Summarizer

if TYPE_CHECKING:  # imported where used: a run with nothing new loads no numpy, Jinja2, smtplib
    from email.message import EmailMessage

    from digest import stories
    from digest.delivery import queue as deliver
    from digest.edition import compose as composer
    from digest.edition import render
    from digest.readers import fanout

__all__ = [
    "Built",
    "Clock",
    "Reporter",
    "RunContext",
    "RunResult",
    "build",
    "collect",
    "preview",
    "run_once",
    "utc_now",
]
LOCK_WAIT_SECONDS = 5.0


@dataclass
class RunResult:
    """What a run did; `exit_code` follows DESIGN.md (0 done, 1 failed)."""

    status: str = "nothing-new"  # nothing-new | sent | queued | dry-run
    digest: composer.Digest | None = None
    eml_path: Path | None = None
    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[DeliveryError] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.errors or self.refused else 0


@dataclass(frozen=True)
class Built:
    """The email of a digest, and the sketch of every article planned (kept once it is queued)."""

    rendered: render.Rendered  # its `.digest` is the fitted one the email shows
    sketches: Mapping[str, stories.Sketch]


def build(
    settings: Settings,
    articles: Sequence[Article],
    *,
    created: datetime,
    reporter: Reporter,
    summarizer: Summarizer | None = None,
    cache: Store | None = None,
    sent: Sequence[stories.Sketch] | None = None,
    links: Mapping[str, str | None] | None = None,
) -> Built:
    """Summarize the entries shown in full, then compose, render and fit the digest.

    The answer's `rendered.digest` is the one the email shows: fitted to DIGEST_HTML_BUDGET_KB.

    Summaries made before (same article, method, count and code) come from
    `cache`; new ones are kept in it, and made in DIGEST_WORKERS processes.
    """
    from digest.edition import compose as composer

    if sent is None:  # subscribers' digests bring their own (fanout)
        sent = recent_sketches(settings, cache, created)
    plan = composer.plan(articles, settings.max_articles, now=created, sent=sent)
    summaries = summary_cache.summarize_all(
        plan.leads,
        settings.sentences,
        summarizer=summarizer or Summarizer(settings.summarizer, settings.language),
        workers=settings.workers,
        cache=cache,
        track=reporter.track,
    )
    digest = composer.compose(plan, summaries, created=created)
    return Built(_render(settings, digest, links), plan.sketches)


def _render(
    settings: Settings, digest: composer.Digest, links: Mapping[str, str | None] | None
) -> render.Rendered:
    """The email of the digest, fitted to DIGEST_HTML_BUDGET_KB, with the readers' links if any."""
    from digest.edition import render

    return render.render(
        digest,
        templates_dir=settings.templates_dir,
        budget_bytes=settings.html_budget_kb * 1024,
        unsubscribe=links.get("unsubscribe") if links else unsubscribe_link(settings),
        preferences=links.get("preferences") if links else None,
        web_copy=links.get("web_copy") if links else None,
    )


def recent_sketches(settings: Settings, store: Store | None, now: datetime) -> list[stories.Sketch]:
    """Sketches of the articles sent in the last DIGEST_DEDUPE_DAYS: their copies stay out."""
    if store is None or settings.dedupe_days == 0:
        return []
    from digest import stories

    since = now - timedelta(days=settings.dedupe_days)
    return [stories.Sketch(values, size) for _, values, size in store.recent_sketches(since)]


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

    with run_lock(settings.state_dir, wait=LOCK_WAIT_SECONDS):
        with Store.open(settings.state_dir) as store:
            # s-subs: with subscribers (and no --to) the run is theirs
            readers = recipients is None and store.has_subscribers()
            delivery = deliver.for_settings(settings, open_sender)
            ctx = RunContext(settings, store, delivery, clock, rep)
            _read_inbox(ctx)
            if fetch:
                _fetch_feeds(ctx)
            try:
                return _deliver_and_queue(ctx, readers, summarizer, to, send_empty, due)
            finally:
                delivery.close()  # the run's SMTP connections


def _deliver_and_queue(
    ctx: RunContext,
    readers: bool,
    summarizer: Summarizer | None,
    to: tuple[str, ...],
    send_empty: bool,
    due: fanout.Due | None,
) -> RunResult:
    """Send what is queued, then queue (and send) the readers' digests or the one new digest."""
    result = RunResult()
    _flush_queue(ctx, result)
    if readers:
        _subscriber_digests(ctx, result, summarizer, send_empty, due)
    else:
        _new_digest(ctx, result, summarizer, to, send_empty)
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


def _dry_run(
    settings: Settings,
    now: datetime,
    rep: Reporter,
    summarizer: Summarizer | None,
    to: tuple[str, ...],
) -> RunResult:
    from digest.delivery import queue as deliver

    with Store.open(settings.state_dir, readonly=True) as store:
        articles, skipped = collect(settings, store, now=now, reporter=rep, record=False)
    result = RunResult(status="dry-run", skipped=skipped)
    if not articles:
        result.status = "nothing-new"
        return result
    rendered = _build_cached(settings, articles, now, rep, summarizer).rendered
    eml = _message(settings, rendered, to, now).as_bytes()
    stem = f"dry-run-{now:%Y%m%d-%H%M%S}"
    result.digest = rendered.digest
    result.eml_path = deliver.save_to_outbox(settings.outbox_dir, stem, eml, rendered.html)
    return result


def _flush_queue(ctx: RunContext, result: RunResult) -> None:
    """Deliver the queued messages, oldest first, until one cannot go out now."""
    for queued in ctx.store.queued():
        report = ctx.delivery.deliver(ctx.store, queued, iso(ctx.clock()))
        result.accepted += report.accepted
        result.refused += report.refused
        result.errors += report.errors
        if report.errors:
            return  # the server is not taking mail now; newer digests wait behind this one


def _new_digest(
    ctx: RunContext,
    result: RunResult,
    summarizer: Summarizer | None,
    to: tuple[str, ...],
    send_empty: bool,
) -> None:
    settings, store, now = ctx.settings, ctx.store, ctx.clock()
    articles, result.skipped = collect(settings, store, now=now, reporter=ctx.reporter, record=True)
    if articles and store.has_subscribers():  # s-subs: `run --to` takes nothing from readers
        from digest.readers import fanout

        fanout.intake(store, articles, built_sketches(articles), now)
    if not articles and (not send_empty or result.accepted or result.errors):
        return  # the empty note only when this run got nothing else out (and mail flows)
    built = build(
        settings, articles, created=now, reporter=ctx.reporter, summarizer=summarizer, cache=store
    )
    if built.rendered.digest.is_empty and articles and not send_empty:
        # every article was a copy of one sent lately: remember them, send nothing
        store.record_repeats([(a.id, str(a.path), a.title) for a in articles], now)
        return
    result.digest, result.eml_path = built.rendered.digest, _queue(ctx, built, articles, to)
    if result.errors:
        result.status = "queued"  # the queue ahead of it is stuck; it goes out next run
        return
    _flush_queue(ctx, result)
    result.status = "queued" if result.errors else "sent"


def _queue(ctx: RunContext, built: Built, articles: Sequence[Article], to: tuple[str, ...]) -> Path:
    """Save the message to the outbox and queue it with its articles' sketches; archive it."""
    from digest.delivery import queue as deliver

    settings, rendered = ctx.settings, built.rendered
    now = rendered.digest.created  # the run's one moment: file names, Date header, state row
    eml = _message(settings, rendered, to, now).as_bytes()
    ids = rendered.digest.article_ids
    stem = f"digest-{now:%Y%m%d-%H%M%S}-{ids[0][:8] if ids else 'empty'}"
    eml_path = deliver.save_to_outbox(settings.outbox_dir, stem, eml, rendered.html)
    ctx.store.queue_digest(
        created=now,
        subject=rendered.subject,
        eml_path=eml_path,
        articles=[(a.id, str(a.path), a.title) for a in articles],
        recipients=to,
        sketches=[(aid, s.values, s.size) for aid, s in built.sketches.items()],
    )
    if settings.dedupe_days > 0:  # 0 turns the check off; the sketches stay for when it is on
        ctx.store.prune_sketches(now - timedelta(days=settings.dedupe_days))
    if not rendered.digest.is_empty:
        archive_copy(settings, rendered.digest, stem, ctx.reporter)
    return eml_path


# --- s-subs: subscribers ----------------------------------------------------------------------


def _subscriber_digests(
    ctx: RunContext,
    result: RunResult,
    summarizer: Summarizer | None,
    send_empty: bool,
    due: fanout.Due | None,
) -> None:
    """Record what arrived, queue each due reader's digest, send, then count bounces."""
    from digest.readers import fanout

    now = ctx.clock()
    articles, result.skipped = collect(
        ctx.settings, ctx.store, now=now, reporter=ctx.reporter, record=True
    )
    fanout.intake(ctx.store, articles, built_sketches(articles), now)
    digests = fanout.queue_for_subscribers(
        ctx.settings,
        ctx.store,
        now=now,
        reporter=ctx.reporter,
        summarizer=summarizer,
        due=due or fanout.always_due,
        send_empty=send_empty,
    )
    if digests:
        result.digest, result.eml_path = digests[0]
        ctx.reporter.say(f"{len(digests)} digest(s) queued for subscribers")
    if not result.errors:
        _flush_queue(ctx, result)
    fanout.bounce_check(ctx.settings, ctx.store, ctx.reporter)
    if digests:
        result.status = "queued" if result.errors else "sent"
    elif result.accepted:
        result.status = "sent"


def built_sketches(articles: Sequence[Article]) -> dict[str, stories.Sketch]:
    """Each article's sketch (digest.stories), made once on arrival."""
    from digest import stories

    return {a.id: stories.sketch(a.text) for a in articles}


def _message(
    settings: Settings, rendered: render.Rendered, to: tuple[str, ...], now: datetime
) -> EmailMessage:
    from digest.delivery import mail

    return mail.build_message(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=settings.sender,
        recipients=to,
        date=now,
        unsubscribe_mailto=settings.unsubscribe_mailto,
        unsubscribe_url=settings.unsubscribe_url,
    )


def unsubscribe_link(settings: Settings) -> str:
    """The footer's way out: the one-click page when there is one, else the mailto."""
    from digest.delivery import mail

    mailto = mail.unsubscribe_targets(settings.sender, settings.unsubscribe_mailto)[0]
    return settings.unsubscribe_url or mailto


def archive_copy(settings: Settings, digest: composer.Digest, stem: str, rep: Reporter) -> None:
    """Keep the digest in DIGEST_ARCHIVE_DIR; a failure there is reported, not fatal."""
    from digest.edition import archive

    try:
        archive.keep(
            settings.archive_dir,
            stem,
            digest,
            templates_dir=settings.templates_dir,
            unsubscribe=unsubscribe_link(settings),
        )
    except DigestError as exc:
        rep.say(f"archive: {exc}")


def preview(
    settings: Settings, *, clock: Clock = utc_now, reporter: Reporter | None = None
) -> render.Rendered | None:
    """The email the next run would send (its fitted digest too), without changing any state."""
    rep = reporter or Reporter()
    now = clock()
    with Store.open(settings.state_dir, readonly=True) as store:
        articles, _ = collect(settings, store, now=now, reporter=rep, record=False)
    if not articles:
        return None
    return _build_cached(settings, articles, now, rep, None).rendered


def _build_cached(
    settings: Settings,
    articles: Sequence[Article],
    now: datetime,
    rep: Reporter,
    summarizer: Summarizer | None,
) -> Built:
    """`build` for commands that change no state: summaries still go to an existing cache."""
    cache = Store.open_existing(settings.state_dir)
    try:
        return build(
            settings, articles, created=now, reporter=rep, summarizer=summarizer, cache=cache
        )
    finally:
        if cache is not None:
            cache.close()
