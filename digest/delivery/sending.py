"""One queued message to its recipients over several connections at once.

The calling thread reads each recipient's status and makes their bytes (address,
tokens); one thread per connection signs (DKIM) and speaks SMTP; one more
records every answer in the store, over its own connection to the database, so
that nobody waits while a commit reaches the disk. A recipient is marked only
after the server's answer, at once: the answers that came in while the last
commit was being written go in the next one (a group commit). Sending waits
when more than AHEAD answers a connection are not yet committed, so a crash
resends at most those: the messages accepted in the moment before it.

One recipient never holds back the others: a refusal settles that recipient;
a connection lost while sending to them (a 421, a drop, a timeout) puts them
at the back of the line on a fresh connection, and after DIGEST_SMTP_ATTEMPTS
such tries, while others get through, they are set aside for the next run with
one line saying why. A connection that gets nobody through is a strike for its
thread (backoff, then a new one); after DIGEST_SMTP_ATTEMPTS strikes it stops,
and what is left stays queued.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.errors import DeliveryError

if TYPE_CHECKING:
    from digest.delivery.connections import Connection, Connections, Pace, Retry

# Makes one recipient's bytes from the saved message; None: do not send to them (a reader
# who unsubscribed or bounces since the message was queued).
Addresser = Callable[[str], bytes | None]
DROPPED = "dropped"  # the delivery status of a recipient not sent to on purpose

# (recipient, status, error) rows for the store, recorded together
Record = Callable[[list[tuple[str, str, str | None]]], None]
# opens the store for the recording thread (a database connection belongs to its thread)
OpenRecord = Callable[[], AbstractContextManager[Record]]
AHEAD = 2  # messages made ready per connection: a status read is at most this far ahead


@dataclass
class Item:
    """One recipient's bytes on their way, with the transient failures they met so far."""

    recipient: str
    data: bytes
    tries: int = 0
    delay: float = 0.0  # seconds to wait before sending (after a temporary refusal)


@dataclass(frozen=True)
class Outcome:
    """What a connection thread reports: one recipient's answer, or that it stopped."""

    kind: str  # accepted | refused | temporary | broken | unsent | done
    item: Item | None = None
    reason: str = ""
    error: DeliveryError | None = None


@dataclass
class Tally:
    """What `send_all` achieved (the caller turns it into a DeliveryReport)."""

    accepted: list[str]
    refused: list[str]
    errors: list[DeliveryError]
    temporary: str = ""
    left: int = 0  # recipients still pending when the connections gave up


@dataclass(frozen=True)
class Plan:
    """How to send: the connections, the pace, the retries, the envelope sender."""

    connections: Connections
    pace: Pace
    retry: Retry
    sender: str
    sign: Callable[[bytes], bytes] | None = None  # DKIM, by the connection threads (OpenSSL
    # lets go of the GIL: the signatures use the second core while this thread goes on)


class _Worker(threading.Thread):
    """Speaks SMTP over one connection: takes items, sends, reports each outcome."""

    def __init__(
        self, plan: Plan, work: queue.SimpleQueue[Item | None], out: queue.SimpleQueue[Outcome]
    ):
        super().__init__(daemon=True)
        self.plan, self.work, self.out = plan, work, out
        self.stop = threading.Event()
        self.strikes = 0

    def run(self) -> None:
        conn: Connection | None = None
        error: DeliveryError | None = None
        try:
            while (item := self.work.get()) is not None:
                if self.stop.is_set():
                    self.out.put(Outcome("unsent", item))
                    continue
                conn, error = self._one(conn, item)
                if error is not None:
                    break
        except Exception as exc:  # noqa: BLE001 - one line for the run, never a thread traceback
            error = DeliveryError(f"sending stopped: {exc!r}", _RETRIED)
        finally:
            if conn is not None:
                self.plan.connections.give(conn)
            self.out.put(Outcome("done", error=error))

    def _one(
        self, conn: Connection | None, item: Item
    ) -> tuple[Connection | None, DeliveryError | None]:
        """Send one item; the connection to go on with, and an error when this thread stops."""
        plan = self.plan
        if conn is None:
            try:
                conn = plan.connections.take()
            except DeliveryError as exc:
                self.out.put(Outcome("unsent", item, error=exc))
                return None, self._strike(exc)
        if item.delay:
            plan.retry.sleep(item.delay)
        data = plan.sign(item.data) if plan.sign is not None else item.data
        plan.pace.wait()
        try:
            refused = conn.transport.send(data, plan.sender, item.recipient)
        except DeliveryError as exc:
            return self._broken(conn, item, exc, exc.message)
        if refused is None:
            conn.accepted += 1
            self.strikes = 0
            self.out.put(Outcome("accepted", item))
        elif refused.code == 421 or not conn.alive:  # the server hung up on this connection
            why = f"the SMTP server closed the connection: {refused.code} {refused.reason}"
            return self._broken(conn, item, DeliveryError(why, _RETRIED), why)
        else:
            kind = "refused" if refused.permanent else "temporary"
            self.out.put(Outcome(kind, item, f"{refused.code} {refused.reason}"))
        return conn, None

    def _broken(
        self, conn: Connection, item: Item, exc: DeliveryError, why: str
    ) -> tuple[None, DeliveryError | None]:
        conn.close()
        self.out.put(Outcome("broken", item, why, exc))
        if exc.permanent:
            return None, exc
        return None, None if conn.accepted else self._strike(exc)

    def _strike(self, exc: DeliveryError) -> DeliveryError | None:
        """A connection that got nobody through: back off, or stop after the attempts."""
        self.strikes += 1
        retry = self.plan.retry
        if exc.permanent or self.strikes >= retry.attempts:
            return exc
        retry.sleep(retry.backoff * 2 ** (self.strikes - 1))
        return None


