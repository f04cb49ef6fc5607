"""Signup the whole way: Chromium with JavaScript off, the real `digest web`, a real SMTP server.

Form -> "check your inbox" -> the confirmation mail at the SMTP server (TLS + AUTH,
sent by the web process) -> opening its link changes nothing -> the button confirms
-> consent in `subscribers export` -> the next `digest run` sends to the new reader.
Screenshots go to test-artifacts/web-signup-*.png.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import REAL_SEED, SeedWriter, SmtpServer, free_port, run_cli
from playwright.sync_api import Browser, Page
from test_web_browser import browser, fits, open_page, readable, shot  # noqa: F401
from test_web_e2e import PUBLIC, WebServer, local_path

from digest.readers import tokens

pytestmark = pytest.mark.slow


def signup_env(tmp_path: Path, smtp_server: SmtpServer, **extra: str) -> dict[str, str]:
    return smtp_server.env(
        DIGEST_SEEDS_DIR=str(tmp_path / "seeds"),
        DIGEST_STATE_DIR=str(tmp_path / "state"),
        DIGEST_ARCHIVE_DIR=str(tmp_path / "archive"),
        DIGEST_FROM="Harbour news <news@example.org>",
        DIGEST_PUBLIC_URL=PUBLIC,
        DIGEST_SIGNUP="true",
        DIGEST_TITLE="Harbour news",
        DIGEST_WORKERS="1",
        **extra,
    )


@pytest.fixture
def web(tmp_path: Path, smtp_server: SmtpServer) -> Iterator[WebServer]:
    server = WebServer(signup_env(tmp_path, smtp_server), tmp_path)
    try:
        yield server
    finally:
        server.stop()


def mail_text(content: bytes) -> str:
    msg = message_from_bytes(content, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def confirm_path(content: bytes) -> str:
    found = re.findall(re.escape(PUBLIC) + r"/confirm/\S+", mail_text(content))
    assert len(found) == 1
    return local_path(found[0])


def exported(env: dict[str, str]) -> dict[str, dict[str, str]]:
    result = run_cli("subscribers", "export", env=env)
    assert result.code == 0, result.err
    return {row["email"]: row for row in csv.DictReader(io.StringIO(result.out))}


def submit(page: Page, base: str, email: str) -> None:
    page.goto(base + "/subscribe")
    page.fill("#email", email)
    page.fill("#sections", "")
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_load_state()


@pytest.mark.parametrize(("width", "scheme"), [(375, "light"), (800, "dark")])
def test_signup_form_mail_button_and_the_next_run(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
    seeds: SeedWriter,
    smtp_server: SmtpServer,
    web: WebServer,
    width: int,
    scheme: str,
) -> None:
    env = signup_env(tmp_path, smtp_server)
    base = f"http://127.0.0.1:{web.port}"
    page = open_page(browser, width, scheme)
    try:
        page.goto(base + "/subscribe")
        fits(page, width)
        readable(page, scheme)
        shot(page, f"signup-form-{width}-{scheme}")
        submit(page, base, "new.reader@example.net")
        assert page.locator("h1").inner_text() == "Check your inbox"
        fits(page, width)
        readable(page, scheme)
        shot(page, f"signup-inbox-{width}-{scheme}")
        (mail,) = smtp_server.messages
        assert mail.rcpt_tos == ["new.reader@example.net"] and mail.tls
        assert "Confirm your subscription to Harbour news" in mail.content.decode()

        page.goto(base + confirm_path(mail.content))  # what a mail scanner does too
        assert page.get_by_role("button", name="Confirm").is_visible()
        assert exported(env) == {}  # opening the link changed nothing
        fits(page, width)
        readable(page, scheme)
        shot(page, f"signup-confirm-{width}-{scheme}")
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "You are subscribed"
        fits(page, width)
        readable(page, scheme)
        shot(page, f"signup-confirmed-{width}-{scheme}")
    finally:
        page.context.close()

    row = exported(env)["new.reader@example.net"]
    assert row["status"] == "active" and row["consent_form"] == "signup-1"
    assert row["consent_client"] == "127.0.0.1" and "Chrome" in row["consent_agent"]
    assert row["consent_at"].startswith("20")

    smtp_server.messages.clear()
    seeds("first.txt", REAL_SEED.read_text(encoding="utf-8"))
    assert run_cli("run", env=env).code == 0
    (digest,) = smtp_server.messages
    assert digest.rcpt_tos == ["new.reader@example.net"]
    assert "Harbour news" in str(message_from_bytes(digest.content)["Subject"])
    assert "Harbour news" in str(message_from_bytes(digest.content)["List-Id"])


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 800])
def test_every_signup_page_fits_and_reads_at_both_widths_light_and_dark(
    browser: Browser,  # noqa: F811
    smtp_server: SmtpServer,
    web: WebServer,
    width: int,
    scheme: str,
) -> None:
    base = f"http://127.0.0.1:{web.port}"
    page = open_page(browser, width, scheme)
    try:
        page.goto(base + "/subscribe")
        page.fill("#email", "ann..x@example.net")  # the browser's check lets it by; ours does not
        page.get_by_role("button", name="Subscribe").click()
        page.wait_for_load_state()
        assert "not an email address" in page.locator("#email-error").inner_text().lower()
        fits(page, width)
        readable(page, scheme)
        shot(page, f"signup-error-{width}-{scheme}")
        submit(page, base, "ann@example.net")
        page.goto(base + confirm_path(smtp_server.messages[0].content))
        for path in ("/subscribe", "/confirm/forged"):
            page.goto(base + path)
            fits(page, width)
            readable(page, scheme)
    finally:
        page.context.close()


def test_repeated_signups_send_at_most_one_mail_an_hour(
    browser: Browser,  # noqa: F811
    smtp_server: SmtpServer,
    web: WebServer,
) -> None:
    base = f"http://127.0.0.1:{web.port}"
    page = open_page(browser, 375)
    try:
        for _ in range(3):
            submit(page, base, "eager@example.net")
            assert page.locator("h1").inner_text() == "Check your inbox"
    finally:
        page.context.close()
    assert [m.rcpt_tos for m in smtp_server.messages] == [["eager@example.net"]]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_forged_and_cross_purpose_confirm_links_get_the_404_page(
    browser: Browser,  # noqa: F811
    tmp_path: Path,
    smtp_server: SmtpServer,
    web: WebServer,
    scheme: str,
) -> None:
    env = signup_env(tmp_path, smtp_server)
    body = b"email=ann%40example.net&name=&sections=&form=signup-1"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert web.request("POST", "/subscribe", body, form)[0] == 200
    good = confirm_path(smtp_server.messages[0].content)
    token = good.rsplit("/", 1)[1]
    secret = (tmp_path / "state" / "secret_key").read_text().strip()
    claim = tokens.read_confirm(secret, token, time.time())
    bad = [
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "/confirm/" + tokens.make_confirm("another-secret", claim.id, claim.key or "", 0),
        "/confirm/" + tokens.make(secret, "preferences", claim.id, claim.key or ""),
        f"/unsubscribe/{token}",
        f"/preferences/{token}",
    ]
    page = open_page(browser, 375, scheme)
    try:
        for path in bad:
            response = page.goto(f"http://127.0.0.1:{web.port}{path}")
            assert response is not None and response.status == 404
            assert page.locator("h1").inner_text() == "This link does not work"
            readable(page, scheme)
        shot(page, f"signup-forged-{scheme}")
    finally:
        page.context.close()
    for path in bad[:3]:
        assert web.request("POST", path)[0] == 404
    assert exported(env) == {}


def test_the_honeypot_sends_nothing(smtp_server: SmtpServer, web: WebServer) -> None:
    body = b"email=bot%40example.net&name=&sections=&website=http%3A%2F%2Fspam.example"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, _, page = web.request("POST", "/subscribe", body, form)
    assert status == 200 and "Check your inbox" in page  # a bot learns nothing
    assert smtp_server.messages == []


@pytest.mark.parametrize(("trusted", "client"), [("127.0.0.1", "203.0.113.9"), (None, "127.0.0.1")])
def test_the_client_address_comes_from_x_forwarded_for_only_behind_the_trusted_proxy(
    tmp_path: Path, smtp_server: SmtpServer, trusted: str | None, client: str
) -> None:
    extra = {"DIGEST_WEB_TRUSTED_PROXY": trusted} if trusted else {}
    env = signup_env(tmp_path, smtp_server, **extra)
    web = WebServer(env, tmp_path)
    try:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-For": "198.51.100.1, 203.0.113.9",  # the first one, anyone can write
        }
        body = b"email=ann%40example.net&name=&sections=&form=signup-1"
        assert web.request("POST", "/subscribe", body, headers)[0] == 200
        path = confirm_path(smtp_server.messages[0].content)
        assert web.request("POST", path, b"", headers)[0] == 200
    finally:
        web.stop()
    assert exported(env)["ann@example.net"]["consent_client"] == client


def test_signup_without_a_public_url_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    result = run_cli(
        "web",
        "--listen",
        f"127.0.0.1:{free_port()}",
        env={"DIGEST_SIGNUP": "true", "DIGEST_STATE_DIR": "s"},
    )
    assert result.code == 2
    assert "DIGEST_SIGNUP" in result.err and "DIGEST_PUBLIC_URL" in result.err
    assert "Traceback" not in result.err
