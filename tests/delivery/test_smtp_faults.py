"""SMTP faults against real servers on loopback that misbehave on purpose."""

from __future__ import annotations

import shutil
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import PASSWORD, REAL_SEED, Handler, SmtpServer, StartServer, free_port, run_cli

pytestmark = pytest.mark.slow  # the CLI in child processes against failing SMTP servers

FAST = {"DIGEST_SMTP_TIMEOUT": "2", "DIGEST_SMTP_BACKOFF": "0.2"}


def copy_seed(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir(exist_ok=True)
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / REAL_SEED.name)


def plain_env(port: int, **extra: str) -> dict[str, str]:
    env = {
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(port),
        "DIGEST_SMTP_SECURITY": "none",
        **FAST,
    }
    env.update(extra)
    return env


class Flaky(Handler):
    """Answers DATA with a scripted list of replies, then accepts."""

    def __init__(self, replies: list[str], refuse: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.replies = replies
        self.refuse = refuse
        self.data_calls = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_calls += 1
        if self.replies:
            return self.replies.pop(0)
        return await super().handle_DATA(server, session, envelope)


def scripted_server(script: Callable[[socket.socket], None]) -> int:
    """A raw TCP server that runs `script` on each connection (for faults aiosmtpd won't do)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                try:
                    script(conn)
                except OSError:
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1])


def greet_421(conn: socket.socket) -> None:
    conn.sendall(b"421 4.3.2 too busy, try later\r\n")


def never_answer(conn: socket.socket) -> None:
    conn.recv(1)  # hold the connection open and silent until the client gives up


def drop_mid_data(conn: socket.socket) -> None:
    reader = conn.makefile("rb")
    conn.sendall(b"220 test ESMTP\r\n")
    for line in reader:
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250 test\r\n")
        elif verb in (b"MAIL", b"RCPT"):
            conn.sendall(b"250 OK\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 go ahead\r\n")
            reader.readline()
            return  # hang up in the middle of the message body
        else:
            conn.sendall(b"250 OK\r\n")


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (greet_421, "421"),
        (never_answer, "no answer within 2 s"),
        (drop_mid_data, "closed the connection"),
    ],
)
def test_broken_server_fails_in_one_line_and_keeps_the_message_queued(
    tmp_path: Path, script: Callable[[socket.socket], None], expected: str
) -> None:
    copy_seed(tmp_path)
    port = scripted_server(script)
    result = run_cli("run", env=plain_env(port, DIGEST_SMTP_ATTEMPTS="1"))
    assert result.code == 1
    (line,) = result.err.strip().splitlines()
    assert expected in line and f"127.0.0.1:{port}" in line
    status = run_cli("status")
    assert "queued messages: 1" in status.out


def test_451_once_is_retried_in_the_same_run(tmp_path: Path, plain_server: StartServer) -> None:
    copy_seed(tmp_path)
    handler = Flaky(["451 4.3.0 try again later"])
    result = run_cli("run", env=plain_env(plain_server(handler)))
    assert result.code == 0, result.err
    assert handler.data_calls == 2 and len(handler.messages) == 1


def test_451_forever_stays_queued_and_the_next_run_delivers(
    tmp_path: Path, plain_server: StartServer
) -> None:
    copy_seed(tmp_path)
    stubborn = Flaky(["451 4.3.0 busy"] * 10)
    failed = run_cli("run", env=plain_env(plain_server(stubborn)))
    assert failed.code == 1
    assert stubborn.data_calls == 3  # DIGEST_SMTP_ATTEMPTS default
    assert "451" in failed.err and "queued" in failed.err
    healthy = Handler()
    again = run_cli("run", env=plain_env(plain_server(healthy)))
    assert again.code == 0, again.err
    assert len(healthy.messages) == 1


def test_550_for_one_of_three_does_not_stop_the_others_and_is_not_retried(
    tmp_path: Path, plain_server: StartServer
) -> None:
    copy_seed(tmp_path)
    handler = Flaky([], refuse=frozenset({"bob@example.org"}))
    env = plain_env(
        plain_server(handler), DIGEST_TO="ann@example.org,bob@example.org,cy@example.org"
    )
    first = run_cli("run", env=env)
    assert first.code == 1
    assert "bob@example.org" in first.err and "550" in first.err
    assert sorted(r for m in handler.messages for r in m.rcpt_tos) == [
        "ann@example.org",
        "cy@example.org",
    ]
    second = run_cli("run", env=env)
    assert second.code == 0, second.err
    assert len(handler.messages) == 2


def test_starttls_required_but_not_offered(tmp_path: Path, plain_server: StartServer) -> None:
    copy_seed(tmp_path)
    port = plain_server(Handler())
    result = run_cli("run", env=plain_env(port, DIGEST_SMTP_SECURITY="starttls"))
    assert result.code == 1
    assert "does not offer STARTTLS" in result.err


def test_ssl_mode_against_a_plain_server_names_the_setting(
    tmp_path: Path, plain_server: StartServer
) -> None:
    copy_seed(tmp_path)
    port = plain_server(Handler())
    result = run_cli("run", env=plain_env(port, DIGEST_SMTP_SECURITY="ssl"))
    assert result.code == 1
    assert "WRONG_VERSION_NUMBER" in result.err
    assert "DIGEST_SMTP_SECURITY=starttls" in result.err


def test_starttls_mode_against_an_implicit_tls_server_names_the_setting(
    tmp_path: Path, certs: tuple[trustme.CA, Path]
) -> None:
    copy_seed(tmp_path)
    ca, ca_path = certs
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    controller = Controller(
        Handler(), hostname="127.0.0.1", port=free_port(), ssl_context=context, ready_timeout=10
    )
    controller.start()
    try:
        env = plain_env(
            controller.port,
            DIGEST_SMTP_SECURITY="starttls",
            DIGEST_SMTP_CA_FILE=str(ca_path),
            DIGEST_SMTP_ATTEMPTS="1",
        )
        result = run_cli("run", env=env)
    finally:
        controller.stop()
    assert result.code == 1
    assert "DIGEST_SMTP_SECURITY=ssl" in result.err


def test_untrusted_certificate_points_to_the_ca_setting(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    copy_seed(tmp_path)
    env = smtp_server.env(**FAST)
    del env["DIGEST_SMTP_CA_FILE"]
    result = run_cli("run", env=env)
    assert result.code == 1
    assert "certificate" in result.err and "DIGEST_SMTP_CA_FILE" in result.err
    assert smtp_server.messages == []


def test_password_never_written_anywhere(tmp_path: Path, smtp_server: SmtpServer) -> None:
    copy_seed(tmp_path)
    outputs = []
    for password in ("wrong-" + PASSWORD, PASSWORD):
        env = smtp_server.env(DIGEST_SMTP_PASSWORD=password, **FAST)
        for args in (("run",), ("status",), ("--verbose", "run")):
            result = run_cli(*args, env=env)
            outputs += [result.out, result.err]
    assert len(smtp_server.messages) == 1
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    for blob in [o.encode() for o in outputs] + written:
        assert PASSWORD.encode() not in blob
