"""Extractive summaries with sumy, splitting sentences offline."""

from __future__ import annotations

import importlib
import logging
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from digest import scoring
from digest.language import (
    FUNCTION_WORDS,
    ISO_CODES,
    NO_MODEL_LANGUAGES,
    SCRIPT_LANGUAGES,
    by_script,
)
from digest.text import headline_key, one_line

if TYPE_CHECKING:
    from digest.sources import Article

logger = logging.getLogger("digest")

# sumy, numpy, nltk and punkt are imported inside functions only: config imports
# METHODS at start-up, and loading them costs about a second.

#: Selectable summary methods, the default first. "news" weighs sumy's Reduction centrality
#: by position (see digest.scoring); "lead" takes the first sentences; the rest are sumy's own.
METHODS: tuple[str, ...] = (
    "news",
    "lexrank",
    "textrank",
    "lsa",
    "luhn",
    "reduction",
    "sumbasic",
    "kl",
    "lead",
)

_SUMY_CLASSES: dict[str, tuple[str, str]] = {
    "lexrank": ("sumy.summarizers.lex_rank", "LexRankSummarizer"),
    "textrank": ("sumy.summarizers.text_rank", "TextRankSummarizer"),
    "lsa": ("sumy.summarizers.lsa", "LsaSummarizer"),
    "luhn": ("sumy.summarizers.luhn", "LuhnSummarizer"),
    "reduction": ("sumy.summarizers.reduction", "ReductionSummarizer"),
    "sumbasic": ("sumy.summarizers.sum_basic", "SumBasicSummarizer"),
    "kl": ("sumy.summarizers.kl", "KLSummarizer"),
}

# Bounds that keep one pathological file (megabytes on one line, thousands of
# one-word "sentences") from stalling the digest: the rankers are quadratic.
_MAX_CHARS = 100_000
_MAX_SENTENCES = 200
# KL rates every sentence against every growing summary (cubic): 60 take ~0.5 s.
_RANKED_SENTENCES = {"kl": 60}
_DETECT_WORDS = 2000
_MIN_STOP_HITS = 3
# An article of fewer sentences is shown as its first sentences: too short to summarize.
SHORT_ARTICLE = 5
# sumy's own test for a word token (sumy.nlp.tokenizers.Tokenizer._WORD_PATTERN).
_WORD = re.compile(r"^[^\W\d_](?:[^\W\d_]|['-])*$")
_LETTERS = re.compile(r"[^\W\d_]+")
_BLANK_LINE = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Summary:
    """The chosen sentences of one article, in article order."""

    sentences: tuple[str, ...]
    language: str
    method: str


class Summarizer:
    """Pick an article's best sentences with one of METHODS, in its language or a forced one."""

    def __init__(self, method: str = METHODS[0], language: str | None = None) -> None:
        self.method = _checked(method)
        self.language = _checked_language(language) if language else None

    def summarize(self, article: Article, count: int) -> Summary:
        """Return the `count` best sentences of the article body, in article order."""
        language = (
            self.language or supported_language(article.language) or detect_language(article.text)
        )
        return _summarize(article.paragraphs, article.title, language, count, self.method)


def summarize_text(
    text: str, count: int, method: str = METHODS[0], language: str | None = None
) -> Summary:
    """Summarize plain text whose paragraphs are separated by blank lines."""
    resolved = supported_language(language) or detect_language(text)
    return _summarize(_paragraphs(text), "", resolved, count, _checked(method))