_RETRIED = "the message stays queued and is retried on the next run"


class _Recorder(threading.Thread):
    """Commits the answers as they come, in a thread of its own: a group commit.

    The rows handed over while a commit is being written go in the next one. The
    sending thread waits in `add` while more than `most` rows wait for a commit, so a
    crash forgets at most those and the ones being committed: no more than a slow
    disk lets pile up. An error in recording reaches the sending thread.
    """

    def __init__(self, open_record: OpenRecord, most: int) -> None:
        super().__init__(daemon=True)
        self.open_record, self.most = open_record, most
        self.rows: list[tuple[str, str, str | None]] = []
        self.more = threading.Condition()
        self.ready = threading.Event()
        self.closed = False
        self.error: BaseException | None = None

    def begin(self) -> None:
        """Start; return once the store is open for recording (or raise why it is not)."""
        self.start()
        self.ready.wait()
        self.check()

    def add(self, rows: list[tuple[str, str, str | None]]) -> None:
        with self.more:
            self.rows.extend(rows)
            self.more.notify_all()
            while len(self.rows) > self.most and self.error is None:
                self.more.wait()
        self.check()

    def check(self) -> None:
        """Raise what went wrong in recording, in the calling thread."""
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        with self.more:
            self.closed = True
            self.more.notify_all()
        self.join()
        self.check()

    def run(self) -> None:
        try:
            with self.open_record() as record:
                self.ready.set()
                while (rows := self._next()) is not None:
                    record(rows)
        except BaseException as exc:  # noqa: BLE001 - handed to the sending thread
            self.error = exc
        finally:
            self.ready.set()
            with self.more:  # a waiting `add` sees the error
                self.more.notify_all()

    def _next(self) -> list[tuple[str, str, str | None]] | None:
        """The rows gathered since the last commit (waiting for some); None at the end."""
        with self.more:
            while not self.rows and not self.closed:
                self.more.wait()
            rows, self.rows = self.rows, []
            self.more.notify_all()  # room again for a waiting `add`
        return rows or None


