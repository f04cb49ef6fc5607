"""Sending to readers: each one's own bytes at send time, and DKIM.

`digest.readers.fanout` queued one message per distinct set of articles with a marker
where the reader's address and tokens go; here `addresser_for` fills them in
per recipient after reading their status again (who unsubscribed a second ago
is not sent to) and signs with DKIM when it is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from digest.errors import SettingsError
from digest.records import QueuedDigest
from digest.settings import Settings
from digest.store import Store

if TYPE_CHECKING:
    from digest.delivery.sending import Addresser


def addresser_for(
    settings: Settings, store: Store, queued: QueuedDigest
) -> Callable[[bytes], Addresser] | None:
    """For a digest queued for readers: each one's bytes, or None when they are not active.

    A plain DIGEST_TO digest gets None (the usual addresser). Signing is `signer_for`'s,
    done by the connection threads.
    """
    found = store.personal(queued.id)
    if found is None:
        return None
    marker, _ = found
    return _per_reader(settings, store, queued, marker)


def _per_reader(
    settings: Settings,
    store: Store,
    queued: QueuedDigest,
    marker: str,
) -> Callable[[bytes], Addresser]:
    """Each active reader's address and tokens filled into the saved message."""
    from digest.delivery import mail
    from digest.delivery.personalize import Marker, Template
    from digest.readers import tokens  # late: a plain DIGEST_TO run loads no itsdangerous

    secret = tokens.secret_key(settings.state_dir, settings.secret_key)
    relaxed: Callable[[bytes], bytes] | None = None
    if settings.dkim_key_file is not None:  # the shared parts of the body canonicalised once
        from digest.delivery import dkim

        relaxed = dkim.relaxed_lines

    def make(data: bytes) -> Addresser:
        """The addresser of the saved message (its bytes as read from the outbox)."""
        mark = Marker(marker)
        unsub, prefs = mark.placeholders
        template = Template(data, mail.to_line(mark.address), mark.placeholders, relaxed)

        statuses = ReadAhead(store, queued.pending)

        def address(recipient: str) -> bytes | None:
            reader = statuses.take(recipient)
            if reader is None or reader[1] != "active":
                return None
            reader_id, _, key, name = reader
            values = {
                unsub: tokens.make(secret, "unsubscribe", reader_id, key),
                prefs: tokens.make(secret, "preferences", reader_id, key),
            }
            return template.fill(mail.to_line(mail.named(name, recipient)), values)

        return address

    return make


class ReadAhead:
    """Readers' statuses read READ_AHEAD at a time, in the order their messages go.

    One query for each few dozen readers rather than one each: a status is read at
    most READ_AHEAD messages (a fraction of a second) before that reader's message.
    """

    def __init__(self, store: Store, pending: Sequence[str]) -> None:
        self._store, self._pending = store, pending
        self._place = {recipient: n for n, recipient in enumerate(pending)}
        self._fresh: dict[str, tuple[int, str, str, str | None]] = {}

    def take(self, recipient: str) -> tuple[int, str, str, str | None] | None:
        """(id, status, key, name) of this reader, read at most READ_AHEAD messages ago."""
        if recipient not in self._fresh:
            start = self._place.get(recipient)
            batch = [recipient] if start is None else self._pending[start : start + READ_AHEAD]
            self._fresh = self._store.recipient_statuses(batch)
        return self._fresh.pop(recipient, None)


READ_AHEAD = 32


def keep_for(store: Store, queued: QueuedDigest) -> Callable[[str], bool] | None:
    """File delivery: only readers still active count as delivered."""
    if store.personal(queued.id) is None:
        return None

    def keep(recipient: str) -> bool:
        reader = store.recipient_status(recipient)
        return reader is not None and reader[1] == "active"

    return keep


def signer_for(settings: Settings) -> Callable[[bytes], bytes] | None:
    """dkim.sign over its signed headers when the DKIM settings are given."""
    if settings.dkim_key_file is None:
        return None
    from digest.delivery import dkim  # late: cryptography only when signing

    key_file, selector, domain = (
        settings.dkim_key_file,
        settings.dkim_selector,
        settings.dkim_domain,
    )
    if selector is None or domain is None:  # settings.py refuses this; Settings built by hand
        raise SettingsError(
            "DIGEST_DKIM_SELECTOR" if selector is None else "DIGEST_DKIM_DOMAIN",
            "",
            "DKIM needs all three settings",
            "set DIGEST_DKIM_KEY_FILE, DIGEST_DKIM_SELECTOR and DIGEST_DKIM_DOMAIN, or none",
        )

    return dkim.signer(key_file=key_file, selector=selector, domain=domain)
