"""Tests for digest.edition.compose: demoting entries to titles and titles to a count."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import make_article
from hypothesis import given
from hypothesis import strategies as st

from digest.edition.compose import MORE_LISTED, Digest, Entry, demote, unabridged, unlist
from digest.records import Article, Summary

CREATED = datetime(2024, 3, 5, 7, 30, tzinfo=UTC)


def _article(n: int) -> Article:
    return make_article(
        id=f"id-{n}",
        path=Path(f"{n}.txt"),
        title=f"Title {n}",
        paragraphs=("Text.",),
        modified=CREATED,
    )


def _digest(entries: int, more: int = 0, unlisted: int = 0) -> Digest:
    summary = Summary(("One.",), "english", "lead")
    return Digest(
        created=CREATED,
        entries=tuple(Entry(_article(n), summary, 1) for n in range(entries)),
        more=tuple(_article(100 + n) for n in range(more)),
        unlisted=tuple(_article(1000 + n) for n in range(unlisted)),
    )


def _titles(articles: tuple[Article, ...]) -> list[str]:
    return [a.title for a in articles]


def test_demote_moves_the_last_entries_ahead_of_the_titles() -> None:
    digest = demote(_digest(4, more=2), 2)
    assert [e.article.title for e in digest.entries] == ["Title 0", "Title 1"]
    assert _titles(digest.more) == ["Title 2", "Title 3", "Title 100", "Title 101"]
    assert digest.unlisted == ()


def test_demote_keeps_the_title_list_within_its_cap() -> None:
    digest = demote(_digest(3, more=MORE_LISTED, unlisted=1), 2)
    assert len(digest.more) == MORE_LISTED
    assert _titles(digest.more)[:2] == ["Title 1", "Title 2"]
    assert _titles(digest.unlisted) == ["Title 198", "Title 199", "Title 1000"]


def test_unlist_counts_the_last_titles() -> None:
    digest = unlist(_digest(1, more=3, unlisted=1), 2)
    assert _titles(digest.more) == ["Title 100"]
    assert _titles(digest.unlisted) == ["Title 101", "Title 102", "Title 1000"]


def test_unabridged_lists_everything() -> None:
    digest = unabridged(_digest(1, more=2, unlisted=3))
    assert len(digest.more) == 5 and digest.unlisted == ()


@pytest.mark.parametrize("n", [0, -1])
def test_nothing_to_move(n: int) -> None:
    digest = _digest(2, more=1)
    assert demote(digest, n) is digest
    assert unlist(digest, n) is digest


@given(
    st.integers(0, 8),
    st.integers(0, 120),
    st.integers(0, 5),
    st.integers(0, 10),
    st.integers(0, 130),
)
def test_moves_keep_every_article_once_and_in_rank_order(
    entries: int, more: int, unlisted: int, down: int, counted: int
) -> None:
    digest = _digest(entries, more, unlisted)
    moved = unlist(demote(digest, down), counted)
    assert moved.article_ids == digest.article_ids
    assert moved.article_count == digest.article_count
    assert len(moved.more) <= max(MORE_LISTED, len(digest.more))