class _Run:
    """The calling thread's side of `send_all`: dispatch, collect, record."""

    def __init__(self, plan: Plan, address: Addresser, record: OpenRecord, pending: list[str]):
        self.plan, self.address = plan, address
        self.todo: deque[str] = deque(pending)
        self.again: deque[Item] = deque()
        self.tally = Tally([], [], [])
        self.rows: list[tuple[str, str, str | None]] = []
        self.work: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self.out: queue.SimpleQueue[Outcome] = queue.SimpleQueue()
        count = min(plan.connections.size, len(pending)) or 1
        self.workers = [_Worker(plan, self.work, self.out) for _ in range(count)]
        self.recorder = _Recorder(record, AHEAD * count)
        self.in_flight = 0
        self.last_error: DeliveryError | None = None

    def go(self) -> Tally:
        self.recorder.begin()
        for w in self.workers:
            w.start()
        alive, closed = len(self.workers), False
        try:
            while alive:
                self._dispatch()
                done = self._stopping or not (self.todo or self.again)
                if not closed and self.in_flight == 0 and done:
                    closed = self._close()
                alive -= self._collect()
                self._flush()
        finally:
            if alive:  # making a recipient's bytes failed: record what went out, then stop
                self._stop_all()
            try:
                self._flush()
            finally:
                self.recorder.close()
        return self._finish()

    def _stop_all(self) -> None:
        for w in self.workers:
            w.stop.set()
        self._close()
        for w in self.workers:
            w.join()
        while True:
            try:
                self._handle(self.out.get_nowait())
            except queue.Empty:
                return

    @property
    def _stopping(self) -> bool:
        """A permanent error (a login refused, TLS failed): nothing more is sent this run."""
        return any(w.stop.is_set() for w in self.workers)

    def _dispatch(self) -> None:
        """Keep AHEAD items a connection on their way (none waits while the store commits);
        each reader's status is read and their bytes made only then."""
        if self._stopping:
            return
        while self.in_flight < AHEAD * len(self.workers) and (self.again or self.todo):
            item = self.again.popleft() if self.again else self._item(self.todo.popleft())
            if item is not None:
                self.work.put(item)
                self.in_flight += 1

    def _item(self, recipient: str) -> Item | None:
        try:
            data = self.address(recipient)
        except (UnicodeError, ValueError) as exc:
            reason = f"cannot be written for this address ({exc})"
            self.rows.append((recipient, "rejected", reason))
            self.tally.refused.append(f"{recipient} ({reason})")
            return None
        if data is None:
            self.rows.append((recipient, DROPPED, None))
            return None
        return Item(recipient, data)

    def _close(self) -> bool:
        for _ in self.workers:
            self.work.put(None)
        return True

    def _collect(self) -> int:
        """Handle the outcomes that came in (waiting for one); how many threads ended."""
        ended = 0
        outcome: Outcome | None = self.out.get()
        while outcome is not None:
            ended += self._handle(outcome)
            try:
                outcome = self.out.get_nowait()
            except queue.Empty:
                outcome = None
        return ended

    def _handle(self, o: Outcome) -> int:
        if o.kind == "done":
            if o.error is not None:
                self.last_error = o.error
                if o.error.permanent:
                    for w in self.workers:
                        w.stop.set()
            return 1
        assert o.item is not None
        item, self.in_flight = o.item, self.in_flight - 1
        if o.kind == "accepted":
            self.rows.append((item.recipient, "accepted", None))
            self.tally.accepted.append(item.recipient)
        elif o.kind == "refused":
            self.rows.append((item.recipient, "rejected", o.reason))
            self.tally.refused.append(f"{item.recipient} ({o.reason})")
        elif o.kind == "unsent":
            self.again.append(item)
        else:
            self._transient(item, o)
        return 0

    def _transient(self, item: Item, o: Outcome) -> None:
        """A 4xx refusal or a lost connection: again later, or set aside for the next run."""
        item.tries += 1
        retry = self.plan.retry
        if item.tries < retry.attempts:
            item.delay = retry.backoff * 2 ** (item.tries - 1) if o.kind == "temporary" else 0.0
            self.again.append(item)
            return
        if o.kind == "temporary":
            self.rows.append((item.recipient, "pending", o.reason))
            self.tally.temporary = f"{item.recipient} ({o.reason})"
            self.tally.left += 1
        elif self.tally.accepted:  # the server takes others: this recipient breaks it
            self.rows.append((item.recipient, "pending", o.reason))
            why = f"{o.reason}, {item.tries} times while sending to them"
            self.tally.errors.append(
                DeliveryError(f"not sent to {item.recipient} this run: {why}", _RETRIED)
            )
        else:
            self.again.append(item)  # nobody gets through: the server's fault, not theirs

    def _flush(self) -> None:
        """Hand the answers gathered to the recording thread (it commits them together)."""
        if self.rows:
            rows, self.rows = self.rows, []
            self.recorder.add(rows)

    def _finish(self) -> Tally:
        left = len(self.todo) + len(self.again) + self.in_flight
        self.tally.left += left
        if left and self.last_error is not None:
            self.tally.errors.append(self.last_error)
        return self.tally


def send_all(plan: Plan, address: Addresser, record: OpenRecord, pending: list[str]) -> Tally:
    """Send to every pending recipient over up to `plan.connections.size` connections;
    `record` opens what records their answers, in the recording thread."""
    return _Run(plan, address, record, pending).go()
