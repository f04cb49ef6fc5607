"""Queue a message (state row + outbox file), then hand it to SMTP or the outbox.

The file is saved before the first SMTP attempt, so a crash or an outage
leaves the digest queued; the next run sends it first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from digest.delivery.connections import (
    Connections,
    Pace,
    Retry,
    Sender,
    SenderFactory,
    smtp_factory,
)
from digest.delivery.sending import DROPPED, Addresser, Record
from digest.disk import write_atomic
from digest.errors import DeliveryError
from digest.records import QueuedDigest
from digest.settings import Settings
from digest.store import Store

__all__ = [
    "DROPPED",
    "Addresser",
    "Delivery",
    "DeliveryReport",
    "OutboxDelivery",
    "Pace",
    "Retry",
    "Sender",
    "SenderFactory",
    "SmtpDelivery",
    "deliver_file",
    "deliver_smtp",
    "for_settings",
    "save_to_outbox",
]


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
    rows: list[tuple[str, str, str | None]] = []
    for recipient in queued.pending:
        if keep is not None and not keep(recipient):
            rows.append((recipient, DROPPED, None))
            continue
        rows.append((recipient, "accepted", None))
        report.accepted.append(recipient)
    store.mark_deliveries(queued.id, rows, at)
    return report


def deliver_smtp(
    store: Store,
    queued: QueuedDigest,
    open_sender: SenderFactory | Connections,
    sender: str,
    at: str,
    retry: Retry | None = None,
    pace: Pace | None = None,
    addresser: Callable[[bytes], Addresser] | None = None,
    sign: Callable[[bytes], bytes] | None = None,
) -> DeliveryReport:
    """Send the saved message to each pending recipient (digest.delivery.sending), recording
    each answer; `open_sender`: the run's connections, or a factory of one for this message."""
    from digest.delivery import mail
    from digest.delivery.sending import Plan, send_all

    report = DeliveryReport()
    data = _saved_message(queued, report)
    if data is None:
        return report
    mid = mail.parse_headers(data).get("Message-ID")
    if mid:  # recorded when queued; a digest queued by an older release gets it here
        store.remember_message_id(queued.id, str(mid))
    address = addresser(data) if addresser else mail.addresser(mail.parse_message(data))
    if sign is not None:
        sign(_PROBE)  # a key that cannot sign stops here, in one line, before any message
    folder = store.folder()
    own = not isinstance(open_sender, Connections)
    conns = open_sender if isinstance(open_sender, Connections) else Connections(open_sender)
    try:
        tally = send_all(
            Plan(conns, pace or Pace(), retry or Retry(), sender, sign),
            address,
            lambda: _marks(folder, queued.id, at),
            list(queued.pending),
        )
    finally:
        if own:
            conns.close()
    report.accepted, report.refused, report.errors = tally.accepted, tally.refused, tally.errors
    report.temporary = tally.temporary
    if tally.left and not report.errors:
        report.errors.append(_still_refused(queued.id, tally.temporary))
    return report


_PROBE = b"From: probe@invalid\r\n\r\n"


@contextmanager
def _marks(state_dir: Path, digest_id: int, at: str) -> Iterator[Record]:
    """Records answers over a connection of its own (opened in the recording thread)."""
    own = Store.open(state_dir)
    try:
        yield lambda rows: own.mark_deliveries(digest_id, rows, at)
    finally:
        own.close()


def _saved_message(queued: QueuedDigest, report: DeliveryReport) -> bytes | None:
    """The queued message as saved in the outbox; None (and an error reported) if unreadable."""
    try:
        return queued.eml_path.read_bytes()
    except OSError as exc:
        report.errors.append(
            DeliveryError(f"queued message {queued.eml_path} cannot be read: {exc}")
        )
        return None


def _still_refused(digest_id: int, refusal: str) -> DeliveryError:
    return DeliveryError(
        f"digest #{digest_id}: the SMTP server still refuses {refusal}",
        "the message stays queued and is retried on the next run",
    )


# --- one interface, two ways: chosen once per run from the settings


class Delivery(Protocol):
    """Hands a queued message to its recipients and records each answer in the store."""

    where: str  # for the run's summary line: "SMTP" or "the outbox"

    def deliver(self, store: Store, queued: QueuedDigest, at: str) -> DeliveryReport: ...

    def close(self) -> None: ...


class OutboxDelivery:
    """With no SMTP host the saved outbox file is the delivery (readers still active only)."""

    where = "the outbox"

    def deliver(self, store: Store, queued: QueuedDigest, at: str) -> DeliveryReport:
        from digest.delivery import per_reader

        return deliver_file(store, queued, at, per_reader.keep_for(store, queued))

    def close(self) -> None:
        pass


class SmtpDelivery:
    """Through the SMTP server: the run's connections and pace, each reader's own bytes.

    A digest queued for readers goes to each one still active with their own
    address and tokens; every message is DKIM-signed when that is configured.
    """

    where = "SMTP"

    def __init__(self, settings: Settings, open_sender: SenderFactory | None = None) -> None:
        self.settings = settings
        self.connections = Connections(
            open_sender or smtp_factory(settings), settings.smtp_connections
        )
        self.retry = Retry(settings.smtp_attempts, settings.smtp_backoff)
        self.pace = Pace(settings.smtp_rate)

    def deliver(self, store: Store, queued: QueuedDigest, at: str) -> DeliveryReport:
        from digest.delivery import per_reader

        s = self.settings
        return deliver_smtp(
            store,
            queued,
            self.connections,
            s.sender,
            at,
            self.retry,
            self.pace,
            per_reader.addresser_for(s, store, queued),
            per_reader.signer_for(s),
        )

    def close(self) -> None:
        self.connections.close()


def for_settings(settings: Settings, open_sender: SenderFactory | None = None) -> Delivery:
    """SMTP when DIGEST_SMTP_HOST is set, else the outbox; `open_sender` replaces SMTP in tests."""
    if not settings.is_smtp:
        return OutboxDelivery()
    return SmtpDelivery(settings, open_sender)
