"""Sentence hygiene and the "news" choice: position, centrality, no repeats, a word budget.

Pure functions over plain strings and numbers; `summarize` feeds them sumy's
sentence ratings and word stems, so this module imports no third-party library.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

# A sentence with fewer words is a fragment ("1.", "ET, Sunday, HBO .", "Why?").
MIN_WORDS = 4
# Two sentences sharing this share of the shorter one's distinct stems say the same thing.
DUPLICATE_OVERLAP = 0.7
# The length prior counts a sentence's words up to this many (longer is not better).
LONG_SENTENCE = 40


@dataclass(frozen=True)
class Weights:
    """The constants of the "news" choice; `NEWS` holds the ones chosen by cross-validation
    on the dev data (`make eval`, benchmarks/eval.py --folds 5; see README, Summaries)."""

    # The sentence at index i (0-based) weighs (1 + i) ** -position: news puts the story
    # first, and a sentence must be that much more central to beat an earlier one.
    position: float = 0.5
    # A summary of N sentences holds at most N * words_per_sentence words (the first pick
    # always fits): short, dense sentences rather than long ones.
    words_per_sentence: int = 35
    # A sentence of w words weighs min(w, LONG_SENTENCE) ** length (0: length does not count).
    length: float = 0.0
    # A sentence that points back (`points_back`) is chosen only with the one before it
    # (False: as before issue 19, for benchmarks/eval.py's comparison).
    standalone: bool = True


NEWS = Weights()

_NAME = r"[A-Z][\w.&'’-]*"
_AGENCY = rf"\({_NAME}(?: {_NAME}){{0,2}}\)"  # (CNN) (AP) (Rolling Stone)
_PLACE = rf"{_NAME}(?:,? {_NAME}){{0,4}}"  # Moscow, Charleston, South Carolina
_CAPS = r"[A-Z][A-Z.'’-]+(?: [A-Z][A-Z.'’-]+){0,3}"  # SAN SALVADOR
_DASH = r"(?:--|[—–])"
# Only at the very start of an article, and only when a capital, digit or quote follows, so
# "Pelosi (D-CA) said" or "NASA said" are left alone.
_DATELINE = re.compile(
    rf"(?:(?:{_PLACE} )?{_AGENCY}\s*(?:(?:{_DASH}|-)\s*)?"
    rf"|{_CAPS}(?:, {_PLACE})?(?: {_AGENCY})? {_DASH}\s*)"
    r"(?=[\"“‘'\d]|[^\W\d_])"
)
_WORDS = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_BOILERPLATE = re.compile(
    r".*\bcontributed (?:to )?(?:this |the )?(?:report|reporting|story|article)\b.{0,60}"
    r"|(?:read (?:more|this)|watch(?: the video)?|related|see also)\s*:.*"
    r"|click here\b.*|follow @\w+ on twitter\b.*|(?:copyright|©).*",
    re.I | re.S,
)


def strip_dateline(sentence: str) -> str:
    """The opening sentence without a dateline: "Moscow (CNN)A Russian ..." -> "A Russian ..."."""
    match = _DATELINE.match(sentence)
    if match is None or sentence[match.end() :][:1].islower():
        return sentence
    return sentence[match.end() :]


def is_boilerplate(sentence: str) -> bool:
    """Credits and furniture that are never news: "CNN's X contributed to this report."."""
    return _BOILERPLATE.fullmatch(sentence) is not None


def is_fragment(sentence: str) -> bool:
    """A "sentence" too short to stand alone in a summary."""
    return len(_WORDS.findall(sentence)) < MIN_WORDS


# Openings that point back at the sentence before: a connective, or a pronoun or demonstrative
# whose referent was named there ("But ...", "He said ...", "That was ..."). English only.
_CONNECTIVES = (
    "but however still yet and also so then thus therefore hence instead meanwhile moreover"
    " furthermore besides nevertheless nonetheless otherwise likewise similarly indeed though"
    " although conversely consequently accordingly afterwards later"
).split()
_PRONOUNS = (
    "he she they it his her hers their theirs its him them this that these those such another"
).split()
_PHRASES = (
    "in addition",
    "as a result",
    "even so",
    "on the other hand",
    "the latter",
    "the former",
)
# "This year", "That night": a demonstrative of time points at the calendar, not at a sentence.
_TIMES = frozenset(
    "year week month morning afternoon evening night weekend season summer winter spring"
    " autumn fall time day decade century".split()
)
_OPENING = re.compile(r"[\"“‘'(\s]*([A-Za-z]+)(?:\s+([A-Za-z]+))?(?:\s+([A-Za-z]+))?")


def points_back(sentence: str) -> bool:
    """True when a sentence opens by pointing back at the one before it."""
    match = _OPENING.match(sentence)
    if match is None:
        return False
    first, second = match[1].lower(), (match[2] or "").lower()
    if " ".join(w for w in match.groups("") if w).lower().startswith(_PHRASES):
        return True
    if first in _CONNECTIVES:
        return True
    if first in ("this", "that", "these", "those") and second.rstrip("s") in _TIMES:
        return False
    return first in _PRONOUNS


def prior(index: int, length: int, weights: Weights = NEWS) -> float:
    """How much its position and length count for a sentence: 1 for the first, falling."""
    weight = (1 + index) ** -weights.position
    if weights.length:
        weight *= min(max(length, 1), LONG_SENTENCE) ** weights.length
    return float(weight)


def choose(
    ratings: Sequence[float],
    stems: Sequence[Sequence[str]],
    lengths: Sequence[int],
    count: int,
    weights: Weights = NEWS,
    leans: Sequence[bool] = (),
) -> list[int]:
    """Indexes of up to `count` sentences, ascending: best position-weighted centrality first,
    skipping a sentence that repeats one already chosen or overflows the word budget.

    `leans[i]`: sentence i points back (`points_back`); it comes only with the sentences
    before it up to one that does not, all fitting, or not at all.
    """
    top = max(ratings, default=0.0)
    scale = top if top > 0 and math.isfinite(top) else 1.0
    scores = [max(r, 0.0) / scale * prior(i, lengths[i], weights) for i, r in enumerate(ratings)]
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    budget = count * weights.words_per_sentence
    sets = [set(s) for s in stems]
    chosen: list[int] = []
    words = 0
    for i in order:
        if len(chosen) == count:
            break
        if i in chosen:
            continue
        group = [
            k for k in _with_referent(i, leans if weights.standalone else ()) if k not in chosen
        ]
        if len(chosen) + len(group) > count:
            continue
        if chosen and words + sum(lengths[k] for k in group) > budget:
            continue
        if any(_repeats(sets[k], sets[j]) for k in group for j in chosen):
            continue
        chosen += group
        words += sum(lengths[k] for k in group)
    return sorted(chosen)


def _with_referent(i: int, leans: Sequence[bool]) -> list[int]:
    """Sentence i and, when it points back, the sentences before it up to one that does not."""
    start = i
    while start > 0 and start < len(leans) and leans[start]:
        start -= 1
    return list(range(start, i + 1))


def dangling(chosen: Sequence[int], leans: Sequence[bool]) -> bool:
    """True when a chosen sentence points back at one left out (the article's first
    sentence has nothing before it to point at)."""
    picked = set(chosen)
    return any(0 < i < len(leans) and leans[i] and i - 1 not in picked for i in chosen)


def _repeats(first: set[str], second: set[str]) -> bool:
    if not first or not second:
        return False
    return len(first & second) >= DUPLICATE_OVERLAP * min(len(first), len(second))


def centrality(stems: Sequence[Sequence[str]]) -> list[float]:
    """sumy's Reduction rating of each sentence: its summed similarity to every other one.

    The similarity of two sentences is the number of matching stem pairs over the sum of the
    logs of their lengths (sumy.summarizers.reduction); counting by stem makes it linear.
    """
    counts = [_counts(s) for s in stems]
    logs = [math.log(len(s)) if s else 0.0 for s in stems]
    ratings = [0.0] * len(stems)
    for i in range(len(stems)):
        for j in range(i + 1, len(stems)):
            small, large = sorted((counts[i], counts[j]), key=len)
            shared = sum(n * large.get(w, 0) for w, n in small.items())
            norm = logs[i] + logs[j]
            if shared and norm:
                ratings[i] += shared / norm
                ratings[j] += shared / norm
    return ratings


def _counts(words: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for word in words:
        found[word] = found.get(word, 0) + 1
    return found
