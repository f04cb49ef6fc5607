"""The one table of settings: `digest settings`, .env.example, README, warnings, examples."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from digest import setting_values
from digest.settings import TABLE, Setting, Settings, load_settings

FILE_READERS = (setting_values.existing_file,)


def test_every_settings_field_has_one_row_and_takes_its_default_from_it() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    assert sorted(row.field for row in TABLE) == sorted(fields)
    plain = Settings()
    for row in TABLE:
        if row.default is not None:
            assert getattr(plain, row.field) == row.default, row.name
    hidden = {f.name for f in dataclasses.fields(Settings) if not f.repr}
    assert hidden == {row.field for row in TABLE if row.secret}  # secrets never in a repr


def test_env_example_is_what_digest_settings_example_prints(tmp_path: Path) -> None:
    result = run_cli("settings", "--example")
    assert result.code == 0, result.err
    assert result.out == (ROOT / ".env.example").read_text(encoding="utf-8")
    # and it is a working .env: every setting at its default, nothing to warn about
    (tmp_path / ".env").write_text(result.out, encoding="utf-8")
    (tmp_path / ".env").chmod(0o600)
    (tmp_path / "seeds").mkdir()
    status = run_cli("status")
    assert status.code == 0 and status.err == ""


def test_the_readme_settings_table_lists_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    listed = set(re.findall(r"`(DIGEST_[A-Z_]+)`", " ".join(first_cells)))
    assert {row.name for row in TABLE} <= listed
    assert listed <= {row.name for row in TABLE}


def test_digest_settings_shows_value_source_default_meaning_and_masks_secrets(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text("DIGEST_SENTENCES=5\nDIGEST_SECRET_KEY=k3y-value\n")
    (tmp_path / ".env").chmod(0o600)
    env = {"DIGEST_SMTP_PASSWORD": "hunter2-secret", "DIGEST_SMTP_HOST": "smtp.example.org"}
    result = run_cli("settings", env=env)
    assert result.code == 0, result.err
    assert "hunter2-secret" not in result.out and "k3y-value" not in result.out
    lines = result.out.splitlines()
    assert "DIGEST_SENTENCES=5  (from .env; default 3)" in lines
    assert "DIGEST_SMTP_HOST=smtp.example.org  (from environment; default unset)" in lines
    assert "DIGEST_SMTP_PASSWORD=********  (from environment; default unset)" in lines
    assert "DIGEST_MAX_ARTICLES=30  (default)" in lines
    assert "DIGEST_TEMPLATES_DIR=  (unset)" in lines
    meaning = lines[lines.index("DIGEST_MAX_ARTICLES=30  (default)") + 1]
    assert meaning.strip().startswith("full entries per digest")
    assert sum(line.startswith("DIGEST_") for line in lines) == len(TABLE)


def test_digest_settings_lists_then_refuses_a_bad_value_in_one_line() -> None:
    result = run_cli("settings", env={"DIGEST_SENTENCES": "many"})
    assert result.code == 2
    assert "DIGEST_SENTENCES=many  (from environment; default 3)" in result.out
    assert (
        result.err == "digest: error: DIGEST_SENTENCES='many': not a whole number;"
        " e.g. DIGEST_SENTENCES=3\n"
    )


@pytest.mark.parametrize(
    ("where", "name", "closest"),
    [
        (".env", "DIGEST_SMPT_HOST", "DIGEST_SMTP_HOST"),
        ("environment", "DIGEST_SUMARIZER", "DIGEST_SUMMARIZER"),
        ("environment", "DIGEST_RECIPIENTS", None),
    ],
)
def test_an_unknown_digest_name_is_warned_with_the_closest_real_one(
    tmp_path: Path, where: str, name: str, closest: str | None
) -> None:
    (tmp_path / "seeds").mkdir()
    env = {}
    if where == ".env":
        (tmp_path / ".env").write_text(f"{name}=127.0.0.1\n")
    else:
        env[name] = "lead"
    result = run_cli("status", env=env)
    assert result.code == 0, result.err
    (line,) = result.err.splitlines()
    assert name in line and "not a setting" in line
    where_shown = ".env" if where == ".env" else "the environment"
    assert f"(in {where_shown})" in line
    assert (f"did you mean {closest}?" in line) if closest else ("digest settings" in line)


def test_a_semicolon_between_recipients_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    result = run_cli("run", env={"DIGEST_TO": "a@b.c;d@e.f"})
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert "DIGEST_TO='a@b.c;d@e.f'" in line and "commas" in line
    assert "e.g. DIGEST_TO=" in line
    assert not Path("outbox").exists()


@pytest.mark.parametrize(
    "secret", ["DIGEST_SMTP_PASSWORD", "DIGEST_SECRET_KEY", "DIGEST_INBOX_PASSWORD"]
)
def test_a_readable_env_file_with_any_secret_warns(tmp_path: Path, secret: str) -> None:
    (tmp_path / "seeds").mkdir()
    (tmp_path / ".env").write_text(f"{secret}=hunter2-secret\n")
    (tmp_path / ".env").chmod(0o644)
    result = run_cli("status")
    assert result.code == 0, result.err
    (line,) = result.err.splitlines()
    assert secret in line and "chmod 600 .env" in line
    assert "hunter2-secret" not in result.out + result.err


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row.name)
def test_each_settings_error_example_is_itself_accepted(row: Setting, tmp_path: Path) -> None:
    good = row.hint.removeprefix(f"e.g. {row.name}=")
    key = tmp_path / "key.pem"
    key.write_text("a key\n")
    values = {row.name: str(key) if row.read in FILE_READERS else good}
    if row.name.startswith("DIGEST_DKIM_"):  # all three or none
        values = {"DIGEST_DKIM_KEY_FILE": str(key), "DIGEST_DKIM_SELECTOR": "s"}
        values |= {"DIGEST_DKIM_DOMAIN": "example.org", row.name: values.get(row.name, good)}
    load_settings(values, None)


@pytest.mark.parametrize(
    ("name", "value", "example", "not_shown"),
    [
        ("DIGEST_PUBLIC_URL", "http://news.example.org", "https://news.example.org", "unsubscribe"),
        ("DIGEST_WEB_LISTEN", "8080", "DIGEST_WEB_LISTEN=127.0.0.1:8080", "8025"),
        ("DIGEST_SMTP_SECURITY", "tls", "DIGEST_SMTP_SECURITY=starttls", "Traceback"),
        ("DIGEST_FEED_INTERVAL", "soon", "DIGEST_FEED_INTERVAL=15m", "Traceback"),
    ],
)
def test_a_bad_setting_is_one_line_with_the_value_and_an_example_of_its_own_form(
    tmp_path: Path, name: str, value: str, example: str, not_shown: str
) -> None:
    (tmp_path / "seeds").mkdir()
    result = run_cli("run", env={name: value})
    assert result.code == 2
    (line,) = result.err.splitlines()
    assert f"{name}={value!r}" in line and example in line and not_shown not in line


def test_web_listen_flag_and_setting_share_one_check_and_example(tmp_path: Path) -> None:
    result = run_cli("web", "--listen", "8080")
    assert result.code == 2
    assert (
        result.err
        == "digest: error: --listen='8080': not host:port; e.g. --listen=127.0.0.1:8080\n"
    )
