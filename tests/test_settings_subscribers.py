"""The subscriber and web settings: DIGEST_PUBLIC_URL, DIGEST_WEB_LISTEN, secret, bounces, DKIM."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.errors import SettingsError
from digest.settings import load_settings, masked


def test_defaults() -> None:
    s = load_settings({}, None)
    assert (s.public_url, s.web_listen, s.secret_key, s.bounce_limit) == (None, None, None, 3)
    assert (s.dkim_key_file, s.dkim_selector, s.dkim_domain) == (None, None, None)


def test_values_are_read(tmp_path: Path) -> None:
    key = tmp_path / "dkim.pem"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\n")
    s = load_settings(
        {
            "DIGEST_PUBLIC_URL": "https://news.example.org/digest/",
            "DIGEST_WEB_LISTEN": "127.0.0.1:8025",
            "DIGEST_SECRET_KEY": "k3y",
            "DIGEST_BOUNCE_LIMIT": "5",
            "DIGEST_DKIM_KEY_FILE": str(key),
            "DIGEST_DKIM_SELECTOR": "mail",
            "DIGEST_DKIM_DOMAIN": "example.org",
        },
        None,
    )
    assert s.public_url == "https://news.example.org/digest"  # links add "/unsubscribe/..."
    assert (s.web_listen, s.bounce_limit, s.dkim_selector) == ("127.0.0.1:8025", 5, "mail")
    assert masked(s)["secret_key"] == "********" and "k3y" not in repr(s)


@pytest.mark.parametrize(
    ("env", "shown"),
    [
        ({"DIGEST_PUBLIC_URL": "http://news.example.org"}, "DIGEST_PUBLIC_URL='http://news"),
        ({"DIGEST_WEB_LISTEN": "8025"}, "DIGEST_WEB_LISTEN='8025': not host:port"),
        ({"DIGEST_BOUNCE_LIMIT": "0"}, "DIGEST_BOUNCE_LIMIT='0': must be between 1 and 1000"),
        ({"DIGEST_DKIM_SELECTOR": "mail"}, "DIGEST_DKIM_KEY_FILE='': DKIM needs all three"),
        (
            {
                "DIGEST_DKIM_KEY_FILE": "/nonexistent.pem",
                "DIGEST_DKIM_SELECTOR": "mail",
                "DIGEST_DKIM_DOMAIN": "example.org",
            },
            "DIGEST_DKIM_KEY_FILE='/nonexistent.pem': no such file",
        ),
    ],
)
def test_bad_value_names_the_setting(env: dict[str, str], shown: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env, None)
    assert str(caught.value).startswith(shown)
