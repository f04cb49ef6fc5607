"""Tests for digest.text: each normal form, and what it is blind to."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.text import clean_text, headline_key, identity_text, one_line, words

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
