"""`digest run` with readers tells each digest apart; `run --due` is one serve step (cron)."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import pytest
from conftest import SeedWriter, SmtpServer, free_port, run_cli

pytestmark = pytest.mark.slow  # the real CLI in child processes, a real SMTP server

BUDGET = (
    "The city council approved a new budget on Tuesday after a long debate. "
    "The plan adds money for parks and libraries. Critics said taxes will rise."
)
FERRY = (
    "The harbour will get a new ferry terminal by next summer, the port authority said. "
    "Ferries to the islands will leave every half hour once it opens."
)


def _seed_two(seeds: SeedWriter) -> None:
    seeds("budget.json", json.dumps({"title": "Council passes budget", "text": BUDGET}))
    seeds("ferry.json", json.dumps({"title": "New ferry terminal", "text": FERRY}))


def _not_today() -> str:
    return ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[(datetime.now().weekday() + 2) % 7]


def _add(env: dict[str, str], email: str, *options: str) -> None:
    result = run_cli("subscribers", "add", email, *options, env=env)
    assert result.code == 0, result.err


def test_run_with_readers_reports_each_digest_and_whether_it_was_delivered(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    _seed_two(seeds)
    env = smtp_server.env()
    _add(env, "ann@example.org", "--include", "budget")
    _add(env, "bob@example.org")
    result = run_cli("run", env=env)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert any(
        re.fullmatch(r"sent: digest of 1 article\(s\) to ann@example\.org, saved as .+\.eml", s)
        for s in lines
    ), lines
    assert any(
        re.fullmatch(r"sent: digest of 2 article\(s\) to bob@example\.org, saved as .+\.eml", s)
        for s in lines
    ), lines
    assert "queued" not in result.out + result.err
    assert len(smtp_server.messages) == 2


def test_run_with_readers_says_queued_when_the_relay_is_down(
    tmp_path: Path, seeds: SeedWriter
) -> None:
    _seed_two(seeds)
    env = {"DIGEST_SMTP_HOST": "127.0.0.1", "DIGEST_SMTP_PORT": str(free_port())}
    env |= {"DIGEST_SMTP_SECURITY": "none", "DIGEST_SMTP_ATTEMPTS": "1"}
    _add(env, "ann@example.org")
    result = run_cli("run", env=env)
    assert result.code == 1
    assert re.search(r"^queued: digest of 2 article\(s\) for ann@example\.org", result.out, re.M)
    assert "sent" not in result.out


def test_subscribers_list_and_status_show_when_each_reader_is_next_due(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    env = {"DIGEST_TIMEZONE": "UTC"}
    _add(env, "ann@example.org", "--every", "weekly", "--day", _not_today(), "--at", "07:00")
    _add(env, "bob@example.org", "--at", "18:30")
    listed = run_cli("subscribers", "list", env=env).out.splitlines()
    assert re.search(r"next due \d{4}-\d\d-\d\d 07:00:00 UTC$", listed[0]), listed
    assert re.search(r"next due \d{4}-\d\d-\d\d 18:30:00 UTC$", listed[1]), listed
    as_json = [
        json.loads(s) for s in run_cli("subscribers", "list", "--json", env=env).out.splitlines()
    ]
    assert all(re.match(r"\d{4}-\d\d-\d\dT", r["next_due"]) for r in as_json)
    status = run_cli("status", env=env).out
    (line,) = [s for s in status.splitlines() if s.startswith("next run:")]
    assert "bob@example.org" in line and "18:30" in line  # the first reader due


def test_run_due_sends_only_to_readers_whose_time_has_come(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    _seed_two(seeds)
    env = smtp_server.env(DIGEST_SCHEDULE="@every 60s")  # not due in this test's time
    _add(env, "ann@example.org", "--every", "weekly", "--day", _not_today(), "--at", "07:00")
    _add(env, "bob@example.org")  # follows DIGEST_SCHEDULE, counted from when he joined
    early = run_cli("run", "--due", env=env)
    assert early.code == 0, early.err
    assert "no reader is due" in early.out and "bob@example.org" in early.out
    assert smtp_server.messages == []
    time.sleep(1.1)
    due = run_cli("run", "--due", env=env | {"DIGEST_SCHEDULE": "@every 1s"})  # bob's time
    assert due.code == 0, due.err
    assert [m.rcpt_tos for m in smtp_server.messages] == [["bob@example.org"]]
    assert "sent: digest of 2 article(s) to bob@example.org, saved as" in due.out
    assert "ann@example.org" not in due.out


def test_run_due_without_readers_follows_digest_schedule(
    tmp_path: Path, seeds: SeedWriter, smtp_server: SmtpServer
) -> None:
    _seed_two(seeds)
    env = smtp_server.env(DIGEST_SCHEDULE="@every 60s", DIGEST_TO="ann@example.org")
    first = run_cli("run", "--due", env=env)
    assert first.code == 0, first.err
    assert "counting DIGEST_SCHEDULE from now" in first.out
    again = run_cli("run", "--due", env=env)
    assert "not due yet; next run" in again.out
    assert smtp_server.messages == []
    time.sleep(1.1)
    due = run_cli("run", "--due", env=env | {"DIGEST_SCHEDULE": "@every 1s"})  # its time came
    assert due.code == 0, due.err
    assert len(smtp_server.messages) == 1 and "sent: digest of 2 article(s)" in due.out
