"""digest.wordsplit against NLTK's word tokenizer on the sentences of real news articles.

Reads the articles of shared/eval (or DIGEST_EVAL_DIR) at run time, splits them into
sentences as the summarizer does, and compares the word tokens of every sentence:
`split_words(s)` against NLTK's `NLTKWordTokenizer().tokenize(s)` kept to the tokens
sumy takes for words. Prints the sentences where they differ, and the times.

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

from nltk.tokenize import NLTKWordTokenizer

from digest.summarize import split_sentences
from digest.wordsplit import WORD, split_words


def eval_dir() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
    return Path(os.environ.get("DIGEST_EVAL_DIR", default))


def sentences(limit: int | None) -> list[str]:
    found: list[str] = []
    for path in sorted(eval_dir().glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh):
                if limit is not None and n >= limit:
                    break
                record = json.loads(line)
                text = f"{record.get('title', '')}\n\n{record['text']}"
                found += split_sentences(text, "english")
    return found


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
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
