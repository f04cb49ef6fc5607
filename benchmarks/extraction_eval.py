"""Measure main-text extraction from HTML pages whose main text is known.

Each real article in shared/eval (set DIGEST_EVAL_DIR to read it from elsewhere; nothing is
copied into the repository) is wrapped in one of several news/blog page templates full of
boilerplate: navigation, cookie banners, share bars, related stories with teaser sentences,
comments in full sentences, author bios, newsletter boxes, ads, figures with captions,
scripts, styles and JSON-LD; layouts range from <article>/<main> to div soup and tables.
Teasers, captions and comments are sentences of other articles, so they read like text.

Scored: main-text F1 over 4-word shingles (precision and recall averaged per page) for the
.html loader as it was before trafilatura (`digest.intake.files.html`, stdlib parser, with the
chrome rules), the loader now (`digest.intake.files.parse_article` of an .html file),
trafilatura alone, and `digest.intake.extract.extract_page` without and with the feed's text
(the full article, as in a feed with content:encoded; or a 40-word summary, as in one with a
description only).

Example: .venv/bin/python benchmarks/extraction_eval.py --limit 200 --write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pages import TEMPLATES, Context
from results import write_section

from digest.errors import DigestError
from digest.intake.extract import extract_page
from digest.intake.files import parse_article
from digest.intake.files.article import Draft, Rejected, finish
from digest.intake.files.chrome import strip_chrome
from digest.intake.files.html import extract
from digest.records import FileVersion
from digest.text import clean_text

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Extraction"
DATASETS = ("bbc_news_summary", "cnndm_test")
_WORD = re.compile(r"\w+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


@dataclass(frozen=True)
class Case:
    id: str
    template: str
    title: str
    paragraphs: tuple[str, ...]
    markup: str
    url: str


def eval_dir() -> Path:
    """Where the data lives: $DIGEST_EVAL_DIR, else shared/eval beside the checkout."""
    override = os.environ.get("DIGEST_EVAL_DIR")
    if override:
        return Path(override)
    near = [ROOT.parent / "shared" / "eval", ROOT.parent.parent / "shared" / "eval"]
    return next((p for p in near if p.is_dir()), near[0])


def paragraphs_of(text: str) -> tuple[str, ...]:
    """The article's paragraphs; one-paragraph CNN texts are split every three sentences."""
    blocks = [" ".join(b.split()) for b in text.split("\n\n") if b.strip()]
    if len(blocks) > 1:
        return tuple(blocks)
    sentences = _SENTENCE.split(blocks[0]) if blocks else []
    return tuple(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))


def load(limit: int | None) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    for name in DATASETS:
        with (eval_dir() / f"{name}.jsonl").open(encoding="utf-8") as lines:
            records += [json.loads(line) for line in lines]
    random.Random(12).shuffle(records)
    return records[:limit] if limit else records


def build(records: list[dict[str, str]]) -> list[Case]:
    """One page per article, the templates taken in turn; other articles give the teasers."""
    rng = random.Random(7)
    sentences = [s for r in records[:300] for s in _SENTENCE.split(r["text"]) if len(s) > 60]
    names = sorted(TEMPLATES)
    cases = []
    for i, record in enumerate(records):
        paragraphs = paragraphs_of(record["text"])
        if not paragraphs:
            continue
        title = record["title"] or _title_from(paragraphs[0])
        template = names[i % len(names)]
        url = f"https://news.example.com/2024/03/{record['id'][:12]}"
        context = Context(title, paragraphs, url, rng, sentences)
        cases.append(
            Case(record["id"], template, title, paragraphs, TEMPLATES[template](context), url)
        )
    return cases


def _title_from(paragraph: str) -> str:
    words = _WORD.findall(paragraph.split("(CNN)")[-1])[:9]
    return " ".join(words).capitalize()


def shingles(text: str) -> set[tuple[str, ...]]:
    words = [w.casefold() for w in _WORD.findall(text)]
    return {tuple(words[i : i + 4]) for i in range(max(0, len(words) - 3))}


def score(found: str, truth: str) -> tuple[float, float]:
    got, want = shingles(found), shingles(truth)
    if not got or not want:
        return (0.0, 0.0) if want else (1.0, 1.0)
    common = len(got & want)
    return common / len(got), common / len(want)


def loader_before(case: Case, _feed: str | None) -> str:
    """What `digest.intake.files` made of an .html file before it used trafilatura."""
    page = extract(clean_text(case.markup))
    draft = Draft(title=page.title)
    draft.paragraphs = strip_chrome([[p] for p in page.paragraphs], draft)
    try:
        return finish(FileVersion(f"{case.id}.html", 0, 0, 0), draft).text
    except Rejected:
        return ""


