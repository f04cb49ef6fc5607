"""Preferences, filters and the CSV format of subscribers; tokens; per-reader message bytes."""

from __future__ import annotations

import stat
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from helpers import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from digest.delivery import mail
from digest.delivery.personalize import Template
from digest.readers import tokens
from digest.readers.subscribers import (
    PreferenceError,
    matches,
    parse_preferences,
    preference_fields,
    read_csv,
)
from digest.records import Preferences
from digest.store.subscribers import new_key


@dataclass(frozen=True)
class Doc:
    title: str
    text: str
    section: str | None = None


# --- preferences ------------------------------------------------------------------------------


def test_empty_fields_are_the_defaults() -> None:
    assert parse_preferences({}) == Preferences()
    assert parse_preferences({"every": "", "max": " "}) == Preferences()


def test_fields_are_read_and_normalised() -> None:
    prefs = parse_preferences(
        {
            "day": "Friday",
            "at": "7:05",
            "timezone": "Europe/Paris",
            "sections": "World, tech ,world",
            "include": "climate change,solar",
            "exclude": "sport",
            "max": "5",
        }
    )
    assert prefs == Preferences(
        every="weekly",
        day="fri",
        at="07:05",
        timezone="Europe/Paris",
        sections=("World", "tech"),
        include=("climate change", "solar"),
        exclude=("sport",),
        max_articles=5,
    )
    assert parse_preferences(preference_fields(prefs)) == prefs


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"at": "25:00"}, "at", "at='25:00': not a time of day; use HH:MM on a 24-hour clock"),
        ({"at": "7pm"}, "at", "at='7pm': not a time of day"),
        ({"timezone": "Mars/Olympus"}, "timezone", "timezone='Mars/Olympus': unknown time zone"),
        ({"timezone": "Europe"}, "timezone", "timezone='Europe': unknown time zone"),  # a folder
        ({"every": "hourly"}, "every", "every='hourly': unknown every; use daily or weekly"),
        ({"day": "someday"}, "day", "day='someday': unknown day"),
        ({"every": "daily", "day": "mon"}, "day", "a day is for weekly digests"),
        ({"max": "0"}, "max", "max='0': at least one full article is needed; leave it empty"),
        ({"max": "ten"}, "max", "max='ten': not a number of articles"),
    ],
)
def test_a_bad_field_is_named_with_the_fix(fields: dict[str, str], field: str, says: str) -> None:
    with pytest.raises(PreferenceError) as caught:
        parse_preferences(fields)
    assert caught.value.field == field
    assert says in str(caught.value)


# --- filters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefs", "doc", "expected"),
    [
        (Preferences(), Doc("Anything", "at all"), True),
        (Preferences(sections=("world",)), Doc("A", "b", "World"), True),
        (Preferences(sections=("world",)), Doc("A", "b", "Tech"), False),
        (Preferences(sections=("world",)), Doc("A", "b", None), False),
        (Preferences(include=("solar",)), Doc("Solar farms grow", "text"), True),
        (Preferences(include=("solar",)), Doc("News", "the SOLAR panel"), True),
        (Preferences(include=("solar",)), Doc("Solarpunk fiction", "none"), False),
        (Preferences(include=("climate change",)), Doc("T", "on climate\nchange today"), True),
        (Preferences(include=("climate change",)), Doc("T", "climate changes"), False),
        (Preferences(include=("c++",)), Doc("T", "we use C++ daily"), True),
        (Preferences(exclude=("sport",)), Doc("Sport results", "x"), False),
        (Preferences(exclude=("sport",)), Doc("Sports results", "x"), True),
        (Preferences(include=("a", "budget"), exclude=("war",)), Doc("Budget", "peace"), True),
        (Preferences(include=("budget",), exclude=("war",)), Doc("Budget", "war"), False),
    ],
)
def test_matches(prefs: Preferences, doc: Doc, expected: bool) -> None:
    assert matches(doc, prefs) is expected


# --- CSV --------------------------------------------------------------------------------------


def test_csv_reports_each_bad_row_by_line_and_keeps_the_rest() -> None:
    text = (
        "email,name,at,timezone,sections,max\n"
        "ann@example.org,Ann,07:30,Europe/Paris,World,5\n"
        "not-an-address,Bob,,,,\n"
        "cat@example.org,Cat,25:00,,,\n"
        "dan@example.org,Dan,,Mars/Olympus,,\n"
        "ANN@example.org,Ann again,,,,\n"
        "eve@example.org,Eve,,,,,,\n"
        "\n"
        "fay@example.org,,,,,\n"
    )
    rows, problems = read_csv(text)
    assert [(r.line, r.email) for r in rows] == [(2, "ann@example.org"), (9, "fay@example.org")]
    assert rows[0].prefs.at == "07:30" and rows[0].prefs.max_articles == 5
    assert [(p.line, p.message.split(";")[0]) for p in problems] == [
        (3, "email='not-an-address': not an email address"),
        (4, "at='25:00': not a time of day"),
        (5, "timezone='Mars/Olympus': unknown time zone"),
        (6, "ANN@example.org repeats line 2"),
        (7, "8 fields but the header has 6"),
    ]


