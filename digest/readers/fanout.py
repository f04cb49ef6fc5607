"""Digests for subscribers: who gets which new articles, one render per distinct set.

A run records the articles read for the first time in the arrival sequence,
then for each active reader who is due picks those that arrived after their
watermark and pass their filters. Readers with the same articles and the same
`max` share one digest: it is rendered once with a marker where the reader's
tokens go, saved and queued with all of them as recipients, and their
watermarks move in the same transaction. At send time `reader_delivery` fills
in each reader's address and tokens (and signs with DKIM), after reading
their status again: who unsubscribed a second ago is not sent to.
"""

from __future__ import annotations

import bisect
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from digest.intake.files import Article
from digest.readers.subscribers import Subscriber, matches
from digest.settings import Settings
from digest.store import Arrival, Store

if TYPE_CHECKING:
    from digest import stories
    from digest.edition import compose
    from digest.edition.render import Rendered
    from digest.runs import run as pipeline
    from digest.summary.summarizer import Summarizer

# (reader, their last scheduled time handled) -> (due now, the scheduled time this run handles)
Due = Callable[[Subscriber, str | None], tuple[bool, str | None]]


def always_due(subscriber: Subscriber, last_fire: str | None) -> tuple[bool, str | None]:
    """`digest run`: everyone with something new, now."""
    return True, None


@dataclass(frozen=True)
class Links:
    """The reader links of one digest, with the marker standing for the reader's tokens."""

    marker: str
    unsubscribe: str | None  # the one-click URL (List-Unsubscribe and the footer)
    preferences: str | None
    web_copy: str | None

    @property
    def placeholders(self) -> tuple[str, str]:
        return (f"{self.marker}u", f"{self.marker}p")


def links_for(settings: Settings, marker: str, stem: str) -> Links:
    base = settings.public_url
    if base is None:  # no web pages: the operator's static unsubscribe page, if any
        return Links(marker, settings.unsubscribe_url, None, None)
    return Links(
        marker,
        f"{base}/unsubscribe/{marker}u",
        f"{base}/preferences/{marker}p",
        f"{base}/archive/{stem}.html",
    )


def intake(
    store: Store, articles: Sequence[Article], sketches: Mapping[str, stories.Sketch], now: datetime
) -> None:
    """Give the articles read for the first time their place in the arrival sequence."""
    store.record_arrivals([(a, sketches[a.id].values, sketches[a.id].size) for a in articles], now)


@dataclass(frozen=True)
class Pass:
    """One run's view for the readers: the clock, the tools, and the last arrival considered."""

    settings: Settings
    store: Store
    now: datetime
    reporter: pipeline.Reporter
    summarizer: Summarizer | None
    top: int  # every reader in this pass has considered the arrivals up to here
    send_empty: bool


@dataclass(frozen=True)
class Group:
    """Readers who get the same articles with the same `max`: one digest."""

    number: int  # its place in the run, for a stem of its own
    articles: list[Article]
    limit: int
    floor: int  # the lowest watermark among them: what arrived before is "sent"
    members: list[tuple[Subscriber, str | None]]

    @property
    def marks(self) -> list[tuple[int, str | None]]:
        return [(s.id, fired) for s, fired in self.members]


def queue_for_subscribers(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    reporter: pipeline.Reporter,
    summarizer: Summarizer | None = None,
    due: Due = always_due,
    send_empty: bool = False,
) -> list[tuple[compose.Digest, Path]]:
    """Queue one digest per distinct set of new articles among the due readers: (digest, .eml)."""
    marks = store.watermarks()
    chosen = _due_readers(store, marks, due)
    if not chosen:
        return []
    low = min(marks[s.id][0] for s, _ in chosen)
    arrivals = store.arrivals_after(low)
    top = arrivals[-1].seq if arrivals else low
    run = Pass(settings, store, now, reporter, summarizer, top, send_empty)
    queued: list[tuple[compose.Digest, Path]] = []
    groups = sorted(_group(settings, arrivals, chosen, marks).items())
    for number, ((picked, limit), members) in enumerate(groups):
        floor = min(marks[s.id][0] for s, _ in members)
        group = Group(number, [arrivals[i].article for i in picked], limit, floor, members)
        if not picked and not send_empty:
            store.advance(group.marks, run.top)
            continue
        digest = _queue_group(run, group)
        if digest is not None:
            queued.append(digest)
    return queued


def _due_readers(
    store: Store, marks: dict[int, tuple[int, str | None]], due: Due
) -> list[tuple[Subscriber, str | None]]:
    """The active readers due now, each with the scheduled time this run handles for them."""
    chosen: list[tuple[Subscriber, str | None]] = []
    for s in store.subscribers():
        if s.status == "active" and s.id in marks:
            is_due, fired = due(s, marks[s.id][1])
            if is_due:
                chosen.append((s, fired))
    return chosen


