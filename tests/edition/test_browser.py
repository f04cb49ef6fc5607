"""The email in a real browser: no sideways scrolling and readable text, light and dark.

Debian's Chromium (/usr/bin/chromium, `make browser` installs it) is driven by
Playwright; no browser is downloaded. The page is shown at a phone width (375 px)
and a desktop width (800 px), in both colour schemes. Screenshots are saved under
test-artifacts/ for a person to look at.

Without Chromium these tests fail (they are never skipped): set CHROMIUM to
another binary, or run `make browser`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT
from playwright.sync_api import BrowserContext, sync_playwright
from sample_digest import sample_rendered

pytestmark = pytest.mark.slow  # drives Chromium

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = ROOT / "test-artifacts"
# Playwright adds --headless, --no-sandbox and a fresh --user-data-dir itself.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MIN_CONTRAST = 4.5  # WCAG AA for body text

# Every visible element with text of its own: its text colour and the colour
# behind it, found by walking up the ancestors until an opaque background.
MEASURE = """
() => {
  const rgba = (css) => {
    const m = css.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => below.map((v, i) => top[i] * top[3] + v * (1 - top[3]));
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    return layers.reverse().reduce((base, c) => over(c, base), [255, 255, 255]);
  };
  const texts = [];
  for (const el of document.body.querySelectorAll("*")) {
    const own = [...el.childNodes]
      .filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent).join("").trim();
    const style = getComputedStyle(el);
    if (!own || el.getClientRects().length === 0 || style.visibility === "hidden") continue;
    const bg = background(el);
    texts.push({tag: el.tagName, text: own.slice(0, 40), color: over(rgba(style.color), bg), bg});
  }
  const main = document.querySelector(".main").getBoundingClientRect();
  return {
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    innerWidth: window.innerWidth,
    mainWidth: main.width,
    pageBackground: background(document.body),
    texts,
  };
}
"""


def luminance(rgb: list[float]) -> float:
    """Relative luminance (WCAG 2)."""

    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[float], b: list[float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [([0, 0, 0], [255, 255, 255], 21.0), ([255, 255, 255], [255, 255, 255], 1.0)],
)
def test_contrast_formula(a: list[float], b: list[float], ratio: float) -> None:
    assert contrast(a, b) == pytest.approx(ratio)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make browser` "
            "(apt-get install chromium) or set CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            offline=True,
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def email_html() -> str:
    html = sample_rendered().html
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "email.html").write_text(html, encoding="utf-8")
    return html


def _show(browser: BrowserContext, html: str, width: int, scheme: str) -> dict[str, Any]:
    page = browser.new_page()
    try:
        page.set_viewport_size({"width": width, "height": 900})
        page.emulate_media(color_scheme="dark" if scheme == "dark" else "light")
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.set_content(html, wait_until="load")
        metrics: dict[str, Any] = page.evaluate(MEASURE)
        page.screenshot(path=ARTIFACTS / f"email-{width}-{scheme}.png", full_page=True)
    finally:
        page.close()
    metrics["requests"] = requests
    return metrics


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [375, 800])
def test_email_fits_and_reads_well(
    browser: BrowserContext, email_html: str, width: int, scheme: str
) -> None:
    metrics = _show(browser, email_html, width, scheme)
    assert metrics["requests"] == []  # nothing fetched: no images, fonts or stylesheets
    assert metrics["innerWidth"] == width
    assert metrics["scrollWidth"] <= width, "the email scrolls sideways"
    assert metrics["mainWidth"] == (640 if width > 640 else width)
    page_is_dark = luminance(metrics["pageBackground"]) < 0.05
    assert page_is_dark == (scheme == "dark")
    texts = metrics["texts"]
    assert len(texts) > 20  # headlines, meta lines, summaries, list items, footer
    ratios = [(contrast(t["color"], t["bg"]), t["tag"], t["text"]) for t in texts]
    worst = min(ratios)
    assert worst[0] >= MIN_CONTRAST, f"{worst[1]} {worst[2]!r}: contrast {worst[0]:.2f}"
