"""`digest serve`: send digests on a schedule, remember the last run, stop on a signal.

The schedule itself (parsing, fire times) is `digest.runs.schedule`. The loop around
it is ours rather than APScheduler's BlockingScheduler, because what `digest
serve` promises rests on state APScheduler does not own: the last scheduled run
lives in our state database (a run missed while the process was down is sent
once at the next start, never replayed and never lost to `misfire_grace_time`
or `replace_existing`), the run lock is shared with a manual `digest run`, and
a stop signal must let the SMTP conversation in flight finish in this very
thread. A loop asking "has a fire time come since the last run?" a few times a
second does all that in a few lines, runs one digest at a time by construction,
and rechecking the wall clock each time copes with suspend, NTP steps and a
clock set back.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from digest.errors import DigestError, LockBusyError, SettingsError, StateError, path_error
from digest.records import Clock, Reporter, utc_now
from digest.runs import run as pipeline
from digest.runs.schedule import Schedule, next_fire, parse_schedule, utc
from digest.settings import Settings, path_settings
from digest.store import Store

if TYPE_CHECKING:
    from digest.runs import cadence

log = logging.getLogger("digest")

LAST_RUN_KEY = "scheduler.last_run"
NAP_SECONDS = 0.5  # the loop looks at the clock, and for a stop signal, this often

# --- the last scheduled run, kept in the state database


def last_run(store: Store) -> datetime | None:
    """When the last scheduled run started (or `digest serve` first started)."""
    raw = store.get_meta(LAST_RUN_KEY)
    try:
        return datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _save_last_run(state_dir: Path, at: datetime) -> None:
    store = Store.open(state_dir)
    try:
        store.set_meta(LAST_RUN_KEY, at.astimezone(UTC).isoformat())
    finally:
        store.close()


_SENDERS = "`digest serve` or `digest run --due`"


def next_run_text(settings: Settings, last: datetime | None, now: datetime) -> str:
    """The "next run" of `digest status`; a bad schedule is shown here, not raised."""
    try:
        schedule = parse_schedule(settings.schedule, settings.timezone)
    except SettingsError as exc:
        return f"none: {exc}"
    fire = next_fire(schedule, last if last is not None and last <= now else now)
    if fire is None:
        return "none"
    if last is None:
        return f"{schedule.when(fire)}, {schedule.words}, once {_SENDERS} runs"
    if utc(fire) <= utc(now):
        return f"overdue since {schedule.when(fire)}; {_SENDERS} sends it at once"
    return f"{schedule.when(fire)}, {schedule.words}"


def _handled(schedule: Schedule, fire: datetime, started: datetime) -> datetime:
    """What to remember as the last run: on time, the fire time itself (no drift); behind by
    more than one fire time, the start (the missed ones were this one run)."""
    following = next_fire(schedule, fire)
    return fire if following is not None and utc(following) > started else started


def reader_sends(settings: Settings, store: Store) -> list[cadence.NextSend] | None:
    """Each active reader's next send, or None when there are no subscribers at all."""
    from digest.runs import cadence

    return cadence.next_sends(settings, store) if store.has_subscribers() else None


def _log_reader_start(sends: list[cadence.NextSend], now: datetime) -> None:
    from digest.runs import cadence

    first = sends[0] if sends else None
    if first is not None and first.at is not None and first.at <= now:
        log.info(
            "the send due %s to %s was missed while stopped: sending it now",
            first.when,
            first.reader.email,
        )
        return
    text = cadence.next_send_text(sends, now)
    log.info("%d active reader(s), each on their own time; next send %s", len(sends), text)


# --- the serve loop

Outcome = tuple[int, str]  # a logging level and what the run did


class Service:
    """The `digest serve` loop: when a fire time has come, run one digest."""

    def __init__(
        self,
        settings: Settings,
        schedule: Schedule,
        *,
        clock: Clock = utc_now,
        run: Callable[[], Outcome] | None = None,
    ) -> None:
        self.settings = settings
        self.schedule = schedule
        self.clock = clock
        self._run = run or self._run_digest
        self.last = utc(clock())
        self.stop_signal: int | None = None
        from digest.runs import cadence  # with subscribers, each follows their own times

        self.readers = cadence.ReaderCadences(settings, clock) if run is None else None

    def start(self) -> None:
        """Load the last scheduled run; the very first start only sets the baseline."""
        now = utc(self.clock())
        store = Store.open(self.settings.state_dir, readonly=True)
        try:
            last = last_run(store)
            sends = reader_sends(self.settings, store) if self.readers is not None else None
        finally:
            store.close()
        s = self.schedule
        log.info("schedule %r: %s, time zone %s", s.text, s.words, s.zone_name)
        if sends is not None:  # readers have their own times: DIGEST_SCHEDULE waits meanwhile
            self._remember(now)
            _log_reader_start(sends, now)
            return
        if last is None or last > now:
            why = "first start" if last is None else "the clock is behind the last run"
            log.info("%s: counting the schedule from now", why)
            self._remember(now)
        else:
            self.last = utc(last)
        fire = next_fire(s, self.last)
        if fire is not None and utc(fire) <= now:
            log.info("the run due %s was missed while stopped: running it now", s.when(fire))
        else:
            log.info("next run %s", s.when(fire) if fire else "never")

    def serve_forever(self) -> None:
        while self.stop_signal is None:
            pause = self.step()
            if pause > 0 and self.stop_signal is None:
                time.sleep(pause)

    def step(self) -> float:
        """Run once if a fire time has come; return the seconds to wait before looking again."""
        now = utc(self.clock())
        pause = self.readers.step(now) if self.readers is not None else None
        if pause is not None:
            self.last = now  # readers have their own times; DIGEST_SCHEDULE counts from now
            return pause
        if now < self.last:  # the clock was set back: count the schedule from now
            self.last = now
        fire = next_fire(self.schedule, self.last)
        if fire is None:
            return NAP_SECONDS
        if utc(fire) > now:
            return min((utc(fire) - now).total_seconds(), NAP_SECONDS)
        self._run_for(fire, now)
        return 0.0

    def _run_for(self, fire: datetime, started: datetime) -> None:
        began = time.monotonic()
        level, outcome = self._run()
        self._remember(_handled(self.schedule, fire, started))
        upcoming = next_fire(self.schedule, self.last)
        log.log(
            level,
            "run due %s: %s, %.1f s; next run %s",
            self.schedule.when(fire),
            outcome,
            time.monotonic() - began,
            self.schedule.when(upcoming) if upcoming else "never",
        )

    def _remember(self, at: datetime) -> None:
        self.last = utc(at)
        try:
            _save_last_run(self.settings.state_dir, at)
        except StateError as exc:
            log.error("cannot record the scheduled run: %s", exc)

    def _run_digest(self) -> Outcome:
        try:
            result = pipeline.run_once(
                self.settings,
                clock=self.clock,
                reporter=Reporter(log.warning),
                send_empty=self.settings.send_empty,
            )
        except LockBusyError:
            return logging.WARNING, "skipped: another digest run holds the lock and sends"
        except DigestError as exc:
            return logging.ERROR, f"failed: {exc}"
        except OSError as exc:  # a folder setting that cannot be used: named, and serve goes on
            return logging.ERROR, f"failed: {path_error(exc, path_settings(self.settings))}"
        except Exception:  # a bug: keep serving, the next run may go through
            log.exception("internal error in a scheduled run")
            return logging.ERROR, "failed: internal error (traceback above)"
        return _outcome(result)


