"""Digests for subscribers: who gets which new articles, one render per distinct set.

A run records the articles read for the first time in the arrival sequence,
then for each active reader who is due picks those that arrived after their
watermark and pass their filters. Readers with the same articles and the same
`max` share one digest: it is rendered once with a marker where the reader's
tokens go, saved and queued with all of them as recipients, and their
watermarks move in the same transaction. At send time `addresser_for` fills
in each reader's address and tokens (and signs with DKIM), after reading
their status again: who unsubscribed a second ago is not sent to.
"""

from __future__ import annotations

import bisect
import importlib
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from digest.config import Settings
from digest.errors import DigestError, SettingsError
from digest.sources import Article
from digest.store import Arrival, QueuedDigest, Store
from digest.subscribers import Subscriber, matches

if TYPE_CHECKING:
    from digest import compose, deliver, pipeline, stories
    from digest.render import Rendered
    from digest.summarize import Summarizer

# (reader, their last scheduled time handled) -> (due now, the scheduled time this run handles)
Due = Callable[[Subscriber, str | None], tuple[bool, str | None]]


def always_due(subscriber: Subscriber, last_fire: str | None) -> tuple[bool, str | None]:
    """`digest run`: everyone with something new, now."""
    return True, None


@dataclass(frozen=True)
class Links:
    """The reader links of one digest, with the marker standing for the reader's tokens."""

    marker: str
    unsubscribe: str | None  # the one-click URL (List-Unsubscribe and the footer)
    preferences: str | None
    web_copy: str | None

    @property
    def placeholders(self) -> tuple[str, str]:
        return (f"{self.marker}u", f"{self.marker}p")


def links_for(settings: Settings, marker: str, stem: str) -> Links:
    base = settings.public_url
    if base is None:  # no web pages: the operator's static unsubscribe page, if any
        return Links(marker, settings.unsubscribe_url, None, None)
    return Links(
        marker,
        f"{base}/unsubscribe/{marker}u",
        f"{base}/preferences/{marker}p",
        f"{base}/archive/{stem}.html",
    )


def intake(
    store: Store, articles: Sequence[Article], sketches: Mapping[str, stories.Sketch], now: datetime
) -> None:
    """Give the articles read for the first time their place in the arrival sequence."""
    store.record_arrivals([(a, sketches[a.id].values, sketches[a.id].size) for a in articles], now)


@dataclass(frozen=True)
class Pass:
    """One run's view for the readers: the clock, the tools, and the last arrival considered."""

    settings: Settings
    store: Store
    now: datetime
    reporter: pipeline.Reporter
    summarizer: Summarizer | None
    top: int  # every reader in this pass has considered the arrivals up to here
    send_empty: bool


@dataclass(frozen=True)
class Group:
    """Readers who get the same articles with the same `max`: one digest."""

    number: int  # its place in the run, for a stem of its own
    articles: list[Article]
    limit: int
    floor: int  # the lowest watermark among them: what arrived before is "sent"
    members: list[tuple[Subscriber, str | None]]

    @property
    def marks(self) -> list[tuple[int, str | None]]:
        return [(s.id, fired) for s, fired in self.members]


def queue_for_subscribers(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    reporter: pipeline.Reporter,
    summarizer: Summarizer | None = None,
    due: Due = always_due,
    send_empty: bool = False,
) -> list[tuple[compose.Digest, Path]]:
    """Queue one digest per distinct set of new articles among the due readers: (digest, .eml)."""
    marks = store.watermarks()
    chosen: list[tuple[Subscriber, str | None]] = []
    for s in store.subscribers():
        if s.status == "active" and s.id in marks:
            is_due, fired = due(s, marks[s.id][1])
            if is_due:
                chosen.append((s, fired))
    if not chosen:
        return []
    low = min(marks[s.id][0] for s, _ in chosen)
    arrivals = store.arrivals_after(low)
    run = Pass(
        settings,
        store,
        now,
        reporter,
        summarizer,
        arrivals[-1].seq if arrivals else low,
        send_empty,
    )
    queued: list[tuple[compose.Digest, Path]] = []
    groups = sorted(_group(settings, arrivals, chosen, marks).items())
    for number, ((picked, limit), members) in enumerate(groups):
        floor = min(marks[s.id][0] for s, _ in members)
        group = Group(number, [arrivals[i].article for i in picked], limit, floor, members)
        if not picked and not send_empty:
            store.advance(group.marks, run.top)
            continue
        digest = _queue_group(run, group)
        if digest is not None:
            queued.append(digest)
    return queued


