"""The paths that keep a big archive fast give the same answers as the plain ones.

Incremental scans, the summary cache, the process pool and SMTP connection
reuse are checked for correctness here; how fast they are is measured by
benchmarks/bench.py, not by tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import Handler, StartServer
from helpers import FakeClock, write_seed
from test_stories_sketches import brute_force_against_sent

from digest import stories
from digest.delivery import mail, smtp
from digest.delivery import queue as deliver
from digest.edition import publish
from digest.intake import files as sources
from digest.intake import scan
from digest.intake.feeds import catalog as feedlist
from digest.records import Article, FileVersion, Preferences, Reporter, Summary
from digest.runs import run as pipeline
from digest.settings import Settings
from digest.store import Store
from digest.summary import cache as summaries
from digest.summary import pool
from digest.summary.summarizer import Summarizer

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def word(n: int, k: int) -> str:
    """A made-up word, different for every (story, position): stories share no vocabulary."""
    syllables = ("ka", "lo", "mi", "ten", "rus", "va", "dor", "pe", "zil", "qua", "ny", "bro")
    value, parts = n * 7919 + k * 104_729 + 12_345, []
    for _ in range(4):
        value, rest = divmod(value, len(syllables))
        parts.append(syllables[rest])
    return "".join(parts)


def story(n: int) -> str:
    """An article of eight sentences about district `n`, in words no other story uses."""
    w = [word(n, k) for k in range(24)]
    lines = [
        f"The {w[0]} of {w[1]} opened in district {n} after {w[2]} and {w[3]} agreed.",
        f"Officials said the {w[4]} had taken longer than the {w[5]} had planned.",
        f"Residents complained that the {w[6]} disrupted the {w[7]} of {w[8]}.",
        f"The {w[9]} praised the {w[10]} and promised a review of the {w[11]}.",
        f"Critics argued the {w[12]} was awarded to {w[13]} without a {w[14]}.",
        f"An inquiry into the {w[15]} will report to the {w[16]} in spring.",
        f"Shops near the {w[17]} reported that {w[18]} had recovered within days.",
        f"The next phase of the {w[19]} starts when the {w[20]} and {w[21]} allow.",
    ]
    title = f"{w[22].title()} {w[23]} opens in district {n}"
    return f"{title}\n\n" + "\n\n".join(lines) + "\n"


def article(n: int) -> Article:
    info = FileVersion(f"seeds/{n:03d}.txt", 0, 1_700_000_000_000_000_000 + n, n)
    return sources.parse_article(info, story(n).encode())


def settings_for(tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "seeds_dir": tmp_path / "seeds",
        "state_dir": tmp_path / "state",
        "outbox_dir": tmp_path / "outbox",
        "archive_dir": tmp_path / "archive",
        "workers": 1,
    }
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


def quiet() -> Reporter:
    return Reporter(lambda _: None)


class Counting(Summarizer):
    """The real summarizer, counting the articles it is asked to summarize."""

    def __init__(self, method: str = Settings().summarizer) -> None:
        super().__init__(method)
        self.calls: list[str] = []

    def summarize(self, article: Article, count: int) -> Summary:
        self.calls.append(article.id)
        return super().summarize(article, count)


# --- the process pool ------------------------------------------------------------------------


@pytest.mark.parametrize("language", [None, "english"])
def test_pool_summaries_are_the_serial_ones_in_the_same_order(language: str | None) -> None:
    articles = [article(n) for n in range(pool.POOL_MIN_ITEMS + 4)]
    engine = Summarizer(language=language)
    serial = summaries.summarize_all(articles, 3, summarizer=engine, workers=1)
    pooled = summaries.summarize_all(articles, 3, summarizer=engine, workers=2)
    assert list(pooled) == [a.id for a in articles]
    assert pooled == serial
    assert all(len(s.sentences) == 3 for s in pooled.values())


def test_pool_reads_the_files_the_serial_path_reads(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    for n in range(scan.POOL_MIN_FILES + 6):
        write_seed(folder, f"{n:03d}.txt", story(n))
    write_seed(folder, "zz-empty.txt", "")
    infos = sources.list_files(folder, now=time.time(), settle_seconds=5)[0]
    serial = list(scan.read_all(infos, max_bytes=100_000, workers=1))
    pooled = list(scan.read_all(infos, max_bytes=100_000, workers=2))
    assert pooled == serial
    assert serial[-1] == (infos[-1], "empty file")


def test_listing_gives_each_file_as_the_plain_row_the_store_keeps(tmp_path: Path) -> None:
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "sub").mkdir()
    first = write_seed(folder, "a.txt", story(1)).stat()
    write_seed(folder / "sub", "b.MD", story(2))
    write_seed(folder, "notes.tmp", story(3))
    plain, _ = sources.list_files(folder, now=time.time(), settle_seconds=5)
    row = (str(folder / "a.txt"), first.st_size, first.st_mtime_ns, first.st_ino)
    assert plain[0] == row and hash(plain[0]) == hash(row)
    assert [Path(p).name for p, *_ in plain] == ["a.txt", "b.MD"]


# --- incremental scans -----------------------------------------------------------------------


def test_unchanged_seen_files_are_not_read_again(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    folder = tmp_path / "seeds"
    folder.mkdir()
    kept = write_seed(folder, "kept.txt", story(1))
    write_seed(folder, "edited.txt", story(2))
    assert pipeline.run_once(settings, clock=FakeClock(NOW), reporter=quiet()).status == "sent"

    # Same size, same mtime_ns, same inode, other words: only reading it would notice.
    stat = kept.stat()
    with kept.open("r+", encoding="utf-8") as fh:
        fh.write(story(1).replace("district 1", "district 7"))
    assert kept.stat().st_size == stat.st_size
    os.utime(kept, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    write_seed(folder, "edited.txt", story(2) + "\nA late correction was added.\n")
    write_seed(folder, "new.txt", story(3))

    store = Store.open(settings.state_dir)
    try:
        found, _ = scan.collect(settings, store, now=NOW, reporter=quiet(), record=True)
    finally:
        store.close()
    assert sorted(a.path.name for a in found) == ["edited.txt", "new.txt"]
    assert all("district 7" not in a.text for a in found)  # kept.txt was not read


def test_a_file_replaced_under_the_same_name_is_read_again(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    folder = tmp_path / "seeds"
    folder.mkdir()
    first = write_seed(folder, "a.txt", story(1))
    pipeline.run_once(settings, clock=FakeClock(NOW), reporter=quiet())
    stat = first.stat()
    other = story(1).replace("district 1", "district 7")
    replacement = write_seed(folder, "a.txt.new", other, mtime_ns=stat.st_mtime_ns)
    os.replace(replacement, first)  # how scrapers write: a new inode, maybe the same size and time
    store = Store.open(settings.state_dir, readonly=True)
    try:
        found, _ = scan.collect(settings, store, now=NOW, reporter=quiet(), record=False)
    finally:
        store.close()
    assert [a.title for a in found] == [other.split("\n")[0]]


def test_dry_run_and_preview_do_not_remember_files(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    (tmp_path / "seeds").mkdir()
    write_seed(tmp_path / "seeds", "a.txt", story(1))
    pipeline.run_once(settings, clock=FakeClock(NOW), reporter=quiet())
    write_seed(tmp_path / "seeds", "b.txt", story(2))
    pipeline.run_once(settings, clock=FakeClock(NOW), reporter=quiet(), dry_run=True)
    assert pipeline.preview(settings, clock=FakeClock(NOW), reporter=quiet()) is not None
    store = Store.open(settings.state_dir)
    try:
        assert {p for p, *_ in store.sent_files()} == {str(tmp_path / "seeds" / "a.txt")}
        assert store.file_count() == 1
    finally:
        store.close()


def test_deleted_files_are_forgotten(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    (tmp_path / "seeds").mkdir()
    gone = write_seed(tmp_path / "seeds", "a.txt", story(1))
    write_seed(tmp_path / "seeds", "b.txt", story(2))
    pipeline.run_once(settings, clock=FakeClock(NOW), reporter=quiet())
    gone.unlink()
    pipeline.run_once(settings, clock=FakeClock(NOW), reporter=quiet())
    store = Store.open(settings.state_dir)
    try:
        assert store.file_count() == 1
    finally:
        store.close()


def test_a_listing_found_all_handled_is_not_looked_up_again(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    folder = tmp_path / "seeds"
    folder.mkdir()
    write_seed(folder, "a.txt", story(1))
    broken = write_seed(folder, "b.json", "{not json")
    lines: list[str] = []
    report = Reporter(lines.append)
    assert pipeline.run_once(settings, clock=FakeClock(NOW), reporter=report).status == "sent"
    assert len(lines) == 1 and "b.json" in lines[0]  # reported once
    for _ in range(3):  # the second run finds all handled and says so; the third trusts it
        again = pipeline.run_once(settings, clock=FakeClock(NOW), reporter=report)
        assert again.status == "nothing-new"
    assert len(lines) == 1
    store = Store.open(settings.state_dir, readonly=True)
    try:
        assert store.get_meta(scan.HANDLED_LISTING) is not None
    finally:
        store.close()
    write_seed(folder, broken.name, json.dumps({"title": "Fixed", "text": story(2)}))
    result = pipeline.run_once(settings, clock=FakeClock(NOW), reporter=report)
    assert result.status == "sent" and result.digest is not None
    assert [e.article.title for e in result.digest.entries] == ["Fixed"]


def test_a_run_with_nothing_new_loads_no_heavy_library(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    (tmp_path / "seeds").mkdir()
    write_seed(tmp_path / "seeds", "a.txt", story(1))
    pipeline.run_once(settings, clock=FakeClock(NOW), reporter=quiet())
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from digest.runs import run as pipeline
        from digest.settings import Settings
        base = Path({str(tmp_path)!r})
        settings = Settings(seeds_dir=base / "seeds", state_dir=base / "state",
                            outbox_dir=base / "outbox", archive_dir=base / "archive")
        assert pipeline.run_once(settings).status == "nothing-new"
        heavy = {{"sumy", "numpy", "nltk", "jinja2", "css_inline", "smtplib", "multiprocessing",
                  "trafilatura", "lxml"}}
        print(sorted(heavy & set(sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


PAGE = (
    "<html><body><article><h1>Ferry returns</h1>"
    + "".join(f"<p>{line}</p>" for line in story(7).split("\n\n")[1:])
    + "</article></body></html>"
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "text", "loaded"), [("a.txt", story(1), False), ("a.html", PAGE, True)]
)
def test_html_extraction_is_loaded_only_for_new_html_files(
    tmp_path: Path, name: str, text: str, loaded: bool
) -> None:
    (tmp_path / "seeds").mkdir()
    write_seed(tmp_path / "seeds", name, text)
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from digest.runs import run as pipeline
        from digest.settings import Settings
        base = Path({str(tmp_path)!r})
        settings = Settings(seeds_dir=base / "seeds", state_dir=base / "state",
                            outbox_dir=base / "outbox", archive_dir=base / "archive")
        result = pipeline.run_once(settings, dry_run=True)
        assert result.digest is not None and result.digest.article_count == 1, result.status
        print("trafilatura" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(loaded)


@pytest.mark.slow
def test_a_run_with_one_new_file_loads_no_web_mail_signing_or_sumy_code(tmp_path: Path) -> None:
    # What a run that neither fetches, signs nor serves can do without (issue 14), with
    # readers and a feed (not due: it failed, and waits) configured: the default method
    # reads sumy's stop-word files but runs none of sumy's code.
    settings = settings_for(tmp_path, feed_interval=86_400.0)
    (tmp_path / "seeds").mkdir()
    write_seed(tmp_path / "seeds", "a.txt", story(1))
    feedlist.add_feeds(settings, ["http://127.0.0.1:9/feed.xml"], now=NOW)  # refused: private
    with Store.open(tmp_path / "state") as store:
        store.add_subscriber("reader@example.org", None, Preferences(), NOW)
    pipeline.run_once(settings, reporter=quiet())
    write_seed(tmp_path / "seeds", "b.txt", story(2))
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from digest.runs import run as pipeline
        from digest.settings import Settings
        base = Path({str(tmp_path)!r})
        settings = Settings(seeds_dir=base / "seeds", state_dir=base / "state",
                            outbox_dir=base / "outbox", archive_dir=base / "archive",
                            settle_seconds=0, feed_interval=86_400.0)
        result = pipeline.run_once(settings)
        assert result.status == "sent" and result.accepted == ["reader@example.org"], result
        heavy = {{"requests", "urllib3", "trafilatura", "lxml", "dkim", "feedparser",
                  "werkzeug", "aiosmtpd", "sumy", "pycountry", "multiprocessing"}}
        print(sorted(heavy & set(sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("dedupe_days", "kept"), [(7, ["b"]), (0, ["a", "b"])])
def test_a_digest_prunes_sketches_older_than_dedupe_days(
    tmp_path: Path, dedupe_days: int, kept: list[str]
) -> None:
    settings = settings_for(tmp_path, dedupe_days=dedupe_days, settle_seconds=0)
    (tmp_path / "seeds").mkdir()
    sent = {}
    for name, n, days_ago in (("a", 1, 10), ("b", 2, 0)):
        write_seed(tmp_path / "seeds", f"{name}.txt", story(n))
        when = NOW - timedelta(days=days_ago)
        result = pipeline.run_once(settings, clock=FakeClock(when), reporter=quiet())
        assert result.status == "sent" and result.digest is not None
        (sent[name],) = result.digest.article_ids
    store = Store.open(tmp_path / "state")
    try:
        rows = store.recent_sketches(datetime(2000, 1, 1, tzinfo=UTC))
    finally:
        store.close()
    assert sorted(aid for aid, _, _ in rows) == sorted(sent[name] for name in kept)


# --- the summary cache -----------------------------------------------------------------------


def test_a_digest_built_again_is_not_summarized_again(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, max_articles=3)
    articles = [article(n) for n in range(5)]
    store = Store.open(tmp_path / "state")
    try:
        first, second = Counting(), Counting()
        one = publish.build(
            settings, articles, created=NOW, reporter=quiet(), summarizer=first, cache=store
        )
        two = publish.build(
            settings, articles, created=NOW, reporter=quiet(), summarizer=second, cache=store
        )
    finally:
        store.close()
    assert len(first.calls) == 3  # only the entries shown in full
    assert second.calls == []
    assert two.rendered.digest.entries == one.rendered.digest.entries


def test_cache_is_keyed_by_method_count_and_code_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = [article(1)]
    store = Store.open(tmp_path / "state")
    try:
        summaries.summarize_all(articles, 3, summarizer=Counting(), cache=store)
        for method, count in ((Settings().summarizer, 2), ("lead", 3)):
            engine = Counting(method)
            summaries.summarize_all(articles, count, summarizer=engine, cache=store)
            assert len(engine.calls) == 1, (method, count)
        monkeypatch.setattr(summaries, "CACHE_VERSION", summaries.CACHE_VERSION + 1)
        engine = Counting()
        summaries.summarize_all(articles, 3, summarizer=engine, cache=store)
        assert len(engine.calls) == 1
    finally:
        store.close()


def test_preview_then_run_summarizes_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    (tmp_path / "seeds").mkdir()
    write_seed(tmp_path / "seeds", "a.txt", story(1))
    pipeline.run_once(settings, clock=FakeClock(NOW), reporter=quiet())  # the state exists now
    write_seed(tmp_path / "seeds", "b.txt", story(2))
    shown = pipeline.preview(settings, clock=FakeClock(NOW), reporter=quiet())
    assert shown is not None
    engine = Counting()
    result = pipeline.run_once(settings, clock=FakeClock(NOW), reporter=quiet(), summarizer=engine)
    assert result.status == "sent"
    assert engine.calls == []
    assert result.digest is not None and result.digest.entries == shown.digest.entries


def test_preview_without_a_state_database_creates_none(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    (tmp_path / "seeds").mkdir()
    write_seed(tmp_path / "seeds", "a.txt", story(1))
    assert pipeline.preview(settings, clock=FakeClock(NOW), reporter=quiet()) is not None
    assert not settings.state_dir.exists()


# --- SMTP: one connection for many, a new one when the server hangs up ------------------------


class PerConnectionLimit(Handler):
    """Takes `limit` messages per connection, then hangs up the way relays do."""

    def __init__(self, limit: int, how: str) -> None:
        super().__init__()
        self.limit, self.how = limit, how
        self.sessions: dict[Session, int] = {}  # keeps each session alive: ids stay unique

    def _over(self, session: Session) -> bool:
        return self.sessions.get(session, 0) >= self.limit

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._over(session) and self.how == "421-mail":
            return "421 4.7.0 too many messages in this connection"
        if self._over(session) and self.how == "drop":
            assert server.transport is not None
            server.transport.close()
            return "250 OK"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._over(session) and self.how == "421-rcpt":
            return "421 4.7.0 too many messages in this connection"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.sessions[session] = self.sessions.get(session, 0) + 1
        return await super().handle_DATA(server, session, envelope)


def queue_message(tmp_path: Path, store: Store, recipients: tuple[str, ...]) -> int:
    msg = mail.build_message(
        subject="News",
        text="Hello",
        html="<p>Hello</p>",
        sender="digest@example.org",
        recipients=recipients,
        date=NOW,
    )
    eml = deliver.save_to_outbox(tmp_path / "outbox", "d", msg.as_bytes(), "<p>Hello</p>")
    return store.queue_digest(
        created=datetime(2026, 11, 26, 7, 0, tzinfo=UTC),
        subject="News",
        eml_path=eml,
        articles=[("a1", "seeds/a.txt", "A")],
        recipients=recipients,
    )


@pytest.mark.parametrize("how", ["421-mail", "421-rcpt", "drop"])
def test_hang_up_mid_batch_reconnects_and_delivers_to_everyone_once(
    tmp_path: Path, plain_server: StartServer, how: str
) -> None:
    handler = PerConnectionLimit(3, how)
    port = plain_server(handler)
    settings = settings_for(
        tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_timeout=5.0
    )
    recipients = tuple(f"reader{n}@example.org" for n in range(10))
    store = Store.open(settings.state_dir)
    slept: list[float] = []
    try:
        queue_message(tmp_path, store, recipients)
        (queued,) = store.queued()
        report = deliver.deliver_smtp(
            store,
            queued,
            lambda: smtp.SmtpSender(settings),
            settings.sender,
            "t",
            deliver.Retry(attempts=3, backoff=1.0, sleep=slept.append),
        )
        assert store.queued() == []
    finally:
        store.close()
    assert report.errors == [] and sorted(report.accepted) == sorted(recipients)
    got = [r for m in handler.messages for r in m.rcpt_tos]
    assert sorted(got) == sorted(recipients)  # everyone, once
    assert len(handler.sessions) == 4  # 3 + 3 + 3 + 1, more than the 3 attempts allow
    assert slept == []  # progress each time: no backoff


def test_a_server_that_takes_nobody_still_gets_only_the_attempts(
    tmp_path: Path, plain_server: StartServer
) -> None:
    handler = PerConnectionLimit(0, "421-mail")
    port = plain_server(handler)
    settings = settings_for(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    store = Store.open(settings.state_dir)
    slept: list[float] = []
    try:
        queue_message(tmp_path, store, ("a@example.org", "b@example.org"))
        (queued,) = store.queued()
        report = deliver.deliver_smtp(
            store,
            queued,
            lambda: smtp.SmtpSender(settings),
            settings.sender,
            "t",
            deliver.Retry(attempts=3, backoff=1.0, sleep=slept.append),
        )
        assert store.queued()[0].pending == ("a@example.org", "b@example.org")
    finally:
        store.close()
    assert slept == [1.0, 2.0]
    assert len(report.errors) == 1 and "421" in str(report.errors[0])


def test_rate_limit_spaces_messages_by_the_injected_clock(
    tmp_path: Path, plain_server: StartServer
) -> None:
    handler = PerConnectionLimit(100, "none")
    port = plain_server(handler)
    settings = settings_for(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    clock = FakeClock()
    sent_at: list[float] = []

    class Timed(smtp.SmtpSender):
        def send(self, data: bytes, sender: str, recipient: str) -> smtp.Refused | None:
            sent_at.append(clock.monotonic())
            return super().send(data, sender, recipient)

    recipients = tuple(f"r{n}@example.org" for n in range(5))
    store = Store.open(settings.state_dir)
    try:
        queue_message(tmp_path, store, recipients)
        (queued,) = store.queued()
        pace = deliver.Pace(4.0, clock=clock.monotonic, sleep=clock.sleep)
        report = deliver.deliver_smtp(
            store, queued, lambda: Timed(settings), settings.sender, "t", pace=pace
        )
    finally:
        store.close()
    assert len(report.accepted) == 5
    assert sent_at == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_pace_waits_only_for_what_is_left_of_the_gap() -> None:
    clock = FakeClock()
    pace = deliver.Pace(2.0, clock=clock.monotonic, sleep=clock.sleep)
    pace.wait()
    clock.advance(0.2)  # sending took a while
    pace.wait()
    clock.advance(1.0)  # longer than the gap
    pace.wait()
    assert clock.slept == [pytest.approx(0.3)]
    unlimited = deliver.Pace(None, clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(3):
        unlimited.wait()
    assert len(clock.slept) == 1


@pytest.mark.parametrize(
    "recipient",
    [
        "ann@example.org",
        "Ännchen Müller <ann@example.org>",
        '"A display name long enough to be folded over two lines, surely" <a.long.address@x.org>',
    ],
)
def test_a_message_written_once_is_the_one_written_for_each_reader(recipient: str) -> None:
    msg = mail.build_message(
        subject="News",
        text="Hello " * 2000,
        html="<p>Hello</p>",
        sender="digest@example.org",
        recipients=("a@example.org", "b@example.org"),
        date=NOW,
        unsubscribe_url="https://example.org/unsubscribe?list=news&token=" + "x" * 120,
    )
    saved = msg.as_bytes()
    address = mail.addresser(mail.parse_message(saved))
    for reader in (recipient, "z@example.org"):
        assert address(reader) == mail.for_recipient(mail.parse_message(saved), reader)


# --- copies of sent articles: found without pairing the sent ones with each other -----------


def test_copies_of_sent_articles_are_the_ones_the_quadratic_pairing_found() -> None:
    texts = [article(n).text for n in range(12)]
    # sent: each story several times over (a wire story from many outlets), one empty text
    sent_texts = [t + f"\n\nFiled by outlet {k}." for t in texts[:8] for k in range(4)] + [""]
    new_texts = [
        texts[0],  # a repeat
        texts[1] + "\n\n" + texts[9] + "\n\n" + texts[10],  # sent, with much new text
        texts[11],  # new
        texts[2].replace("district 2", "district 20"),  # a repeat, edited
        "",
    ]
    sent = [stories.sketch(t) for t in sent_texts]
    new = [stories.sketch(t) for t in new_texts]
    got = stories.against_sent(new, sent)
    assert got == brute_force_against_sent(new, sent)
    assert got[:3] == ["repeat", "updated", "new"]
