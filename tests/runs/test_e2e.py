"""End to end: the real CLI in a child process, a real SMTP server, real SQLite."""

from __future__ import annotations

import json
import shutil
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import PASSWORD, REAL_SEED, SeedWriter, SmtpServer, free_port, run_cli

pytestmark = pytest.mark.slow  # every test runs the CLI in a child process

CHROME = ("Copyright", "Source link", "Related Posts", "1 of 1,537")
HEADLINE = (
    "Chile’s far-right president-elect visits El Salvador mega-prison, "
    "plans to talk security with Bukele"
)


def parse(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def parts(msg: EmailMessage) -> tuple[str, str]:
    """The text and HTML bodies, checking the order clients rely on (text first)."""
    assert msg.get_content_type() == "multipart/alternative"
    text_part, html_part = list(msg.iter_parts())
    assert text_part.get_content_type() == "text/plain"
    assert html_part.get_content_type() == "text/html"
    flat = " ".join  # wrapped text lines must not hide a phrase from the checks
    return flat(text_part.get_content().split()), flat(html_part.get_content().split())


def copy_real_seed(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir(exist_ok=True)
    shutil.copy2(REAL_SEED, tmp_path / "seeds" / REAL_SEED.name)


def article(title: str, body: str) -> str:
    return json.dumps({"title": title, "text": body, "source": "Test Wire"})


NEW_BODY = (
    "The city council approved a new budget on Tuesday after a long debate. "
    "The plan adds money for parks and libraries. Critics said taxes will rise. "
    "The mayor promised a review next year. Residents can comment until May."
)


def test_default_run_writes_one_eml_and_second_run_sends_nothing(tmp_path: Path) -> None:
    copy_real_seed(tmp_path)
    first = run_cli("run")
    assert first.code == 0, first.err
    emls = list((tmp_path / "outbox").glob("*.eml"))
    assert len(emls) == 1
    text, html = parts(parse(emls[0].read_bytes()))
    for body in (text, html):
        assert "far-right president-elect visits El Salvador mega-prison" in body
        for chrome in CHROME:
            assert chrome not in body
    assert "Featured" not in parse(emls[0].read_bytes())["Subject"]
    second = run_cli("run")
    assert second.code == 0, second.err
    assert "nothing new" in second.out
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_summary_is_three_sentences_from_the_article(tmp_path: Path) -> None:
    copy_real_seed(tmp_path)
    result = run_cli("preview", "--json")
    assert result.code == 0, result.err
    (entry,) = json.loads(result.out)["entries"]
    assert entry["title"] == HEADLINE
    assert entry["source"] == "The Washington Times"
    assert len(entry["summary"]) == 3
    body = " ".join(REAL_SEED.read_text(encoding="utf-8").split())
    for sentence in entry["summary"]:
        assert sentence in body
        assert "Featured" not in sentence
    assert not (tmp_path / ".digest").exists()  # preview changes no state


def test_smtp_delivers_once_over_tls_with_auth(tmp_path: Path, smtp_server: SmtpServer) -> None:
    copy_real_seed(tmp_path)
    env = smtp_server.env(DIGEST_TO="ann@example.org, bob@example.org")
    first = run_cli("run", env=env)
    assert first.code == 0, first.err
    got = smtp_server.messages
    assert sorted(r for m in got for r in m.rcpt_tos) == ["ann@example.org", "bob@example.org"]
    assert all(m.tls and m.login == "digest-user" for m in got)
    assert HEADLINE in parts(parse(got[0].content))[0]

    again = run_cli("run", env=env)
    assert again.code == 0, again.err
    assert len(smtp_server.messages) == 2


def test_new_seed_yields_a_digest_with_only_that_article(
    tmp_path: Path, smtp_server: SmtpServer, seeds: SeedWriter
) -> None:
    copy_real_seed(tmp_path)
    env = smtp_server.env(DIGEST_TO="ann@example.org")
    assert run_cli("run", env=env).code == 0
    seeds("budget.json", article("Council passes budget", NEW_BODY))
    result = run_cli("run", env=env)
    assert result.code == 0, result.err
    assert len(smtp_server.messages) == 2
    text, html = parts(parse(smtp_server.messages[1].content))
    assert "Council passes budget" in text
    assert "El Salvador" not in text and "El Salvador" not in html


def test_dry_run_sends_nothing_and_changes_no_state(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    copy_real_seed(tmp_path)
    env = smtp_server.env()
    dry = run_cli("run", "--dry-run", env=env)
    assert dry.code == 0, dry.err
    assert smtp_server.messages == []
    assert len(list((tmp_path / "outbox").glob("dry-run-*.eml"))) == 1
    real = run_cli("run", env=env)
    assert real.code == 0, real.err
    assert len(smtp_server.messages) == 1


def test_to_overrides_recipients(tmp_path: Path, smtp_server: SmtpServer) -> None:
    copy_real_seed(tmp_path)
    result = run_cli("run", "--to", "ops@example.org", env=smtp_server.env())
    assert result.code == 0, result.err
    assert [m.rcpt_tos for m in smtp_server.messages] == [["ops@example.org"]]


def test_wrong_password_fails_in_one_line_then_queued_message_goes_out(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    copy_real_seed(tmp_path)
    bad = run_cli("run", env=smtp_server.env(DIGEST_SMTP_PASSWORD="wrong-pass"))
    assert bad.code == 1
    assert "DIGEST_SMTP_PASSWORD" in bad.err
    assert "wrong-pass" not in bad.err + bad.out and PASSWORD not in bad.err
    assert "Traceback" not in bad.err
    assert smtp_server.messages == []

    good = run_cli("run", env=smtp_server.env())
    assert good.code == 0, good.err
    assert len(smtp_server.messages) == 1
    assert HEADLINE in parts(parse(smtp_server.messages[0].content))[0]
    assert len(list((tmp_path / "outbox").glob("digest-*.eml"))) == 1  # the queued one, reused


def test_closed_port_names_the_setting(tmp_path: Path, smtp_server: SmtpServer) -> None:
    copy_real_seed(tmp_path)
    env = smtp_server.env(DIGEST_SMTP_PORT=str(free_port()), DIGEST_SMTP_BACKOFF="0.1")
    result = run_cli("run", env=env)
    assert result.code == 1
    assert "connection refused" in result.err and "DIGEST_SMTP_PORT" in result.err
    assert "Traceback" not in result.err


def test_unknown_security_mode_is_a_usage_error(tmp_path: Path, smtp_server: SmtpServer) -> None:
    copy_real_seed(tmp_path)
    result = run_cli("run", env=smtp_server.env(DIGEST_SMTP_SECURITY="tls"))
    assert result.code == 2
    assert result.err.count("\n") == 1 and "DIGEST_SMTP_SECURITY" in result.err


def test_title_cannot_add_a_header_or_recipient(
    tmp_path: Path, smtp_server: SmtpServer, seeds: SeedWriter
) -> None:
    seeds("evil.json", article("Hello\r\nBcc: someone@example.org", NEW_BODY))
    result = run_cli("run", env=smtp_server.env(DIGEST_TO="ann@example.org"))
    assert result.code == 0, result.err
    (received,) = smtp_server.messages
    assert received.rcpt_tos == ["ann@example.org"]
    msg = parse(received.content)
    assert msg["Bcc"] is None
    assert "\n" not in str(msg["Subject"])


def test_summarize_json_prints_one_object_per_file(tmp_path: Path, seeds: SeedWriter) -> None:
    copy_real_seed(tmp_path)
    seeds("budget.json", article("Council passes budget", NEW_BODY))
    paths = sorted(str(p) for p in (tmp_path / "seeds").iterdir())
    result = run_cli("summarize", "--json", "--sentences", "2", *paths)
    assert result.code == 0, result.err
    records = [json.loads(line) for line in result.out.splitlines()]
    assert [r["path"] for r in records] == paths
    for record in records:
        assert set(record) == {"path", "title", "source", "language", "summary"}
        assert record["language"] == "english"
        assert len(record["summary"]) == 2


def test_sent_email_has_list_headers_inlined_css_and_an_archive_copy(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    copy_real_seed(tmp_path)
    env = smtp_server.env(
        DIGEST_FROM="News <news@example.org>",
        DIGEST_TO="ann@example.org",
        DIGEST_UNSUBSCRIBE_URL="https://example.org/unsubscribe?list=news",
    )
    result = run_cli("run", env=env)
    assert result.code == 0, result.err
    (received,) = smtp_server.messages
    msg = parse(received.content)
    assert msg["List-Id"] == "News digest <digest.example.org>"
    assert msg["List-Unsubscribe"] == (
        "<mailto:news@example.org?subject=unsubscribe>, <https://example.org/unsubscribe?list=news>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert list(msg.iter_attachments()) == []
    html_part = msg.get_body(("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert '<td class="pad" style="padding: 20px 28px;' in html  # CSS inlined
    assert 'href="https://example.org/unsubscribe?list=news"' in html
    pages = sorted(p.name for p in (tmp_path / "archive").iterdir())
    assert len(pages) == 2 and pages[1] == "index.html"
    assert HEADLINE in (tmp_path / "archive" / pages[0]).read_text(encoding="utf-8")
