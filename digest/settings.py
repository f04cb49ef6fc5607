"""Settings: one table of every setting, and the frozen object built from it once at start-up.

Each row of TABLE says a setting's name, its default (written only there), what it means
in one line, how its text is read, and whether it is a secret. The `Settings` defaults,
`digest settings`, `digest settings --example` (the `.env.example` file) and the masked
list of `digest status` all come from it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

from digest import setting_values as read
from digest.errors import SettingsError

SECURITY_MODES = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
PLACEHOLDER_FROM = "digest@localhost"
PLACEHOLDER_TO = "reader@localhost"
MASK = "********"


@dataclass(frozen=True)
class Setting:
    """One row of the table: a DIGEST_* name and everything about it."""

    name: str  # DIGEST_SEEDS_DIR
    default: Any  # the typed value when unset; None: unset
    meaning: str  # one line, for `digest settings` and .env.example
    read: read.Reader  # text -> value; ValueError(why) when the text cannot be used
    example: str = ""  # a good value for error hints (default: the default's text)
    secret: bool = False  # masked everywhere; `.env` holding it must be private
    attr: str = ""  # the Settings attribute (default: the name without DIGEST_, lower case)
    shown: str = ""  # the default as written in .env, when it differs from str(default)
    group: str = ""  # starts a section of `digest settings --example`

    @property
    def field(self) -> str:
        return self.attr or self.name.removeprefix("DIGEST_").lower()

    @property
    def default_text(self) -> str:
        return self.shown or as_text(self.default)

    @property
    def hint(self) -> str:
        return f"e.g. {self.name}={self.example or self.default_text}"


def as_text(value: Any) -> str:
    """A value as it would be written in `.env`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


