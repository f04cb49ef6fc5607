"""Kill `digest run` at each point of a delivery, run again: nothing lost, at most one extra."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import REAL_SEED, Handler, free_port, run_cli

pytestmark = pytest.mark.slow  # kills CLI child processes mid-run

RECIPIENTS = ("ann@example.org", "bob@example.org")


class Stalling(Handler):
    """Stalls at one SMTP stage until released, so a test can kill the client there."""

    def __init__(self, stage: str | None) -> None:
        super().__init__()
        self.stage = stage
        self.reached = threading.Event()
        self.release = asyncio.Event()

    async def _stall(self, stage: str) -> None:
        if stage == self.stage:
            self.reached.set()
            await self.release.wait()

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        await self._stall("ehlo")
        return await super().handle_EHLO(server, session, envelope, hostname, responses)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        await self._stall("rcpt")
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)  # taken: the window
        await self._stall("data")
        return reply


@pytest.fixture
def server() -> Iterator[tuple[Controller, Stalling]]:
    handler = Stalling(None)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    handler.stage = None
    controller.loop.call_soon_threadsafe(handler.release.set)
    controller.stop()


def env_for(port: int) -> dict[str, str]:
    return {
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(port),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_SMTP_TIMEOUT": "5",
        # one connection: bob waits behind ann (with several, each may hold one in the window)
        "DIGEST_SMTP_CONNECTIONS": "1",
        "DIGEST_TO": ",".join(RECIPIENTS),
    }


def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")} | env
    return subprocess.Popen(
        [sys.executable, "-m", "digest", "run"],
        env=full,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def copies(handler: Handler) -> dict[str, int]:
    counts = dict.fromkeys(RECIPIENTS, 0)
    for message in handler.messages:
        for rcpt in message.rcpt_tos:
            counts[rcpt] += 1
    return counts


@pytest.mark.parametrize(
    ("stage", "expected_first"),
    [
        ("ehlo", 1),  # killed after the message was queued, before any SMTP command
        ("rcpt", 1),  # killed mid-conversation, before the server took the message
        ("data", 2),  # server took it, client killed before recording: the one resend
    ],
)
def test_kill_during_delivery_then_rerun(
    tmp_path: Path, server: tuple[Controller, Stalling], stage: str, expected_first: int
) -> None:
    controller, handler = server
    (tmp_path / "seeds").mkdir()
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / REAL_SEED.name)
    handler.stage = stage
    proc = start(env_for(controller.port))
    assert handler.reached.wait(60), "the run never reached the stage"
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    handler.stage = None
    controller.loop.call_soon_threadsafe(handler.release.set)
    time.sleep(0.2)

    again = run_cli("run", env=env_for(controller.port))
    assert again.code == 0, again.err
    counts = copies(handler)
    assert counts[RECIPIENTS[0]] == expected_first
    assert counts[RECIPIENTS[1]] == 1  # never reached before the kill: exactly once
    assert run_cli("run", env=env_for(controller.port)).code == 0
    assert copies(handler) == counts


def test_kill_before_queuing_loses_nothing(
    tmp_path: Path, server: tuple[Controller, Stalling]
) -> None:
    controller, handler = server
    (tmp_path / "seeds").mkdir()
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / REAL_SEED.name)
    proc = start(env_for(controller.port))
    time.sleep(0.3)  # still importing and reading: nothing is queued yet
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert run_cli("run", env=env_for(controller.port)).code == 0
    assert copies(handler) == dict.fromkeys(RECIPIENTS, 1)


def test_two_runs_at_once_send_one_message_per_recipient(
    tmp_path: Path, server: tuple[Controller, Stalling]
) -> None:
    controller, handler = server
    (tmp_path / "seeds").mkdir()
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / REAL_SEED.name)
    procs = [start(env_for(controller.port)) for _ in range(3)]
    codes = [p.wait(120) for p in procs]
    assert codes == [0, 0, 0]
    assert copies(handler) == dict.fromkeys(RECIPIENTS, 1)