def _group(
    settings: Settings,
    arrivals: list[Arrival],
    chosen: list[tuple[Subscriber, str | None]],
    marks: dict[int, tuple[int, str | None]],
) -> dict[tuple[tuple[int, ...], int], list[tuple[Subscriber, str | None]]]:
    """Readers by (the arrivals they get, as indexes, and their `max`)."""
    seqs = [a.seq for a in arrivals]
    matched: dict[tuple[tuple[str, ...], ...], list[int]] = {}
    groups: dict[tuple[tuple[int, ...], int], list[tuple[Subscriber, str | None]]] = {}
    for s, fired in chosen:
        p = s.prefs
        key = (p.sections, p.include, p.exclude)
        if key not in matched:
            matched[key] = [i for i, a in enumerate(arrivals) if matches(a.article, p)]
        first = bisect.bisect_right(seqs, marks[s.id][0])
        picked = tuple(i for i in matched[key] if i >= first)
        limit = p.max_articles or settings.max_articles
        groups.setdefault((picked, limit), []).append((s, fired))
    return groups


def _queue_group(run: Pass, group: Group) -> tuple[compose.Digest, Path] | None:
    """Build, save and queue one digest for the group; None when all were copies."""
    from digest import deliver, pipeline

    settings, store, now, articles = run.settings, run.store, run.now, group.articles
    first = articles[0].id[:8] if articles else "empty"
    stem = f"digest-{now:%Y%m%d-%H%M%S}-{first}-{group.number}"
    links = links_for(settings, secrets.token_hex(16), stem)
    built = pipeline.build(
        replace(settings, max_articles=group.limit),
        articles,
        created=now,
        reporter=run.reporter,
        summarizer=run.summarizer,
        cache=store,
        sent=_sent(settings, store, group.floor, now),
        links={
            "unsubscribe": links.unsubscribe,
            "preferences": links.preferences,
            "web_copy": links.web_copy,
        },
    )
    digest = built.rendered.digest
    if digest.is_empty and articles and not run.send_empty:
        store.advance(group.marks, run.top)  # every article a copy of an earlier arrival
        return None
    msg = _message(settings, built.rendered, links, now)
    html = built.rendered.html
    for placeholder in links.placeholders:
        html = html.replace(placeholder, "")  # the outbox copy is nobody's
    eml_path = deliver.save_to_outbox(settings.outbox_dir, stem, msg.as_bytes(), html)
    store.queue_personal(
        marker=links.marker,
        stem=stem,
        marks=group.marks,
        seq=run.top,
        created=now,
        subject=built.rendered.subject,
        eml_path=eml_path,
        articles=[(a.id, str(a.path), a.title) for a in articles],
        recipients=[s.email for s, _ in group.members],
    )
    if not digest.is_empty:
        _archive(settings, digest, stem, run.reporter)
    return digest, eml_path


def _sent(settings: Settings, store: Store, floor: int, now: datetime) -> list[stories.Sketch]:
    """Sketches of what arrived before these readers' watermark lately: copies stay out."""
    if settings.dedupe_days == 0:
        return []
    from digest import stories

    since = now - timedelta(days=settings.dedupe_days)
    return [stories.Sketch(sig, size) for sig, size in store.arrival_sketches(floor, since)]


def _message(settings: Settings, rendered: Rendered, links: Links, now: datetime) -> EmailMessage:
    from digest import mail

    msg = mail.build_message(
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sender=settings.sender,
        recipients=(f"to-{links.marker}@invalid",),
        date=now,
        unsubscribe_mailto=settings.unsubscribe_mailto,
        unsubscribe_url=links.unsubscribe,
    )
    if links.unsubscribe is not None:
        # the reader's own one-click URL first (what Gmail and Yahoo act on), then the mailto
        mailto = mail.unsubscribe_targets(settings.sender, settings.unsubscribe_mailto)[0]
        msg.replace_header("List-Unsubscribe", f"<{links.unsubscribe}>, <{mailto}>")
    return msg


def _archive(settings: Settings, digest: compose.Digest, stem: str, rep: pipeline.Reporter) -> None:
    """The web copy, with no reader's links in it; a failure there is reported, not fatal."""
    from digest import archive, pipeline

    try:
        archive.keep(
            settings.archive_dir,
            stem,
            digest,
            templates_dir=settings.templates_dir,
            unsubscribe=pipeline.unsubscribe_link(settings),
        )
    except DigestError as exc:
        rep.say(f"archive: {exc}")


# --- sending --------------------------------------------------------------------------------


def addresser_for(
    settings: Settings, store: Store, queued: QueuedDigest
) -> Callable[[EmailMessage], deliver.Addresser] | None:
    """For a digest queued for readers: each one's bytes, or None when they are not active.

    A plain DIGEST_TO digest gets None (the usual addresser), or with DKIM a signing one.
    """
    from digest import mail
    from digest.personalize import Template

    found = store.personal(queued.id)
    sign = _signer(settings)
    if found is None:
        if sign is None:
            return None
        signer = sign

        def signed(msg: EmailMessage) -> deliver.Addresser:
            plain = mail.addresser(msg)
            return lambda recipient: signer(plain(recipient))

        return signed
    from digest import tokens  # late: a plain DIGEST_TO run loads no itsdangerous

    marker, _ = found
    secret = tokens.secret_key(settings.state_dir, settings.secret_key)

    def make(msg: EmailMessage) -> deliver.Addresser:
        data = queued.eml_path.read_bytes()
        unsub, prefs = f"{marker}u", f"{marker}p"
        template = Template(data, mail.to_line(f"to-{marker}@invalid"), (unsub, prefs))

        def address(recipient: str) -> bytes | None:
            reader = store.recipient_status(recipient)
            if reader is None or reader[1] != "active":
                return None
            values = {
                unsub: tokens.make(secret, "unsubscribe", reader[0]),
                prefs: tokens.make(secret, "preferences", reader[0]),
            }
            out = template.fill(mail.to_line(recipient), values)
            return sign(out) if sign is not None else out

        return address

    return make


