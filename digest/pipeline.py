"""One digest run, stage by stage: sources -> store -> summarize -> compose -> render -> mail."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from digest import batch, sources
from digest.config import Settings
from digest.errors import DeliveryError, DigestError
from digest.sources import Article, FileVersion, Skipped
from digest.store import Store, run_lock
from digest.summarize import Summarizer

if TYPE_CHECKING:  # imported where used: a run with nothing new loads no numpy, Jinja2, smtplib
    from email.message import EmailMessage

    from digest import compose as composer
    from digest import deliver, fanout, render, stories

T = TypeVar("T")
Clock = Callable[[], datetime]
LOCK_WAIT_SECONDS = 5.0
HANDLED_LISTING = "handled_listing"  # meta: the last listing whose files were all handled


def utc_now() -> datetime:
    return datetime.now(UTC)


class Reporter:
    """Where a run tells the operator what it does; the CLI swaps in a progress bar."""

    def __init__(self, echo: Callable[[str], None] | None = None) -> None:
        self._echo = echo or (lambda line: print(line, file=sys.stderr))

    def say(self, line: str) -> None:
        self._echo(line)

    def track(self, items: Sequence[T], label: str) -> Iterable[T]:
        return items


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
    """A digest and its rendering, before anything is saved."""

    digest: composer.Digest
    rendered: render.Rendered


def collect(
    settings: Settings, store: Store, *, now: datetime, reporter: Reporter, record: bool
) -> tuple[list[Article], list[Skipped]]:
    """Read the seed files not yet sent; bad files are reported once and remembered.

    A file read before whose (path, size, mtime_ns, inode) is unchanged and whose
    article already went out is not opened again: a run costs what is new, not
    what the folder holds. `record` remembers this run's files for the next one.
    """
    listed, unlisted = sources.list_files(
        settings.seeds_dir, now=now.timestamp(), settle_seconds=settings.settle_seconds
    )
    key = None if unlisted else _listing_key(listed)
    if key is not None and store.get_meta(HANDLED_LISTING) == key:
        return [], []  # the very files an earlier run found all handled: nothing is new
    articles, bad = _read_new(settings, store, listed, unlisted, now, reporter, record)
    sent = store.sent_ids(articles)
    new = [a for a in articles.values() if a.id not in sent]
    if record and key is not None and not new and not bad:
        store.set_meta(HANDLED_LISTING, key)
    return new, [item for item, _ in bad]


def _listing_key(listed: list[FileVersion]) -> str:
    # A digest of every (path, size, mtime_ns, inode): comparing it costs a tenth of
    # looking each file up in the state database.
    return hashlib.blake2b(repr(listed).encode(), digest_size=16).hexdigest()


def _read_new(
    settings: Settings,
    store: Store,
    listed: list[FileVersion],
    unlisted: list[Skipped],
    now: datetime,
    reporter: Reporter,
    record: bool,
) -> tuple[dict[str, Article], list[tuple[Skipped, tuple[int, int]]]]:
    """The articles of the files new or changed since they were read, and the bad files."""
    # (size, mtime_ns) identify the version reported, so a changed file is tried again
    bad = [(item, _lstat_key(item.path)) for item in unlisted]
    bad = [(item, key) for item, key in bad if not store.is_skipped(item.path, *key)]
    done, skipped = store.sent_files(), store.skipped_files()
    fresh = [v for v in listed if v not in done and v[:3] not in skipped]
    results = batch.read_all(
        fresh, max_bytes=settings.max_file_bytes, workers=settings.workers, track=reporter.track
    )
    articles: dict[str, Article] = {}
    read: list[tuple[FileVersion, str]] = []
    for version, (info, got) in zip(fresh, results, strict=True):
        if isinstance(got, str):
            bad.append((Skipped(Path(info.path), got), (info.size, info.mtime_ns)))
            continue
        read.append((version, got.id))
        articles.setdefault(got.id, got)  # the same article under two names is one
    for item, (size, mtime_ns) in bad:
        reporter.say(f"skipped {item.path}: {item.reason}")
        if record:
            store.record_skipped(item.path, size, mtime_ns, item.reason, _iso(now))
    if record:
        _remember(store, listed, len(listed) - len(fresh), read)
    return articles, bad


def _remember(
    store: Store, listed: list[FileVersion], unread: int, read: list[tuple[FileVersion, str]]
) -> None:
    """Remember the files read; forget those gone, once rows outnumber the files listed."""
    if read:
        store.remember_files(read)
    if store.file_count() > unread + len(read):
        store.forget_files_except({path for path, *_ in listed})


def _lstat_key(path: Path) -> tuple[int, int]:
    try:
        st = path.lstat()
    except OSError:
        return (0, 0)
    return (st.st_size, st.st_mtime_ns)


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
    """Summarize the entries shown in full, then compose and render the digest.

    Summaries made before (same article, method, count and code) come from
    `cache`; new ones are kept in it, and made in DIGEST_WORKERS processes.
    """
    from digest import compose as composer
    from digest import render

    if sent is None:  # subscribers' digests bring their own (fanout)
        sent = recent_prints(settings, cache, created)
    planned = composer.plan(articles, settings.max_articles, now=created, sent=sent)
    summaries = batch.summarize_all(
        [story.lead for story in planned[0]],
        settings.sentences,
        summarizer=summarizer or Summarizer(settings.summarizer, settings.language),
        workers=settings.workers,
        cache=cache,
        track=reporter.track,
    )
    digest = composer.compose(
        articles,
        lambda a: summaries[a.id],
        max_articles=settings.max_articles,
        created=created,
        sent=sent,
        planned=planned,
    )
    rendered = render.render(
        digest,
        templates_dir=settings.templates_dir,
        budget_bytes=settings.html_budget_kb * 1024,
        unsubscribe=links.get("unsubscribe") if links else unsubscribe_link(settings),
        preferences=links.get("preferences") if links else None,
        web_copy=links.get("web_copy") if links else None,
    )
    return Built(digest, rendered)


def recent_prints(settings: Settings, store: Store | None, now: datetime) -> list[stories.Sketch]:
    """Sketches of the articles sent in the last DIGEST_DEDUPE_DAYS: their copies stay out."""
    if store is None or settings.dedupe_days == 0:
        return []
    from digest import stories

    since = _iso(now - timedelta(days=settings.dedupe_days))
    return [stories.Sketch(values, size) for _, values, size in store.recent_prints(since)]


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
    due: fanout.Due | None = None,
) -> RunResult:
    """Deliver what is queued, then build, save and send one digest of what is new.

    With `send_empty` (scheduled runs under DIGEST_SEND_EMPTY) a run that finds
    nothing new and delivered nothing sends a short "No new articles." note.
    """
    rep = reporter or Reporter()
    to = recipients or settings.recipients
    if dry_run:
        return _dry_run(settings, clock(), rep, summarizer, to)
    with run_lock(settings.state_dir, wait=LOCK_WAIT_SECONDS):
        store = Store.open(settings.state_dir)
        # s-subs: with subscribers, one SMTP connection serves the whole run
        shared = _shared_sender(settings, store, open_sender, recipients)
        try:
            result = RunResult()
            factory = shared or open_sender
            _flush_queue(settings, store, clock, factory, result)
            if shared is not None:
                _subscriber_digests(
                    settings, store, clock, rep, summarizer, factory, result, send_empty, due
                )
            else:
                _new_digest(
                    settings, store, clock, rep, summarizer, to, factory, result, send_empty
                )
            return result
        finally:
            if shared is not None:
                shared.close()
            store.close()


def _dry_run(
    settings: Settings,
    now: datetime,
    rep: Reporter,
    summarizer: Summarizer | None,
    to: tuple[str, ...],
) -> RunResult:
    from digest import deliver

    store = Store.open(settings.state_dir, readonly=True)
    try:
        articles, skipped = collect(settings, store, now=now, reporter=rep, record=False)
    finally:
        store.close()
    result = RunResult(status="dry-run", skipped=skipped)
    if not articles:
        result.status = "nothing-new"
        return result
    built = _build_cached(settings, articles, now, rep, summarizer)
    eml = _message(settings, built, to, now).as_bytes()
    stem = f"dry-run-{now:%Y%m%d-%H%M%S}"
    result.digest = built.digest
    result.eml_path = deliver.save_to_outbox(settings.outbox_dir, stem, eml, built.rendered.html)
    return result


def _flush_queue(
    settings: Settings,
    store: Store,
    clock: Clock,
    open_sender: deliver.SenderFactory | None,
    result: RunResult,
) -> None:
    queue = store.queued()
    if not queue:
        return
    from digest import deliver, fanout, mail

    pace = deliver.Pace(settings.smtp_rate)  # one pace for the whole run: DIGEST_SMTP_RATE
    for queued in queue:
        at = _iso(clock())
        if settings.is_smtp:
            factory = open_sender or (lambda: mail.SmtpSender(settings))
            retry = deliver.Retry(settings.smtp_attempts, settings.smtp_backoff)
            personal = fanout.addresser_for(settings, store, queued)  # s-subs
            report = deliver.deliver_smtp(
                store, queued, factory, settings.sender, at, retry, pace, personal
            )
        else:
            report = deliver.deliver_file(store, queued, at, fanout.keep_for(store, queued))
        result.accepted += report.accepted
        result.refused += report.refused
        result.errors += report.errors
        if report.errors:
            return  # the server is not taking mail now; newer digests wait behind this one


def _new_digest(
    settings: Settings,
    store: Store,
    clock: Clock,
    rep: Reporter,
    summarizer: Summarizer | None,
    to: tuple[str, ...],
    open_sender: deliver.SenderFactory | None,
    result: RunResult,
    send_empty: bool = False,
) -> None:
    now = clock()
    articles, result.skipped = collect(settings, store, now=now, reporter=rep, record=True)
    if articles and store.has_subscribers():  # s-subs: `run --to` takes nothing from readers
        from digest import fanout

        fanout.intake(store, articles, now)
    if not articles and (not send_empty or result.accepted or result.errors):
        return  # the empty note only when this run got nothing else out (and mail flows)
    from digest import deliver

    built = build(settings, articles, created=now, reporter=rep, summarizer=summarizer, cache=store)
    if built.digest.is_empty and articles and not send_empty:
        # every article was a copy of one sent lately: remember them, send nothing
        store.record_repeats([(a.id, str(a.path), a.title) for a in articles], _iso(now))
        return
    eml = _message(settings, built, to, now).as_bytes()
    ids = built.digest.article_ids
    stem = f"digest-{now:%Y%m%d-%H%M%S}-{ids[0][:8] if ids else 'empty'}"
    eml_path = deliver.save_to_outbox(settings.outbox_dir, stem, eml, built.rendered.html)
    store.queue_digest(
        created=_iso(now),
        subject=built.rendered.subject,
        eml_path=eml_path,
        articles=[(a.id, str(a.path), a.title) for a in articles],
        recipients=to,
        prints=[(a.id, *_sketch(a)) for a in articles],
    )
    if not built.digest.is_empty:
        _archive(settings, built.digest, stem, rep)
    result.digest, result.eml_path = built.digest, eml_path
    if result.errors:
        result.status = "queued"  # the queue ahead of it is stuck; it goes out next run
        return
    _flush_queue(settings, store, clock, open_sender, result)
    result.status = "queued" if result.errors else "sent"


# --- s-subs: subscribers ----------------------------------------------------------------------


def _shared_sender(
    settings: Settings,
    store: Store,
    open_sender: deliver.SenderFactory | None,
    recipients: tuple[str, ...] | None,
) -> fanout.SharedSender | None:
    """With subscribers (and no --to), the run sends to them over one shared connection."""
    if recipients is not None or not store.has_subscribers():
        return None
    from digest import fanout, mail

    return fanout.SharedSender(open_sender or (lambda: mail.SmtpSender(settings)))


def _subscriber_digests(
    settings: Settings,
    store: Store,
    clock: Clock,
    rep: Reporter,
    summarizer: Summarizer | None,
    open_sender: deliver.SenderFactory | None,
    result: RunResult,
    send_empty: bool,
    due: fanout.Due | None,
) -> None:
    """Record what arrived, queue each due reader's digest, send, then count bounces."""
    from digest import fanout

    now = clock()
    articles, result.skipped = collect(settings, store, now=now, reporter=rep, record=True)
    fanout.intake(store, articles, now)
    digests = fanout.queue_for_subscribers(
        settings,
        store,
        now=now,
        reporter=rep,
        summarizer=summarizer,
        due=due or fanout.always_due,
        send_empty=send_empty,
    )
    if digests:
        result.digest, result.eml_path = digests[0]
        rep.say(f"{len(digests)} digest(s) queued for subscribers")
    if not result.errors:
        _flush_queue(settings, store, clock, open_sender, result)
    fanout.bounce_check(settings, store, rep)
    if digests:
        result.status = "queued" if result.errors else "sent"
    elif result.accepted:
        result.status = "sent"


