"""Stories: copies and reports merged into one, ranked, each in its section."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from digest.records import Article
from digest.stories.closeness import tfidf
from digest.stories.events import events, quality, when
from digest.stories.evidence import terms
from digest.stories.sketches import Sketch, against_sent, copies, sketch
from digest.text import words

TOPIC_WORDS = 300  # a story's section is judged on this many first words
SECTION_FIT = 0.12  # cosine to a section's centroid that puts an unlabelled story in it
DEFAULT_SECTION = "More news"  # stories without a section, when others have one
ONLY_SECTION = "Top stories"  # ... when none has one
LONG_WORDS = 800  # length stops adding to the rank here


@dataclass(frozen=True)
class Story:
    """One entry of the digest: the best text, the other copies and reports, where it goes."""

    lead: Article
    also: tuple[Article, ...]  # the other copies and reports, lead excluded
    updated: bool  # a story sent before, now with substantial new text
    section: str
    rank: float


@dataclass(frozen=True)
class Arrangement:
    """The stories of some articles, and the sketch of every one of them (to keep once sent)."""

    stories: list[Story]  # best ranked first; copies of sent articles are gone
    sketches: dict[str, Sketch]  # article id -> its sketch, for every article given


def outlets(members: Sequence[Article], groups: Sequence[int]) -> int:
    """How many outlets carry a story: distinct sources; an unnamed one counts per text."""
    return len({a.source or f"#{g}" for a, g in zip(members, groups, strict=True)})


def rank_of(lead: Article, covered_by: int, now: datetime) -> float:
    """Outlets first, then freshness, then length.

    rank = (outlets - 1) + 0.5 ** (age in days) + 0.5 * min(1, words / LONG_WORDS):
    each more outlet counts as much as a story from today over an old one; length
    breaks ties between equally covered, equally fresh stories.
    """
    age_days = max(0.0, (now - when(lead)).total_seconds() / 86400)
    length = min(1.0, lead.word_count / LONG_WORDS)
    return round(float((covered_by - 1) + 0.5**age_days + 0.5 * length), 3)


def assign_sections(articles: Sequence[Article], given: Sequence[str | None]) -> list[str]:
    """Each story's section: the one given, else the given section whose words fit it best.

    A story close to no section (cosine under SECTION_FIT to the section's centroid,
    over its first TOPIC_WORDS words), or any story when no section is given at all,
    goes to DEFAULT_SECTION (ONLY_SECTION when it is the only one).
    """
    if not any(given):
        return [ONLY_SECTION] * len(given)
    if all(given):  # nothing to place: no words to weigh
        return [str(s) for s in given]
    texts = (" ".join(a.text.split()[:TOPIC_WORDS]) for a in articles)
    vectors = tfidf([Counter(terms(words(t))) for t in texts])
    sums: dict[str, Counter[str]] = {}
    for vector, section in zip(vectors, given, strict=True):
        if section:
            sums.setdefault(section, Counter()).update(vector)
    centroids = {name: _unit(total) for name, total in sorted(sums.items())}
    return [s or _closest(v, centroids) for v, s in zip(vectors, given, strict=True)]


def _unit(vector: Counter[str]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values())) or 1.0
    return {t: w / norm for t, w in vector.items()}


def _closest(vector: dict[str, float], centroids: dict[str, dict[str, float]]) -> str:
    best, score = DEFAULT_SECTION, SECTION_FIT
    for name, centroid in centroids.items():
        cosine = sum(w * centroid.get(t, 0.0) for t, w in vector.items())
        if cosine >= score:
            best, score = name, cosine
    return best


def arrange(
    articles: Sequence[Article], *, now: datetime, sent: Sequence[Sketch] = ()
) -> Arrangement:
    """The stories of these articles, best ranked first; copies of sent articles are gone."""
    sketches = [sketch(a.text) for a in articles]
    status = against_sent(sketches, sent)
    keep = [i for i, s in enumerate(status) if s != "repeat"]
    kept = [articles[i] for i in keep]
    groups = copies([sketches[i] for i in keep])
    members: dict[int, list[int]] = {}
    for k, label in enumerate(events(kept, groups)):
        members.setdefault(label, []).append(k)
    # each cluster best-written first: its first member leads the story
    clusters = [sorted(ks, key=lambda k: quality(kept[k]), reverse=True) for ks in members.values()]
    sections = assign_sections(
        [kept[ks[0]] for ks in clusters], [_given_section([kept[k] for k in ks]) for ks in clusters]
    )
    found = [
        Story(
            lead=kept[ks[0]],
            also=tuple(sorted((kept[k] for k in ks[1:]), key=when)),
            updated=any(status[keep[k]] == "updated" for k in ks),
            section=section,
            rank=rank_of(kept[ks[0]], outlets([kept[k] for k in ks], [groups[k] for k in ks]), now),
        )
        for ks, section in zip(clusters, sections, strict=True)
    ]
    ranked = sorted(found, key=lambda s: (-s.rank, -when(s.lead).timestamp(), s.lead.id))
    return Arrangement(ranked, {a.id: s for a, s in zip(articles, sketches, strict=True)})


def _given_section(members: Sequence[Article]) -> str | None:
    """The section most members name, the lead's first among equals."""
    named = Counter(a.section for a in members if a.section)
    return named.most_common(1)[0][0] if named else None


def by_section(stories: Sequence[Story]) -> list[Story]:
    """Reading order: sections by their best story (the default one last), rank within each."""
    first: dict[str, int] = {}
    for k, story in enumerate(stories):
        first.setdefault(story.section, k)
    last = max(first.values(), default=0) + 1
    order = {s: (last if s == DEFAULT_SECTION else k) for s, k in first.items()}
    return sorted(stories, key=lambda s: order[s.section])
