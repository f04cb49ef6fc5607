"""Word tokens for the rankers: NLTK's word tokenizer's words, in a few stdlib regex passes.

sumy's rankers keep only the tokens that look like words (letters, with inner
apostrophes or hyphens), and NLTK's `NLTKWordTokenizer` made about 25 passes
of the `regex` module over every sentence to find them: a third of the
summarizer's time. `split_words` gives the same words in the same order, and
skips the passes that only decide how punctuation is cut up, since no
punctuation token is a word. The passes that decide where a word ends are
NLTK's own patterns, in NLTK's order (tests/summary/test_wordsplit.py and
benchmarks/wordsplit_check.py compare both on real news).
"""

from __future__ import annotations

import re

# sumy's own test for a word token (sumy.nlp.tokenizers.Tokenizer._WORD_PATTERN).
WORD = re.compile(r"^[^\W\d_](?:[^\W\d_]|['-])*$")

# NLTK's passes that decide where a word ends, in NLTK's order, rewritten to insert or
# replace a constant (lookarounds instead of groups: stdlib `re` then needs no template) and
# skipped when a substring check shows they cannot match. A mark NLTK pads before a later
# pass looks at its neighbours is padded before that pass here too.

# Opening quotes are padded first, and a `"` (or '') that opens a quote becomes ``, so it is
# not one of the closing marks the final period may be followed by.
_EARLY_QUOTES = frozenset("«“‘„`")
_EARLY_QUOTE = re.compile(r"(?=[«“‘„`])|(?<=[«“‘„`])")
_OPENING_QUOTE = re.compile(r"(?<=[ (\[{<])(?:\"|'')")
# An apostrophe that opens a quote ('Hello) is cut from its word.
_OPENING_APOSTROPHE = re.compile(r"(?i)(?<!\w)'(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)")
# The closing marks (and spaces) that may follow the sentence's final period.
_CLOSING = "])}>\"'»”’ "
# Commas and colons not followed by a digit ("was,5" stays one token, and is no word). NLTK
# takes the next character along, which only matters when it is another comma or colon.
_COMMA = re.compile(r"[:,](?=\D)|[:,]$")
_COMMA_PAIRS = (",,", ",:", ":,", "::")
_COMMA_EXACT = re.compile(r"([:,])([^\d])")
# Marks apart before a trailing apostrophe is cut ("students' ..."); none is a word.
_MIDDLE_APART = re.compile(r"\.{2,}|[;@#$%&?!\u2012-\u2015]|[:,]$")
_LAST_APOSTROPHE = re.compile(r"(?<=[^'])' ")
# Marks apart before the clitics are cut; none is a word, so each is just a space.
_LATE_APART = re.compile(r"[\"«“‘„`»”’*\[\](){}<>]|--|''")
# Clitics at a word's end (John's, they'll, don't), in NLTK's two passes: the first can free
# the second's ("an't' " -> "an't ' " -> "a n't ' ").
_CLITICS = (
    re.compile(r"(?<=[^' ])(?='[sSmMdD] |' )"),
    re.compile(r"(?<=[^' ])(?='ll |'LL |'re |'RE |'ve |'VE |n't |N'T )"),
)
# The contractions NLTK cuts in two ("cannot" -> "can not").
_CONTRACTIONS = re.compile(
    r"(?i)\b(?:(can)(not)|(d)('ye)|(gim)(me)|(gon)(na)|(got)(ta)|(lem)(me)|(more)('n))\b"
    r"|\b(wan)(na)(?=\s)| (?:('t)(is)|('t)(was))\b"
)
_CONTRACTED = ("cannot", "d'ye", "gimme", "gonna", "gotta", "lemme", "more'n", "wanna", "'t")


def split_words(sentence: str) -> tuple[str, ...]:
    """The words of one sentence as NLTK's word tokenizer cuts them, punctuation left out."""
    text = _opening(sentence)
    apostrophes = "'" in text
    if apostrophes:
        text = _OPENING_APOSTROPHE.sub("' ", text)
    text = _final_period(text)
    if "," in text or ":" in text:
        exact = any(pair in text for pair in _COMMA_PAIRS)
        text = _COMMA_EXACT.sub(r" \1 \2", text) if exact else _COMMA.sub(" ", text)
    text = _MIDDLE_APART.sub(" ", text)
    if apostrophes:
        text = _LAST_APOSTROPHE.sub(" ' ", text)
    text = f" {' '.join(_LATE_APART.sub(' ', text).split())} "
    if apostrophes:
        for clitic in _CLITICS:
            text = clitic.sub(" ", text)
    lower = text.lower()
    if any(word in lower for word in _CONTRACTED):
        text = _CONTRACTIONS.sub(_apart, text)
    # isalpha() is the quick yes: every letter is a word character, and most words are plain.
    return tuple(w for w in text.split() if w.isalpha() or WORD.match(w))


def _opening(text: str) -> str:
    """Opening quotes padded, and a `"` or '' that opens a quote made ``."""
    if not _EARLY_QUOTES.isdisjoint(text):
        text = _EARLY_QUOTE.sub(" ", text)
    if '"' in text or "''" in text:
        text = "``" + text[1:] if text.startswith('"') else text
        text = _OPENING_QUOTE.sub(" `` ", text)
    return text


def _final_period(text: str) -> str:
    """The sentence's last period cut from its word: "... in New York." -> "... York . "."""
    body = text.rstrip().rstrip(_CLOSING)
    if len(body) < 2 or body[-1] != "." or body[-2] == ".":
        return text
    return f"{body[:-1]} . {text[len(body) :]} "


def _apart(match: re.Match[str]) -> str:
    return " " + " ".join(g for g in match.groups() if g is not None) + " "
