"""The reader pages as a WSGI app: one-click unsubscribe, preferences, the archive.

This is the only module importing Werkzeug (requests, forms, routing); the
server around it is digest/readers/web/server.py. Every reader link carries a signed
token (digest/readers/tokens.py): the token is the capability, so there is no login, no
cookie and no CSRF token; forms post back to the URL they were served from.
A token that is tampered with, signed with another secret, made for another
purpose, or names a subscriber who is gone gets one and the same "link does
not work" page and changes nothing.

Routes (under DIGEST_PUBLIC_URL, behind the operator's TLS proxy):

    POST /unsubscribe/<token>   unsubscribes at once, 200 (RFC 8058 one-click; any body)
    GET  /unsubscribe/<token>   never unsubscribes: a page with a button that POSTs
    GET|POST /preferences/<token>   the preferences form; pause and resume
    GET  /archive/              the index of sent digests (rebuilt from the folder)
    GET  /archive/<stem>.html   one archived digest, from DIGEST_ARCHIVE_DIR only
    GET  /healthz               "ok"

Pages link to each other with relative URLs, so a path prefix in the proxy works.
"""

from __future__ import annotations

import logging
import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from digest.edition import archive, render
from digest.errors import DigestError
from digest.readers import tokens
from digest.readers.subscribers import DAYS, PreferenceError, parse_preferences
from digest.records import Clock, Preferences, utc_now

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from digest.store import Store

log = logging.getLogger("digest")

FIELDS = ("sections", "include", "exclude", "max", "every", "day", "at", "timezone")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_CHOICES = tuple(zip(DAYS, WEEKDAYS, strict=True))  # the form's (value, label) pairs
# No scripts at all; styles only from the page's own <style> block and attributes
# (archived digests carry inlined CSS); forms only back to this site; never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_ARCHIVE_PAGE = re.compile(r"^digest-\d{8}-\d{6}[A-Za-z0-9_.-]*\.html$")


class Reader(Protocol):
    """What the pages show of one subscriber (digest.readers.subscribers.Subscriber has it)."""

    @property
    def email(self) -> str: ...

    @property
    def status(self) -> str: ...  # active, paused, unsubscribed or bouncing

    @property
    def prefs(self) -> Preferences: ...


class ReaderRoster(Protocol):
    """The subscriber operations the pages need; `StoreRoster` is the real one."""

    def subscriber(self, subscriber_id: int, /) -> Reader | None: ...

    def unsubscribe(self, subscriber_id: int, at: datetime, /) -> None: ...

    def set_preferences(self, subscriber_id: int, prefs: Preferences, /) -> None: ...

    def set_status(self, subscriber_id: int, status: str, /) -> None: ...


