"""Subscribers at scale: the real `digest run` sending signed personal digests, against a
bare client's ceiling on the same SMTP sink.

10,000 readers (`--quick`: 1,000) in 50 preference sets (sections x max), every
message DKIM-signed (a 2048-bit RSA key), over DIGEST_SMTP_CONNECTIONS=4 to
benchmarks/smtp_sink.py: a plain-SMTP server in its own process that counts
and throws the mail away. In the same run, the bare client of smtp_sink.py
sends the same number of messages of the same sizes over the same number of
connections to the same sink, three times (the median is the sink's ceiling on this
machine now; one run swings by a third with the load). The run reports both rates,
the time per message of each phase (timers from benchmarks/phases.py around the
functions doing it) and the peak RSS.

Articles come from shared/eval (BBC news with their categories as sections).
Subscribers are imported before the timed run (not timed).

Example: .venv/bin/python benchmarks/subscribers_bench.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402 - the shared corpus and child-process helpers
from results import write_section  # noqa: E402

SECTIONS = ("business", "entertainment", "politics", "sport", "tech")
HEADING = "## Subscribers"
BARE_RUNS = 3  # the bare client's ceiling: the median of this many runs
MODES = ("lock-step", "pipelining")  # the sink offers PIPELINING (RFC 2920) or not


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
    base: Path, port: int, articles: int, connections: int
) -> tuple[Path, dict[str, str]]:
    work = base / "big"
    write_articles(work / "seeds", articles)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = work / "dkim.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_SEEDS_DIR=str(work / "seeds"),
        DIGEST_STATE_DIR=str(work / "state"),
        DIGEST_OUTBOX_DIR=str(work / "outbox"),
        DIGEST_ARCHIVE_DIR=str(work / "archive"),
        DIGEST_SMTP_HOST="127.0.0.1",
        DIGEST_SMTP_PORT=str(port),
        DIGEST_SMTP_SECURITY="none",
        DIGEST_SMTP_CONNECTIONS=str(connections),
        DIGEST_SETTLE_SECONDS="0",
        DIGEST_FROM="News <news@example.org>",
        DIGEST_PUBLIC_URL="https://news.example.org",
        DIGEST_SECRET_KEY="bench-secret",
        DIGEST_DKIM_KEY_FILE=str(key_file),
        DIGEST_DKIM_SELECTOR="bench",
        DIGEST_DKIM_DOMAIN="example.org",
    )
    return work, env


@contextmanager
def sink(mode: str) -> Iterator[tuple[int, Callable[[], dict[str, object]]]]:
    """smtp_sink.py in its own process: its port, and a way to ask for its counts."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "smtp_sink.py"), "serve", mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def ask() -> dict[str, object]:
        stdin.write("stats\n")
        stdin.flush()
        answer: dict[str, object] = json.loads(stdout.readline())
        stdin.write("reset\n")
        stdin.flush()
        return answer

    try:
        yield int(stdout.readline()), ask
    finally:
        stdin.close()
        proc.wait(timeout=30)


PHASES = (
    ("summarize", "summarize (sumy, once per article)"),
    ("render", "render (compose, Jinja2, fit; once per set)"),
    ("personalize", "personalize (tokens, fill in)"),
    ("sign", "DKIM sign (in the connection threads, summed)"),
    ("smtp", "SMTP (the connection threads, summed)"),
    ("state", "state (SQLite; commits in the recording thread, summed)"),
)


def phase_rows(phases: dict[str, dict[str, float]], messages: int) -> list[str]:
    """Per phase: "seconds in all | ms a message"."""
    totals = dict(phases["totals"])
    totals["render"] = totals.get("build", 0.0) - totals.get("summarize", 0.0)
    return [
        f"{totals.get(key, 0.0):.2f} | {totals.get(key, 0.0) / messages * 1000:.3f}"
        for key, _ in PHASES
    ]


@dataclass(frozen=True)
class Outcome:
    measured: bench.Measured  # the `digest run` child: wall time, peak RSS
    phases: dict[str, dict[str, float]]
    sent: int
    sizes: list[int]
    rates: tuple[float, float, float]  # bare client (median), whole run, sending (messages/s)
    bare_range: tuple[float, float]  # the bare client's slowest and fastest of BARE_RUNS


