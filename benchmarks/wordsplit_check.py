"""digest.summary.wordsplit against NLTK's word tokenizer on the sentences of real news articles.

Reads the articles of shared/eval (or DIGEST_EVAL_DIR) at run time, splits them into
sentences as the summarizer does, and compares the word tokens of every sentence:
`split_words(s)` against NLTK's `NLTKWordTokenizer().tokenize(s)` kept to the tokens
sumy takes for words. Prints the sentences where they differ, and the times. Then the
"news" summary of every article, made as before (NLTK's words, sumy's Stemmer and
get_stop_words) and as now.

Example: .venv/bin/python benchmarks/wordsplit_check.py --limit 200
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nltk.tokenize import NLTKWordTokenizer

from digest.summary import summarizer as summarize
from digest.summary.summarizer import split_sentences
from digest.summary.wordsplit import WORD, split_words


def eval_dir() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
    return Path(os.environ.get("DIGEST_EVAL_DIR", default))


def texts(limit: int | None) -> list[str]:
    found: list[str] = []
    for path in sorted(eval_dir().glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                if limit is not None and n >= limit:
                    break
                record = json.loads(line)
                found.append(f"{record.get('title', '')}\n\n{record['text']}")
    return found


def sentences(limit: int | None) -> list[str]:
    return [s for text in texts(limit) for s in split_sentences(text, "english")]


def summaries(articles: Sequence[str]) -> list[tuple[str, ...]]:
    return [summarize.summarize_text(text, 3).sentences for text in articles]


def compare_summaries(articles: Sequence[str]) -> int:
    """How many "news" summaries differ between the old words, stems and stop words and ours."""
    from sumy.nlp.stemmers import Stemmer
    from sumy.utils import get_stop_words

    new = summaries(articles)
    nltk = NLTKWordTokenizer()
    stem, stop_words = Stemmer("english"), get_stop_words("english")

    def old_words(sentence: str) -> tuple[str, ...]:
        return tuple(w for w in nltk.tokenize(sentence) if WORD.match(w))

    def old_stems(words: Sequence[str], language: str) -> list[str]:
        return [stem(w.lower()) for w in words if w.lower() not in stop_words]

    # The summarizer as it was: its two seams swapped for the old code paths for a moment.
    module: Any = summarize
    ours = (module.split_words, module._stems_of)
    module.split_words, module._stems_of = old_words, old_stems
    try:
        old = summaries(articles)
    finally:
        module.split_words, module._stems_of = ours
    return sum(a != b for a, b in zip(old, new, strict=True))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="articles read from each file")
    args = parser.parse_args(argv)
    found = sentences(args.limit)
    if not found:
        sys.exit(f"no *.jsonl articles in {eval_dir()}; set DIGEST_EVAL_DIR")
    nltk = NLTKWordTokenizer()
    started = time.perf_counter()
    old = [tuple(w for w in nltk.tokenize(s) if WORD.match(w)) for s in found]
    nltk_s = time.perf_counter() - started
    started = time.perf_counter()
    new = [split_words(s) for s in found]
    ours_s = time.perf_counter() - started
    differ = [(s, a, b) for s, a, b in zip(found, old, new, strict=True) if a != b]
    for s, a, b in differ[:20]:
        print(f"- {s!r}\n  nltk: {a}\n  ours: {b}")
    words = sum(map(len, old))
    print(
        f"{len(found):,} sentences, {words:,} words: {len(differ)} sentences differ; "
        f"NLTK {nltk_s:.2f} s, split_words {ours_s:.2f} s ({nltk_s / ours_s:.1f}x)"
    )
    articles = texts(args.limit)
    changed = compare_summaries(articles)
    print(f"news summaries of {len(articles)} articles: {changed} differ from before")
    return 1 if differ or changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
