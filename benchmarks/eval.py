"""Score the digest's summaries against human references: ROUGE-1/2/Lsum F1 on real news.

Each record goes through the digest's own path: its {title, text} is parsed by the loader
(`digest.intake.files.parse_article`, as a .json seed file would be) and summarized by
`Summarizer(method)`, exactly as `digest run` and `digest summarize --json` do. Beside our
methods the table shows the lead-3 baseline (the first three sentences of the loaded text,
uncleaned) and sumy's stock methods. The data is read from shared/eval (see its README);
set DIGEST_EVAL_DIR to read it from elsewhere. Nothing of it is copied into the repository.

The "news" method's constants (`digest.summary.scoring.Weights`) are cross-validated: the records
of each dataset fall into `--folds` folds by a hash of their id; for each fold the
constants are chosen on the other folds (crossval.choose) and scored on it. Every figure is
the mean ± standard deviation of the per-fold means. Sentence splits, stems and centrality
are computed once per article (`summarize.scorable`), then each constant of crossval.GRID is
tried with `scoring.choose`; ROUGE comes from fastrouge (rouge-score's figures, checked).

Example: .venv/bin/python benchmarks/eval.py --limit 50
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import crossval
import fastrouge
from crossval import GRID, Row, Spread
from results import write_section

from digest.intake.files import parse_article
from digest.records import Article, FileVersion
from digest.summary import scoring
from digest.summary.summarizer import (
    METHODS,
    Scorable,
    Summarizer,
    scorable,
    split_sentences,
    supported_language,
)

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


# One slice of work for a pool process: data set, method, article indexes, sentences.
Task = tuple[str, str, range, int]


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


def _job(task: Task) -> list[tuple[float, float, float, float]]:
    """ROUGE F1s and milliseconds of one method on each article of a slice of one dataset."""
    name, method, indexes, count = task
    records = _RECORDS[name]
    if method not in _WARM:  # loading sumy and punkt is not the method's speed
        _summarize(method, records[0], count)
        _WARM.add(method)
    rows = []
    for i in indexes:
        start = time.perf_counter()
        sentences = _summarize(method, records[i], count)
        ms = (time.perf_counter() - start) * 1000
        reference = fastrouge.Reference(records[i].reference)
        rows.append((*reference.score([fastrouge.tokens(s) for s in sentences]), ms))
    return rows


def _grid_job(task: Task) -> list[list[Row]]:
    """Per article of a slice: the ROUGE row of the news summary under each GRID constant."""
    name, _, indexes, count = task
    rows = []
    for i in indexes:
        found = scorable(_RECORDS[name][i].article, count)
        reference = fastrouge.Reference(_RECORDS[name][i].reference)
        tokens = [fastrouge.tokens(s) for s in found.sentences]
        scored: dict[tuple[int, ...], Row] = {}
        article: list[Row] = []
        for weights in GRID:
            chosen = tuple(_choose(found, count, weights))
            if chosen not in scored:
                scored[chosen] = reference.score([tokens[k] for k in chosen])
            article.append(scored[chosen])
        rows.append(article)
    return rows


def _choose(found: Scorable, count: int, weights: scoring.Weights) -> list[int]:
    """The indexes `Summarizer("news")` would show with these constants."""
    if not found.ranked:
        return list(range(min(count, len(found.sentences))))
    leans = found.leans
    return scoring.choose(found.centrality, found.stems, found.lengths, count, weights, leans)


BEFORE = "news-before"  # the shipped constants without the standalone rule (before issue 19)


# "Opens by pointing back" read independently of scoring.points_back, for the measure only:
# the third-person personal and possessive pronouns, the demonstratives and a few words that
# stand for something named before, and the connectives of the Penn Discourse Treebank that
# open a sentence (Prasad et al., 2008), with no exemptions ("This year" counts too). Written
# apart from the rule's word lists, so that the figure does not only echo the rule.
_BACK_WORDS = frozenset(
    "he she it they him her them his hers its their theirs this that these those such both"
    " neither another accordingly additionally afterward afterwards also alternatively although"
    " and besides but consequently conversely finally further furthermore hence however indeed"
    " instead later likewise meanwhile moreover nevertheless nonetheless nor or otherwise"
    " previously rather regardless similarly so specifically still then thereafter thereby"
    " therefore though thus ultimately yet earlier".split()
)
_BACK_PHRASES = (
    "as a result",
    "by comparison",
    "by contrast",
    "for example",
    "for instance",
    "in addition",
    "in contrast",
    "in fact",
    "in other words",
    "in particular",
    "in short",
    "in turn",
    "on the contrary",
    "on the other hand",
    "the former",
    "the latter",
)
_FIRST_WORDS = re.compile(
    r"[\"“‘'(\s]*([A-Za-z]+)(?:\s+([A-Za-z]+))?(?:\s+([A-Za-z]+))?(?:\s+([A-Za-z]+))?"
)


def opens_pointing_back(sentence: str) -> bool:
    """The independent reading (`_BACK_WORDS`, `_BACK_PHRASES`) of a sentence's opening."""
    match = _FIRST_WORDS.match(sentence)
    if match is None:
        return False
    words = [w.lower() for w in match.groups("") if w]
    return words[0] in _BACK_WORDS or " ".join(words).startswith(_BACK_PHRASES)


