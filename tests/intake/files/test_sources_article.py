"""Tests for digest.intake.files.article: the id, titles, and what makes a file no article."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import BODY, FIXTURES, parse_file, read_file, skip_reason, write_seed
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.errors import SourceError

FIXTURES = FIXTURES / "sources"
REAL_SEED = FIXTURES / "washington_times.txt"


def test_same_body_under_two_names_has_one_id(tmp_path: Path) -> None:
    first = read_file(write_seed(tmp_path, "a.txt", REAL_SEED.read_bytes()))
    second = read_file(write_seed(tmp_path, "copy/b.txt", REAL_SEED.read_bytes()))
    assert first.id == second.id
    assert first.path != second.path
    assert re.fullmatch(r"[0-9a-f]{16}", first.id)
    assert first.modified.tzinfo is not None


@pytest.mark.parametrize(
    "variant",
    [
        BODY.replace("“", '"').replace("”", '"').replace("’", "'"),  # straight quotes
        BODY.replace(" — ", " - "),  # ASCII dash
        BODY.replace(" ", "  ").replace("\n\n", "\n\n\n"),  # more spacing
        BODY.replace("\n", "\r\n"),  # Windows newlines
        BODY.replace("officials said.", "officials\nsaid."),  # a hard wrap
        BODY.upper(),  # case
    ],
)
def test_id_ignores_whitespace_quotes_dashes_and_case(variant: str) -> None:
    assert (
        parse_file("a.txt", "Title\n\n" + variant).id == parse_file("b.txt", "Title\n\n" + BODY).id
    )


def test_id_is_the_body_not_the_title() -> None:
    assert (
        parse_file("a.txt", "One title\n\n" + BODY).id == parse_file("a.txt", "Other\n\n" + BODY).id
    )
    assert (
        parse_file("a.txt", "Title\n\n" + BODY).id != parse_file("a.txt", "Title\n\nOther body.").id
    )


def test_id_is_the_same_across_formats() -> None:
    json_text = '{"title": "Title", "text": ' + repr(BODY).replace("'", '"') + "}"
    html = "<h1>Title</h1>" + "".join(f"<p>{p}</p>" for p in BODY.split("\n\n"))
    ids = {parse_file(n, c).id for n, c in [("a.txt", "T\n\n" + BODY), ("a.html", html)]}
    ids.add(parse_file("a.json", json_text.replace("\\u2014", "—")).id)
    assert len(ids) == 1


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("a.txt", b"", "empty file"),
        ("a.txt", b" \n\t\r\n  \n", "empty file"),
        ("a.txt", b"\xef\xbb\xbf", "empty file"),
        ("a.txt", b"\xff\xfe", "empty file"),
        ("a.md", b"\n\n", "empty file"),
        ("a.txt", "Copyright © 2026 X\n\nSource link\n\nRelated Posts\n\n1 of 5", "empty after"),
        ("a.txt", "Share\n\nAdvertisement\n\nFacebook | Twitter | Email", "empty after"),
        ("a.html", "<html><script>alert(1)</script><nav>Home</nav></html>", "empty after"),
        ("a.html", "<p>Skip to content</p><p>Advertisement</p>", "empty after"),
        ("a.md", "---\ntitle: Only a title\n---\n", "only a headline"),
        ("a.txt", "Just a headline and nothing else\n", "only a headline"),
        ("a.md", "# Just a heading", "only a headline"),
        ("a.txt", "Featured\n\nHeadline\n\nRelated Posts\n\nOther", "only a headline"),
    ],
)
def test_empty_and_chrome_only_files_are_skipped(name: str, content: str, expected: str) -> None:
    assert skip_reason(name, content).startswith(expected)


def test_long_title_is_cut_at_a_word() -> None:
    title = "word " * 100
    article = parse_file("a.json", f'{{"title": "{title}", "text": "Body."}}')
    assert len(article.title) <= 300
    assert article.title.endswith("word…")


def test_no_title_uses_the_first_sentence_cut_short() -> None:
    long_one = parse_file("a.txt", "x" * 20 + " " + "y" * 200 + ".")
    assert len(long_one.title) <= 100 and long_one.title.endswith("…")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        (
            "Hazzard County's sheriff Rosco P. Coltrane chased the Duke boys. Nobody was caught.",
            "Hazzard County's sheriff Rosco P. Coltrane chased the Duke boys.",
        ),
        (
            "Lawmakers in the U.S. Senate passed the bill late on Friday. It goes on.",
            "Lawmakers in the U.S. Senate passed the bill late on Friday.",
        ),
        (
            "The new mayor of Hazzard, Mr. Okafor, was elected on Tuesday. He won.",
            "The new mayor of Hazzard, Mr. Okafor, was elected on Tuesday.",
        ),
    ],
)
def test_a_title_from_the_text_is_not_cut_at_an_abbreviation(text: str, title: str) -> None:
    assert parse_file("a.json", json.dumps({"text": text})).title == title


CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@settings(max_examples=300)
@given(
    st.sampled_from(["a.txt", "a.md", "a.html", "a.json", "a.bin"]),
    st.one_of(st.binary(), st.text().map(str.encode), st.text().map(lambda t: t.encode("utf-16"))),
)
def test_any_bytes_give_an_article_or_a_source_error(name: str, data: bytes) -> None:
    try:
        article = parse_file(name, data)
    except SourceError as exc:
        assert exc.reason and "\n" not in exc.reason
        return
    assert article.paragraphs and all(article.paragraphs)
    assert 0 < len(article.title) <= 300
    for text in (article.title, *article.paragraphs):
        assert not CONTROL.search(text) and "\n" not in text and text == text.strip()
