"""One story, one entry: merge copies of one text, group reports of one event, rank, section.

Pure functions over articles and plain values; the only module that uses numpy.

- Copies: a MinHash sketch of each body's word 3-shingles (`sketch`). Two texts
  are the same article when most of the shorter one is found in the other, whatever
  the headline, page chrome, quote style, spacing or a paragraph cut or added.
  Sketches of sent articles are kept, so a copy sent before is dropped, and a copy
  with much new text comes back once as an update.
- Events: different texts whose lead and names (capitalised word sequences) are
  close in TF-IDF and in time are one story; the best-written text leads it.
- Sections and rank: see `rank_of` and `arrange`.

The thresholds were measured by benchmarks/dedupe_eval.py (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from digest.sources import Article

SHINGLE_WORDS = 3
PERMUTATIONS = 128  # sketch length; the Jaccard estimate's error is about 0.5 / sqrt(this)
SAME_TEXT = 0.6  # share of the shorter text found in the other: the same article
MIN_JACCARD = 0.1  # below this, sketches of very unequal texts are too noisy to trust
UPDATE_SHARE = 0.3  # share of a new version's text not in the one sent: an update
SAME_EVENT = 0.40  # TF-IDF cosine of title, lead and names: two reports of one event
EVENT_HOURS = 72  # reports further apart than this are different stories
LEAD_WORDS = 60  # the lead: what a report says first
NAME_WORDS = 200  # names are taken from this many first words
TOPIC_WORDS = 300  # a story's section is judged on this many first words
SECTION_FIT = 0.12  # cosine to a section's centroid that puts an unlabelled story in it
DEFAULT_SECTION = "More news"  # stories without a section, when others have one
ONLY_SECTION = "Top stories"  # ... when none has one
LONG_WORDS = 800  # length stops adding to the rank here
BEST_WORDS = 1500  # a longer text is not a better-written one

Words = npt.NDArray[np.uint64]
Status = Literal["new", "repeat", "updated"]


@dataclass(frozen=True)
class Sketch:
    """A MinHash sketch of an article's body, comparable across runs and releases."""

    values: bytes  # PERMUTATIONS little-endian uint32 minima
    size: int  # distinct shingles in the body


@dataclass(frozen=True)
class Story:
    """One entry of the digest: the best text, the other copies and reports, where it goes."""

    lead: Article
    also: tuple[Article, ...]  # the other copies and reports, lead excluded
    updated: bool  # a story sent before, now with substantial new text
    section: str
    rank: float


# --- copies: MinHash of word shingles ---------------------------------------------------------

_WORD = re.compile(r"\w+")
_SEED = hashlib.shake_128(b"digest.stories minhash v1").digest(16 * PERMUTATIONS)
_MULTIPLIERS = np.frombuffer(_SEED[: 8 * PERMUTATIONS], dtype="<u8").astype(np.uint64) | 1
_OFFSETS = np.frombuffer(_SEED[8 * PERMUTATIONS :], dtype="<u8").astype(np.uint64)
_EMPTY = np.full(PERMUTATIONS, 0xFFFFFFFF, dtype=np.uint32)


