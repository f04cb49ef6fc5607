"""Queue a message (state row + outbox file), then hand it to SMTP or the outbox.

The file is saved before the first SMTP attempt, so a crash or an outage
leaves the digest queued; the next run sends it first.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from digest import mail
from digest.errors import DeliveryError
from digest.store import QueuedDigest, Store


class Sender(Protocol):
    """What delivery needs from a transport (SMTP in production)."""

    def send(self, data: bytes, sender: str, recipient: str) -> mail.Refused | None: ...


SenderFactory = Callable[[], AbstractContextManager[Sender]]


@dataclass
class DeliveryReport:
    """What one delivery pass achieved, for the run's summary line."""

    accepted: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[DeliveryError] = field(default_factory=list)


def write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file, fsync, rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_to_outbox(outbox: Path, stem: str, eml: bytes, html: str) -> Path:
    """Save `<stem>.eml` and an `.html` copy you can open in a browser; return the `.eml`."""
    eml_path = outbox / f"{stem}.eml"
    write_atomic(outbox / f"{stem}.html", html.encode("utf-8"))
    write_atomic(eml_path, eml)
    return eml_path


def deliver_file(store: Store, queued: QueuedDigest, at: str) -> DeliveryReport:
    """With no SMTP host the saved outbox file is the delivery."""
    report = DeliveryReport()
    for recipient in queued.pending:
        store.mark_delivery(queued.id, recipient, "accepted", at)
        report.accepted.append(recipient)
    return report


def deliver_smtp(
    store: Store, queued: QueuedDigest, open_sender: SenderFactory, sender: str, at: str
) -> DeliveryReport:
    """Send the saved message to each pending recipient, recording each answer at once."""
    report = DeliveryReport()
    try:
        msg = mail.parse_message(queued.eml_path.read_bytes())
    except OSError as exc:
        report.errors.append(
            DeliveryError(f"queued message {queued.eml_path} cannot be read: {exc}")
        )
        return report
    try:
        with open_sender() as transport:
            for recipient in queued.pending:
                refused = transport.send(mail.for_recipient(msg, recipient), sender, recipient)
                _record(store, queued.id, recipient, refused, at, report)
    except DeliveryError as exc:
        report.errors.append(exc)
    return report


def _record(
    store: Store,
    digest_id: int,
    recipient: str,
    refused: mail.Refused | None,
    at: str,
    report: DeliveryReport,
) -> None:
    if refused is None:
        store.mark_delivery(digest_id, recipient, "accepted", at)
        report.accepted.append(recipient)
        return
    error = f"{refused.code} {refused.reason}"
    status = "rejected" if refused.permanent else "pending"
    store.mark_delivery(digest_id, recipient, status, at, error)
    report.refused.append(f"{recipient} ({error})")
