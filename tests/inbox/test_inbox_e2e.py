"""The real CLI reading a Maildir written the way Postfix writes one.

Two runs send two digests to four readers through aiosmtpd; then what comes
back is delivered into the Maildir: two bounces for bob, a bounce naming a
message we never sent, a delay notice, carol's complaint, dan's unsubscribe
mail, a broken report and a human reply. `digest inbox` makes bob bouncing
(DIGEST_BOUNCE_LIMIT=2), unsubscribes carol and dan, changes nothing else,
moves what it read to cur/ and leaves the rest in new/; a second read counts
nothing twice. `digest run` reads the inbox before it sends.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import Handler, StartServer, run_cli
from helpers import write_seed
from replies import (
    arf_report,
    broken_report,
    deliver_to_maildir,
    human_reply,
    original_headers,
    postfix_bounce,
    unsubscribe_mail,
)

pytestmark = pytest.mark.slow

READERS = ("ann@example.org", "bob@example.org", "carol@example.org", "dan@example.org")


TOPICS = (
    (
        "Harbour reopens",
        "The harbour authority reopened the inner basin after repairs to the"
        " quay wall. Fishing boats returned on Monday morning, officials said.",
    ),
    (
        "Library extends hours",
        "The city library will stay open until ten in the evening from"
        " January. Students asked for the change in a petition signed by thousands.",
    ),
    (
        "Orchestra tours Japan",
        "The national orchestra begins a twelve-concert tour of Japan next"
        " week. Its conductor said the programme pairs Sibelius with new Finnish works.",
    ),
    (
        "Rail line electrified",
        "Engineers finished electrifying the northern rail line ahead of"
        " schedule. Diesel trains will be retired by spring, the operator announced.",
    ),
)


def article(n: int) -> str:
    title, text = TOPICS[n - 1]
    return f"{title}\n\n{text}"


def send_two_digests(
    tmp_path: Path, env: dict[str, str], handler: Handler
) -> list[dict[str, bytes]]:
    """Two runs, each with a new article; per run: reader -> the bytes they received."""
    csv = tmp_path / "readers.csv"
    csv.write_text("email\n" + "\n".join(READERS) + "\n", encoding="utf-8")
    assert run_cli("subscribers", "import", str(csv), env=env).code == 0
    runs: list[dict[str, bytes]] = []
    for n in (1, 2):
        write_seed(tmp_path / "seeds", f"harbour-{n}.txt", article(n), age_seconds=3600)
        before = len(handler.messages)
        result = run_cli("run", env=env)
        assert result.code == 0, result.err
        runs.append({m.rcpt_tos[0]: m.content for m in handler.messages[before:]})
        assert sorted(runs[-1]) == sorted(READERS)
    return runs


def statuses(env: dict[str, str]) -> dict[str, str]:
    listed = run_cli("subscribers", "list", "--json", env=env)
    assert listed.code == 0, listed.err
    rows = [json.loads(line) for line in listed.out.splitlines() if line.strip()]
    if len(rows) == 1 and isinstance(rows[0], list):
        rows = rows[0]
    return {r["email"]: r["status"] for r in rows}


@pytest.fixture
def setting(tmp_path: Path, plain_server: StartServer) -> tuple[dict[str, str], Handler, Path]:
    handler = Handler()
    maildir = tmp_path / "Maildir"
    for sub in ("tmp", "new", "cur"):
        (maildir / sub).mkdir(parents=True)
    env = {
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(plain_server(handler)),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_FROM": "News <news@example.org>",
        "DIGEST_PUBLIC_URL": "https://news.example.org",
        "DIGEST_SECRET_KEY": "inbox-test-secret",
        "DIGEST_BOUNCE_LIMIT": "2",
        "DIGEST_INBOX": str(maildir),
    }
    return env, handler, maildir


def test_bounces_complaints_and_unsubscribe_mails_from_a_postfix_maildir(
    tmp_path: Path, setting: tuple[dict[str, str], Handler, Path]
) -> None:
    env, handler, maildir = setting
    first, second = send_two_digests(tmp_path, env, handler)
    bob = "bob@example.org"
    ours = [
        deliver_to_maildir(maildir, postfix_bounce(bob, original_headers(first[bob]))),
        deliver_to_maildir(maildir, postfix_bounce(bob, original_headers(second[bob]))),
        deliver_to_maildir(
            maildir,
            postfix_bounce(
                "ann@example.org", original_headers(second["ann@example.org"]), "4.4.1", "delayed"
            ),
        ),
        deliver_to_maildir(maildir, arf_report("carol@example.org", first["carol@example.org"])),
        deliver_to_maildir(maildir, unsubscribe_mail(second["dan@example.org"], "dan@example.org")),
    ]
    never_sent = original_headers(first["ann@example.org"]).replace(
        "Message-ID: <", "Message-ID: <x"
    )
    theirs = [
        deliver_to_maildir(maildir, postfix_bounce("ann@example.org", never_sent)),
        deliver_to_maildir(maildir, broken_report()),
        deliver_to_maildir(maildir, human_reply()),
    ]
    read = run_cli("inbox", env=env)
    assert read.code == 0, read.err
    lines = read.err.strip().splitlines()
    assert statuses(env) == {
        "ann@example.org": "active",
        bob: "bouncing",
        "carol@example.org": "unsubscribed",
        "dan@example.org": "unsubscribed",
    }
    # one line per message, and one saying bob now bounces
    assert len([line for line in lines if line.startswith("inbox ")]) == 8
    assert any("now bouncing" in line and bob in line for line in lines)
    assert sum("broken MIME" in line for line in lines) == 1
    assert "2 bounce(s) counted, 2 unsubscribed, 5 message(s) read, 3 left" in read.out
    for path in ours:  # read: moved to cur/ and flagged seen, never deleted
        assert not path.exists() and (maildir / "cur" / f"{path.name}:2,S").exists()
    for path in theirs:
        assert path.exists()

    # the same bounce delivered again, and a second read: nothing counted twice
    shutil.copy2(maildir / "cur" / f"{ours[0].name}:2,S", maildir / "new" / "again.mx")
    again = run_cli("inbox", env=env)
    assert again.code == 0, again.err
    assert "0 bounce(s) counted, 0 unsubscribed, 1 message(s) read, 3 left" in again.out
    assert "already counted" in again.err


def test_run_reads_the_inbox_first_and_still_sends_when_it_cannot(
    tmp_path: Path, setting: tuple[dict[str, str], Handler, Path]
) -> None:
    env, handler, maildir = setting
    first, _ = send_two_digests(tmp_path, env, handler)
    deliver_to_maildir(maildir, unsubscribe_mail(first["ann@example.org"], "ann@example.org"))
    write_seed(tmp_path / "seeds", "harbour-3.txt", article(3), age_seconds=3600)
    before = len(handler.messages)
    result = run_cli("run", env=env)
    assert result.code == 0, result.err
    assert "ann@example.org asked by mail" in result.err
    got = sorted(m.rcpt_tos[0] for m in handler.messages[before:])
    assert got == ["bob@example.org", "carol@example.org", "dan@example.org"]

    write_seed(tmp_path / "seeds", "harbour-4.txt", article(4), age_seconds=3600)
    broken = {**env, "DIGEST_INBOX": str(tmp_path / "no-such-maildir")}
    result = run_cli("run", env=broken)
    assert result.code == 0, result.err
    (line,) = [line for line in result.err.splitlines() if "inbox" in line]
    assert "not a Maildir" in line and "DIGEST_INBOX" in line
    assert len(handler.messages) == before + 6  # three readers, two runs
    cannot = run_cli("inbox", env=broken)
    assert cannot.code == 1 and "not a Maildir" in cannot.err