def measure(args: argparse.Namespace, readers: int, articles: int, mode: str) -> Outcome:
    """The product's run, then the bare client with the same sizes, against one sink
    (`mode`: it offers PIPELINING, and the bare client groups its commands, or neither)."""
    with tempfile.TemporaryDirectory() as tmp, sink(mode) as (port, ask):
        work, env = workspace(Path(tmp), port, articles, args.connections)
        write_csv(work / "readers.csv", readers, 50)
        importing = [sys.executable, "-m", "digest", "subscribers", "import"]
        bench.run_child([*importing, str(work / "readers.csv")], env, work)
        ask()
        profile = ["-m", "cProfile", "-o", str(args.profile.resolve())] if args.profile else []
        phases_json = work / "phases.json"
        measured = bench.run_child(
            [sys.executable, *profile, str(HERE / "phases.py"), str(phases_json)], env, work
        )
        product = ask()
        sizes = [int(n) for n in product["sizes"]]  # type: ignore[attr-defined]
        (work / "sizes.txt").write_text("\n".join(map(str, sizes)), encoding="utf-8")
        blaster = [sys.executable, str(HERE / "smtp_sink.py"), "blast", str(port)]
        bare_seconds: list[float] = []
        for _ in range(BARE_RUNS):  # one run swings by a third with the machine's load
            blast = bench.run_child(
                [*blaster, str(args.connections), str(work / "sizes.txt"), mode], env, work
            )
            if int(ask()["count"]) != len(sizes):  # type: ignore[call-overload]
                raise SystemExit("bench: the sink did not take every message of the bare client")
            bare_seconds.append(float(blast.out))
        phases = json.loads(phases_json.read_text(encoding="utf-8"))
    sent = int(product["count"])  # type: ignore[call-overload]
    if sent != readers:
        raise SystemExit(f"bench: the sink took {sent} of {readers} messages")
    bare_rates = sorted(sent / s for s in bare_seconds)
    rates = (
        statistics.median(bare_rates),
        sent / measured.seconds,
        sent / float(product["seconds"]),  # type: ignore[arg-type]
    )
    return Outcome(measured, phases, sent, sizes, rates, (bare_rates[0], bare_rates[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 readers, to try it")
    parser.add_argument("--record", action="store_true", help="write the table into RESULTS.md")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument(
        "--profile", type=Path, help="also write a cProfile of the run's main thread here"
    )
    parser.add_argument(
        "--sink",
        choices=(*MODES, "both"),
        default="both",
        help="the sink offers PIPELINING (and the bare client uses it), or not; default both",
    )
    args = parser.parse_args(argv)
    readers, articles = (1_000, 40) if args.quick else (10_000, 60)
    start_load = bench.machine()
    modes = MODES if args.sink == "both" else (args.sink,)
    outcomes = {mode: measure(args, readers, articles, mode) for mode in modes}
    text = report(args, readers, articles, start_load, outcomes)
    print(text)
    if args.record:
        write_section(bench.RESULTS, HEADING, text)
    met = all(o.rates[1] >= 0.15 * o.rates[0] for o in outcomes.values())
    return 0 if met else 1


def report(
    args: argparse.Namespace,
    readers: int,
    articles: int,
    start_load: str,
    outcomes: dict[str, Outcome],
) -> str:
    sizes = [n for o in outcomes.values() for n in o.sizes]
    lines = [
        HEADING,
        "",
        f"`benchmarks/subscribers_bench.py{' --quick' if args.quick else ''}` on {start_load},"
        f" {bench.machine().rsplit(', ', 1)[1].replace('at the start', 'at the end')};"
        f" {readers:,} readers in 50 preference sets, {articles} new articles, DKIM rsa-sha256,"
        f" {args.connections} connections, plain SMTP to benchmarks/smtp_sink.py (its own process,"
        f" counts only); messages {min(sizes) / 1024:.0f}-{max(sizes) / 1024:.0f} KB. Each sink"
        " mode is measured on its own sink: the product's run, then the bare client"
        f" {BARE_RUNS} times.",
        "",
        "| sink | sender | messages/s | vs bare client |",
        "| --- | --- | ---: | ---: |",
    ]
    for mode, o in outcomes.items():
        bare_rate, run_rate, send_rate = o.rates
        lines += [
            f"| {mode} | bare client (raw sockets, messages made beforehand; median of"
            f" {BARE_RUNS} runs, {o.bare_range[0]:,.0f}-{o.bare_range[1]:,.0f}) | {bare_rate:,.0f}"
            " | 100% |",
            f"| {mode} | `digest run`, whole run ({o.measured.seconds:.1f} s, start to exit)"
            f" | {run_rate:,.0f} | {run_rate / bare_rate:.1%} |",
            f"| {mode} | `digest run`, sending (first to last message at the sink)"
            f" | {send_rate:,.0f} | {send_rate / bare_rate:.1%} |",
        ]
    lines.append("")
    for mode, o in outcomes.items():
        bare_rate, run_rate, _ = o.rates
        verdict = "met" if run_rate >= 0.15 * bare_rate else "NOT met"
        lines.append(
            f"Goal, {mode}: the whole run at >= 15% of the bare client's rate: {verdict}."
            f" Peak RSS of the run: {o.measured.rss_mb:.0f} MB."
        )
    lines += ["", f"| phase | {' | '.join(f'{m}: s in all | ms a message' for m in outcomes)} |"]
    lines.append("| --- |" + " ---: | ---: |" * len(outcomes))
    rows = [phase_rows(o.phases, o.sent) for o in outcomes.values()]
    for label, *cells in zip([label for _, label in PHASES], *rows, strict=True):
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
