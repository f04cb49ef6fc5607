"""Speed at archive scale: the real `digest` command on corpora of real news articles.

Each corpus is written as seed files (.txt and .json) into a temporary folder,
built from the articles of shared/eval (set DIGEST_EVAL_DIR to read them from
elsewhere); articles are re-used with a small edit to reach large counts, so
every file has its own body and id. `python -m digest` runs in a child process
with DIGEST_* pointing at temporary folders (file delivery into a temporary
outbox), and the table shows wall seconds, articles a second and the peak RSS
of the largest process. Beside each figure is the naive baseline measured in
the same invocation: a loop that reads each file, builds a sumy
PlaintextParser and runs LexRankSummarizer for 3 sentences (with the offline
punkt tokenizer, since sumy's own needs NLTK data). For the big corpora the
baseline runs on a sample of files and is scaled (it is linear; marked ~).

SMTP: 1,000 recipients over one reused connection, against one connection per
message, both through digest's own delivery code, to a local aiosmtpd server
running in its own process.

Example: .venv/bin/python benchmarks/bench.py --quick
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import platform
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
SECTION = "## Performance"
BEGIN, END = "<!-- performance:begin -->", "<!-- performance:end -->"
HOUR_AGO_NS = time.time_ns() - 3_600 * 10**9


def eval_dir() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
    return Path(os.environ.get("DIGEST_EVAL_DIR", default))


@dataclass(frozen=True)
class Sizes:
    summarize: int
    cold: int
    small: int  # the "nothing new" reference folder
    recipients: int
    naive_sample: int  # files the naive loop reads for a big corpus (then scaled)


FULL = Sizes(summarize=1_000, cold=20_000, small=1_000, recipients=1_000, naive_sample=1_000)
QUICK = Sizes(summarize=200, cold=2_000, small=100, recipients=200, naive_sample=300)


# --- corpora -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    title: str
    text: str
    source: str


def load_stories() -> list[Story]:
    stories: list[Story] = []
    for path in sorted(eval_dir().glob("*.jsonl")):
        source = "CNN" if "cnn" in path.name else "BBC News"
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                stories.append(Story(record["title"], record["text"], source))
    if not stories:
        sys.exit(f"bench: no *.jsonl articles in {eval_dir()}; set DIGEST_EVAL_DIR")
    return stories


def write_corpus(folder: Path, stories: Sequence[Story], count: int, start: int = 0) -> list[Path]:
    """`count` seed files, half .txt (scraper layout), half .json; each body is distinct."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(start, start + count):
        story = stories[n % len(stories)]
        edition = n // len(stories)
        text = story.text
        if edition:  # a re-used article: one more paragraph makes it another article
            text += f"\n\nThis report was updated (edition {edition}, item {n})."
        title = story.title or f"Report {n}"
        if n % 2:
            path = folder / f"{n:06d}.json"
            body = {"title": title, "text": text, "source": story.source}
            path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        else:
            path = folder / f"{n:06d}.txt"
            path.write_text(f"{title}\n\n{text}\n", encoding="utf-8")
        os.utime(path, ns=(HOUR_AGO_NS, HOUR_AGO_NS))  # settled: not "still being written"
        paths.append(path)
    return paths


def write_new_story(folder: Path, stories: Sequence[Story], n: int) -> Path:
    """A seed file no other file copies: sentences of three stories woven into one text.

    Re-used articles are copies (digest leaves them out as repeats); a run that should
    find something new needs text of its own.
    """
    picked = [stories[(n * 7 + k * 131) % len(stories)] for k in range(3)]
    parts = [re.split(r"(?<=[.!?])\s+", s.text.replace("\n\n", " "))[:4] for s in picked]
    woven = [sentence for group in zip(*parts, strict=False) for sentence in group]
    paragraphs = [" ".join(woven[i : i + 3]) for i in range(0, len(woven), 3)]
    path = folder / f"new-{n:06d}.txt"
    path.write_text(f"Roundup {n}: three stories\n\n" + "\n\n".join(paragraphs) + "\n")
    os.utime(path, ns=(HOUR_AGO_NS, HOUR_AGO_NS))
    return path


# --- running the command -----------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    seconds: float
    rss_mb: float
    out: str = ""
    cpu: float = 0.0  # user + system seconds of the child and the workers it waited for


