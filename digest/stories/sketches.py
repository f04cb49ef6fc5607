"""Copies: a MinHash sketch of each body's word 3-shingles, and which sketches are one text.

Two texts are the same article when most of the shorter one is found in the
other, whatever the headline, page chrome, quote style, spacing or a paragraph
cut or added. Sketches of sent articles are kept, so a copy sent before is
dropped, and a copy with much new text comes back once as an update.

Candidates come from locality-sensitive hashing: sketches agreeing on both values
of any of the PERMUTATIONS/2 bands (a pair with Jaccard 0.3 is found with
probability > 0.99). Each bucket of one band is settled as it comes (Jaccard
checked from the sketches, groups joined at once), so memory follows the
biggest bucket, never the number of candidate pairs: 20,000 texts sharing page
boilerplate make buckets of thousands, hence millions of pairs.
"""

from __future__ import annotations

import functools
import hashlib
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from digest.text import words

SHINGLE_WORDS = 3
PERMUTATIONS = 128  # sketch length; the Jaccard estimate's error is about 0.5 / sqrt(this)
SAME_TEXT = 0.6  # share of the shorter text found in the other: the same article
MIN_JACCARD = 0.1  # below this, sketches of very unequal texts are too noisy to trust
UPDATE_SHARE = 0.3  # share of a new version's text not in the one sent: an update

Words = npt.NDArray[np.uint64]
Values = npt.NDArray[np.uint32]
Indexes = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Status = Literal["new", "repeat", "updated"]


@dataclass(frozen=True)
class Sketch:
    """A MinHash sketch of an article's body, comparable across runs and releases."""

    values: bytes  # PERMUTATIONS little-endian uint32 minima
    size: int  # distinct shingles in the body


_SEED = hashlib.shake_128(b"digest.stories minhash v1").digest(16 * PERMUTATIONS)
_MULTIPLIERS = np.frombuffer(_SEED[: 8 * PERMUTATIONS], dtype="<u8").astype(np.uint64) | 1
_OFFSETS = np.frombuffer(_SEED[8 * PERMUTATIONS :], dtype="<u8").astype(np.uint64)
_EMPTY = np.full(PERMUTATIONS, 0xFFFFFFFF, dtype=np.uint32)


@functools.lru_cache(maxsize=8192)
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


# --- the rule: how much of one text is in the other ---------------------------------------


def shares(jaccard: float, size_a: int, size_b: int) -> tuple[float, float]:
    """How much of text a is found in b, and of b in a, from their Jaccard similarity."""
    if size_a == 0 or size_b == 0:
        return 0.0, 0.0
    a, b = _shares(np.array([jaccard]), np.array([size_a]), np.array([size_b]))
    return float(a[0]), float(b[0])


def same_text(jaccard: float, size_a: int, size_b: int) -> bool:
    """True when two sketches are one article: most of the shorter text is in the other."""
    if size_a == 0 or size_b == 0:
        return False
    return bool(_same(np.array([jaccard]), np.array([size_a]), np.array([size_b]))[0])


def _shares(jaccard: Floats, size_a: Indexes, size_b: Indexes) -> tuple[Floats, Floats]:
    """`shares` over arrays of pairs (sizes > 0)."""
    common = jaccard / (1 + jaccard) * (size_a + size_b)
    return np.minimum(1.0, common / size_a), np.minimum(1.0, common / size_b)


def _same(jaccard: Floats, size_a: Indexes, size_b: Indexes) -> npt.NDArray[np.bool_]:
    """`same_text` over arrays of pairs (sizes > 0)."""
    found_in_b, found_in_a = _shares(jaccard, size_a, size_b)
    return (jaccard >= MIN_JACCARD) & (np.maximum(found_in_b, found_in_a) >= SAME_TEXT)


# --- copies among new texts, and of sent ones ---------------------------------------------


