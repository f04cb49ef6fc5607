"""Events: different texts that give the same evidence, close in time, are one story.

The best-written text of each group of copies stands for it (`quality`); two reports
are one event when their evidence (names, figures, dates, headline and lead words:
evidence.py) is close in TF-IDF and they share names, figures or dates. Reports join
a story on their average closeness to all of its reports, so a chain of pairs never
merges two events of one kind (two council votes in one week).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

import numpy as np

from digest.records import Article
from digest.stories.evidence import evidence, specific
from digest.stories.sketches import Groups

SAME_EVENT = 0.23  # TF-IDF cosine of the evidence (evidence.py): two reports of one event
LINK_FLOOR = 0.05  # closeness below this counts as none in a story's average
MIN_SHARED = 2  # ... and they share this many names, figures or dates at least
EVENT_HOURS = 72  # reports further apart than this are different stories
BEST_WORDS = 1500  # a longer text is not a better-written one


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


def features(article: Article) -> dict[str, float]:
    """The evidence of one report (evidence.py): headline and lead words, names, figures, dates."""
    return evidence(article.title, article.text)


def tfidf(docs: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors (sublinear tf, smoothed idf) over these documents."""
    df: Counter[str] = Counter(t for d in docs for t in d)
    n = len(docs)
    vectors = []
    for doc in docs:
        weights = {
            t: (1 + math.log(c)) * (math.log((1 + n) / (1 + df[t])) + 1) for t, c in doc.items()
        }
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors.append({t: w / norm for t, w in weights.items()})
    return vectors


def cosines(vectors: Sequence[dict[str, float]], least: float) -> list[tuple[int, int, float]]:
    """(i, j, cosine) of the pairs of unit vectors at least `least` alike.

    Only terms that two or more documents share can add to a cosine, so the work
    follows the shared terms; the commonest (in over a twentieth of the documents,
    beyond 250) are skipped, having near-zero weight.
    """
    postings: dict[str, list[tuple[int, float]]] = {}
    for i, vector in enumerate(vectors):
        for term, weight in vector.items():
            postings.setdefault(term, []).append((i, weight))
    cap = max(250, len(vectors) // 20)
    keys, values = [], []
    n = len(vectors)
    for posting in postings.values():
        if not 2 <= len(posting) <= cap:
            continue
        docs = np.array([d for d, _ in posting], dtype=np.int64)
        weights = np.array([w for _, w in posting])
        upper = np.triu_indices(len(posting), 1)
        keys.append(docs[upper[0]] * n + docs[upper[1]])
        values.append(weights[upper[0]] * weights[upper[1]])
    if not keys:
        return []
    pair_keys, where = np.unique(np.concatenate(keys), return_inverse=True)
    sums = np.bincount(where, weights=np.concatenate(values))
    close = np.flatnonzero(sums >= least)
    return [(int(pair_keys[k] // n), int(pair_keys[k] % n), float(sums[k])) for k in close]


def events(articles: Sequence[Article], groups: Sequence[int]) -> list[int]:
    """An event number per article: copies share their group's, and so do reports of one event."""
    best: dict[int, Article] = {}
    for article, group in zip(articles, groups, strict=True):
        if group not in best or quality(article) > quality(best[group]):
            best[group] = article
    leads = sorted(best)
    units = [best[g] for g in leads]
    found = [features(a) for a in units]
    links: list[tuple[int, int, float, bool]] = []
    for i, j, cosine in cosines(tfidf(found), LINK_FLOOR):
        hours = abs((when(units[i]) - when(units[j])).total_seconds()) / 3600
        if hours <= EVENT_HOURS:
            links.append((i, j, cosine, _shared(found[i], found[j]) >= MIN_SHARED))
    label = average_link(len(units), links, SAME_EVENT)
    index = {g: k for k, g in enumerate(leads)}
    return [leads[label[index[g]]] for g in groups]


def _shared(a: Mapping[str, float], b: Mapping[str, float]) -> int:
    """How many names, figures and dates two reports share (a name and its last word once)."""
    common = {k for k in a.keys() & b.keys() if specific(k)}
    full = [k for k in common if k.startswith("n:") and " " in k]
    covered = {"n:" + k.rsplit(" ", 1)[-1] for k in full}
    return len(common - covered)


def average_link(n: int, links: Sequence[tuple[int, int, float, bool]], least: float) -> list[int]:
    """Clusters of n items, named by their lowest member: the two clusters whose average
    link (pairs not given count 0) is highest join while it is at least `least`, and only
    when some pair across them has the evidence (the last field of a link)."""
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
        merged.join(a, b)
        keep, gone = min(a, b), max(a, b)
        _absorb(keep, gone, sums, proven, size)
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