def _sketch(article: Article) -> tuple[bytes, int]:
    from digest import stories

    found = stories.sketch(article.text)
    return found.values, found.size


def _message(settings: Settings, built: Built, to: tuple[str, ...], now: datetime) -> EmailMessage:
    from digest import mail

    return mail.build_message(
        subject=built.rendered.subject,
        text=built.rendered.text,
        html=built.rendered.html,
        sender=settings.sender,
        recipients=to,
        date=now,
        unsubscribe_mailto=settings.unsubscribe_mailto,
        unsubscribe_url=settings.unsubscribe_url,
    )


def unsubscribe_link(settings: Settings) -> str:
    """The footer's way out: the one-click page when there is one, else the mailto."""
    from digest import mail

    mailto = mail.unsubscribe_targets(settings.sender, settings.unsubscribe_mailto)[0]
    return settings.unsubscribe_url or mailto


def _archive(settings: Settings, digest: composer.Digest, stem: str, rep: Reporter) -> None:
    """Keep the digest in DIGEST_ARCHIVE_DIR; a failure there is reported, not fatal."""
    from digest import archive

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
) -> Built | None:
    """The digest the next run would send, without changing any state."""
    rep = reporter or Reporter()
    now = clock()
    store = Store.open(settings.state_dir, readonly=True)
    try:
        articles, _ = collect(settings, store, now=now, reporter=rep, record=False)
    finally:
        store.close()
    if not articles:
        return None
    return _build_cached(settings, articles, now, rep, None)


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


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
