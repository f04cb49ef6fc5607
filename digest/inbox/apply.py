"""Read the inbox before a run (and for `digest inbox`): count bounces, honour complaints and
unsubscribe mails, one line each; name what is left.

A report counts only when it names a message digest sent to that recipient:
its Message-ID is one of ours (the store keeps each digest's) and the store
holds an accepted delivery of that digest to that address. A permanent
failure turns that delivery into a refusal (so it counts towards
DIGEST_BOUNCE_LIMIT, once, however often it is reported); a complaint or an
unsubscribe mail with a genuine token unsubscribes at once. Those messages are
marked read; anything else stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from digest.inbox import reports
from digest.inbox.mailbox import InboxError, Letter, open_inbox
from digest.settings import Settings
from digest.store import Store
from digest.store.schema import iso


@dataclass
class InboxSummary:
    """What one read of the inbox did."""

    bounces: int = 0  # permanent failures counted
    unsubscribed: int = 0  # by complaint or by mail
    read: int = 0  # messages marked read
    left: int = 0  # messages left where they are
    failed: str | None = None  # the inbox could not be read: why
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Verdict:
    line: str
    read: bool  # mark the message read (it was ours and is handled)
    bounces: int = 0
    unsubscribed: int = 0


def read_inbox(
    settings: Settings, store: Store, now: datetime, say: Callable[[str], None]
) -> InboxSummary:
    """Read DIGEST_INBOX's new messages once; an inbox that cannot be read is one line."""
    summary = InboxSummary()
    try:
        box = open_inbox(settings)
    except InboxError as exc:
        return _failed(summary, exc, say)
    try:
        for letter in box.new():
            verdict = judge(settings, store, now, reports.read(letter.data))
            if verdict.read:
                box.mark_read(letter)
            _count(summary, box.where, letter, verdict, say)
    except (InboxError, OSError) as exc:
        _failed(summary, exc, say)
    finally:
        box.close()
    return summary


def _failed(
    summary: InboxSummary, exc: InboxError | OSError, say: Callable[[str], None]
) -> InboxSummary:
    summary.failed = str(exc)
    line = f"inbox not read: {exc}"
    summary.lines.append(line)
    say(line)
    return summary


def _count(
    summary: InboxSummary,
    where: str,
    letter: Letter,
    verdict: _Verdict,
    say: Callable[[str], None],
) -> None:
    line = f"inbox {where} {letter.name}: {verdict.line}"
    if not verdict.read:
        line += f" ({reports.describe(letter.data)}); left where it is"
    summary.lines.append(line)
    say(line)
    summary.bounces += verdict.bounces
    summary.unsubscribed += verdict.unsubscribed
    summary.read += verdict.read
    summary.left += not verdict.read


def judge(settings: Settings, store: Store, now: datetime, report: reports.Report) -> _Verdict:
    """What one report changes in the store, and the line that says so."""
    if isinstance(report, reports.Other):
        return _Verdict(report.why, read=False)
    if isinstance(report, reports.Unsubscribe):
        return _unsubscribe_mail(settings, store, now, report)
    if isinstance(report, reports.Complaint):
        return _complaint(store, now, report)
    verdicts = [_bounce(store, now, b) for b in report]
    ours = [v for v in verdicts if v.read]
    if not ours:
        return _Verdict("; ".join(v.line for v in verdicts), read=False)
    return _Verdict(
        "; ".join(v.line for v in ours),
        read=True,
        bounces=sum(v.bounces for v in ours),
    )


def _sent(store: Store, message_id: str | None, recipient: str | None) -> int | None:
    """The digest the message id names when it went to `recipient`, else None."""
    if message_id is None or recipient is None:
        return None
    digest_id = store.digest_for_message_id(message_id)
    if digest_id is None:
        return None
    status = store.delivery_status(digest_id, recipient)
    return digest_id if status in ("accepted", "rejected") else None


