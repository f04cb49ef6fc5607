"""`digest fetch` of many feeds on local servers: time, requests, peak memory; then nothing new.

Case `one-host`: FEEDS feeds of ENTRIES entries each (RSS 2.0 with ETags) and a page per
entry from a threaded stdlib server on 127.0.0.1; the real `digest fetch` runs twice in a
child process. The second run finds nothing new: one conditional request per feed and no
page request.

Case `many-hosts`: HOSTS servers on 127.0.0.2, 127.0.0.3, ... each serving one feed of
HOST_ENTRIES entries and their pages, every answer LATENCY seconds late. The first run's
time is set against the sequential bound (requests x latency, one at a time) and the
per-host critical path (the most requests one host gets x latency), for
DIGEST_FETCH_WORKERS=1 (the baseline, run in the same invocation) and each --workers
value; every server checks that never two requests to it are in flight at once.

    .venv/bin/python benchmarks/fetch_bench.py [--case both|one-host|many-hosts]
        [--feeds 200] [--entries 20] [--hosts 30] [--host-entries 4] [--latency 0.1]
        [--workers 8,32] [--record]
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
        return page_body(i, j)


def page_body(i: int, j: int) -> bytes:
    """Story j of site i: eight paragraphs under one headline, in a page with chrome."""
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


def bench_env(**settings: str) -> dict[str, str]:
    """This process's environment without the caller's DIGEST_*, set for a local, unpaced poll."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_ALLOW_PRIVATE_ADDRESSES="true", DIGEST_FETCH_DELAY="0", DIGEST_FEED_INTERVAL="0"
    )
    env.update(settings)
    return env


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
    parser.add_argument("--case", choices=("both", "one-host", "many-hosts"), default="both")
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=30, help="loopback addresses, at most 250")
    parser.add_argument("--host-entries", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per answer")
    parser.add_argument("--workers", default="8,32", help="DIGEST_FETCH_WORKERS values to time")
    parser.add_argument("--record", action="store_true", help="write the table to RESULTS.md")
    opts = parser.parse_args()
    if opts.case in ("both", "one-host"):
        one_host(opts)
    if opts.case in ("both", "many-hosts"):
        many_hosts(opts)


def subscriptions(urls: list[str], folder: Path) -> Path:
    """An OPML file listing `urls`: `feeds import` adds them without fetching each."""
    outlines = "".join(f'<outline type="rss" text="f" xmlUrl="{u}"/>' for u in urls)
    path = folder / "feeds.opml"
    path.write_text(f'<opml version="2.0"><body>{outlines}</body></opml>', encoding="utf-8")
    return path


def one_host(opts: argparse.Namespace) -> None:
    site = Site(opts.feeds, opts.entries)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(site))
    site.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "seeds").mkdir()
        env = bench_env(DIGEST_FEED_BACKLOG_ENTRIES=str(opts.entries))
        urls = [f"http://127.0.0.1:{site.port}/f{i}.xml" for i in range(opts.feeds)]
        run_digest(["feeds", "import", str(subscriptions(urls, work))], env, work)
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


# --- many hosts, each answer late ----------------------------------------------------------

HOSTS_HEADING = "## Fetching from many hosts at once (`fetch_bench.py --case many-hosts`)"


