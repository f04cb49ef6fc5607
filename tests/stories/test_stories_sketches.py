"""digest.stories.sketches against a brute-force check of every pair, on generated corpora.

The expectations here pair every text with every other in plain Python: two
texts are candidates when their sketches agree on both values of some band (the
LSH rule), and copies when the same-text rule holds for their Jaccard estimate.
The code under test streams buckets instead and must give the same answers.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from digest import stories
from digest.records import Article
from digest.stories.sketches import Sketch, Status

VOCABULARY = [f"w{k}" for k in range(3000)]


def pairwise(sketches: list[Sketch]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
    """For every pair: do both values of some band (0-1, 2-3, ...) agree, and the Jaccard."""
    values = np.stack([np.frombuffer(s.values, dtype="<u4") for s in sketches])
    equal = values[:, None, :] == values[None, :, :]
    return (equal[..., 0::2] & equal[..., 1::2]).any(axis=2), equal.mean(axis=2)


def common(j: float, size_a: int, size_b: int) -> float:
    """Shingles two texts share, from their Jaccard: j = c / (a + b - c)."""
    return j / (1 + j) * (size_a + size_b)


def is_copy(j: float, size_a: int, size_b: int) -> bool:
    """Most of the shorter text is in the other."""
    return j >= stories.MIN_JACCARD and common(j, size_a, size_b) / min(size_a, size_b) >= (
        stories.SAME_TEXT
    )


def brute_force_copies(sketches: list[Sketch]) -> list[int]:
    """Per text, the lowest index of its connected group of copies (every pair checked)."""
    n, (banded, jaccards) = len(sketches), pairwise(sketches)
    linked: list[list[int]] = [[] for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            a, b = sketches[i].size, sketches[j].size
            if a and b and banded[i, j] and is_copy(float(jaccards[i, j]), a, b):
                linked[i].append(j)
                linked[j].append(i)
    label = [-1] * n
    for start in range(n):  # ascending: each group is first reached from its lowest index
        if label[start] < 0:
            label[start], todo = start, [start]
            while todo:
                for other in linked[todo.pop()]:
                    if label[other] < 0:
                        label[other] = start
                        todo.append(other)
    return label


def brute_force_against_sent(sketches: list[Sketch], sent: list[Sketch]) -> list[Status]:
    """Repeat when a sent copy holds most of the new text; updated when every copy lacks much."""
    status: list[Status] = []
    banded, jaccards = pairwise([*sketches, *sent])
    for i, new in enumerate(sketches):
        found: list[Status] = []
        for k, old in enumerate(sent, start=len(sketches)):
            if not (new.size and old.size and banded[i, k]):
                continue
            j = float(jaccards[i, k])
            if is_copy(j, new.size, old.size):
                novel = 1 - min(1.0, common(j, new.size, old.size) / new.size)
                found.append("repeat" if novel < stories.UPDATE_SHARE else "updated")
        status.append("repeat" if "repeat" in found else "updated" if found else "new")
    return status


def corpus(seed: int, n: int = 320) -> list[str]:
    """Texts like a scraper's: stories copied with edits, page boilerplate shared by most
    (big LSH buckets of texts that are not copies), stories inside longer texts, unrelated,
    short and empty texts."""
    rng = random.Random(seed)
    boilerplate = rng.choices(VOCABULARY, k=40)
    bases = [rng.choices(VOCABULARY, k=rng.randint(100, 400)) for _ in range(40)]
    texts: list[str] = []
    while len(texts) < n:
        body, kind = rng.choice(bases), rng.random()
        if kind < 0.4:  # an edited copy: some words changed, a part cut
            body = [rng.choice(VOCABULARY) if rng.random() < 0.05 else w for w in body]
            body = body[: int(len(body) * rng.uniform(0.6, 1.0))]
        elif kind < 0.55:  # the story inside a much longer text
            body = body + rng.choices(VOCABULARY, k=len(body) * rng.randint(1, 6))
        elif kind < 0.85:  # unrelated
            body = rng.choices(VOCABULARY, k=rng.randint(100, 300))
        elif kind < 0.95:  # short, and a short part of a story
            body = rng.choice([rng.choices(VOCABULARY, k=rng.randint(3, 40)), body[:30]])
        else:
            body = []
        if rng.random() < 0.7 and len(body) >= 100:
            body = body + boilerplate
        texts.append(" ".join(body))
    return texts


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_copies_are_the_groups_every_pair_checked_gives(seed: int) -> None:
    sketches = [stories.sketch(t) for t in corpus(seed)]
    expected = brute_force_copies(sketches)
    assert len(set(expected)) < len(expected) - 20  # the corpus has real groups...
    assert max(expected.count(g) for g in set(expected)) > 5  # ...and big ones
    assert stories.copies(sketches) == expected


@pytest.mark.parametrize("seed", [4, 5])
def test_copies_of_sent_texts_are_the_ones_every_pair_checked_gives(seed: int) -> None:
    texts = corpus(seed, 300)
    sent = [stories.sketch(t) for t in texts[:150]]
    new = [stories.sketch(t) for t in texts[150:]]
    expected = brute_force_against_sent(new, sent)
    assert {"new", "repeat", "updated"} <= set(expected)
    assert stories.against_sent(new, sent) == expected


def test_one_bucket_of_a_thousand_pages_sharing_only_boilerplate() -> None:
    rng = random.Random(7)
    chrome = rng.choices(VOCABULARY, k=40)
    texts = [" ".join(chrome + rng.choices(VOCABULARY, k=200)) for _ in range(1000)]
    texts += texts[:3]  # and three exact copies
    sketches = [stories.sketch(t) for t in texts]
    expected = list(range(1000)) + [0, 1, 2]
    assert stories.copies(sketches) == expected


def test_no_texts_and_only_empty_ones() -> None:
    assert stories.copies([]) == []
    assert stories.against_sent([], [stories.sketch("a b c d")]) == []
    empty = stories.sketch("")
    assert stories.against_sent([empty], [empty]) == ["new"]


def test_arrangement_holds_every_articles_sketch_even_a_dropped_repeat() -> None:
    now = datetime(2024, 3, 5, 7, 0, tzinfo=UTC)
    texts = corpus(8, 12)
    articles = [
        Article(f"a{k}", Path(f"{k}.txt"), f"Title {k}", (t or "x",), now)
        for k, t in enumerate(texts)
    ]
    sent = [stories.sketch(articles[0].text)]
    arranged = stories.arrange(articles, now=now, sent=sent)
    assert isinstance(arranged, stories.Arrangement)
    assert arranged.sketches == {a.id: stories.sketch(a.text) for a in articles}
    every = [stories.sketch(a.text) for a in articles]
    status = brute_force_against_sent(every, sent)
    shown = [a.id for s in arranged.stories for a in (s.lead, *s.also)]
    assert sorted(shown) == sorted(
        a.id for a, st in zip(articles, status, strict=True) if st != "repeat"
    )
    assert "a0" not in shown
    ranks = [s.rank for s in arranged.stories]
    assert ranks == sorted(ranks, reverse=True)
