"""Signed reader tokens for the unsubscribe and preferences links; the only itsdangerous user.

A token is `URLSafeSerializer(secret, salt=purpose).dumps(subscriber_id)`: an
HMAC over the subscriber's id, one salt per purpose, so an unsubscribe token
never opens the preferences page and a token altered by one character reads
as nothing at all. Tokens do not expire: an unsubscribe link in a year-old
email must still work (RFC 8058 readers click old mail).
"""

from __future__ import annotations

import secrets
from pathlib import Path

from itsdangerous import BadData, URLSafeSerializer

from digest.disk import write_new
from digest.errors import DigestError

PURPOSES = ("unsubscribe", "preferences")
SECRET_FILE = "secret_key"


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


def make(secret: str, purpose: str, subscriber_id: int) -> str:
    """A URL-safe token naming one subscriber for one purpose."""
    return str(_serializer(secret, purpose).dumps(subscriber_id))


def read(secret: str, purpose: str, token: str) -> int:
    """The subscriber id in `token`; TokenError unless made with this secret and purpose."""
    try:
        value = _serializer(secret, purpose).loads(token)
    except BadData as exc:
        raise TokenError("this link is not valid", "use the newest email's link") from exc
    if not isinstance(value, int) or isinstance(value, bool):
        raise TokenError("this link is not valid", "use the newest email's link")
    return value


def _serializer(secret: str, purpose: str) -> URLSafeSerializer:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return URLSafeSerializer(secret, salt=purpose)
