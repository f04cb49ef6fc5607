"""Where the replies wait: a Maildir folder, or an IMAP mailbox over TLS; the only imaplib user.

Both give the new messages one at a time and can mark one as read: in a
Maildir it moves from `new/` to `cur/` with the Seen flag (never deleted); over
IMAP it gets the \\Seen flag (fetched with BODY.PEEK, so reading alone marks
nothing). A message not marked stays new and is read again next time.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from digest.errors import DigestError
from digest.settings import Settings

if TYPE_CHECKING:
    import imaplib


class InboxError(DigestError):
    """DIGEST_INBOX cannot be read now; the run goes on without it."""


@dataclass(frozen=True)
class Letter:
    """One new message: a name for the operator's line, its bytes, and how to find it again."""

    name: str
    data: bytes
    key: str


class Inbox(Protocol):
    where: str

    def new(self) -> Iterator[Letter]: ...

    def mark_read(self, letter: Letter) -> None: ...

    def close(self) -> None: ...


def open_inbox(settings: Settings) -> Inbox:
    """The inbox DIGEST_INBOX names (InboxError, one line, when it cannot be opened)."""
    value = settings.inbox or ""
    if value.lower().startswith("imaps://"):
        return ImapInbox.connect(value, settings)
    if "://" in value:
        raise InboxError(
            f"DIGEST_INBOX={value}: only a Maildir folder or imaps:// is supported",
            "give a Maildir path or imaps://USER@HOST[:PORT]/FOLDER",
        )
    return MaildirInbox(Path(value))


class MaildirInbox:
    """A Maildir (the way Postfix and Dovecot write one): new/, cur/, tmp/."""

    def __init__(self, root: Path) -> None:
        self.root, self.where = root, str(root)
        missing = [d for d in ("new", "cur") if not (root / d).is_dir()]
        if missing:
            raise InboxError(
                f"DIGEST_INBOX={root}: not a Maildir (no {' or '.join(missing)}/ folder)",
                "point DIGEST_INBOX at the Maildir that receives the list's bounces",
            )

    def new(self) -> Iterator[Letter]:
        try:
            names = sorted(n for n in os.listdir(self.root / "new") if not n.startswith("."))
        except OSError as exc:
            raise InboxError(
                f"DIGEST_INBOX={self.root}: cannot list new/ ({exc.strerror})"
            ) from exc
        for name in names:
            try:
                data = (self.root / "new" / name).read_bytes()
            except FileNotFoundError:
                continue  # another reader took it meanwhile
            except OSError as exc:
                raise InboxError(
                    f"DIGEST_INBOX={self.root}: cannot read new/{name} ({exc})"
                ) from exc
            yield Letter(f"new/{name}", data, name)

    def mark_read(self, letter: Letter) -> None:
        """new/NAME -> cur/NAME:2,S (RFC: the info part after the colon; S for seen)."""
        base = letter.key.split(":2,")[0]
        os.rename(self.root / "new" / letter.key, self.root / "cur" / f"{base}:2,S")

    def close(self) -> None:
        pass


class ImapInbox:
    """An IMAP mailbox over TLS (port 993 unless given), certificates verified."""

    def __init__(self, imap: imaplib.IMAP4, where: str) -> None:
        self._imap, self.where = imap, where

    @classmethod
    def connect(cls, url: str, settings: Settings) -> ImapInbox:
        import imaplib  # only when the inbox is IMAP

        parts = urlsplit(url)
        if not parts.username or not parts.hostname:
            raise InboxError(
                f"DIGEST_INBOX={url}: no user or host",
                "write it as imaps://USER@HOST[:PORT]/FOLDER",
            )
        user, host = unquote(parts.username), parts.hostname
        folder = unquote(parts.path.strip("/")) or "INBOX"
        where = f"imaps://{user}@{host}:{parts.port or 993}/{folder}"
        if not settings.inbox_password:
            raise InboxError(f"{where}: no password", "set DIGEST_INBOX_PASSWORD")
        ctx = ssl.create_default_context()
        try:
            if settings.inbox_ca_file is not None:
                ctx.load_verify_locations(cafile=str(settings.inbox_ca_file))
            imap = imaplib.IMAP4_SSL(
                host, parts.port or 993, ssl_context=ctx, timeout=settings.smtp_timeout
            )
        except (OSError, ssl.SSLError) as exc:
            raise _connect_error(where, exc) from exc
        inbox = cls(imap, where)
        try:
            imap.login(user, settings.inbox_password)
            kind, _ = imap.select(_quote(folder))
        except (imaplib.IMAP4.error, OSError) as exc:
            inbox.close()
            raise InboxError(
                f"{where}: login or folder refused ({_text(exc)})",
                "check DIGEST_INBOX (user, folder) and DIGEST_INBOX_PASSWORD",
            ) from exc
        if kind != "OK":
            inbox.close()
            raise InboxError(f"{where}: no such folder", "check the folder in DIGEST_INBOX")
        return inbox

    def new(self) -> Iterator[Letter]:
        _, found = self._call("uid", "SEARCH", "UNSEEN")
        uids = found[0] if found and isinstance(found[0], bytes) else b""
        for uid in uids.split():
            _, parts = self._call("uid", "FETCH", uid.decode(), "(BODY.PEEK[])")
            data = next((p[1] for p in parts if isinstance(p, tuple)), None)
            if data is not None:
                yield Letter(f"UID {uid.decode()}", bytes(data), uid.decode())

    def mark_read(self, letter: Letter) -> None:
        self._call("uid", "STORE", letter.key, "+FLAGS", "(\\Seen)")

    def _call(self, name: str, *args: str) -> tuple[str, list[object]]:
        import imaplib

        try:
            kind, data = getattr(self._imap, name)(*args)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise InboxError(f"{self.where}: {' '.join(args[:1])} failed ({_text(exc)})") from exc
        if kind != "OK":
            raise InboxError(f"{self.where}: {' '.join(args[:1])} answered {kind}")
        return kind, list(data)

    def close(self) -> None:
        try:
            self._imap.logout()
        except Exception:  # noqa: BLE001 - closing a session that is already gone
            pass


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


def _connect_error(where: str, exc: BaseException) -> InboxError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return InboxError(
            f"{where}: certificate not trusted ({exc.verify_message})",
            "if the server uses its own CA, set DIGEST_INBOX_CA_FILE to its certificate",
        )
    if isinstance(exc, FileNotFoundError):
        return InboxError(f"{where}: DIGEST_INBOX_CA_FILE cannot be read ({exc.strerror})")
    if isinstance(exc, ConnectionRefusedError):
        return InboxError(f"{where}: connection refused", "check the host and port in DIGEST_INBOX")
    return InboxError(f"{where}: cannot connect ({exc})", "check the host and port in DIGEST_INBOX")