def words(text: str) -> list[str]:
    """Lower-case words, blind to accents' encoding, quotes, dashes and spacing."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def sketch(text: str) -> Sketch:
    """The sketch of a body (the headline is not part of it: outlets rewrite headlines)."""
    shingles = _shingles(words(text))
    if shingles.size == 0:
        return Sketch(_EMPTY.tobytes(), 0)
    lowest = np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    for start in range(0, shingles.size, 2048):  # bounded memory for huge texts
        chunk = shingles[start : start + 2048, None]
        lowest = np.minimum(lowest, ((chunk * _MULTIPLIERS + _OFFSETS) >> 32).min(axis=0))
    return Sketch(lowest.astype("<u4").tobytes(), int(shingles.size))


def _shingles(found: list[str]) -> Words:
    """Distinct 64-bit hashes of each run of SHINGLE_WORDS words."""
    hashes = np.fromiter((zlib.crc32(w.encode()) for w in found), np.uint64, len(found))
    n = min(SHINGLE_WORDS, hashes.size)
    if n == 0:
        return hashes
    mixed = np.zeros(hashes.size - n + 1, dtype=np.uint64)
    for k in range(n):
        mixed = (mixed ^ hashes[k : hashes.size - n + 1 + k]) * np.uint64(0x9E3779B97F4A7C15)
        mixed ^= mixed >> np.uint64(29)
    return np.unique(mixed)


def _matrix(sketches: Sequence[Sketch]) -> npt.NDArray[np.uint32]:
    if not sketches:
        return np.zeros((0, PERMUTATIONS), dtype=np.uint32)
    return np.stack([np.frombuffer(p.values, dtype="<u4") for p in sketches]).astype(np.uint32)


def shares(jaccard: float, size_a: int, size_b: int) -> tuple[float, float]:
    """How much of text a is found in b, and of b in a, from their Jaccard similarity."""
    if size_a == 0 or size_b == 0:
        return 0.0, 0.0
    common = jaccard / (1 + jaccard) * (size_a + size_b)
    return min(1.0, common / size_a), min(1.0, common / size_b)


def same_text(jaccard: float, size_a: int, size_b: int) -> bool:
    """True when two sketches are one article: most of the shorter text is in the other."""
    return jaccard >= MIN_JACCARD and max(shares(jaccard, size_a, size_b)) >= SAME_TEXT


def similar_pairs(sketches: Sequence[Sketch]) -> list[tuple[int, int, float]]:
    """(i, j, estimated Jaccard) of every pair of sketches that could be one article.

    Locality-sensitive hashing: sketches agreeing on both values of any of the
    PERMUTATIONS/2 bands are candidates (a pair with Jaccard 0.3 is found with
    probability > 0.99), so the cost follows the number of texts, not its square.
    """
    sigs = _matrix(sketches)
    keep = np.array([p.size > 0 for p in sketches], dtype=bool)
    bands = (sigs[:, 0::2].astype(np.uint64) << np.uint64(32)) | sigs[:, 1::2].astype(np.uint64)
    found: set[tuple[int, int]] = set()
    for band in bands.T:
        order = np.argsort(band, kind="stable")
        ordered = band[order]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], ordered.size]
        for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
            members = sorted(int(i) for i in order[start:end] if keep[i])
            found.update((a, b) for k, a in enumerate(members) for b in members[k + 1 :])
    if not found:
        return []
    pairs = np.array(sorted(found), dtype=np.int64)
    jaccards = (sigs[pairs[:, 0]] == sigs[pairs[:, 1]]).mean(axis=1)
    return [(int(i), int(j), float(s)) for (i, j), s in zip(pairs, jaccards, strict=True)]


def copies(sketches: Sequence[Sketch]) -> list[int]:
    """A group number per text: texts of one article share it (the lowest index in the group)."""
    groups = _Groups(len(sketches))
    for i, j, jaccard in similar_pairs(sketches):
        if same_text(jaccard, sketches[i].size, sketches[j].size):
            groups.join(i, j)
    return [groups.find(i) for i in range(len(sketches))]


def against_sent(sketches: Sequence[Sketch], sent: Sequence[Sketch]) -> list[Status]:
    """For each new text: "repeat" (sent before), "updated" (sent, with much new text) or "new"."""
    status: list[Status] = ["new"] * len(sketches)
    if not sent:
        return status
    for i, j, jaccard in _pairs_across(sketches, sent):
        new, old = sketches[i], sent[j]
        if not same_text(jaccard, new.size, old.size):
            continue
        novel = 1 - shares(jaccard, old.size, new.size)[1]
        if novel < UPDATE_SHARE:
            status[i] = "repeat"
        elif status[i] == "new":
            status[i] = "updated"
    return status


def _pairs_across(
    sketches: Sequence[Sketch], sent: Sequence[Sketch]
) -> list[tuple[int, int, float]]:
    """(i, j, estimated Jaccard) of new sketch i and sent sketch j agreeing on a band.

    The candidates `similar_pairs` finds, but only across the two lists: pairs of
    sent texts (a wire story sent in 25 copies is 300 of them per band) are never
    formed, so the cost follows the new texts and their matches, not what was sent.
    """
    new_sigs, old_sigs = _matrix(sketches), _matrix(sent)
    new_bands, old_bands = _bands(new_sigs), _bands(old_sigs)
    old_used = np.array([p.size > 0 for p in sent], dtype=bool)
    found: set[tuple[int, int]] = set()
    for b in range(new_bands.shape[1]):
        index: dict[int, list[int]] = {}
        for i, value in enumerate(new_bands[:, b].tolist()):
            if sketches[i].size > 0:
                index.setdefault(value, []).append(i)
        column = old_bands[:, b]
        hits = np.flatnonzero(np.isin(column, np.fromiter(index, np.uint64)) & old_used)
        for j in hits.tolist():
            found.update((i, j) for i in index[int(column[j])])
    if not found:
        return []
    pairs = np.array(sorted(found), dtype=np.int64)
    jaccards = (new_sigs[pairs[:, 0]] == old_sigs[pairs[:, 1]]).mean(axis=1)
    return [(int(i), int(j), float(s)) for (i, j), s in zip(pairs, jaccards, strict=True)]


def _bands(sigs: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint64]:
    """Each sketch's PERMUTATIONS/2 bands: two minima side by side in one 64-bit value."""
    return (sigs[:, 0::2].astype(np.uint64) << np.uint64(32)) | sigs[:, 1::2].astype(np.uint64)


