"""Reading one returned message: what it is, who it names, which message of ours."""

from __future__ import annotations

from datetime import UTC, datetime

from replies import (
    arf_report,
    broken_report,
    human_reply,
    original_headers,
    postfix_bounce,
    unsubscribe_mail,
)

from digest.delivery import mail
from digest.inbox import reports


def sent(to: str = "bob@example.net", token: str = "MQ.abc-DEF_1") -> bytes:
    msg = mail.build_message(
        subject="News digest",
        text="One article.\n",
        html="<p>One article.</p>",
        sender="News <news@example.org>",
        recipients=(to,),
        date=datetime(2026, 12, 2, 5, 0, tzinfo=UTC),
        unsubscribe_url=f"https://news.example.org/unsubscribe/{token}",
        unsubscribe_token=token,
    )
    return mail.for_recipient(msg, to)


def message_id(data: bytes) -> str:
    return str(mail.parse_message(data)["Message-ID"])


def test_a_postfix_bounce_names_the_recipient_status_and_our_message_id() -> None:
    ours = sent()
    found = reports.read(postfix_bounce("bob@example.net", original_headers(ours)))
    assert isinstance(found, list)
    (bounce,) = found
    assert (bounce.recipient, bounce.status, bounce.action) == (
        "bob@example.net",
        "5.1.1",
        "failed",
    )
    assert bounce.message_id == message_id(ours)
    assert bounce.permanent and "550 5.1.1" in bounce.diagnostic


def test_a_delay_notice_is_not_permanent() -> None:
    notice = postfix_bounce("bob@example.net", original_headers(sent()), "4.4.1", "delayed")
    found = reports.read(notice)
    assert isinstance(found, list) and len(found) == 1 and not found[0].permanent


def test_an_arf_report_names_the_complaining_recipient_and_our_message() -> None:
    ours = sent("carol@example.net")
    complaint = reports.read(arf_report("carol@example.net", ours))
    assert complaint == reports.Complaint("carol@example.net", message_id(ours), "abuse")


def test_an_arf_report_without_original_rcpt_to_falls_back_to_the_quoted_to() -> None:
    ours = sent("carol@example.net")
    data = arf_report("carol@example.net", ours).replace(
        b"Original-Rcpt-To: <carol@example.net>\r\n", b""
    )
    complaint = reports.read(data)
    assert isinstance(complaint, reports.Complaint) and complaint.recipient == "carol@example.net"


def test_the_mailto_subject_carries_the_readers_token() -> None:
    found = reports.read(unsubscribe_mail(sent(token="MQ.abc-DEF_1"), "bob@example.net"))
    assert found == reports.Unsubscribe("MQ.abc-DEF_1", "bob@example.net")


def test_a_reply_quoting_the_subject_still_carries_the_token() -> None:
    data = unsubscribe_mail(sent(token="MQ.x_y"), "bob@example.net").replace(
        b"Subject: unsubscribe", b"Subject: Re: unsubscribe"
    )
    assert reports.read(data) == reports.Unsubscribe("MQ.x_y", "bob@example.net")


def test_a_broken_report_and_a_human_reply_are_other_with_a_reason() -> None:
    broken = reports.read(broken_report())
    assert isinstance(broken, reports.Other) and broken.why.startswith("broken MIME")
    other = reports.read(human_reply())
    assert isinstance(other, reports.Other) and "not a bounce" in other.why
    assert "Ann" in reports.describe(human_reply())