def _standalone_job(task: Task) -> list[tuple[float, float, float, bool, bool, bool, bool]]:
    """Per article: ROUGE of the news summary before issue 19, and whether that summary and
    today's hold a sentence pointing back at one left out, by the rule's own reading
    (scoring.points_back) and by the independent one (`opens_pointing_back`)."""
    name, _, indexes, count = task
    rows = []
    before = replace(scoring.NEWS, standalone=False)
    for i in indexes:
        found = scorable(_RECORDS[name][i].article, count)
        reference = fastrouge.Reference(_RECORDS[name][i].reference)
        old, new = _choose(found, count, before), _choose(found, count, scoring.NEWS)
        score = reference.score([fastrouge.tokens(found.sentences[k]) for k in old])
        leans = found.leans
        other = [opens_pointing_back(sentence) for sentence in found.sentences]
        rule_old, rule_new = scoring.dangling(old, leans), scoring.dangling(new, leans)
        other_old, other_new = scoring.dangling(old, other), scoring.dangling(new, other)
        rows.append((*score, rule_old, rule_new, other_old, other_new))
    return rows


def standalone(
    found: dict[tuple[str, str], list[tuple[float, float, float, bool, bool, bool, bool]]],
    folds: dict[str, list[int]],
    k: int,
) -> tuple[str, dict[str, list[Row]]]:
    """Share of summaries with a sentence pointing back at one left out, before and now
    (mean ± std over folds), and the rows of the news summary before, for the table."""
    lines, rows = [], {}
    for name in DATASETS:
        part = found[(name, BEFORE)]
        rows[name] = [r[:3] for r in part]
        shares = []
        for col in (3, 4, 5, 6):
            per_fold = [
                [100.0 * r[col] for r, f in zip(part, folds[name], strict=True) if f == fold]
                for fold in range(k)
            ]
            means = [statistics.fmean(x) if x else 0.0 for x in per_fold]
            spread = statistics.stdev(means) if len(means) > 1 else 0.0
            shares.append(f"{statistics.fmean(means):.1f}% ± {spread:.1f}")
        lines.append(
            f"- {DATASETS[name]}: summaries with a sentence pointing back at one left out:"
            f" by the rule's reading before {shares[0]}, now {shares[1]}; by the independent"
            f" reading before {shares[2]}, now {shares[3]} ({len(part)} articles)"
        )
    return "\n".join(lines), rows


