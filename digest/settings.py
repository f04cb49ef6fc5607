"""Settings: one frozen object built once from the environment and a `.env` file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

from digest.errors import SettingsError

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
PLACEHOLDER_FROM = "digest@localhost"
PLACEHOLDER_TO = "reader@localhost"
MAX_URL_LENGTH = 900


@dataclass(frozen=True)
class Settings:
    """Every knob of a run; the defaults are what a fresh clone uses."""

    seeds_dir: Path = Path("seeds")  # where article files are read from
    state_dir: Path = Path(".digest")  # SQLite state and the lock file
    outbox_dir: Path = Path("outbox")  # file delivery, queued messages and previews
    templates_dir: Path | None = None  # overrides the shipped templates, file by file
    sender: str = PLACEHOLDER_FROM  # the From address
    recipients: tuple[str, ...] = (PLACEHOLDER_TO,)  # where the digest goes
    smtp_host: str | None = None  # unset means file delivery into the outbox
    smtp_port: int = 587  # defaults by security: 587 starttls, 465 ssl, 25 none
    smtp_security: str = "starttls"  # starttls, ssl or none
    smtp_username: str | None = None  # AUTH user; no AUTH when unset
    smtp_password: str | None = field(default=None, repr=False)  # never printed
    smtp_ca_file: Path | None = None  # an extra CA to trust (a self-signed relay)
    smtp_timeout: float = 30.0  # seconds per SMTP operation
    smtp_attempts: int = 3  # connections per run before a message waits for the next run
    smtp_backoff: float = 2.0  # seconds before the second attempt, doubling after
    smtp_rate: float | None = None  # at most this many messages a second; None: no limit
    smtp_connections: int = 4  # SMTP connections at once to the relay, the rate shared by all
    title: str = "News digest"  # the digest's name: subject, List-Id, the email, pages, archive
    schedule: str = "0 7 * * *"  # when `digest serve` sends
    timezone: str | None = None  # IANA zone for the schedule; None is the system's
    sentences: int = 3  # sentences per article summary
    max_articles: int = 30  # full entries per digest
    dedupe_days: int = 7  # a copy of an article sent in the last this many days is left out
    summarizer: str = "news"  # summary method (see summarize.METHODS)
    language: str | None = None  # one language for every article; None detects each one's
    settle_seconds: float = 5.0  # files modified more recently wait for the next run
    max_file_bytes: int = 5_000_000  # larger article files are skipped
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)  # processes; 1 = serial
    send_empty: bool = False  # `digest serve` sends a "no new articles" note when nothing is new
    archive_dir: Path = Path("archive")  # an HTML copy of every digest queued, and index.html
    html_budget_kb: int = 90  # inlined HTML size cap; Gmail clips messages above ~102 KB
    unsubscribe_mailto: str | None = None  # List-Unsubscribe address; None means the sender
    unsubscribe_url: str | None = None  # https page that unsubscribes in one click (RFC 8058)
    # --- feeds (digest.intake.feeds.poll) ---
    feed_interval: float = 900.0  # seconds at least between two polls of one feed; 0: every run
    fetch_delay: float = 1.0  # seconds at least between two requests to one host
    fetch_timeout: float = 20.0  # seconds for a whole response, redirects and body included
    fetch_max_bytes: int = 10_000_000  # decoded bytes of one feed or page; the rest is cut off
    allow_private_addresses: bool = False  # fetch from loopback/private/link-local addresses
    feed_backlog_days: int = 7  # a new feed's entries older than this are not sent
    feed_backlog_entries: int = 20  # and at most this many of its newest
    fetch_workers: int = 8  # feeds and pages fetched at once (one at a time per host)
    fetch_budget: float = 600.0  # seconds of fetching at most in one run; the rest waits
    # subscribers and the web pages
    public_url: str | None = None  # https:// base of the reader links (unsubscribe, preferences)
    web_listen: str | None = None  # host:port `digest web` (and `serve`) listens on, plain HTTP
    secret_key: str | None = field(default=None, repr=False)  # signs links; None: generated
    bounce_limit: int = 3  # permanent refusals in a row before a reader is `bouncing`
    dkim_key_file: Path | None = None  # RSA private key (PEM); with selector and domain, signs
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    signup: bool = False  # `digest web` serves /subscribe (double opt-in)
    web_trusted_proxy: str | None = None  # the TLS proxy's address: X-Forwarded-For trusted from it
    # --- the inbox: bounces, complaints, mailto unsubscribes ---
    inbox: str | None = None  # a Maildir folder, or imaps://USER@HOST[:PORT]/FOLDER
    inbox_password: str | None = field(default=None, repr=False)  # IMAP password; never printed
    inbox_ca_file: Path | None = None  # an extra CA to trust for the IMAP server

    @property
    def is_smtp(self) -> bool:
        return self.smtp_host is not None


def load_settings(environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> Settings:
    """Build settings from `.env` (if present) overlaid by the real environment."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update({k: v for k, v in environ.items() if k.startswith("DIGEST_")})
    values = {k: v.strip() for k, v in values.items() if v.strip() != ""}
    return _from_values(values)


