"""Signed tokens in the reader links: one purpose per kind, one secret per installation.

This is the only module that imports itsdangerous. A token is the capability
to act for one subscriber: whoever holds the unsubscribe link may unsubscribe,
whoever holds the preferences link may change the preferences. The salt is the
purpose, so an unsubscribe token never opens the preferences page.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import itsdangerous

from digest.errors import DigestError, StateError

PURPOSES = ("unsubscribe", "preferences")
SECRET_FILE = "secret_key"


class TokenError(DigestError):
    """A token that is tampered with, signed with another secret, or for another purpose."""


def secret_key(state_dir: Path, configured: str | None) -> str:
    """DIGEST_SECRET_KEY when set, else the key generated once into `<state_dir>/secret_key`."""
    if configured:
        return configured
    path = state_dir / SECRET_FILE
    try:
        if not path.exists():
            _create(path)
        return path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise StateError(
            f"cannot read or create the secret key {path}: {exc.strerror or exc}",
            "check DIGEST_STATE_DIR is writable, or set DIGEST_SECRET_KEY",
        ) from exc


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: two processes starting at once keep one key, not two.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_urlsafe(32) + "\n")


def make(secret: str, purpose: str, subscriber_id: int) -> str:
    """The URL-safe token that lets its holder act as `subscriber_id` for `purpose`."""
    _check_purpose(purpose)
    return str(_serializer(secret, purpose).dumps(subscriber_id))


def read(secret: str, purpose: str, token: str) -> int:
    """The subscriber id a token was made for; TokenError unless it is genuine and for `purpose`."""
    _check_purpose(purpose)
    try:
        value = _serializer(secret, purpose).loads(token)
    except itsdangerous.BadData as exc:
        raise TokenError("this link is not valid", "use the newest link from a digest") from exc
    if not isinstance(value, int) or isinstance(value, bool):
        raise TokenError("this link is not valid", "use the newest link from a digest")
    return value


def _check_purpose(purpose: str) -> None:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}; use one of {PURPOSES}")


def _serializer(secret: str, purpose: str) -> itsdangerous.URLSafeSerializer:
    return itsdangerous.URLSafeSerializer(secret, salt=purpose)
