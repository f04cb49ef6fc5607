"""Extractive summaries with sumy, splitting sentences offline."""

from __future__ import annotations

import logging
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from digest.records import Article, Summary
from digest.summary import nlp, scoring
from digest.summary.language import (
    ISO_CODES,
    by_script,
)
from digest.summary.nlp import has_model as has_model
from digest.summary.nlp import languages as languages
from digest.summary.wordsplit import split_words
from digest.text import headline_key

logger = logging.getLogger("digest")

# sumy and numpy are imported inside functions only (the language tools live in
# digest.summary.nlp): config imports METHODS at start-up, and loading them costs about a second.
# The "news" method needs neither sumy's rankers nor numpy.

#: Selectable summary methods, the default first. "news" weighs sumy's Reduction centrality
#: by position (see summary.scoring); "lead" takes the first sentences; the rest are sumy's own.
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
_LETTERS = re.compile(r"[^\W\d_]+")
_BLANK_LINE = re.compile(r"\n\s*\n")


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


def split_sentences(text: str, language: str) -> list[str]:
    """Split text into whitespace-normalised sentences: blank lines, then punkt."""
    tokenizer = nlp.tokenizer(_checked_language(language))
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
    counts = Counter(_LETTERS.findall(sample.lower())[:_DETECT_WORDS])
    # Each language's stop words met in the sample (set intersections run in C), counted.
    hits = [sum(counts[w] for w in stop_words & counts.keys()) for stop_words in nlp.detection()]
    top = max(hits, default=0)
    # The first language in order with the most stop words: English first wins ties.
    return nlp.detection_order()[hits.index(top)] if top >= _MIN_STOP_HITS else "english"


def _summarize(
    paragraphs: Sequence[str], title: str, language: str, count: int, method: str
) -> Summary:
    if count <= 0:
        return Summary((), language, method)
    sentences = _candidates(paragraphs, title, nlp.tokenizer(language))
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
    leans: tuple[bool, ...]  # which sentences point back at the one before (scoring.points_back)
    ranked: bool  # False: too short or no sentence model, so the summary is the lead


def scorable(article: Article, count: int) -> Scorable:
    """What `Summarizer("news")` scores in an article, computed once."""
    language = supported_language(article.language) or detect_language(article.text)
    sentences = _candidates(article.paragraphs, article.title, nlp.tokenizer(language))
    if not _ranks(sentences, count, language):
        return Scorable(tuple(sentences), (), (), (), (), False)
    stems, lengths = _news_words(sentences, language)
    centrality = tuple(scoring.centrality(stems))
    leans = tuple(_leans(sentences, language))
    return Scorable(
        tuple(sentences), tuple(map(tuple, stems)), tuple(lengths), centrality, leans, True
    )


def _candidates(paragraphs: Sequence[str], title: str, tokenizer: nlp.Tokenizer) -> list[str]:
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
    # Fewer than `count` only when the rest repeat what is chosen, overflow the word budget
    # or point back at a sentence that does not fit with them.
    leans = _leans(sentences, language)
    return scoring.choose(scoring.centrality(stems), stems, lengths, count, leans=leans)


def _leans(sentences: Sequence[str], language: str) -> list[bool]:
    """Which sentences open by pointing back at the one before (English openings only)."""
    if language != "english":
        return [False] * len(sentences)
    return [scoring.points_back(s) for s in sentences]


def _news_words(sentences: Sequence[str], language: str) -> tuple[list[list[str]], list[int]]:
    """Each sentence's stems as sumy's rankers see them (lower-cased, no stop words), and
    its length in words."""
    words = [split_words(s) for s in sentences]
    return [nlp.stems_of(ws, language) for ws in words], [len(ws) for ws in words]


def _rank_sumy(sentences: list[str], count: int, language: str, method: str) -> list[int]:
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    tokenizer = nlp.tokenizer(language)
    ranked = sentences[: _RANKED_SENTENCES.get(method, _MAX_SENTENCES)]
    document = ObjectDocumentModel([Paragraph([Sentence(s, tokenizer) for s in ranked])])
    summarizer = nlp.sumy_summarizer(method, language)
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
