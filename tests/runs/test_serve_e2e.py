"""`digest serve` with a real SMTP server: the loop in this process on a clock the test moves,
and the command in a child process for what only a process shows (signals, the log, the lock)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme
from aiosmtpd.smtp import SMTP, Envelope, Session
from conftest import Handler, SeedWriter, SmtpServer, run_cli, start_tls_server
from helpers import FakeClock

from digest.runs import run as pipeline
from digest.runs.schedule import parse_schedule
from digest.runs.serve import Service
from digest.settings import load_settings

pytestmark = pytest.mark.slow  # real SMTP servers; `digest serve` and the CLI as child processes

BUDGET = (
    "The city council approved a new budget on Tuesday after a long debate. "
    "The plan adds money for parks and libraries. Critics said taxes will rise. "
    "The mayor promised a review next year. Residents can comment until May."
)
LIBRARY = (
    "The central library will stay open until midnight from next month. "
    "Students asked for longer hours during exams. The council pays for two more staff. "
    "A survey found most visitors come after work. The trial runs for half a year."
)


def article(title: str, body: str) -> str:
    return json.dumps({"title": title, "text": body, "source": "Test Wire"})


def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll instead of sleeping a fixed time; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def text_of(data: bytes) -> str:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    return f"{msg['Subject']}\n{body.get_content()}"


@dataclass
class SlowHandler(Handler):
    """The conftest handler, but it can hold a message before accepting it (to overlap runs)."""

    delay: float = 0.0
    data_started: threading.Event = field(default_factory=threading.Event)
    arrived: list[float] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_started.set()
        await asyncio.sleep(self.delay)
        self.arrived.append(time.monotonic())
        return await super().handle_DATA(server, session, envelope)


@dataclass
class Server(SmtpServer):
    handler: SlowHandler


@pytest.fixture
def smtp(certs: tuple[trustme.CA, Path]) -> Iterator[Server]:
    """Like conftest's smtp_server (STARTTLS and AUTH required), with a SlowHandler."""
    handler = SlowHandler()
    controller = start_tls_server(handler, certs)
    try:
        yield Server(controller.port, handler, certs[1])
    finally:
        handler.delay = 0.0
        controller.stop()