class _Groups:
    """Union-find over indexes."""

    def __init__(self, n: int) -> None:
        self._parent = list(range(n))

    def find(self, i: int) -> int:
        while self._parent[i] != i:
            self._parent[i] = self._parent[self._parent[i]]
            i = self._parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        self._parent[max(a, b)] = min(a, b)


# --- events: TF-IDF of the title, lead and names ----------------------------------------------

_STOP = frozenset(
    """a about after again against all also an and any are as at be because been before being
    but by can could did do does during each for from had has have he her here hers him his how
    i if in into is it its just last like may me more most mr mrs ms much must my new no not now
    of on one only or other our out over said says she should since so some such than that the
    their them then there these they this those through to too two under up us very was we were
    what when where which while who whom why will with would year years you your yesterday today
    monday tuesday wednesday thursday friday saturday sunday""".split()
)
_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:of|de|la|van|von|al|bin)?\s*[A-Z][\w'’.-]*)*")


def features(article: Article) -> Counter[str]:
    """The title's and lead's words (once each: a repeated word is no stronger sign of an
    event), and names ("n:alan greenspan"), counted twice each time they occur."""
    body = article.text.split()
    lead = " ".join([article.title, *body[:LEAD_WORDS]])
    terms: Counter[str] = Counter({_stem(w) for w in words(lead) if _content(w)})
    for name in _NAME.findall(" ".join([article.title, *body[:NAME_WORDS]])):
        key = " ".join(words(name))
        if key and not all(w in _STOP for w in key.split()):
            terms["n:" + key] += 2
    return terms


def _content(word: str) -> bool:
    return len(word) > 2 and word not in _STOP and not word.isdigit()


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def tfidf(docs: Sequence[Counter[str]]) -> list[dict[str, float]]:
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
    beyond 40) are skipped, having near-zero weight.
    """
    postings: dict[str, list[tuple[int, float]]] = {}
    for i, vector in enumerate(vectors):
        for term, weight in vector.items():
            postings.setdefault(term, []).append((i, weight))
    cap = max(40, len(vectors) // 20)
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
    """An event number per article: copies share their group's, and so do close reports."""
    leads = sorted(set(groups))
    index = {g: k for k, g in enumerate(leads)}
    units = [
        max((a for a, g in zip(articles, groups, strict=True) if g == u), key=quality)
        for u in leads
    ]
    merged = _Groups(len(units))
    for i, j, _ in cosines(tfidf([features(a) for a in units]), SAME_EVENT):
        hours = abs((when(units[i]) - when(units[j])).total_seconds()) / 3600
        if hours <= EVENT_HOURS:
            merged.join(i, j)
    return [leads[merged.find(index[g])] for g in groups]


# --- the best text, rank and sections ---------------------------------------------------------


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


def outlets(members: Sequence[Article], groups: Sequence[int]) -> int:
    """How many outlets carry a story: distinct sources; an unnamed one counts per text."""
    return len({a.source or f"#{g}" for a, g in zip(members, groups, strict=True)})


def rank_of(lead: Article, covered_by: int, now: datetime) -> float:
    """Outlets first, then freshness, then length.

    rank = (outlets - 1) + 0.5 ** (age in days) + 0.5 * min(1, words / LONG_WORDS):
    each more outlet counts as much as a story from today over an old one; length
    breaks ties between equally covered, equally fresh stories.
    """
    age_days = max(0.0, (now - when(lead)).total_seconds() / 86400)
    length = min(1.0, lead.word_count / LONG_WORDS)
    return round(float((covered_by - 1) + 0.5**age_days + 0.5 * length), 3)