def _outcome(result: pipeline.RunResult) -> Outcome:
    articles = result.digest.article_count if result.digest else 0
    text = (
        f"{result.status.replace('-', ' ')}, {articles} article(s), "
        f"{len(result.accepted)} recipient(s) accepted"
    )
    if result.refused:
        text += ", refused: " + "; ".join(result.refused)
    if result.errors:
        return logging.ERROR, f"{text}, error: {result.errors[0]}"
    return logging.INFO, text


def serve(settings: Settings) -> int:
    """Send digests on the schedule until SIGTERM or Ctrl-C; return the exit status."""
    schedule = parse_schedule(settings.schedule, settings.timezone)
    service = Service(settings, schedule)
    service.start()
    stop_web = _start_web(settings)
    _stop_on_signals(service)
    service.serve_forever()
    if stop_web is not None:
        stop_web()
    if service.stop_signal is not None:
        log.info("stopped by %s", signal.Signals(service.stop_signal).name)
    return 0


def _start_web(settings: Settings) -> Callable[[], None] | None:
    """The reader pages in a thread beside the schedule, when DIGEST_WEB_LISTEN is set."""
    if settings.web_listen is None:
        return None
    # late: Werkzeug and waitress only when serving pages
    from digest.readers.web import server as webserver

    return webserver.serve_in_background(settings)


def _stop_on_signals(service: Service) -> None:
    def stop(signum: int, frame: FrameType | None) -> None:
        # Only a flag here: logging could re-enter a stream the main thread is
        # writing. The next signal gets the default action and ends the process
        # at once, even mid-SMTP; the message stays queued for the next run.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        service.stop_signal = signum

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


# --- `digest run --due`: one step of the loop, for cron


@dataclass(frozen=True)
class DueRun:
    """What `digest run --due` did: a run, or none; and what comes next, in words."""

    result: pipeline.RunResult | None  # None: nothing was due, nothing ran
    note: str


def run_due(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    reporter: Reporter | None = None,
    fetch: bool = True,
) -> DueRun:
    """Do now what `digest serve` would: send to the readers whose time has come, or (no
    readers) DIGEST_TO's digest when a DIGEST_SCHEDULE time has come since the last one."""
    from digest.runs import cadence

    now = utc(clock())
    schedule = parse_schedule(settings.schedule, settings.timezone)
    with Store.open(settings.state_dir) as store:
        sends, last = reader_sends(settings, store), last_run(store)
    run = partial(pipeline.run_once, settings, clock=clock, reporter=reporter, fetch=fetch)
    if sends is not None:
        if not sends or sends[0].at is None or sends[0].at > now:
            return DueRun(None, f"no reader is due; next send {cadence.next_send_text(sends, now)}")
        result = run(send_empty=settings.send_empty, due=cadence.due_by_schedule(settings, now))
        with Store.open(settings.state_dir, readonly=True) as store:
            after = cadence.next_sends(settings, store)
        return DueRun(result, f"next send {cadence.next_send_text(after, utc(clock()))}")
    if last is None or last > now:
        _save_last_run(settings.state_dir, now)
        return DueRun(None, f"counting DIGEST_SCHEDULE from now; next run {_next(schedule, now)}")
    fire = next_fire(schedule, last)
    if fire is None or utc(fire) > now:
        return DueRun(None, f"not due yet; next run {_next(schedule, last)}")
    result = run(send_empty=settings.send_empty)
    handled = _handled(schedule, fire, now)
    _save_last_run(settings.state_dir, handled)
    return DueRun(result, f"next run {_next(schedule, handled)}")


def _next(schedule: Schedule, after: datetime) -> str:
    fire = next_fire(schedule, after)
    return schedule.when(fire) if fire is not None else "never"