class Hosts:
    """One server per loopback address; each answer waits `latency`; requests in flight counted."""

    def __init__(self, count: int, entries: int, latency: float) -> None:
        self.addresses = [f"127.0.0.{2 + i}" for i in range(count)]
        self.entries, self.latency = entries, latency
        self.lock = threading.Lock()
        self.ports: dict[str, int] = {}
        self.reset()

    def reset(self) -> None:
        self.flying: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.requests = 0
        self.first = self.last = 0.0

    def start(self) -> list[ThreadingHTTPServer]:
        servers = []
        for address in self.addresses:
            server = ThreadingHTTPServer((address, 0), self.handler(address))
            self.ports[address] = server.server_address[1]
            threading.Thread(target=server.serve_forever, daemon=True).start()
            servers.append(server)
        return servers

    def base(self, address: str) -> str:
        return f"http://{address}:{self.ports[address]}"

    def body(self, address: str, path: str) -> tuple[bytes, str]:
        if path == "/feed.xml":
            items = "".join(
                f"<item><title>{address} story {j}: the council votes on plan {j}</title>"
                f"<link>{self.base(address)}/p{j}.html</link><guid>{address}-{j}</guid>"
                f"<description>Teaser {j}.</description></item>"
                for j in range(self.entries)
            )
            rss = f'<rss version="2.0"><channel><title>{address}</title>{items}</channel></rss>'
            return rss.encode(), "application/rss+xml"
        j = int(path[2:].removesuffix(".html"))
        return page_body(int(address.rsplit(".", 1)[1]), j), "text/html; charset=utf-8"

    def handler(self, address: str) -> type[BaseHTTPRequestHandler]:
        hosts = self

        class Late(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                with hosts.lock:
                    hosts.requests += 1
                    hosts.flying[address] += 1
                    hosts.most[address] = max(hosts.most[address], hosts.flying[address])
                    hosts.first = hosts.first or time.perf_counter()
                try:
                    time.sleep(hosts.latency)
                    body, kind = hosts.body(address, self.path)
                    self.send_response(200)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with hosts.lock:
                        hosts.flying[address] -= 1
                        hosts.last = time.perf_counter()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        return Late


def many_hosts(opts: argparse.Namespace) -> None:
    hosts = Hosts(opts.hosts, opts.host_entries, opts.latency)
    servers = hosts.start()
    rows = []
    for workers in [1, *(int(w) for w in opts.workers.split(","))]:
        hosts.reset()
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "seeds").mkdir()
            env = bench_env(
                DIGEST_FETCH_WORKERS=str(workers),
                DIGEST_FEED_BACKLOG_ENTRIES=str(opts.host_entries),
            )
            urls = [f"{hosts.base(a)}/feed.xml" for a in hosts.addresses]
            run_digest(["feeds", "import", str(subscriptions(urls, work))], env, work)
            seconds, _, _ = run_digest(["fetch"], env, work)
            seeds = len(list((work / "seeds" / "feeds").rglob("*.json")))
        span = hosts.last - hosts.first
        rows.append((workers, seconds, span, hosts.requests, max(hosts.most.values()), seeds))
    for server in servers:
        server.shutdown()
    table = hosts_report(opts, rows)
    print(table)
    if opts.record:
        write_section(RESULTS, HOSTS_HEADING, table)


def hosts_report(
    opts: argparse.Namespace, rows: list[tuple[int, float, float, int, int, int]]
) -> str:
    per_host = 1 + opts.host_entries
    requests = opts.hosts * per_host
    sequential, critical = requests * opts.latency, per_host * opts.latency
    load = os.getloadavg()
    lines = [
        HOSTS_HEADING,
        "",
        f"{opts.hosts} hosts (127.0.0.2-127.0.0.{opts.hosts + 1}), one feed of {opts.host_entries}"
        f" entries each, every answer {opts.latency * 1000:.0f} ms late, DIGEST_FETCH_DELAY=0;"
        f" {requests} requests: sequential bound {sequential:.1f} s, per-host critical path"
        f" {critical:.1f} s. {platform.python_implementation()} {platform.python_version()},"
        f" {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
        f' (shared machine), {datetime.now(UTC):%Y-%m-%d}. "run s": the child process from start'
        ' to exit (start-up and extraction included); "fetch span": the servers\' first'
        " request to their last answer.",
        "",
        "| DIGEST_FETCH_WORKERS | run s | fetch span s | requests | faster than 1 worker"
        " | sequential bound / span | span / critical path | worker bound s"
        " | most in flight at one host | seeds |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    one = rows[0][2]  # the baseline's span: DIGEST_FETCH_WORKERS=1
    for workers, seconds, span, made, most, seeds in rows:
        bound = requests * opts.latency / min(workers, opts.hosts)
        lines.append(
            f"| {workers} | {seconds:.1f} | {span:.2f} | {made} | {one / span:.1f}x"
            f" | {sequential / span:.1f}x | {span / critical:.1f}x | {max(bound, critical):.2f}"
            f" | {most} | {seeds} |"
        )
    lines += [
        "",
        "The worker bound is the best any pool of that size can do (requests x latency /"
        " workers, never below the critical path).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
