"""One SMTP session to the relay: connect, secure, log in, then one message a recipient;
the only module that knows smtplib.

Each message is MAIL, RCPT and DATA, in one write where the server offers PIPELINING
(RFC 2920), then the body in wire form; a refusal is that recipient's `Refused`, and
whatever smtplib, ssl or the socket raise becomes one DeliveryError naming the setting.
"""

from __future__ import annotations

import functools
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.utils import parseaddr
from types import TracebackType

from digest.errors import DeliveryError
from digest.settings import Settings


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