S = Setting
# fmt: off
_whole, _number = read.whole, read.number
TABLE: tuple[Setting, ...] = (
    S("DIGEST_SEEDS_DIR", Path("seeds"), "where article files are read from", read.path,
      group="Folders"),
    S("DIGEST_STATE_DIR", Path(".digest"), "SQLite state and the lock file", read.path),
    S("DIGEST_OUTBOX_DIR", Path("outbox"),
      "file delivery (no SMTP host), queued messages and previews: .eml plus .html", read.path),
    S("DIGEST_ARCHIVE_DIR", Path("archive"),
      "every digest sent is also kept here as an HTML page, listed in index.html", read.path),
    S("DIGEST_TEMPLATES_DIR", None,
      "a folder whose digest.html.j2 / digest.txt.j2 / archive_index.html.j2 override ours",
      read.path, "templates"),
    S("DIGEST_FROM", PLACEHOLDER_FROM, "the sender address", read.address,
      "news@example.org", attr="sender", group="Addresses"),
    S("DIGEST_TO", (PLACEHOLDER_TO,), "comma-separated recipients; each gets their own copy",
      read.addresses, "ann@example.org,bob@example.org", attr="recipients"),
    S("DIGEST_SMTP_HOST", None, "the SMTP relay; unset: file delivery into the outbox",
      read.text, "smtp.example.org", group="SMTP relay"),
    S("DIGEST_SMTP_PORT", None, "the relay's port; unset: 587 for starttls, 465 ssl, 25 none",
      _whole(1, 65535), "587"),
    S("DIGEST_SMTP_SECURITY", "starttls",
      "starttls (port 587), ssl (port 465) or none (a local relay); certificates are verified",
      read.choice(SECURITY_MODES)),
    S("DIGEST_SMTP_USERNAME", None, "AUTH user; no AUTH when unset", read.text,
      "news@example.org"),
    S("DIGEST_SMTP_PASSWORD", None, "AUTH password; never printed or logged", read.text,
      "your-password", secret=True),
    S("DIGEST_SMTP_CA_FILE", None, "an extra CA certificate (PEM) to trust: a self-signed relay",
      read.existing_file, "/etc/ssl/relay-ca.pem"),
    S("DIGEST_SMTP_TIMEOUT", 30.0, "seconds per SMTP operation", _number(0.1, 3600.0)),
    S("DIGEST_SMTP_ATTEMPTS", 3, "connections per run for a message before it waits, queued",
      _whole(1, 20)),
    S("DIGEST_SMTP_BACKOFF", 2.0, "seconds before the second attempt, doubling after each",
      _number(0.0, 600.0)),
    S("DIGEST_SMTP_RATE", None, "at most this many messages a second (unset or 0: no limit)",
      read.rate, "5"),
    S("DIGEST_SMTP_CONNECTIONS", 4, "SMTP connections at once to the relay, sharing the rate",
      _whole(1, 64)),
    S("DIGEST_TITLE", "News digest",
      "the digest's name: subject, List-Id, the email, the pages, the archive", read.text,
      group="The digest"),
    S("DIGEST_SCHEDULE", "0 7 * * *",
      "when `digest serve` sends: crontab, @hourly, @daily, @weekly or @every 30s/10m/2h",
      read.text, "0 7 * * mon-fri"),
    S("DIGEST_TIMEZONE", None, "IANA time zone of the schedule (unset: the system's)", read.text,
      "Europe/Berlin"),
    S("DIGEST_SEND_EMPTY", False, "`digest serve`: when nothing is new, send a short note",
      read.flag, "true"),
    S("DIGEST_SENTENCES", 3, "sentences per article summary", _whole(1, 50)),
    S("DIGEST_MAX_ARTICLES", 30, "full entries per digest; the rest are listed by title",
      _whole(1, 10_000)),
    S("DIGEST_DEDUPE_DAYS", 7, "copies of an article sent this many days back are left out",
      _whole(0, 3650)),
    S("DIGEST_SUMMARIZER", "news", "summary method: news, lexrank, textrank, lsa, luhn, "
      "reduction, sumbasic, kl or lead", read.summarizer),
    S("DIGEST_LANGUAGE", None, "one language for every article (unset: detected per article)",
      read.language, "german"),
    S("DIGEST_SETTLE_SECONDS", 5.0, "files changed less than this many seconds ago wait",
      _number(0.0, 86_400.0)),
    S("DIGEST_MAX_FILE_BYTES", 5_000_000, "larger article files are skipped with a message",
      _whole(1_000, 1_000_000_000)),
    S("DIGEST_WORKERS", None, "processes that summarize many articles at once (unset: one a "
      "CPU core; 1: none)", _whole(1, 256), "4"),
    S("DIGEST_HTML_BUDGET_KB", 90, "size cap of the email's HTML in KiB (Gmail clips above ~102)",
      _whole(10, 100_000)),
    S("DIGEST_UNSUBSCRIBE_MAILTO", None, "the List-Unsubscribe address (unset: the sender)",
      read.mailto, "leave@example.org"),
    S("DIGEST_UNSUBSCRIBE_URL", None, "an https page that unsubscribes in one click (RFC 8058)",
      read.https_url, "https://example.org/unsubscribe?list=news"),
    S("DIGEST_FEED_INTERVAL", 900.0, "least time between two polls of one feed (0: every run)",
      read.duration, shown="15m", group="Feeds and pages"),
    S("DIGEST_FETCH_DELAY", 1.0, "least seconds between two requests to one host",
      _number(0.0, 3600.0)),
    S("DIGEST_FETCH_TIMEOUT", 20.0, "seconds for a whole response, redirects and body included",
      _number(0.1, 3600.0)),
    S("DIGEST_FETCH_MAX_BYTES", 10_000_000, "decoded bytes kept of one feed or page",
      _whole(1_000, 1_000_000_000)),
    S("DIGEST_FETCH_WORKERS", 8, "feeds and pages fetched at once (one at a time per host)",
      _whole(1, 64)),
    S("DIGEST_FETCH_BUDGET", 600.0, "fetching time at most in one run; the rest waits",
      read.duration, shown="10m"),
    S("DIGEST_ALLOW_PRIVATE_ADDRESSES", False,
      "true: fetch from loopback, private and link-local addresses", read.flag, "true"),
    S("DIGEST_FEED_BACKLOG_DAYS", 7, "a new feed's entries older than this many days are not sent",
      _whole(0, 3650)),
    S("DIGEST_FEED_BACKLOG_ENTRIES", 20, "and at most this many of its newest",
      _whole(0, 10_000)),
    S("DIGEST_PUBLIC_URL", None, "https:// address of the reader pages behind your TLS proxy",
      read.base_url, "https://news.example.org", group="Subscribers and the reader pages"),
    S("DIGEST_WEB_LISTEN", None, "host:port where `digest web` (and `serve`) serves the pages",
      read.listen, "127.0.0.1:8080"),
    S("DIGEST_WEB_TRUSTED_PROXY", None, "the TLS proxy's address: its X-Forwarded-For is trusted",
      read.text, "127.0.0.1"),
    S("DIGEST_SIGNUP", False, "`digest web` serves /subscribe (double opt-in)", read.flag,
      "true"),
    S("DIGEST_SECRET_KEY", None, "signs the readers' links (unset: generated into the state "
      "folder)", read.text, "a-long-random-string", secret=True),
    S("DIGEST_BOUNCE_LIMIT", 3, "permanent refusals in a row before a reader is `bouncing`",
      _whole(1, 1000)),
    S("DIGEST_DKIM_KEY_FILE", None, "DKIM: the RSA private key (PEM); all three DKIM or none",
      read.existing_file, "/etc/digest/dkim.pem"),
    S("DIGEST_DKIM_SELECTOR", None, "DKIM: the selector of the DNS record", read.text,
      "digest2026"),
    S("DIGEST_DKIM_DOMAIN", None, "DKIM: the signing domain", read.text, "example.org"),
    S("DIGEST_INBOX", None, "bounces and unsubscribes: a Maildir, or imaps://USER@HOST/FOLDER",
      read.text, "imaps://news@mail.example.org/INBOX", group="The inbox"),
    S("DIGEST_INBOX_PASSWORD", None, "the IMAP password; never printed or logged", read.text,
      "your-password", secret=True),
    S("DIGEST_INBOX_CA_FILE", None, "an extra CA certificate (PEM) to trust for the IMAP server",
      read.existing_file, "/etc/ssl/imap-ca.pem"),
)
# fmt: on
BY_NAME = {s.name: s for s in TABLE}
_BY_FIELD = {s.field: s for s in TABLE}