class Serve:
    """`python -m digest serve` in a child process; its stderr goes to a file we poll."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
        full_env.update(env)
        self.log = log
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "digest", "serve", *args],
                env=full_env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, needle: str, count: int = 1, timeout: float = 20.0) -> None:
        until(
            lambda: self.text().count(needle) >= count or self.proc.poll() is not None,
            timeout,
            f"{needle!r} x{count} in the log:\n{self.text()}",
        )
        assert self.text().count(needle) >= count, self.text()

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 20.0) -> int:
        self.signal(signal.SIGTERM)
        return self.proc.wait(timeout)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Serve]]:
    started: list[Serve] = []

    def start(env: dict[str, str], *args: str) -> Serve:
        process = Serve(env, tmp_path / f"serve-{len(started) + 1}.log", *args)
        started.append(process)
        return process

    yield start
    for process in started:  # only the children this test started
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(10)


def env_for(server: SmtpServer, schedule: str, **extra: str) -> dict[str, str]:
    return server.env(DIGEST_TO="ann@example.org", DIGEST_SCHEDULE=schedule, **extra)


def service_for(env: dict[str, str], clock: FakeClock) -> Service:
    """The `digest serve` loop in this process, on a clock the test moves."""
    settings = load_settings(env | {"DIGEST_WORKERS": "1"}, None)
    return Service(settings, parse_schedule(settings.schedule, settings.timezone), clock=clock)


def step_at(service: Service, clock: FakeClock, seconds: float) -> float:
    clock.advance(seconds)
    return service.step()


def test_serve_sends_what_is_new_on_schedule_and_nothing_when_idle(
    smtp: Server, seeds: SeedWriter, caplog: pytest.LogCaptureFixture
) -> None:
    env = env_for(smtp, "@every 2s", DIGEST_TIMEZONE="Europe/Berlin")
    seeds("budget.json", article("Council passes budget", BUDGET))
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    service = service_for(env, clock)
    with caplog.at_level(logging.INFO, logger="digest"):
        service.start()
        assert step_at(service, clock, 1) > 0 and smtp.messages == []  # not yet due
        assert step_at(service, clock, 1) == 0.0  # due: one run
        assert len(smtp.messages) == 1
        assert "Council passes budget" in text_of(smtp.messages[0].content)

        assert step_at(service, clock, 2) == 0.0
        assert len(smtp.messages) == 1  # nothing new, no email

        seeds("library.json", article("Library opens late", LIBRARY))
        assert step_at(service, clock, 2) == 0.0
    assert len(smtp.messages) == 2
    second = text_of(smtp.messages[1].content)
    assert "Library opens late" in second and "Council passes budget" not in second

    log = caplog.text
    assert "schedule '@every 2s': every 2 seconds, time zone Europe/Berlin" in log
    assert re.search(r"next run \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CES?T \(Europe/Berlin\)", log)
    sent = r"run due [^:]+:\d\d:\d\d CES?T \(Europe/Berlin\): sent, 1 article\(s\), "
    assert len(re.findall(sent + r"1 recipient\(s\) accepted, \d+\.\d s; next run", log)) == 2
    assert ": nothing new, 0 article(s), 0 recipient(s) accepted" in log

    again = pipeline.run_once(service.settings, clock=clock)  # a manual run after it
    assert again.status == "nothing-new" and len(smtp.messages) == 2


def test_sigterm_lets_the_message_in_flight_finish_and_exits_0(
    tmp_path: Path, smtp: Server, seeds: SeedWriter, serve: Callable[..., Serve]
) -> None:
    env = env_for(smtp, "@every 1s")
    seeds("budget.json", article("Council passes budget", BUDGET))
    smtp.handler.delay = 2.0
    log_file = tmp_path / "digest.log"
    process = serve(env, "--log-file", str(log_file))
    assert smtp.handler.data_started.wait(20), process.text()
    signalled = time.monotonic()
    assert process.stop() == 0
    assert len(smtp.messages) == 1
    assert smtp.handler.arrived[0] - signalled > 1.0  # it really was mid-conversation
    log = process.text()
    assert "sent, 1 article(s), 1 recipient(s) accepted" in log
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d{4} INFO ", log)  # timestamped
    assert log.rstrip().endswith("INFO stopped by SIGTERM")
    assert log_file.read_text(encoding="utf-8") == log  # --log-file gets the same lines

    status = run_cli("status", env=env)
    assert "queued messages: 0" in status.out
    again = run_cli("run", env=env)
    assert again.code == 0 and "nothing new" in again.out
    assert len(smtp.messages) == 1


def test_a_second_signal_stops_at_once_and_the_message_stays_queued(
    smtp: Server, seeds: SeedWriter, serve: Callable[..., Serve]
) -> None:
    env = env_for(smtp, "@every 1s", DIGEST_SMTP_TIMEOUT="60")
    seeds("budget.json", article("Council passes budget", BUDGET))
    smtp.handler.delay = 4.0
    process = serve(env)
    assert smtp.handler.data_started.wait(20), process.text()
    process.signal(signal.SIGTERM)
    time.sleep(0.3)
    assert process.proc.poll() is None  # the first signal waits for the SMTP conversation
    signalled = time.monotonic()
    process.signal(signal.SIGINT)
    assert process.proc.wait(5) == -signal.SIGINT
    assert time.monotonic() - signalled < 2.0
    assert smtp.messages == []

    smtp.handler.delay = 0.0
    status = run_cli("status", env=env)
    assert "queued messages: 1" in status.out
    rerun = run_cli("run", env=env)
    assert rerun.code == 0, rerun.err
    assert "delivered to 1 recipient(s) via SMTP: ann@example.org" in rerun.out
    assert "Council passes budget" in text_of(smtp.messages[-1].content)


RUN_DUE = re.compile(r"run due (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC: (.*?), \d+\.\d s")


def test_restart_after_missed_runs_sends_one_digest_at_once_then_resumes(
    smtp: Server, seeds: SeedWriter, caplog: pytest.LogCaptureFixture
) -> None:
    # DIGEST_SEND_EMPTY makes every run send something, so a replayed run would show
    env = env_for(smtp, "@every 3s", DIGEST_TIMEZONE="UTC", DIGEST_SEND_EMPTY="true")
    seeds("budget.json", article("Council passes budget", BUDGET))
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    with caplog.at_level(logging.INFO, logger="digest"):
        service_for(env, clock).start()  # the first start; then it is stopped
    assert "first start: counting the schedule from now" in caplog.text
    assert smtp.messages == []  # the very first start sends nothing at once

    clock.advance(7)  # two fire times pass (3 s and 6 s after the first start) while stopped
    caplog.clear()
    second = service_for(env, clock)  # a new process: all it knows is in the state database
    with caplog.at_level(logging.INFO, logger="digest"):
        second.start()
        assert "was missed while stopped: running it now" in caplog.text
        assert second.step() == 0.0  # the catch-up, at once
        assert second.step() > 0  # the other missed time is not replayed
        assert step_at(second, clock, 3) == 0.0  # the schedule resumes 3 s after the restart
    assert len(smtp.messages) == 2
    assert "Council passes budget" in text_of(smtp.messages[0].content)
    assert "No new articles." in text_of(smtp.messages[1].content)

    runs = RUN_DUE.findall(caplog.text)
    assert [outcome for _, outcome in runs] == [
        "sent, 1 article(s), 1 recipient(s) accepted",
        "sent, 0 article(s), 1 recipient(s) accepted",
    ]
    catch_up, resumed = (datetime.fromisoformat(due) for due, _ in runs)
    # the catch-up ran for the first missed time (3 s after the first start); the next run
    # is 3 s after the restart (10 s), not the second missed time (6 s)
    assert (resumed - catch_up).total_seconds() == 7


def test_manual_run_during_a_scheduled_run_sends_no_duplicate(
    smtp: Server, seeds: SeedWriter, serve: Callable[..., Serve]
) -> None:
    env = env_for(smtp, "@every 1s")
    seeds("budget.json", article("Council passes budget", BUDGET))
    smtp.handler.delay = 2.0  # the scheduled run holds the lock while the server sits on DATA
    process = serve(env)
    assert smtp.handler.data_started.wait(20), process.text()
    manual = run_cli("run", env=env)  # waits for the lock, then finds nothing left to send
    assert manual.code == 0, manual.err
    assert "nothing new to send" in manual.out
    assert len(smtp.messages) == 1
    assert process.stop() == 0
    assert len(smtp.messages) == 1


@pytest.mark.parametrize(
    ("setting", "value", "example"),
    [
        ("DIGEST_SCHEDULE", "0 7 * *", "e.g. DIGEST_SCHEDULE='0 7 * * mon-fri'"),
        ("DIGEST_SCHEDULE", "0 7 * * 1-8", "e.g. DIGEST_SCHEDULE='0 7 * * mon-fri'"),
        ("DIGEST_SCHEDULE", "@every 5 parsecs", "e.g. DIGEST_SCHEDULE='0 7 * * mon-fri'"),
        ("DIGEST_TIMEZONE", "Mars/Olympus", "DIGEST_TIMEZONE=Europe/Berlin"),
    ],
)
def test_bad_schedule_stops_serve_at_start_but_not_run_or_status(
    tmp_path: Path, setting: str, value: str, example: str
) -> None:
    (tmp_path / "seeds").mkdir()
    env = {setting: value}
    result = run_cli("serve", env=env)
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert f"{setting}={value!r}" in result.err and example in result.err
    assert "Traceback" not in result.err

    status = run_cli("status", env=env)
    assert status.code == 0, status.err
    assert f"next run: none: {setting}={value!r}" in status.out
    run = run_cli("run", env=env)
    assert run.code == 0, run.err


def test_status_shows_the_next_run_in_the_zone(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    env = {"DIGEST_SCHEDULE": "0 7 * * mon-fri", "DIGEST_TIMEZONE": "Europe/Berlin"}
    result = run_cli("status", env=env)
    assert result.code == 0, result.err
    found = re.search(
        r"next run: (\d{4}-\d\d-\d\d) 07:00:00 CES?T \(Europe/Berlin\), "
        r"at 07:00 on Monday–Friday, once `digest serve` or `digest run --due` runs",
        result.out,
    )
    assert found, result.out
    assert datetime.fromisoformat(found[1]).weekday() < 5


def test_timezone_defaults_to_the_system_zone(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    result = run_cli("status", env={"DIGEST_SCHEDULE": "@daily", "TZ": "Asia/Tokyo"})
    assert result.code == 0, result.err
    assert re.search(r"next run: \d{4}-\d\d-\d\d 00:00:00 JST \(Asia/Tokyo\)", result.out)


def _not_today() -> str:
    """A weekday two days off in every time zone: a weekly reader on it is not due now."""
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(datetime.now().weekday() + 2) % 7]


def test_serve_with_readers_restarted_misses_nothing_and_status_is_not_overdue(
    smtp: Server, seeds: SeedWriter, serve: Callable[..., Serve]
) -> None:
    env = smtp.env(DIGEST_SCHEDULE="@every 1s")  # the readers' own times rule, not this
    seeds("budget.json", article("Council passes budget", BUDGET))
    weekly = ("--every", "weekly", "--day", _not_today(), "--at", "07:00")
    assert run_cli("subscribers", "add", "ann@example.org", *weekly, env=env).code == 0
    first = serve(env)
    until(lambda: first.text().count(" INFO ") >= 2, 20, f"serve started:\n{first.text()}")
    time.sleep(1.5)  # more than one DIGEST_SCHEDULE period passes
    assert first.stop() == 0
    status = run_cli("status", env=env)
    assert "overdue" not in status.out
    (line,) = [s for s in status.out.splitlines() if s.startswith("next run:")]
    assert "ann@example.org" in line and "07:00" in line
    second = serve(env)
    until(lambda: second.text().count(" INFO ") >= 2, 20, f"serve started:\n{second.text()}")
    assert second.stop() == 0
    assert "missed" not in second.text() and "running it now" not in second.text()
    assert smtp.messages == []


def test_serve_logs_each_readers_run_with_articles_duration_and_next_send(
    smtp: Server, seeds: SeedWriter, serve: Callable[..., Serve]
) -> None:
    env = smtp.env(DIGEST_SCHEDULE="@every 2s")
    seeds("budget.json", article("Council passes budget", BUDGET))
    seeds("library.json", article("Library opens late", LIBRARY))
    assert run_cli("subscribers", "add", "bob@example.org", env=env).code == 0
    process = serve(env)
    until(lambda: len(smtp.messages) == 1, 20, "bob's digest")
    process.wait_for("readers due:")
    assert process.stop() == 0
    line = next(s for s in process.text().splitlines() if "readers due:" in s)
    assert re.search(
        r"INFO readers due: sent: digest of 2 article\(s\) to bob@example\.org;"
        r" \d+\.\d s; next send (due since )?\d{4}-\d\d-\d\d \d\d:\d\d",
        line,
    ), line
    assert "WARNING" not in process.text()
