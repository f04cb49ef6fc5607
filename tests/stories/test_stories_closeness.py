"""Cosines summed in blocks of documents, and closeness through each report's neighbours,
checked against the vectors written out in full."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from digest.stories import closeness
from digest.stories.closeness import cosines, through_neighbours

Vector = dict[str, float]


def unit(raw: Vector) -> Vector:
    norm = math.sqrt(sum(w * w for w in raw.values()))
    return {t: w / norm for t, w in raw.items()}


def dot(a: Vector, b: Vector) -> float:
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def random_vectors(count: int, seed: int) -> list[Vector]:
    rng = random.Random(seed)
    vocabulary = [f"t{k}" for k in range(40)]
    return [
        unit({t: rng.uniform(0.1, 1.0) for t in rng.sample(vocabulary, rng.randint(3, 12))})
        for _ in range(count)
    ]


@pytest.mark.parametrize(
    ("at_once", "dense_cells"), [(1, 0), (50, 0), (10_000_000, 0), (1, 10_000_000)]
)
def test_cosines_in_blocks_are_the_dot_products(
    at_once: int, dense_cells: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Term by term in blocks of documents (a large run), or one matrix product (a digest)."""
    monkeypatch.setattr(closeness, "PAIRS_AT_ONCE", at_once)
    monkeypatch.setattr(closeness, "DENSE_CELLS", dense_cells)
    vectors = random_vectors(30, seed=at_once)
    expected = {
        (i, j): dot(vectors[i], vectors[j])
        for i, j in itertools.combinations(range(len(vectors)), 2)
        if dot(vectors[i], vectors[j]) >= 0.2
    }
    found = cosines(vectors, 0.2)
    assert [(i, j) for i, j, _ in found] == sorted(expected)
    for i, j, cosine in found:
        assert cosine == pytest.approx(expected[(i, j)])


def test_closeness_through_neighbours_is_the_cosine_of_the_borrowed_vectors() -> None:
    vectors = random_vectors(12, seed=7)
    pairs = [
        (i, j, dot(vectors[i], vectors[j]))
        for i, j in itertools.combinations(range(len(vectors)), 2)
    ]
    share = 1 / closeness.NEIGHBOURS
    borrowed, near = [], []
    for i, vector in enumerate(vectors):
        close = sorted(
            ((c, b if a == i else a) for a, b, c in pairs if i in (a, b)),
            key=lambda found: (-found[0], found[1]),
        )
        near.append([k for c, k in close if c >= closeness.NEIGHBOUR_FLOOR][: closeness.NEIGHBOURS])
        total = dict(vector)
        for k in near[i]:
            for t, w in vectors[k].items():
                total[t] = total.get(t, 0.0) + share * w
        borrowed.append(total)

    def expected(i: int, j: int) -> float:
        """The cosine of the borrowed vectors; with no neighbour in common, what each gains
        by borrowing the other (x_j . x_j = 1, x_i . x_i = 1) counts ALONE_SHARE."""
        product = dot(borrowed[i], borrowed[j])
        if not set(near[i]) & set(near[j]):
            product -= (1 - closeness.ALONE_SHARE) * share * ((j in near[i]) + (i in near[j]))
        return product / math.sqrt(dot(borrowed[i], borrowed[i]) * dot(borrowed[j], borrowed[j]))

    found = through_neighbours(len(vectors), pairs)
    assert found == pytest.approx([expected(i, j) for i, j, _ in pairs])
    alone = [not set(near[i]) & set(near[j]) for i, j, _ in pairs]
    assert any(alone) and not all(alone)  # both kinds of pair are tested


def test_a_report_with_no_close_neighbour_keeps_its_cosine() -> None:
    assert through_neighbours(3, [(0, 1, 0.05), (1, 2, 0.08)]) == pytest.approx([0.05, 0.08])
    assert through_neighbours(2, []) == []