def _default(name: str) -> Any:
    return BY_NAME[name].default


@dataclass(frozen=True)
class Settings:
    """Every knob of a run; each default is the TABLE's (what a fresh clone uses)."""

    seeds_dir: Path = _default("DIGEST_SEEDS_DIR")
    state_dir: Path = _default("DIGEST_STATE_DIR")
    outbox_dir: Path = _default("DIGEST_OUTBOX_DIR")
    templates_dir: Path | None = _default("DIGEST_TEMPLATES_DIR")
    sender: str = _default("DIGEST_FROM")
    recipients: tuple[str, ...] = _default("DIGEST_TO")
    smtp_host: str | None = _default("DIGEST_SMTP_HOST")
    smtp_port: int = DEFAULT_PORTS[_default("DIGEST_SMTP_SECURITY")]
    smtp_security: str = _default("DIGEST_SMTP_SECURITY")
    smtp_username: str | None = _default("DIGEST_SMTP_USERNAME")
    smtp_password: str | None = field(default=_default("DIGEST_SMTP_PASSWORD"), repr=False)
    smtp_ca_file: Path | None = _default("DIGEST_SMTP_CA_FILE")
    smtp_timeout: float = _default("DIGEST_SMTP_TIMEOUT")
    smtp_attempts: int = _default("DIGEST_SMTP_ATTEMPTS")
    smtp_backoff: float = _default("DIGEST_SMTP_BACKOFF")
    smtp_rate: float | None = _default("DIGEST_SMTP_RATE")
    smtp_connections: int = _default("DIGEST_SMTP_CONNECTIONS")
    title: str = _default("DIGEST_TITLE")
    schedule: str = _default("DIGEST_SCHEDULE")
    timezone: str | None = _default("DIGEST_TIMEZONE")
    sentences: int = _default("DIGEST_SENTENCES")
    max_articles: int = _default("DIGEST_MAX_ARTICLES")
    dedupe_days: int = _default("DIGEST_DEDUPE_DAYS")
    summarizer: str = _default("DIGEST_SUMMARIZER")
    language: str | None = _default("DIGEST_LANGUAGE")
    settle_seconds: float = _default("DIGEST_SETTLE_SECONDS")
    max_file_bytes: int = _default("DIGEST_MAX_FILE_BYTES")
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)  # DIGEST_WORKERS unset
    send_empty: bool = _default("DIGEST_SEND_EMPTY")
    archive_dir: Path = _default("DIGEST_ARCHIVE_DIR")
    html_budget_kb: int = _default("DIGEST_HTML_BUDGET_KB")
    unsubscribe_mailto: str | None = _default("DIGEST_UNSUBSCRIBE_MAILTO")
    unsubscribe_url: str | None = _default("DIGEST_UNSUBSCRIBE_URL")
    feed_interval: float = _default("DIGEST_FEED_INTERVAL")
    fetch_delay: float = _default("DIGEST_FETCH_DELAY")
    fetch_timeout: float = _default("DIGEST_FETCH_TIMEOUT")
    fetch_max_bytes: int = _default("DIGEST_FETCH_MAX_BYTES")
    allow_private_addresses: bool = _default("DIGEST_ALLOW_PRIVATE_ADDRESSES")
    feed_backlog_days: int = _default("DIGEST_FEED_BACKLOG_DAYS")
    feed_backlog_entries: int = _default("DIGEST_FEED_BACKLOG_ENTRIES")
    fetch_workers: int = _default("DIGEST_FETCH_WORKERS")
    fetch_budget: float = _default("DIGEST_FETCH_BUDGET")
    public_url: str | None = _default("DIGEST_PUBLIC_URL")
    web_listen: str | None = _default("DIGEST_WEB_LISTEN")
    secret_key: str | None = field(default=_default("DIGEST_SECRET_KEY"), repr=False)
    bounce_limit: int = _default("DIGEST_BOUNCE_LIMIT")
    dkim_key_file: Path | None = _default("DIGEST_DKIM_KEY_FILE")
    dkim_selector: str | None = _default("DIGEST_DKIM_SELECTOR")
    dkim_domain: str | None = _default("DIGEST_DKIM_DOMAIN")
    signup: bool = _default("DIGEST_SIGNUP")
    web_trusted_proxy: str | None = _default("DIGEST_WEB_TRUSTED_PROXY")
    inbox: str | None = _default("DIGEST_INBOX")
    inbox_password: str | None = field(default=_default("DIGEST_INBOX_PASSWORD"), repr=False)
    inbox_ca_file: Path | None = _default("DIGEST_INBOX_CA_FILE")

    @property
    def is_smtp(self) -> bool:
        return self.smtp_host is not None


