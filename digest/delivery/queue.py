"""Queue a message (state row + outbox file), then hand it to SMTP or the outbox.

The file is saved before the first SMTP attempt, so a crash or an outage
leaves the digest queued; the next run sends it first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from digest.disk import write_atomic
from digest.errors import DeliveryError
from digest.records import QueuedDigest
from digest.settings import Settings
from digest.store import Store

if TYPE_CHECKING:  # smtplib loads when a message goes out by SMTP, not for every run
    from digest.delivery import mail


class Sender(Protocol):
    """What delivery needs from a transport (SMTP in production)."""

    def send(self, data: bytes, sender: str, recipient: str) -> mail.Refused | None: ...


SenderFactory = Callable[[], AbstractContextManager[Sender]]
# Makes one recipient's bytes from the saved message; None: do not send to them (a reader
# who unsubscribed or bounces since the message was queued).
Addresser = Callable[[str], bytes | None]
DROPPED = "dropped"  # the delivery status of a recipient not sent to on purpose


@dataclass
class DeliveryReport:
    """What one delivery pass achieved, for the run's summary line."""

    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[DeliveryError] = field(default_factory=list)
    temporary: str = ""  # the last temporary refusal, for the error line


def save_to_outbox(outbox: Path, stem: str, eml: bytes, html: str) -> Path:
    """Save `<stem>.eml` and an `.html` copy you can open in a browser; return the `.eml`."""
    eml_path = outbox / f"{stem}.eml"
    write_atomic(outbox / f"{stem}.html", html.encode("utf-8"))
    write_atomic(eml_path, eml)
    return eml_path


def deliver_file(
    store: Store, queued: QueuedDigest, at: str, keep: Callable[[str], bool] | None = None
) -> DeliveryReport:
    """With no SMTP host the saved outbox file is the delivery (for those `keep` keeps)."""
    report = DeliveryReport()
    for recipient in queued.pending:
        if keep is not None and not keep(recipient):
            store.mark_delivery(queued.id, recipient, DROPPED, at)
            continue
        store.mark_delivery(queued.id, recipient, "accepted", at)
        report.accepted.append(recipient)
    return report


@dataclass(frozen=True)
class Retry:
    """How hard to try before leaving a message queued for the next run."""

    attempts: int = 3  # connections per run, the first included
    backoff: float = 2.0  # seconds before the second attempt, doubling after
    sleep: Callable[[float], None] = time.sleep


def deliver_smtp(
    store: Store,
    queued: QueuedDigest,
    open_sender: SenderFactory,
    sender: str,
    at: str,
    retry: Retry = Retry(),
    pace: Pace | None = None,
    addresser: Callable[[EmailMessage], Addresser] | None = None,
) -> DeliveryReport:
    """Send the saved message to each pending recipient, recording each answer at once.

    One connection serves every recipient. Temporary failures (no connection,
    4xx) are retried with backoff; a 5xx for one recipient is final for that
    recipient and does not stop the others. When the server hangs up after
    taking some (421, a dropped connection, a relay's per-connection limit), a
    new connection goes on at once with the rest: only connections that get
    nobody through count as attempts.
    """
    from digest.delivery import mail

    report = DeliveryReport()
    msg = _saved_message(queued, report)
    if msg is None:
        return report
    pending, pace, failures = list(queued.pending), pace or Pace(), 0
    address: Addresser = (addresser or mail.addresser)(msg)
    while True:
        before = len(pending)
        error = _attempt(store, queued.id, address, pending, open_sender, sender, at, report, pace)
        if not pending or (error is not None and error.permanent):
            break
        if error is not None and len(pending) < before:
            continue  # hung up after some got through: carry on with the rest
        failures += 1
        if failures >= retry.attempts:
            break
        retry.sleep(retry.backoff * 2 ** (failures - 1))
    if pending:
        report.errors.append(error or _still_refused(queued.id, report.temporary))
    return report


def _saved_message(queued: QueuedDigest, report: DeliveryReport) -> EmailMessage | None:
    """The queued message as saved in the outbox; None (and an error reported) if unreadable."""
    from digest.delivery import mail

    try:
        return mail.parse_message(queued.eml_path.read_bytes())
    except OSError as exc:
        report.errors.append(
            DeliveryError(f"queued message {queued.eml_path} cannot be read: {exc}")
        )
        return None