class StoreRoster:
    """`ReaderRoster` over the state database, opened for each call (a page is a short visit)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def _store(self) -> Store:
        """The store, to use in a `with` block (it closes itself)."""
        from digest.store import Store  # late: only a page that changes a reader needs SQLite

        return Store.open(self.state_dir)

    def subscriber(self, subscriber_id: int, /) -> Reader | None:
        with self._store() as store:
            found: Reader | None = store.subscriber(subscriber_id)
            return found

    def unsubscribe(self, subscriber_id: int, at: datetime, /) -> None:
        with self._store() as store:
            store.unsubscribe(subscriber_id, at)

    def set_preferences(self, subscriber_id: int, prefs: Preferences, /) -> None:
        with self._store() as store:
            store.set_preferences(subscriber_id, prefs)

    def set_status(self, subscriber_id: int, status: str, /) -> None:
        with self._store() as store:
            store.set_status(subscriber_id, status)


class _Request(Request):
    # A preferences form is well under 4 KB; refuse anything much larger (413).
    max_content_length = 64 * 1024
    max_form_memory_size = 64 * 1024
    max_form_parts = 50


_ROUTES = Map(
    [
        Rule("/unsubscribe/<token>", endpoint="unsubscribe", methods=["GET", "POST"]),
        Rule("/preferences/<token>", endpoint="preferences", methods=["GET", "POST"]),
        Rule("/archive/", endpoint="archive_index", methods=["GET"]),
        Rule("/archive/<name>", endpoint="archive_page", methods=["GET"]),
        Rule("/healthz", endpoint="healthz", methods=["GET"]),
    ]
)


@dataclass(frozen=True)
class ReaderPages:
    """The WSGI app; every dependency is a parameter (tests pass their own)."""

    readers: ReaderRoster
    secret: str
    archive_dir: Path
    clock: Clock = utc_now
    title: str = "News digest"
    templates_dir: Path | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = _Request(environ)
        response = self.respond(request)
        response.headers.update(SECURITY_HEADERS)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        """The response to one request: a page, or the error page that fits."""
        try:
            endpoint, args = _ROUTES.bind_to_environ(request.environ).match()
            handler: Callable[..., Response] = getattr(self, f"_{endpoint}")
            return handler(request, **args)
        except HTTPException as exc:
            if exc.code == 404:
                return self._not_found()
            return exc.get_response(request.environ)
        except DigestError as exc:  # the store is locked or gone: the reader may retry
            log.error("reader page /%s/… failed: %s", _first_segment(request), exc)
            return self._html("web/unavailable.html.j2", {}, status=503)
        except Exception:  # a bug; logged here so that no server logs the URL (its token)
            log.exception("internal error on the reader page /%s/…", _first_segment(request))
            return Response("internal error\n", status=500, mimetype="text/plain")

    # --- one-click unsubscribe

    def _unsubscribe(self, request: Request, token: str) -> Response:
        found = self._find("unsubscribe", token)
        if found is None:
            return self._not_found()
        subscriber_id, reader = found
        links = {"email": reader.email, "preferences": self._link("preferences", subscriber_id)}
        if request.method != "POST":  # link scanners GET every URL: never unsubscribe here
            context = {**links, "status": reader.status}
            return self._html("web/unsubscribe.html.j2", context, private=True)
        # RFC 8058: the body says List-Unsubscribe=One-Click (urlencoded or multipart);
        # an empty one is accepted too. Whatever it says, a POST with a valid token unsubscribes.
        if reader.status != "unsubscribed":
            self.readers.unsubscribe(subscriber_id, self.clock())
            log.info("subscriber #%d unsubscribed from the reader page", subscriber_id)
        return self._html("web/unsubscribed.html.j2", links, private=True)

    # --- preferences

    def _preferences(self, request: Request, token: str) -> Response:
        found = self._find("preferences", token)
        if found is None:
            return self._not_found()
        subscriber_id, reader = found
        if request.method != "POST":
            return self._preferences_page(subscriber_id, reader, form_values(reader.prefs))
        action = request.form.get("action", "save")
        if action in ("pause", "resume"):
            return self._pause_or_resume(subscriber_id, reader, action)
        posted = {name: request.form.get(name, "").strip() for name in FIELDS}
        if posted["every"] == "daily":  # the day select stays as it was; it only counts weekly
            posted["day"] = ""
        errors = field_errors(posted)
        if errors:
            return self._preferences_page(subscriber_id, reader, posted, errors=errors, status=422)
        self.readers.set_preferences(subscriber_id, parse_preferences(posted))
        log.info("subscriber #%d changed their preferences", subscriber_id)
        return self._reload(subscriber_id, "Saved. The next digest follows these preferences.")

    def _pause_or_resume(self, subscriber_id: int, reader: Reader, action: str) -> Response:
        if action == "pause" and reader.status == "active":
            self.readers.set_status(subscriber_id, "paused")
            notice = "Paused: no digests until you resume."
        elif action == "resume" and reader.status != "active":
            self.readers.set_status(subscriber_id, "active")
            notice = "Resumed: the next digest comes on schedule."
        else:
            notice = "Nothing to change."
        log.info("subscriber #%d: %s from the reader page", subscriber_id, action)
        return self._reload(subscriber_id, notice)

    def _reload(self, subscriber_id: int, notice: str) -> Response:
        reader = self.readers.subscriber(subscriber_id)
        if reader is None:  # removed meanwhile
            return self._not_found()
        return self._preferences_page(
            subscriber_id, reader, form_values(reader.prefs), notice=notice
        )

    def _preferences_page(
        self,
        subscriber_id: int,
        reader: Reader,
        values: Mapping[str, str],
        *,
        errors: Mapping[str, str] | None = None,
        notice: str | None = None,
        status: int = 200,
    ) -> Response:
        context = {
            "email": reader.email,
            "status": reader.status,
            "notice": notice,
            "values": dict(values),
            "errors": dict(errors or {}),
            "days": DAY_CHOICES,
            "zones": _zones(),
            "unsubscribe": self._link("unsubscribe", subscriber_id),
        }
        return self._html("web/preferences.html.j2", context, status=status, private=True)

    # --- archive and health

    def _archive_index(self, request: Request) -> Response:
        page = archive.index_page(
            self.archive_dir, templates_dir=self.templates_dir, title=self.title
        )
        return _archive_response(page.encode("utf-8"))

    def _archive_page(self, request: Request, name: str) -> Response:
        if name == archive.INDEX_NAME:
            return self._archive_index(request)
        path = archive_file(self.archive_dir, name)
        if path is None:
            return self._not_found()
        return _archive_response(path.read_bytes())

    def _healthz(self, request: Request) -> Response:
        return Response("ok\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})

    # --- helpers

    def _find(self, purpose: str, token: str) -> tuple[int, Reader] | None:
        """The subscriber a genuine token of this purpose names, or None (the same either way)."""
        try:
            subscriber_id = tokens.read(self.secret, purpose, token)
        except tokens.TokenError:
            return None
        reader = self.readers.subscriber(subscriber_id)
        return None if reader is None else (subscriber_id, reader)

    def _link(self, purpose: str, subscriber_id: int) -> str:
        """A relative link from one token page to another: /unsubscribe/x -> ../preferences/y."""
        return f"../{purpose}/{tokens.make(self.secret, purpose, subscriber_id)}"

    def _not_found(self) -> Response:
        return self._html("web/not_found.html.j2", {}, status=404)

    def _html(
        self,
        template: str,
        context: Mapping[str, object],
        *,
        status: int = 200,
        private: bool = False,
    ) -> Response:
        page = render.render_page(
            template, {"title": self.title, **context}, templates_dir=self.templates_dir
        )
        response = Response(page, status=status, mimetype="text/html")
        # A token page is personal: no cache keeps it. Others may be cached a little.
        response.headers["Cache-Control"] = "no-store" if private else "no-cache"
        return response


def _first_segment(request: Request) -> str:
    """The route's name, e.g. "unsubscribe": a log line never holds a token."""
    return request.path.strip("/").split("/", 1)[0]


