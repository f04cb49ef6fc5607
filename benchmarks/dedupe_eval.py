"""Measure "one story, one entry" on real news: copies found, distinct stories kept apart.

From the real articles in shared/eval (set DIGEST_EVAL_DIR to read them from elsewhere;
nothing is copied into the repository) this builds:

- copies: for a sample of articles, five scraper copies each (page chrome added, the
  headline changed, a paragraph dropped or added, whitespace and quote style changed,
  5-20% of the sentences reworded by simple rules), written as .txt seed files in the
  scraper layout and loaded by `digest.intake.files.parse_article`, as a run would, mixed
  with unrelated articles. Pairwise precision and recall of "same story";
- distinct articles of one topic (BBC ids are bbc-<topic>-NNN): the share of their pairs
  wrongly merged, as copies and as reports of one event;
- sent before: edited copies of a sent article must be dropped, and a version with much
  new text kept once, marked updated;
- sections: BBC topics as sections, a third of them hidden, put back by keywords;
- same story from other outlets: ECB+ (shared/eval/stories), today's event detector and the
  one before issue 19 side by side (benchmarks/same_story.py).

Example: .venv/bin/python benchmarks/dedupe_eval.py --sample 200
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import platform
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import same_story
from results import write_section
from stories_memory import old_similar_pairs

from digest import stories
from digest.intake.files import parse_article
from digest.records import Article, FileVersion
from digest.stories import closeness

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Stories"
CREATED = datetime(2024, 3, 5, 7, 0, tzinfo=UTC)
CHROME_TOP = ["Advertisement", "Skip to main content", "Share this article", "Photo: Reuters"]
CHROME_END = [
    "Copyright © 2024 {source}. All rights reserved.",
    "Source link",
    "Follow us on Twitter @{handle} for the latest news",
    "Related Posts",
    "Sign up for our daily newsletter",
]
ADDED = [
    "This story has been updated with additional reporting.",
    "{source} has contacted the company for comment and will update this article.",
    "Additional reporting by staff writers in London and New York; editing by the news desk.",
]
REWORD = [
    (r"\bsaid\b", "stated"),
    (r"\bsays\b", "states"),
    (r"\btold\b", "said to"),
    (r"\bhowever\b", "but"),
    (r"\balso\b", "additionally"),
    (r"\bpercent\b", "per cent"),
    (r"\bwill\b", "is set to"),
    (r"\bbecause\b", "since"),
    (r"\babout\b", "around"),
    (r"\bmore than\b", "over"),
]
SOURCES = ["Daily Wire", "Metro Post", "Global Times", "Evening Star", "Coast Herald"]


def eval_dir() -> Path:
    override = os.environ.get("DIGEST_EVAL_DIR")
    return Path(override) if override else ROOT.parent / "shared" / "eval"


def load(name: str) -> list[dict[str, str]]:
    with (eval_dir() / f"{name}.jsonl").open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def as_article(record_id: str, title: str, text: str, section: str | None = None) -> Article:
    """Load text as a .txt seed file in the scraper layout, the way a run does."""
    head = f"{section}\n\n" if section else ""
    data = f"{head}{title}\n\n{text}".encode()
    info = FileVersion(f"{record_id}.txt", len(data), 0, 0)
    return parse_article(info, data)


# --- scraper edits -----------------------------------------------------------------------------


def sentences(paragraph: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z\"“‘'(])", paragraph)


def reword(sentence: str, rng: random.Random) -> str:
    rules = [(p, r) for p, r in REWORD if re.search(p, sentence)]
    if rules:
        pattern, replacement = rng.choice(rules)
        return re.sub(pattern, replacement, sentence, count=1)
    return "Meanwhile, " + sentence[:1].lower() + sentence[1:]


def paragraphs_of(text: str) -> list[list[str]]:
    """Paragraphs as sentence lists, cut every three sentences: the data's paragraphs are
    long (CNN texts are one paragraph), a web page's are short."""
    said = [sentences(p) for p in text.split("\n\n") if p.strip()]
    return [s[k : k + 3] for s in said for k in range(0, len(s), 3)]


