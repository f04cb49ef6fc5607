"""The reader pages as a WSGI app: one-click unsubscribe, preferences, signup, the archive.

This is the only module importing Werkzeug (requests, forms, routing); the
server around it is digest/readers/web/server.py. Every reader link carries a
signed token (digest/readers/tokens): the token is the capability, so there is
no login, no cookie and no CSRF token; forms post back to the URL they were
served from. A token that is tampered with, signed with another secret, made
for another purpose, or names a subscriber who is gone (or someone added
later under their old id) gets one and the same "link does not work" page and
changes nothing.

Routes (under DIGEST_PUBLIC_URL, behind the operator's TLS proxy):

    POST /unsubscribe/<token>   unsubscribes at once, 200 (RFC 8058 one-click; any body)
    GET  /unsubscribe/<token>   never unsubscribes: a page with a button that POSTs
    GET|POST /preferences/<token>   the preferences form; pause and resume
    GET|POST /subscribe, /confirm/<token>   signup, with DIGEST_SIGNUP (web/signup.py)
    GET  /archive/              the index of the editions (rebuilt from the folder)
    GET  /archive/<stem>.html   one edition, from DIGEST_ARCHIVE_DIR only
    GET  /copy/<token>          a reader's own copy ("view in your browser"), signed
    GET  /healthz               "ok" when the state database can be written, else 503

Pages link to each other with relative URLs, so a path prefix in the proxy works;
the one redirect (/archive to /archive/) is relative too, never built from Host.
"""

from __future__ import annotations

import logging
import re
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
from digest.readers.subscribers import form_text, parse_preferences
from digest.readers.web.forms import DAY_CHOICES, FIELDS, field_errors, form_values, zones
from digest.readers.web.signup import Page, SignupDesk
from digest.records import Clock, Preferences, utc_now

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from digest.store import Store

log = logging.getLogger("digest")

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

    @property
    def key(self) -> str: ...  # in each of their tokens


class ReaderRoster(Protocol):
    """The subscriber operations the pages need; `StoreRoster` is the real one."""

    def check(self) -> None: ...  # DigestError unless the store can be written now

    def claimed(self, subscriber_id: int, key: str | None, /) -> Reader | None: ...

    def unsubscribe(self, subscriber_id: int, at: datetime, /) -> None: ...

    def set_preferences(self, subscriber_id: int, prefs: Preferences, /) -> None: ...

    def set_status(self, subscriber_id: int, status: str, /) -> None: ...


class StoreRoster:
    """`ReaderRoster` over the state database, opened for each call (a page is a short visit)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def _store(self, readonly: bool = False) -> Store:
        """The store, to use in a `with` block (it closes itself); pages that only read
        open it read-only."""
        from digest.store import Store  # late: the store brings in the summarizer

        return Store.open(self.state_dir, readonly=readonly)

    def check(self) -> None:
        with self._store() as store:
            store.check_writable()

    def claimed(self, subscriber_id: int, key: str | None, /) -> Reader | None:
        with self._store(readonly=True) as store:
            return store.claimed(subscriber_id, key)

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


# No redirect of Werkzeug's own (a trailing slash, merged slashes): it would name the
# request's Host, which anyone can set, over http.
_ROUTES = Map(
    [
        Rule("/unsubscribe/<token>", endpoint="unsubscribe", methods=["GET", "POST"]),
        Rule("/preferences/<token>", endpoint="preferences", methods=["GET", "POST"]),
        Rule("/subscribe", endpoint="subscribe", methods=["GET", "POST"]),
        Rule("/confirm/<token>", endpoint="confirm", methods=["GET", "POST"]),
        Rule("/archive", endpoint="archive_slash", methods=["GET"]),
        Rule("/archive/", endpoint="archive_index", methods=["GET"]),
        Rule("/archive/<name>", endpoint="archive_page", methods=["GET"]),
        Rule("/copy/<token>", endpoint="copy", methods=["GET"]),
        Rule("/healthz", endpoint="healthz", methods=["GET"]),
    ],
    strict_slashes=False,
    merge_slashes=False,
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
    signup: SignupDesk | None = None  # DIGEST_SIGNUP: /subscribe and /confirm

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
        links = {
            "email": reader.email,
            "preferences": self._link("preferences", subscriber_id, reader.key),
        }
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
        if action != "save" or any(name not in request.form for name in FIELDS):
            # not our form: saving it would reset every missing preference to its default
            return self._html("web/bad_request.html.j2", {}, status=400)
        posted = {name: form_text(request.form[name]) for name in FIELDS}
        if posted["every"] == "daily":  # the day select stays as it was; it only counts weekly
            posted["day"] = ""
        errors = field_errors(posted)
        if errors:
            return self._preferences_page(subscriber_id, reader, posted, errors=errors, status=422)
        self.readers.set_preferences(subscriber_id, parse_preferences(posted))
        log.info("subscriber #%d changed their preferences", subscriber_id)
        return self._reload(
            subscriber_id, reader.key, "Saved. The next digest follows these preferences."
        )

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
        return self._reload(subscriber_id, reader.key, notice)

    def _reload(self, subscriber_id: int, key: str, notice: str) -> Response:
        reader = self.readers.claimed(subscriber_id, key)
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
            "zones": zones(),
            "unsubscribe": self._link("unsubscribe", subscriber_id, reader.key),
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

    def _archive_slash(self, request: Request) -> Response:
        # Relative: the proxy's scheme, host and path prefix stay as the reader typed them.
        return Response(status=308, headers={"Location": "archive/"})

    def _copy(self, request: Request, token: str) -> Response:
        """A reader's own copy of their digest: only through the signed link of their email."""
        try:
            stem = tokens.read_copy(self.secret, token)
        except tokens.TokenError:
            return self._not_found()
        path = archive_file(self.archive_dir / archive.READERS_FOLDER, f"{stem}.html")
        if path is None:
            return self._not_found()
        response = Response(path.read_bytes(), mimetype="text/html")
        response.headers["Cache-Control"] = "private, max-age=300"
        return response

    def _healthz(self, request: Request) -> Response:
        headers = {"Cache-Control": "no-store"}
        try:
            self.readers.check()
        except DigestError as exc:
            log.error("health check: %s", exc)
            return Response("unavailable\n", status=503, mimetype="text/plain", headers=headers)
        return Response("ok\n", mimetype="text/plain", headers=headers)

    # --- signup (DIGEST_SIGNUP)

    def _subscribe(self, request: Request) -> Response:
        if self.signup is None:
            return self._not_found()
        if request.method != "POST":
            return self._page(self.signup.form())
        return self._page(self.signup.submit(request, self.clock()))

    def _confirm(self, request: Request, token: str) -> Response:
        if self.signup is None:
            return self._not_found()
        return self._page(self.signup.confirm(request, token, self.clock()))

    def _page(self, page: Page) -> Response:
        return self._html(page.template, page.context, status=page.status, private=page.private)

    # --- helpers

    def _find(self, purpose: str, token: str) -> tuple[int, Reader] | None:
        """The subscriber a genuine token of this purpose names, or None (the same either way)."""
        try:
            claim = tokens.read(self.secret, purpose, token)
        except tokens.TokenError:
            return None
        reader = self.readers.claimed(claim.id, claim.key)
        return None if reader is None else (claim.id, reader)

    def _link(self, purpose: str, subscriber_id: int, key: str) -> str:
        """A relative link from one token page to another: /unsubscribe/x -> ../preferences/y."""
        return f"../{purpose}/{tokens.make(self.secret, purpose, subscriber_id, key)}"

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
