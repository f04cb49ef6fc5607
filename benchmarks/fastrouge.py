"""ROUGE-1/2/Lsum F1 as `rouge-score` computes them, over sentences tokenized once.

A grid search scores thousands of candidate summaries built from the same few sentences;
`rouge-score` tokenizes and stems the reference and summary again each time. Here each
sentence is tokenized once (with rouge-score's own tokenizer and stemmer) and the LCS of a
reference line and a sentence is kept, so a summary costs a few counter operations.
eval.py checks the figures against rouge-score itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import TypeVar

Gram = TypeVar("Gram", str, tuple[str, str])

Tokens = tuple[str, ...]


class _CachedStemmer:
    """rouge-score's Porter stemmer, remembering words: stemming is most of tokenizing."""

    def __init__(self) -> None:
        from nltk.stem import porter

        self._stem = cache(porter.PorterStemmer().stem)

    def stem(self, word: str) -> str:
        return str(self._stem(word))


@cache
def _stemmer() -> _CachedStemmer:
    return _CachedStemmer()


def tokens(text: str) -> Tokens:
    """rouge-score's tokens of a text: lower-cased, alphanumeric, Porter-stemmed."""
    from rouge_score import tokenize

    return tuple(tokenize.tokenize(text, _stemmer()))


class Reference:
    """A reference summary (one sentence a line), ready to score summaries against."""

    def __init__(self, text: str) -> None:
        self.lines = [tokens(line) for line in text.split("\n") if line]
        whole = tokens(text)
        self.unigrams = Counter(whole)
        self.bigrams = Counter(zip(whole, whole[1:], strict=False))
        self.length = len(whole)
        self.lsum_counts = Counter(t for line in self.lines for t in line)
        self.lsum_length = sum(len(line) for line in self.lines)
        self._lcs: dict[tuple[int, Tokens], tuple[int, ...]] = {}

    def score(self, sentences: Sequence[Tokens]) -> tuple[float, float, float]:
        """F1 x100 of ROUGE-1, ROUGE-2 and ROUGE-Lsum of a summary (its sentences' tokens)."""
        whole = [t for s in sentences for t in s]
        r1 = _f1(_overlap(self.unigrams, Counter(whole)), len(whole), self.length)
        pairs = Counter(zip(whole, whole[1:], strict=False))
        r2 = _f1(_overlap(self.bigrams, pairs), max(len(whole) - 1, 0), max(self.length - 1, 0))
        return r1, r2, self._lsum([s for s in sentences if s])

    def _lsum(self, sentences: Sequence[Tokens]) -> float:
        size = sum(len(s) for s in sentences)
        if not self.lines or not size or not self.lsum_length:
            return 0.0
        ref_left = Counter(self.lsum_counts)
        can_left = Counter(t for s in sentences for t in s)
        hits = 0
        for k, line in enumerate(self.lines):
            union: set[int] = set()
            for sentence in sentences:
                union.update(self._lcs_of(k, line, sentence))
            for i in sorted(union):
                t = line[i]
                if can_left[t] > 0 and ref_left[t] > 0:
                    hits += 1
                    can_left[t] -= 1
                    ref_left[t] -= 1
        return _f1(hits, size, self.lsum_length)

    def _lcs_of(self, k: int, line: Tokens, sentence: Tokens) -> tuple[int, ...]:
        key = (k, sentence)
        if key not in self._lcs:
            self._lcs[key] = _lcs_indexes(line, sentence)
        return self._lcs[key]


def _overlap(reference: Counter[Gram], summary: Counter[Gram]) -> int:
    return sum(min(n, summary[g]) for g, n in reference.items())


def _f1(hits: int, predicted: int, target: int) -> float:
    precision = hits / max(predicted, 1)
    recall = hits / max(target, 1)
    if precision + recall == 0:
        return 0.0
    return 200 * precision * recall / (precision + recall)


def _lcs_indexes(ref: Tokens, can: Tokens) -> tuple[int, ...]:
    """The indexes into `ref` of one longest common subsequence (rouge-score's choice)."""
    rows, cols = len(ref), len(can)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        above, row, word = table[i - 1], table[i], ref[i - 1]
        for j in range(1, cols + 1):
            row[j] = above[j - 1] + 1 if word == can[j - 1] else max(above[j], row[j - 1])
    found: list[int] = []
    i, j = rows, cols
    while i > 0 and j > 0:
        if ref[i - 1] == can[j - 1]:
            found.append(i - 1)
            i, j = i - 1, j - 1
        elif table[i][j - 1] > table[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return tuple(reversed(found))
