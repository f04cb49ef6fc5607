"""The run's SMTP connections: opened once, reused for many messages, paced together.

The one owner of connections to the relay. A run holds up to
DIGEST_SMTP_CONNECTIONS of them; each is taken by one sending thread at a
time, handed back after a digest when it is still alive and closed at the end
of the run. DIGEST_SMTP_RATE is one `Pace` shared by every connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from digest.settings import Settings

if TYPE_CHECKING:  # smtplib loads when a message goes out by SMTP, not for every run
    from digest.delivery import smtp


class Sender(Protocol):
    """What delivery needs from a transport (SMTP in production)."""

    def send(self, data: bytes, sender: str, recipient: str) -> smtp.Refused | None: ...


SenderFactory = Callable[[], AbstractContextManager[Sender]]


def smtp_factory(settings: Settings) -> SenderFactory:
    """Opens one SMTP session with the settings (the only place a connection is made)."""

    def connect() -> AbstractContextManager[Sender]:
        from digest.delivery import smtp  # smtplib only once a message goes out

        return smtp.SmtpSender(settings)

    return connect


@dataclass(frozen=True)
class Retry:
    """How hard to try before leaving a message queued for the next run."""

    attempts: int = 3  # tries per connection thread and per recipient, the first included
    backoff: float = 2.0  # seconds before the second try, doubling after
    sleep: Callable[[float], None] = time.sleep


class Pace:
    """At most `rate` messages a second across all connections; None means no limit."""

    def __init__(
        self,
        rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._gap = 1.0 / rate if rate else 0.0
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Return when the next message may go: at least 1/rate seconds after the last one."""
        if not self._gap:
            return
        with self._lock:  # claim a slot; the sleeping happens outside the lock
            now = self._clock()
            slot = now if self._next is None or now >= self._next else self._next
            self._next = slot + self._gap
        if slot > now:
            self._sleep(slot - now)


class Connection:
    """One open session: the context manager that made it and the transport it gave."""

    def __init__(self, held: AbstractContextManager[Sender]) -> None:
        self._held = held
        self.transport = held.__enter__()
        self.accepted = 0  # messages taken over this connection

    @property
    def alive(self) -> bool:
        """False once the server hung up (smtplib closes the socket on a 421)."""
        return bool(getattr(self.transport, "alive", True))

    def close(self) -> None:
        try:
            self._held.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 - a session that will not say goodbye is gone anyway
            pass


class Connections:
    """Up to `size` sessions to the relay, kept open between the digests of one run."""

    def __init__(self, open_sender: SenderFactory, size: int = 1) -> None:
        self._open = open_sender
        self.size = max(1, size)
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def take(self) -> Connection:
        """An idle open session, else a new one (DeliveryError when it cannot be opened)."""
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if conn.alive:
                    return conn
                conn.close()
        return Connection(self._open())

    def give(self, conn: Connection) -> None:
        """Keep a session for the next digest, or close it when the server hung up."""
        if not conn.alive:
            conn.close()
            return
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
