"""Self-service signup with double opt-in: the form, the confirmation mail, the confirm button.

    GET  /subscribe          the form (email, optional name and sections); no JavaScript
    POST /subscribe          always the same "check your inbox" page, whatever the address
    GET  /confirm/<token>    a page with a button only: mail scanners follow every link
    POST /confirm/<token>    the reader is active from now on; consent recorded

The answer to a signup never says whether the address is known. Abuse is bounded:
one confirmation mail per address per MAIL_EVERY, at most CLIENT_LIMIT requests per
client address per CLIENT_WINDOW (then 429), and a honeypot field that people never
see and bots fill (then nothing is stored or sent, and the answer is the usual one).
The client address is the connection's; behind DIGEST_WEB_TRUSTED_PROXY, waitress
takes the last X-Forwarded-For entry (digest.readers.web.server).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import TYPE_CHECKING

from digest.errors import DigestError
from digest.readers import tokens
from digest.readers.subscribers import PreferenceError, check_email, form_text, parse_preferences
from digest.records import Consent

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

    from digest.store import Signup, Store

log = logging.getLogger("digest")

MAIL_EVERY = timedelta(hours=1)  # one confirmation mail per address at most this often
CLIENT_LIMIT = 5  # signup requests per client address within CLIENT_WINDOW
CLIENT_WINDOW = timedelta(hours=1)
HONEYPOT = "website"  # hidden from people by the form's CSS; a bot fills it
FORM_VERSION = "signup-1"  # our form's wording; change it when the wording changes
_FIELDS = ("email", "name", "sections")
_TEXT_LIMIT = 200  # characters kept of a name, sections, a user agent or a form version

# Sends one message now (SMTP, or into the outbox); DigestError when it cannot.
Mailer = Callable[[EmailMessage], None]


@dataclass(frozen=True)
class Page:
    """What the app renders: a template, its context, the status; private: never cached."""

    template: str
    context: Mapping[str, object] = field(default_factory=dict)
    status: int = 200
    private: bool = True


NOT_FOUND = Page("web/not_found.html.j2", status=404)


@dataclass(frozen=True)
class SignupDesk:
    """The signup pages' logic; every dependency is a parameter."""

    open_store: Callable[[], Store]
    secret: str
    public_url: str  # the https:// base of the confirmation link
    sender: str  # From of the confirmation mail
    title: str
    mailer: Mailer

    def form(self) -> Page:
        return _form_page({}, {})

    def submit(self, request: Request, now: datetime) -> Page:
        """A signup POST: the same answer for any address; a mail when one is due."""
        form = request.form
        if any(name not in form for name in _FIELDS):
            return Page("web/bad_request.html.j2", status=400)
        if form.get(HONEYPOT, ""):
            log.info("signup: the hidden field was filled; nothing sent")
            return _check_inbox()
        client = request.remote_addr or "unknown"
        with self.open_store() as store:
            if store.count_request(client, now, CLIENT_WINDOW) > CLIENT_LIMIT:
                log.info("signup: too many requests from one client address; refused")
                return Page("web/signup_later.html.j2", status=429)
            values = {name: form_text(form.get(name, ""))[:_TEXT_LIMIT] for name in _FIELDS}
            errors = _errors(values)
            if errors:
                return _form_page(values, errors, status=422)
            version = form_text(form.get("form", ""))[:_TEXT_LIMIT] or "unnamed"
            self._request(store, values, version, now)
        return _check_inbox()

    def _request(
        self, store: Store, values: Mapping[str, str], version: str, now: datetime
    ) -> None:
        """Keep the pending signup and mail its link, unless they are in or were mailed lately."""
        email = check_email(values["email"])
        reader = store.recipient_status(email)
        if reader is not None and reader[1] == "active":
            return  # nothing to confirm; the answer is the same
        signup = store.request_signup(
            email, values["name"] or None, values["sections"], version, now
        )
        if signup.last_mail is not None and now - signup.last_mail < MAIL_EVERY:
            return
        token = tokens.make_confirm(self.secret, signup.id, signup.key, now.timestamp())
        message = confirmation(self, email, f"{self.public_url}/confirm/{token}", now)
        try:
            self.mailer(message)
        except DigestError as exc:  # the reader may ask again; the next request retries
            log.error("signup: the confirmation mail was not sent: %s", exc)
            return
        store.signup_mailed(signup.id, now)

    def confirm(self, request: Request, token: str, now: datetime) -> Page:
        """GET shows the button and changes nothing; its POST makes the reader active."""
        try:
            claim = tokens.read_confirm(self.secret, token, now.timestamp())
        except tokens.TokenError:
            return NOT_FOUND
        with self.open_store() as store:
            signup = store.claimed_signup(claim.id, claim.key or "")
            if signup is None:
                return NOT_FOUND
            if signup.confirmed is None and request.method == "POST":
                reader_id = store.confirm_signup(signup, self._consent(request, signup, now), now)
                log.info("subscriber #%d confirmed their signup", reader_id)
                return self._confirmed(store, reader_id)
            if signup.confirmed is not None:
                found = store.subscriber_by_email(signup.email)
                return self._confirmed(store, found.id) if found else NOT_FOUND
        return Page("web/confirm.html.j2", {"email": signup.email})

    def _consent(self, request: Request, signup: Signup, now: datetime) -> Consent:
        agent = form_text(request.headers.get("User-Agent", ""))[:_TEXT_LIMIT]
        return Consent(
            now.isoformat(timespec="seconds"),
            request.remote_addr or "unknown",
            agent,
            signup.form,
        )

    def _confirmed(self, store: Store, reader_id: int) -> Page:
        reader = store.subscriber(reader_id)
        if reader is None:
            return NOT_FOUND
        preferences = tokens.make(self.secret, "preferences", reader.id, reader.key)
        context = {
            "email": reader.email,
            "status": reader.status,
            "preferences": f"../preferences/{preferences}",
        }
        return Page("web/confirmed.html.j2", context)


