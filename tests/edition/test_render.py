"""Tests for digest.edition.render: both bodies, the subject, escaping and template errors."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import helpers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest.edition.compose import Digest, Entry, demote
from digest.edition.render import Rendered, html_size, render
from digest.errors import TemplateError
from digest.records import Article, Summary

CREATED = datetime(2024, 3, 5, 7, 30, tzinfo=UTC)  # a Tuesday
SENTENCES = (
    "The council approved the new bridge on Monday evening.",
    "Construction starts in spring and should take two years.",
    "Residents asked for a cycle lane, which the plan now includes.",
)

MakeArticle = Callable[..., Article]
MakeDigest = Callable[..., Digest]


def _article(n: int = 1, **changes: Any) -> Article:
    values: dict[str, Any] = {
        "id": f"article-{n}",
        "path": Path(f"seeds/article-{n}.txt"),
        "title": f"Bridge vote number {n}",
        "paragraphs": ("Some text.",),
        "modified": CREATED,
        "section": "Local",
        "source": "Riverside Post",
        "url": f"https://news.example.org/story/{n}",
        "published": datetime(2024, 3, 4, 18, 0, tzinfo=UTC),
        "language": "english",
    }
    values.update(changes)
    return helpers.make_article(**values)


def _digest(
    *articles: Article,
    sentences: tuple[str, ...] = SENTENCES,
    more: tuple[Article, ...] = (),
    unlisted: tuple[Article, ...] = (),
) -> Digest:
    summary = Summary(sentences, "english", "lexrank")
    entries = tuple(Entry(a, summary, 4) for a in articles)
    return Digest(created=CREATED, entries=entries, more=more, unlisted=unlisted)


@pytest.fixture
def make_article() -> MakeArticle:
    return _article


@pytest.fixture
def make_digest() -> MakeDigest:
    return _digest


def _body(rendered: Rendered, kind: str) -> str:
    return rendered.html if kind == "html" else rendered.text


@pytest.mark.parametrize("kind", ["html", "text"])
def test_bodies_hold_headline_source_and_every_sentence(
    kind: str, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    body = _body(render(make_digest(make_article())), kind)
    assert "Bridge vote number 1" in body
    assert "Riverside Post" in body
    assert "Local" in body
    assert "4 Mar 2024" in body
    assert "4 min read" in body
    # The text body wraps lines, so compare with whitespace folded.
    flat = " ".join(body.split())
    for sentence in SENTENCES:
        assert sentence in flat


def test_html_is_a_standalone_email(make_article: MakeArticle, make_digest: MakeDigest) -> None:
    html = render(make_digest(make_article())).html
    assert html.startswith("<!DOCTYPE html>")  # as css-inline serializes it
    assert '<meta charset="utf-8">' in html
    assert 'name="viewport"' in html
    assert "max-width: 640px" in html
    assert "<script" not in html.lower()
    # No external resources: the only links are the article's own.
    assert not re.search(r'(src|href)="(?!https://news\.example\.org/)', html)
    assert "src=" not in html
    assert "url(" not in html
    assert "@import" not in html
    assert "You get this email because your address is on the recipient list" in html


def test_text_is_numbered_with_url_on_its_own_line(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    text = render(make_digest(make_article(1), make_article(2))).text
    lines = text.splitlines()
    assert "1. Bridge vote number 1" in lines
    assert "2. Bridge vote number 2" in lines
    assert "   https://news.example.org/story/2" in lines
    assert lines[:3] == ["News digest", "===========", "Tuesday 5 March 2024"]
    assert text.endswith("\n")


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "<script>alert(1)</script>"),
        ("source", "<script>alert(1)</script>"),
        ("section", "<script>alert(1)</script>"),
    ],
)
def test_article_markup_is_escaped_in_html(
    field: str, value: str, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    rendered = render(make_digest(make_article(**{field: value})))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<script" not in rendered.html.lower()
    # Plain text shows the characters as they are: they are harmless there.
    assert value in rendered.text


def test_summary_markup_is_escaped_in_html(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    digest = make_digest(make_article(), sentences=('He said "<b>no</b>" & left.',))
    html = render(digest).html
    assert 'He said "&lt;b&gt;no&lt;/b&gt;" &amp; left.' in html


@pytest.mark.parametrize(
    "url, href",
    [
        ("https://news.example.org/a?b=1&c=2", 'href="https://news.example.org/a?b=1&amp;c=2"'),
        ("HTTP://NEWS.EXAMPLE.ORG/x", 'href="HTTP://NEWS.EXAMPLE.ORG/x"'),
        (
            'https://news.example.org/"><script>',
            'href="https://news.example.org/%22%3E%3Cscript%3E"',
        ),
        ("javascript:alert(1)", None),
        ("data:text/html,<b>hi</b>", None),
        ("ftp://news.example.org/file", None),
        ("//news.example.org/no-scheme", None),
        ("https://news.example.org/with space", None),
        ("http://[::1", None),
        (None, None),
    ],
)
def test_only_http_urls_are_linked(
    url: str | None, href: str | None, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    article = make_article(url=url)
    rendered = render(make_digest(article, more=(make_article(2, url=url),)))
    if href is None:
        assert "href=" not in rendered.html
        assert "Bridge vote number 1</h2>" in rendered.html
        if url:
            assert url not in rendered.text
    else:
        assert rendered.html.count(href) == 3  # headline, "Read the full article", More
        assert "<script" not in rendered.html.lower()


@pytest.mark.parametrize(
    "title, article_title",
    [
        ("News digest", "Hello\r\nBcc: x@example.org"),
        ("Daily\r\nBcc: x@example.org", "Hello"),
        ("Daily\nSubject: hijack", "Hello\rTo: x@example.org"),
        ("Daily\x00\x1b[31m", "Hello\u2028Cc: x@example.org\x85"),
    ],
)
def test_no_line_breaks_or_control_characters_reach_subject(
    title: str, article_title: str, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    rendered = render(make_digest(make_article(title=article_title)), title=title)
    for line in (rendered.subject, rendered.preheader):
        assert not any(unicodedata.category(ch) == "Cc" for ch in line)
        assert "\u2028" not in line
    assert "\nBcc:" not in rendered.text
    assert "\nCc:" not in rendered.text


@pytest.mark.parametrize("kind", ["html", "text"])
def test_control_characters_are_dropped_from_bodies(
    kind: str, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    article = make_article(title="Red\x1b[31m alert\x00\x07", source="Post\x08\x7f")
    body = _body(render(make_digest(article, sentences=("Tab\there, bell\x07 there.",))), kind)
    assert not any(unicodedata.category(ch) == "Cc" and ch != "\n" for ch in body)
    assert "Red[31m alert" in body
    assert "Tab here, bell there." in body


@pytest.mark.parametrize(
    "count, expected",
    [
        (1, "News digest — Tue 05 Mar 2024: 1 new article"),
        (2, "News digest — Tue 05 Mar 2024: 2 new articles"),
        (0, "News digest — Tue 05 Mar 2024: 0 new articles"),
    ],
)
def test_subject_counts_articles(
    count: int, expected: str, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    digest = make_digest(*(make_article(n) for n in range(count)))
    assert render(digest).subject == expected


def test_subject_counts_more_and_unlisted_too(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    many = tuple(make_article(n) for n in range(10, 1250))
    digest = make_digest(make_article(1), more=many[:5], unlisted=many[5:])
    rendered = render(digest, title="Morning news")
    assert rendered.subject == "Morning news — Tue 05 Mar 2024: 1,241 new articles"


@pytest.mark.parametrize(
    "sources, expected",
    [
        (("Riverside Post",), "2 stories from 1 source — top: Bridge vote number 1"),
        (("Riverside Post", "Valley News"), "2 stories from 2 sources — top: Bridge vote number 1"),
        ((None, None), "2 stories — top: Bridge vote number 1"),
    ],
)
def test_preheader(
    sources: tuple[str | None, ...],
    expected: str,
    make_article: MakeArticle,
    make_digest: MakeDigest,
) -> None:
    articles = [make_article(n + 1, source=s) for n, s in enumerate(sources * 2)][:2]
    rendered = render(make_digest(*articles))
    assert rendered.preheader == expected
    assert expected in rendered.html


def test_long_preheader_is_cut_at_a_word(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    preheader = render(make_digest(make_article(title="word " * 60))).preheader
    assert len(preheader) <= 120
    assert preheader.endswith("word…")


@pytest.mark.parametrize(
    "title",
    ["Café au lait in Zürich 🚀", "東京の新しい橋", "Ελλάδα: νέα γέφυρα", "Family 👩‍👩‍👧 day"],
)
def test_unicode_titles_survive(
    title: str, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    rendered = render(make_digest(make_article(title=title)), title=f"Digest {title}")
    assert title in rendered.html
    assert title in rendered.text
    assert rendered.subject.startswith(f"Digest {title} — ")


def test_text_lines_fit_72_columns_except_urls(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    long_title = "A remarkably long headline that keeps going " * 3
    long_url = "https://news.example.org/" + "very-long-path/" * 8
    articles = [make_article(n, title=long_title, url=long_url) for n in range(1, 13)]
    sentences = ("A long sentence that goes on and on without stopping for breath. " * 4,)
    more = tuple(make_article(n, title=long_title, url=long_url) for n in range(20, 23))
    digest = make_digest(*articles, sentences=sentences, more=more)
    text = render(
        digest, title="A digest with a title far longer than any sane person would pick"
    ).text
    long_lines = [line for line in text.splitlines() if len(line) > 72]
    assert long_lines
    assert all(line.strip() == long_url for line in long_lines)


@pytest.mark.parametrize("kind", ["html", "text"])
def test_empty_digest(kind: str, make_digest: MakeDigest) -> None:
    rendered = render(make_digest())
    assert "No new articles." in _body(rendered, kind)
    assert "More stories" not in _body(rendered, kind)
    assert rendered.preheader == "No new articles."


@pytest.mark.parametrize("kind", ["html", "text"])
def test_more_stories_and_unlisted_count(
    kind: str, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    more = (make_article(2, title="Second story"), make_article(3, title="Third story", url=None))
    unlisted = tuple(make_article(n) for n in range(100, 1340))
    body = _body(render(make_digest(make_article(1), more=more, unlisted=unlisted)), kind)
    assert "More stories" in body
    assert "Second story" in body
    assert "Third story" in body
    assert "https://news.example.org/story/2" in body
    assert "and 1,240 more" in body
    assert "Bridge vote number 100" not in body


def test_no_unlisted_line_when_nothing_unlisted(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    rendered = render(make_digest(make_article(1), more=(make_article(2),)))
    assert "More stories" in rendered.text
    assert "...and" not in rendered.text
    assert " more</p>" not in rendered.html


def test_user_template_overrides_one_file(
    tmp_path: Path, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    (tmp_path / "digest.txt.j2").write_text(
        "CUSTOM {{ subject }}\n{% for e in entries %}* {{ e.title }}\n{% endfor %}",
        encoding="utf-8",
    )
    rendered = render(make_digest(make_article()), templates_dir=tmp_path)
    assert rendered.text == (
        "CUSTOM News digest — Tue 05 Mar 2024: 1 new article\n* Bridge vote number 1\n"
    )
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert "Bridge vote number 1" in rendered.html


def test_user_template_can_extend_a_partial(
    tmp_path: Path, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    (tmp_path / "base.html.j2").write_text(
        "<p>{% block body %}{% endblock %}</p>", encoding="utf-8"
    )
    (tmp_path / "digest.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block body %}{{ entries[0].title }}{% endblock %}',
        encoding="utf-8",
    )
    digest = make_digest(make_article(title="<i>x</i>"))
    html = render(digest, templates_dir=tmp_path).html
    # Inlining makes any output a whole document.
    assert html == "<html><head></head><body><p>&lt;i&gt;x&lt;/i&gt;</p></body></html>"


@pytest.mark.parametrize(
    "source, line, reason",
    [
        ("ok\nok\n{{ title }\n", 3, "unexpected '}'"),
        ("{% for e in entries %}\n{{ e.titel }}\n{% endfor %}\n", 2, "has no attribute 'titel'"),
        ("first\n{{ nope }}\n", 2, "'nope' is undefined"),
        ("{% if title %}\nno endif\n", 2, "endif"),
        ("\n\n\n{{ 1 // 0 }}\n", 4, "ZeroDivisionError"),
        ('{% include "missing.j2" %}\n', 1, "'missing.j2' not found"),
        ("x\n{{ title | wrap(width='wide') }}\n", 2, "TypeError"),
    ],
)
def test_broken_user_template_names_file_and_line(
    tmp_path: Path,
    source: str,
    line: int,
    reason: str,
    make_article: MakeArticle,
    make_digest: MakeDigest,
) -> None:
    broken = tmp_path / "digest.txt.j2"
    broken.write_text(source, encoding="utf-8")
    with pytest.raises(TemplateError) as info:
        render(make_digest(make_article()), templates_dir=tmp_path)
    message = str(info.value)
    assert f"{broken} line {line}: " in message
    assert reason in message
    assert "unset DIGEST_TEMPLATES_DIR" in message
    assert "\n" not in message


def test_broken_partial_is_named(
    tmp_path: Path, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    (tmp_path / "part.j2").write_text("fine\n{% endfor %}\n", encoding="utf-8")
    (tmp_path / "digest.html.j2").write_text('{% include "part.j2" %}', encoding="utf-8")
    with pytest.raises(TemplateError, match=r"part\.j2 line 2: "):
        render(make_digest(make_article()), templates_dir=tmp_path)


def test_missing_templates_dir(tmp_path: Path, make_digest: MakeDigest) -> None:
    with pytest.raises(TemplateError, match="DIGEST_TEMPLATES_DIR=.*no such folder"):
        render(make_digest(), templates_dir=tmp_path / "nope")


@given(st.text(), st.text())
def test_any_titles_give_a_one_line_subject_and_clean_bodies(title: str, headline: str) -> None:
    rendered = render(_digest(_article(title=headline)), title=title)
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in rendered.subject)
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in rendered.preheader)
    for body in (rendered.html, rendered.text):
        assert not any(unicodedata.category(ch) in ("Cc", "Cs") and ch != "\n" for ch in body)
    # Same markup as a harmless title: nothing in the titles became a tag.
    plain = render(_digest(_article(title="x")), title="x")
    assert rendered.html.count("<") == plain.html.count("<")


# --- CSS inlining, layout, footer


def test_css_is_inlined_and_only_media_rules_stay_in_style(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    html = render(make_digest(make_article())).html
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.DOTALL)
    assert "@media (prefers-color-scheme: dark)" in style
    assert "@media screen and (max-width: 480px)" in style
    # Outside the @media blocks nothing is left: those rules were inlined.
    assert re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", style).strip() == ""
    assert re.search(r'<td class="pad" style="padding: 20px 28px;[^"]*font-family: ', html)
    assert re.search(r'<h2 style="margin: 0 0 4px;font-size: 19px;', html)
    assert "<link" not in html


def test_table_of_contents_links_each_entry(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    html = render(make_digest(*(make_article(n) for n in (1, 2, 3)))).html
    assert "In this issue" in html
    for n in (1, 2, 3):
        assert f'href="#entry-{n}"' in html
        assert f'id="entry-{n}"' in html
    few = render(make_digest(make_article(1), make_article(2))).html
    assert "In this issue" not in few and "#entry-" not in few


@pytest.mark.parametrize(
    "link, shown",
    [
        ("https://example.org/unsub?id=1&l=news", "https://example.org/unsub?id=1&amp;l=news"),
        ("mailto:news@example.org?subject=unsubscribe", "mailto:news@example.org?subject=unsub"),
        ("javascript:alert(1)", None),
        ("http://example.org/unsub", None),
    ],
)
def test_footer_says_why_and_how_to_stop(
    link: str, shown: str | None, make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    rendered = render(make_digest(make_article()), unsubscribe=link, title="Morning news")
    text = " ".join(rendered.text.split())
    for body in (rendered.html, text):
        assert "your address is on the recipient list of Morning news" in body
    if shown is None:
        assert "reply and ask the sender to remove your address" in text
        assert link not in rendered.html and link not in rendered.text
    else:
        assert f'<a href="{shown}' in rendered.html
        assert "Unsubscribe</a> to stop it." in rendered.html
        assert f"\n{link}\n" in rendered.text


def test_header_shows_the_date_range(make_article: MakeArticle, make_digest: MakeDigest) -> None:
    older = make_article(2, published=datetime(2024, 2, 28, 9, 0, tzinfo=UTC))
    rendered = render(make_digest(make_article(1), older))
    assert "Tuesday 5 March 2024 · news from 28 Feb – 4 Mar 2024" in rendered.html
    assert rendered.text.splitlines()[3] == "News from 28 Feb – 4 Mar 2024"


# --- the size budget: Gmail clips HTML above ~102 KB

BUDGET = 90 * 1024
LONG_SENTENCES = tuple(
    f"Sentence {i} of a long summary keeps going with many more words about the bridge, "
    "the council, the budget and the river, so that each entry weighs a few kilobytes." * 2
    for i in range(4)
)


def _sixty(make_article: MakeArticle, make_digest: MakeDigest) -> Digest:
    articles = [make_article(n, title=f"Story {n:02d} about the bridge") for n in range(1, 61)]
    return make_digest(*articles, sentences=LONG_SENTENCES)


def test_over_budget_the_last_entries_become_titles(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    digest = _sixty(make_article, make_digest)
    unlimited = render(digest)
    assert html_size(unlimited.html) > BUDGET
    rendered = render(digest, budget_bytes=BUDGET)
    assert html_size(rendered.html) <= BUDGET
    kept = len(rendered.digest.entries)
    assert 0 < kept < 60
    # The best entries stay in full; the lowest ranked are listed by title, in order.
    assert rendered.digest.entries == digest.entries[:kept]
    assert rendered.digest.more == tuple(e.article for e in digest.entries[kept:])
    assert rendered.digest.unlisted == ()
    more_section = rendered.html.split("More stories", 1)[1]
    for article in rendered.digest.more:
        assert f">{article.title}</a>" in more_section
    # Only as many as needed: one entry more in full would be over the budget.
    assert html_size(render(demote(digest, 60 - kept - 1)).html) > BUDGET
    # The text part is made from the same digest and holds every headline.
    text = " ".join(rendered.text.split())
    for n in range(1, 61):
        assert f"Story {n:02d} about the bridge" in text
    assert rendered.subject == unlimited.subject
    assert text.count(LONG_SENTENCES[0]) == kept


def test_too_many_titles_are_counted_instead(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    more = tuple(make_article(n, title=f"Title {n} " + "word " * 30) for n in range(2, 102))
    digest = make_digest(make_article(1), more=more)
    rendered = render(digest, budget_bytes=20 * 1024)
    assert html_size(rendered.html) <= 20 * 1024
    fitted = rendered.digest
    assert fitted.entries == ()
    assert 0 < len(fitted.more) < 101
    assert fitted.more == (digest.entries[0].article, *more)[: len(fitted.more)]
    assert f"and {len(fitted.unlisted)} more" in rendered.html
    assert fitted.article_count == 101


def test_a_budget_smaller_than_the_frame_counts_everything(
    make_article: MakeArticle, make_digest: MakeDigest
) -> None:
    digest = make_digest(make_article(1), more=(make_article(2),))
    rendered = render(digest, budget_bytes=1024)
    assert rendered.digest.entries == () and rendered.digest.more == ()
    assert "and 2 more" in rendered.html
    assert "...and 2 more." in rendered.text


def test_within_budget_nothing_moves(make_article: MakeArticle, make_digest: MakeDigest) -> None:
    digest = make_digest(*(make_article(n) for n in range(1, 31)))
    rendered = render(digest, budget_bytes=BUDGET)
    assert rendered.digest == digest
    assert rendered.html == render(digest).html