def _run(
    worker: Callable[[Task], list[Any]],
    records: dict[str, list[Record]],
    jobs: list[tuple[str, str]],
    count: int,
    processes: int,
) -> dict[tuple[str, str], list[Any]]:
    """Run `worker` on slices of each (dataset, method) job; the per-article results."""
    tasks: list[Task] = []
    for name, method in jobs:
        items = records[name]
        step = max(1, len(items) // (4 * processes))
        tasks += [
            (name, method, range(i, min(i + step, len(items))), count)
            for i in range(0, len(items), step)
        ]
    with Pool(processes, initializer=_init, initargs=(records,)) as pool:
        results = pool.map(worker, tasks, chunksize=1)
    rows: dict[tuple[str, str], list[Any]] = {}
    for (name, method, _, _), part in zip(tasks, results, strict=True):
        rows.setdefault((name, method), []).extend(part)
    return rows


def check_rouge(records: dict[str, list[Record]], count: int, articles: int = 10) -> None:
    """fastrouge must give rouge-score's figures: compare them on a few news summaries."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    for items in records.values():
        for record in items[:articles]:
            sentences = _summarize(METHODS[0], record, count)
            theirs = scorer.score(record.reference, "\n".join(sentences))
            ours = fastrouge.Reference(record.reference).score(
                [fastrouge.tokens(s) for s in sentences]
            )
            for metric, value in zip(METRICS, ours, strict=True):
                if abs(theirs[metric].fmeasure * 100 - value) > 1e-6:
                    raise AssertionError(f"fastrouge differs from rouge-score on {record.id}")


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One method on one dataset: ROUGE mean ± spread over folds, ms per article."""

    rouge: Spread
    ms: float


def _cell(s: Spread, m: int) -> str:
    return f"{s.mean[m]:.2f} ± {s.std[m]:.2f}"


def table(results: dict[tuple[str, str], Result], methods: Sequence[str]) -> str:
    """A markdown table: one row per method, R-1/R-2/R-Lsum (mean ± std over folds) and
    ms/article per dataset."""
    names = list(DATASETS)
    head = "| method |" + "".join(
        f" {DATASETS[n]} R-1 | R-2 | R-Lsum | ms/article |" for n in names
    )
    rule = "| --- |" + " ---: | ---: | ---: | ---: |" * len(names)
    lines = [head, rule]
    for method in methods:
        cells = [_label(method)]
        for name in names:
            r = results[(name, method)]
            cells += [_cell(r.rouge, m) for m in range(3)]
            cells.append(f"{r.ms:.1f}" if r.ms == r.ms else "–")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


CV = "news-cv"


def _label(method: str) -> str:
    if method == BASELINE:
        return "lead-3 (baseline: first 3 sentences, uncleaned)"
    if method == METHODS[0]:
        return f"**{method}** (default, shipped constants)"
    if method == CV:
        return "news, constants chosen on the other folds"
    if method == "lead":
        return "lead (cleaned first sentences)"
    if method == BEFORE:
        return "news before issue 19 (shipped constants, sentences pointing back allowed)"
    return f"{method} (sumy)"


def margins(
    rows: dict[tuple[str, str], list[Row]], folds: dict[str, list[int]], k: int, against: str
) -> str:
    """Per dataset: news (cross-validated and shipped) minus `against`, paired per fold."""
    lines = []
    for name in DATASETS:
        base = crossval.fold_means(rows[(name, against)], folds[name], k)
        parts = []
        for method in (CV, METHODS[0]):
            ours = crossval.fold_means(rows[(name, method)], folds[name], k)
            gain = crossval.spread([_minus(o, t) for o, t in zip(ours, base, strict=True)])
            parts.append(
                f"{_label(method).replace('**', '')}: "
                + " / ".join(f"{gain.mean[m]:+.2f} ± {gain.std[m]:.2f}" for m in range(3))
            )
        lines.append(f"- {DATASETS[name]}, minus {against}: " + "; ".join(parts))
    return "\n".join(lines)


#: Constants shown beside the choice: the position exponent, the budget, the length prior.
TRADE_OFF = (
    *((p, 35, 0.0) for p in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)),
    *((0.5, w, 0.0) for w in (20, 25, 30, 50)),
    *((0.5, 35, n) for n in (-0.25, 0.25, 0.5)),
    (0.75, 50, 0.25),
)


