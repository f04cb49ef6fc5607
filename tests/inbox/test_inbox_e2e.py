"""The real CLI reading a Maildir written the way Postfix writes one, and a real Dovecot.

Two runs send two digests to four readers through aiosmtpd; then what comes
back is delivered into the Maildir: two bounces for bob, a bounce naming a
message we never sent, a delay notice, carol's complaint, dan's unsubscribe
mail, a broken report and a human reply. `digest inbox` makes bob bouncing
(DIGEST_BOUNCE_LIMIT=2), unsubscribes carol and dan, changes nothing else,
moves what it read to cur/ and leaves the rest in new/; a second read counts
nothing twice. The same over IMAP, from Dovecot on 127.0.0.1 with a
self-signed certificate trusted through DIGEST_INBOX_CA_FILE: read messages
get the \\Seen flag and stay. `digest run` reads the inbox before it sends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import Handler, StartServer, run_cli
from helpers import write_seed
from imapd import PASSWORD, dovecot
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


@dataclass(frozen=True)
class Box:
    """The inbox under test, seen from outside: deliver into it, look at a message's state."""

    env: dict[str, str]
    deliver: Callable[[bytes], str]
    was_read: Callable[[str], bool]  # marked read and still there
    still_new: Callable[[str], bool]


def maildir_box(root: Path) -> Box:
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True)
    return Box(
        {"DIGEST_INBOX": str(root)},
        lambda data: deliver_to_maildir(root, data).name,
        lambda name: (root / "cur" / f"{name}:2,S").exists() and not (root / "new" / name).exists(),
        lambda name: (root / "new" / name).exists(),
    )


@pytest.fixture(params=["maildir", "imap"])
def box(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Box]:
    if request.param == "maildir":
        yield maildir_box(tmp_path / "Maildir")
        return
    with dovecot() as server:

        def flags(uid: str) -> str:
            found = server.flags(uid)
            assert found is not None, f"message UID {uid} is gone"
            return found

        yield Box(
            {
                "DIGEST_INBOX": server.url,
                "DIGEST_INBOX_PASSWORD": PASSWORD,
                "DIGEST_INBOX_CA_FILE": str(server.ca_file),
            },
            server.append,
            lambda uid: "\\Seen" in flags(uid),
            lambda uid: "\\Seen" not in flags(uid),
        )


@pytest.fixture
def setting(plain_server: StartServer, box: Box) -> tuple[dict[str, str], Handler, Box]:
    handler = Handler()
    env = {
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(plain_server(handler)),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_FROM": "News <news@example.org>",
        "DIGEST_PUBLIC_URL": "https://news.example.org",
        "DIGEST_SECRET_KEY": "inbox-test-secret",
        "DIGEST_BOUNCE_LIMIT": "2",
        **box.env,
    }
    return env, handler, box


def test_bounces_complaints_and_unsubscribe_mails(
    tmp_path: Path, setting: tuple[dict[str, str], Handler, Box]
) -> None:
    env, handler, box = setting
    first, second = send_two_digests(tmp_path, env, handler)
    bob, ann = "bob@example.org", "ann@example.org"
    bounce = postfix_bounce(bob, original_headers(first[bob]))
    delayed = postfix_bounce(ann, original_headers(second[ann]), "4.4.1", "delayed")
    ours = [
        box.deliver(bounce),
        box.deliver(postfix_bounce(bob, original_headers(second[bob]))),
        box.deliver(delayed),
        box.deliver(arf_report("carol@example.org", first["carol@example.org"])),
        box.deliver(unsubscribe_mail(second["dan@example.org"], "dan@example.org")),
    ]
    never_sent = original_headers(first[ann]).replace("Message-ID: <", "Message-ID: <x")
    theirs = [
        box.deliver(postfix_bounce(ann, never_sent)),
        box.deliver(broken_report()),
        box.deliver(human_reply()),
    ]
    read = run_cli("inbox", env=env)
    assert read.code == 0, read.err
    lines = read.err.strip().splitlines()
    assert statuses(env) == {
        ann: "active",
        bob: "bouncing",
        "carol@example.org": "unsubscribed",
        "dan@example.org": "unsubscribed",
    }
    # one line per message, and one saying bob now bounces
    assert len([line for line in lines if line.startswith("inbox ")]) == 8
    assert any("now bouncing" in line and bob in line for line in lines)
    assert sum("broken MIME" in line for line in lines) == 1
    assert "2 bounce(s) counted, 2 unsubscribed, 5 message(s) read, 3 left" in read.out
    assert all(box.was_read(m) for m in ours)  # read: marked so, never deleted
    assert all(box.still_new(m) for m in theirs)

    # the same bounce delivered again, and a second read: nothing counted twice
    box.deliver(bounce)
    again = run_cli("inbox", env=env)
    assert again.code == 0, again.err
    assert "0 bounce(s) counted, 0 unsubscribed, 1 message(s) read, 3 left" in again.out
    assert "already counted" in again.err


def test_run_reads_the_inbox_first_and_still_sends_when_it_cannot(
    tmp_path: Path, plain_server: StartServer
) -> None:
    handler = Handler()
    box = maildir_box(tmp_path / "Maildir")
    env = {
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(plain_server(handler)),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_FROM": "News <news@example.org>",
        "DIGEST_PUBLIC_URL": "https://news.example.org",
        "DIGEST_SECRET_KEY": "inbox-test-secret",
        **box.env,
    }
    first, _ = send_two_digests(tmp_path, env, handler)
    box.deliver(unsubscribe_mail(first["ann@example.org"], "ann@example.org"))
    write_seed(tmp_path / "seeds", "rail.txt", article(3), age_seconds=3600)
    before = len(handler.messages)
    result = run_cli("run", env=env)
    assert result.code == 0, result.err
    assert "ann@example.org asked by mail" in result.err
    got = sorted(m.rcpt_tos[0] for m in handler.messages[before:])
    assert got == ["bob@example.org", "carol@example.org", "dan@example.org"]

    write_seed(tmp_path / "seeds", "orchestra.txt", article(4), age_seconds=3600)
    broken = {**env, "DIGEST_INBOX": str(tmp_path / "no-such-maildir")}
    result = run_cli("run", env=broken)
    assert result.code == 0, result.err
    (line,) = [line for line in result.err.splitlines() if "inbox" in line]
    assert "not a Maildir" in line and "DIGEST_INBOX" in line
    assert len(handler.messages) == before + 6  # three readers, two runs
    cannot = run_cli("inbox", env=broken)
    assert cannot.code == 1 and "not a Maildir" in cannot.err


def test_an_untrusted_imap_certificate_is_one_line_naming_the_ca_setting(tmp_path: Path) -> None:
    with dovecot() as server:
        env = {"DIGEST_INBOX": server.url, "DIGEST_INBOX_PASSWORD": PASSWORD}
        result = run_cli("inbox", env=env)
        wrong = run_cli(
            "inbox",
            env={
                **env,
                "DIGEST_INBOX_PASSWORD": "wrong",
                "DIGEST_INBOX_CA_FILE": str(server.ca_file),
            },
        )
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert "certificate not trusted" in line and "DIGEST_INBOX_CA_FILE" in line
    assert wrong.code == 1 and "DIGEST_INBOX_PASSWORD" in wrong.err
    assert "wrong" not in wrong.err