def scraper_copy(title: str, text: str, rng: random.Random, source: str) -> tuple[str, str]:
    """The headline and text of one scraped copy: chrome, cuts, rewording, quotes, spacing."""
    paras = paragraphs_of(text)
    total = sum(len(p) for p in paras)
    share = rng.uniform(0.05, 0.20)
    chosen = set(rng.sample(range(total), max(1, round(share * total))))
    k = itertools.count()
    paras = [[reword(s, rng) if next(k) in chosen else s for s in p] for p in paras]
    if len(paras) > 3 and rng.random() < 0.6:
        del paras[rng.randrange(1, len(paras))]
    body = [" ".join(p) for p in paras]
    if rng.random() < 0.4:
        body.insert(rng.randrange(1, len(body) + 1), rng.choice(ADDED).format(source=source))
    body = [restyle(p, rng) for p in body]
    handle = source.replace(" ", "")
    top = rng.sample(CHROME_TOP, rng.randint(1, 2))
    end = [c.format(source=source, handle=handle) for c in rng.sample(CHROME_END, 3)]
    headline = rng.choice(["BREAKING: {}", "{} | " + source, "{} (updated)", "Watch: {}"])
    return headline.format(title or body[0][:60]), "\n\n".join([*top, *body, *end])


def restyle(paragraph: str, rng: random.Random) -> str:
    """Curly or straight quotes, doubled spaces, hard line wraps."""
    if rng.random() < 0.5:
        paragraph = re.sub(r'"(\S)', r"“\1", paragraph).replace('"', "”").replace("'", "’")
    else:
        paragraph = paragraph.translate(str.maketrans("“”‘’", "\"\"''"))
    words = paragraph.split(" ")
    if rng.random() < 0.5:
        return "\n".join(" ".join(words[k : k + 12]) for k in range(0, len(words), 12))
    return "  ".join(words) if rng.random() < 0.3 else paragraph


def source_versions(texts: Sequence[str]) -> list[int]:
    """A label per text: texts the data itself holds twice (exact word 5-gram Jaccard >= 0.5,
    counted in full, not sketched) share one, so the truth counts them as one story."""
    grams = [set(zip(*(w[k:] for k in range(5)), strict=False)) for w in map(stories.words, texts)]
    index: dict[tuple[str, ...], list[int]] = {}
    for i, found in enumerate(grams):
        for gram in found:
            index.setdefault(gram, []).append(i)
    shared: Counter[tuple[int, int]] = Counter()
    for posting in index.values():
        shared.update(itertools.combinations(posting, 2))
    label = list(range(len(texts)))
    for (i, j), common in shared.items():
        if common / (len(grams[i]) + len(grams[j]) - common) >= 0.5:
            old, new = label[j], label[i]
            label = [new if x == old else x for x in label]
    return label


# --- measures ----------------------------------------------------------------------------------


def pairs_in(labels: Sequence[object]) -> set[tuple[int, int]]:
    by: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        by.setdefault(label, []).append(i)
    return {(a, b) for m in by.values() for a, b in itertools.combinations(m, 2)}


def copies_check(records: list[dict[str, str]], sample: int, rng: random.Random) -> None:
    picked = rng.sample(records, sample)
    rest = [r for r in records if r not in picked][: sample * 2]
    versions = source_versions([r["text"] for r in picked + rest])
    articles, truth = [], []
    for n, r in enumerate(picked):
        articles.append(as_article(r["id"], r["title"], r["text"]))
        truth.append(versions[n])
        for c in range(5):
            title, text = scraper_copy(r["title"], r["text"], rng, SOURCES[c])
            articles.append(as_article(f"{r['id']}-{c}", title, text))
            truth.append(versions[n])
    for n, r in enumerate(rest, start=sample):
        articles.append(as_article(r["id"], r["title"], r["text"]))
        truth.append(versions[n])
    twice = len(versions) - len(set(versions))
    start = time.perf_counter()
    sketches = [stories.sketch(a.text) for a in articles]
    found = stories.copies(sketches)
    seconds = time.perf_counter() - start
    real, said = pairs_in(truth), pairs_in(found)
    raw = {
        (i, j)
        for i, j, jac in old_similar_pairs(sketches)
        if stories.same_text(jac, sketches[i].size, sketches[j].size)
    }
    print(
        f"  copies: {sample} articles x 5 copies + {len(rest)} unrelated = {len(articles)} texts,"
        f" {len(real)} same-story pairs ({seconds:.2f} s)"
    )
    print(f"    ({twice} articles the data itself holds twice count as one story with them)")
    report("pairwise", real, raw)
    report("grouped", real, said)
    arranged = stories.arrange(articles, now=CREATED).stories
    print(f"    entries: {len(arranged)} for {len(set(versions))} distinct stories")


