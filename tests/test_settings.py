"""Settings from the environment and `.env`: defaults, validation, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from digest.errors import SettingsError
from digest.settings import env_file_warning, load_settings, masked, parse_recipients


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


# --- the email's settings: archive, size budget, unsubscribe


def test_email_settings_defaults() -> None:
    s = load_settings({}, None)
    assert s.archive_dir == Path("archive")
    assert s.html_budget_kb == 90
    assert (s.unsubscribe_mailto, s.unsubscribe_url) == (None, None)


def test_email_settings_are_read() -> None:
    s = load_settings(
        {
            "DIGEST_ARCHIVE_DIR": "/srv/digest/archive",
            "DIGEST_HTML_BUDGET_KB": "60",
            "DIGEST_UNSUBSCRIBE_MAILTO": "mailto:Leave@Example.org",
            "DIGEST_UNSUBSCRIBE_URL": "https://example.org/unsubscribe?list=news&id=1",
        },
        None,
    )
    assert s.archive_dir == Path("/srv/digest/archive")
    assert s.html_budget_kb == 60
    assert s.unsubscribe_mailto == "Leave@Example.org"
    assert s.unsubscribe_url == "https://example.org/unsubscribe?list=news&id=1"


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("DIGEST_UNSUBSCRIBE_URL", "http://example.org/unsubscribe", "not an https URL"),
        ("DIGEST_UNSUBSCRIBE_URL", "example.org/unsubscribe", "not an https URL"),
        ("DIGEST_UNSUBSCRIBE_URL", "https://", "not an https URL"),
        ("DIGEST_UNSUBSCRIBE_URL", "https://example.org/a b", "not an https URL"),
        ("DIGEST_UNSUBSCRIBE_URL", "https://example.org/>,<mailto:x@y", "not an https URL"),
        ("DIGEST_UNSUBSCRIBE_URL", "https://example.org/" + "a" * 900, "at most 900"),
        ("DIGEST_UNSUBSCRIBE_MAILTO", "https://example.org/unsubscribe", "not an email address"),
        ("DIGEST_UNSUBSCRIBE_MAILTO", "leave", "not an email address"),
        ("DIGEST_HTML_BUDGET_KB", "5", "between 10 and 100000"),
        ("DIGEST_HTML_BUDGET_KB", "big", "not a whole number"),
    ],
)
def test_bad_email_setting_is_one_line_naming_it(name: str, value: str, shown: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({name: value}, None)
    message = str(info.value)
    assert message.startswith(f"{name}=") and shown in message and "\n" not in message


def test_cli_refuses_a_plain_http_unsubscribe_url(tmp_path: Path) -> None:
    result = run_cli("preview", env={"DIGEST_UNSUBSCRIBE_URL": "http://example.org/u"})
    assert result.code == 2
    assert result.err.count("\n") == 1 and "DIGEST_UNSUBSCRIBE_URL" in result.err
