"""Tests for digest.delivery.mail: the MIME message, its headers, and golden files of a whole email.

Regenerate the golden files after an intended change with:
    UPDATE_GOLDEN=1 .venv/bin/pytest tests/delivery/test_mail.py
then review the diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from helpers import TESTS
from hypothesis import example, given
from hypothesis import strategies as st
from sample_digest import CREATED, SENDER, UNSUBSCRIBE_URL, sample_digest, sample_message

from digest.delivery import mail
from digest.delivery.mail import build_message, for_recipient, parse_message
from digest.edition.render import render

GOLDEN = TESTS / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _parse(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _message(subject: str = "Digest", **changes: str | None) -> EmailMessage:
    values: dict[str, object] = {
        "subject": subject,
        "text": "Plain body.\n",
        "html": "<p>HTML body.</p>",
        "sender": "News <news@example.org>",
        "recipients": ("reader@example.org",),
        "date": CREATED,
    }
    values.update(changes)
    return build_message(**values)  # type: ignore[arg-type]


# --- golden files: any change to the rendered email shows up as a diff here


def normalise(eml: bytes) -> str:
    """The message as text with what changes on every build replaced by placeholders."""
    text = eml.decode("ascii").replace("\r\n", "\n")
    boundaries = set(re.findall(r'boundary="([^"]+)"', text))
    for n, boundary in enumerate(sorted(boundaries)):
        text = text.replace(boundary, f"BOUNDARY-{n}")
    text = re.sub(r"(?m)^Message-ID: <[^@>]+@", "Message-ID: <MESSAGE-ID@", text)
    return re.sub(r"(?m)^Date: .*$", "Date: DATE", text)


def _check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    assert path.is_file(), f"{path} missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} changed; if intended, regenerate with UPDATE_GOLDEN=1"


def test_golden_email() -> None:
    msg = sample_message()
    eml = msg.as_bytes()
    assert b"\r\n" in eml and b"\n" not in eml.replace(b"\r\n", b"")  # CRLF throughout
    _check_golden("digest.eml", normalise(eml))
    # The decoded bodies as well: the same content, but readable in a review.
    parsed = _parse(eml)
    for kind, name in (("plain", "digest.txt"), ("html", "digest.html")):
        body = parsed.get_body((kind,))
        assert body is not None
        _check_golden(name, body.get_content().replace("\r\n", "\n"))


def test_normalise_hides_only_what_varies() -> None:
    first, second = sample_message().as_bytes(), sample_message().as_bytes()
    assert first != second  # Message-ID and boundaries differ...
    assert normalise(first) == normalise(second)  # ...and nothing else


# --- structure: exactly two alternatives, no attachments


def test_parsed_back_it_is_two_alternatives_and_no_attachment() -> None:
    msg = _parse(sample_message().as_bytes())
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert list(msg.iter_attachments()) == []
    assert all(not p.is_attachment() and p["Content-Disposition"] is None for p in parts)
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    text, html = (p.get_content() for p in parts)
    digest = sample_digest()
    for entry in digest.entries[:2]:
        assert entry.article.title in text
        assert entry.article.title in html


def test_queued_copy_for_one_recipient_keeps_the_structure() -> None:
    msg = sample_message()
    again = _parse(for_recipient(parse_message(msg.as_bytes()), "ann@example.org"))
    assert again["To"] == "ann@example.org"
    assert [p.get_content_type() for p in again.iter_parts()] == ["text/plain", "text/html"]
    assert list(again.iter_attachments()) == []


# --- headers


def test_list_headers_default_to_the_sender() -> None:
    msg = _parse(_message().as_bytes())
    assert msg["List-Id"] == "News digest <digest.example.org>"
    assert msg["List-Unsubscribe"] == "<mailto:news@example.org?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] is None
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Message-ID"].endswith("@example.org>")


def test_one_click_unsubscribe_with_a_url() -> None:
    url = "https://example.org/u?id=" + "x" * 150  # longer than a header line
    msg = _message(unsubscribe_mailto="leave@example.org", unsubscribe_url=url)
    raw = for_recipient(parse_message(msg.as_bytes()), "ann@example.org")
    parsed = _parse(raw)
    assert parsed["List-Unsubscribe"] == (
        f"<mailto:leave@example.org?subject=unsubscribe>, <{url}>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # No RFC 2047 encoding: clients read List-Unsubscribe as it stands.
    header = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    assert f"\r\n <{url}>\r\n" in header
    assert "=?" not in header.split("List-Unsubscribe:", 1)[1].split("\r\nList-Unsub")[0]


@pytest.mark.parametrize(
    "title",
    [
        "Café au lait à Zürich",
        "Rocket launch 🚀 tonight",
        "Ünïcödé everywhere: ñ, ø, ß, 東京, Ελλάδα 👩‍👩‍👧",
        "A very long headline that goes on and on " * 4 + "— with é",
    ],
)
def test_non_ascii_subjects_are_encoded_and_read_back(title: str) -> None:
    digest = sample_digest()
    rendered = render(digest, title=title)
    msg = build_message(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=SENDER,
        recipients=("reader@example.org",),
        date=datetime(2024, 3, 5, tzinfo=UTC),
        list_name=title,
        unsubscribe_url=UNSUBSCRIBE_URL,
    )
    raw = msg.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # every header is 7-bit on the wire
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    parsed = _parse(raw)
    assert parsed["Subject"] == rendered.subject
    assert parsed["Subject"].startswith(" ".join(title.split()))
    assert parsed["List-Id"] == f"{' '.join(title.split())} <digest.example.org>"
    assert parsed["From"].addresses[0].display_name == "News Digest"


_NAMES = st.text(alphabet=st.sampled_from(list("AZaz09 '_-.,\"()<>@;:\\éë")), max_size=40)
_ADDRESSES = st.from_regex(r"[a-z0-9._+-]{1,40}@[a-z0-9-]{1,20}\.(org|com)", fullmatch=True)


_FOLDED = ("Annabel Lee-Montgomery Fitzwilliam Jr", "annabel.lee.fitzwilliam@example.org.uk")


@given(name=st.one_of(st.none(), _NAMES), address=_ADDRESSES)
@example(name=_FOLDED[0], address=_FOLDED[1])
def test_the_to_line_is_what_the_email_policy_writes(name: str | None, address: str) -> None:
    """The short way for plain names and addresses gives the policy's bytes, whatever the name."""
    value = mail.named(name, address)
    policy_line = mail.SMTP_POLICY.fold_binary(*mail.SMTP_POLICY.header_store_parse("To", value))
    assert mail.to_line(value) == policy_line


@pytest.mark.parametrize(
    "value", ["reader00001@example.org", "Ann Lee <ann@example.org>", "O'Neil <o@example.org>"]
)
def test_plain_to_values_take_the_short_way(value: str) -> None:
    assert mail._PLAIN.fullmatch(value)
    assert mail.to_line(value) == f"To: {value}\r\n".encode()
