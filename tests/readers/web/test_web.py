"""The reader pages as a WSGI app, driven by Werkzeug's test client.

The subscribers live in `Roster`, an in-memory `ReaderRoster` kept in this file: what
the pages do to a subscriber is read back from it. The real store behind them is
exercised by tests/readers/web/test_web_e2e.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

import pytest
from helpers import FakeClock
from itsdangerous import URLSafeSerializer
from werkzeug.test import Client, TestResponse

from digest.errors import StateError
from digest.readers import tokens
from digest.readers.web.app import SECURITY_HEADERS, ReaderPages, archive_file
from digest.readers.web.forms import FIELDS, field_errors
from digest.readers.web.server import split_listen
from digest.records import Preferences

SECRET = "test-secret-0123456789"
NOW = datetime(2026, 3, 5, 7, 30, tzinfo=UTC)
ALICE, BOB = 1, 2


@dataclass(frozen=True)
class Member:
    email: str
    status: str
    prefs: Preferences
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", f"key-of-{self.email}")


class Roster:
    """An in-memory `ReaderRoster`: two subscribers, and a log of every change made."""

    def __init__(self) -> None:
        self.members = {
            ALICE: Member("alice@example.net", "active", Preferences()),
            BOB: Member("bob@example.net", "active", Preferences(sections=("World",))),
        }
        self.changes: list[tuple[object, ...]] = []

    def check(self) -> None:
        pass

    def claimed(self, subscriber_id: int, key: str | None, /) -> Member | None:
        found = self.members.get(subscriber_id)
        return found if found is not None and found.key == key else None

    def unsubscribe(self, subscriber_id: int, at: datetime, /) -> None:
        self.changes.append(("unsubscribe", subscriber_id, at))
        self.members[subscriber_id] = replace(self.members[subscriber_id], status="unsubscribed")

    def set_preferences(self, subscriber_id: int, prefs: Preferences, /) -> None:
        self.changes.append(("preferences", subscriber_id, prefs))
        self.members[subscriber_id] = replace(self.members[subscriber_id], prefs=prefs)

    def set_status(self, subscriber_id: int, status: str, /) -> None:
        self.changes.append(("status", subscriber_id, status))
        self.members[subscriber_id] = replace(self.members[subscriber_id], status=status)


@pytest.fixture
def roster() -> Roster:
    return Roster()


@pytest.fixture
def archive_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "archive"
    folder.mkdir()
    return folder


@pytest.fixture
def client(roster: Roster, archive_dir: Path) -> Client:
    return Client(ReaderPages(roster, SECRET, archive_dir, clock=FakeClock(NOW)))


def url(purpose: str, subscriber_id: int, secret: str = SECRET, key: str | None = None) -> str:
    """A reader link as the emails carry it (their id and key, signed)."""
    member = Roster().members.get(subscriber_id)
    key = key or (member.key if member else "no-such-reader")
    return f"/{purpose}/{tokens.make(secret, purpose, subscriber_id, key)}"


def assert_plain_answer(response: TestResponse) -> None:
    """RFC 8058: the one-click answer is the page itself; no redirect, no cookie."""
    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "Set-Cookie" not in response.headers


# --- one-click unsubscribe


@pytest.mark.parametrize(
    "body",
    [
        {"data": "List-Unsubscribe=One-Click", "content_type": "application/x-www-form-urlencoded"},
        {"data": {"List-Unsubscribe": "One-Click"}, "content_type": "multipart/form-data"},
        {},
    ],
    ids=["urlencoded", "multipart", "empty"],
)
def test_a_one_click_post_unsubscribes_at_once(
    client: Client, roster: Roster, body: dict[str, object]
) -> None:
    response = client.post(url("unsubscribe", ALICE), **body)
    assert_plain_answer(response)
    assert roster.members[ALICE].status == "unsubscribed"
    assert roster.changes == [("unsubscribe", ALICE, NOW)]
    assert roster.members[BOB].status == "active"
    assert "You are unsubscribed" in response.text
    assert "alice@example.net" in response.text


def test_a_second_post_answers_the_same_and_keeps_the_first_time(
    client: Client, roster: Roster
) -> None:
    first = client.post(url("unsubscribe", ALICE))
    second = client.post(url("unsubscribe", ALICE))
    assert_plain_answer(second)
    assert second.text == first.text
    assert roster.changes == [("unsubscribe", ALICE, NOW)]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_opening_the_link_never_unsubscribes(client: Client, roster: Roster, method: str) -> None:
    response = client.open(url("unsubscribe", ALICE), method=method)
    assert response.status_code == 200
    assert roster.changes == []
    assert roster.members[ALICE].status == "active"


def test_the_confirm_page_posts_to_itself_and_links_the_preferences(
    client: Client, roster: Roster
) -> None:
    here = url("unsubscribe", ALICE)
    page = client.get(here).text
    forms = re.findall(r"<form[^>]*>", page)
    assert forms == ['<form method="post">']  # no action: back to this very URL
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in page
    assert re.search(r'<button type="submit"[^>]*>Unsubscribe</button>', page)
    links = re.findall(r'href="([^"]+)"', page)
    assert len(links) == 1
    preferences = urljoin(here, links[0])
    assert preferences == url("preferences", ALICE)
    assert client.get(preferences).status_code == 200
    assert roster.changes == []


# --- links that do not work


def tampered(path: str) -> str:
    """One character of the signature changed (not the last: its low bits are padding)."""
    at = path.rindex(".") + 5
    return path[:at] + ("A" if path[at] != "A" else "B") + path[at + 1 :]


BAD_LINKS: dict[str, Callable[[str], str]] = {
    "tampered": lambda purpose: tampered(url(purpose, ALICE)),
    "wrong-purpose": lambda purpose: url(
        "preferences" if purpose == "unsubscribe" else "unsubscribe", ALICE
    ).replace("/preferences/" if purpose == "unsubscribe" else "/unsubscribe/", f"/{purpose}/"),
    "foreign-secret": lambda purpose: url(purpose, ALICE, secret="another-installation"),
    "truncated": lambda purpose: url(purpose, ALICE)[:-6],
    "another-id-same-signature": lambda purpose: (
        url(purpose, BOB).rsplit(".", 1)[0] + "." + url(purpose, ALICE).rsplit(".", 1)[1]
    ),
    "garbage": lambda purpose: f"/{purpose}/not-a-token",
    "unknown-subscriber": lambda purpose: url(purpose, 99, key="no-such-reader"),
    "another-readers-key": lambda purpose: url(purpose, ALICE, key=Roster().members[BOB].key),
    "bare-id-from-before-keys": lambda purpose: (
        f"/{purpose}/{URLSafeSerializer(SECRET, salt=purpose).dumps(ALICE)}"
    ),
}


@pytest.mark.parametrize("purpose", ["unsubscribe", "preferences"])
@pytest.mark.parametrize("kind", list(BAD_LINKS))
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_bad_link_changes_nothing_and_looks_like_an_unknown_subscriber(
    client: Client, roster: Roster, purpose: str, kind: str, method: str
) -> None:
    before = dict(roster.members)
    unknown = client.open(url(purpose, 99), method=method, data={"action": "pause"})
    response = client.open(BAD_LINKS[kind](purpose), method=method, data={"action": "pause"})
    assert response.status_code == 404
    assert response.text == unknown.text  # nothing tells which addresses exist
    assert "This link does not work" in response.text
    assert "example.net" not in response.text
    assert roster.changes == []
    assert roster.members == before


def test_the_wrong_purpose_link_is_a_genuine_token_of_the_other_kind() -> None:
    link = BAD_LINKS["wrong-purpose"]("unsubscribe")
    token = link.rsplit("/", 1)[1]
    assert tokens.read(SECRET, "preferences", token).id == ALICE
    with pytest.raises(tokens.TokenError):
        tokens.read(SECRET, "unsubscribe", token)


# --- preferences


def test_the_preferences_page_shows_the_current_choices(client: Client) -> None:
    page = client.get(url("preferences", BOB)).text
    assert 'name="sections" value="World"' in page
    assert 'value="daily" checked' in page
    assert "bob@example.net" in page
    assert '<option value="Europe/Berlin">' in page  # zone suggestions, no script needed
    assert "<script" not in page


def test_saved_preferences_round_trip(client: Client, roster: Roster) -> None:
    form = {
        "action": "save",
        "sections": "Science, World",
        "include": "climate, solar power",
        "exclude": "football",
        "max": "5",
        "every": "weekly",
        "day": "fri",
        "at": "7:30",
        "timezone": "Europe/Berlin",
    }
    response = client.post(url("preferences", ALICE), data=form)
    assert response.status_code == 200
    wanted = Preferences(
        every="weekly",
        day="fri",
        at="07:30",
        timezone="Europe/Berlin",
        sections=("Science", "World"),
        include=("climate", "solar power"),
        exclude=("football",),
        max_articles=5,
    )
    assert roster.changes == [("preferences", ALICE, wanted)]
    assert "Saved." in response.text
    shown = client.get(url("preferences", ALICE)).text
    assert 'name="sections" value="Science, World"' in shown
    assert 'name="at" value="07:30"' in shown
    assert '<option value="fri" selected>' in shown
    assert 'value="weekly" checked' in shown


def test_a_day_left_selected_does_not_count_for_a_daily_digest(
    client: Client, roster: Roster
) -> None:
    response = client.post(url("preferences", ALICE), data=full_form(every="daily", day="wed"))
    assert response.status_code == 200
    assert roster.changes == [("preferences", ALICE, Preferences())]


def full_form(**values: str) -> dict[str, str]:
    """What the preferences form posts: every field, empty unless given."""
    return {name: values.get(name, "") for name in FIELDS} | {"action": "save"}


def test_a_post_without_the_forms_fields_is_refused_and_saves_nothing(
    client: Client, roster: Roster
) -> None:
    # before: the missing fields were read as empty, resetting every preference to its default
    roster.members[BOB] = replace(roster.members[BOB], prefs=Preferences(sections=("World",)))
    for body in ({}, {"action": "save"}, {"every": "daily"}, {"action": "delete-everything"}):
        response = client.post(url("preferences", BOB), data=body)
        assert response.status_code == 400
        assert "nothing has been changed" in response.text.lower()
    assert roster.changes == []


def test_control_characters_typed_into_the_form_are_not_kept(
    client: Client, roster: Roster
) -> None:
    form = full_form(sections="World\x1b[2J\x1b]0;owned\x07, Sci\x00ence", include="a\r\nb")
    assert client.post(url("preferences", ALICE), data=form).status_code == 200
    prefs = roster.members[ALICE].prefs
    assert prefs.sections == ("World[2J]0;owned", "Science")
    assert prefs.include == ("a b",)
    assert not any(c < " " for field in (*prefs.sections, *prefs.include) for c in field)


def test_zero_articles_says_what_zero_would_mean(client: Client, roster: Roster) -> None:
    page = client.post(url("preferences", ALICE), data=full_form(max="0")).text
    said = error_of(page, "max")
    assert said is not None and "not a number" not in said.lower()
    assert "at least one full article" in said.lower() and "pause" in said
    assert roster.changes == []


def error_of(page: str, field: str) -> str | None:
    found = re.search(rf'<span class="error" id="{field}-error">([^<]*)</span>', page)
    return found.group(1) if found else None


def test_bad_preferences_are_shown_field_by_field_and_nothing_is_saved(
    client: Client, roster: Roster
) -> None:
    form = full_form(
        sections="World", every="daily", at="25:00", timezone="Mars/Olympus_Mons", max="0"
    )
    response = client.post(url("preferences", ALICE), data=form)
    assert response.status_code == 422
    assert roster.changes == []
    page = response.text
    at, zone, most = error_of(page, "at"), error_of(page, "timezone"), error_of(page, "max")
    assert at is not None and "HH:MM" in at
    assert zone is not None and "time zone" in zone.lower()
    assert most is not None and "at least one full article" in most.lower()
    assert error_of(page, "sections") is None
    assert 'id="at" name="at" value="25:00"' in page  # what was typed stays, to fix it
    assert 'value="Mars/Olympus_Mons"' in page
    assert 'aria-invalid="true" aria-describedby="at-error"' in page
    assert "Nothing was saved" in page


def test_field_errors_name_each_bad_field() -> None:
    errors = field_errors({"at": "25:00", "timezone": "Nowhere/City", "every": "hourly"})
    assert sorted(errors) == ["at", "every", "timezone"]
    assert field_errors({"at": "06:00", "timezone": "Asia/Tokyo"}) == {}


def test_pause_then_resume(client: Client, roster: Roster) -> None:
    here = url("preferences", ALICE)
    paused = client.post(here, data={"action": "pause"})
    assert paused.status_code == 200
    assert roster.members[ALICE].status == "paused"
    assert "Paused" in paused.text
    assert 'value="resume"' in paused.text
    resumed = client.post(here, data={"action": "resume"})
    assert roster.members[ALICE].status == "active"
    assert "Resumed" in resumed.text
    assert roster.changes == [("status", ALICE, "paused"), ("status", ALICE, "active")]


def test_an_unsubscribed_reader_may_subscribe_again(client: Client, roster: Roster) -> None:
    client.post(url("unsubscribe", ALICE))
    page = client.get(url("preferences", ALICE)).text
    assert "Subscribe again" in page
    client.post(url("preferences", ALICE), data={"action": "pause"})  # not for the unsubscribed
    assert roster.members[ALICE].status == "unsubscribed"
    client.post(url("preferences", ALICE), data={"action": "resume"})
    assert roster.members[ALICE].status == "active"


def test_a_huge_form_is_refused(client: Client, roster: Roster) -> None:
    response = client.post(url("preferences", ALICE), data={"include": "x" * 100_000})
    assert response.status_code == 413
    assert roster.changes == []


def test_a_store_that_cannot_answer_is_a_retry_later_page(archive_dir: Path) -> None:
    class Broken(Roster):
        def claimed(self, subscriber_id: int, key: str | None, /) -> Member | None:
            raise StateError("database is locked", "try again")

    client = Client(ReaderPages(Broken(), SECRET, archive_dir))
    response = client.post(url("unsubscribe", ALICE))
    assert response.status_code == 503
    assert "try again" in response.text.lower()


# --- archive, health, headers


def write_page(archive_dir: Path, stem: str, subject: str) -> Path:
    path = archive_dir / f"{stem}.html"
    path.write_text(f"<html><head><title>{subject}</title></head><body>x</body></html>")
    return path


def test_the_archive_index_lists_the_sent_digests_newest_first(
    client: Client, archive_dir: Path
) -> None:
    write_page(archive_dir, "digest-20260304-070000", "Wednesday news")
    write_page(archive_dir, "digest-20260305-070000", "Thursday news")
    for path in ("/archive/", "/archive/index.html"):
        page = client.get(path).text
        assert page.index("Thursday news") < page.index("Wednesday news")
        assert 'href="digest-20260305-070000.html"' in page


def test_an_archived_digest_is_served_as_it_was_written(client: Client, archive_dir: Path) -> None:
    path = write_page(archive_dir, "digest-20260305-070000-ab12", "Thursday news")
    response = client.get("/archive/digest-20260305-070000-ab12.html")
    assert response.status_code == 200
    assert response.data == path.read_bytes()
    assert response.mimetype == "text/html"


@pytest.mark.parametrize(
    "path",
    [
        "/archive/../secret_key",
        "/archive/%2e%2e/secret_key",
        "/archive/..%2fsecret_key",
        "/archive/%2e%2e%2fsecret_key",
        "/archive/digest-20260305-070000.html/../../secret_key",
        "/archive/....//secret_key",
        "/archive//etc/passwd",
        "/archive/%2fetc%2fpasswd",
        "/archive/digest-20260305-070000-%2e%2e%2f%2e%2e%2fsecret_key.html",
        "/archive/outside-link.html",
        "/archive/digest-20260101-000000-link.html",
        "/archive/notes.txt",
        "/secret_key",
    ],
)
def test_nothing_outside_the_archive_is_served(
    client: Client, archive_dir: Path, tmp_path: Path, path: str
) -> None:
    (tmp_path / "secret_key").write_text("TOP-SECRET")
    (tmp_path / "digest-20260101-000000-out.html").write_text("TOP-SECRET page")
    (archive_dir / "notes.txt").write_text("TOP-SECRET notes")
    (archive_dir / "digest-20260101-000000-link.html").symlink_to(
        tmp_path / "digest-20260101-000000-out.html"
    )
    response = client.get(path)
    assert response.status_code in (404, 405, 308)
    assert b"TOP-SECRET" not in response.data
    if response.status_code == 308:  # /archive//x is normalised; where it goes is refused too
        assert b"TOP-SECRET" not in client.get(response.headers["Location"]).data


def test_archive_file_accepts_only_digest_pages_inside_the_folder(archive_dir: Path) -> None:
    inside = write_page(archive_dir, "digest-20260305-070000", "x")
    assert archive_file(archive_dir, inside.name) == inside.resolve()
    assert archive_file(archive_dir, "../digest-20260305-070000.html") is None
    assert archive_file(archive_dir, "digest-20260306-070000.html") is None  # missing


def test_healthz(client: Client) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/archive/", 200),
        ("GET", url("unsubscribe", ALICE), 200),
        ("POST", url("unsubscribe", ALICE), 200),
        ("GET", url("preferences", ALICE), 200),
        ("GET", "/unsubscribe/forged", 404),
        ("GET", "/nothing-here", 404),
        ("DELETE", url("unsubscribe", ALICE), 405),
    ],
)
def test_every_answer_carries_the_security_headers(
    client: Client, method: str, path: str, status: int
) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'none'
    assert "Set-Cookie" not in response.headers


def test_personal_pages_are_not_cached(client: Client) -> None:
    for path in (url("unsubscribe", ALICE), url("preferences", ALICE)):
        assert client.get(path).headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("raw", "host", "port"),
    [("127.0.0.1:8080", "127.0.0.1", 8080), ("[::1]:9000", "::1", 9000), (":80", "0.0.0.0", 80)],
)
def test_split_listen(raw: str, host: str, port: int) -> None:
    assert split_listen(raw) == (host, port)


@pytest.mark.parametrize("raw", ["8080", "localhost", "host:0", "host:70000", "a b:80"])
def test_split_listen_refuses_what_is_not_host_port(raw: str) -> None:
    with pytest.raises(Exception, match="DIGEST_WEB_LISTEN"):
        split_listen(raw)


def test_a_bug_answers_500_and_the_log_never_holds_the_token(
    archive_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Buggy(Roster):
        def unsubscribe(self, subscriber_id: int, at: datetime, /) -> None:
            raise RuntimeError("a bug")

    client = Client(ReaderPages(Buggy(), SECRET, archive_dir))
    path = url("unsubscribe", ALICE)
    with caplog.at_level("ERROR", logger="digest"):
        response = client.post(path)
    assert response.status_code == 500
    assert "internal error on the reader page /unsubscribe/" in caplog.text
    assert path.rsplit("/", 1)[1] not in caplog.text


def test_the_link_of_an_unsubscribed_reader_offers_the_way_back(
    client: Client, roster: Roster
) -> None:
    client.post(url("unsubscribe", ALICE))
    page = client.get(url("unsubscribe", ALICE)).text
    assert "You are unsubscribed" in page
    assert "<form" not in page
    assert re.search(r'href="\.\./preferences/[^"]+">Subscribe again', page)
