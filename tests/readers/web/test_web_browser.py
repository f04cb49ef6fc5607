"""The reader pages in headless Chromium, with JavaScript off: they fit, and their forms work.

The app runs in a real waitress server on a loopback port, over the in-memory
`Roster` of tests/readers/web/test_web.py, so what a click did is read back from it.
Chromium is Debian's (/usr/bin/chromium), driven by Playwright as in
tests/edition/test_browser.py; screenshots go to test-artifacts/web-*.png.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import waitress
from conftest import REAL_SEED, Handler, SeedWriter, StartServer, free_port, run_cli
from helpers import FakeClock
from playwright.sync_api import Browser, Page, sync_playwright
from test_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    MEASURE,
    MIN_CONTRAST,
    contrast,
    luminance,
)
from test_web import ALICE, BOB, NOW, SECRET, Roster, url, write_page
from test_web_e2e import PUBLIC, WebServer

from digest.readers.web.app import ReaderPages
from digest.records import Preferences

pytestmark = pytest.mark.slow

WIDTHS = (375, 800)
# How far the page reaches sideways, and whether anything is cut by its own box.
OVERFLOW = """
() => ({
  scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
  innerWidth: window.innerWidth,
  wide: [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map((el) => el.tagName + (el.id ? "#" + el.id : "")),
})
"""


@pytest.fixture
def roster() -> Roster:
    return Roster()


@pytest.fixture
def base_url(roster: Roster, tmp_path: Path) -> Iterator[str]:
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    write_page(archive_dir, "digest-20260305-070000", "News digest: Thursday 5 March 2026")
    write_page(archive_dir, "digest-20260304-070000", "News digest: Wednesday 4 March 2026")
    app = ReaderPages(roster, SECRET, archive_dir, clock=FakeClock(NOW))
    server = waitress.create_server(app, host="127.0.0.1", port=free_port(), threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown(timeout=2)
        # Closing sockets under the loop's select() ends its thread with EBADF (seen under load):
        # empty the loop's map first, so it ends at its next turn, then close what it held.
        channels = list(server._map.values())
        server._map.clear()
        thread.join(timeout=5)
        for channel in channels:
            if channel is not server and channel is not server.trigger:
                channel.close()
        server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser`", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Browser, width: int, scheme: str = "light") -> Page:
    context = browser.new_context(
        java_script_enabled=False,
        viewport={"width": width, "height": 800},
        color_scheme="dark" if scheme == "dark" else "light",
    )
    return context.new_page()


def fits(page: Page, width: int) -> None:
    metrics: dict[str, Any] = page.evaluate(OVERFLOW)
    assert metrics["innerWidth"] == width
    assert metrics["scrollWidth"] <= width, f"scrolls sideways: {metrics['wide']}"


def readable(page: Page, scheme: str) -> None:
    """Every text at WCAG AA contrast on what is behind it; the page dark in dark mode."""
    metrics: dict[str, Any] = page.evaluate(MEASURE)
    assert (luminance(metrics["pageBackground"]) < 0.05) == (scheme == "dark")
    ratios = [(contrast(t["color"], t["bg"]), t["tag"], t["text"]) for t in metrics["texts"]]
    assert len(ratios) >= 3
    worst = min(ratios)
    assert worst[0] >= MIN_CONTRAST, f"{worst[1]} {worst[2]!r}: contrast {worst[0]:.2f}"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"web-{name}.png", full_page=True)


PAGES: dict[str, Callable[[], str]] = {
    "unsubscribe": lambda: url("unsubscribe", ALICE),
    "preferences": lambda: url("preferences", BOB),
    "not-found": lambda: "/unsubscribe/forged-token",
    "archive": lambda: "/archive/",
}


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_fits_without_sideways_scrolling(
    browser: Browser, base_url: str, name: str, width: int, scheme: str
) -> None:
    page = open_page(browser, width, scheme)
    try:
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(base_url + PAGES[name]())
        fits(page, width)
        shot(page, f"{name}-{width}-{scheme}")
        assert all(r.startswith(base_url) for r in requests)  # nothing fetched elsewhere
        if name != "archive":  # the archive index is archive_index.html.j2, not ours
            readable(page, scheme)
    finally:
        page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_unsubscribe_button_works_without_javascript(
    browser: Browser, base_url: str, roster: Roster, width: int
) -> None:
    page = open_page(browser, width)
    try:
        page.goto(base_url + url("unsubscribe", ALICE))
        assert roster.members[ALICE].status == "active"  # opening it changed nothing
        page.get_by_role("button", name="Unsubscribe").click()
        page.wait_for_load_state()
        assert page.locator("h1").inner_text() == "You are unsubscribed"
        assert roster.members[ALICE].status == "unsubscribed"
        assert page.url == base_url + url("unsubscribe", ALICE)  # answered in place
        fits(page, width)
        shot(page, f"unsubscribed-{width}")
    finally:
        page.context.close()


@pytest.mark.parametrize(("width", "scheme"), [(375, "light"), (800, "dark")])
def test_the_preferences_form_saves_and_shows_errors_by_field(
    browser: Browser, base_url: str, roster: Roster, width: int, scheme: str
) -> None:
    page = open_page(browser, width, scheme)
    try:
        page.goto(base_url + url("preferences", ALICE))
        page.fill("#sections", "Science, World")
        page.fill("#include", "climate")
        page.check("input[name=every][value=weekly]")
        page.select_option("#day", "fri")
        page.fill("#at", "25:00")
        page.fill("#timezone", "Mars/Olympus_Mons")
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        assert roster.changes == []
        assert "HH:MM" in page.locator("#at-error").inner_text()
        assert "time zone" in page.locator("#timezone-error").inner_text().lower()
        fits(page, width)
        readable(page, scheme)
        shot(page, f"preferences-errors-{width}-{scheme}")

        page.fill("#at", "06:45")
        page.fill("#timezone", "Europe/Berlin")
        page.get_by_role("button", name="Save").click()
        page.wait_for_load_state()
        assert "Saved." in page.locator(".notice").inner_text()
        assert roster.members[ALICE].prefs == Preferences(
            every="weekly",
            day="fri",
            at="06:45",
            timezone="Europe/Berlin",
            sections=("Science", "World"),
            include=("climate",),
        )
        page.get_by_role("button", name="Pause the digest").click()
        page.wait_for_load_state()
        assert roster.members[ALICE].status == "paused"
        readable(page, scheme)
        shot(page, f"preferences-saved-{width}-{scheme}")
    finally:
        page.context.close()


# --- the whole way: a subscriber's digest, then its links


def plain_text(content: bytes) -> str:
    msg = message_from_bytes(content, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def titles_sent(handler: Handler) -> str:
    return "\n".join(plain_text(m.content) for m in handler.messages)


def test_the_preferences_page_changes_what_the_next_digest_holds(
    browser: Browser, tmp_path: Path, seeds: SeedWriter, plain_server: StartServer
) -> None:
    handler = Handler()
    env = {
        "DIGEST_SEEDS_DIR": str(tmp_path / "seeds"),
        "DIGEST_STATE_DIR": str(tmp_path / "state"),
        "DIGEST_SMTP_HOST": "127.0.0.1",
        "DIGEST_SMTP_PORT": str(plain_server(handler)),
        "DIGEST_SMTP_SECURITY": "none",
        "DIGEST_PUBLIC_URL": PUBLIC,
        "DIGEST_WORKERS": "1",
    }
    assert run_cli("subscribers", "add", "ann@example.net", env=env).code == 0
    seeds("first.txt", REAL_SEED.read_text(encoding="utf-8"))
    assert run_cli("run", env=env).code == 0
    found = re.findall(re.escape(PUBLIC) + r"(/preferences/\S+)", titles_sent(handler))
    assert len(found) == 1
    web = WebServer(env, tmp_path)
    try:
        page = open_page(browser, 375)
        try:
            page.goto(f"http://127.0.0.1:{web.port}{found[0]}")
            page.fill("#exclude", "harbour")
            page.get_by_role("button", name="Save").click()
            page.wait_for_load_state()
            assert "Saved." in page.locator(".notice").inner_text()
            shot(page, "preferences-e2e-375")
        finally:
            page.context.close()
    finally:
        web.stop()
    handler.messages.clear()
    seeds("harbour.txt", "Harbour cranes stand still\n\n" + "The harbour strike went on. " * 40)
    seeds("meadow.txt", "Meadow flowers return early\n\n" + "Botanists counted orchids. " * 40)
    assert run_cli("run", env=env).code == 0
    sent = titles_sent(handler)
    assert "Meadow flowers return early" in sent
    assert "Harbour cranes" not in sent