def _group(
    settings: Settings,
    arrivals: list[Arrival],
    chosen: list[tuple[Subscriber, str | None]],
    marks: dict[int, tuple[int, str | None]],
) -> dict[tuple[tuple[int, ...], int], list[tuple[Subscriber, str | None]]]:
    """Readers by (the arrivals they get, as indexes, and their `max`)."""
    seqs = [a.seq for a in arrivals]
    matched: dict[tuple[tuple[str, ...], ...], list[int]] = {}
    groups: dict[tuple[tuple[int, ...], int], list[tuple[Subscriber, str | None]]] = {}
    for s, fired in chosen:
        p = s.prefs
        key = (p.sections, p.include, p.exclude)
        if key not in matched:
            matched[key] = [i for i, a in enumerate(arrivals) if matches(a.article, p)]
        first = bisect.bisect_right(seqs, marks[s.id][0])
        picked = tuple(i for i in matched[key] if i >= first)
        limit = p.max_articles or settings.max_articles
        groups.setdefault((picked, limit), []).append((s, fired))
    return groups


def _queue_group(run: Pass, group: Group) -> tuple[compose.Digest, Path] | None:
    """Build, save and queue one digest for the group; None when all were copies."""
    from digest.runs import run as pipeline

    settings, store, now, articles = run.settings, run.store, run.now, group.articles
    first = articles[0].id[:8] if articles else "empty"
    stem = f"digest-{now:%Y%m%d-%H%M%S}-{first}-{group.number}"
    links = links_for(settings, secrets.token_hex(16), stem)
    built = pipeline.build(
        replace(settings, max_articles=group.limit),
        articles,
        created=now,
        reporter=run.reporter,
        summarizer=run.summarizer,
        cache=store,
        sent=_sent(settings, store, group.floor, now),
        links={
            "unsubscribe": links.unsubscribe,
            "preferences": links.preferences,
            "web_copy": links.web_copy,
        },
    )
    digest = built.rendered.digest
    if digest.is_empty and articles and not run.send_empty:
        store.advance(group.marks, run.top)  # every article a copy of an earlier arrival
        return None
    eml_path = _save(run, group, built.rendered, links, stem)
    if not digest.is_empty:
        pipeline.archive_copy(settings, digest, stem, run.reporter)
    return digest, eml_path


def _save(run: Pass, group: Group, rendered: Rendered, links: Links, stem: str) -> Path:
    """Save the group's message to the outbox and queue it, watermarks moved with it."""
    from digest.delivery import queue as deliver

    msg = _message(run.settings, rendered, links, run.now)
    html = rendered.html
    for placeholder in links.placeholders:
        html = html.replace(placeholder, "")  # the outbox copy is nobody's
    eml_path = deliver.save_to_outbox(run.settings.outbox_dir, stem, msg.as_bytes(), html)
    run.store.queue_personal(
        marker=links.marker,
        stem=stem,
        marks=group.marks,
        seq=run.top,
        created=run.now,
        subject=rendered.subject,
        eml_path=eml_path,
        articles=[(a.id, str(a.path), a.title) for a in group.articles],
        recipients=[s.email for s, _ in group.members],
    )
    return eml_path


def _sent(settings: Settings, store: Store, floor: int, now: datetime) -> list[stories.Sketch]:
    """Sketches of what arrived before these readers' watermark lately: copies stay out."""
    if settings.dedupe_days == 0:
        return []
    from digest import stories

    since = now - timedelta(days=settings.dedupe_days)
    return [stories.Sketch(sig, size) for sig, size in store.arrival_sketches(floor, since)]


def _message(settings: Settings, rendered: Rendered, links: Links, now: datetime) -> EmailMessage:
    from digest.delivery import mail

    msg = mail.build_message(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=settings.sender,
        recipients=(f"to-{links.marker}@invalid",),
        date=now,
        unsubscribe_mailto=settings.unsubscribe_mailto,
        unsubscribe_url=links.unsubscribe,
        unsubscribe_token=links.placeholders[0],  # the inbox reads it back (digest.inbox)
    )
    if links.unsubscribe is not None:
        # the reader's own one-click URL first (what Gmail and Yahoo act on), then the mailto
        mailto = mail.unsubscribe_targets(
            settings.sender, settings.unsubscribe_mailto, token=links.placeholders[0]
        )[0]
        msg.replace_header("List-Unsubscribe", f"<{links.unsubscribe}>, <{mailto}>")
    return msg


def bounce_check(settings: Settings, store: Store, reporter: pipeline.Reporter) -> None:
    """After sending: readers refused for good DIGEST_BOUNCE_LIMIT times in a row stop."""
    for email in store.mark_bouncing(settings.bounce_limit):
        reporter.say(
            f"subscriber {email} is now bouncing ({settings.bounce_limit} permanent refusals"
            f" in a row); nothing more is sent to them until `digest subscribers resume {email}`"
        )
