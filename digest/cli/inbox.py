"""`digest inbox`: read DIGEST_INBOX now (bounces, complaints, unsubscribe mails)."""

from __future__ import annotations

import sys

import click

from digest.inbox.apply import inbox_command
from digest.records import utc_now


@click.command()
@click.pass_obj
def inbox(ctx: object) -> None:
    """Read DIGEST_INBOX now: bounces, complaints and unsubscribe mails, one line each.

    DIGEST_INBOX is a Maildir folder or imaps://USER@HOST[:PORT]/FOLDER (with
    DIGEST_INBOX_PASSWORD). A bounce or complaint counts only when it names a
    message digest sent to that address; messages handled are marked read
    (moved to cur/, or \\Seen), never deleted; anything else is left and named.
    `run` and `serve` read it first on their own. Exit status 1 when the inbox
    cannot be read.

    Example: DIGEST_INBOX=/var/mail/digest/Maildir digest inbox
    """
    settings = ctx.settings()  # type: ignore[attr-defined]  # digest.cli.main.Context
    summary = inbox_command(settings, utc_now(), lambda line: click.echo(line, err=True))
    if summary.failed:
        sys.exit(1)
    click.echo(
        f"inbox: {summary.bounces} bounce(s) counted, {summary.unsubscribed} unsubscribed,"
        f" {summary.read} message(s) read, {summary.left} left"
    )