def _from_values(v: Mapping[str, str]) -> Settings:
    security = v.get("DIGEST_SMTP_SECURITY", "starttls").lower()
    if security not in SECURITY_MODES:
        raise SettingsError(
            "DIGEST_SMTP_SECURITY", security, "unknown security mode", "use starttls, ssl or none"
        )
    port = _int(v, "DIGEST_SMTP_PORT", DEFAULT_PORTS[security], 1, 65535)
    return Settings(
        seeds_dir=Path(v.get("DIGEST_SEEDS_DIR", "seeds")),
        state_dir=Path(v.get("DIGEST_STATE_DIR", ".digest")),
        outbox_dir=Path(v.get("DIGEST_OUTBOX_DIR", "outbox")),
        templates_dir=_optional_path(v, "DIGEST_TEMPLATES_DIR"),
        sender=_address(v, "DIGEST_FROM", PLACEHOLDER_FROM),
        recipients=parse_recipients(v.get("DIGEST_TO", PLACEHOLDER_TO), "DIGEST_TO"),
        smtp_host=v.get("DIGEST_SMTP_HOST"),
        smtp_port=port,
        smtp_security=security,
        smtp_username=v.get("DIGEST_SMTP_USERNAME"),
        smtp_password=v.get("DIGEST_SMTP_PASSWORD"),
        smtp_ca_file=_ca_file(v),
        smtp_timeout=_float(v, "DIGEST_SMTP_TIMEOUT", 30.0, 0.1, 3600.0),
        smtp_attempts=_int(v, "DIGEST_SMTP_ATTEMPTS", 3, 1, 20),
        smtp_backoff=_float(v, "DIGEST_SMTP_BACKOFF", 2.0, 0.0, 600.0),
        smtp_rate=_float(v, "DIGEST_SMTP_RATE", 0.0, 0.0, 100_000.0) or None,
        smtp_connections=_int(v, "DIGEST_SMTP_CONNECTIONS", 4, 1, 64),
        **_digest_settings(v),
        **_feed_settings(v),
        **_subscriber_settings(v),
    )


def _digest_settings(v: Mapping[str, str]) -> dict[str, Any]:
    """When digests go out and what goes into them."""
    return {
        "title": v.get("DIGEST_TITLE", "News digest"),
        "schedule": v.get("DIGEST_SCHEDULE", "0 7 * * *"),
        "timezone": v.get("DIGEST_TIMEZONE"),
        "sentences": _int(v, "DIGEST_SENTENCES", 3, 1, 50),
        "max_articles": _int(v, "DIGEST_MAX_ARTICLES", 30, 1, 10_000),
        "dedupe_days": _int(v, "DIGEST_DEDUPE_DAYS", 7, 0, 3650),
        "summarizer": _summarizer(v),
        "language": _language(v),
        "settle_seconds": _float(v, "DIGEST_SETTLE_SECONDS", 5.0, 0.0, 86_400.0),
        "max_file_bytes": _int(v, "DIGEST_MAX_FILE_BYTES", 5_000_000, 1_000, 1_000_000_000),
        "workers": _int(v, "DIGEST_WORKERS", os.cpu_count() or 1, 1, 256),
        "send_empty": _bool(v, "DIGEST_SEND_EMPTY", False),
        "archive_dir": Path(v.get("DIGEST_ARCHIVE_DIR", "archive")),
        "html_budget_kb": _int(v, "DIGEST_HTML_BUDGET_KB", 90, 10, 100_000),
        "unsubscribe_mailto": _mailto(v),
        "unsubscribe_url": _https_url(v, "DIGEST_UNSUBSCRIBE_URL"),
    }


