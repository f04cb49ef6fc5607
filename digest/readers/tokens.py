"""Signed tokens for the reader links; the only itsdangerous user.

A reader token is `URLSafeSerializer(secret, salt=purpose).dumps([id, key])`: an
HMAC over the subscriber's row id and their own random key, one salt per
purpose, so an unsubscribe token never opens the preferences page and a token
altered by one character reads as nothing at all. The key is drawn when the
reader is added and never reused: SQLite hands a deleted row id to the next
insert, so a token over the id alone would act on whoever is added next (a
removed reader's old link unsubscribing a new one). Reader tokens do not expire:
an unsubscribe link in a year-old email must still work (RFC 8058).

A token from before the key (a bare id) still names the readers who were
subscribed when the database was upgraded (`legacy_tokens` in the store), and
nobody added later. Signup confirmations are timed tokens over the pending
signup's id and key (`confirm`, valid CONFIRM_DAYS); an archived copy for
readers is a token over its page's name (`copy`).
"""

from __future__ import annotations

import functools
import secrets
from pathlib import Path
from typing import Any, NamedTuple

from itsdangerous import (
    BadData,
    Serializer,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)
from itsdangerous.encoding import base64_encode

from digest.disk import write_new
from digest.errors import DigestError

READER_PURPOSES = ("unsubscribe", "preferences")  # a token naming one reader: [id, key]
PURPOSES = (*READER_PURPOSES, "copy")
SECRET_FILE = "secret_key"
CONFIRM_DAYS = 7  # a signup confirmation link works this long


class Claim(NamedTuple):
    """Who a genuine reader token names: their id and key (None: a token from before keys)."""

    id: int
    key: str | None


class TokenError(DigestError):
    """A token that was not made by us for this purpose (tampered, foreign or truncated)."""


def secret_key(state_dir: Path, configured: str | None) -> str:
    """DIGEST_SECRET_KEY, else the key generated once into `<state_dir>/secret_key` (mode 600)."""
    if configured:
        return configured
    path = state_dir / SECRET_FILE
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(32)
    if not write_new(path, f"{key}\n".encode("ascii")):  # two processes agree on the first key
        return _read_key(path)
    return key


def _read_key(path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise TokenError(f"{path} is empty", "delete it to generate a new DIGEST_SECRET_KEY")
    return key


def make(secret: str, purpose: str, subscriber_id: int, key: str) -> str:
    """A URL-safe token naming one subscriber (their id and key) for one purpose."""
    return str(_serializer(secret, purpose).dumps([subscriber_id, key]))


def read(secret: str, purpose: str, token: str) -> Claim:
    """Whom `token` names; TokenError unless made with this secret and purpose.

    The caller still checks the key against the reader's (the store's `claimed`).
    """
    try:
        value = _serializer(secret, purpose).loads(token)
    except BadData as exc:
        raise TokenError("this link is not valid", "use the newest email's link") from exc
    if _is_id(value):
        return Claim(value, None)
    if isinstance(value, list) and len(value) == 2 and _is_id(value[0]):
        if isinstance(value[1], str) and value[1]:
            return Claim(value[0], value[1])
    raise TokenError("this link is not valid", "use the newest email's link")


def make_confirm(secret: str, signup_id: int, key: str, now: float) -> str:
    """The token of a signup confirmation link, valid CONFIRM_DAYS from `now` (epoch seconds)."""
    return str(_timed(secret, now).dumps([signup_id, key]))


def read_confirm(secret: str, token: str, now: float) -> Claim:
    """The pending signup a confirmation token names; TokenError when forged or expired."""
    try:
        value = _timed(secret, now).loads(token, max_age=CONFIRM_DAYS * 86_400)
    except BadData as exc:
        raise TokenError("this link is not valid", "sign up again") from exc
    if isinstance(value, list) and len(value) == 2 and _is_id(value[0]):
        if isinstance(value[1], str) and value[1]:
            return Claim(value[0], value[1])
    raise TokenError("this link is not valid", "sign up again")


def make_copy(secret: str, stem: str) -> str:
    """The token of an archived reader copy's link: its page name, signed."""
    return str(_serializer(secret, "copy").dumps(stem))


def read_copy(secret: str, token: str) -> str:
    """The page name in a copy token; TokenError unless genuine."""
    try:
        value = _serializer(secret, "copy").loads(token)
    except BadData as exc:
        raise TokenError("this link is not valid", "use the newest email's link") from exc
    if not isinstance(value, str):
        raise TokenError("this link is not valid", "use the newest email's link")
    return value


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _timed(secret: str, now: float) -> URLSafeTimedSerializer:
    """A timed serializer whose clock is `now` (the app's clock, a parameter in tests)."""

    class Clocked(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(now)

    return URLSafeTimedSerializer(secret, salt="confirm", signer=Clocked)


@functools.lru_cache(maxsize=16)
def _serializer(secret: str, purpose: str) -> URLSafeSerializer:
    """One per secret and purpose (a run makes two tokens for each of thousands of readers)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return (_Uncompressed if purpose in READER_PURPOSES else URLSafeSerializer)(
        secret, salt=purpose
    )


class _Uncompressed(URLSafeSerializer):
    """URLSafeSerializer without its zlib attempt, for a reader's [id, key].

    zlib never makes a reader's random key shorter, so their tokens are the library's
    own bytes (a test checks it; any token reads back either way); the attempt cost a
    hand-over of the interpreter lock for each of two tokens a reader, while the
    connections waited for it.
    """

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))