def report(label: str, real: set[tuple[int, int]], said: set[tuple[int, int]]) -> None:
    hit = len(real & said)
    precision = hit / len(said) if said else 1.0
    recall = hit / len(real) if real else 1.0
    print(f"    {label}: precision {precision:.4f}  recall {recall:.4f}  ({hit}/{len(real)})")


def topics_check(bbc: list[dict[str, str]]) -> None:
    by_topic: dict[str, list[dict[str, str]]] = {}
    for r in bbc:
        by_topic.setdefault(r["id"].split("-")[1], []).append(r)
    total = merged_copies = merged_events = excluded = 0
    examples: list[tuple[str, str]] = []
    for records in by_topic.values():
        articles = [as_article(r["id"], r["title"], r["text"]) for r in records]
        twice = pairs_in(source_versions([r["text"] for r in records]))
        groups = stories.copies([stories.sketch(a.text) for a in articles])
        events = stories.events(articles, groups)
        n = len(articles)
        total += n * (n - 1) // 2 - len(twice)
        excluded += len(twice)
        merged_copies += len(pairs_in(groups) - twice)
        event_pairs = pairs_in(events) - twice
        merged_events += len(event_pairs)
        examples += [(articles[i].title, articles[j].title) for i, j in sorted(event_pairs)]
    print(
        f"  distinct articles of one topic: {len(bbc)} BBC articles, {total} same-topic pairs"
        f" ({excluded} pairs the data holds twice left out)"
    )
    print(f"    merged as copies: {merged_copies} ({merged_copies / total:.3%})")
    print(f"    merged as one event: {merged_events} ({merged_events / total:.3%})")
    for a, b in examples[:12]:
        print(f"      {a!r} ~ {b!r}")


def sent_check(records: list[dict[str, str]], sample: int, rng: random.Random) -> None:
    picked = rng.sample(records, sample)
    donors = [r for r in records if r not in picked]
    sent = [stories.sketch(as_article(r["id"], r["title"], r["text"]).text) for r in picked]
    repeats, updates = [], []
    for n, r in enumerate(picked):
        title, text = scraper_copy(r["title"], r["text"], rng, SOURCES[n % 5])
        repeats.append(stories.sketch(as_article(f"c{n}", title, text).text))
        grown = "\n\n".join([r["text"], *update_text(r["text"], donors, rng)])
        updates.append(stories.sketch(as_article(f"u{n}", r["title"], grown).text))
    got_repeat = stories.against_sent(repeats, sent)
    got_update = stories.against_sent(updates, sent)
    fresh = stories.against_sent(
        [stories.sketch(as_article(d["id"], d["title"], d["text"]).text) for d in donors],
        sent,
    )
    print(f"  sent before ({sample} sent articles):")
    print(f"    edited copies dropped: {got_repeat.count('repeat')}/{sample}")
    print(f"    versions with new text marked updated: {got_update.count('updated')}/{sample}")
    print(f"    unrelated articles kept as new: {fresh.count('new')}/{len(fresh)}")


def update_text(text: str, donors: list[dict[str, str]], rng: random.Random) -> list[str]:
    """New paragraphs for an update: 60-100% as many words as the story had."""
    want = len(text.split()) * rng.uniform(0.6, 1.0)
    added: list[str] = []
    while sum(len(p.split()) for p in added) < want:
        chunks = paragraphs_of(rng.choice(donors)["text"])
        added += [" ".join(c) for c in chunks[: rng.randint(1, 3)]]
    return added


