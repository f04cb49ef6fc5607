"""Tests for intake.files.formats: markdown, HTML and JSON details (whole files: the corpus)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from helpers import parse_file, skip_reason

from digest.errors import SourceError


@pytest.mark.parametrize(
    "text, title",
    [
        ("# The *real* title\n\nBody.", "The real title"),
        ("```sh\n# not a title\n```\n\n# Title\n\nBody.", "Title"),
        ("Setext title\n============\n\nBody.", "Setext title"),
        ("Featured\n\nPlain headline\n\nBody.", "Plain headline"),
        ("---\nnot: front\nmatter at all\n---\n\nBody.", "not: front matter at all"),
    ],
)
def test_markdown_titles(text: str, title: str) -> None:
    assert parse_file("a.markdown", text).title == title


@pytest.mark.parametrize(
    "page, title, paragraphs",
    [
        (
            "<title>Plain page - Some Site</title><body><p>One.</p><p>Two.</p></body>",
            "Plain page",
            ("One.", "Two."),
        ),
        (
            "<body><h1>Site name</h1><main><h1>Story</h1><p>Body.</p></main></body>",
            "Story",
            ("Body.",),
        ),
        (
            "<form><header>Menu</header><article><p>Inside a form.</p></article></form>",
            "Inside a form.",
            ("Inside a form.",),
        ),
        (
            "<p>Line one<br>line two</p><p>Unclosed <b>bold",
            "Line one",
            ("Line one", "line two", "Unclosed bold"),
        ),
        (
            "Just text, no tags at all.",
            "Just text, no tags at all.",
            ("Just text, no tags at all.",),
        ),
    ],
)
def test_html_layouts(page: str, title: str, paragraphs: tuple[str, ...]) -> None:
    article = parse_file("a.htm", page)
    assert (article.title, article.paragraphs) == (title, paragraphs)


def test_html_canonical_javascript_url_is_no_url() -> None:
    bad = parse_file("a.html", '<link rel="canonical" href="javascript:alert(1)"><p>Body.</p>')
    assert bad.url is None


LONG = (
    "The council voted on Tuesday to fund the new bridge across the river after a debate",
    "that lasted most of the afternoon and ended with a clear majority for the plan.",
    "Work is due to start in May and the contractor expects the bridge to open next year.",
    "Residents on both banks have waited for a crossing since the old ferry stopped running.",
)


def test_a_long_page_is_read_by_trafilatura_without_its_byline_and_captions() -> None:
    page = (
        "<html><body><article><h1>Bridge vote</h1><div class='byline'>By Ann Smith</div>"
        + "".join(f"<p>{line}</p>" for line in LONG)
        + "<figure><img src='b.jpg'><figcaption>The river at dawn.</figcaption></figure>"
        + "</article></body></html>"
    )
    article = parse_file("a.html", page)
    assert (article.title, article.paragraphs) == ("Bridge vote", LONG)


def test_a_page_too_complex_for_trafilatura_is_read_by_the_stdlib_parser() -> None:
    filler = "<span></span>" * 16_000  # over digest.intake.extract.MAX_ELEMENTS
    page = "<html><body><article><h1>Bridge vote</h1><p>" + " ".join(LONG) + "</p>"
    article = parse_file("a.html", page + filler + "</article></body></html>")
    assert (article.title, article.paragraphs) == ("Bridge vote", (" ".join(LONG),))


def test_a_long_page_with_a_javascript_canonical_url_has_no_url() -> None:
    page = '<link rel="canonical" href="javascript:alert(1)"><article><h1>Bridge vote</h1>'
    article = parse_file("a.html", page + "".join(f"<p>{line}</p>" for line in LONG))
    assert article.paragraphs == LONG and article.url is None


@pytest.mark.parametrize(
    "content, expected",
    [
        (
            '{"title": "T",\n "text": "x"\n "url": 1}',
            "not valid JSON (line 3: Expecting ',' delimiter)",
        ),
        ("not json", "not valid JSON (line 1: Expecting value)"),
        ('["a list"]', "not a JSON object (it is a list)"),
        ("null", "not a JSON object (it is null)"),
        ('{"title": "T"}', 'has no "text" field'),
        ('{"title": "T", "text": 5}', '"text" is not a string'),
        ('{"title": "T", "text": "   "}', '"text" is empty'),
        ('{"title": "T", "text": "Source link"}', "only a headline, no article text"),
        (
            '{"n": 1' + "0" * 5000 + "}",
            "not valid JSON (a value is too large or too deeply nested)",
        ),
        ("[" * 100_000, "not valid JSON (a value is too large or too deeply nested)"),
    ],
)
def test_bad_json_says_why(content: str, expected: str) -> None:
    assert skip_reason("a.json", content) == expected


@pytest.mark.parametrize(
    "published, expected",
    [
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("2024-05-01T10:20:30Z", datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-05-01 10:20", datetime(2024, 5, 1, 10, 20, tzinfo=UTC)),
        ("Wed, 01 May 2024 10:20:30 GMT", datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("yesterday", None),
        ("2024-13-45", None),
        ("", None),
    ],
)
def test_published_dates(published: str, expected: datetime | None) -> None:
    article = parse_file("a.json", f'{{"title": "T", "text": "Body.", "published": "{published}"}}')
    assert article.published == expected
    assert article.published is None or article.published.tzinfo is not None


def test_json_without_title_uses_the_first_sentence() -> None:
    article = parse_file(
        "a.json", '{"title": 7, "text": "A first sentence here, long enough. More."}'
    )
    assert article.title == "A first sentence here, long enough."


@pytest.mark.parametrize(
    "name, junk",
    [
        ("a.html", "<!--" * 100_000),  # the stdlib's own recovery here is quadratic
        ("a.html", "<a href='" * 50_000),
        ("a.html", "</" * 200_000),
        ("a.md", "_a " * 200_000),
        ("a.md", "[a](" * 100_000),
        ("a.md", "**a " * 100_000),
    ],
)
def test_malformed_markup_is_not_quadratic(name: str, junk: str) -> None:
    # Unterminated constructs once took minutes here; this finishing at all is the test.
    html = name.endswith(".html")
    try:
        article = parse_file(name, "<p>Before.</p>" + junk if html else junk)
    except SourceError:
        assert not html
    else:
        assert article.paragraphs == ("Before.",) or not html
