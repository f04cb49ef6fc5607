"""Build the MIME message: headers, parts, the To line per reader (SMTP: smtp.py)."""

from __future__ import annotations

import email.policy
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import Policy
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from digest.text import clean_line


class _UriListHeader(UnstructuredHeader, BaseHeader):
    """List-Unsubscribe, folded only between its <...> entries and never encoded.

    The default folding turns a URL longer than a line into RFC 2047 encoded
    words, which no client decodes there (RFC 2369 wants the URL as it is); an
    unbroken URL may run past 78 columns instead (the hard limit is 998).
    """

    def fold(self, *, policy: Policy) -> str:
        entries = re.split(r">\s*,\s*<", str(self))
        return f"{self.name}: " + f">,{policy.linesep} <".join(entries) + policy.linesep


def _policy() -> email.policy.EmailPolicy[EmailMessage]:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", _UriListHeader)
    return policy.SMTP.clone(header_factory=registry)


# Every message is built, re-read from the queue and re-sent with this policy,
# so List-Unsubscribe keeps its folding through all three.
SMTP_POLICY = _policy()


def sender_domain(sender: str) -> str:
    _, addr = parseaddr(sender)
    return addr.rpartition("@")[2] or "localhost"


UNSUBSCRIBE_SUBJECT = "unsubscribe"  # a reader's mailto subject: this word, then their token


def unsubscribe_targets(
    sender: str, mailto: str | None = None, url: str | None = None, token: str | None = None
) -> tuple[str, ...]:
    """Where a reader unsubscribes: a mailto: URI (the sender's by default), then `url` if set.

    With a reader's `token` the mail's subject carries it, so the inbox knows who wrote.
    """
    _, address = parseaddr(mailto or sender)
    subject = UNSUBSCRIBE_SUBJECT + (f"%20{token}" if token else "")
    return (f"mailto:{address}?subject={subject}", *((url,) if url else ()))


def build_message(
    *,
    subject: str,
    text: str,
    html: str,
    sender: str,
    recipients: tuple[str, ...],
    date: datetime,
    list_name: str = "News digest",
    unsubscribe_mailto: str | None = None,
    unsubscribe_url: str | None = None,
    unsubscribe_token: str | None = None,
) -> EmailMessage:
    """multipart/alternative, text first then HTML (clients show the last part they can).

    List-Id and List-Unsubscribe let mail clients show an unsubscribe button
    and filter the digest; with an https `unsubscribe_url`, List-Unsubscribe-Post
    asks for RFC 8058 one-click unsubscription (what Gmail and Yahoo expect).
    """
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["Subject"] = clean_line(subject)
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = make_msgid(domain=sender_domain(sender))
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Id"] = f"{clean_line(list_name)} <digest.{sender_domain(sender)}>"
    targets = unsubscribe_targets(sender, unsubscribe_mailto, unsubscribe_url, unsubscribe_token)
    msg["List-Unsubscribe"] = ", ".join(f"<{clean_line(t)}>" for t in targets)
    if unsubscribe_url:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["MIME-Version"] = "1.0"
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


def parse_message(data: bytes) -> EmailMessage:
    """Read a saved `.eml` back (the queue survives a crash as files)."""
    msg = BytesParser(policy=SMTP_POLICY).parsebytes(data)
    assert isinstance(msg, EmailMessage)
    return msg


def parse_headers(data: bytes) -> EmailMessage:
    """Only the header of a saved `.eml` (its Message-ID): the body is not parsed."""
    msg = BytesParser(policy=SMTP_POLICY).parsebytes(data, headersonly=True)
    assert isinstance(msg, EmailMessage)
    return msg


def for_recipient(msg: EmailMessage, recipient: str) -> bytes:
    """The saved message addressed to one reader (nobody sees the other recipients)."""
    del msg["To"]
    msg["To"] = recipient
    return msg.as_bytes(policy=SMTP_POLICY)


def addresser(msg: EmailMessage) -> Callable[[str], bytes]:
    """`for_recipient` for many readers, byte for byte: the message is written out once.

    Only the To line changes from one reader to the next; writing out a 100 KB
    digest again for each of a thousand readers would cost seconds.
    """
    marker = f"to-{uuid.uuid4().hex}@invalid"
    head, _, tail = for_recipient(msg, marker).partition(_to_line(marker))

    def address(recipient: str) -> bytes:
        return head + _to_line(recipient) + tail

    return address


def _to_line(recipient: str) -> bytes:
    """`To: <recipient>` as the policy writes it; a short plain one without parsing it."""
    if len(recipient) <= _SHORT and _PLAIN.fullmatch(recipient):
        return b"To: " + recipient.encode("ascii") + b"\r\n"  # what the policy writes for it
    return SMTP_POLICY.fold_binary(*SMTP_POLICY.header_store_parse("To", recipient))


# An address, or a name of plain words and an address: the policy writes either as it is
# (parsing it costs 0.3 ms, read for each of ten thousand readers). Anything else - quotes,
# other specials, non-ASCII, a line to fold - goes the policy's way.
_PLAIN = re.compile(r"(?:[A-Za-z0-9 '_-]+ <[^\s<>\"(),;:\\\[\]]+>|[^\s<>\"(),;:\\\[\]]+)", re.ASCII)
_SHORT = 72  # "To: " and this fit in 78 columns: no folding


to_line = _to_line  # the To header line as written out (digest.delivery.personalize fills it in)


def named(name: str | None, address: str) -> str:
    """The To: value for a reader: `Name <address>` when their name is known, else the address."""
    shown = clean_line(name or "")
    return formataddr((shown, address)) if shown else address
