"""digest.intake.extract: the main text of a web page, bounded, with its metadata."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from digest.errors import DigestError
from digest.intake.extract import Page, PageError, extract_page

ARTICLE = (
    "The city council voted on Tuesday to close the old harbour bridge to cars from next spring,"
    " ending a debate that has divided residents for more than a decade.",
    "Engineers told the council that the bridge, built in 1931, can no longer carry heavy traffic"
    " safely and that repairs would cost more than a new crossing for cyclists and pedestrians.",
    "Shop owners on both banks said they feared losing customers, while a group of parents"
    " welcomed the decision and said their children would finally be able to walk to school.",
    "The mayor said a shuttle bus would run every ten minutes between the two banks while the"
    " new crossing is built, and that the work should be finished within three years.",
)
COMMENT = "I have lived here forty years and this council never listens to anyone who drives."
SCRIPT_TEXT = "trackingPixelSecretValue"
STYLE_TEXT = "fontFamilyGeorgiaSecret"


def page_html(paragraphs: tuple[str, ...] = ARTICLE, *, extra: str = "") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8">
<title>Harbour bridge to close to cars | Harbour Times</title>
<meta property="og:site_name" content="Harbour Times">
<meta property="article:published_time" content="2024-03-05T07:30:00+01:00">
<link rel="canonical" href="https://harbour.example/2024/bridge">
<style>.x {{ font-family: "{STYLE_TEXT}"; }}</style>
<script>var tracker = "{SCRIPT_TEXT}";</script></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<main><article><h1>Harbour bridge to close to cars</h1>
<p class="byline">By <span class="author">Lena Ortiz</span></p>
{body}{extra}</article>
<section id="comments" class="comments"><h2>Comments</h2><ul>
<li class="comment"><p>{COMMENT}</p></li></ul></section></main>
<footer><p>Copyright 2024 Harbour Times. All rights reserved.</p></footer>
<script>console.log("{SCRIPT_TEXT}")</script></body></html>"""


def test_a_news_page_gives_its_title_text_and_metadata() -> None:
    page = extract_page(page_html(), url="https://harbour.example/?utm=feed")
    assert isinstance(page, Page)
    assert page.title == "Harbour bridge to close to cars"
    assert page.paragraphs == ARTICLE
    assert page.text == "\n\n".join(ARTICLE)
    assert page.published == datetime(2024, 3, 5, 6, 30, tzinfo=UTC)
    assert page.source == "Harbour Times"
    assert page.url == "https://harbour.example/2024/bridge"
    assert page.language == "en-GB"
    assert not page.cut and not page.from_feed


def test_comments_are_not_main_text() -> None:
    page = extract_page(page_html())
    assert page is not None
    assert "forty years" not in page.text


def test_scripts_and_styles_never_reach_the_text() -> None:
    extra = f"<script>document.write('{SCRIPT_TEXT}')</script><style>p{{}}/*{STYLE_TEXT}*/</style>"
    page = extract_page(page_html(extra=extra).encode("utf-8"))
    assert page is not None
    assert SCRIPT_TEXT not in page.text and STYLE_TEXT not in page.text


def test_a_page_over_the_byte_limit_is_cut_and_still_read_quickly() -> None:
    junk = "<div class='c'><p>" + "filler words again " * 20 + "</p></div>"
    markup = page_html(extra=junk * 20_000)  # ~8 MB
    start = time.perf_counter()
    page = extract_page(markup, max_bytes=200_000)
    assert time.perf_counter() - start < 5
    assert page is not None and page.cut
    assert ARTICLE[0] in page.paragraphs


def test_a_tree_over_the_element_limit_is_refused_with_a_clear_error() -> None:
    markup = page_html(extra="<span>x</span>" * 5_000)
    with pytest.raises(PageError, match=r"too complex to read \(5,\d{3} elements > 1,000\)"):
        extract_page(markup, url="https://big.example/", max_elements=1_000)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20,
        bytes(range(32)) * 200,
        b"%PDF-1.7\n\x00\x01\x02\x03" * 100,
    ],
    ids=["png", "control-bytes", "pdf"],
)
def test_binary_data_is_a_digest_error_that_says_so(data: bytes) -> None:
    with pytest.raises(DigestError, match="not HTML"):
        extract_page(data, url="https://x.example/file")


@pytest.mark.parametrize(
    "markup",
    ["", "   \n ", "<html><body><nav><a href='/'>Home</a></nav></body></html>", "<<<>>>&&&"],
    ids=["empty", "blank", "menu-only", "garbage"],
)
def test_a_page_without_main_text_gives_none(markup: str) -> None:
    assert extract_page(markup) is None


def test_the_feed_text_stands_in_when_the_page_keeps_much_less() -> None:
    teaser = page_html(ARTICLE[:1], extra="<p class='paywall'>Subscribe to read more.</p>")
    full = "\n\n".join(ARTICLE * 2)  # longer than the 80 words below which a feed is a summary
    page = extract_page(teaser, feed_text=full)
    assert page is not None and page.from_feed
    assert page.paragraphs == ARTICLE * 2
    assert page.title == "Harbour bridge to close to cars"


def test_a_whole_article_in_the_feed_drops_page_paragraphs_it_lacks() -> None:
    sidebar = "<p>Read our guide to the best seaside walks in the county this summer season.</p>"
    page = extract_page(page_html(extra=sidebar), feed_text="\n\n".join(ARTICLE))
    assert page is not None and not page.from_feed
    assert page.paragraphs == ARTICLE


def test_a_feed_summary_leaves_the_page_text_alone() -> None:
    page = extract_page(page_html(), feed_text="The harbour bridge will close to cars.")
    assert page is not None and page.paragraphs == ARTICLE


def test_an_old_table_layout_keeps_its_menus_out_of_the_text() -> None:
    menu = "<br>".join(f"<a href='/{w}'>{w.title()} news and more</a>" for w in "abcdefgh")
    text = "<br><br>".join(ARTICLE)
    markup = f"""<html><head><title>Bridge</title></head><body><table><tr>
<td>{menu}</td><td><b>Harbour bridge to close</b><br><br>{text}</td></tr></table></body></html>"""
    page = extract_page(markup)
    assert page is not None
    assert "news and more" not in page.text
    assert ARTICLE[0] in page.text


def test_importing_the_loader_does_not_import_trafilatura() -> None:
    code = "import sys, digest.intake.files, digest.intake.extract; print('trafilatura' in sys.modules)"  # noqa: E501
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_tree_over_the_element_limit_falls_back_to_the_feed_text() -> None:
    markup = page_html(extra="<span>x</span>" * 5_000)
    page = extract_page(markup, max_elements=1_000, feed_text="\n\n".join(ARTICLE))
    assert page is not None and page.from_feed and page.paragraphs == ARTICLE


def test_a_page_with_only_a_headline_keeps_its_metadata_with_the_feed_text() -> None:
    markup = page_html(("Subscribe.",))
    page = extract_page(markup, feed_text="\n\n".join(ARTICLE))
    assert page is not None and page.from_feed
    assert page.paragraphs == ARTICLE and page.source == "Harbour Times"
