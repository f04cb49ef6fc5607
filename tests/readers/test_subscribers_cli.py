"""`digest subscribers edit`, `link` and `resume --force`, in process over a real state folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from digest.cli.main import cli
from digest.errors import UsageError
from digest.readers import tokens
from digest.records import Preferences
from digest.store import Store

PUBLIC = "https://news.example.org/digest"


@pytest.fixture
def digest(tmp_path: Path) -> CliRunner:
    return CliRunner(env={"DIGEST_STATE_DIR": str(tmp_path / "state"), "DIGEST_PUBLIC_URL": PUBLIC})


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, ["subscribers", *args])


def refusal(result: Result) -> str:
    """The one line `digest` prints for a refused command (its exit status is 2)."""
    assert isinstance(result.exception, UsageError), result.output
    assert result.exception.exit_code == 2
    return str(result.exception)


def reader(tmp_path: Path, email: str) -> dict[str, object]:
    with Store.open(tmp_path / "state", readonly=True) as store:
        found = store.subscriber_by_email(email)
    assert found is not None
    return {"name": found.name, "prefs": found.prefs, "status": found.status, "key": found.key}


def test_edit_changes_only_the_options_given(digest: CliRunner, tmp_path: Path) -> None:
    args = ["--name", "Ann", "--every", "weekly", "--day", "fri", "--sections", "World"]
    assert run(digest, "add", "ann@example.org", *args).exit_code == 0
    before = reader(tmp_path, "ann@example.org")
    done = run(digest, "edit", "ann@example.org", "--max", "5", "--include", "climate")
    assert done.exit_code == 0, done.output
    assert "changed ann@example.org" in done.output
    after = reader(tmp_path, "ann@example.org")
    assert after["prefs"] == Preferences(
        every="weekly", day="fri", sections=("World",), include=("climate",), max_articles=5
    )
    assert after["name"] == "Ann" and after["key"] == before["key"]  # their links still work
    run(digest, "edit", "ann@example.org", "--every", "daily", "--sections", "", "--name", "A.")
    again = reader(tmp_path, "ann@example.org")
    assert again["prefs"] == Preferences(include=("climate",), max_articles=5)
    assert again["name"] == "A."


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nobody@example.org", "--max", "3"], "nobody@example.org is not a subscriber"),
        (["ann@example.org", "--max", "0"], "--max '0': at least one full article is needed"),
        (["ann@example.org", "--at", "25:00"], "--at '25:00': not a time of day"),
    ],
)
def test_edit_refuses_in_one_line_and_changes_nothing(
    digest: CliRunner, tmp_path: Path, args: list[str], says: str
) -> None:
    run(digest, "add", "ann@example.org", "--max", "7")
    assert says in refusal(run(digest, "edit", *args))
    assert reader(tmp_path, "ann@example.org")["prefs"] == Preferences(max_articles=7)


def test_link_prints_the_readers_own_preferences_link(digest: CliRunner, tmp_path: Path) -> None:
    run(digest, "add", "ann@example.org")
    result = run(digest, "link", "ann@example.org")
    assert result.exit_code == 0
    url = result.output.strip()
    assert url.startswith(f"{PUBLIC}/preferences/")
    secret = (tmp_path / "state" / "secret_key").read_text().strip()
    key = reader(tmp_path, "ann@example.org")["key"]
    assert tokens.read(secret, "preferences", url.rsplit("/", 1)[1]).key == key


def test_link_without_a_public_url_names_the_setting(tmp_path: Path) -> None:
    runner = CliRunner(env={"DIGEST_STATE_DIR": str(tmp_path / "state")})
    run(runner, "add", "ann@example.org")
    assert "DIGEST_PUBLIC_URL" in refusal(run(runner, "link", "ann@example.org"))


def test_resume_of_a_reader_who_unsubscribed_themselves_needs_force(
    digest: CliRunner, tmp_path: Path
) -> None:
    run(digest, "add", "ann@example.org")
    with Store.open(tmp_path / "state") as store:
        found = store.subscriber_by_email("ann@example.org")
        assert found is not None
        store.unsubscribe(found.id, found.joined)
    refused = refusal(run(digest, "resume", "ann@example.org"))
    assert "unsubscribed themselves; their consent is gone" in refused and "--force" in refused
    assert reader(tmp_path, "ann@example.org")["status"] == "unsubscribed"
    forced = run(digest, "resume", "ann@example.org", "--force")
    assert forced.exit_code == 0 and reader(tmp_path, "ann@example.org")["status"] == "active"


def test_a_paused_reader_resumes_without_force(digest: CliRunner, tmp_path: Path) -> None:
    run(digest, "add", "ann@example.org")
    assert run(digest, "pause", "ann@example.org").exit_code == 0
    assert run(digest, "resume", "ann@example.org").exit_code == 0
    assert reader(tmp_path, "ann@example.org")["status"] == "active"


def test_list_json_carries_the_consent_record(digest: CliRunner, tmp_path: Path) -> None:
    run(digest, "add", "ann@example.org")
    rows = [json.loads(line) for line in run(digest, "list", "--json").output.splitlines()]
    assert rows[0]["consent"] is None


def test_an_empty_list_says_how_to_add_a_reader_and_json_stays_empty(digest: CliRunner) -> None:
    shown = run(digest, "list")
    assert shown.exit_code == 0, shown.output
    assert shown.output == "no subscribers; add one with: digest subscribers add EMAIL\n"
    as_json = run(digest, "list", "--json")
    assert as_json.exit_code == 0 and as_json.output == ""
