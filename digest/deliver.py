"""Queue a message (state row + outbox file), then hand it to SMTP or the outbox.

The file is saved before the first SMTP attempt, so a crash or an outage
leaves the digest queued; the next run sends it first.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from email.message import EmailMessage
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
    temporary: str = ""  # the last temporary refusal, for the error line


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
) -> DeliveryReport:
    """Send the saved message to each pending recipient, recording each answer at once.

    Temporary failures (no connection, 4xx) are retried with backoff; a 5xx for
    one recipient is final for that recipient and does not stop the others.
    """
    report = DeliveryReport()
    try:
        msg = mail.parse_message(queued.eml_path.read_bytes())
    except OSError as exc:
        report.errors.append(
            DeliveryError(f"queued message {queued.eml_path} cannot be read: {exc}")
        )
        return report
    pending = list(queued.pending)
    for attempt in range(max(1, retry.attempts)):
        if attempt:
            retry.sleep(retry.backoff * 2 ** (attempt - 1))
        error = _attempt(store, queued.id, msg, pending, open_sender, sender, at, report)
        if not pending or (error is not None and error.permanent):
            break
    if pending:
        report.errors.append(error or _still_refused(queued.id, report.temporary))
    return report


def _attempt(
    store: Store,
    digest_id: int,
    msg: EmailMessage,
    pending: list[str],
    open_sender: SenderFactory,
    sender: str,
    at: str,
    report: DeliveryReport,
) -> DeliveryError | None:
    """One SMTP session over the recipients still pending; removes those settled."""
    try:
        with open_sender() as transport:
            for recipient in list(pending):
                refused = transport.send(mail.for_recipient(msg, recipient), sender, recipient)
                if _record(store, digest_id, recipient, refused, at, report):
                    pending.remove(recipient)
    except DeliveryError as exc:
        return exc
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