@pytest.mark.parametrize(
    ("header", "says"), [("name,at", "no email column"), ("email,emial", "unknown column 'emial'")]
)
def test_a_bad_header_refuses_the_file(header: str, says: str) -> None:
    with pytest.raises(PreferenceError, match=says):
        read_csv(header + "\nann@example.org,x\n")


# --- tokens -----------------------------------------------------------------------------------


def test_tokens_round_trip_per_purpose() -> None:
    token = tokens.make("secret", "unsubscribe", 42, "k3y")
    assert tokens.read("secret", "unsubscribe", token) == (42, "k3y")
    with pytest.raises(tokens.TokenError):
        tokens.read("secret", "preferences", token)  # another purpose
    with pytest.raises(tokens.TokenError):
        tokens.read("other secret", "unsubscribe", token)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(tokens.TokenError):
        tokens.read("secret", "unsubscribe", tampered)


@pytest.mark.parametrize("purpose", tokens.READER_PURPOSES)
def test_reader_tokens_are_the_bytes_itsdangerous_writes(purpose: str) -> None:
    """Made without the zlib attempt, a token for a reader's key as new_key makes it
    (random) is the library's own bytes: links in mail sent before stay valid."""
    from itsdangerous import URLSafeSerializer

    library = URLSafeSerializer("secret", salt=purpose)
    for reader_id in range(1, 501):
        key = new_key()
        made = tokens.make("secret", purpose, reader_id, key)
        assert made == library.dumps([reader_id, key])
        assert tokens.read("secret", purpose, made) == (reader_id, key)


def test_a_token_for_a_key_zlib_would_shorten_still_reads_back() -> None:
    token = tokens.make("secret", "unsubscribe", 7, "a" * 16)
    assert tokens.read("secret", "unsubscribe", token) == (7, "a" * 16)


def test_the_secret_is_generated_once_with_mode_600(tmp_path: Path) -> None:
    first = tokens.secret_key(tmp_path / "state", None)
    assert tokens.secret_key(tmp_path / "state", None) == first
    mode = (tmp_path / "state" / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert tokens.secret_key(tmp_path / "state", "configured") == "configured"


# --- per-reader bytes -------------------------------------------------------------------------

MARK = "0123456789abcdef0123456789abcdef"


def _template_message(line: str) -> EmailMessage:
    url = f"https://news.example.org/unsubscribe/{MARK}u"
    return mail.build_message(
        subject="Digest",
        text=f"Hello\n{line}\nUnsubscribe: {url}\n",
        html=f'<p>{line}</p>\n<a href="{url}">Unsubscribe</a> <a href="x/{MARK}p">prefs</a>\n',
        sender="news@example.org",
        recipients=(f"to-{MARK}@invalid",),
        date=__import__("datetime").datetime(2024, 3, 5, 7, 0),
        unsubscribe_url=url,
    )


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(
    prefix=st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"]), max_size=120
    ),
    token=st.text("abcXYZ019_.-", min_size=1, max_size=80),
)
def test_filled_message_is_what_the_email_package_would_write(prefix: str, token: str) -> None:
    msg = _template_message(prefix)
    template = Template(
        msg.as_bytes(), mail.to_line(f"to-{MARK}@invalid"), (f"{MARK}u", f"{MARK}p")
    )
    out = template.fill(
        mail.to_line("ann@example.org"), {f"{MARK}u": token, f"{MARK}p": "P" + token}
    )
    for raw in out.split(b"\r\n"):
        assert len(raw) <= 998
    got = message_from_bytes(out, policy=policy.default)
    assert got["To"] == "ann@example.org"
    assert f"<https://news.example.org/unsubscribe/{token}>" in got["List-Unsubscribe"]
    text_part, html_part = got.iter_parts()
    url = f"https://news.example.org/unsubscribe/{token}"
    assert text_part.get_content().replace("\r\n", "\n") == f"Hello\n{prefix}\nUnsubscribe: {url}\n"
    assert html_part.get_content().replace("\r\n", "\n") == (
        f'<p>{prefix}</p>\n<a href="{url}">Unsubscribe</a> <a href="x/P{token}">prefs</a>\n'
    )
    assert MARK not in out.decode("ascii", "replace")


@pytest.mark.parametrize(
    "command", ["add", "edit", "link", "import", "list", "pause", "resume", "remove", "export"]
)
def test_every_subscribers_command_has_help_with_an_example(command: str) -> None:
    from click.testing import CliRunner

    from digest.cli.main import cli

    result = CliRunner().invoke(cli, ["subscribers", command, "--help"])
    assert result.exit_code == 0
    assert "Example: digest subscribers " in result.output
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{command}" in readme.split("## Subscribers")[0]
