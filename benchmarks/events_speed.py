"""Speed of grouping a 20,000-article run into stories: `digest.stories.arrange` with today's
event detector against the one before issue 19 (benchmarks/old_events.py), in one process.

The articles are those `make bench` writes for its cold 20,000-file run (shared/eval, each
re-used with one added paragraph: many copies of each story), loaded as a run loads them;
the two detectors alternate, best of --repeat, so both see the same moments of a shared machine.

Example: .venv/bin/python benchmarks/events_speed.py --articles 20000
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import old_events
from bench import load_stories

from digest import stories
from digest.intake.files import parse_article
from digest.records import Article, FileVersion

NOW = datetime(2024, 3, 5, 7, 0, tzinfo=UTC)


def corpus(count: int) -> list[Article]:
    """The cold run's articles, as bench.write_corpus writes them (the .txt layout)."""
    found = load_stories()
    articles = []
    for n in range(count):
        story = found[n % len(found)]
        edition = n // len(found)
        text = story.text
        if edition:
            text += f"\n\nThis report was updated (edition {edition}, item {n})."
        data = f"{story.title or f'Report {n}'}\n\n{text}\n".encode()
        articles.append(parse_article(FileVersion(f"{n:06d}.txt", len(data), 0, n), data))
    return articles


def timed(articles: list[Article], detector: Callable[..., list[int]]) -> float:
    arrange_module = importlib.import_module("digest.stories.arrange")
    saved = getattr(arrange_module, "events")  # noqa: B009 (a module found by name)
    arrange_module.events = detector  # type: ignore[attr-defined]
    stories.sketch.cache_clear()
    try:
        start = time.perf_counter()
        stories.arrange(articles, now=NOW)
        return time.perf_counter() - start
    finally:
        arrange_module.events = saved  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    articles = corpus(args.articles)
    before, now = [], []
    for _ in range(args.repeat):
        before.append(timed(articles, old_events.events))
        now.append(timed(articles, stories.events))
    print(
        f"arrange() of {len(articles):,} articles, best of {args.repeat}:"
        f" before issue 19 {min(before):.2f} s, now {min(now):.2f} s,"
        f" ratio {min(now) / min(before):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
