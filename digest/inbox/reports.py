"""Read one message from the inbox: a bounce, a complaint, an unsubscribe mail, or other.

Only the parts that say who and which message are read: a delivery status
notification's per-recipient fields (Final-Recipient, Action, Status) and the
Message-ID of the returned original; a feedback report's recipient
(Original-Rcpt-To, else the original's To) and Message-ID; an unsubscribe
mail's token in its subject. Whether the message named was really sent to
that recipient is for `digest.inbox.apply` to check against the store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses

_TOKEN = re.compile(r"\bunsubscribe\s+([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-.]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Bounce:
    """One recipient's line of a DSN: failed for good (5.x.x) or only delayed (4.x.x)."""

    recipient: str
    message_id: str | None
    status: str  # e.g. 5.1.1
    action: str  # failed, delayed, ...
    diagnostic: str

    @property
    def permanent(self) -> bool:
        return self.action == "failed" and self.status.startswith("5")


@dataclass(frozen=True)
class Complaint:
    """A feedback report (ARF): the recipient marked the message as spam."""

    recipient: str | None
    message_id: str | None
    feedback_type: str


@dataclass(frozen=True)
class Unsubscribe:
    """A mail to the List-Unsubscribe mailto, the reader's token in its subject."""

    token: str
    sender: str


@dataclass(frozen=True)
class Other:
    """Anything else: left where it is; `why` says what it is, in a few words."""

    why: str


Report = list[Bounce] | Complaint | Unsubscribe | Other


def read(data: bytes) -> Report:
    """What one raw message is; a message that cannot be parsed is Other("broken MIME ...")."""
    try:
        msg = message_from_bytes(data, policy=policy.default)
        return _classify(msg)
    except (ValueError, TypeError, LookupError, IndexError, AttributeError) as exc:
        return Other(f"broken MIME ({type(exc).__name__}: {exc})")


def describe(data: bytes) -> str:
    """From and Subject of a message, for the line that names it."""
    try:
        msg = message_from_bytes(data, policy=policy.default)
        sender, subject = str(msg.get("From", "")), str(msg.get("Subject", ""))
    except (ValueError, TypeError, LookupError, IndexError, AttributeError):
        return "unreadable headers"
    return f"from {' '.join(sender.split())[:80] or '?'!s}, subject {subject.strip()[:80]!r}"


def _classify(msg: EmailMessage) -> Report:
    if msg.get_content_maintype() == "multipart" and (not msg.is_multipart() or _broken(msg)):
        return Other(f"broken MIME ({_defects(msg) or 'a multipart without its parts'})")
    if msg.get_content_type() == "multipart/report":
        kind = str(msg.get_param("report-type", "")).lower()
        if kind == "delivery-status":
            return _dsn(msg)
        if kind == "feedback-report":
            return _arf(msg)
        return Other(f"a report of type {kind or 'unknown'!r}")
    found = _TOKEN.search(" ".join(str(msg.get("Subject", "")).split()))
    if found:
        return Unsubscribe(found.group(1), _address(str(msg.get("From", ""))) or "?")
    return Other("not a bounce, complaint or unsubscribe mail")


def _broken(msg: Message) -> bool:
    return any(
        type(d).__name__ in ("StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect")
        for d in msg.defects
    )


def _defects(msg: Message) -> str:
    return ", ".join(sorted({type(d).__name__ for d in msg.defects}))


def _dsn(msg: EmailMessage) -> Report:
    status = _part(msg, "message/delivery-status")
    if status is None:
        return Other("broken MIME (a delivery report without its status part)")
    blocks = status.get_payload()
    if not isinstance(blocks, list) or len(blocks) < 2:
        return Other("broken MIME (a delivery status without a recipient)")
    message_id = _original_id(msg)
    bounces: list[Bounce] = []
    for block in blocks[1:]:
        if not isinstance(block, Message):
            continue
        recipient = _typed_address(str(block.get("Final-Recipient", "")))
        if recipient is None:
            continue
        bounces.append(
            Bounce(
                recipient=recipient,
                message_id=message_id,
                status=str(block.get("Status", "")).strip().split(" ")[0],
                action=str(block.get("Action", "")).strip().lower(),
                diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split())[:200],
            )
        )
    return bounces or Other("a delivery report naming no recipient")


def _arf(msg: EmailMessage) -> Report:
    part = _part(msg, "message/feedback-report")
    if part is None:
        return Other("broken MIME (a feedback report without its report part)")
    fields = _fields_of(part)
    original = _original(msg)
    recipient = _typed_address(str(fields.get("Original-Rcpt-To", "")))
    if recipient is None and original is not None:
        recipient = _address(str(original.get("To", "")))
    return Complaint(
        recipient=recipient,
        message_id=_original_id(msg),
        feedback_type=str(fields.get("Feedback-Type", "abuse")).strip().lower(),
    )


def _part(msg: EmailMessage, content_type: str) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() == content_type:
            return part
    return None


def _fields_of(part: Message) -> Message:
    """The header fields a message/feedback-report part holds, however it was parsed."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    text = payload if isinstance(payload, str) else part.get_payload(decode=True) or b""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return HeaderParser().parsestr(str(text))


def _original(msg: EmailMessage) -> Message | None:
    """The returned message (message/rfc822) or its headers (text/rfc822-headers)."""
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
        elif kind == "text/rfc822-headers":
            raw = part.get_payload(decode=True)
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            return HeaderParser().parsestr(text)
    return None


def _original_id(msg: EmailMessage) -> str | None:
    original = _original(msg)
    if original is None:
        return None
    value = " ".join(str(original.get("Message-ID", "")).split())
    return value or None


def _typed_address(value: str) -> str | None:
    """`rfc822; bob@example.org` -> bob@example.org (other address types: None)."""
    kind, sep, address = value.partition(";")
    if not sep or kind.strip().lower() != "rfc822":
        return None
    return _address(address)


def _address(value: str) -> str | None:
    found = [a for _, a in getaddresses([value]) if "@" in a]
    return found[0].strip().lower() if found else None