def _errors(values: Mapping[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    try:
        check_email(values["email"])
    except PreferenceError as exc:
        errors["email"] = exc.why[:1].upper() + exc.why[1:] + f": {exc.hint}."
    try:
        parse_preferences({"sections": values["sections"]})
    except PreferenceError as exc:
        errors["sections"] = exc.why
    return errors


def _form_page(values: Mapping[str, str], errors: Mapping[str, str], status: int = 200) -> Page:
    context = {
        "values": {name: values.get(name, "") for name in _FIELDS},
        "errors": dict(errors),
        "honeypot": HONEYPOT,
        "form_version": FORM_VERSION,
    }
    return Page("web/subscribe.html.j2", context, status=status, private=False)


def _check_inbox() -> Page:
    return Page("web/check_inbox.html.j2")


def confirmation(desk: SignupDesk, email: str, link: str, now: datetime) -> EmailMessage:
    """The confirmation mail: no news, one link, what happens if it is ignored."""
    msg = EmailMessage()
    title = form_text(desk.title)
    msg["Subject"] = f"Confirm your subscription to {title}"
    msg["From"] = desk.sender
    msg["To"] = email
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=email_domain(desk.sender))
    msg["Auto-Submitted"] = "auto-replied"
    days = tokens.CONFIRM_DAYS
    msg.set_content(
        f"Someone, hopefully you, asked to receive {title} at {email}.\n\n"
        f"To confirm, open this link and press the button on the page:\n\n{link}\n\n"
        f"The link works for {days} days. If you did not ask for this, ignore this email:\n"
        "nothing will be sent to this address.\n",
        charset="utf-8",
        cte="quoted-printable",
    )
    return msg


def email_domain(sender: str) -> str:
    """The domain of the sender's address, for the Message-ID."""
    return sender.rpartition("@")[2].strip(" >") or "localhost"
