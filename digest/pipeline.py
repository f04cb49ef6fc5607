"""One digest run, stage by stage: sources -> store -> summarize -> compose -> render -> mail."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TypeVar

from digest import compose as composer
from digest import deliver, mail, render, sources
from digest.config import Settings
from digest.errors import DeliveryError, SourceError
from digest.sources import Article, Skipped
from digest.store import Store, run_lock
from digest.summarize import Summarizer, Summary

T = TypeVar("T")
Clock = Callable[[], datetime]
LOCK_WAIT_SECONDS = 5.0


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
    """Read the seed files not yet sent; bad files are reported once and remembered."""
    infos, unlisted = sources.list_files(
        settings.seeds_dir, now=now.timestamp(), settle_seconds=settings.settle_seconds
    )
    # (size, mtime_ns) identify the version reported, so a changed file is tried again
    bad = [(item, _lstat_key(item.path)) for item in unlisted]
    bad = [(item, key) for item, key in bad if not store.is_skipped(item.path, *key)]
    articles: dict[str, Article] = {}
    for info in reporter.track(infos, "Reading articles"):
        if store.is_skipped(info.path, info.size, info.mtime_ns):
            continue
        try:
            article = sources.read_article(info, max_bytes=settings.max_file_bytes)
        except SourceError as exc:
            bad.append((Skipped(info.path, exc.reason), (info.size, info.mtime_ns)))
            continue
        articles.setdefault(article.id, article)  # the same article under two names is one
    for item, (size, mtime_ns) in bad:
        reporter.say(f"skipped {item.path}: {item.reason}")
        if record:
            store.record_skipped(item.path, size, mtime_ns, item.reason, _iso(now))
    sent = store.sent_ids(articles)
    return [a for a in articles.values() if a.id not in sent], [item for item, _ in bad]


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
) -> Built:
    """Summarize the entries shown in full, then compose and render the digest."""
    engine = summarizer or Summarizer(settings.summarizer)
    full, _ = composer.choose(articles, settings.max_articles)
    summaries: dict[str, Summary] = {}
    for article in reporter.track(full, "Summarizing"):
        summaries[article.id] = engine.summarize(article, settings.sentences)
    digest = composer.compose(
        articles,
        lambda a: summaries[a.id],
        max_articles=settings.max_articles,
        created=created,
    )
    return Built(digest, render.render(digest, templates_dir=settings.templates_dir))


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
        try:
            result = RunResult()
            _flush_queue(settings, store, clock, open_sender, result)
            _new_digest(
                settings, store, clock, rep, summarizer, to, open_sender, result, send_empty
            )
            return result
        finally:
            store.close()


def _dry_run(
    settings: Settings,
    now: datetime,
    rep: Reporter,
    summarizer: Summarizer | None,
    to: tuple[str, ...],
) -> RunResult:
    store = Store.open(settings.state_dir, readonly=True)
    try:
        articles, skipped = collect(settings, store, now=now, reporter=rep, record=False)
    finally:
        store.close()
    result = RunResult(status="dry-run", skipped=skipped)
    if not articles:
        result.status = "nothing-new"
        return result
    built = build(settings, articles, created=now, reporter=rep, summarizer=summarizer)
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
    for queued in store.queued():
        at = _iso(clock())
        if settings.is_smtp:
            factory = open_sender or (lambda: mail.SmtpSender(settings))
            retry = deliver.Retry(settings.smtp_attempts, settings.smtp_backoff)
            report = deliver.deliver_smtp(store, queued, factory, settings.sender, at, retry)
        else:
            report = deliver.deliver_file(store, queued, at)
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
    if not articles and (not send_empty or result.accepted or result.errors):
        return  # the empty note only when this run got nothing else out (and mail flows)
    built = build(settings, articles, created=now, reporter=rep, summarizer=summarizer)
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
    )
    result.digest, result.eml_path = built.digest, eml_path
    if result.errors:
        result.status = "queued"  # the queue ahead of it is stuck; it goes out next run
        return
    _flush_queue(settings, store, clock, open_sender, result)
    result.status = "queued" if result.errors else "sent"


def _message(settings: Settings, built: Built, to: tuple[str, ...], now: datetime) -> EmailMessage:
    return mail.build_message(
        subject=built.rendered.subject,
        text=built.rendered.text,
        html=built.rendered.html,
        sender=settings.sender,
        recipients=to,
        date=now,
    )


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
    return build(settings, articles, created=now, reporter=rep)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