def raw_values(environ: Mapping[str, str], env_file: Path | None) -> dict[str, str]:
    """The DIGEST_* texts of `.env` (if present) overlaid by the real environment; empty = unset."""
    values: dict[str, str] = {}
    values.update(_env_file_values(env_file))
    values.update({k: v for k, v in environ.items() if k.startswith("DIGEST_")})
    return {k: v.strip() for k, v in values.items() if v.strip() != ""}


def _env_file_values(env_file: Path | None) -> dict[str, str]:
    if env_file is None or not env_file.is_file():
        return {}
    try:
        found = dotenv_values(env_file)
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError("--env-file", str(env_file), f"cannot read it ({exc})") from None
    return {k: v for k, v in found.items() if v is not None}


def load_settings(environ: Mapping[str, str], env_file: Path | None = Path(".env")) -> Settings:
    """Build settings from `.env` (if present) overlaid by the real environment."""
    return from_values(raw_values(environ, env_file))


def from_values(values: Mapping[str, str]) -> Settings:
    """Read every given setting through its row; unset ones keep the Settings default."""
    given = {s.field: _read(s, values[s.name]) for s in TABLE if s.name in values}
    security = given.get("smtp_security", _default("DIGEST_SMTP_SECURITY"))
    given.setdefault("smtp_port", DEFAULT_PORTS[security])
    _check_dkim(values)
    return Settings(**given)


