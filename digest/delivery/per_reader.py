"""Sending to readers: each one's own bytes at send time, DKIM, one shared SMTP connection.

`digest.readers.fanout` queued one message per distinct set of articles with a marker
where the reader's address and tokens go; here `addresser_for` fills them in
per recipient after reading their status again (who unsubscribed a second ago
is not sent to), signs with DKIM when it is configured, and `ReaderDelivery`
sends every queued digest of a run over one connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from email.message import EmailMessage
from typing import TYPE_CHECKING

from digest.errors import SettingsError
from digest.records import QueuedDigest
from digest.settings import Settings
from digest.store import Store

if TYPE_CHECKING:
    from digest.delivery import queue as deliver


def addresser_for(
    settings: Settings, store: Store, queued: QueuedDigest
) -> Callable[[EmailMessage], deliver.Addresser] | None:
    """For a digest queued for readers: each one's bytes, or None when they are not active.

    A plain DIGEST_TO digest gets None (the usual addresser), or with DKIM a signing one.
    """
    found = store.personal(queued.id)
    sign = _signer(settings)
    if found is None:
        return None if sign is None else _signing(sign)
    marker, _ = found
    return _per_reader(settings, store, queued, marker, sign)


def _signing(sign: Callable[[bytes], bytes]) -> Callable[[EmailMessage], deliver.Addresser]:
    """The usual addresser, its bytes DKIM-signed."""
    from digest.delivery import mail

    def signed(msg: EmailMessage) -> deliver.Addresser:
        plain = mail.addresser(msg)
        return lambda recipient: sign(plain(recipient))

    return signed


def _per_reader(
    settings: Settings,
    store: Store,
    queued: QueuedDigest,
    marker: str,
    sign: Callable[[bytes], bytes] | None,
) -> Callable[[EmailMessage], deliver.Addresser]:
    """Each active reader's address and tokens filled into the saved message (then signed)."""
    from digest.delivery import mail
    from digest.delivery.personalize import Marker, Template
    from digest.readers import tokens  # late: a plain DIGEST_TO run loads no itsdangerous

    secret = tokens.secret_key(settings.state_dir, settings.secret_key)

    def make(msg: EmailMessage) -> deliver.Addresser:
        data = queued.eml_path.read_bytes()
        mark = Marker(marker)
        unsub, prefs = mark.placeholders
        template = Template(data, mail.to_line(mark.address), mark.placeholders)

        def address(recipient: str) -> bytes | None:
            reader = store.recipient_status(recipient)
            if reader is None or reader[1] != "active":
                return None
            reader_id, _, key, name = reader
            values = {
                unsub: tokens.make(secret, "unsubscribe", reader_id, key),
                prefs: tokens.make(secret, "preferences", reader_id, key),
            }
            out = template.fill(mail.to_line(mail.named(name, recipient)), values)
            return sign(out) if sign is not None else out

        return address

    return make


def keep_for(store: Store, queued: QueuedDigest) -> Callable[[str], bool] | None:
    """File delivery: only readers still active count as delivered."""
    if store.personal(queued.id) is None:
        return None

    def keep(recipient: str) -> bool:
        reader = store.recipient_status(recipient)
        return reader is not None and reader[1] == "active"

    return keep


def _signer(settings: Settings) -> Callable[[bytes], bytes] | None:
    """dkim.sign over its signed headers when the DKIM settings are given."""
    if settings.dkim_key_file is None:
        return None
    from digest.delivery import dkim  # late: dkimpy and cryptography only when signing

    key_file, selector, domain = (
        settings.dkim_key_file,
        settings.dkim_selector,
        settings.dkim_domain,
    )
    if selector is None or domain is None:  # config.py refuses this; Settings built by hand
        raise SettingsError(
            "DIGEST_DKIM_SELECTOR" if selector is None else "DIGEST_DKIM_DOMAIN",
            "",
            "DKIM needs all three settings",
            "set DIGEST_DKIM_KEY_FILE, DIGEST_DKIM_SELECTOR and DIGEST_DKIM_DOMAIN, or none",
        )

    def sign(data: bytes) -> bytes:
        return dkim.sign(data, key_file=key_file, selector=selector, domain=domain)

    return sign


class SharedSender:
    """A sender factory that keeps one SMTP connection open for the whole run.

    Each digest's delivery enters and leaves it as it would a fresh connection;
    the connection is dropped (and the next entry connects anew) only when a
    delivery fails inside it or the server hung up (a 421), so the retry and
    reconnect behaviour of `deliver_smtp` is unchanged.
    """

    def __init__(self, open_sender: deliver.SenderFactory) -> None:
        self._open = open_sender
        self._held: AbstractContextManager[deliver.Sender] | None = None
        self._transport: deliver.Sender | None = None

    def __call__(self) -> AbstractContextManager[deliver.Sender]:
        return self._use()

    @contextmanager
    def _use(self) -> Iterator[deliver.Sender]:
        if self._transport is None or not getattr(self._transport, "alive", True):
            self.close()
            held = self._open()
            self._transport = held.__enter__()
            self._held = held
        try:
            yield self._transport
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        held, self._held, self._transport = self._held, None, None
        if held is not None:
            held.__exit__(None, None, None)


class ReaderDelivery:
    """The run's delivery when it has readers (or DKIM): their bytes, one shared connection.

    A digest queued for readers goes to each one still active with their own
    address and tokens; every message is DKIM-signed when that is configured.
    SMTP retries, reconnects and DIGEST_SMTP_RATE are `deliver_smtp`'s, as always.
    """

    def __init__(self, settings: Settings, open_sender: deliver.SenderFactory | None) -> None:
        from digest.delivery import queue as deliver

        self.settings = settings
        self.where = "SMTP" if settings.is_smtp else "the outbox"
        self._shared = SharedSender(open_sender or _connect(settings))
        self._retry = deliver.Retry(settings.smtp_attempts, settings.smtp_backoff)
        self._pace = deliver.Pace(settings.smtp_rate)

    def deliver(self, store: Store, queued: QueuedDigest, at: str) -> deliver.DeliveryReport:
        from digest.delivery import queue as deliver

        if not self.settings.is_smtp:
            return deliver.deliver_file(store, queued, at, keep_for(store, queued))
        return deliver.deliver_smtp(
            store,
            queued,
            self._shared,
            self.settings.sender,
            at,
            self._retry,
            self._pace,
            addresser_for(self.settings, store, queued),
        )

    def close(self) -> None:
        self._shared.close()


def _connect(settings: Settings) -> deliver.SenderFactory:
    def connect() -> AbstractContextManager[deliver.Sender]:
        from digest.delivery import mail  # smtplib only once a message goes out

        return mail.SmtpSender(settings)

    return connect


def delivery_for(
    settings: Settings, open_sender: deliver.SenderFactory | None, readers: bool
) -> ReaderDelivery | None:
    """A ReaderDelivery for a run with readers or with DKIM signing; else None (the usual)."""
    if not readers and settings.dkim_key_file is None:
        return None
    return ReaderDelivery(settings, open_sender)