def trade_off(
    grid: dict[str, list[list[Row]]],
    lead: dict[str, list[Row]],
    folds: dict[str, list[int]],
    k: int,
) -> str:
    """Fixed constants (no choice): CNN gain over lead-3 and BBC score, mean ± std over folds."""
    head = (
        "| position | words/sentence | length | CNN − lead-3 R-1 | R-2 | R-Lsum "
        "| BBC R-1 | R-2 | R-Lsum |"
    )
    lines = [head, "| ---: | ---: | ---: |" + " ---: |" * 6]
    for p, w, n in TRADE_OFF:
        c = GRID.index(scoring.Weights(p, w, n))
        cnn = [article[c] for article in grid[crossval.CNN]]
        gain = crossval.margin(cnn, lead[crossval.CNN], folds[crossval.CNN], k)
        bbc_rows = [article[c] for article in grid[crossval.BBC]]
        bbc = crossval.spread(crossval.fold_means(bbc_rows, folds[crossval.BBC], k))
        mark = "**" if scoring.Weights(p, w, n) == scoring.NEWS else ""
        cells = [f"{mark}{p}{mark}", str(w), str(n)]
        cells += [f"{gain.mean[m]:+.2f} ± {gain.std[m]:.2f}" for m in range(3)]
        cells += [_cell(bbc, m) for m in range(3)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _minus(a: Row, b: Row) -> Row:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def choices(result: crossval.CrossValidated) -> str:
    def show(w: scoring.Weights) -> str:
        return (
            f"position {w.position}, words_per_sentence {w.words_per_sentence}, length {w.length}"
        )

    lines = [f"- fold {f}: {show(w)}" for f, w in enumerate(result.chosen)]
    lines.append(f"- shipped (`digest.summary.scoring.NEWS`): {show(scoring.NEWS)}")
    lines.append(f"- most folds chose: {show(result.shipped)}")
    return "\n".join(lines)


def section(
    report: str, counts: dict[str, int], sentences: int, k: int, seconds: float, load: float
) -> str:
    sizes = ", ".join(f"{DATASETS[n]} {c} articles" for n, c in counts.items())
    return (
        f"{SECTION}\n\n"
        "ROUGE F1 ×100 (rouge-score's figures, Porter stemmer; R-Lsum with one sentence a line) "
        f"of {sentences}-sentence summaries against the human references, on the DEV part of "
        f"shared/eval ({sizes}), as mean ± standard deviation over {k} folds (an article's fold "
        "is a hash of its id). Each article goes through the digest's own loader and "
        "summarizer; ms/article is the summarizer alone, two processes in parallel. "
        "sumy's stock methods rank the same cleaned sentences as `news` (no dateline, "
        "credits or fragments); lead-3 is issue 6's baseline, uncleaned. "
        '"news, constants chosen on the other folds" scores each fold with the '
        f"constants picked on the other {k - 1} ({len(GRID)} tried, benchmarks/crossval.py): "
        "the best CNN gain over lead-3 among those that score no lower on BBC than the shipped "
        "constants (means of the three metrics). The shipped constants are the ones most folds "
        "chose. "
        f"Produced by `make eval` (benchmarks/eval.py --folds {k}) on {date.today():%Y-%m-%d} "
        f"in {seconds:.0f} s (load average {load:.1f} at the start), {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; "
        "the held-out part is never read here.\n\n"
        f"{report}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, help="only the first N articles of each dataset")
    parser.add_argument("--sentences", type=int, default=3, help="sentences per summary")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds (>= 2)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="update benchmarks/RESULTS.md (default: only for a full run)",
    )
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    stock = [m for m in METHODS[1:] if m != "lead"]
    methods = [BASELINE, *METHODS[:1], "lead", *stock]
    try:
        records = {name: load(name, args.limit) for name in DATASETS}
    except FileNotFoundError as exc:
        print(f"eval: {exc.filename} not found; set DIGEST_EVAL_DIR", file=sys.stderr)
        return 2
    start, load_average = time.perf_counter(), os.getloadavg()[0]
    check_rouge(records, args.sentences)
    k, count = args.folds, args.sentences
    jobs = [(n, m) for n in records for m in methods]
    fixed = _run(_job, records, jobs, count, args.processes)
    grid = _run(_grid_job, records, [(n, "grid") for n in records], count, args.processes)
    rows = {key: [r[:3] for r in found] for key, found in fixed.items()}
    folds = {n: [crossval.fold_of(r.id, k) for r in items] for n, items in records.items()}
    by_name = {n: grid[(n, "grid")] for n in records}
    leads = {n: rows[(n, BASELINE)] for n in records}
    result = crossval.cross_validate(by_name, leads, folds, k)
    for name in records:
        rows[(name, CV)] = result.rows[name]
    alone = _run(_standalone_job, records, [(n, BEFORE) for n in records], count, args.processes)
    alone_report, before_rows = standalone(alone, folds, k)
    for name in records:
        rows[(name, BEFORE)] = before_rows[name]
    _check_news(rows, grid, records)
    results = {}
    for (name, method), found in rows.items():
        timed = (name, method) in fixed
        ms = statistics.fmean(r[3] for r in fixed[(name, method)]) if timed else float("nan")
        results[(name, method)] = Result(
            crossval.spread(crossval.fold_means(found, folds[name], k)), ms
        )
    report = table(results, [BASELINE, METHODS[0], CV, BEFORE, *methods[2:]])
    report += (
        "\n\nSummaries that stand alone (scoring.dangling; the rule's reading is"
        " scoring.points_back, the independent one eval.opens_pointing_back):\n\n"
    )
    report += alone_report
    report += (
        "\n\nGains, mean ± std over folds of the per-fold difference (R-1 / R-2 / R-Lsum):\n\n"
    )
    report += margins(rows, folds, k, BASELINE) + "\n" + margins(rows, folds, k, "reduction")
    report += "\n\nConstants chosen per held-out fold:\n\n" + choices(result)
    report += "\n\nThe trade-off, constants held fixed (mean ± std over folds):\n\n"
    report += trade_off(by_name, leads, folds, k)
    seconds = time.perf_counter() - start
    print(report)
    print(f"\n({seconds:.0f} s)", file=sys.stderr)
    if not crossval.shipped_is_current(result):
        print(
            "eval: digest.summary.scoring.NEWS is not what most folds chose; update it",
            file=sys.stderr,
        )
    if args.write if args.write is not None else args.limit is None:
        counts = {n: len(r) for n, r in records.items()}
        write_section(RESULTS, SECTION, section(report, counts, count, k, seconds, load_average))
        print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 0


def _check_news(
    rows: dict[tuple[str, str], list[Row]],
    grid: dict[tuple[str, str], list[object]],
    records: dict[str, list[Record]],
) -> None:
    """The grid's copy of the shipped constants must score exactly as Summarizer("news")."""
    if scoring.NEWS not in GRID:
        return
    at = GRID.index(scoring.NEWS)
    for name in records:
        ours = [article[at] for article in grid[(name, "grid")]]  # type: ignore[index]
        if any(
            abs(a - b) > 1e-9
            for x, y in zip(ours, rows[(name, METHODS[0])], strict=True)
            for a, b in zip(x, y, strict=True)
        ):
            raise AssertionError(f"the grid's news differs from Summarizer('news') on {name}")


if __name__ == "__main__":
    sys.exit(main())
