"""Digests for subscribers: who gets which new articles, one render per distinct set.

A run records the articles read for the first time in the arrival sequence,
then for each active reader who is due picks those that arrived after their
watermark and pass their filters. Readers with the same articles and the same
`max` share one digest: it is rendered once with a marker where the reader's
tokens go, saved and queued with all of them as recipients, and their
watermarks move in the same transaction: one `Edition`, published by
digest.edition.publish as the operator's digest is. At send time `delivery.per_reader` fills
in each reader's address and tokens (and signs with DKIM), after reading
their status again: who unsubscribed a second ago is not sent to.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from digest.delivery.personalize import Marker
from digest.edition import publish
from digest.readers.subscribers import matches
from digest.records import Arrival, Article, Subscriber
from digest.settings import Settings
from digest.store import Store

if TYPE_CHECKING:
    from digest.runs.context import RunContext

# (reader, their last scheduled time handled) -> (due now, the scheduled time this run handles)
Due = Callable[[Subscriber, str | None], tuple[bool, str | None]]
# The readers chosen this run, each with the scheduled time handled for them
Chosen = list[tuple[Subscriber, str | None]]


def always_due(subscriber: Subscriber, last_fire: str | None) -> tuple[bool, str | None]:
    """`digest run`: everyone with something new, now."""
    return True, None


def links_for(settings: Settings, marker: Marker, stem: str) -> publish.Links:
    """The reader links of one edition, with the marker standing for each reader's tokens."""
    base = settings.public_url
    if base is None:  # no web pages: the operator's static unsubscribe page, if any
        return publish.Links(settings.unsubscribe_url)
    from digest.readers import tokens

    secret = tokens.secret_key(settings.state_dir, settings.secret_key)
    return publish.Links(
        f"{base}/unsubscribe/{marker.unsubscribe}",
        f"{base}/preferences/{marker.preferences}",
        f"{base}/copy/{tokens.make_copy(secret, stem)}",  # their own copy: signed, never listed
    )


def intake(store: Store, articles: Sequence[Article], now: datetime) -> int:
    """Give the articles read for the first time their place in the arrival sequence.

    Returns the last place taken before them.
    """
    before = store.last_arrival()
    if not articles:
        return before
    from digest import stories  # numpy: only when something arrived

    sketches = [stories.sketch(a.text) for a in articles]
    store.record_arrivals(
        [(a, s.values, s.size) for a, s in zip(articles, sketches, strict=True)], now
    )
    return before


def archive_edition(
    ctx: RunContext, articles: Sequence[Article], before: int, now: datetime
) -> None:
    """The public archive's edition: all that arrived in this run, once, as the full digest.

    Readers' own editions (their filters) are archived apart and never listed: the
    index would tell who reads what (digest.edition.archive).
    """
    if not articles:
        return
    settings = ctx.settings
    built = publish.build(
        settings,
        articles,
        created=now,
        reporter=ctx.reporter,
        summarizer=ctx.summarizer,
        cache=ctx.store,
        sent=publish.recently_sent(settings, ctx.store, now, floor=before),
        links=publish.list_links(settings),
        arrangements=ctx.arrangements,
    )
    if not built.rendered.digest.is_empty:
        stem = publish.stem_for(now, articles)
        publish.archive_copy(settings, built.rendered.digest, stem, ctx.reporter)


@dataclass(frozen=True)
class Group:
    """Readers who get the same articles with the same `max`: one edition."""

    number: int  # its place in the run, for a stem of its own
    articles: list[Article]
    limit: int
    floor: int  # the lowest watermark among them: what arrived before is "sent"
    members: Chosen

    @property
    def marks(self) -> list[tuple[int, str | None]]:
        return [(s.id, fired) for s, fired in self.members]


def queue_for_readers(
    ctx: RunContext, now: datetime, *, due: Due = always_due, send_empty: bool = False
) -> list[publish.Published]:
    """Queue one edition per distinct set of new articles among the due readers."""
    store = ctx.store
    marks = store.watermarks()
    chosen = _due_readers(store, marks, due)
    if not chosen:
        return []
    low = min(marks[s.id][0] for s, _ in chosen)
    arrivals = store.arrivals_after(low)
    top = arrivals[-1].seq if arrivals else low  # every reader chosen has now considered these
    queued: list[publish.Published] = []
    groups = sorted(_group(ctx.settings, arrivals, chosen, marks).items())
    for number, ((picked, limit), members) in enumerate(groups):
        floor = min(marks[s.id][0] for s, _ in members)
        group = Group(number, [arrivals[i].article for i in picked], limit, floor, members)
        done = None
        if picked or send_empty:
            done = publish.publish(ctx, _edition(ctx, now, group, top, send_empty))
        if done is None:  # nothing new, or every article a copy of an earlier arrival
            store.advance(group.marks, top)
        else:
            queued.append(done)
    return queued


def _edition(
    ctx: RunContext, now: datetime, group: Group, top: int, send_empty: bool
) -> publish.Edition:
    """The group's edition: their articles, their links, their watermarks moved to `top`."""
    stem = publish.stem_for(now, group.articles, group.number)
    marker = Marker.new()
    return publish.Edition(
        articles=group.articles,
        recipients=tuple(s.email for s, _ in group.members),
        created=now,
        stem=stem,
        links=links_for(ctx.settings, marker, stem),
        limit=group.limit,
        sent=publish.recently_sent(ctx.settings, ctx.store, now, floor=group.floor),
        readers=publish.Readers(marker, group.marks, top),
        send_empty=send_empty,
    )


def _due_readers(store: Store, marks: dict[int, tuple[int, str | None]], due: Due) -> Chosen:
    """The active readers due now, each with the scheduled time this run handles for them."""
    chosen: Chosen = []
    for s in store.subscribers():
        if s.status == "active" and s.id in marks:
            is_due, fired = due(s, marks[s.id][1])
            if is_due:
                chosen.append((s, fired))
    return chosen


def _group(
    settings: Settings,
    arrivals: list[Arrival],
    chosen: Chosen,
    marks: dict[int, tuple[int, str | None]],
) -> dict[tuple[tuple[int, ...], int], Chosen]:
    """Readers by (the arrivals they get, as indexes, and their `max`)."""
    seqs = [a.seq for a in arrivals]
    matched: dict[tuple[tuple[str, ...], ...], list[int]] = {}
    groups: dict[tuple[tuple[int, ...], int], Chosen] = {}
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


def bounce_check(ctx: RunContext) -> None:
    """After sending: readers refused for good DIGEST_BOUNCE_LIMIT times in a row stop."""
    limit = ctx.settings.bounce_limit
    for email in ctx.store.mark_bouncing(limit):
        ctx.reporter.say(
            f"subscriber {email} is now bouncing ({limit} permanent refusals"
            f" in a row); nothing more is sent to them until `digest subscribers resume {email}`"
        )
