"""`digest fetch` of many feeds on a local server: time, requests, peak memory; then nothing new.

Serves FEEDS feeds of ENTRIES entries each (RSS 2.0 with ETags) and a page per
entry from a threaded stdlib server on 127.0.0.1, runs the real `digest fetch`
twice in a child process, and reports what each run cost. The second run finds
nothing new: it must make one conditional request per feed and no page request.

    .venv/bin/python benchmarks/fetch_bench.py [--feeds 200] [--entries 20] [--record]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from results import write_section

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADING = "## Fetching feeds (`fetch_bench.py`)"


class Site:
    """Feeds at /f<i>.xml (ETag "v1"), pages at /f<i>/<j>.html; counts every request."""

    def __init__(self, feeds: int, entries: int) -> None:
        self.feeds, self.entries = feeds, entries
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.port = 0

    def feed(self, i: int) -> bytes:
        now = datetime.now(UTC)
        items = "".join(
            f"<item><title>Feed {i} story {j}: council votes on plan {i * 100 + j}</title>"
            f"<link>http://127.0.0.1:{self.port}/f{i}/{j}.html</link><guid>f{i}-{j}</guid>"
            f"<pubDate>{format_datetime(now - timedelta(hours=j))}</pubDate>"
            f"<description>Teaser {i}-{j}.</description></item>"
            for j in range(self.entries)
        )
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>'
            f"{items}</channel></rss>"
        ).encode()

    def page(self, i: int, j: int) -> bytes:
        words = " ".join(f"word{(i * 31 + j * 7 + k) % 997}" for k in range(60))
        paragraphs = "".join(
            f"<p>Paragraph {k} of story {i}-{j}: {words}. The council met on day {k}.</p>"
            for k in range(8)
        )
        return (
            f"<html><head><title>Story {i}-{j}</title></head><body><nav>Home News Sport</nav>"
            f"<article><h1>Story {i}-{j}</h1>{paragraphs}</article><footer>(c) 2026</footer>"
            "</body></html>"
        ).encode()


def handler_for(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms ACK wait)

        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            conditional = self.headers.get("If-None-Match") == '"v1"'
            kind = "conditional feed" if conditional else "feed"
            if self.path.endswith(".html"):
                kind = "page"
            with site.lock:
                site.counts[kind] += 1
            if conditional:
                self._send(304, b"", {"ETag": '"v1"'})
            elif kind == "feed":
                i = int(self.path[2:].split(".")[0])
                self._send(
                    200, site.feed(i), {"ETag": '"v1"', "Content-Type": "application/rss+xml"}
                )
            else:
                i, j = (int(x) for x in self.path[2:].removesuffix(".html").split("/"))
                self._send(200, site.page(i, j), {"Content-Type": "text/html; charset=utf-8"})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


CHILD = """
import atexit, resource, sys
atexit.register(lambda: sys.stderr.write(
    f"\\nPEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n"))
from digest.cli.main import main
main(sys.argv[1:])
"""


def run_digest(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str]:
    """Run the real CLI; (seconds, the child's peak RSS in MB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *args], env=env, cwd=cwd, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"digest {' '.join(args)} failed: {proc.stderr}")
    peak_kb = int(proc.stderr.rsplit("PEAK_RSS_KB=", 1)[1].split()[0])
    return seconds, peak_kb // 1024, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--record", action="store_true", help="write the table to RESULTS.md")
    opts = parser.parse_args()
    site = Site(opts.feeds, opts.entries)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(site))
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "seeds").mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        env.update(
            DIGEST_ALLOW_PRIVATE_ADDRESSES="true",
            DIGEST_FETCH_DELAY="0",
            DIGEST_FEED_INTERVAL="0",
            DIGEST_FEED_BACKLOG_ENTRIES=str(opts.entries),
        )
        urls = [f"http://127.0.0.1:{site.port}/f{i}.xml" for i in range(opts.feeds)]
        run_digest(["feeds", "add", *urls], env, work)
        for label in ("first run (everything new)", "second run (nothing new)"):
            site.counts.clear()
            seconds, peak_mb, out = run_digest(["fetch"], env, work)
            lines = out.splitlines()
            rows.append((label, seconds, peak_mb, dict(site.counts), len(lines)))
        files = list((work / "seeds" / "feeds").rglob("*.json"))
        teasers = sum('"text": "Teaser' in f.read_text(encoding="utf-8") for f in files)
        seeds = (len(files), teasers)
    server.shutdown()
    table = report(opts, rows, seeds)
    print(table)
    if opts.record:
        write_section(RESULTS, HEADING, table)


def report(
    opts: argparse.Namespace,
    rows: list[tuple[str, float, int, dict[str, int], int]],
    seeds: tuple[int, int],
) -> str:
    lines = [
        HEADING,
        "",
        f"{opts.feeds} feeds x {opts.entries} entries on a local server (127.0.0.1),"
        f" DIGEST_FETCH_DELAY=0, {platform.python_implementation()} {platform.python_version()},"
        f" {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d}. Peak memory is the child"
        " process's maximum RSS.",
        "",
        "| run | seconds | feed requests (conditional) | page requests | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, seconds, peak, counts, _ in rows:
        feeds = counts.get("feed", 0) + counts.get("conditional feed", 0)
        lines.append(
            f"| {label} | {seconds:.1f} | {feeds} ({counts.get('conditional feed', 0)})"
            f" | {counts.get('page', 0)} | {peak} |"
        )
    lines += [
        "",
        f"Seed files written: {seeds[0]}, of which {seeds[1]} with the feed's teaser"
        " (page not had).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