def keep_for(store: Store, queued: QueuedDigest) -> Callable[[str], bool] | None:
    """File delivery: only readers still active count as delivered."""
    if store.personal(queued.id) is None:
        return None

    def keep(recipient: str) -> bool:
        reader = store.recipient_status(recipient)
        return reader is not None and reader[1] == "active"

    return keep


DKIM_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)


def _signer(settings: Settings) -> Callable[[bytes], bytes] | None:
    """dkim.sign over DKIM_HEADERS when the DKIM settings are given (the module is w-web's)."""
    if settings.dkim_key_file is None:
        return None
    try:
        dkim = importlib.import_module("digest.dkim")
    except ImportError as exc:
        raise SettingsError(
            "DIGEST_DKIM_KEY_FILE", str(settings.dkim_key_file), "DKIM signing is not installed"
        ) from exc
    key_file, selector, domain = (
        settings.dkim_key_file,
        settings.dkim_selector,
        settings.dkim_domain,
    )

    def sign(data: bytes) -> bytes:
        return bytes(dkim.sign(data, key_file=key_file, selector=selector, domain=domain))

    return sign


def bounce_check(settings: Settings, store: Store, reporter: pipeline.Reporter) -> None:
    """After sending: readers refused for good DIGEST_BOUNCE_LIMIT times in a row stop."""
    for email in store.mark_bouncing(settings.bounce_limit):
        reporter.say(
            f"subscriber {email} is now bouncing ({settings.bounce_limit} permanent refusals"
            f" in a row); nothing more is sent to them until `digest subscribers resume {email}`"
        )


class SharedSender:
    """A sender factory that keeps one SMTP connection open for the whole run.

    Each digest's delivery enters and leaves it as it would a fresh connection;
    the connection is dropped (and the next entry connects anew) only when a
    delivery fails inside it or the server hung up (a 421), so the retry and
    reconnect behaviour of `deliver_smtp` is unchanged.
    """

    def __init__(self, open_sender: deliver.SenderFactory) -> None:
        self._open = open_sender
        self._held: AbstractContextManager[deliver.Sender] | None = None
        self._transport: deliver.Sender | None = None

    def __call__(self) -> AbstractContextManager[deliver.Sender]:
        return self._use()

    @contextmanager
    def _use(self) -> Iterator[deliver.Sender]:
        if self._transport is None or not getattr(self._transport, "alive", True):
            self.close()
            held = self._open()
            self._transport = held.__enter__()
            self._held = held
        try:
            yield self._transport
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        held, self._held, self._transport = self._held, None, None
        if held is not None:
            held.__exit__(None, None, None)


class ReaderDelivery:
    """The run's delivery when it has readers (or DKIM): their bytes, one shared connection.

    A digest queued for readers goes to each one still active with their own
    address and tokens; every message is DKIM-signed when that is configured.
    SMTP retries, reconnects and DIGEST_SMTP_RATE are `deliver_smtp`'s, as always.
    """

    def __init__(self, settings: Settings, open_sender: deliver.SenderFactory | None) -> None:
        from digest import deliver

        self.settings = settings
        self.where = "SMTP" if settings.is_smtp else "the outbox"
        self._shared = SharedSender(open_sender or _connect(settings))
        self._retry = deliver.Retry(settings.smtp_attempts, settings.smtp_backoff)
        self._pace = deliver.Pace(settings.smtp_rate)

    def deliver(self, store: Store, queued: QueuedDigest, at: str) -> deliver.DeliveryReport:
        from digest import deliver

        if not self.settings.is_smtp:
            return deliver.deliver_file(store, queued, at, keep_for(store, queued))
        return deliver.deliver_smtp(
            store,
            queued,
            self._shared,
            self.settings.sender,
            at,
            self._retry,
            self._pace,
            addresser_for(self.settings, store, queued),
        )

    def close(self) -> None:
        self._shared.close()


def _connect(settings: Settings) -> deliver.SenderFactory:
    def connect() -> AbstractContextManager[deliver.Sender]:
        from digest import mail  # smtplib only once a message goes out

        return mail.SmtpSender(settings)

    return connect


def delivery_for(
    settings: Settings, open_sender: deliver.SenderFactory | None, readers: bool
) -> ReaderDelivery | None:
    """A ReaderDelivery for a run with readers or with DKIM signing; else None (the usual)."""
    if not readers and settings.dkim_key_file is None:
        return None
    return ReaderDelivery(settings, open_sender)