def run_child(args: Sequence[str], env: dict[str, str], cwd: Path) -> Measured:
    """Run one child process; wall time and the peak RSS of its largest process (wait4)."""
    out_path = cwd / "child.out"
    with out_path.open("wb") as out, (cwd / "child.err").open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(args), env=env, cwd=cwd, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err_text = (cwd / "child.err").read_text(errors="replace")[-2000:]
        raise SystemExit(f"bench: {' '.join(args[:4])}... exited {proc.returncode}:\n{err_text}")
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(seconds, usage.ru_maxrss / 1024, out_path.read_text(errors="replace"), cpu)


@dataclass
class Workspace:
    """Temporary seeds, state, outbox and archive folders, and the child's environment."""

    base: Path
    name: str
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dir = self.base / self.name
        self.seeds = self.dir / "seeds"
        self.seeds.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its .pyc files
        env["PYTHONPYCACHEPREFIX"] = str(self.base / "pycache")
        env.update(
            DIGEST_SEEDS_DIR=str(self.seeds),
            DIGEST_STATE_DIR=str(self.dir / "state"),
            DIGEST_OUTBOX_DIR=str(self.dir / "outbox"),
            DIGEST_ARCHIVE_DIR=str(self.dir / "archive"),
            DIGEST_MAX_ARTICLES="30",
            DIGEST_SETTLE_SECONDS="5",
            DIGEST_EVAL_DIR=str(eval_dir()),  # the warm child loads the stories itself
        )
        self.env = env | self.env

    def digest(self, *args: str) -> Measured:
        return run_child([sys.executable, "-m", "digest", *args], self.env, self.dir)


NAIVE = textwrap.dedent(
    """
    import json, re, sys
    from pathlib import Path
    import punkt
    from nltk.tokenize import NLTKWordTokenizer
    from sumy.nlp.stemmers import Stemmer
    from sumy.parsers.plaintext import PlaintextParser
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.utils import get_stop_words

    WORD = re.compile(r"^[^\\W\\d_](?:[^\\W\\d_]|['-])*$")

    class Tokenizer:  # sumy's interface over punkt's bundled model: nothing to download
        language = "english"
        def __init__(self):
            self._sentences = punkt.tokenizer_for("english")
            self._words = NLTKWordTokenizer()
        def to_sentences(self, paragraph):
            return tuple(self._sentences.tokenize(paragraph))
        def to_words(self, sentence):
            return tuple(w for w in self._words.tokenize(sentence) if WORD.match(w))

    tokenizer = Tokenizer()
    summarizer = LexRankSummarizer(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    for name in Path(sys.argv[1]).read_text().split("\\n"):
        raw = Path(name).read_text(encoding="utf-8")
        text = json.loads(raw)["text"] if name.endswith(".json") else raw
        parser = PlaintextParser.from_string(text, tokenizer)
        print(len(summarizer(parser.document, 3)))
    """
)


def naive(files: Sequence[Path], work: Path, env: dict[str, str]) -> Measured:
    listing = work / "naive-files.txt"
    listing.write_text("\n".join(str(p) for p in files), encoding="utf-8")
    return run_child([sys.executable, "-c", NAIVE, str(listing)], env, work)


