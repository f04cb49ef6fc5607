"""Score the digest's summaries against human references: ROUGE-1/2/Lsum F1 on real news.

Each record goes through the digest's own path: its {title, text} is parsed by the loader
(`digest.sources.parse_article`, as a .json seed file would be) and summarized by
`Summarizer(method)`, exactly as `digest run` and `digest summarize --json` do. Beside our
methods the table shows the lead-3 baseline (the first three sentences of the loaded text,
uncleaned) and sumy's stock methods. The data is read from shared/eval (see its README);
set DIGEST_EVAL_DIR to read it from elsewhere. Nothing of it is copied into the repository.

Example: .venv/bin/python benchmarks/eval.py --limit 50
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from multiprocessing import Pool
from pathlib import Path

from results import write_section

from digest.sources import Article, FileVersion, parse_article
from digest.summarize import METHODS, Summarizer, split_sentences, supported_language

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
DATASETS = {"cnndm_test": "CNN/DM (CNN, test)", "bbc_news_summary": "BBC News Summary"}
BASELINE = "lead-3"
SECTION = "## Summary quality"
METRICS = ("rouge1", "rouge2", "rougeLsum")


@dataclass(frozen=True)
class Record:
    """One evaluation article as the digest loads it, with its reference summary."""

    id: str
    article: Article
    reference: str  # one sentence a line


@dataclass(frozen=True)
class Score:
    """Mean ROUGE F1 (x100) of one method on one dataset, and its speed."""

    rouge: tuple[float, float, float]
    ms: float
    articles: int


def eval_dir() -> Path:
    """Where the data lives: $DIGEST_EVAL_DIR, else shared/eval beside the checkout."""
    override = os.environ.get("DIGEST_EVAL_DIR")
    return Path(override) if override else ROOT.parent / "shared" / "eval"


def load(name: str, limit: int | None) -> list[Record]:
    """The dataset's records, each parsed as the loader parses a .json seed file."""
    path = eval_dir() / f"{name}.jsonl"
    records: list[Record] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if limit is not None and len(records) >= limit:
                break
            raw = json.loads(line)
            seed = json.dumps({"title": raw["title"], "text": raw["text"]}).encode()
            info = FileVersion(f"{raw['id']}.json", len(seed), 0, 0)
            records.append(Record(raw["id"], parse_article(info, seed), raw["reference"]))
    return records


# --- the work of one process ------------------------------------------------------------------

_RECORDS: dict[str, list[Record]] = {}
_WARM: set[str] = set()


def _init(records: dict[str, list[Record]]) -> None:
    _RECORDS.update(records)


def _summarize(method: str, record: Record, count: int) -> tuple[str, ...]:
    article = record.article
    if method == BASELINE:
        language = supported_language(article.language) or "english"
        return tuple(split_sentences(article.text, language)[:count])
    return Summarizer(method).summarize(article, count).sentences


def _job(task: tuple[str, str, range, int]) -> list[tuple[float, float, float, float]]:
    """ROUGE F1s and milliseconds of one method on a slice of one dataset."""
    from rouge_score import rouge_scorer

    name, method, indexes, count = task
    records = _RECORDS[name]
    if method not in _WARM:  # loading sumy and punkt is not the method's speed
        _summarize(method, records[0], count)
        _WARM.add(method)
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    rows = []
    for i in indexes:
        start = time.perf_counter()
        sentences = _summarize(method, records[i], count)
        ms = (time.perf_counter() - start) * 1000
        scores = scorer.score(records[i].reference, "\n".join(sentences))
        r1, r2, rl = (scores[m].fmeasure * 100 for m in METRICS)
        rows.append((r1, r2, rl, ms))
    return rows