def loader(case: Case, _feed: str | None) -> str:
    data = case.markup.encode("utf-8")
    info = FileVersion(f"{case.id}.html", len(data), 0, 0)
    try:
        return parse_article(info, data).text
    except DigestError:
        return ""


def trafilatura_alone(case: Case, _feed: str | None) -> str:
    import trafilatura

    return trafilatura.extract(case.markup, url=case.url, include_comments=False) or ""


def ours(case: Case, feed: str | None) -> str:
    try:
        page = extract_page(case.markup, url=case.url, feed_text=feed)
    except DigestError:
        return ""
    return page.text if page else ""


Method = Callable[[Case, str | None], str]
FEEDS: dict[str, Callable[[Case], str | None]] = {
    "none": lambda case: None,
    # content:encoded as WordPress writes it: the article, then its own footer line
    "full": lambda case: (
        "\n\n".join(case.paragraphs) + "\n\nThe post appeared first on Open Notebook."
    ),
    "first3": lambda case: "\n\n".join(case.paragraphs[:3]),
    "summary": lambda case: " ".join(" ".join(case.paragraphs).split()[:40]),
}
METHODS: list[tuple[str, Method, str]] = [
    ("digest .html loader (before: stdlib parser)", loader_before, "none"),
    ("digest .html loader (digest.intake.files)", loader, "none"),
    ("trafilatura 2.3.1 alone", trafilatura_alone, "none"),
    ("extract_page", ours, "none"),
    ("extract_page + feed summary (40 words)", ours, "summary"),
    ("extract_page + feed's first 3 paragraphs", ours, "first3"),
    ("extract_page + feed full text", ours, "full"),
]


@dataclass(frozen=True)
class Row:
    name: str
    precision: float
    recall: float
    f1_mean: float
    ms: float
    by_template: dict[str, float]


def run(name: str, method: Method, feed: str, cases: Sequence[Case]) -> Row:
    scores: list[tuple[str, float, float]] = []
    start = time.process_time()
    for case in cases:
        p, r = score(method(case, FEEDS[feed](case)), "\n\n".join(case.paragraphs))
        scores.append((case.template, p, r))
    ms = (time.process_time() - start) * 1000 / len(cases)
    per_page_f1 = [2 * p * r / (p + r) if p + r else 0.0 for _, p, r in scores]
    templates = sorted({t for t, _, _ in scores})
    by_template = {
        t: statistics.fmean(f for (tt, _, _), f in zip(scores, per_page_f1, strict=True) if tt == t)
        for t in templates
    }
    precision = statistics.fmean(p for _, p, _ in scores)
    recall = statistics.fmean(r for _, _, r in scores)
    return Row(name, precision, recall, statistics.fmean(per_page_f1), ms, by_template)


def f1(row: Row) -> float:
    total = row.precision + row.recall
    return 2 * row.precision * row.recall / total if total else 0.0


def table(rows: Sequence[Row]) -> str:
    templates = list(rows[0].by_template)
    head = "| method | F1 | P | R | mean page F1 | ms/page |" + "".join(
        f" {t} |" for t in templates
    )
    lines = [head, "|---|" + "---:|" * (5 + len(templates))]
    for row in rows:
        cells = [f"{f1(row):.3f}", f"{row.precision:.3f}", f"{row.recall:.3f}"]
        cells += [f"{row.f1_mean:.3f}", f"{row.ms:.1f}"]
        cells += [f"{row.by_template[t]:.3f}" for t in templates]
        lines.append(f"| {row.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def section(rows: Sequence[Row], cases: Sequence[Case]) -> str:
    return "\n".join(
        [
            SECTION,
            "",
            f"`make eval-extraction` on {date.today()}, Python {platform.python_version()}, "
            f"{len(cases)} generated pages ({len({c.template for c in cases})} templates, "
            "articles from shared/eval wrapped in boilerplate; see benchmarks/pages.py).",
            "F1 over 4-word shingles from the mean per-page precision and recall; "
            "template columns are mean per-page F1.",
            "",
            table(rows),
            "",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="articles to use (default all)")
    parser.add_argument("--write", action="store_true", help="write the table into RESULTS.md")
    parser.add_argument("--dump", type=Path, help="write the generated pages into this folder")
    args = parser.parse_args(argv)
    try:
        cases = build(load(args.limit))
    except FileNotFoundError as exc:
        print(f"eval-extraction: {exc.filename} not found; set DIGEST_EVAL_DIR", file=sys.stderr)
        return 1
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
        for case in cases:
            (args.dump / f"{case.template}-{case.id}.html").write_text(case.markup, "utf-8")
    ours(cases[0], None)  # trafilatura's import (~1 s) is not any one method's per-page cost
    rows = [run(name, method, feed, cases) for name, method, feed in METHODS]
    print(table(rows))
    if args.write:
        write_section(RESULTS, SECTION, section(rows, cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
