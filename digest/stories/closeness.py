"""How alike two reports are: TF-IDF cosines over the terms they share, and the same
closeness once each report has borrowed the evidence of its closest reports.

A short report (a teaser, a headline alone, a wire brief) names few of its event's people
and figures, so it shares little with a long report of the same event told another way.
Its closest reports fill it in: each report's evidence is taken with a share of that of
its NEIGHBOURS closest reports (pseudo-relevance feedback, as search engines expand a
short query). Two reports of one event then agree through the reports they both resemble;
two events of one kind, each with reports of its own, stay apart. Two reports that no third
one resembles gain only ALONE_SHARE of what borrowing each other adds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

MIN_POSTING = 80  # a term is skipped when scoring pairs only beyond this many documents ...
COMMON = 20  # ... and a twentieth of them (its weight is low, its pairs many)
PAIRS_AT_ONCE = 500_000  # pair products held at once (~30 MB): documents go in blocks
DENSE_CELLS = 2_000_000  # documents x shared terms up to this (16 MB): one matrix product
NEIGHBOURS = 6  # a report borrows the evidence of this many closest reports ...
NEIGHBOUR_FLOOR = 0.10  # ... each at least this close, with a 1/NEIGHBOURS share each
ALONE_SHARE = 0.5  # what two reports gain by borrowing each other counts this much, when no
# third report is a neighbour of both (a small digest: borrowing is all that brings them close)


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


Posting = tuple[np.ndarray, np.ndarray]  # the documents holding a term (ascending), its weights


def cosines(vectors: Sequence[dict[str, float]], least: float) -> list[tuple[int, int, float]]:
    """(i, j, cosine), i < j and in ascending order, of the pairs at least `least` alike.

    Only terms that two or more documents share can add to a cosine, so the work follows
    the shared terms; the commonest (in over MIN_POSTING documents and a COMMON-th of them)
    are skipped. The pairs are summed for a block of first documents at a time, so memory
    stays near PAIRS_AT_ONCE pair products however many documents share a term.
    """
    by_term: dict[str, list[tuple[int, float]]] = {}
    for i, vector in enumerate(vectors):
        for term, weight in vector.items():
            by_term.setdefault(term, []).append((i, weight))
    cap = max(MIN_POSTING, len(vectors) // COMMON)
    shared = [p for p in by_term.values() if 2 <= len(p) <= cap]
    if len(vectors) * len(shared) <= DENSE_CELLS:
        return _dense_cosines(shared, len(vectors), least)
    postings = [
        (np.array([d for d, _ in p], dtype=np.int64), np.array([w for _, w in p])) for p in shared
    ]
    found: list[tuple[int, int, float]] = []
    for lo, hi in _blocks(postings, len(vectors)):
        found += _block_cosines(postings, lo, hi, len(vectors), least)
    return found


def _dense_cosines(
    shared: Sequence[list[tuple[int, float]]], n: int, least: float
) -> list[tuple[int, int, float]]:
    """The close pairs of a few documents (a digest's): one documents x shared-terms matrix
    and its product with itself, where summing term by term costs a dozen array calls a term."""
    matrix = np.zeros((n, len(shared)))
    rows = [d for p in shared for d, _ in p]
    columns = [t for t, p in enumerate(shared) for _ in p]
    matrix[rows, columns] = [w for p in shared for _, w in p]
    products = matrix @ matrix.T
    first, second = np.nonzero(np.triu(products >= least, 1))
    return [(int(i), int(j), float(products[i, j])) for i, j in zip(first, second, strict=True)]


def _blocks(postings: Sequence[Posting], n: int) -> Iterator[tuple[int, int]]:
    """Ranges of first documents whose pairs number about PAIRS_AT_ONCE each."""
    pairs = np.zeros(n + 1, dtype=np.int64)
    for docs, _ in postings:
        np.add.at(pairs, docs, np.arange(len(docs) - 1, -1, -1))
    total = np.cumsum(pairs)
    lo = 0
    while lo < n:
        already = total[lo - 1] if lo else 0
        hi = int(np.searchsorted(total, already + PAIRS_AT_ONCE, side="right"))
        hi = min(n, max(hi, lo + 1))
        yield lo, hi
        lo = hi


def _block_cosines(
    postings: Sequence[Posting], lo: int, hi: int, n: int, least: float
) -> list[tuple[int, int, float]]:
    """The close pairs (i, j) with lo <= i < hi."""
    keys, values = [], []
    for docs, weights in postings:
        first, last = np.searchsorted(docs, (lo, hi))
        last = min(last, len(docs) - 1)  # the last document starts no pair
        if first >= last:
            continue
        rows = np.arange(first, last)
        counts = len(docs) - 1 - rows
        row = np.repeat(rows, counts)
        starts = np.repeat(np.cumsum(counts) - counts, counts)
        column = np.arange(len(row)) - starts + row + 1
        keys.append(docs[row] * n + docs[column])
        values.append(weights[row] * weights[column])
    if not keys:
        return []
    pair_keys, where = np.unique(np.concatenate(keys), return_inverse=True)
    sums = np.bincount(where, weights=np.concatenate(values))
    close = np.flatnonzero(sums >= least)
    return [(int(pair_keys[k] // n), int(pair_keys[k] % n), float(sums[k])) for k in close]


def through_neighbours(n: int, pairs: Sequence[tuple[int, int, float]]) -> list[float]:
    """The cosine of each pair (i < j, ascending, as `cosines` gives them) once every one
    of the n reports has taken 1/NEIGHBOURS of each of its closest reports' unit vectors
    (up to NEIGHBOURS of them, at least NEIGHBOUR_FLOOR close); a pair not given counts 0.

    With x'_i = x_i + w * sum of x_l over i's neighbours l, the product x'_i . x'_j is
    expanded into cosines already known, so no vector is built again. When i and j have
    no neighbour in common, the terms x_j . x_j and x_i . x_i (i borrowing j, j borrowing
    i) count ALONE_SHARE each: in a small digest every report is every other's neighbour,
    and borrowing alone would lift two unrelated reports at 0.15 to 0.45.
    """
    if not pairs:
        return []
    first = np.array([p[0] for p in pairs], dtype=np.int64)
    second = np.array([p[1] for p in pairs], dtype=np.int64)
    cosine = np.array([p[2] for p in pairs])
    near = _neighbours(n, first, second, cosine)
    keys = first * n + second

    def known(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Cosines of the pairs (a, b): 1 for a report with itself, 0 for none or unknown."""
        key = np.minimum(a, b) * n + np.maximum(a, b)
        at = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        value = np.where(keys[at] == key, cosine[at], 0.0)
        value = np.where(a == b, 1.0, value)
        return np.where((a < 0) | (b < 0), 0.0, value)

    w = 1 / NEIGHBOURS
    everyone = np.arange(n)
    product, square = cosine.copy(), np.ones(n)
    common = np.zeros(len(first), dtype=bool)
    for a in range(NEIGHBOURS):
        for b in range(NEIGHBOURS):
            common |= (near[first, a] == near[second, b]) & (near[first, a] >= 0)
    alone = np.where(common, 0.0, (1 - ALONE_SHARE) * w)
    for a in range(NEIGHBOURS):
        product -= alone * ((near[first, a] == second).astype(float) + (near[second, a] == first))
        product += w * (known(near[first, a], second) + known(first, near[second, a]))
        square += 2 * w * known(everyone, near[:, a])
        for b in range(NEIGHBOURS):
            product += w * w * known(near[first, a], near[second, b])
            square += w * w * known(near[:, a], near[:, b])
    return list(product / np.sqrt(square[first] * square[second]))


def _neighbours(n: int, first: np.ndarray, second: np.ndarray, cosine: np.ndarray) -> np.ndarray:
    """Each report's closest reports, closest first (-1 where it has fewer)."""
    keep = cosine >= NEIGHBOUR_FLOOR
    source = np.concatenate([first[keep], second[keep]])
    target = np.concatenate([second[keep], first[keep]])
    closeness = np.concatenate([cosine[keep], cosine[keep]])
    order = np.lexsort((target, -closeness, source))
    source, target = source[order], target[order]
    rank = np.arange(len(source)) - np.searchsorted(source, source)
    near = np.full((n, NEIGHBOURS), -1, dtype=np.int64)
    take = rank < NEIGHBOURS
    near[source[take], rank[take]] = target[take]
    return near
