"""One edition, whoever it is for: build, render, fit, save and queue it, keep the archive copy.

The operator's digest (DIGEST_TO) and the digest of a group of readers are the same thing
with different articles, recipients and links. The run (digest.runs.run) or the fanout
(digest.readers.fanout) decides those and hands over an `Edition`; `publish` does the rest,
the same way for both:

    plan (stories, minus what the recipients had lately) -> summaries (cached) -> compose
    -> render, fitted to DIGEST_HTML_BUDGET_KB -> MIME message -> outbox (.eml + .html)
    -> queued in the store, articles marked taken (readers: their watermarks moved too)
    -> archive copy (DIGEST_ARCHIVE_DIR)

An edition for readers is saved once with a marker where each reader's address and tokens
go; digest.delivery.per_reader fills them in at send time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digest.delivery import queue as deliver
from digest.delivery.personalize import Marker
from digest.edition import compose
from digest.errors import DigestError
from digest.records import Article, Reporter
from digest.settings import Settings
from digest.summary import cache as summary_cache
from digest.summary.summarizer import Summarizer

if TYPE_CHECKING:  # imported where used: a run with nothing new loads no numpy, Jinja2, smtplib
    from email.message import EmailMessage

    from digest.edition.render import Rendered
    from digest.runs.context import RunContext
    from digest.store import Store
    from digest.stories import Sketch


@dataclass(frozen=True)
class Links:
    """The links an edition's email carries; None leaves one out (`unsubscribe`: the mailto)."""

    unsubscribe: str | None = None  # the one-click page (List-Unsubscribe and the footer)
    preferences: str | None = None
    web_copy: str | None = None


@dataclass(frozen=True)
class Readers:
    """The readers' part of an edition: the marker standing for each one's address and
    tokens, and the watermarks that move to `seq` in the same transaction as it is queued."""

    marker: Marker
    marks: Sequence[tuple[int, str | None]]  # (reader id, the scheduled time this run handles)
    seq: int


@dataclass(frozen=True)
class Edition:
    """What to publish: these articles, for these recipients, with these links."""

    articles: Sequence[Article]
    recipients: tuple[str, ...]
    created: datetime  # the run's one moment: file names, Date header, state rows
    stem: str  # the outbox and archive file name (see `stem_for`)
    links: Links = Links()
    limit: int | None = None  # full entries; None: DIGEST_MAX_ARTICLES
    sent: Sequence[Sketch] = ()  # what these recipients had lately: copies of it stay out
    readers: Readers | None = None  # None: the operator's digest, as it is to DIGEST_TO
    send_empty: bool = False  # send it even when every article was a copy of one sent


@dataclass(frozen=True)
class Built:
    """The email of a digest, and the sketch of every article planned (kept once it is queued)."""

    rendered: Rendered  # its `.digest` is the fitted one the email shows
    sketches: Mapping[str, Sketch]


@dataclass(frozen=True)
class Published:
    """An edition saved and queued: the digest its email shows, and the saved `.eml`."""

    digest: compose.Digest
    eml_path: Path
    recipients: tuple[str, ...] = ()  # who it was queued for


def stem_for(created: datetime, articles: Sequence[Article], number: int | None = None) -> str:
    """`digest-YYYYmmdd-HHMMSS-<first article>[-<group>]`: the time orders the archive."""
    first = articles[0].id[:8] if articles else "empty"
    return f"digest-{created:%Y%m%d-%H%M%S}-{first}" + ("" if number is None else f"-{number}")


def publish(ctx: RunContext, edition: Edition) -> Published | None:
    """Build, render, fit, save and queue the edition, then keep its archive copy.

    None when every article was a copy of one the recipients had lately (and the
    edition is not `send_empty`): nothing is saved or queued, the caller decides
    what to remember.
    """
    settings = ctx.settings
    if edition.limit is not None:
        settings = replace(settings, max_articles=edition.limit)
    built = build(
        settings,
        edition.articles,
        created=edition.created,
        reporter=ctx.reporter,
        summarizer=ctx.summarizer,
        cache=ctx.store,
        sent=edition.sent,
        links=edition.links,
        arrangements=ctx.arrangements,
    )
    digest = built.rendered.digest
    if digest.is_empty and edition.articles and not edition.send_empty:
        return None
    eml_path = _queue(ctx, edition, built)
    if not digest.is_empty:  # a readers' edition is theirs: kept apart, never listed
        archive_copy(ctx.settings, digest, edition.stem, ctx.reporter, edition.readers is None)
    return Published(digest, eml_path, edition.recipients)


def build(
    settings: Settings,
    articles: Sequence[Article],
    *,
    created: datetime,
    reporter: Reporter,
    summarizer: Summarizer | None = None,
    cache: Store | None = None,
    sent: Sequence[Sketch] = (),
    links: Links = Links(),
    arrangements: compose.Arrangements | None = None,
) -> Built:
    """Summarize the entries shown in full, then compose, render and fit the digest.

    The answer's `rendered.digest` is the one the email shows: fitted to DIGEST_HTML_BUDGET_KB.
    Summaries made before (same article, method, count and code) come from `cache`; new
    ones are kept in it, and made in DIGEST_WORKERS processes.
    """
    plan = compose.plan(
        articles, settings.max_articles, now=created, sent=sent, arrangements=arrangements
    )
    summaries = summary_cache.summarize_all(
        plan.leads,
        settings.sentences,
        summarizer=summarizer or Summarizer(settings.summarizer, settings.language),
        workers=settings.workers,
        cache=cache,
        track=reporter.track,
    )
    digest = compose.compose(plan, summaries, created=created)
    return Built(_render(settings, digest, links), plan.sketches)


def _render(settings: Settings, digest: compose.Digest, links: Links) -> Rendered:
    """The email of the digest, fitted to DIGEST_HTML_BUDGET_KB, with its links."""
    from digest.edition import render

    return render.render(
        digest,
        templates_dir=settings.templates_dir,
        title=settings.title,
        budget_bytes=settings.html_budget_kb * 1024,
        unsubscribe=links.unsubscribe or unsubscribe_mailto(settings),
        preferences=links.preferences,
        web_copy=links.web_copy,
    )


def message(
    settings: Settings,
    rendered: Rendered,
    recipients: tuple[str, ...],
    created: datetime,
    links: Links = Links(),
    readers: Readers | None = None,
) -> EmailMessage:
    """The MIME message; for readers addressed to the marker, their one-click URL first."""
    from digest.delivery import mail

    msg = mail.build_message(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=settings.sender,
        recipients=recipients if readers is None else (readers.marker.address,),
        date=created,
        list_name=settings.title,
        unsubscribe_mailto=settings.unsubscribe_mailto,
        unsubscribe_url=links.unsubscribe,
        # each reader's mailto subject carries their token: the inbox reads it back
        unsubscribe_token=readers.marker.placeholders[0] if readers is not None else None,
    )
    if readers is not None and links.unsubscribe is not None:
        # the reader's own one-click URL first (what Gmail and Yahoo act on), then the mailto
        header = f"<{links.unsubscribe}>, <{unsubscribe_mailto(settings, readers)}>"
        msg.replace_header("List-Unsubscribe", header)
    return msg


def _queue(ctx: RunContext, edition: Edition, built: Built) -> Path:
    """Save the message to the outbox and queue it (readers: their watermarks move with it)."""
    settings, rendered, readers = ctx.settings, built.rendered, edition.readers
    msg = message(settings, rendered, edition.recipients, edition.created, edition.links, readers)
    html = rendered.html
    for placeholder in readers.marker.placeholders if readers else ():
        html = html.replace(placeholder, "")  # the outbox copy is nobody's
    eml_path = deliver.save_to_outbox(settings.outbox_dir, edition.stem, msg.as_bytes(), html)
    row: dict[str, Any] = {
        "created": edition.created,
        "subject": rendered.subject,
        "eml_path": eml_path,
        "articles": [(a.id, str(a.path), a.title) for a in edition.articles],
        "recipients": edition.recipients,
        "message_id": msg.get("Message-ID"),
    }
    if readers is not None:  # readers' copies are told apart by the arrival sequence
        ctx.store.queue_personal(
            marker=readers.marker.value,
            stem=edition.stem,
            marks=readers.marks,
            seq=readers.seq,
            **row,
        )
        return eml_path
    sketches = [(aid, s.values, s.size) for aid, s in built.sketches.items()]
    ctx.store.queue_digest(**row, sketches=sketches)
    if settings.dedupe_days > 0:  # 0 turns the check off; the sketches stay for when it is on
        ctx.store.prune_sketches(edition.created - timedelta(days=settings.dedupe_days))
    return eml_path


def recently_sent(
    settings: Settings, store: Store, now: datetime, floor: int | None = None
) -> list[Sketch]:
    """Sketches of what went out in the last DIGEST_DEDUPE_DAYS: their copies stay out.

    For the operator's digest, the articles of the digests queued; for readers, the
    articles that arrived up to `floor` (the lowest watermark among them).
    """
    if settings.dedupe_days == 0:
        return []
    from digest.stories import Sketch

    since = now - timedelta(days=settings.dedupe_days)
    if floor is None:
        return [Sketch(values, size) for _, values, size in store.recent_sketches(since)]
    return [Sketch(values, size) for values, size in store.arrival_sketches(floor, since)]


def list_links(settings: Settings) -> Links:
    """The operator's digest's links: DIGEST_UNSUBSCRIBE_URL's one-click page if set."""
    return Links(settings.unsubscribe_url)


def unsubscribe_mailto(settings: Settings, readers: Readers | None = None) -> str:
    """The mailto: every email offers (DIGEST_UNSUBSCRIBE_MAILTO, else the sender's address);
    for readers, with the placeholder of their token in its subject."""
    from digest.delivery import mail

    token = readers.marker.placeholders[0] if readers is not None else None
    return mail.unsubscribe_targets(settings.sender, settings.unsubscribe_mailto, token=token)[0]


def archive_copy(
    settings: Settings, digest: compose.Digest, stem: str, rep: Reporter, listed: bool = True
) -> None:
    """Keep the digest in DIGEST_ARCHIVE_DIR (not `listed`: a reader's copy); never fatal."""
    from digest.edition import archive

    try:
        archive.keep(
            settings.archive_dir,
            stem,
            digest,
            templates_dir=settings.templates_dir,
            title=settings.title,
            unsubscribe=settings.unsubscribe_url or unsubscribe_mailto(settings),
            listed=listed,
        )
    except DigestError as exc:
        rep.say(f"archive: {exc}")
