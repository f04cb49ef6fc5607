"""Evidence of an event that survives paraphrase: names, figures, dates, the headline's words.

Two outlets reporting one event in their own words still name the same people, places
and organisations, give the same figures and dates, and headline it with some of the
same words. This module turns an article into those items, as a bag of keys:

- ``n:helen okafor`` and ``n:okafor``: a name, and its last word (a later mention
  says "Okafor" or "Mayor Okafor"); names never run across a sentence or the title,
  titles such as "Mayor" are not part of them, possessives and case are folded;
- ``q:1.2 billion``, ``q:9-2``, ``q:23``: figures with their magnitude or as a score;
- ``d:nov 30``, ``y:2009``: dates and years;
- plain stemmed words of the headline and the lead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from digest.text import words

LEAD_WORDS = 60  # the lead: what a report says first
NAME_WORDS = 2000  # names, figures, dates and body words are taken from this many first words

STOP = frozenset(
    """a about after again against all also an and any are as at be because been before being
    but by can could did do does during each for from had has have he her here hers him his how
    i if in into is it its just last like may me more most mr mrs ms much must my new no not now
    of on one only or other our out over said says she should since so some such than that the
    their them then there these they this those through to too two under up us very was we were
    what when where which while who whom why will with would year years you your yesterday today
    monday tuesday wednesday thursday friday saturday sunday""".split()
)
# Words that stand before a name but are not part of it ("Mayor Helen Okafor").
HONORIFICS = frozenset(
    """mr mrs ms miss mx dr prof professor sir dame lord lady mayor councillor councilor
    councilman councilwoman alderman president vice prime minister chancellor secretary
    senator sen rep representative congressman congresswoman governor gov judge justice
    sheriff officer detective det sgt sergeant capt captain lt lieutenant col colonel gen
    general adm admiral cmdr commander chief inspector constable deputy king queen prince
    princess pope rev reverend father bishop archbishop cardinal coach actor actress singer
    star rapper spokesman spokeswoman spokesperson director chairman chairwoman chair ceo
    former late dear st saint""".split()
)
_MONTH_NAMES = (
    "january february march april may june july august september october november december"
)
# Words that start a capitalised run without naming anyone: months, clock times.
NOT_NAMES = (
    frozenset(_MONTH_NAMES.split())
    | {m[:3] for m in _MONTH_NAMES.split()}
    | {"sept", "am", "pm", "gmt", "utc", "est", "edt", "pst", "pdt", "bst", "ist"}
)
_ABBREVIATED = [m[:3].title() for m in _MONTH_NAMES.split()]
_MONTH = "(?:" + "|".join(_ABBREVIATED + [m.upper() for m in _ABBREVIATED]) + r")[a-zA-Z]*\.?"
_MAGNITUDE = r"(?:million|billion|trillion|thousand|bn|m|k|percent|per\s+cent)\b|%"
# One pass over the text; the first alternative that matches at a place wins. Every
# alternative starts with a digit or a capital, so the scan skips other characters fast.
_FIGURES = re.compile(
    rf"(?P<month>{_MONTH})\s+(?P<day>\d{{1,2}})\b(?!\s*:)"
    rf"|(?P<day2>\d{{1,2}})\s+(?P<month2>{_MONTH})(?![\w])"
    r"|\d{1,2}\s?:\s?\d\d\b"  # a clock time: no figure
    r"|(?P<home>\d{1,3})\s?[-–—]\s?(?P<away>\d{1,3})(?!\d|[.,]\d)"
    r"|(?P<year>1[89]\d\d|20\d\d)\b"
    rf"|(?P<value>\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)(?:\s?(?P<unit>{_MAGNITUDE}))?",
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+(?=[\"'“‘(]*[A-Z0-9])")
_CONNECTORS = frozenset("of de la le van von der al bin del da di".split())
_NAME = re.compile(
    r"[A-Z][\w'’.-]*(?:\s+(?:(?:" + "|".join(_CONNECTORS) + r")\s+)?[A-Z][\w'’.-]*)*"
)
# Where a full stop does not end a sentence: initials ("Rosco P. Coltrane") and abbreviations.
_ABBREVIATION = re.compile(
    r"(?:\b[A-Z]|\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|Gen|Gov|Sen|Rep|Lt|Col|Capt|Sgt|Prof|Rev|No|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|U\.S|U\.K|Inc|Corp|Co|vs))\.$"
)


def sentences(text: str) -> list[str]:
    """The sentences of a text, not cut after an initial or a common abbreviation."""
    found: list[str] = []
    for paragraph in text.split("\n"):
        start = 0
        for end in _SENTENCE_END.finditer(paragraph):
            if not _ABBREVIATION.search(paragraph[start : end.start()]):
                found.append(paragraph[start : end.start()])
                start = end.end()
        found.append(paragraph[start:])
    return [s.strip() for s in found if s.strip()]


def names(sentence: str) -> Iterator[str]:
    """The names in one sentence, lower case, without titles or possessives; a sentence's
    capitalised first word alone is no name ("Police said")."""
    for match in _NAME.finditer(sentence):
        before = sentence[match.start() - 1 : match.start()]
        if before and (before.isalnum() or before in "'’_"):
            continue  # a capital inside a word ("McDonald" is found from its start)
        first = not sentence[: match.start()].strip("\"'“‘( ")
        if name := _clean(match[0].split(), first=first):
            yield name


def _clean(run: list[str], *, first: bool) -> str:
    """A run of capitalised words as a name key, or "" when it names nobody."""
    parts = [_fold(w) for w in run]
    while parts and (parts[0] in HONORIFICS or parts[0] in STOP or parts[0] in NOT_NAMES):
        parts = parts[1:]
        first = False
    while parts and (parts[-1] in _CONNECTORS or parts[-1] in NOT_NAMES):
        parts = parts[:-1]
    if not parts or (first and len(parts) == 1):
        return ""
    return " ".join(p for p in parts if p)


def _fold(word: str) -> str:
    """A name word as a key: lower case, no possessive, no dots ("U.S." is "us")."""
    word = word.casefold()
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    return word if word.isalnum() else "".join(words(word))


def _names_of(text: str) -> Iterator[str]:
    for sentence in sentences(text):
        yield from names(sentence)


def figures(text: str) -> Iterator[str]:
    """Figures with their magnitude ("q:1.2 billion"), scores ("q:9-2"), dates and years."""
    for match in _FIGURES.finditer(text):
        before = text[match.start() - 1 : match.start()]
        if before and (before.isalnum() or before in ".,"):
            continue  # inside a word or a longer number
        kind = match.lastgroup
        if kind in ("day", "month2"):
            month = (match["month"] or match["month2"]).casefold().rstrip(".")[:3]
            yield f"d:{month} {int(match['day'] or match['day2'])}"
        elif kind == "away":
            yield f"q:{match['home']}-{match['away']}"
        elif kind == "year":
            yield f"y:{match['year']}"
        elif kind in ("value", "unit"):
            value = match["value"].replace(",", "")
            magnitude = _magnitude(match["unit"] or "")
            if magnitude or "." in value or float(value) >= 10:
                yield f"q:{value}{(' ' + magnitude) if magnitude else ''}"


def _magnitude(word: str) -> str:
    word = " ".join(word.casefold().split())
    return {"bn": "billion", "m": "million", "k": "thousand", "%": "percent"}.get(
        word, "percent" if word == "per cent" else word
    )


def title_case(title: str) -> bool:
    """True for a headline in Title Case, whose capitals say nothing about names."""
    long = [w for w in title.split() if len(w) > 3 and w[0].isalpha()]
    return len(long) >= 2 and sum(w[0].isupper() for w in long) / len(long) > 0.6


def terms(found: Iterable[str]) -> list[str]:
    """The words (of `digest.text.words`) that say what a text is about: no stop words,
    numbers or short words, stemmed."""
    return [_stem(w) for w in found if _content(w)]


def _content(word: str) -> bool:
    return len(word) > 2 and word not in STOP and not word.isdigit()


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


SPECIFIC = 3  # weight of a name, figure or date, against 1 for a word of the headline or lead
BODY = 0.5  # ... and for a word of the body beyond the lead


def evidence(title: str, body: str) -> dict[str, float]:
    """The keys of one report, weighed once each (a repeated word is no stronger sign of an
    event): names, figures and dates most (they survive paraphrase), the headline's and the
    lead's words next, the rest of the body's words least."""
    head = " ".join(body.split()[:NAME_WORDS])
    said = words(head)
    found: dict[str, float] = {}
    for t in terms(set(said[LEAD_WORDS:])):
        found[t] = BODY
    for t in terms({*words(title), *said[:LEAD_WORDS]}):
        found[t] = 1
    named = set(_names_of(head if title_case(title) else f"{title}\n{head}"))
    for name in named | {n.rsplit(" ", 1)[-1] for n in named}:
        found["n:" + name] = SPECIFIC
    for key in set(figures(f"{title}\n{head}")):
        found[key] = SPECIFIC
    return found


class Lead(NamedTuple):
    """What a report leads with (its headline, unless in Title Case, and its first
    LEAD_WORDS words; a line in Title Case gives no names)."""

    names: frozenset[str]  # each name as the key of its last word ("n:okafor")
    people: frozenset[str]  # ... those that are people's surnames
    figures: frozenset[str]  # its figures ("q:9-2", "q:1.2 billion"), dates and years aside


def leads(title: str, body: str) -> Lead:
    """What a report leads with (`Lead`).

    A surname stands alone in the text too ("Okafor said" after "Mayor Helen Okafor");
    the last word of "France Telecom" or "Middle East" never does without the word before.
    """
    lead = " ".join(body.split(maxsplit=LEAD_WORDS)[:LEAD_WORDS])
    found: set[str] = set()
    for sentence in sentences(lead if title_case(title) else f"{title}\n{lead}"):
        if not title_case(sentence):
            found.update(names(sentence))
    people = {n.rsplit(" ", 1)[-1] for n in found if " " in n and _alone(n, body)}
    return Lead(
        frozenset("n:" + n.rsplit(" ", 1)[-1] for n in found),
        frozenset("n:" + n for n in people),
        frozenset(k for k in figures(f"{title}\n{lead}") if k.startswith("q:")),
    )


def _alone(name: str, text: str) -> bool:
    """True when the name's last word stands in the text without the word before it (one
    space between); counted as substrings, as the text's capitals give them, so a short or
    common word ("An", starting "And") is no surname."""
    *rest, last = name.split()
    if len(last) < 3 or last in STOP:
        return False
    word, before = last.title(), rest[-1].title()
    return text.count(word) > text.count(f"{before} {word}")


def specific(key: str) -> bool:
    """A key that is a name, figure or date, not a common word."""
    return key[:2] in ("n:", "q:", "d:", "y:")
