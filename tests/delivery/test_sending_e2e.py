"""The real `digest run` to readers over several connections, against real aiosmtpd servers.

One reader's RCPT makes the server hang up, another's is refused with 550:
every other reader gets their digest in that same run, the run says who and
why in one line each and exits 1, and the next run retries only the one whose
connection dropped. The messages the CLI sends are DKIM-signed, and two
verifiers that share no code with ours (dkimpy, and mailauth from npm) accept them.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import dkim
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import REAL_SEED, ROOT, Handler, StartServer, run_cli
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

pytestmark = pytest.mark.slow

READERS = [f"reader{n:02d}@example.org" for n in range(12)]
DROPS, REFUSED = READERS[4], READERS[7]
MAILAUTH = ROOT / ".tools" / "mailauth" / "node_modules" / ".bin" / "mailauth"


class Picky(Handler):
    """Hangs up at one address's RCPT, refuses another for good, counts each session's mail."""

    def __init__(self, drop: str | None, refuse: str | None) -> None:
        super().__init__()
        self.drop, self.refuse = drop, refuse
        self.per_session: dict[Session, int] = {}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == self.drop:
            assert server.transport is not None
            server.transport.close()
            return "250 OK"
        if address == self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.per_session[session] = self.per_session.get(session, 0) + 1
        return await super().handle_DATA(server, session, envelope)


def setup(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    (tmp_path / "seeds").mkdir(exist_ok=True)
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / REAL_SEED.name)
    csv = tmp_path / "readers.csv"
    csv.write_text("email\n" + "\n".join(READERS) + "\n", encoding="utf-8")
    env = {
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(port),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_SMTP_TIMEOUT": "5",
        "DIGEST_SMTP_BACKOFF": "0.1",
        "DIGEST_SMTP_CONNECTIONS": "3",
        "DIGEST_PUBLIC_URL": "https://news.example.org",
        "DIGEST_SECRET_KEY": "test-secret",
        "DIGEST_FROM": "News <news@example.org>",
        **extra,
    }
    added = run_cli("subscribers", "import", str(csv), env=env)
    assert added.code == 0, added.err
    return env


def received(handler: Handler) -> list[str]:
    return sorted(r for m in handler.messages for r in m.rcpt_tos)


@pytest.mark.parametrize("pipelining", [False, True], ids=["lock-step", "pipelining"])
def test_a_dropped_rcpt_and_a_550_hold_back_nobody_else(
    tmp_path: Path, plain_server: StartServer, pipelining: bool
) -> None:
    picky = Picky(DROPS, REFUSED)
    picky.pipelining = pipelining
    env = setup(tmp_path, plain_server(picky))
    first = run_cli("run", env=env)
    assert first.code == 1
    others = sorted(set(READERS) - {DROPS, REFUSED})
    assert received(picky) == others  # everyone else, once, in this run
    lines = first.err.strip().splitlines()
    dropped = [line for line in lines if DROPS in line]
    refused = [line for line in lines if REFUSED in line]
    assert len(dropped) == 1 and "closed the connection" in dropped[0], first.err
    assert len(refused) == 1 and "550" in refused[0], first.err
    # several connections, each reused for several messages
    assert len(picky.per_session) >= 2 and max(picky.per_session.values()) >= 2

    healthy = Handler()
    env["DIGEST_SMTP_PORT"] = str(plain_server(healthy))
    second = run_cli("run", env=env)
    assert second.code == 0, second.err
    assert received(healthy) == [DROPS]  # retried; the 550 is final, the rest were sent


def test_signed_by_the_cli_verified_by_dkimpy_and_mailauth(
    tmp_path: Path, plain_server: StartServer
) -> None:
    if not MAILAUTH.exists():
        pytest.fail(f"{MAILAUTH} is missing: `make test-tools` installs it (npm mailauth)")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "dkim.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    handler = Handler()
    env = setup(
        tmp_path,
        plain_server(handler),
        DIGEST_DKIM_KEY_FILE=str(key_file),
        DIGEST_DKIM_SELECTOR="mail2026",
        DIGEST_DKIM_DOMAIN="example.org",
    )
    result = run_cli("run", env=env)
    assert result.code == 0, result.err
    assert received(handler) == READERS
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")
    name = "mail2026._domainkey.example.org"

    def lookup(query: bytes, timeout: int = 5) -> bytes | None:
        return record.encode() if query == f"{name}.".encode() else None

    for message in handler.messages:
        assert dkim.verify(message.content, dnsfunc=lookup), message.rcpt_tos
    cache = tmp_path / "dns.json"
    cache.write_text(json.dumps({name: {"TXT": [[record]]}}), encoding="utf-8")
    for message in handler.messages[:3]:  # node starts slowly; three readers' copies
        eml = tmp_path / "m.eml"
        eml.write_bytes(message.content)
        out = subprocess.run(
            [str(MAILAUTH), "report", "-n", str(cache), str(eml)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        (result_,) = json.loads(out.stdout)["dkim"]["results"]
        assert result_["status"]["result"] == "pass", result_
        assert result_["signingDomain"] == "example.org"
    tampered = handler.messages[0].content.replace(b"Subject: ", b"Subject: X", 1)
    assert not dkim.verify(tampered, dnsfunc=lookup)