WARM = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    import bench
    from digest.runs import run as pipeline
    from digest.records import Reporter
    from digest.settings import load_settings

    settings = load_settings(os.environ, None)
    stories = bench.load_stories()
    quiet = Reporter(lambda _: None)
    for k in range(4):  # the first run loads sumy, numpy and Jinja2, as serve's first does
        bench.write_new_story(settings.seeds_dir, stories, int(sys.argv[2]) + k)
        started = time.perf_counter()
        result = pipeline.run_once(settings, reporter=quiet)
        assert result.status == "sent" and result.digest.article_count == 1, result
        print(time.perf_counter() - started)
    """
)


def warm_runs(ws: Workspace, stories: Sequence[Story], start: int) -> Measured:
    """One new file at a time, in one long-lived process: the best of the runs after the first."""
    del stories  # the child loads them itself
    done = run_child(
        [sys.executable, "-c", WARM, str(Path(__file__).resolve().parent), str(start)],
        ws.env,
        ws.dir,
    )
    seconds = [float(line) for line in done.out.split()]
    return Measured(min(seconds[1:]), done.rss_mb)


# --- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    name: str
    files: int
    seconds: float
    per_second: float
    rss_mb: float | None
    baseline: str  # the naive figure, in seconds
    ratio: str  # how many times faster than the baseline, or the ratio the target names
    target: str
    met: bool


def fmt_rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def table(rows: Sequence[Row]) -> str:
    head = (
        "| benchmark | files | wall s | articles/s | peak RSS MB | naive s | ratio | target | met |"
    )
    lines = [head, "|" + " --- |" * 9]
    for r in rows:
        rss = f"{r.rss_mb:,.0f}" if r.rss_mb is not None else "–"
        lines.append(
            f"| {r.name} | {r.files:,} | {r.seconds:.2f} | {fmt_rate(r.per_second)} | {rss} "
            f"| {r.baseline} | {r.ratio} | {r.target} | {'yes' if r.met else '**no**'} |"
        )
    return "\n".join(lines)


def best_of(times: int, fn: Callable[[], Measured]) -> Measured:
    runs = [fn() for _ in range(times)]
    return min(runs, key=lambda m: m.seconds)


# --- benchmarks --------------------------------------------------------------------------------


# Issue 14: the summarizer's own gain on one worker, and with the process pool.
TARGETS = {"cold, 1 worker": 3, "cold": 5}


def bench_summarize(base: Path, stories: Sequence[Story], n: int) -> list[Row]:
    """`digest summarize` over n dev articles: cold (no cache) and warm, against the naive loop."""
    ws = Workspace(base, "summarize")
    files = write_corpus(ws.seeds, stories, n)
    names = [str(p) for p in files]
    ws.digest("--help")  # compiles the package once (.pyc), as an installed one would be
    base_line = naive(files, ws.dir, ws.env)
    cold = ws.digest("summarize", "--json", *names)
    assert cold.out.count("\n") == n, "every file gets a summary line"
    serial = Workspace(base, "summarize-serial", {"DIGEST_WORKERS": "1"})
    one = serial.digest("summarize", "--json", *names)
    # Warm: with a state database the summaries are kept; a second pass reuses them.
    (ws.dir / "empty").mkdir(exist_ok=True)
    ws.env["DIGEST_SEEDS_DIR"] = str(ws.dir / "empty")
    ws.digest("run")  # creates the state database (nothing to send)
    ws.digest("summarize", "--json", *names)
    warm = ws.digest("summarize", "--json", *names)
    rows = []
    for label, m in (("cold, 1 worker", one), ("cold", cold), ("again (cached)", warm)):
        ratio = base_line.seconds / m.seconds
        # CPU seconds say the same on a busy machine, where wall time swings (1 worker only:
        # a pool's CPU is spent on two cores).
        cpu = f" (CPU {base_line.cpu / m.cpu:.1f}×)" if label != "cold" else ""
        rows.append(
            Row(
                f"`digest summarize`, {label}",
                n,
                m.seconds,
                n / m.seconds,
                m.rss_mb,
                f"{base_line.seconds:.2f}",
                f"{ratio:.1f}× faster{cpu}",
                f"≥ {TARGETS[label]}× naive" if label in TARGETS else "–",
                ratio >= TARGETS.get(label, 0),
            )
        )
    return rows


def bench_runs(base: Path, stories: Sequence[Story], sizes: Sizes) -> list[Row]:
    """`digest run` cold over a big folder, then with 1 new file, then with nothing new."""
    big = Workspace(base, "run-big")
    files = write_corpus(big.seeds, stories, sizes.cold)
    big.digest("--help")
    sample = files[: sizes.naive_sample]
    scale = len(files) / len(sample)
    base_line = naive(sample, big.dir, big.env)
    naive_s = base_line.seconds * scale
    naive_txt = f"~{naive_s:,.0f}" if scale > 1 else f"{naive_s:.1f}"

    cold = big.digest("run")
    assert "sent" in cold.out, cold.out
    added = iter(range(sizes.cold, sizes.cold + 10))

    def one_new() -> Measured:
        write_new_story(big.seeds, stories, next(added))
        found = big.digest("run")
        assert "digest of 1 article" in found.out, found.out
        return found

    new = best_of(3, one_new)
    warm = warm_runs(big, stories, next(added) + 100)
    small = Workspace(base, "run-small")
    write_corpus(small.seeds, stories, sizes.small)
    small.digest("run")
    # Alternated, so that both folders see the same moments of a shared machine.
    pairs = [(big.digest("run"), small.digest("run")) for _ in range(7)]
    idle_big = min((b for b, _ in pairs), key=lambda m: m.seconds)
    idle_small = min((s for _, s in pairs), key=lambda m: m.seconds)
    assert "nothing new" in idle_big.out and "nothing new" in idle_small.out, idle_big.out
    growth = idle_big.seconds / idle_small.seconds
    n = sizes.cold

    def row(name: str, m: Measured, target: str, met: bool, ratio: str = "") -> Row:
        speedup = f"{naive_s / m.seconds:,.0f}× faster"
        return Row(
            name, n, m.seconds, n / m.seconds, m.rss_mb, naive_txt, ratio or speedup, target, met
        )

    return [
        row(
            f"`digest run`, cold ({sizes.cold:,} files, 30 summarized)",
            cold,
            "peak RSS < 400 MB",
            cold.rss_mb < 400,
        ),
        row(
            "`digest run`, 1 new file",
            new,
            "< 1 s",
            new.seconds < 1.0,
        ),
        row(
            "1 new file, in a warm process (`digest serve`)",
            warm,
            "< 1 s",
            warm.seconds < 1.0,
        ),
        row(
            "`digest run`, nothing new",
            idle_big,
            f"≤ 1.5× the {sizes.small:,}-file run",
            growth <= 1.5,
            f"{growth:.2f}× the {sizes.small:,}-file run ({idle_small.seconds:.2f} s)",
        ),
    ]


# --- SMTP ---------------------------------------------------------------------------------------

SERVER = textwrap.dedent(
    """
    import ssl, sys, time, socket
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    class Count:
        messages = 0
        async def handle_DATA(self, server, session, envelope):
            Count.messages += 1
            return "250 OK"

    def auth(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and data.password == b"bench-password"
        return AuthResult(success=ok, handled=False)

    tls = sys.argv[1] == "tls"
    kwargs = {}
    if tls:
        import trustme
        ca = trustme.CA()
        ca.cert_pem.write_to_path(sys.argv[2])
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        kwargs = dict(tls_context=context, require_starttls=True, auth_required=True,
                      authenticator=auth)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Count(), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
    controller.stop()
    """
)


@contextmanager
def smtp_server(mode: str, ca_file: Path) -> Iterator[int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, mode, str(ca_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # aiosmtpd warns about its own deprecated AUTH attribute
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield int(proc.stdout.readline())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=30)


class OneConnectionEach:
    """The baseline transport: a new SMTP connection (and TLS, and login) for every message."""

    def __init__(self, settings: object) -> None:
        from digest.delivery import smtp

        self._settings = settings
        self._smtp = smtp

    def __enter__(self) -> OneConnectionEach:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def send(self, data: bytes, sender: str, recipient: str) -> object:
        with self._smtp.SmtpSender(self._settings) as smtp:  # type: ignore[arg-type]
            return smtp.send(data, sender, recipient)


def deliver_to(base: Path, settings: object, recipients: int, reuse: bool) -> float:
    """Seconds for digest's delivery code to send one saved digest to `recipients` readers."""
    from digest.delivery import mail, smtp
    from digest.delivery import queue as deliver
    from digest.store import Store

    work = Path(tempfile.mkdtemp(dir=base))
    to = tuple(f"reader{n}@example.org" for n in range(recipients))
    # the size of a real digest: 60 KB of inlined HTML, 15 KB of text
    html = "<p style='margin:0 0 12px'>" + "A digest paragraph of a realistic length. " * 1400
    text = "A digest paragraph of a realistic length.\n" * 350
    msg = mail.build_message(
        subject="News digest",
        text=text,
        html=html,
        sender="digest@example.org",
        recipients=to,
        date=dt.datetime.now(dt.UTC),
    )
    store = Store.open(work / "state")
    try:
        eml = deliver.save_to_outbox(work, "d", msg.as_bytes(), html)
        store.queue_digest(
            created=dt.datetime.now(dt.UTC),
            subject="News",
            eml_path=eml,
            articles=[],
            recipients=to,
        )
        (queued,) = store.queued()
        factory: Callable[[], object] = (
            (lambda: smtp.SmtpSender(settings))  # type: ignore[arg-type]
            if reuse
            else (lambda: OneConnectionEach(settings))
        )
        started = time.perf_counter()
        report = deliver.deliver_smtp(store, queued, factory, "digest@example.org", "now")  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
    finally:
        store.close()
    assert len(report.accepted) == recipients, report.errors
    return seconds


def bench_smtp(base: Path, recipients: int) -> list[Row]:
    from digest.settings import Settings

    rows = []
    for mode in ("tls", "plain"):
        ca = base / "ca.pem"
        with smtp_server(mode, ca) as port:
            settings = Settings(
                smtp_host="127.0.0.1",
                smtp_port=port,
                smtp_security="starttls" if mode == "tls" else "none",
                smtp_username="bench" if mode == "tls" else None,
                smtp_password="bench-password" if mode == "tls" else None,
                smtp_ca_file=ca if mode == "tls" else None,
            )
            reused = deliver_to(base, settings, recipients, reuse=True)
            each = deliver_to(base, settings, recipients, reuse=False)
        ratio = each / reused
        # A relay as configured by default (STARTTLS, AUTH) is the target; without TLS a
        # loopback connection costs less than a message does, so that row only informs.
        tls = mode == "tls"
        label = "STARTTLS + AUTH" if tls else "plain, no TLS: for comparison"
        rows.append(
            Row(
                f"SMTP, {recipients:,} recipients, one connection ({label})",
                recipients,
                reused,
                recipients / reused,
                None,
                f"{each:.2f} (one connection each: {recipients / each:,.0f} msg/s)",
                f"{ratio:.1f}× msg/s",
                "≥ 3× one connection each" if tls else "–",
                ratio >= 3 or not tls,
            )
        )
    return rows


# --- profile -----------------------------------------------------------------------------------


def profile_summarize(stories: Sequence[Story], n: int, top: int = 14) -> str:
    """Where the summarize step spends its time, on n dev articles in this process."""
    from digest.intake.files import parse_article
    from digest.records import FileVersion
    from digest.summary.summarizer import Summarizer

    infos = [(FileVersion(f"{i}.json", 0, HOUR_AGO_NS, i), s) for i, s in enumerate(stories[:n])]
    articles = [
        parse_article(info, json.dumps({"title": s.title, "text": s.text}).encode())
        for info, s in infos
    ]
    engine = Summarizer()
    engine.summarize(articles[0], 3)  # loading sumy and the models is not the steady state
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for a in articles:
        engine.summarize(a, 3)
    profiler.disable()
    total = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    table = stats.stats  # type: ignore[attr-defined]  # pstats keeps it untyped
    rows = sorted(table.items(), key=lambda kv: kv[1][2], reverse=True)
    lines = [
        f"summarize ({engine.method}), {len(articles)} articles in one process: "
        f"{total:.2f} s, {1000 * total / len(articles):.1f} ms an article (under the profiler)",
        "",
        "| own time s | share | function |",
        "| --- | --- | --- |",
    ]
    own_total = sum(v[2] for v in table.values()) or 1.0
    for (file, line, name), (_, _, own, _, _) in rows[:top]:
        where = _short(file)
        lines.append(f"| {own:.2f} | {100 * own / own_total:.0f}% | `{where}:{line} {name}` |")
    return "\n".join(lines)


def _short(file: str) -> str:
    """A path from the package down: sumy/summarizers/lex_rank.py, digest/summary/summarizer.py."""
    for marker, keep in (("site-packages/", ""), ("/digest/", "digest/"), ("/lib/python3", "")):
        if marker in file:
            return keep + file.split(marker, 1)[1]
    return file


# --- main --------------------------------------------------------------------------------------


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average {load:.2f} at the start"
    )