def _subscriber_settings(v: Mapping[str, str]) -> dict[str, Any]:
    """DIGEST_PUBLIC_URL, DIGEST_WEB_LISTEN, DIGEST_SECRET_KEY, DIGEST_BOUNCE_LIMIT, DKIM."""
    public = _https_url(v, "DIGEST_PUBLIC_URL")
    dkim = {n: v.get(f"DIGEST_DKIM_{n}") for n in ("KEY_FILE", "SELECTOR", "DOMAIN")}
    given = [n for n, value in dkim.items() if value]
    if given and len(given) < 3:
        missing = next(n for n, value in dkim.items() if not value)
        raise SettingsError(
            f"DIGEST_DKIM_{missing}",
            "",
            "DKIM needs all three settings",
            "set DIGEST_DKIM_KEY_FILE, DIGEST_DKIM_SELECTOR and DIGEST_DKIM_DOMAIN, or none",
        )
    key_file = _optional_path(v, "DIGEST_DKIM_KEY_FILE")
    if key_file is not None and not key_file.is_file():
        raise SettingsError(
            "DIGEST_DKIM_KEY_FILE", str(key_file), "no such file", "give an RSA private key (PEM)"
        )
    return {
        "public_url": public.rstrip("/") if public else None,
        "web_listen": _listen(v),
        "secret_key": v.get("DIGEST_SECRET_KEY"),
        "bounce_limit": _int(v, "DIGEST_BOUNCE_LIMIT", 3, 1, 1000),
        "dkim_key_file": key_file,
        "dkim_selector": dkim["SELECTOR"],
        "dkim_domain": dkim["DOMAIN"],
        "signup": _bool(v, "DIGEST_SIGNUP", False),
        "web_trusted_proxy": v.get("DIGEST_WEB_TRUSTED_PROXY"),
        "inbox": v.get("DIGEST_INBOX"),
        "inbox_password": v.get("DIGEST_INBOX_PASSWORD"),
        "inbox_ca_file": _optional_path(v, "DIGEST_INBOX_CA_FILE"),
    }


def _listen(v: Mapping[str, str]) -> str | None:
    raw = v.get("DIGEST_WEB_LISTEN")
    if raw is None:
        return None
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(
            "DIGEST_WEB_LISTEN", raw, "not host:port", "e.g. DIGEST_WEB_LISTEN=127.0.0.1:8025"
        )
    return raw


def _feed_settings(v: Mapping[str, str]) -> dict[str, Any]:
    return {
        "feed_interval": _duration(v, "DIGEST_FEED_INTERVAL", "15m"),
        "fetch_delay": _float(v, "DIGEST_FETCH_DELAY", 1.0, 0.0, 3600.0),
        "fetch_timeout": _float(v, "DIGEST_FETCH_TIMEOUT", 20.0, 0.1, 3600.0),
        "fetch_max_bytes": _int(v, "DIGEST_FETCH_MAX_BYTES", 10_000_000, 1_000, 1_000_000_000),
        "allow_private_addresses": _bool(v, "DIGEST_ALLOW_PRIVATE_ADDRESSES", False),
        "feed_backlog_days": _int(v, "DIGEST_FEED_BACKLOG_DAYS", 7, 0, 3650),
        "feed_backlog_entries": _int(v, "DIGEST_FEED_BACKLOG_ENTRIES", 20, 0, 10_000),
        "fetch_workers": _int(v, "DIGEST_FETCH_WORKERS", 8, 1, 64),
        "fetch_budget": _duration(v, "DIGEST_FETCH_BUDGET", "10m"),
    }


def _duration(v: Mapping[str, str], name: str, default: str) -> float:
    from digest.intake.feeds.politeness import parse_duration  # late, as for the summarizer

    raw = v.get(name, default)
    found = parse_duration(raw)
    if found is None:
        raise SettingsError(name, raw, "not a duration", f"e.g. {name}=15m (s, m, h or d)")
    return found.total_seconds()


_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")
# A URL that can stand in a header between <...> and in an href as it is.
_URL = re.compile(r"^[!#-;=?-\[\]_a-z~]+$", re.IGNORECASE)


