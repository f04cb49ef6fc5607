"""Events: different texts that give the same evidence, close in time, are one story.

The best-written text of each group of copies stands for it (`quality`); two reports
are one event when their evidence (names, figures, dates, headline and lead words:
evidence.py), filled in by their closest reports (closeness.py), is alike and they
share names, figures or dates. Reports join a story on their average closeness to
all of its reports, so a chain of pairs never merges two events of one kind (two
council votes in one week); and two stories whose reports each lead with their own
person stay two however alike the rest of their evidence (`Subjects`).
"""

from __future__ import annotations

import functools
import heapq
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from digest.records import Article
from digest.stories.closeness import cosines, tfidf, through_neighbours
from digest.stories.evidence import Lead, evidence, leads, specific
from digest.stories.sketches import Groups

SAME_EVENT = 0.49  # closeness of the evidence (closeness.py): two reports of one event
LINK_FLOOR = 0.05  # a cosine below this counts as none (in a story's average, as a neighbour)
MIN_SHARED = 2  # ... and they share this many names, figures or dates at least (all a report
# has when it has fewer: a headline alone)
AT_ODDS_SHARED = 3  # ... or this many, when each leads with a figure the other never gives
EVENT_HOURS = 72  # reports further apart than this are different stories
BEST_WORDS = 1500  # a longer text is not a better-written one
LEADS_WITH = 0.5  # a person in the lead of this share of a story's reports (two at least) ...
RARELY = 0.15  # ... and at most this share of another's: apart, when the other has its own


def when(article: Article) -> datetime:
    return article.published or article.modified


def quality(article: Article) -> tuple[int, bool, bool, bool, datetime]:
    """Best-written first: the fuller text (up to BEST_WORDS), a link, a source, a title."""
    return (
        min(article.word_count, BEST_WORDS),
        article.url is not None,
        article.source is not None,
        bool(article.title),
        when(article),
    )


@functools.lru_cache(maxsize=2048)
def features(article: Article) -> Mapping[str, float]:
    """The evidence of one report (evidence.py): headline and lead words, names, figures, dates.

    Kept for the editions of one run: readers with different sections get overlapping
    sets of articles, each arranged on its own (read only: it is shared).
    """
    return evidence(article.title, article.text)


@functools.lru_cache(maxsize=2048)
def leads_with(article: Article) -> Lead:
    """What one report leads with: names, people, figures (evidence.leads); kept as
    `features` is."""
    return leads(article.title, article.text)


def events(articles: Sequence[Article], groups: Sequence[int]) -> list[int]:
    """An event number per article: copies share their group's, and so do reports of one event."""
    best: dict[int, Article] = {}
    for article, group in zip(articles, groups, strict=True):
        if group not in best or quality(article) > quality(best[group]):
            best[group] = article
    leads = sorted(best)
    units = [best[g] for g in leads]
    found = [features(a) for a in units]
    first = [leads_with(a) for a in units]
    said = [_shared(f, f) for f in found]
    close = [
        (i, j, cosine)
        for i, j, cosine in cosines(tfidf(found), LINK_FLOOR)
        if abs((when(units[i]) - when(units[j])).total_seconds()) <= EVENT_HOURS * 3600
    ]
    links = [
        (i, j, closeness, _evident(i, j, found, first, said))
        for (i, j, _), closeness in zip(close, through_neighbours(len(units), close), strict=True)
    ]
    label = average_link(len(units), links, SAME_EVENT, Subjects(first))
    index = {g: k for k, g in enumerate(leads)}
    return [leads[label[index[g]]] for g in groups]


def _evident(
    i: int, j: int, found: Sequence[Mapping[str, float]], first: Sequence[Lead], said: list[int]
) -> bool:
    """Whether two reports share enough names, figures and dates: MIN_SHARED, or all of
    them for a report that gives fewer (one at least); AT_ODDS_SHARED when they are at odds,
    each leading with a figure the other never gives (a 9-2 vote and a 7-4 vote)."""
    shared = _shared(found[i], found[j])
    if shared >= AT_ODDS_SHARED or shared < 1:
        return shared >= AT_ODDS_SHARED
    if not first[i].figures <= found[j].keys() and not first[j].figures <= found[i].keys():
        return False
    return shared >= min(MIN_SHARED, said[i], said[j])


