"""Settings from the environment and `.env`: defaults, validation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from digest.config import env_file_warning, load_settings, masked, parse_recipients
from digest.errors import SettingsError


def test_defaults_need_no_settings(tmp_path: Path) -> None:
    s = load_settings({}, tmp_path / "missing.env")
    assert (s.smtp_host, s.smtp_port, s.smtp_security, s.sentences) == (None, 587, "starttls", 3)
    assert not s.is_smtp


def test_real_environment_wins_over_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DIGEST_SENTENCES=5\nDIGEST_MAX_ARTICLES=7\n")
    s = load_settings({"DIGEST_SENTENCES": "2"}, env_file)
    assert (s.sentences, s.max_articles) == (2, 7)


@pytest.mark.parametrize(
    ("security", "port"), [("starttls", 587), ("ssl", 465), ("none", 25), ("SSL", 465)]
)
def test_port_follows_security(security: str, port: int) -> None:
    assert load_settings({"DIGEST_SMTP_SECURITY": security}, None).smtp_port == port


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("DIGEST_SMTP_SECURITY", "tls", "starttls, ssl or none"),
        ("DIGEST_SMTP_PORT", "abc", "not a whole number"),
        ("DIGEST_SMTP_PORT", "70000", "between 1 and 65535"),
        ("DIGEST_SENTENCES", "0", "between 1 and 50"),
        ("DIGEST_SMTP_TIMEOUT", "soon", "not a number"),
        ("DIGEST_TO", "not-an-address", "not an email address"),
        ("DIGEST_FROM", "a@b@c", "not an email address"),
        ("DIGEST_SMTP_CA_FILE", "/no/such/ca.pem", "no such file"),
        ("DIGEST_SUMMARIZER", "magic", "unknown method"),
    ],
)
def test_bad_value_names_the_setting(name: str, value: str, shown: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value}, None)
    assert name in str(info.value) and shown in str(info.value)


def test_recipients_are_split_and_deduplicated() -> None:
    assert parse_recipients(" a@x.org, b@x.org ,a@x.org,") == ("a@x.org", "b@x.org")


def test_password_is_masked_and_absent_from_repr() -> None:
    s = load_settings({"DIGEST_SMTP_PASSWORD": "hunter2-secret"}, None)
    assert "hunter2-secret" not in repr(s)
    assert masked(s)["smtp_password"] == "********"


@pytest.mark.parametrize(("mode", "warns"), [(0o644, True), (0o640, True), (0o600, False)])
def test_env_file_with_password_readable_by_others_warns(
    tmp_path: Path, mode: int, warns: bool
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DIGEST_SMTP_PASSWORD=hunter2-secret\n")
    env_file.chmod(mode)
    warning = env_file_warning(env_file)
    assert (warning is not None) == warns
    if warning:
        assert "chmod 600" in warning and "hunter2-secret" not in warning


def test_cli_prints_the_env_file_warning(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DIGEST_SMTP_PASSWORD=hunter2-secret\n")
    env_file.chmod(0o644)
    result = run_cli("status")
    assert result.code == 0, result.err
    assert "chmod 600" in result.err
    assert "hunter2-secret" not in result.out + result.err
