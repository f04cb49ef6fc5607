"""Build the MIME message and speak SMTP; the only module that knows smtplib."""

from __future__ import annotations

import email.policy
import functools
import re
import smtplib
import socket
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import Policy
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from types import TracebackType

from digest.errors import DeliveryError
from digest.settings import Settings
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


@dataclass(frozen=True)
class Refused:
    """The server refused one recipient; `permanent` (5xx) means do not retry."""

    recipient: str
    code: int
    reason: str

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600


class SmtpSender:
    """One SMTP session: connect, secure, log in, then send message by message."""

    def __init__(self, settings: Settings) -> None:
        self._s = settings
        self._smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self._s.smtp_host}:{self._s.smtp_port}"

    def __enter__(self) -> SmtpSender:
        try:
            self._smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            raise _map_error(exc, self._s) from exc
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()

    @property
    def alive(self) -> bool:
        """False once smtplib has closed the connection (a 421): a reused sender reconnects."""
        return self._smtp is not None and self._smtp.sock is not None

    def send(self, data: bytes, sender: str, recipient: str) -> Refused | None:
        """Send one message to one recipient; None when the server accepted it.

        A refusal at any step is that recipient's `Refused` (a 421 also closes the
        connection, as smtplib does); a lost connection raises DeliveryError.
        """
        smtp = self._smtp
        assert smtp is not None
        envelope_from = _envelope(sender)
        options: list[str] = []
        if not (envelope_from + recipient).isascii():
            if not smtp.has_extn("smtputf8"):
                return Refused(recipient, 553, "address not ASCII and the server has no SMTPUTF8")
            options.append("SMTPUTF8")
        try:
            return self._transaction(smtp, envelope_from, recipient, data, options)
        except (OSError, smtplib.SMTPException) as exc:
            raise _map_error(exc, self._s) from exc

    def _transaction(
        self, smtp: smtplib.SMTP, sender: str, recipient: str, data: bytes, options: list[str]
    ) -> Refused | None:
        """MAIL, RCPT, DATA (in one write where the server offers PIPELINING), the body
        already in wire form (CRLF; dots doubled here).

        The addresses are bare ones (the envelope sender parsed once, the recipient as
        stored): written as they are, not parsed again by smtplib for every message.
        """
        smtp.command_encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        mail_from = f"FROM:<{sender}>" + "".join(f" {o}" for o in options)
        if smtp.has_extn("pipelining"):
            code, reply = _grouped(smtp, mail_from, recipient)
        else:
            smtp.putcmd("mail", mail_from)
            code, reply = smtp.getreply()
            if code == 250:
                smtp.putcmd("rcpt", f"TO:<{recipient}>")
                code, reply = smtp.getreply()
            if code in (250, 251):
                smtp.putcmd("data")
                code, reply = smtp.getreply()
        if code == 354:
            smtp.send(_wire(data))
            code, reply = smtp.getreply()
            if code == 250:
                return None
        if code == 421:
            smtp.close()
        else:
            smtp.rset()
        return Refused(recipient, code, _text(reply))

    def _connect(self) -> smtplib.SMTP:
        s = self._s
        host, port, timeout = s.smtp_host or "localhost", s.smtp_port, s.smtp_timeout
        smtp: smtplib.SMTP
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=self._tls())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            # A message goes out as several writes (TLS records); with Nagle's algorithm the
            # last one waits for the server's delayed ACK, 40 ms a message on Linux.
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if s.smtp_security == "starttls":
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _tls(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self._s.smtp_ca_file is not None:
            ctx.load_verify_locations(cafile=str(self._s.smtp_ca_file))
        return ctx


def _grouped(smtp: smtplib.SMTP, mail_from: str, recipient: str) -> tuple[int, bytes]:
    """MAIL, RCPT and DATA in one write (RFC 2920 PIPELINING), then their three replies:
    two round trips a message where lock-step takes four.

    The answer is the first refusal, else DATA's 354; a 421 ends the reading at once (the
    server hangs up). A server that says 354 after refusing the recipient (it must not)
    gets an empty message, ended at once and sent to nobody.
    """
    smtp.send(f"MAIL {mail_from}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n")
    refusal: tuple[int, bytes] | None = None
    for wanted in ((250,), (250, 251), (354,)):
        code, reply = smtp.getreply()
        if code == 421:
            return code, reply
        if refusal is None and code not in wanted:
            refusal = (code, reply)
    if refusal is None:
        return code, reply
    if code == 354:
        smtp.send(b".\r\n")
        smtp.getreply()
    return refusal


@functools.lru_cache(maxsize=8)
def _envelope(sender: str) -> str:
    """The bare address of a From value (`News <news@example.org>` -> news@example.org)."""
    return parseaddr(sender)[1]


def _wire(data: bytes) -> bytes:
    """The DATA body: lines starting with a dot get another (RFC 5321 4.5.2), then the end.

    What smtplib's sendmail does with two regular expressions, done with C string
    methods: our messages already end their lines with CRLF.
    """
    body = data.replace(b"\r\n.", b"\r\n..")
    if body.startswith(b"."):
        body = b"." + body
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def _text(reason: bytes | str) -> str:
    return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else reason


def _map_error(exc: BaseException, s: Settings) -> DeliveryError:
    """Turn whatever smtplib, ssl or the socket raised into one line naming the setting."""
    where = f"SMTP server {s.smtp_host}:{s.smtp_port}"
    hosts = "check DIGEST_SMTP_HOST and DIGEST_SMTP_PORT"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(
            f"{where} refused the login for {s.smtp_username!r} ({exc.smtp_code})",
            "check DIGEST_SMTP_USERNAME and DIGEST_SMTP_PASSWORD",
            permanent=True,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        what = "STARTTLS" if s.smtp_security == "starttls" else "AUTH"
        return DeliveryError(
            f"{where} does not offer {what}",
            _NO_STARTTLS
            if what == "STARTTLS"
            else "unset DIGEST_SMTP_USERNAME or use a server that supports AUTH",
            permanent=True,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return DeliveryError(
            f"{where}: certificate not trusted ({exc.verify_message})",
            "if the relay uses its own CA, set DIGEST_SMTP_CA_FILE to its certificate",
            permanent=True,
        )
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(
            f"{where}: TLS failed ({exc.reason or exc})", _tls_hint(s), permanent=True
        )
    if isinstance(exc, ConnectionRefusedError):
        return DeliveryError(f"{where}: connection refused", hosts)
    if isinstance(exc, socket.timeout | TimeoutError) or "timed out" in str(exc):
        return _timeout(where, s)
    if isinstance(exc, socket.gaierror):
        return DeliveryError(f"{where}: unknown host ({exc.strerror})", hosts)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryError(f"{where} closed the connection ({exc})", _tls_hint(s))
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(
            f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}",
            "the message stays queued and is retried on the next run",
        )
    return DeliveryError(f"{where}: {exc}", hosts)


def _timeout(where: str, s: Settings) -> DeliveryError:
    hint = "check DIGEST_SMTP_HOST and DIGEST_SMTP_PORT, or raise DIGEST_SMTP_TIMEOUT"
    if s.smtp_security != "ssl":
        # a TLS-from-the-start port stays silent, waiting for our handshake
        hint += "; if the port speaks TLS from the start (465), set DIGEST_SMTP_SECURITY=ssl"
    return DeliveryError(f"{where}: no answer within {s.smtp_timeout:g} s", hint)


# Each hint names every other mode, so following one never leads back to where it started.
_NO_STARTTLS = (
    "a local relay without TLS wants DIGEST_SMTP_SECURITY=none (port 25);"
    " a port that speaks TLS from the start wants DIGEST_SMTP_SECURITY=ssl (465)"
)


def _tls_hint(s: Settings) -> str:
    if s.smtp_security == "ssl":
        return (
            "this port does not speak TLS from the start (ssl is for 465): set"
            " DIGEST_SMTP_SECURITY=starttls if it offers STARTTLS (587), or none for a local"
            " relay without TLS (25)"
        )
    if s.smtp_security == "starttls":
        return _NO_STARTTLS
    return "check DIGEST_SMTP_SECURITY (starttls for 587, ssl for 465, none for a local relay)"
