"""Tests for digest.edition.view_model: the cleaned values the templates see."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import make_article

from digest.edition.compose import Digest
from digest.edition.view_model import date_range, safe_url

CREATED = datetime(2024, 3, 5, 7, 30, tzinfo=UTC)


def _on(*days: tuple[int, int, int]) -> Digest:
    more = tuple(
        make_article(id=f"id-{n}", path=Path(f"{n}.txt"), modified=CREATED, published=datetime(*d))
        for n, d in enumerate(days)
    )
    return Digest(created=CREATED, entries=(), more=more)


@pytest.mark.parametrize(
    "days, expected",
    [
        ([], None),
        ([(2024, 3, 4)], "4 Mar 2024"),
        ([(2024, 3, 4), (2024, 3, 4)], "4 Mar 2024"),
        ([(2024, 3, 5), (2024, 3, 3)], "3–5 Mar 2024"),
        ([(2024, 2, 28), (2024, 3, 4)], "28 Feb – 4 Mar 2024"),
        ([(2023, 12, 30), (2024, 1, 2)], "30 Dec 2023 – 2 Jan 2024"),
    ],
)
def test_date_range(days: list[tuple[int, int, int]], expected: str | None) -> None:
    assert date_range(_on(*days)) == expected


def test_date_range_falls_back_to_the_file_time() -> None:
    article = make_article(modified=datetime(2024, 3, 1, tzinfo=UTC))
    assert date_range(Digest(created=CREATED, entries=(), more=(article,))) == "1 Mar 2024"


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),
        ('https://example.org/"<x>', "https://example.org/%22%3Cx%3E"),
        ("https://example.org/{a}|b^`\\", "https://example.org/%7Ba%7D%7Cb%5E%60%5C"),
        ("https://bücher.example/Zürich", "https://bücher.example/Zürich"),
        ("javascript:alert(1)", None),
    ],
)
def test_safe_url(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected
