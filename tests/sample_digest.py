"""One fixed digest that exercises the whole layout: golden files and the browser test use it."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from helpers import make_article

from digest.delivery import mail
from digest.edition.compose import Digest, Entry
from digest.edition.render import Rendered, render
from digest.records import Article, Summary

CREATED = datetime(2024, 3, 5, 7, 30, tzinfo=UTC)  # a Tuesday
SENDER = "News Digest <news@example.org>"
RECIPIENTS = ("reader@example.org",)
UNSUBSCRIBE_URL = "https://news.example.org/unsubscribe?list=morning&token=3f9a1c"

_STORIES = [
    (
        "Council approves the new river bridge after a long night",
        "Riverside Post",
        "Local",
        "https://news.example.org/story/bridge",
        (
            "The council approved the new bridge on Monday evening after a debate "
            "that ran past midnight.",
            "Construction starts in spring and should take two years.",
            "Residents asked for a cycle lane, which the plan now includes.",
        ),
    ),
    (
        "Café owners in Zürich celebrate 🎉 a record summer",
        "Le Journal",
        "Économie",
        "https://news.example.org/story/z%C3%BCrich-caf%C3%A9",
        (
            "Terraces stayed full from June to September.",
            "Owners say tourists from abroad made up half of their guests.",
        ),
    ),
    (
        'Schools <b>close</b> early & parents "scramble" for childcare',
        "Valley News",
        None,
        None,
        (
            "Heating failures closed four schools two hours early on Friday.",
            "The district promised repairs before the next cold spell.",
            "Parents said the notice came too late to arrange care.",
        ),
    ),
    (
        "Unbreakable: Donaudampfschifffahrtsgesellschaftskapitänswitwenrentenversicherung"
        "sanstaltsdirektorenstellvertreter wins an award",
        "Riverside Post",
        "Culture",
        "https://news.example.org/story/" + "long-path-" * 12,
        ("The longest word in the contest held up the typesetters for a whole afternoon.",),
    ),
    (
        "東京の新しい橋が開通",
        "Asia Wire",
        "World",
        "https://news.example.org/story/tokyo",
        ("The new bridge in Tokyo opened to traffic on Sunday morning.",),
    ),
]


def _article(
    n: int, title: str, source: str | None, section: str | None, url: str | None
) -> Article:
    return make_article(
        id=f"sample-{n:02d}",
        path=Path(f"seeds/sample-{n:02d}.txt"),
        title=title,
        paragraphs=("Body text. " * 120,),
        modified=CREATED,
        section=section,
        source=source,
        url=url,
        published=datetime(2024, 3, 5 - n % 3, 6, 0, tzinfo=UTC),
        language="english",
    )


def sample_digest() -> Digest:
    entries = tuple(
        Entry(_article(n, t, s, sec, u), Summary(sentences, "english", "lexrank"), 1 + n)
        for n, (t, s, sec, u, sentences) in enumerate(_STORIES)
    )
    more = tuple(
        _article(10 + n, f"Further story number {n + 1}", "Wire", None, url)
        for n, url in enumerate(["https://news.example.org/more/1", None, "https://x.example/3"])
    )
    unlisted = tuple(_article(100 + n, f"Counted {n}", None, None, None) for n in range(1240))
    return Digest(created=CREATED, entries=entries, more=more, unlisted=unlisted)


def sample_rendered() -> Rendered:
    return render(sample_digest(), unsubscribe=UNSUBSCRIBE_URL, budget_bytes=90 * 1024)


def sample_message() -> EmailMessage:
    rendered = sample_rendered()
    return mail.build_message(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=SENDER,
        recipients=RECIPIENTS,
        date=CREATED,
        unsubscribe_url=UNSUBSCRIBE_URL,
    )