def parse_recipients(raw: str, name: str = "--to") -> tuple[str, ...]:
    """Split a comma-separated address list, refusing anything that is not an address."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise SettingsError(name, raw, "no recipient address", "give one or more, comma-separated")
    for part in parts:
        _check_address(name, part)
    return tuple(dict.fromkeys(parts))


def _address(v: Mapping[str, str], name: str, default: str) -> str:
    return _check_address(name, v.get(name, default))


def _check_address(name: str, raw: str) -> str:
    _, addr = parseaddr(raw)
    if not addr or not _ADDRESS.match(addr):
        raise SettingsError(name, raw, "not an email address", "use a form like news@example.org")
    return raw


def _int(v: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = v.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(name, raw, "not a whole number", f"e.g. {name}={default}") from None
    if not low <= value <= high:
        raise SettingsError(name, raw, f"must be between {low} and {high}")
    return value


def _float(v: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = v.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(name, raw, "not a number", f"e.g. {name}={default:g}") from None
    if not low <= value <= high:
        raise SettingsError(name, raw, f"must be between {low:g} and {high:g}")
    return value


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _bool(v: Mapping[str, str], name: str, default: bool) -> bool:
    raw = v.get(name)
    if raw is None:
        return default
    if raw.lower() in _TRUE + _FALSE:
        return raw.lower() in _TRUE
    raise SettingsError(name, raw, "not true or false", f"e.g. {name}=true")


def _optional_path(v: Mapping[str, str], name: str) -> Path | None:
    raw = v.get(name)
    return Path(raw) if raw else None


def _ca_file(v: Mapping[str, str]) -> Path | None:
    path = _optional_path(v, "DIGEST_SMTP_CA_FILE")
    if path is not None and not path.is_file():
        raise SettingsError(
            "DIGEST_SMTP_CA_FILE", str(path), "no such file", "give the path of a PEM certificate"
        )
    return path


def _mailto(v: Mapping[str, str]) -> str | None:
    """The bare address of DIGEST_UNSUBSCRIBE_MAILTO (a leading "mailto:" is allowed)."""
    raw = v.get("DIGEST_UNSUBSCRIBE_MAILTO")
    if raw is None:
        return None
    bare = raw[len("mailto:") :] if raw.lower().startswith("mailto:") else raw
    _check_address("DIGEST_UNSUBSCRIBE_MAILTO", bare)
    return parseaddr(bare)[1]


def _https_url(v: Mapping[str, str], name: str) -> str | None:
    raw = v.get(name)
    if raw is None:
        return None
    try:
        parts = urlsplit(raw)
    except ValueError:
        parts = urlsplit("")
    # A header line may not pass 998 characters (RFC 5322).
    fits = len(raw) <= MAX_URL_LENGTH and _URL.match(raw)
    if parts.scheme.lower() != "https" or not parts.hostname or not fits:
        raise SettingsError(
            name,
            raw,
            f"not an https URL (ASCII, at most {MAX_URL_LENGTH} characters, no spaces or <>)",
            "use a form like https://example.org/unsubscribe?list=news",
        )
    return raw


def _summarizer(v: Mapping[str, str]) -> str:
    from digest.summary.summarizer import METHODS  # late: keeps settings import cheap

    raw = v.get("DIGEST_SUMMARIZER", "news").lower()
    if raw not in METHODS:
        raise SettingsError(
            "DIGEST_SUMMARIZER", raw, "unknown method", "choose one of " + ", ".join(METHODS)
        )
    return raw


def _language(v: Mapping[str, str]) -> str | None:
    raw = v.get("DIGEST_LANGUAGE")
    if raw is None:
        return None
    from digest.summary.summarizer import languages, supported_language  # late, as above

    found = supported_language(raw)
    if found is None:
        raise SettingsError(
            "DIGEST_LANGUAGE",
            raw,
            "unknown language",
            "unset it to detect each article's, or choose one of " + ", ".join(languages()),
        )
    return found


def env_file_warning(env_file: Path | None) -> str | None:
    """One line when a `.env` holding the SMTP password is readable by other users."""
    if env_file is None or not env_file.is_file():
        return None
    if not env_file.stat().st_mode & 0o077:
        return None
    if "DIGEST_SMTP_PASSWORD" not in env_file.read_text(encoding="utf-8", errors="replace"):
        return None
    return (
        f"warning: {env_file} holds DIGEST_SMTP_PASSWORD and other users can read it;"
        f" run: chmod 600 {env_file}"
    )


def masked(settings: Settings) -> dict[str, str]:
    """The settings as text for `digest status`, with the password hidden."""
    shown: dict[str, str] = {}
    for name, value in vars(settings).items():
        if name in ("smtp_password", "secret_key", "inbox_password"):
            shown[name] = "********" if value else "(unset)"
        elif isinstance(value, tuple):
            shown[name] = ", ".join(value)
        else:
            shown[name] = "(unset)" if value is None else str(value)
    return shown
