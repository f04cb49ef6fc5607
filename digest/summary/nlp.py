"""The language tools under `summarize`: punkt's sentences, words, stems and stop words.

The only module that imports sumy, nltk and punkt, each inside a function: loading them costs
about a second, and the "news" method needs none of sumy's code (stop words are read from
sumy's files; sumy.utils would import requests and pycountry) and only NLTK's Snowball stemmers.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from digest.summary.language import FUNCTION_WORDS, NO_MODEL_LANGUAGES, SCRIPT_LANGUAGES
from digest.summary.wordsplit import split_words
from digest.text import one_line

_STEMS_KEPT = 200_000  # words whose stems a process remembers (about 30 MB at most)

_SUMY_CLASSES: dict[str, tuple[str, str]] = {
    "lexrank": ("sumy.summarizers.lex_rank", "LexRankSummarizer"),
    "textrank": ("sumy.summarizers.text_rank", "TextRankSummarizer"),
    "lsa": ("sumy.summarizers.lsa", "LsaSummarizer"),
    "luhn": ("sumy.summarizers.luhn", "LuhnSummarizer"),
    "reduction": ("sumy.summarizers.reduction", "ReductionSummarizer"),
    "sumbasic": ("sumy.summarizers.sum_basic", "SumBasicSummarizer"),
    "kl": ("sumy.summarizers.kl", "KLSummarizer"),
}


def languages() -> tuple[str, ...]:
    """Every language we split: punkt's sentence models, then those shown as their lead."""
    return punkt_languages() + NO_MODEL_LANGUAGES


def has_model(language: str) -> bool:
    """Whether a language gets a ranked summary (else its articles show their lead)."""
    return language in punkt_languages()


def stems_of(words: Sequence[str], language: str) -> list[str]:
    """As sumy's rankers see a sentence: lower-cased stems without stop words."""
    known = _stem_cache(language)
    stems: list[str] = []
    for word in words:
        found = known.get(word, _UNKNOWN)
        if found is _UNKNOWN:
            found = _stem_word(word, language)
            if len(known) >= _STEMS_KEPT:
                known.clear()
            known[word] = found
        if found is not None:
            stems.append(found)
    return stems


_UNKNOWN = ""  # no stem is empty: sumy's words have at least one letter


def _stem_word(word: str, language: str) -> str | None:
    """The stem of one word as sumy rates it; None for a stop word."""
    lower = word.lower()
    return None if lower in stop_words(language) else stemmer(language)(lower)


@cache
def _stem_cache(language: str) -> dict[str, str | None]:
    # One per language for the life of the process: news repeats its words, and Snowball
    # stemming was most of the ranking time.
    return {}


def sumy_summarizer(method: str, language: str) -> Callable[[Any, int], Iterable[Any]]:
    module, name = _SUMY_CLASSES[method]
    summarizer: Any = getattr(importlib.import_module(module), name)(stemmer(language))
    summarizer.stop_words = stop_words(language)
    ranker: Callable[[Any, int], Iterable[Any]] = summarizer
    return ranker


class Tokenizer:
    """sumy's tokenizer interface over punkt's bundled models, so nothing is downloaded;
    a language without a model is split after sentence-ending punctuation."""

    def __init__(self, language: str) -> None:
        import punkt

        self._language = language
        # prefixes: known abbreviations (e.g., i.e., No. 5) never end a sentence.
        self._sentences: Any = (
            punkt.tokenizer_for(language, prefixes=punkt.has_prefixes(language))
            if has_model(language)
            else _PlainSentences()
        )

    @property
    def language(self) -> str:
        return self._language

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        spans = self._sentences.tokenize(paragraph)
        return tuple(s for s in (one_line(span) for span in spans) if s)

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return split_words(sentence)


class _PlainSentences:
    _END = re.compile(r"(?<=[.!?…؟։।])\s+|(?<=[。！？])")

    def tokenize(self, paragraph: str) -> list[str]:
        return self._END.split(paragraph)


@cache
def tokenizer(language: str) -> Tokenizer:
    return Tokenizer(language)


@cache
def punkt_languages() -> tuple[str, ...]:
    import punkt

    return tuple(punkt.available_languages())


@cache
def stemmer(language: str) -> Callable[[str], str]:
    """sumy's stemmer for a language (sumy.nlp.stemmers.Stemmer), the lower-cased word
    when there is none; Snowball's straight from NLTK, without sumy's language lookup."""
    stemmer: Callable[[str], str]
    try:
        stemmer = _snowball(language) or _sumy_stemmer(language)
        stemmer("probe")  # sumy's Greek and Polish stemmers need packages we lack
    except Exception:
        return str.lower
    return lru_cache(maxsize=50_000)(stemmer)


def _snowball(language: str) -> Callable[[str], str] | None:
    import nltk.stem.snowball

    if language not in nltk.stem.snowball.SnowballStemmer.languages or language == "porter":
        return None
    stemmer: Callable[[str], str] = nltk.stem.snowball.SnowballStemmer(language).stem
    return stemmer


def _sumy_stemmer(language: str) -> Callable[[str], str]:
    from sumy.nlp.stemmers import Stemmer

    stemmer: Callable[[str], str] = Stemmer(language)
    return stemmer


@cache
def stop_words(language: str) -> frozenset[str]:
    """sumy's stop words for a language (sumy.utils.get_stop_words), else FUNCTION_WORDS."""
    try:
        data = (_sumy_folder() / "data" / "stopwords" / f"{language}.txt").read_bytes()
    except OSError:
        return FUNCTION_WORDS.get(language, frozenset())
    return frozenset(w.rstrip() for w in data.decode("utf-8").splitlines() if w)


@cache
def _sumy_folder() -> Path:
    # Found, not imported: the "news" method needs sumy's data files, none of its code.
    from importlib.util import find_spec

    spec = find_spec("sumy")
    if spec is None or spec.origin is None:
        raise OSError("sumy is not installed")
    return Path(spec.origin).parent


@cache
def detection_order() -> tuple[str, ...]:
    """Languages written in Latin letters that have stop words; English first wins ties."""
    latin = [name for name in languages() if name not in SCRIPT_LANGUAGES]
    names = sorted(latin, key=lambda name: name != "english")
    return tuple(name for name in names if stop_words(name))


@cache
def detection() -> tuple[frozenset[str], ...]:
    return tuple(stop_words(name) for name in detection_order())