def assign_sections(articles: Sequence[Article], given: Sequence[str | None]) -> list[str]:
    """Each story's section: the one given, else the given section whose words fit it best.

    A story close to no section (cosine under SECTION_FIT to the section's centroid,
    over its first TOPIC_WORDS words), or any story when no section is given at all,
    goes to DEFAULT_SECTION (ONLY_SECTION when it is the only one).
    """
    if not any(given):
        return [ONLY_SECTION] * len(given)
    texts = (" ".join(a.text.split()[:TOPIC_WORDS]) for a in articles)
    vectors = tfidf([Counter(_stem(w) for w in words(t) if _content(w)) for t in texts])
    sums: dict[str, Counter[str]] = {}
    for vector, section in zip(vectors, given, strict=True):
        if section:
            sums.setdefault(section, Counter()).update(vector)
    centroids = {name: _unit(total) for name, total in sorted(sums.items())}
    return [s or _closest(v, centroids) for v, s in zip(vectors, given, strict=True)]


def _unit(vector: Counter[str]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
    return {t: w / norm for t, w in vector.items()}


def _closest(vector: dict[str, float], centroids: dict[str, dict[str, float]]) -> str:
    best, score = DEFAULT_SECTION, SECTION_FIT
    for name, centroid in centroids.items():
        cosine = sum(w * centroid.get(t, 0.0) for t, w in vector.items())
        if cosine >= score:
            best, score = name, cosine
    return best


@dataclass(frozen=True)
class Arrangement:
    """The stories of a run's articles, and the sketch of every article (for the store)."""

    stories: list[Story]  # best ranked first; copies of sent articles are gone
    sketches: dict[str, Sketch]  # article id -> its sketch, for every article given


def arrange(
    articles: Sequence[Article], *, now: datetime, sent: Sequence[Sketch] = ()
) -> Arrangement:
    """The stories of these articles, best ranked first; copies of sent articles are gone."""
    sketches = [sketch(a.text) for a in articles]
    ranked = _stories(articles, sketches, now, sent)
    return Arrangement(ranked, {a.id: s for a, s in zip(articles, sketches, strict=True)})


def _stories(
    articles: Sequence[Article], sketches: list[Sketch], now: datetime, sent: Sequence[Sketch]
) -> list[Story]:
    status = against_sent(sketches, sent)
    keep = [i for i, s in enumerate(status) if s != "repeat"]
    kept = [articles[i] for i in keep]
    groups = copies([sketches[i] for i in keep])
    members: dict[int, list[int]] = {}
    for k, label in enumerate(events(kept, groups)):
        members.setdefault(label, []).append(k)
    # each cluster best-written first: its first member leads the story
    clusters = [sorted(ks, key=lambda k: quality(kept[k]), reverse=True) for ks in members.values()]
    sections = assign_sections(
        [kept[ks[0]] for ks in clusters], [_given_section([kept[k] for k in ks]) for ks in clusters]
    )
    found = [
        Story(
            lead=kept[ks[0]],
            also=tuple(sorted((kept[k] for k in ks[1:]), key=when)),
            updated=any(status[keep[k]] == "updated" for k in ks),
            section=section,
            rank=rank_of(kept[ks[0]], outlets([kept[k] for k in ks], [groups[k] for k in ks]), now),
        )
        for ks, section in zip(clusters, sections, strict=True)
    ]
    return sorted(found, key=lambda s: (-s.rank, -when(s.lead).timestamp(), s.lead.id))


def _given_section(members: Sequence[Article]) -> str | None:
    """The section most members name, the lead's first among equals."""
    named = Counter(a.section for a in members if a.section)
    return named.most_common(1)[0][0] if named else None


def by_section(stories: Sequence[Story]) -> list[Story]:
    """Reading order: sections by their best story (the default one last), rank within each."""
    first: dict[str, int] = {}
    for k, story in enumerate(stories):
        first.setdefault(story.section, k)
    last = max(first.values(), default=0) + 1
    order = {s: (last if s == DEFAULT_SECTION else k) for s, k in first.items()}
    return sorted(stories, key=lambda s: order[s.section])