def sections_check(bbc: list[dict[str, str]], rng: random.Random) -> None:
    given = [r["id"].split("-")[1] for r in bbc]
    hidden = set(rng.sample(range(len(bbc)), len(bbc) // 3))
    articles = [as_article(r["id"], r["title"], r["text"]) for r in bbc]
    shown = [None if i in hidden else s for i, s in enumerate(given)]
    got = stories.assign_sections(articles, shown)
    placed = [i for i in hidden if got[i] != stories.DEFAULT_SECTION]
    right = sum(got[i] == given[i] for i in placed)
    print(f"  sections: BBC topics, {len(hidden)} hidden")
    print(
        f"    placed {len(placed)}/{len(hidden)}, right {right}/{len(placed)}"
        f" ({right / max(1, len(placed)):.1%}); the rest go to {stories.DEFAULT_SECTION!r}"
    )


def speed_check(records: Iterable[dict[str, str]]) -> None:
    articles = [as_article(r["id"], r["title"], r["text"]) for r in records]
    start = time.perf_counter()
    stories.arrange(articles, now=CREATED)
    seconds = time.perf_counter() - start
    print(f"  speed: arrange() of {len(articles)} articles in {seconds:.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=150, help="articles copied (default 150)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument(
        "--write", action="store_true", help=f"replace the {SECTION!r} section of RESULTS.md"
    )
    args = parser.parse_args(argv)
    if not eval_dir().is_dir():
        print(f"no evaluation data in {eval_dir()}; set DIGEST_EVAL_DIR", file=sys.stderr)
        return 2
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        run_all(args.sample, args.seed)
    print(captured.getvalue(), end="")
    if args.write:
        write_section(RESULTS, SECTION, section(captured.getvalue(), args))
        print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 0


def run_all(sample: int, seed: int) -> None:
    rng = random.Random(seed)
    cnn, bbc = load("cnndm_test"), load("bbc_news_summary")
    thresholds = (
        f"SAME_TEXT={stories.SAME_TEXT} MIN_JACCARD={stories.MIN_JACCARD}"
        f" UPDATE_SHARE={stories.UPDATE_SHARE} SAME_EVENT={stories.SAME_EVENT}"
        f" NEIGHBOURS={closeness.NEIGHBOURS} NEIGHBOUR_FLOOR={closeness.NEIGHBOUR_FLOOR}"
    )
    print(f"stories evaluation ({thresholds})")
    copies_check(cnn + bbc, sample, rng)
    topics_check(bbc)
    sent_check(cnn + bbc, sample, rng)
    sections_check(bbc, rng)
    speed_check(cnn + bbc)
    if (eval_dir() / "stories").is_dir():
        same_story.check(eval_dir() / "stories")


def section(output: str, args: argparse.Namespace) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    return (
        f"{SECTION}\n\n"
        f"`make dedupe-eval` (`benchmarks/dedupe_eval.py --sample {args.sample} --seed {args.seed}"
        f" --write`), {when}, {machine}. DEV part of shared/eval (CNN/DM test + BBC News"
        " Summary). Targets: copies precision >= 0.99 and recall >= 0.95; distinct articles of"
        ' one topic merged < 1%. "pairwise" judges each pair alone; "grouped" is what the'
        " digest does (a copy joins its group through any member). The event merges listed are"
        " the BBC pairs counted as false; read them: many report one running story. Same story"
        " from other outlets (ECB+, issue 19): targets pairwise precision >= 0.98 and B-cubed"
        " F1 >= 0.90; SAME_EVENT, NEIGHBOURS and NEIGHBOUR_FLOOR were set on this set where"
        " precision stays >= 0.98 (the DUI arrests of two players of one club, and two offers"
        " to one player, are kept apart by who their reports lead with: without that, precision"
        " 0.959 at SAME_EVENT 0.47), and SAME_EVENT 0.49 rather than 0.47 (F1 0.924) for fewer"
        " BBC same-topic merges (0.719% at 0.47). In a"
        " digest reports more than 72 hours apart are never merged. The unrelated articles flagged"
        " as sent before are the data's own near-duplicates of sent ones (checked: exact"
        " 5-gram Jaccard >= 0.5).\n\n"
        f"```\n{output.rstrip()}\n```\n"
    )


if __name__ == "__main__":
    sys.exit(main())