def _checked(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown summary method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def _checked_language(language: str) -> str:
    resolved = supported_language(language)
    if resolved is None:
        raise ValueError(f"unknown language {language!r}; choose one of {', '.join(languages())}")
    return resolved


def languages() -> tuple[str, ...]:
    """Every language we split: punkt's sentence models, then those shown as their lead."""
    return _punkt_languages() + NO_MODEL_LANGUAGES


def has_model(language: str) -> bool:
    """Whether a language gets a ranked summary (else its articles show their lead)."""
    return language in _punkt_languages()


def split_sentences(text: str, language: str) -> list[str]:
    """Split text into whitespace-normalised sentences: blank lines, then punkt."""
    tokenizer = _tokenizer(_checked_language(language))
    return [s for p in _paragraphs(text) for s in tokenizer.to_sentences(p)]


def supported_language(language: str | None) -> str | None:
    """Return our name for a language ("de", "de-AT", "German" -> "german"), None if unknown."""
    if not language:
        return None
    name = language.strip().lower()
    known = languages()
    if name in known:
        return name
    code = re.split(r"[-_]", name, maxsplit=1)[0]
    mapped = ISO_CODES.get(code)
    return mapped if mapped in known else None


def detect_language(text: str) -> str:
    """Guess the language of text from its script and stop words; "english" when unclear."""
    sample = text[: _DETECT_WORDS * 20]
    script = by_script(sample)
    if script is not None:
        return script
    words = _LETTERS.findall(sample.lower())[:_DETECT_WORDS]
    best, best_hits = "english", _MIN_STOP_HITS - 1
    for language, stop_words in _detection_stop_words().items():
        hits = sum(1 for word in words if word in stop_words)
        if hits > best_hits:
            best, best_hits = language, hits
    return best


def _summarize(
    paragraphs: Sequence[str], title: str, language: str, count: int, method: str
) -> Summary:
    if count <= 0:
        return Summary((), language, method)
    sentences = _candidates(paragraphs, title, _tokenizer(language))
    if not has_model(language):
        logger.info("no sentence model for %s: showing the first %d sentences", language, count)
    elif _ranks(sentences, count, language) and method != "lead":
        chosen = _rank(sentences, count, language, method)
        if chosen is not None:
            return Summary(tuple(sentences[i] for i in chosen), language, method)
    # A short article, "lead" by request, no model, or sumy failed on degenerate text.
    return Summary(tuple(sentences[:count]), language, "lead")


def _ranks(sentences: Sequence[str], count: int, language: str) -> bool:
    """Whether the sentences get ranked; else the summary is their lead."""
    return has_model(language) and len(sentences) >= SHORT_ARTICLE and len(sentences) > count


@dataclass(frozen=True)
class Scorable:
    """An article's sentences as the "news" method sees them, for benchmarks/eval.py to try
    other `scoring.Weights` on: `scoring.choose(centrality, stems, lengths, count, weights)`."""

    sentences: tuple[str, ...]
    stems: tuple[tuple[str, ...], ...]
    lengths: tuple[int, ...]
    centrality: tuple[float, ...]
    ranked: bool  # False: too short or no sentence model, so the summary is the lead


def scorable(article: Article, count: int) -> Scorable:
    """What `Summarizer("news")` scores in an article, computed once."""
    language = supported_language(article.language) or detect_language(article.text)
    sentences = _candidates(article.paragraphs, article.title, _tokenizer(language))
    if not _ranks(sentences, count, language):
        return Scorable(tuple(sentences), (), (), (), False)
    stems, lengths = _news_words(sentences, language)
    centrality = tuple(scoring.centrality(stems))
    return Scorable(tuple(sentences), tuple(map(tuple, stems)), tuple(lengths), centrality, True)


def _candidates(paragraphs: Sequence[str], title: str, tokenizer: _Tokenizer) -> list[str]:
    """The article's sentences as shown, in order and once each: no headline, dateline,
    credits or fragments (unless the article has nothing else), within the bounds."""
    headline = "" if _title_from_body(title, paragraphs) else headline_key(title)
    seen: set[str] = set()
    sentences: list[str] = []
    for paragraph in _clip(paragraphs, _MAX_CHARS):
        for sentence in tokenizer.to_sentences(paragraph):
            if not sentences and not seen:
                sentence = scoring.strip_dateline(sentence)
            # sumy's Sentence compares by text, so a repeated sentence would be one node.
            if sentence in seen or (headline and headline_key(sentence) == headline):
                continue
            seen.add(sentence)
            sentences.append(sentence)
            if len(sentences) == _MAX_SENTENCES:
                return _clean(sentences)
    return _clean(sentences)


def _clean(sentences: list[str]) -> list[str]:
    kept = [s for s in sentences if not scoring.is_boilerplate(s) and not scoring.is_fragment(s)]
    return kept or sentences


def _title_from_body(title: str, paragraphs: Sequence[str]) -> bool:
    """Whether the title is the article's own opening (a file without a headline)."""
    opening = title.removesuffix("…")
    first = paragraphs[0] if paragraphs else ""
    return bool(opening) and first != opening and first.startswith(opening)


def _rank(sentences: list[str], count: int, language: str, method: str) -> list[int] | None:
    """Indexes of the best `count` sentences, ascending; None when they cannot be ranked."""
    try:
        if method == "news":
            return _rank_news(sentences, count, language)
        return _rank_sumy(sentences, count, language, method)
    except Exception:  # sumy fails in many ways on degenerate text; the lead still works
        return None


def _rank_news(sentences: list[str], count: int, language: str) -> list[int]:
    stems, lengths = _news_words(sentences, language)
    # Fewer than `count` only when the rest repeat what is chosen or overflow the word budget.
    return scoring.choose(scoring.centrality(stems), stems, lengths, count)


def _news_words(sentences: Sequence[str], language: str) -> tuple[list[list[str]], list[int]]:
    """Each sentence's stems as sumy's rankers see them (lower-cased, no stop words), and
    its length in words."""
    tokenizer = _tokenizer(language)
    words = [tokenizer.to_words(s) for s in sentences]
    stem, stop_words = _stemmer(language), _stop_words(language)
    stems = [[stem(w.lower()) for w in ws if w.lower() not in stop_words] for ws in words]
    return stems, [len(ws) for ws in words]


def _rank_sumy(sentences: list[str], count: int, language: str, method: str) -> list[int]:
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    tokenizer = _tokenizer(language)
    ranked = sentences[: _RANKED_SENTENCES.get(method, _MAX_SENTENCES)]
    document = ObjectDocumentModel([Paragraph([Sentence(s, tokenizer) for s in ranked])])
    summarizer = _sumy_summarizer(method, language)
    with warnings.catch_warnings():
        # LSA warns about short texts (still ranks); numpy's RuntimeWarnings
        # mean NaN scores, so that ranking is worth nothing: use the lead.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", RuntimeWarning)
        best = summarizer(document, count)
    position = {s: i for i, s in enumerate(ranked)}
    chosen = sorted({position[str(s)] for s in best})
    return _top_up(chosen, count)


def _top_up(chosen: list[int], count: int) -> list[int]:
    """Fill a ranking that came back short with the earliest sentences not in it."""
    picked = set(chosen)
    index = 0
    while len(picked) < count:
        picked.add(index)
        index += 1
    return sorted(picked)


def _sumy_summarizer(method: str, language: str) -> Callable[[Any, int], Iterable[Any]]:
    module, name = _SUMY_CLASSES[method]
    summarizer: Any = getattr(importlib.import_module(module), name)(_stemmer(language))
    summarizer.stop_words = _stop_words(language)
    ranker: Callable[[Any, int], Iterable[Any]] = summarizer
    return ranker


class _Tokenizer:
    """sumy's tokenizer interface over punkt's bundled models, so nothing is downloaded;
    a language without a model is split after sentence-ending punctuation."""

    def __init__(self, language: str) -> None:
        import punkt
        from nltk.tokenize import NLTKWordTokenizer

        self._language = language
        # prefixes: known abbreviations (e.g., i.e., No. 5) never end a sentence.
        self._sentences: Any = (
            punkt.tokenizer_for(language, prefixes=punkt.has_prefixes(language))
            if has_model(language)
            else _PlainSentences()
        )
        self._words = NLTKWordTokenizer()

    @property
    def language(self) -> str:
        return self._language

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        spans = self._sentences.tokenize(paragraph)
        return tuple(s for s in (one_line(span) for span in spans) if s)

    def to_words(self, sentence: str) -> tuple[str, ...]:
        words: list[str] = self._words.tokenize(sentence)
        return tuple(w for w in words if _WORD.match(w))


class _PlainSentences:
    _END = re.compile(r"(?<=[.!?…؟։।])\s+|(?<=[。！？])")

    def tokenize(self, paragraph: str) -> list[str]:
        return self._END.split(paragraph)


@cache
def _tokenizer(language: str) -> _Tokenizer:
    return _Tokenizer(language)


@cache
def _punkt_languages() -> tuple[str, ...]:
    import punkt

    return tuple(punkt.available_languages())


@cache
def _stemmer(language: str) -> Callable[[str], str]:
    from sumy.nlp.stemmers import Stemmer, null_stemmer

    try:
        stemmer: Callable[[str], str] = Stemmer(language)
        stemmer("probe")  # sumy's Greek and Polish stemmers need packages we lack
    except Exception:
        fallback: Callable[[str], str] = null_stemmer
        return fallback
    # Snowball stemming is most of a ranker's time, and news repeats its words.
    return lru_cache(maxsize=50_000)(stemmer)


@cache
def _stop_words(language: str) -> frozenset[str]:
    from sumy.utils import get_stop_words

    try:
        return frozenset(get_stop_words(language))
    except LookupError:
        return FUNCTION_WORDS.get(language, frozenset())


@cache
def _detection_stop_words() -> dict[str, frozenset[str]]:
    """Stop words of every language written in Latin letters; English first wins ties."""
    latin = [name for name in languages() if name not in SCRIPT_LANGUAGES]
    names = sorted(latin, key=lambda name: name != "english")
    found = {name: _stop_words(name) for name in names}
    return {name: words for name, words in found.items() if words}


def _paragraphs(text: str) -> list[str]:
    return [p for p in _BLANK_LINE.split(text) if p.strip()]


def _clip(paragraphs: Sequence[str], limit: int) -> list[str]:
    """The leading paragraphs holding at most `limit` characters, the last one cut short."""
    kept: list[str] = []
    for paragraph in paragraphs:
        if limit <= 0:
            break
        kept.append(paragraph[:limit])
        limit -= len(paragraph)
    return kept
