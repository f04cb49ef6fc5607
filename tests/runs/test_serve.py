"""The serve loop with a fixed clock and a stand-in run, the last-run state, `digest status`."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers import FakeClock

from digest.errors import SettingsError
from digest.runs import run as pipeline
from digest.runs import serve as scheduler
from digest.runs.lock import run_lock
from digest.runs.schedule import next_fire, parse_schedule
from digest.runs.serve import Service
from digest.settings import Settings, load_settings
from digest.store import Store

BERLIN = "Europe/Berlin"

# --- the loop, with a fixed clock and a stand-in run


T0 = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


def service(
    tmp_path: Path, text: str, clock: FakeClock, runs: list[datetime], took: float = 0.0
) -> Service:
    def run() -> tuple[int, str]:
        runs.append(clock.now)
        clock.now += timedelta(seconds=took if len(runs) == 1 else 0)  # only the first is slow
        return logging.INFO, "sent"

    settings = Settings(state_dir=tmp_path / "state")
    return Service(settings, parse_schedule(text, "UTC"), clock=clock, run=run)


def saved_last_run(tmp_path: Path) -> datetime | None:
    store = Store.open(tmp_path / "state", readonly=True)
    try:
        return scheduler.last_run(store)
    finally:
        store.close()


def test_first_start_waits_for_the_schedule_and_records_a_baseline(tmp_path: Path) -> None:
    clock, runs = FakeClock(T0), list[datetime]()
    svc = service(tmp_path, "@every 10s", clock, runs)
    svc.start()
    assert saved_last_run(tmp_path) == T0
    assert svc.step() == scheduler.NAP_SECONDS
    clock.now = T0 + timedelta(seconds=9.9)
    assert svc.step() == pytest.approx(0.1)
    assert runs == []
    clock.now = T0 + timedelta(seconds=10.2)
    assert svc.step() == 0.0
    assert runs == [T0 + timedelta(seconds=10.2)]


def test_restart_after_many_missed_runs_runs_once_then_keeps_the_schedule(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock, runs = FakeClock(T0), list[datetime]()
    service(tmp_path, "@every 10s", clock, runs).start()  # first start, then "stopped"
    clock.now = T0 + timedelta(hours=1, seconds=3)  # 360 fire times went by
    svc = service(tmp_path, "@every 10s", clock, runs)
    with caplog.at_level(logging.INFO, logger="digest"):
        svc.start()
        assert svc.step() == 0.0
    assert "was missed while stopped: running it now" in caplog.text
    assert "run due 2024-01-01 12:00:10 UTC: sent" in caplog.text
    assert runs == [clock.now]
    assert svc.step() > 0  # coalesced: nothing replayed
    assert runs == [clock.now]
    assert saved_last_run(tmp_path) == clock.now
    clock.now += timedelta(seconds=10)
    svc.step()
    assert len(runs) == 2


def test_restart_before_the_due_time_does_not_run(tmp_path: Path) -> None:
    clock, runs = FakeClock(T0), list[datetime]()
    service(tmp_path, "0 13 * * *", clock, runs).start()
    clock.now = T0 + timedelta(minutes=59)
    svc = service(tmp_path, "0 13 * * *", clock, runs)
    svc.start()
    assert svc.step() == scheduler.NAP_SECONDS
    clock.now = T0 + timedelta(hours=1)
    svc.step()
    assert runs == [T0 + timedelta(hours=1)]


def test_runs_on_time_keep_the_beat_without_drift(tmp_path: Path) -> None:
    clock, runs = FakeClock(T0), list[datetime]()
    svc = service(tmp_path, "@every 10s", clock, runs)
    svc.start()
    for n in range(1, 4):
        clock.now = T0 + timedelta(seconds=10 * n + 0.4)  # the loop wakes a little late
        svc.step()
    assert saved_last_run(tmp_path) == T0 + timedelta(seconds=30)
    assert next_fire(svc.schedule, svc.last) == T0 + timedelta(seconds=40)


def test_a_run_longer_than_the_interval_is_followed_by_one_run_not_a_backlog(
    tmp_path: Path,
) -> None:
    clock, runs = FakeClock(T0), list[datetime]()
    svc = service(tmp_path, "@every 10s", clock, runs, took=35.0)
    svc.start()
    clock.now = T0 + timedelta(seconds=10)
    svc.step()  # takes 35 s: three fire times pass meanwhile
    assert svc.step() == 0.0  # one more at once...
    assert svc.step() > 0  # ...then back to waiting
    assert len(runs) == 2


def test_clock_set_back_does_not_stall_the_schedule(tmp_path: Path) -> None:
    clock, runs = FakeClock(T0), list[datetime]()
    svc = service(tmp_path, "@every 10s", clock, runs)
    svc.start()
    clock.now = T0 - timedelta(hours=1)
    assert svc.step() <= scheduler.NAP_SECONDS
    clock.now += timedelta(seconds=10)
    svc.step()
    assert runs == [T0 - timedelta(hours=1) + timedelta(seconds=10)]


def test_a_busy_lock_skips_the_scheduled_run_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "LOCK_WAIT_SECONDS", 0.2)
    (tmp_path / "seeds").mkdir()  # a missing seeds folder would stop the run before the lock
    settings = Settings(seeds_dir=tmp_path / "seeds", state_dir=tmp_path / "state")
    svc = Service(settings, parse_schedule("@every 1s", "UTC"))
    with run_lock(settings.state_dir):
        level, text = svc._run_digest()
    assert level == logging.WARNING
    assert text == "skipped: another digest run holds the lock and sends"


# --- what `digest status` shows, and the settings the scheduler reads


def test_status_line_shows_the_next_run_or_the_bad_setting() -> None:
    now = datetime(2024, 1, 5, 12, 0, tzinfo=UTC)  # a Friday
    good = Settings(schedule="0 7 * * mon-fri", timezone=BERLIN)
    expected = "2024-01-08 07:00:00 CET (Europe/Berlin), at 07:00 on Monday–Friday"
    assert scheduler.next_run_text(good, now, now) == expected
    assert scheduler.next_run_text(good, None, now).endswith(
        "once `digest serve` or `digest run --due` runs"
    )
    overdue = scheduler.next_run_text(good, now - timedelta(days=7), now)
    assert overdue.startswith("overdue since 2024-01-01 07:00:00 CET")  # Monday after
    bad = Settings(schedule="0 7 * * 1-8")
    assert scheduler.next_run_text(bad, None, now).startswith(
        "none: DIGEST_SCHEDULE='0 7 * * 1-8': weekday 8 is outside 0-7"
    )


def test_last_run_is_none_in_a_read_only_database_older_than_the_meta_table(
    tmp_path: Path,
) -> None:
    (tmp_path / "state").mkdir()
    sqlite3.connect(tmp_path / "state" / "state.sqlite3").execute("CREATE TABLE x (y)").close()
    assert saved_last_run(tmp_path) is None


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, False), ("true", True), ("YES", True), ("0", False)]
)
def test_send_empty_setting(raw: str | None, expected: bool) -> None:
    environ = {} if raw is None else {"DIGEST_SEND_EMPTY": raw}
    assert load_settings(environ, None).send_empty is expected


def test_send_empty_refuses_other_words() -> None:
    with pytest.raises(SettingsError, match="DIGEST_SEND_EMPTY='maybe': not true or false"):
        load_settings({"DIGEST_SEND_EMPTY": "maybe"}, None)


def test_an_outbox_through_a_file_fails_the_scheduled_run_in_one_line(tmp_path: Path) -> None:
    import shutil

    from conftest import REAL_SEED

    (tmp_path / "seeds").mkdir()
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / "a.txt")
    (tmp_path / "afile").write_text("a file, not a folder\n")
    settings = Settings(
        seeds_dir=tmp_path / "seeds",
        state_dir=tmp_path / "state",
        outbox_dir=tmp_path / "afile" / "outbox",
        workers=1,
    )
    level, text = Service(settings, parse_schedule("@every 1s", "UTC"))._run_digest()
    assert level == logging.ERROR
    assert text.startswith("failed: DIGEST_OUTBOX_DIR=") and "a file, not a folder" in text
