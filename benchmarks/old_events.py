"""The event detector as it was before issue 19 (a copy, kept as the baseline of dedupe_eval.py).

What changed is copied here as it was (terms, names, the threshold, the sparse cosines);
the TF-IDF, unchanged by issue 19, is the detector's own.
Names were capitalised word runs across sentence and title boundaries; two reports were one
event at a TF-IDF cosine of title, lead and names of at least 0.40.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from digest.records import Article
from digest.stories.closeness import tfidf
from digest.stories.events import quality, when
from digest.stories.sketches import Groups
from digest.text import words

SAME_EVENT = 0.40
EVENT_HOURS = 72
LEAD_WORDS = 60
NAME_WORDS = 200

_STOP = frozenset(
    """a about after again against all also an and any are as at be because been before being
    but by can could did do does during each for from had has have he her here hers him his how
    i if in into is it its just last like may me more most mr mrs ms much must my new no not now
    of on one only or other our out over said says she should since so some such than that the
    their them then there these they this those through to too two under up us very was we were
    what when where which while who whom why will with would year years you your yesterday today
    monday tuesday wednesday thursday friday saturday sunday""".split()
)
_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:of|de|la|van|von|al|bin)?\s*[A-Z][\w'’.-]*)*")


def terms(text: str) -> list[str]:
    """The words that say what a text is about: no stop words, numbers or short words, stemmed."""
    return [_stem(w) for w in words(text) if _content(w)]


def _content(word: str) -> bool:
    return len(word) > 2 and word not in _STOP and not word.isdigit()


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def features(article: Article) -> Counter[str]:
    body = article.text.split()
    found: Counter[str] = Counter(set(terms(" ".join([article.title, *body[:LEAD_WORDS]]))))
    for name in _NAME.findall(" ".join([article.title, *body[:NAME_WORDS]])):
        key = " ".join(words(name))
        if key and not all(w in _STOP for w in key.split()):
            found["n:" + key] += 2
    return found


def cosines(vectors: Sequence[dict[str, float]], least: float) -> list[tuple[int, int, float]]:
    """(i, j, cosine) of the pairs of unit vectors at least `least` alike.

    Only terms that two or more documents share can add to a cosine, so the work
    follows the shared terms; the commonest (in over a twentieth of the documents,
    beyond 40) are skipped, having near-zero weight.
    """
    postings: dict[str, list[tuple[int, float]]] = {}
    for i, vector in enumerate(vectors):
        for term, weight in vector.items():
            postings.setdefault(term, []).append((i, weight))
    cap = max(40, len(vectors) // 20)
    keys, values = [], []
    n = len(vectors)
    for posting in postings.values():
        if not 2 <= len(posting) <= cap:
            continue
        docs = np.array([d for d, _ in posting], dtype=np.int64)
        weights = np.array([w for _, w in posting])
        upper = np.triu_indices(len(posting), 1)
        keys.append(docs[upper[0]] * n + docs[upper[1]])
        values.append(weights[upper[0]] * weights[upper[1]])
    if not keys:
        return []
    pair_keys, where = np.unique(np.concatenate(keys), return_inverse=True)
    sums = np.bincount(where, weights=np.concatenate(values))
    close = np.flatnonzero(sums >= least)
    return [(int(pair_keys[k] // n), int(pair_keys[k] % n), float(sums[k])) for k in close]


def events(articles: Sequence[Article], groups: Sequence[int]) -> list[int]:
    leads = sorted(set(groups))
    index = {g: k for k, g in enumerate(leads)}
    units = [
        max((a for a, g in zip(articles, groups, strict=True) if g == u), key=quality)
        for u in leads
    ]
    merged = Groups(len(units))
    for i, j, _ in cosines(tfidf([features(a) for a in units]), SAME_EVENT):
        hours = abs((when(units[i]) - when(units[j])).total_seconds()) / 3600
        if hours <= EVENT_HOURS:
            merged.join(i, j)
    return [leads[merged.find(index[g])] for g in groups]
