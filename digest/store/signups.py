"""The signup tables (see schema.py): pending double opt-ins and the requests per client.

A pending signup is one row per address. Asking again while it is pending keeps its
id and key (the link already mailed stays good) and takes the newest name and
sections; once confirmed, or expired, the next request starts a new row, with a new
id (AUTOINCREMENT: never one used before) and key, so an old confirmation link
never confirms a later request. `SignupTables` is mixed into `Store`; this module
is the only SQL about signups.
"""

from __future__ import annotations

import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from digest.readers.subscribers import parse_preferences
from digest.records import Consent, Preferences
from digest.store.schema import iso

PENDING_DAYS = 7  # as long as a confirmation link works (digest.readers.tokens.CONFIRM_DAYS)


@dataclass(frozen=True)
class Signup:
    """One signup request waiting for (or past) its confirmation click."""

    id: int
    email: str
    name: str | None
    sections: str
    key: str
    form: str  # the wording version of the form it came from
    last_mail: datetime | None
    confirmed: datetime | None


class SignupTables:
    """The Store's signup methods (mixed into Store)."""

    _conn: sqlite3.Connection

    def count_request(self, client: str, now: datetime, window: timedelta) -> int:
        """Note one signup request from `client`; how many it made within `window`, this one too."""
        with self._conn:
            self._conn.execute("DELETE FROM signup_requests WHERE at < ?", (iso(now - window),))
            self._conn.execute(
                "INSERT INTO signup_requests (client, at) VALUES (?, ?)", (client, iso(now))
            )
            row = self._conn.execute(
                "SELECT count(*) FROM signup_requests WHERE client = ?", (client,)
            ).fetchone()
        return int(row[0])

    def request_signup(
        self, email: str, name: str | None, sections: str, form: str, now: datetime
    ) -> Signup:
        """The pending signup for `email`, made or refreshed; expired ones are dropped first."""
        with self._conn:
            self._conn.execute(
                "DELETE FROM signups WHERE coalesce(confirmed, last_mail, created) < ?",
                (iso(now - timedelta(days=PENDING_DAYS)),),
            )
            self._conn.execute(
                "DELETE FROM signups WHERE email = ? AND confirmed IS NOT NULL", (email,)
            )
            self._conn.execute(
                "INSERT INTO signups (email, name, sections, form, token_key, created)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email) DO UPDATE"
                " SET name = excluded.name, sections = excluded.sections, form = excluded.form",
                (email, name, sections, form, secrets.token_urlsafe(12), iso(now)),
            )
        found = self._signup_where("email = ?", email)
        assert found is not None
        return found

    def signup_mailed(self, signup_id: int, now: datetime) -> None:
        with self._conn:
            self._conn.execute(
                "UPDATE signups SET last_mail = ? WHERE id = ?", (iso(now), signup_id)
            )

    def claimed_signup(self, signup_id: int, key: str) -> Signup | None:
        """The signup a confirmation token names, if the key is its own."""
        found = self._signup_where("id = ?", signup_id)
        if found is None or not hmac.compare_digest(found.key.encode(), key.encode()):
            return None
        return found

    def confirm_signup(self, signup: Signup, consent: Consent, now: datetime) -> int:
        """Make the signup's reader active from now on, with their consent; their id.

        A new address joins with the sections chosen on the form; a known one (who left,
        paused or bounced) is made active again and keeps their preferences.
        """
        prefs = _form_prefs(signup.sections)
        with self._conn:
            self._conn.execute(
                "UPDATE signups SET confirmed = ? WHERE id = ?", (iso(now), signup.id)
            )
            row = self._conn.execute(
                "SELECT id FROM subscribers WHERE email = ?", (signup.email,)
            ).fetchone()
            if row is None:
                return self._insert_subscriber(  # type: ignore[attr-defined,no-any-return]
                    signup.email, signup.name, prefs, now, "active", consent
                )
            self._conn.execute(
                "UPDATE subscribers SET status = 'active', name = coalesce(?, name),"
                " consent_at = ?, consent_client = ?, consent_agent = ?, consent_form = ?,"
                " bounce_floor = (SELECT coalesce(max(id), 0) FROM digests) WHERE id = ?",
                (signup.name, consent.at, consent.client, consent.agent, consent.form, row[0]),
            )
            return int(row[0])

    def _signup_where(self, condition: str, value: object) -> Signup | None:
        row = self._conn.execute(
            "SELECT id, email, name, sections, token_key, form, last_mail, confirmed"
            f" FROM signups WHERE {condition}",
            (value,),
        ).fetchone()
        if row is None:
            return None
        i, email, name, sections, key, form, last_mail, confirmed = row
        return Signup(
            int(i),
            str(email),
            name,
            str(sections),
            str(key),
            str(form),
            datetime.fromisoformat(last_mail) if last_mail else None,
            datetime.fromisoformat(confirmed) if confirmed else None,
        )


def _form_prefs(sections: str) -> Preferences:
    """The preferences a signup form gives: its sections, else the defaults."""
    return parse_preferences({"sections": sections})