class _Table:
    """Sketches as arrays: values (n x PERMUTATIONS), sizes, bands (n x PERMUTATIONS/2)."""

    def __init__(self, sketches: Sequence[Sketch]) -> None:
        rows = [np.frombuffer(s.values, dtype="<u4") for s in sketches]
        shape = (0, PERMUTATIONS)
        self.values: Values = np.stack(rows).astype(np.uint32) if rows else np.zeros(shape, "u4")
        self.sizes: Indexes = np.array([s.size for s in sketches], dtype=np.int64)
        self.usable = self.sizes > 0  # an empty text matches nothing
        # two minima side by side in one 64-bit value per band
        high = self.values[:, 0::2].astype(np.uint64) << np.uint64(32)
        self.bands = high | self.values[:, 1::2].astype(np.uint64)

    def jaccard(self, i: int, others: Indexes, of: _Table | None = None) -> Floats:
        """Estimated Jaccard of sketch i (of table `of`, else this one) with `others` here."""
        row = (of or self).values[i]
        equal: Indexes = (self.values[others] == row).sum(axis=1)
        return equal / PERMUTATIONS


def copies(sketches: Sequence[Sketch]) -> list[int]:
    """A group number per text: texts of one article share it (the lowest index in the group)."""
    table = _Table(sketches)
    groups = Groups(len(sketches))
    for band in table.bands.T:
        for members in _buckets(band, table.usable):
            for i, j in _linked(table, members):
                groups.join(i, j)
    return [groups.find(i) for i in range(len(sketches))]


def _buckets(band: npt.NDArray[np.uint64], usable: npt.NDArray[np.bool_]) -> Iterator[Indexes]:
    """The usable sketches agreeing on this band, bucket by bucket (two or more each)."""
    order = np.argsort(band, kind="stable")
    ordered = band[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], ordered.size]
    for start, end in zip(starts[ends - starts > 1], ends[ends - starts > 1], strict=True):
        members = np.sort(order[start:end][usable[order[start:end]]])
        if members.size > 1:
            yield members


def _linked(table: _Table, members: Indexes) -> Iterator[tuple[int, int]]:
    """Pairs that join one bucket's same-text members into their groups.

    A search through the bucket: each text is compared with the members not yet
    placed, so a bucket of copies costs one comparison per member, and one of
    unrelated texts (shared boilerplate) one per pair, a row at a time.
    """
    left = members
    while left.size:
        root, left = int(left[0]), left[1:]
        queue = [root]
        while queue and left.size:
            i = queue.pop()
            same = _same(table.jaccard(i, left), table.sizes[i], table.sizes[left])
            found, left = left[same], left[~same]
            queue.extend(int(j) for j in found)
            yield from ((root, int(j)) for j in found)


def against_sent(sketches: Sequence[Sketch], sent: Sequence[Sketch]) -> list[Status]:
    """For each new text: "repeat" (sent before), "updated" (sent, with much new text) or "new".

    Only pairs across the two lists are checked: sent texts are never paired with
    each other (a wire story sent in 25 copies is 300 pairs per band), so the cost
    follows the new texts and their matches, not what was sent.
    """
    status: list[Status] = ["new"] * len(sketches)
    if not sent:
        return status
    new, old = _Table(sketches), _Table(sent)
    for b in range(PERMUTATIONS // 2):
        for i, js in _across(new, old, b):
            if status[i] == "repeat":
                continue  # final: a repeat of one sent text is a repeat
            jaccard = old.jaccard(i, js, of=new)
            same = _same(jaccard, new.sizes[i], old.sizes[js])
            if not same.any():
                continue
            found_in_new = _shares(jaccard[same], old.sizes[js][same], new.sizes[i])[1]
            novel = 1 - found_in_new
            status[i] = "repeat" if (novel < UPDATE_SHARE).any() else "updated"
    return status


def _across(new: _Table, old: _Table, band: int) -> Iterator[tuple[int, Indexes]]:
    """(new text, the sent texts agreeing with it on this band), for usable texts."""
    index: dict[int, list[int]] = {}
    for i, value in enumerate(new.bands[:, band].tolist()):
        if new.usable[i]:
            index.setdefault(value, []).append(i)
    column = old.bands[:, band]
    hits = np.flatnonzero(np.isin(column, np.fromiter(index, np.uint64)) & old.usable)
    matched: dict[int, list[int]] = {}
    for j, value in zip(hits.tolist(), column[hits].tolist(), strict=True):
        matched.setdefault(value, []).append(j)
    for value, js in matched.items():
        sent_ones = np.array(js, dtype=np.int64)
        for i in index[value]:
            yield i, sent_ones


class Groups:
    """Union-find over indexes; a group is named by its lowest index."""

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
