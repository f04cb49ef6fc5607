"""Shared fixtures: a clean environment per test and a real SMTP server on loopback."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from helpers import write_seed

# A loaded 2-core machine (CI, or helpers in parallel) makes single examples take >200 ms:
# the default deadline then fails tests for the machine's speed, not the code's.
hypothesis.settings.register_profile("digest", deadline=None)
hypothesis.settings.load_profile("digest")

# Slow tests (they start subprocesses or servers, or wait seconds) carry the `slow` marker, which
# `make test-fast` leaves out: `pytestmark = pytest.mark.slow` in a module whose every test is
# slow, else `@pytest.mark.slow` on each slow test. Nothing else marks them.

ROOT = Path(__file__).resolve().parent.parent
REAL_SEED = ROOT / "seeds" / "000_49638b6ecd2811bf.txt"
USER, PASSWORD = "digest-user", "s3cret-Pa55word"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's DIGEST_* settings or the repo's .env."""
    for name in list(os.environ):
        if name.startswith("DIGEST_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: str | None


@dataclass
class Handler:
    """Records every accepted message; tests read `messages`. With `pipelining` the server
    offers PIPELINING (RFC 2920; aiosmtpd reads grouped commands in order but does not say so)."""

    messages: list[Received] = field(default_factory=list)
    pipelining: bool = False

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")  # before the last line
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data.login.decode() if session.auth_data else None
        content = envelope.original_content or b""
        self.messages.append(
            Received(
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                content,
                session.ssl is not None,
                login,
            )
        )
        return "250 OK"


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login.decode() == USER
        and auth_data.password.decode() == PASSWORD
    )
    # handled=False lets aiosmtpd answer 535; True with success=False leaves clients hanging
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


@dataclass
class SmtpServer:
    port: int
    handler: Handler
    ca_path: Path

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def env(self, **extra: str) -> dict[str, str]:
        """Settings that point digest at this server with TLS and AUTH."""
        values = {
            "DIGEST_SMTP_HOST": "127.0.0.1",
            "DIGEST_SMTP_PORT": str(self.port),
            "DIGEST_SMTP_SECURITY": "starttls",
            "DIGEST_SMTP_USERNAME": USER,
            "DIGEST_SMTP_PASSWORD": PASSWORD,
            "DIGEST_SMTP_CA_FILE": str(self.ca_path),
            "DIGEST_SMTP_TIMEOUT": "5",
        }
        values.update(extra)
        return values


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    ca_path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return ca, ca_path


def start_tls_server(handler: Handler, certs: tuple[trustme.CA, Path]) -> Controller:
    """Start aiosmtpd on a free loopback port with STARTTLS and AUTH both required."""
    ca, _ = certs
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=authenticate,
        ready_timeout=10,
    )
    controller.start()
    return controller


@pytest.fixture
def smtp_server(certs: tuple[trustme.CA, Path]) -> Iterator[SmtpServer]:
    """A real aiosmtpd server on a free loopback port: STARTTLS required, AUTH required."""
    handler = Handler()
    controller = start_tls_server(handler, certs)
    try:
        yield SmtpServer(controller.port, handler, certs[1])
    finally:
        controller.stop()


StartServer = Callable[[Handler], int]


@pytest.fixture
def plain_server() -> Iterator[StartServer]:
    """Start plain (no TLS, no AUTH) aiosmtpd servers with given handlers; each returns its port."""
    controllers: list[Controller] = []

    def start(handler: Handler) -> int:
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        return int(controller.port)

    yield start
    for controller in controllers:
        controller.stop()


SeedWriter = Callable[..., Path]


@pytest.fixture
def seeds(tmp_path: Path) -> SeedWriter:
    """Write an article file into tmp seeds/, dated an hour ago so it counts as settled."""
    folder = tmp_path / "seeds"
    folder.mkdir(exist_ok=True)

    def write(name: str, content: str | bytes) -> Path:
        return write_seed(folder, name, content, age_seconds=3600)

    return write


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> CliResult:
    """Run the real entry point (`python -m digest`) in a child process."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "digest", *args],
        env=full_env,
        cwd=cwd or Path.cwd(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
