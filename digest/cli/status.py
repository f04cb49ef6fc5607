"""What `digest status` shows: pending articles, the queue, recent digests, the schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from digest.errors import DigestError
from digest.intake.scan import collect
from digest.readers.subscribers import summary_lines
from digest.records import QueuedDigest, Reporter, utc_now
from digest.settings import Settings, masked
from digest.store import DigestRecord, Store


@dataclass(frozen=True)
class StatusReport:
    """The state of one installation, read without changing it."""

    pending: str  # "pending articles: 3 (new unusable files: 1)", or why it is unknown
    feeds: str  # "feeds: 12 (1 failing, 0 gone; see: digest feeds list)"
    queued: tuple[QueuedDigest, ...]
    recent: tuple[DigestRecord, ...]
    schedule: str  # "0 7 * * * (timezone Europe/Paris)"
    next_run: str
    settings: dict[str, str]  # passwords masked
    subscribers: tuple[str, ...] = ()  # counts by status, and who is bouncing

    def lines(self) -> list[str]:
        """The report as `digest status` prints it."""
        out = [self.pending, self.feeds, f"queued messages: {len(self.queued)}"]
        out += [
            f"  #{q.id} {q.created.isoformat()} waiting for {', '.join(q.pending)}"
            for q in self.queued
        ]
        out.append("last digests:" if self.recent else "last digest: none yet")
        out += [
            f"  #{r.id} {r.created.isoformat()} {r.status}, {r.article_count} article(s), "
            f"{r.accepted}/{r.recipients} recipient(s) accepted"
            for r in self.recent
        ]
        out += list(self.subscribers)
        out += [f"schedule: {self.schedule}", f"next run: {self.next_run}", "settings:"]
        return out + [f"  {name} = {value}" for name, value in self.settings.items()]


def report(settings: Settings, *, now: datetime | None = None) -> StatusReport:
    """Read the state directory and the seeds folder; nothing is written."""
    from digest.runs import serve as scheduler

    moment = now or utc_now()
    with Store.open(settings.state_dir, readonly=True) as store:
        pending = _pending_line(settings, store, moment)
        counts = store.feeds.counts()
        queued, recent = tuple(store.queued()), tuple(store.recent_digests())
        last_run = scheduler.last_run(store)
        readers = summary_lines(store.subscribers())
        sends = scheduler.reader_sends(settings, store)
    if sends is not None:  # readers have their own times: the next is the soonest of theirs
        from digest.runs import cadence

        next_run = cadence.next_send_text(sends, moment)
    else:
        next_run = scheduler.next_run_text(settings, last_run, moment)
    return StatusReport(
        pending=pending,
        feeds=f"feeds: {sum(counts.values())} ({counts['failing']} failing,"
        f" {counts['gone']} gone; see: digest feeds list)",
        queued=queued,
        recent=recent,
        schedule=f"{settings.schedule} (timezone {settings.timezone or 'system'})",
        next_run=next_run,
        settings=masked(settings),
        subscribers=readers,
    )


def _pending_line(settings: Settings, store: Store, now: datetime) -> str:
    quiet = Reporter(lambda _: None)
    try:
        pending, skipped = collect(settings, store, now=now, reporter=quiet, record=False)
    except DigestError as exc:  # status still shows the rest
        return f"pending articles: unknown ({exc})"
    return f"pending articles: {len(pending)} (new unusable files: {len(skipped)})"