def record(text: str) -> None:
    """Replace the Performance section of RESULTS.md (other sections stay as they are)."""
    block = f"{SECTION}\n\n{BEGIN}\n{text}\n{END}\n"
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Results\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        head = head.rstrip()
        if head.endswith(SECTION):
            head = head[: -len(SECTION)].rstrip()
        tail = rest.split(END, 1)[1].lstrip("\n")
        updated = f"{head}\n\n{block}" + (f"\n{tail}" if tail else "")
    else:
        updated = current.rstrip() + f"\n\n{block}"
    RESULTS.write_text(updated, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--only", choices=("summarize", "run", "smtp", "profile"), action="append")
    parser.add_argument("--record", action="store_true", help="write the table to RESULTS.md")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    only = set(args.only or ("summarize", "run", "smtp", "profile"))
    stories = load_stories()
    measured_on = machine()
    print(f"machine: {measured_on}", flush=True)
    rows: list[Row] = []
    base = Path(tempfile.mkdtemp(prefix="digest-bench-"))
    try:
        if "summarize" in only:
            rows += bench_summarize(base, stories, sizes.summarize)
            print(table(rows), flush=True)
        if "run" in only:
            rows += bench_runs(base, stories, sizes)
        if "smtp" in only:
            rows += bench_smtp(base, sizes.recipients)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    command = "make bench" + (" BENCH_ARGS=--quick" if args.quick else "")
    report = f"`{command}`, {dt.date.today().isoformat()}, {measured_on}.\n\n{table(rows)}"
    if "profile" in only:
        report += "\n\n" + profile_summarize(stories, min(200, sizes.summarize))
    print()
    print(report)
    missed = [r.name for r in rows if not r.met]
    if missed:
        print("\ntargets not met: " + "; ".join(missed))
    if args.record:
        record(report)
        print(f"\nrecorded in {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