class Pace:
    """At most `rate` messages a second, for relays that throttle; None means no limit."""

    def __init__(
        self,
        rate: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._gap = 1.0 / rate if rate else 0.0
        self._clock, self._sleep = clock, sleep
        self._next: float | None = None

    def wait(self) -> None:
        """Return when the next message may go: at least 1/rate seconds after the last one."""
        if not self._gap:
            return
        now = self._clock()
        if self._next is not None and now < self._next:
            self._sleep(self._next - now)
            now = self._next
        self._next = now + self._gap


def _attempt(
    store: Store,
    digest_id: int,
    address: Addresser,
    pending: list[str],
    open_sender: SenderFactory,
    sender: str,
    at: str,
    report: DeliveryReport,
    pace: Pace,
) -> DeliveryError | None:
    """One SMTP session over the recipients still pending; removes those settled."""
    settled: set[str] = set()
    try:
        with open_sender() as transport:
            for recipient in pending:
                data = address(recipient)
                if data is None:
                    store.mark_delivery(digest_id, recipient, DROPPED, at)
                    settled.add(recipient)
                    continue
                pace.wait()
                refused = transport.send(data, sender, recipient)
                if _record(store, digest_id, recipient, refused, at, report):
                    settled.add(recipient)
                elif refused is not None and refused.code == 421:
                    # smtplib has closed the connection: the rest need a new one
                    return DeliveryError(
                        f"the SMTP server closed the connection: 421 {refused.reason}",
                        "the message stays queued and is retried on the next run",
                    )
    except DeliveryError as exc:
        return exc
    finally:
        pending[:] = [r for r in pending if r not in settled]
    return None


def _still_refused(digest_id: int, refusal: str) -> DeliveryError:
    return DeliveryError(
        f"digest #{digest_id}: the SMTP server still refuses {refusal}",
        "the message stays queued and is retried on the next run",
    )


def _record(
    store: Store,
    digest_id: int,
    recipient: str,
    refused: mail.Refused | None,
    at: str,
    report: DeliveryReport,
) -> bool:
    """Store one recipient's answer; True when it is final (accepted or refused for good)."""
    if refused is None:
        store.mark_delivery(digest_id, recipient, "accepted", at)
        report.accepted.append(recipient)
        return True
    error = f"{refused.code} {refused.reason}"
    status = "rejected" if refused.permanent else "pending"
    store.mark_delivery(digest_id, recipient, status, at, error)
    if refused.permanent:
        report.refused.append(f"{recipient} ({error})")
    else:
        report.temporary = f"{recipient} ({error})"
    return refused.permanent


# --- one interface, two ways: chosen once per run from the settings


class Delivery(Protocol):
    """Hands a queued message to its recipients and records each answer in the store."""

    where: str  # for the run's summary line: "SMTP" or "the outbox"

    def deliver(self, store: Store, queued: QueuedDigest, at: str) -> DeliveryReport: ...


class OutboxDelivery:
    """With no SMTP host the saved outbox file is the delivery."""

    where = "the outbox"

    def deliver(self, store: Store, queued: QueuedDigest, at: str) -> DeliveryReport:
        return deliver_file(store, queued, at)


class SmtpDelivery:
    """Through the SMTP server, one pace (DIGEST_SMTP_RATE) for the whole run."""

    where = "SMTP"

    def __init__(self, open_sender: SenderFactory, sender: str, retry: Retry, pace: Pace) -> None:
        self.open_sender, self.sender, self.retry, self.pace = open_sender, sender, retry, pace

    def deliver(self, store: Store, queued: QueuedDigest, at: str) -> DeliveryReport:
        return deliver_smtp(store, queued, self.open_sender, self.sender, at, self.retry, self.pace)


def for_settings(settings: Settings, open_sender: SenderFactory | None = None) -> Delivery:
    """SMTP when DIGEST_SMTP_HOST is set, else the outbox; `open_sender` replaces SMTP in tests."""
    if not settings.is_smtp:
        return OutboxDelivery()
    retry = Retry(settings.smtp_attempts, settings.smtp_backoff)
    return SmtpDelivery(
        open_sender or _smtp(settings), settings.sender, retry, Pace(settings.smtp_rate)
    )


def _smtp(settings: Settings) -> SenderFactory:
    def connect() -> AbstractContextManager[Sender]:
        from digest.delivery import mail  # smtplib only once a message goes out

        return mail.SmtpSender(settings)

    return connect
