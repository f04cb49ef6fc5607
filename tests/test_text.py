"""Tests for digest.text: each normal form, and what it is blind to."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.text import (
    clean_line,
    clean_text,
    headline_key,
    identity_text,
    is_web_url,
    one_line,
    without_controls,
    without_headline,
    words,
)

CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@given(st.text())
def test_clean_text_never_fails_and_leaves_no_control_characters(text: str) -> None:
    cleaned = clean_text(text)
    assert not CONTROL.search(cleaned)
    assert "\t" not in cleaned and "\r" not in cleaned
    assert clean_text(cleaned) == cleaned


def test_clean_text_unifies_newlines_spaces_and_accents() -> None:
    assert clean_text(" Cafe\u0301\r\nsoft\u00adhy\u200bphen \t here \n") == "Café\nsofthyphen here"


def test_one_line_joins_every_kind_of_whitespace() -> None:
    assert one_line("  a\n\tb   c \u2028d ") == "a b c d"


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("Big News", "Big news!", True),
        ("Bridge vote: what next?", "bridge vote — what next", True),
        ("U.S. stocks fall", "US stocks fall.", True),
        ("Bridge vote", "Bridge votes", False),
    ],
)
def test_headline_key_is_blind_to_case_and_punctuation(a: str, b: str, same: bool) -> None:
    assert (headline_key(a) == headline_key(b)) is same


def test_identity_text_is_blind_to_quote_dash_case_and_spacing() -> None:
    assert identity_text("“It’s” — OK…") == identity_text('"it\'s" -  ok...') == '"it\'s"-ok...'


def test_words_are_lower_case_and_blind_to_accent_encoding() -> None:
    assert words("Cafe\u0301 “DÉJÀ” vu—ok") == ["café", "déjà", "vu", "ok"]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("a\r\nb\rc\u2028d\x85e", "a\nb\nc\nd\ne"),  # one newline style
        ("tab\there", "tab here"),
        ("bell\x07 nul\x00 del\x7f c1\x9b", "bell nul del c1"),
        ("lone \udcff surrogate", "lone  surrogate"),
    ],
)
def test_without_controls_keeps_newlines_and_drops_every_other_control(
    raw: str, expected: str
) -> None:
    assert without_controls(raw) == expected


@given(st.text())
def test_clean_line_is_one_line_without_controls(text: str) -> None:
    line = clean_line(text)
    assert "\n" not in line and not CONTROL.search(line) and line == line.strip()


def test_without_headline_drops_the_repeat_in_the_first_three_paragraphs() -> None:
    body = ["By Ann Lee", "Bridge vote: what next?", "The council met.", "More."]
    assert without_headline("Bridge Vote — What Next", body) == [body[0], *body[2:]]
    assert without_headline("Bridge vote", body) == body
    assert without_headline(None, body) == body
    assert without_headline("More", body) == body  # fourth paragraph: kept


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://example.org/a", True),
        ("HTTP://example.org", True),
        ("javascript:alert(1)", False),
        ("ftp://example.org/file", False),
        ("https:///no-host", False),
        ("http://[::1/broken", False),  # urlsplit raises: not a link
        ("", False),
    ],
)
def test_is_web_url_wants_http_or_https_and_a_host(url: str, ok: bool) -> None:
    assert is_web_url(url) is ok