def _read(setting: Setting, raw: str) -> Any:
    try:
        return setting.read(raw)
    except ValueError as exc:
        raise SettingsError(setting.name, raw, str(exc), setting.hint) from None


def _check_dkim(values: Mapping[str, str]) -> None:
    names = ("DIGEST_DKIM_KEY_FILE", "DIGEST_DKIM_SELECTOR", "DIGEST_DKIM_DOMAIN")
    missing = [n for n in names if n not in values]
    if missing and len(missing) < len(names):
        raise SettingsError(
            missing[0],
            "",
            "DKIM needs all three settings",
            "set DIGEST_DKIM_KEY_FILE, DIGEST_DKIM_SELECTOR and DIGEST_DKIM_DOMAIN, or none",
        )


def parse_recipients(raw: str, name: str = "--to") -> tuple[str, ...]:
    """Split a comma-separated address list, refusing anything that is not an address."""
    try:
        return read.addresses(raw)
    except ValueError as exc:
        raise SettingsError(name, raw, str(exc), "give one or more, comma-separated") from None


# --- what the operator is told


def startup_warnings(environ: Mapping[str, str], env_file: Path | None) -> list[str]:
    """Lines for stderr: a misspelled DIGEST_* name, a `.env` with secrets others can read."""
    found = [w for w in (env_file_warning(env_file),) if w]
    file_names = set(_env_file_values(env_file))
    env_names = {k for k in environ if k.startswith("DIGEST_")}
    for name in sorted((file_names | env_names) - set(BY_NAME)):
        where = "the environment" if name in env_names else str(env_file)
        guess = (
            f"; did you mean {close}?" if (close := _closest(name)) else "; see: digest settings"
        )
        found.append(f"warning: {name} (in {where}) is not a setting and is ignored{guess}")
    return found


def _closest(name: str) -> str | None:
    """The real name most like `name`, compared without the shared DIGEST_ prefix."""
    tails = {n.removeprefix("DIGEST_"): n for n in BY_NAME}
    close = difflib.get_close_matches(name.removeprefix("DIGEST_"), list(tails), n=1, cutoff=0.7)
    return tails[close[0]] if close else None


def env_file_warning(env_file: Path | None) -> str | None:
    """One line when a `.env` holding a secret is readable by other users."""
    if env_file is None or not env_file.is_file() or not env_file.stat().st_mode & 0o077:
        return None
    values = _env_file_values(env_file)
    held = [s.name for s in TABLE if s.secret and values.get(s.name, "").strip()]
    if not held:
        return None
    return (
        f"warning: {env_file} holds {', '.join(held)} and other users can read it;"
        f" run: chmod 600 {env_file}"
    )


def masked(settings: Settings) -> dict[str, str]:
    """The settings as text for `digest status`, secrets hidden (keyed by attribute)."""
    shown: dict[str, str] = {}
    for name, value in vars(settings).items():
        row = _BY_FIELD.get(name)
        if row is not None and row.secret:
            shown[name] = MASK if value else "(unset)"
        elif isinstance(value, tuple):
            shown[name] = ", ".join(value)
        else:
            shown[name] = "(unset)" if value is None else str(value)
    return shown


def path_settings(settings: Settings) -> dict[str, Path]:
    """Every setting that names a folder or file, by name: for errors.path_error."""
    found = {row.name: getattr(settings, row.field) for row in TABLE}
    return {name: value for name, value in found.items() if isinstance(value, Path)}