def _bounce(store: Store, now: datetime, b: reports.Bounce) -> _Verdict:
    digest_id = _sent(store, b.message_id, b.recipient)
    if digest_id is None:
        return _Verdict(
            f"a bounce for {b.recipient} naming no message digest sent to them", read=False
        )
    why = f"{b.status} {b.diagnostic}".strip()
    if not b.permanent:
        return _Verdict(
            f"digest #{digest_id} to {b.recipient} {b.action or 'delayed'} ({why}):"
            " nothing changes",
            read=True,
        )
    counted = store.record_bounce(digest_id, b.recipient, f"bounced: {why}", iso(now))
    said = "counts towards DIGEST_BOUNCE_LIMIT" if counted else "already counted"
    return _Verdict(
        f"digest #{digest_id} to {b.recipient} bounced ({why}): {said}",
        read=True,
        bounces=int(counted),
    )


def _complaint(store: Store, now: datetime, c: reports.Complaint) -> _Verdict:
    digest_id = _sent(store, c.message_id, c.recipient)
    if digest_id is None or c.recipient is None:
        who = c.recipient or "an unnamed recipient"
        return _Verdict(
            f"a complaint ({c.feedback_type}) for {who} naming no message digest sent to them",
            read=False,
        )
    return _unsubscribe(
        store, now, c.recipient, f"complained ({c.feedback_type}) about digest #{digest_id}"
    )


def _unsubscribe(store: Store, now: datetime, email: str, why: str) -> _Verdict:
    reader = store.subscriber_by_email(email)
    if reader is None:
        return _Verdict(f"{email} {why}; not a subscriber, nothing to change", read=True)
    if reader.status == "unsubscribed":
        return _Verdict(f"{email} {why}; already unsubscribed", read=True)
    store.unsubscribe(reader.id, now)
    return _Verdict(f"{email} {why}: unsubscribed", read=True, unsubscribed=1)


def _unsubscribe_mail(
    settings: Settings, store: Store, now: datetime, u: reports.Unsubscribe
) -> _Verdict:
    from digest.readers import tokens  # itsdangerous only when a mail carries a token

    secret = tokens.secret_key(settings.state_dir, settings.secret_key)
    try:
        claim = tokens.read(secret, "unsubscribe", u.token)
        reader = store.claimed(claim.id, claim.key)  # only the reader it was made for
    except tokens.TokenError:
        reader = None
    if reader is None:
        return _Verdict(
            f"an unsubscribe mail from {u.sender} with a token that is not valid", read=False
        )
    return _unsubscribe(store, now, reader.email, f"asked by mail (from {u.sender})")


def before_run(settings: Settings, store: Store, now: datetime, say: Callable[[str], None]) -> None:
    """`run` and `serve`: read DIGEST_INBOX when it is set, then stop readers now bouncing."""
    if not settings.inbox:
        return
    summary = read_inbox(settings, store, now, say)
    if summary.bounces:
        _bounce_check(settings, store, say)


def _bounce_check(settings: Settings, store: Store, say: Callable[[str], None]) -> None:
    for email in store.mark_bouncing(settings.bounce_limit):
        say(
            f"subscriber {email} is now bouncing ({settings.bounce_limit} permanent failures"
            f" in a row); nothing more is sent to them until `digest subscribers resume {email}`"
        )


def inbox_command(settings: Settings, now: datetime, say: Callable[[str], None]) -> InboxSummary:
    """`digest inbox`: the same read, under the run lock (a run may be sending)."""
    from digest.runs.lock import run_lock

    if not settings.inbox:
        from digest.errors import SettingsError

        raise SettingsError(
            "DIGEST_INBOX", "", "not set", "set it to a Maildir folder or imaps://USER@HOST/FOLDER"
        )
    with run_lock(settings.state_dir, wait=30.0), Store.open(settings.state_dir) as store:
        summary = read_inbox(settings, store, now, say)
        if summary.bounces:
            _bounce_check(settings, store, say)
    return summary
