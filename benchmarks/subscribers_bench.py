"""Subscribers at scale: the real `digest run` sending personal digests to a local SMTP server.

1. 10,000 subscribers in 50 preference sets (sections x max): wall time of the
   run, messages a second, peak RSS of the digest process.
2. 1,000 subscribers in 5 preference sets against the same 1,000 addresses as
   a plain DIGEST_TO list (one digest, no tokens): the subscribers' run must
   not cost more than 1.5x the plain one.

Articles come from shared/eval (BBC news with their categories as sections),
written as seed files; the SMTP server is aiosmtpd in its own process, plain
SMTP on loopback (bench.py measures TLS and AUTH). Subscribers are imported
with `digest subscribers import` before the timed run (not timed).

Example: .venv/bin/python benchmarks/subscribers_bench.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402 - the shared corpus, child-process and SMTP server helpers
from results import write_section  # noqa: E402

SECTIONS = ("business", "entertainment", "politics", "sport", "tech")
HEADING = "## Subscribers"


def write_articles(folder: Path, count: int) -> None:
    """`count` JSON seeds from the eval corpus, each with its category as its section."""
    folder.mkdir(parents=True, exist_ok=True)
    stories = bench.load_stories()
    for n in range(count):
        story = stories[(n * 37) % len(stories)]
        body = {
            "title": story.title or f"Report {n}",
            "text": story.text,
            "source": story.source,
            "section": SECTIONS[n % len(SECTIONS)],
        }
        path = folder / f"{n:05d}.json"
        path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        os.utime(path, ns=(bench.HOUR_AGO_NS, bench.HOUR_AGO_NS))


def preference_sets(count: int) -> list[tuple[str, str]]:
    """`count` distinct (sections, max) pairs: one section, two, or all, and 5..30 entries."""
    pairs: list[tuple[str, str]] = []
    choices = (
        [s for s in SECTIONS]
        + [f"{a},{b}" for i, a in enumerate(SECTIONS) for b in SECTIONS[i + 1 :]]
        + [""]
    )
    for n in range(count):
        pairs.append((choices[n % len(choices)], str(5 + 5 * (n // len(choices)))))
    return pairs


def write_csv(path: Path, readers: int, sets: int) -> None:
    pairs = preference_sets(sets)
    lines = ["email,sections,max"]
    for n in range(readers):
        sections, limit = pairs[n % sets]
        lines.append(f'reader{n:05d}@example.org,"{sections}",{limit}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def workspace(
    base: Path, name: str, port: int, articles: int, **extra: str
) -> tuple[Path, dict[str, str]]:
    work = base / name
    write_articles(work / "seeds", articles)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_SEEDS_DIR=str(work / "seeds"),
        DIGEST_STATE_DIR=str(work / "state"),
        DIGEST_OUTBOX_DIR=str(work / "outbox"),
        DIGEST_ARCHIVE_DIR=str(work / "archive"),
        DIGEST_SMTP_HOST="127.0.0.1",
        DIGEST_SMTP_PORT=str(port),
        DIGEST_SMTP_SECURITY="none",
        DIGEST_SETTLE_SECONDS="0",
        DIGEST_PUBLIC_URL="https://news.example.org",
        DIGEST_SECRET_KEY="bench-secret",
        **extra,
    )
    return work, env


def run(work: Path, env: dict[str, str], *args: str) -> bench.Measured:
    return bench.run_child([sys.executable, "-m", "digest", *args], env, work)


def subscribers_run(
    base: Path, port: int, name: str, readers: int, sets: int, articles: int
) -> tuple[bench.Measured, str]:
    work, env = workspace(base, name, port, articles)
    write_csv(work / "readers.csv", readers, sets)
    run(work, env, "subscribers", "import", str(work / "readers.csv"))
    measured = run(work, env, "run")
    return measured, measured.out


def plain_run(base: Path, port: int, readers: int, articles: int) -> tuple[bench.Measured, str]:
    to = ",".join(f"reader{n:05d}@example.org" for n in range(readers))
    work, env = workspace(base, "plain", port, articles, DIGEST_TO=to)
    measured = run(work, env, "run")
    return measured, measured.out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 + 200 readers, to try it")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args(argv)
    big, small, articles = (1_000, 200, 40) if args.quick else (10_000, 1_000, 60)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, bench.smtp_server("plain", Path(tmp) / "ca") as port:
        base = Path(tmp)
        m, _ = subscribers_run(base, port, "big", big, 50, articles)
        rows.append((f"{big:,} subscribers, 50 sets", m, big))
        s, _ = subscribers_run(base, port, "small", small, 5, articles)
        rows.append((f"{small:,} subscribers, 5 sets", s, small))
        p, _ = plain_run(base, port, small, articles)
        rows.append((f"{small:,} addresses in DIGEST_TO", p, small))
    ratio = s.seconds / p.seconds
    lines = [
        HEADING,
        "",
        f"`benchmarks/subscribers_bench.py{' --quick' if args.quick else ''}` on {bench.machine()};"
        f" {articles} new articles, plain SMTP to aiosmtpd on loopback (its own process).",
        "",
        "| run | seconds | messages/s | peak RSS |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name, measured, messages in rows:
        rate = messages / measured.seconds
        lines.append(
            f"| {name} | {measured.seconds:.1f} | {rate:,.0f} | {measured.rss_mb:.0f} MB |"
        )
    verdict = "met" if ratio <= 1.5 else "NOT met"
    lines += [
        "",
        f"Subscribers vs DIGEST_TO: {ratio:.2f}x (target <= 1.5x: {verdict}). Each reader's"
        " digest holds only their sections, so it is smaller on the wire than the plain list's"
        " digest of every article; the run adds one render per set and per reader a status read,"
        " two tokens and a few re-encoded lines.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_record:
        write_section(bench.RESULTS, HEADING, text)
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
