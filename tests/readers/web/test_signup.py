"""Signup with double opt-in: the pages over a real state database, the mail caught in a list.

The app is driven by Werkzeug's test client with a clock the tests move; the mail
goes to `Outbox`, a mailer that keeps what it was given. The real `digest web`,
SMTP server and Chromium take the same way in test_signup_browser.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from werkzeug.test import Client, TestResponse

from digest.errors import DeliveryError
from digest.readers import tokens
from digest.readers.web.app import ReaderPages, StoreRoster
from digest.readers.web.signup import CLIENT_LIMIT, SignupDesk
from digest.records import Preferences
from digest.store import Store

SECRET = "signup-secret-0123456789"
PUBLIC = "https://news.example.org/digest"
START = datetime(2026, 3, 5, 7, 30, tzinfo=UTC)
FORM = {"email": "ann@example.net", "name": "Ann", "sections": "", "form": "signup-1"}


@dataclass
class Outbox:
    """A mailer that keeps every message (or fails, when told to)."""

    sent: list[EmailMessage] = field(default_factory=list)
    failing: bool = False

    def __call__(self, msg: EmailMessage) -> None:
        if self.failing:
            raise DeliveryError("cannot connect to the SMTP server", "try later")
        self.sent.append(msg)

    def links(self) -> list[str]:
        return [confirm_link(m) for m in self.sent]


def confirm_link(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    found = re.findall(re.escape(PUBLIC) + r"(/confirm/\S+)", body.get_content())
    assert len(found) == 1
    return str(found[0])


@dataclass
class Site:
    client: Client
    outbox: Outbox
    state: Path
    now: list[datetime]

    def signup(self, ip: str = "192.0.2.10", **changes: str) -> TestResponse:
        return self.client.post(
            "/subscribe",
            data=FORM | changes,
            environ_base={"REMOTE_ADDR": ip},
            headers={"User-Agent": "Firefox/140 (test)"},
        )

    def later(self, **delta: float) -> None:
        self.now[0] += timedelta(**delta)

    def readers(self) -> dict[str, str]:
        with Store.open(self.state, readonly=True) as store:
            return {s.email: s.status for s in store.subscribers()}


@pytest.fixture
def site(tmp_path: Path) -> Site:
    state, outbox, now = tmp_path / "state", Outbox(), [START]

    def open_store() -> Store:
        return Store.open(state)

    desk = SignupDesk(open_store, SECRET, PUBLIC, "news@example.org", "Harbour news", outbox)
    app = ReaderPages(
        StoreRoster(state),
        SECRET,
        tmp_path,
        clock=lambda: now[0],
        title="Harbour news",
        signup=desk,
    )
    return Site(Client(app), outbox, state, now)


def test_the_form_works_without_javascript_and_hides_its_honeypot(site: Site) -> None:
    page = site.client.get("/subscribe")
    assert page.status_code == 200
    assert '<form method="post" action="subscribe">' in page.text
    for name in ("email", "name", "sections", "website", "form"):
        assert f'name="{name}"' in page.text
    assert 'class="trap" aria-hidden="true"' in page.text and 'tabindex="-1"' in page.text
    assert "<script" not in page.text
    assert "Harbour news" in page.text


def test_without_digest_signup_there_is_no_signup_page(tmp_path: Path) -> None:
    client = Client(ReaderPages(StoreRoster(tmp_path / "state"), SECRET, tmp_path))
    assert client.get("/subscribe").status_code == 404
    assert client.post("/subscribe", data=FORM).status_code == 404


def test_a_signup_mails_one_link_and_no_news(site: Site) -> None:
    answer = site.signup()
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    (msg,) = site.outbox.sent
    assert msg["To"] == "ann@example.net"
    assert msg["Subject"] == "Confirm your subscription to Harbour news"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "7 days" in text and "ignore this email" in text
    assert text.count("https://") == 1 and "/preferences/" not in text
    assert msg.get_body(("html",)) is None  # no news, no HTML
    assert site.readers() == {}  # nobody subscribed until the click


def test_the_answer_is_the_same_whoever_asks(site: Site) -> None:
    first = site.signup().text
    again = site.signup().text  # within the hour: no second mail
    with Store.open(site.state) as store:
        store.add_subscriber("ben@example.net", None, Preferences(), START)
    known = site.signup(email="ben@example.net").text
    assert first == again == known
    assert [m["To"] for m in site.outbox.sent] == ["ann@example.net"]


def test_one_confirmation_mail_per_address_per_hour(site: Site) -> None:
    for minutes in (0, 10, 59):
        site.now[0] = START + timedelta(minutes=minutes)
        assert site.signup(ip=f"192.0.2.{minutes}").status_code == 200
    assert len(site.outbox.sent) == 1
    site.now[0] = START + timedelta(minutes=61)
    site.signup()
    assert len(site.outbox.sent) == 2
    # the first mail's link still works: a pending signup keeps its key
    assert site.client.get(site.outbox.links()[0]).status_code == 200


def test_the_honeypot_sends_nothing_and_keeps_nothing(site: Site) -> None:
    answer = site.signup(website="http://spam.example")
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert site.outbox.sent == []
    with Store.open(site.state) as store:
        assert store.count_request("x", START, timedelta(hours=1)) == 1  # no signup row, either


def test_a_client_asking_too_often_is_told_to_wait(site: Site) -> None:
    for n in range(CLIENT_LIMIT):
        assert site.signup(email=f"r{n}@example.net").status_code == 200
    refused = site.signup(email="one-more@example.net")
    assert refused.status_code == 429
    assert len(site.outbox.sent) == CLIENT_LIMIT
    assert site.signup(ip="198.51.100.7", email="other@example.net").status_code == 200
    site.later(hours=1, seconds=1)
    assert site.signup(email="one-more@example.net").status_code == 200


def test_a_post_without_the_forms_fields_is_refused(site: Site) -> None:
    for body in ({}, {"email": "ann@example.net"}, {"name": "x", "sections": ""}):
        response = site.client.post("/subscribe", data=body)
        assert response.status_code == 400
    assert site.outbox.sent == []


@pytest.mark.parametrize(
    ("email", "says"),
    [
        ("not an address", "not a bare address"),
        ("jörg@example.org", "not an ASCII address"),
        ("Ann <ann@example.net>", "not a bare address"),
    ],
)
def test_an_address_that_cannot_be_sent_to_is_shown_on_the_form(
    site: Site, email: str, says: str
) -> None:
    page = site.signup(email=email)
    assert page.status_code == 422
    assert says.lower() in page.text.lower() and 'aria-invalid="true"' in page.text
    assert site.outbox.sent == []


def test_opening_the_link_changes_nothing_and_the_button_subscribes(site: Site) -> None:
    site.signup(sections="World, Science", name="Ann\x1b[2J")
    link = site.outbox.links()[0]
    shown = site.client.get(link)
    assert shown.status_code == 200 and "<button" in shown.text
    assert site.readers() == {}  # a mail scanner opened it: nothing happened
    site.later(minutes=5)
    done = site.client.post(
        link, environ_base={"REMOTE_ADDR": "203.0.113.5"}, headers={"User-Agent": "Phone/1"}
    )
    assert done.status_code == 200 and "You are subscribed" in done.text
    with Store.open(site.state, readonly=True) as store:
        (reader,) = store.subscribers()
    assert (reader.email, reader.name, reader.status) == ("ann@example.net", "Ann[2J", "active")
    assert reader.prefs == Preferences(sections=("World", "Science"))
    assert reader.consent is not None
    assert reader.consent.at == "2026-03-05T07:35:00+00:00"
    assert (reader.consent.client, reader.consent.agent) == ("203.0.113.5", "Phone/1")
    assert reader.consent.form == "signup-1"
    prefs_link = re.search(r'href="\.\./preferences/([^"]+)"', done.text)
    assert prefs_link is not None
    assert tokens.read(SECRET, "preferences", prefs_link[1]) == (reader.id, reader.key)
    again = site.client.post(link)  # a second click: still subscribed, nothing doubled
    assert again.status_code == 200 and "You are subscribed" in again.text
    assert len(site.readers()) == 1
    with Store.open(site.state) as store:
        store.unsubscribe(reader.id, START)
    late = site.client.post(link)  # the old mail's button does not bring them back
    assert "confirmed earlier" in late.text and "is unsubscribed now" in late.text
    assert site.readers() == {"ann@example.net": "unsubscribed"}


def test_a_reader_who_left_comes_back_through_signup(site: Site) -> None:
    with Store.open(site.state) as store:
        left = store.add_subscriber("ann@example.net", "Ann", Preferences(max_articles=3), START)
        assert left is not None
        store.unsubscribe(left, START)
    site.signup()
    site.client.post(site.outbox.links()[0])
    with Store.open(site.state, readonly=True) as store:
        found = store.subscriber_by_email("ann@example.net")
    assert found is not None and found.status == "active"
    assert found.prefs == Preferences(max_articles=3) and found.consent is not None


def bad_confirm_links(site: Site) -> dict[str, str]:
    site.signup()
    good = site.outbox.links()[0]
    token = good.rsplit("/", 1)[1]
    claim = tokens.read_confirm(SECRET, token, START.timestamp())
    return {
        "forged": "/confirm/" + tokens.make_confirm("other-secret", claim.id, claim.key or "", 0),
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "unsubscribe-token": "/confirm/" + tokens.make(SECRET, "unsubscribe", claim.id, "k"),
        "another-key": "/confirm/"
        + tokens.make_confirm(SECRET, claim.id, "not-its-key", START.timestamp()),
        "garbage": "/confirm/hello",
    }


@pytest.mark.parametrize(
    "kind", ["forged", "tampered", "unsubscribe-token", "another-key", "garbage"]
)
def test_forged_and_cross_purpose_confirm_links_are_the_404_page(site: Site, kind: str) -> None:
    link = bad_confirm_links(site)[kind]
    for method in ("GET", "POST"):
        response = site.client.open(link, method=method)
        assert response.status_code == 404 and "This link does not work" in response.text
    assert site.readers() == {}


def test_a_confirm_token_opens_no_other_page(site: Site) -> None:
    site.signup()
    token = site.outbox.links()[0].rsplit("/", 1)[1]
    for page in ("unsubscribe", "preferences", "copy"):
        assert site.client.post(f"/{page}/{token}").status_code in (404, 405)
        assert site.client.get(f"/{page}/{token}").status_code == 404


def test_a_link_older_than_seven_days_no_longer_confirms(site: Site) -> None:
    site.signup()
    site.later(days=7, seconds=1)
    assert site.client.post(site.outbox.links()[0]).status_code == 404
    assert site.readers() == {}


def test_a_mail_that_cannot_be_sent_is_tried_again_on_the_next_request(site: Site) -> None:
    site.outbox.failing = True
    assert site.signup().status_code == 200  # the same answer
    site.outbox.failing = False
    site.later(minutes=1)
    site.signup()
    assert len(site.outbox.sent) == 1


def test_healthz_is_503_when_the_store_cannot_be_opened(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the state folder should be")
    client = Client(ReaderPages(StoreRoster(tmp_path / "state"), SECRET, tmp_path))
    response = client.get("/healthz")
    assert response.status_code == 503 and response.text == "unavailable\n"
    ok = Client(ReaderPages(StoreRoster(tmp_path / "fine"), SECRET, tmp_path))
    assert ok.get("/healthz").text == "ok\n"


def test_pages_that_only_read_never_create_the_store(tmp_path: Path) -> None:
    client = Client(ReaderPages(StoreRoster(tmp_path / "state"), SECRET, tmp_path))
    link = "/preferences/" + tokens.make(SECRET, "preferences", 1, "k")
    assert client.get(link).status_code == 404
    assert not (tmp_path / "state").exists()


def test_without_smtp_the_confirmation_mail_goes_into_the_outbox(tmp_path: Path) -> None:
    from dataclasses import replace

    from digest.readers.web.server import mailer_for
    from digest.readers.web.signup import confirmation
    from digest.settings import Settings

    settings = replace(Settings(), outbox_dir=tmp_path / "outbox", sender="news@example.org")
    desk = SignupDesk(lambda: Store.open(tmp_path), SECRET, PUBLIC, settings.sender, "T", Outbox())
    mailer_for(settings)(confirmation(desk, "ann@example.net", f"{PUBLIC}/confirm/x", START))
    (saved,) = (tmp_path / "outbox").glob("note-*.eml")
    text = saved.read_bytes().decode("ascii")
    assert "To: ann@example.net" in text and f"{PUBLIC}/confirm/x" in text