def evaluate(
    records: dict[str, list[Record]], methods: Sequence[str], count: int, processes: int
) -> dict[tuple[str, str], Score]:
    """Score every method on every dataset, spreading slices over `processes` workers."""
    tasks = []
    for name, items in records.items():
        step = max(1, len(items) // (4 * processes))
        for method in methods:
            tasks += [
                (name, method, range(i, min(i + step, len(items))), count)
                for i in range(0, len(items), step)
            ]
    with Pool(processes, initializer=_init, initargs=(records,)) as pool:
        results = pool.map(_job, tasks, chunksize=1)
    rows: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {}
    for (name, method, _, _), part in zip(tasks, results, strict=True):
        rows.setdefault((name, method), []).extend(part)
    return {key: _mean(found) for key, found in rows.items()}


def _mean(rows: list[tuple[float, float, float, float]]) -> Score:
    columns = list(zip(*rows, strict=True))
    r1, r2, rl, ms = (statistics.fmean(c) for c in columns)
    return Score((r1, r2, rl), ms, len(rows))


# --- the report -------------------------------------------------------------------------------


def table(
    scores: dict[tuple[str, str], Score], methods: Sequence[str], names: Sequence[str]
) -> str:
    """A markdown table: one row per method, R-1/R-2/R-Lsum and ms/article per dataset."""
    head = "| method |" + "".join(
        f" {DATASETS[n]} R-1 | R-2 | R-Lsum | ms/article |" for n in names
    )
    rule = "| --- |" + " ---: | ---: | ---: | ---: |" * len(names)
    lines = [head, rule]
    for method in methods:
        cells = [_label(method)]
        for name in names:
            s = scores[(name, method)]
            cells += [f"{v:.2f}" for v in s.rouge] + [f"{s.ms:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _label(method: str) -> str:
    if method == BASELINE:
        return "lead-3 (baseline: first 3 sentences, uncleaned)"
    if method == METHODS[0]:
        return f"**{method}** (default)"
    if method == "lead":
        return "lead (cleaned first sentences)"
    return f"{method} (sumy)"


def margins(
    scores: dict[tuple[str, str], Score], names: Sequence[str], stock: Sequence[str]
) -> str:
    """How far the default is from lead-3 and from the best stock sumy method, per dataset."""
    default = METHODS[0]
    lines = []
    for name in names:
        ours = scores[(name, default)].rouge
        base = scores[(name, BASELINE)].rouge
        best = max(stock, key=lambda m: scores[(name, m)].rouge[0])
        top = scores[(name, best)].rouge
        lines.append(
            f"- {DATASETS[name]}: {default} − lead-3 = "
            + " / ".join(f"{a - b:+.2f}" for a, b in zip(ours, base, strict=True))
            + f"; {default} − best stock ({best}) = "
            + " / ".join(f"{a - b:+.2f}" for a, b in zip(ours, top, strict=True))
            + " (R-1 / R-2 / R-Lsum)"
        )
    return "\n".join(lines)


def section(report: str, counts: dict[str, int], sentences: int) -> str:
    sizes = ", ".join(f"{DATASETS[n]} {k} articles" for n, k in counts.items())
    return (
        f"{SECTION}\n\n"
        "ROUGE F1 ×100 (`rouge-score`, Porter stemmer; R-Lsum with one sentence a line) of "
        f"{sentences}-sentence summaries against the human references, on the DEV part of "
        f"shared/eval ({sizes}). Each article goes through the digest's own loader and "
        "summarizer; ms/article is the summarizer alone, two processes in parallel. "
        "sumy's stock methods rank the same cleaned sentences as `news` (no dateline, "
        "credits or fragments); lead-3 is issue 6's baseline, uncleaned. "
        f"Produced by `make eval` (benchmarks/eval.py) on {date.today():%Y-%m-%d}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        "the held-out part is never read here.\n\n"
        f"{report}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="only the first N articles of each dataset")
    parser.add_argument("--sentences", type=int, default=3, help="sentences per summary")
    parser.add_argument("--methods", help="comma-separated methods (default: all)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="update benchmarks/RESULTS.md (default: only for a full run of every method)",
    )
    args = parser.parse_args(argv)
    stock = [m for m in METHODS[1:] if m != "lead"]
    methods = [BASELINE, *METHODS[:1], "lead", *stock]
    if args.methods:
        methods = [m for m in args.methods.split(",") if m]
        unknown = set(methods) - {BASELINE, *METHODS}
        if unknown:
            parser.error(f"unknown method(s): {', '.join(sorted(unknown))}")
    try:
        records = {name: load(name, args.limit) for name in DATASETS}
    except FileNotFoundError as exc:
        print(f"eval: {exc.filename} not found; set DIGEST_EVAL_DIR", file=sys.stderr)
        return 2
    start = time.perf_counter()
    scores = evaluate(records, methods, args.sentences, args.processes)
    names = list(DATASETS)
    report = table(scores, methods, names)
    chosen_stock = [m for m in stock if m in methods]
    if {BASELINE, METHODS[0]} <= set(methods) and chosen_stock:
        report += "\n\n" + margins(scores, names, chosen_stock)
    print(report)
    print(f"\n({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    full = args.limit is None and args.methods is None
    if args.write if args.write is not None else full:
        counts = {n: len(r) for n, r in records.items()}
        write_section(RESULTS, SECTION, section(report, counts, args.sentences))
        print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
