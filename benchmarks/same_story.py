"""Same story from other outlets, on real news: ECB+ (shared/eval/stories), today's detector beside
the one before issue 19 (benchmarks/old_events.py), in one run.

Every article is dropped into ONE digest, as a run would see a folder of seed files: a .txt
file in the scraper layout (the headline line, then the text), read by the real loader. The
one-sentence documents are "only a headline" to the loader; they are kept as headline-only
entries (title, no text), as a run shows them. Articles carry no dates (the set has none), so
time never separates two events. Nothing says how many stories there are.

Scores: pairwise precision and recall of "same story" over all pairs of articles, and
B-cubed precision, recall and F1 of the clusters. Each topic holds two different events of
one kind (two earthquakes), the hard negatives.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import old_events

from digest import stories
from digest.errors import SourceError
from digest.intake.files import parse_article
from digest.records import Article, FileVersion

Detector = Callable[[Sequence[Article], Sequence[int]], list[int]]
HEADLINE_ONLY = "only a headline"


def load(folder: Path) -> list[dict[str, str]]:
    with (folder / "ecbplus_dev.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def as_article(record: dict[str, str]) -> Article:
    """The article a run makes of one document, headline-only ones included."""
    data = f"{record['title']}\n\n{record['text']}".encode()
    info = FileVersion(f"{record['id']}.txt", len(data), 0, 0)
    try:
        return parse_article(info, data)
    except SourceError as error:
        if HEADLINE_ONLY not in str(error):
            raise
        return Article(
            id=record["id"],
            path=Path(info.path),
            title=record["title"],
            paragraphs=(),
            modified=datetime.fromtimestamp(0, UTC),
        )


def scores(truth: Sequence[str], found: Sequence[int]) -> dict[str, float]:
    """Pairwise precision and recall of "same story", B-cubed precision, recall and F1."""
    real, said = _pairs(truth), _pairs(found)
    hit = len(real & said)
    n = len(truth)
    sizes_t, sizes_f, both = Counter(truth), Counter(found), Counter(zip(truth, found, strict=True))
    bp = sum(both[(t, f)] / sizes_f[f] for t, f in zip(truth, found, strict=True)) / n
    br = sum(both[(t, f)] / sizes_t[t] for t, f in zip(truth, found, strict=True)) / n
    return {
        "precision": hit / len(said) if said else 1.0,
        "recall": hit / len(real) if real else 1.0,
        "b3_precision": bp,
        "b3_recall": br,
        "b3_f1": 2 * bp * br / (bp + br),
        "stories": len(set(found)),
    }


def _pairs(labels: Sequence[object]) -> set[tuple[int, int]]:
    by: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        by.setdefault(label, []).append(i)
    return {pair for members in by.values() for pair in itertools.combinations(members, 2)}


def check(folder: Path) -> None:
    records = load(folder)
    articles = [as_article(r) for r in records]
    truth = [r["cluster"] for r in records]
    alone = sum(not a.paragraphs for a in articles)
    print(
        f"  same story, other outlets: ECB+ development set, {len(articles)} articles,"
        f" {len(set(truth))} events in {len(set(r['topic'] for r in records))} topics,"
        f" one digest ({alone} headline-only)"
    )
    detectors: list[tuple[str, Detector]] = [
        ("before (issue 19)", old_events.events),
        ("now", stories.events),
    ]
    for label, detect in detectors:
        start = time.perf_counter()
        groups = stories.copies([stories.sketch(a.text) for a in articles])
        s = scores(truth, detect(articles, groups))
        seconds = time.perf_counter() - start
        print(
            f"    {label:>17}: pairwise precision {s['precision']:.3f} recall {s['recall']:.3f};"
            f" B-cubed precision {s['b3_precision']:.3f} recall {s['b3_recall']:.3f}"
            f" F1 {s['b3_f1']:.3f}; {s['stories']} stories ({seconds:.1f} s)"
        )
