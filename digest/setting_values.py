"""Readers of setting values: text in, a typed value out, or ValueError saying why not.

Each reader takes the raw text of one setting (never empty: an empty value means unset).
The table in digest.settings pairs them with names; the caller turns a ValueError into
one line naming the setting, the bad value and a good example.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from digest.errors import SettingsError

Reader = Callable[[str], Any]
MAX_URL_LENGTH = 900
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")

_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")
# A URL that can stand in a header between <...> and in an href as it is.
_URL = re.compile(r"^[!#-;=?-\[\]_a-z~]+$", re.IGNORECASE)
_LISTEN = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$")


def text(raw: str) -> str:
    return raw


def path(raw: str) -> Path:
    return Path(raw)


def existing_file(raw: str) -> Path:
    """A path to a file that is there now (a certificate, a key)."""
    if not Path(raw).is_file():
        raise ValueError("no such file")
    return Path(raw)


def whole(low: int, high: int) -> Reader:
    """A whole number from `low` to `high`."""

    def read(raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("not a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return read


def number(low: float, high: float) -> Reader:
    """A number (a decimal point allowed) from `low` to `high`."""

    def read(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError("not a number") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}")
        return value

    return read


def rate(raw: str) -> float | None:
    """Messages a second; 0 means no limit (None)."""
    return number(0.0, 100_000.0)(raw) or None


def flag(raw: str) -> bool:
    if raw.lower() not in TRUE + FALSE:
        raise ValueError("not true or false")
    return raw.lower() in TRUE


def choice(options: tuple[str, ...]) -> Reader:
    """One of `options`, in any case."""

    def read(raw: str) -> str:
        if raw.lower() not in options:
            raise ValueError(f"not {', '.join(options[:-1])} or {options[-1]}")
        return raw.lower()

    return read


def duration(raw: str) -> float:
    """Seconds, from `90`, `90s`, `15m`, `2h` or `1d`."""
    from digest.intake.feeds.politeness import parse_duration  # late: keeps this import cheap

    found = parse_duration(raw)
    if found is None:
        raise ValueError("not a duration (a number with s, m, h or d)")
    return found.total_seconds()


def address(raw: str) -> str:
    """One email address, bare or as `Name <addr>`; kept as given."""
    if ";" in raw:
        raise ValueError("a semicolon: separate addresses with commas")
    _, addr = parseaddr(raw)
    if not addr or not _ADDRESS.match(addr):
        raise ValueError("not an email address")
    return raw


def addresses(raw: str) -> tuple[str, ...]:
    """Comma-separated addresses, each checked, duplicates dropped."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise ValueError("no recipient address")
    for part in parts:
        try:
            address(part)
        except ValueError as exc:
            raise ValueError(f"{part!r} is {exc}" if len(parts) > 1 else str(exc)) from None
    return tuple(dict.fromkeys(parts))


def mailto(raw: str) -> str:
    """The bare address of a mailto (a leading "mailto:" is allowed)."""
    bare = raw[len("mailto:") :] if raw.lower().startswith("mailto:") else raw
    address(bare)
    return parseaddr(bare)[1]


def https_url(raw: str) -> str:
    """An https URL with a host, short and plain enough for a mail header."""
    try:
        parts = urlsplit(raw)
    except ValueError:
        parts = urlsplit("")
    # A header line may not pass 998 characters (RFC 5322).
    fits = len(raw) <= MAX_URL_LENGTH and _URL.match(raw)
    if parts.scheme.lower() != "https" or not parts.hostname or not fits:
        raise ValueError(
            f"not an https URL (ASCII, at most {MAX_URL_LENGTH} characters, no spaces or <>)"
        )
    return raw


def base_url(raw: str) -> str:
    """An https URL that links are added to: no trailing slash."""
    return https_url(raw).rstrip("/")


def host_port(raw: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` as a host and a port; an empty host is every address."""
    match = _LISTEN.match(raw)
    port = int(match.group(2)) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise ValueError("not host:port")
    return match.group(1).strip("[]") or "0.0.0.0", port


def listen(raw: str) -> str:
    host_port(raw)
    return raw


def split_listen(raw: str, name: str = "DIGEST_WEB_LISTEN") -> tuple[str, int]:
    """host_port for DIGEST_WEB_LISTEN or `--listen`, refusing in one line with an example."""
    try:
        return host_port(raw)
    except ValueError as exc:
        raise SettingsError(name, raw, str(exc), f"e.g. {name}=127.0.0.1:8080") from None


def summarizer(raw: str) -> str:
    from digest.summary.summarizer import METHODS  # late: keeps settings import cheap

    if raw.lower() not in METHODS:
        raise ValueError(f"unknown method; one of {', '.join(METHODS)}")
    return raw.lower()


def language(raw: str) -> str:
    from digest.summary.summarizer import languages, supported_language  # late, as above

    found = supported_language(raw)
    if found is None:
        raise ValueError(
            "unknown language (unset it to detect each article's); one of " + ", ".join(languages())
        )
    return found
