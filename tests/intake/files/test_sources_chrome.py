"""Tests for intake.files.chrome: page furniture, cut markers, metadata lines, headline layout."""

from __future__ import annotations

import pytest
from helpers import parse_file
from hypothesis import given
from hypothesis import strategies as st

from digest.errors import SourceError

CHROME_LINES = [
    "Copyright © 2026 Example News, LLC.",
    "© 2025 Example News Inc. All rights reserved.",
    "(c) 2024 Example News Ltd",
    "All rights reserved.",
    "Source link",
    "Read more",
    "Continue reading »",
    "Advertisement",
    "Share this article",
    "Click here to subscribe to our daily briefing",
    "Sign up for our free morning newsletter",
    "1 of 1,537",
    "12 of 40",
    "Skip to content",
    "Facebook",
    "Twitter",
    "Share",
    "Email",
    "Print",
    "Comments",
    "Facebook | Twitter | LinkedIn | Email",
    "We use cookies to improve your experience. Accept?",
    "Accept all cookies",
    "Tags: politics, prisons",
]


@pytest.mark.parametrize("line", CHROME_LINES)
def test_chrome_lines_are_removed(line: str) -> None:
    article = parse_file("a.txt", f"Title\n\n{line}\n\nFirst paragraph.\n\n{line}\n\nLast one.")
    assert article.paragraphs == ("First paragraph.", "Last one.")


@pytest.mark.parametrize(
    "line",
    [
        "Email is the oldest way to reach readers, the study found.",
        "Print sales fell 12 percent in 2025.",
        "The site uses cookies, the lawsuit says, without consent.",
        "Copyright law changed in 2024.",
        "He read more than 40 reports.",
        "Share prices rose.",
        "(c) Any person who breaks the rule shall be fined.",
    ],
)
def test_sentences_that_merely_mention_chrome_words_stay(line: str) -> None:
    assert parse_file("a.txt", f"Title\n\nFirst.\n\n{line}").paragraphs == ("First.", line)


@pytest.mark.parametrize(
    "line, source",
    [
        ("Copyright © 2026 The Washington Times, LLC.", "The Washington Times"),
        ("© 2024 Reuters. All rights reserved.", "Reuters"),
        ("Copyright 2019-2024 Example Media Group Inc.", "Example Media Group"),
        ("(c) 2023 The Daily Planet Ltd", "The Daily Planet"),
        ("© 2022 by Jane Doe", "Jane Doe"),
        ("All rights reserved.", None),
    ],
)
def test_source_comes_from_the_copyright_line(line: str, source: str | None) -> None:
    assert parse_file("a.txt", f"Title\n\nBody.\n\n{line}").source == source


@pytest.mark.parametrize(
    "marker",
    ["Related Posts", "Related Articles", "RELATED STORIES:", "You may also like", "Most read"],
)
def test_everything_after_a_trailing_marker_is_chrome(marker: str) -> None:
    text = f"Title\n\nBody one.\n\nBody two.\n\n{marker}\n\nOther story\n\nAnother story."
    assert parse_file("a.txt", text).paragraphs == ("Body one.", "Body two.")


def test_a_marker_before_the_body_only_drops_itself() -> None:
    text = "Related Posts\n\nTitle\n\nBody one.\n\nBody two."
    article = parse_file("a.txt", text)
    assert (article.title, article.paragraphs) == ("Title", ("Body one.", "Body two."))


@pytest.mark.parametrize(
    "line, url",
    [
        ("Source: https://example.com/news/1", "https://example.com/news/1"),
        ("URL: https://example.com/a?b=c", "https://example.com/a?b=c"),
        ("https://example.com/bare", "https://example.com/bare"),
        ("Source: javascript:alert(1)", None),
    ],
)
def test_a_url_line_sets_the_url(line: str, url: str | None) -> None:
    article = parse_file("a.txt", f"Title\n\nBody.\n\n{line}")
    assert article.url == url
    assert (article.paragraphs == ("Body.",)) == (url is not None)


@pytest.mark.parametrize(
    "text, section, title",
    [
        ("World\n\nA headline here\n\nBody.", "World", "A headline here"),
        ("US Politics\n\nA headline here\n\nBody.", "US Politics", "A headline here"),
        ("Business & Economy\n\nHeadline\n\nBody.", "Business & Economy", "Headline"),
        ("A headline here\n\nBody one.\n\nBody two.", None, "A headline here"),
        ("Short Title\n\nA first sentence.\n\nBody two.", None, "Short Title"),
        ("Not a category, really\n\nHeadline\n\nBody.", None, "Not a category, really"),
    ],
)
def test_category_line_then_headline(text: str, section: str | None, title: str) -> None:
    article = parse_file("a.txt", text)
    assert (article.section, article.title) == (section, title)


@given(st.lists(st.sampled_from(CHROME_LINES + ["Body.", "Related Posts", "Title"]), max_size=12))
def test_chrome_never_survives_in_any_order(lines: list[str]) -> None:
    try:
        article = parse_file("a.txt", "\n\n".join(["Headline", "Body first.", *lines]))
    except SourceError:
        return
    assert set(article.paragraphs) <= {"Body first.", "Body.", "Title"}