def form_values(prefs: Preferences) -> dict[str, str]:
    """Preferences as the text fields of the form (the CSV columns)."""
    return {
        "sections": ", ".join(prefs.sections),
        "include": ", ".join(prefs.include),
        "exclude": ", ".join(prefs.exclude),
        "max": "" if prefs.max_articles is None else str(prefs.max_articles),
        "every": prefs.every,
        "day": prefs.day or "",
        "at": prefs.at or "",
        "timezone": prefs.timezone or "",
    }


def field_errors(posted: Mapping[str, str]) -> dict[str, str]:
    """Every field's error at once: each field is checked alone, then all together."""
    errors: dict[str, str] = {}
    for name in FIELDS:
        try:
            parse_preferences({name: posted.get(name, "")})
        except PreferenceError as exc:
            errors[exc.field or name] = _reason(exc, posted)
    if not errors:
        try:
            parse_preferences(posted)
        except PreferenceError as exc:  # a rule between fields, e.g. a day for weekly
            errors[exc.field] = _reason(exc, posted)
    return errors


def _reason(exc: PreferenceError, posted: Mapping[str, str]) -> str:
    """The error without its `at='25:00': ` prefix: the form shows the field and value."""
    text = str(exc)
    prefix = f"{exc.field}={posted.get(exc.field, '')!r}: "
    text = text.removeprefix(prefix)
    return text[:1].upper() + text[1:]


def archive_file(archive_dir: Path, name: str) -> Path | None:
    """The archived page `name` inside `archive_dir`, or None: nothing outside it is served."""
    if not _ARCHIVE_PAGE.match(name):
        return None
    folder = archive_dir.resolve()
    path = (folder / name).resolve()
    if path.parent != folder or not path.is_file():  # a symlink leading out, or missing
        return None
    return path


def _archive_response(body: bytes) -> Response:
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


_ZONES: tuple[str, ...] = ()


def _zones() -> tuple[str, ...]:
    global _ZONES
    if not _ZONES:
        _ZONES = tuple(sorted(zoneinfo.available_timezones()))
    return _ZONES