def _shared(a: Mapping[str, float], b: Mapping[str, float]) -> int:
    """How many names, figures and dates two reports share (a name and its last word once)."""
    common = {k for k in a.keys() & b.keys() if specific(k)}
    full = [k for k in common if k.startswith("n:") and " " in k]
    covered = {"n:" + k.rsplit(" ", 1)[-1] for k in full}
    return len(common - covered)


class Subjects:
    """Whom the reports of each story lead with, as stories join.

    Two events of one kind share most of their words, places and figures (two players of
    one team arrested for drunk driving on one weekend; two teams' offers to one player),
    and a report of the second often names the first in passing; but the reports of each
    lead with their own person. When most of one story's reports lead with a person whom
    few of the other's lead with, and the other way round, they are two events.
    """

    def __init__(self, found: Sequence[Lead]) -> None:
        self.led = [Counter(lead.names) for lead in found]
        self.people = [set(lead.people) for lead in found]
        self.size = [1] * len(found)

    def apart(self, a: int, b: int) -> bool:
        return self._own(a, b) and self._own(b, a)

    def _own(self, a: int, b: int) -> bool:
        """A person most of a's reports lead with and few of b's."""
        most = max(2.0, LEADS_WITH * self.size[a])
        few = RARELY * self.size[b]
        led_a, led_b = self.led[a], self.led[b]
        return any(led_a[p] >= most and led_b[p] <= few for p in self.people[a])

    def join(self, keep: int, gone: int) -> None:
        self.led[keep].update(self.led[gone])
        self.people[keep] |= self.people[gone]
        self.size[keep] += self.size[gone]
        self.led[gone], self.people[gone] = Counter(), set()


def average_link(
    n: int,
    links: Sequence[tuple[int, int, float, bool]],
    least: float,
    subjects: Subjects | None = None,
) -> list[int]:
    """Clusters of n items, named by their lowest member: the two clusters whose average
    link (pairs not given count 0) is highest join while it is at least `least`, and only
    when some pair across them has the evidence (the last field of a link) and their
    `subjects` do not set them apart."""
    size = [1] * n
    sums: list[dict[int, float]] = [{} for _ in range(n)]
    proven: list[set[int]] = [set() for _ in range(n)]
    for i, j, cosine, evident in links:
        sums[i][j] = sums[j][i] = cosine
        if evident:
            proven[i].add(j)
            proven[j].add(i)
    heap = [(-c, i, j) for i, j, c, evident in links if evident and c >= least]
    heapq.heapify(heap)
    merged = Groups(n)
    while heap:
        negative, a, b = heapq.heappop(heap)
        if merged.find(a) != a or merged.find(b) != b:
            continue
        if -negative != sums[a].get(b, 0.0) / (size[a] * size[b]):
            continue  # stale: one of the two has grown since
        if subjects is not None and subjects.apart(a, b):
            continue
        merged.join(a, b)
        keep, gone = min(a, b), max(a, b)
        _absorb(keep, gone, sums, proven, size)
        if subjects is not None:
            subjects.join(keep, gone)
        for c in proven[keep]:
            average = sums[keep].get(c, 0.0) / (size[keep] * size[c])
            if average >= least:
                heapq.heappush(heap, (-average, min(keep, c), max(keep, c)))
    return [merged.find(i) for i in range(n)]


def _absorb(
    keep: int, gone: int, sums: list[dict[int, float]], proven: list[set[int]], size: list[int]
) -> None:
    """Cluster `gone` joins `keep`: its link sums and evidence become keep's."""
    for c, total in sums[gone].items():
        sums[c].pop(gone, None)
        if c != keep:
            sums[keep][c] = sums[keep].get(c, 0.0) + total
            sums[c][keep] = sums[keep][c]
    sums[keep].pop(gone, None)
    for c in proven[gone]:
        proven[c].discard(gone)
        if c != keep:
            proven[keep].add(c)
            proven[c].add(keep)
    proven[keep].discard(gone)
    size[keep] += size[gone]
    sums[gone], proven[gone] = {}, set()
