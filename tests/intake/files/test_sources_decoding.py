"""Tests for digest.intake.files.decoding: binary files are refused, whatever their name."""

from __future__ import annotations

import gzip

import pytest
from helpers import skip_reason

from digest.intake.files.decoding import decode


@pytest.mark.parametrize(
    "data, kind",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG"),
        (b"GIF89a\x01\x00\x01\x00", "GIF"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP"),
        (gzip.compress(b"Title\n\nBody text."), "GZIP"),
    ],
)
def test_binary_files_renamed_txt_are_skipped(data: bytes, kind: str) -> None:
    assert skip_reason("photo.txt", data) == f"binary file (looks like {kind}), skipped"


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(256)) * 8,  # NULs not explained by UTF-16
        b"Title\n\nSome text\x00with a NUL in it.",
        b"\x00" * 64,
        b"\x00\x01\x02\xff" * 100,  # looks like UTF-16 but decodes to control characters
        bytes([1, 2, 3, 4, 5, 6, 7, 8, 14, 15, 16]) * 50,  # control characters, no NUL
    ],
)
def test_nul_and_control_junk_is_binary(data: bytes) -> None:
    assert skip_reason("junk.txt", data).startswith("binary file")


RUSSIAN = "Новости дня"


def test_a_charset_the_server_declares_comes_before_the_pages_meta() -> None:
    body = f'<meta charset="koi8-r"><p>{RUSSIAN}</p>'.encode("cp1251")
    assert RUSSIAN in decode(body, html=True, declared="windows-1251")
    assert RUSSIAN not in decode(body, html=True)  # the page's own (wrong) word alone


@pytest.mark.parametrize("declared", ["utf-8", "no-such-charset", "base64", None])
def test_a_wrong_or_unknown_declared_charset_falls_back_to_the_pages_own(
    declared: str | None,
) -> None:
    body = f'<meta charset="koi8-r"><p>{RUSSIAN}</p>'.encode("koi8-r")
    assert RUSSIAN in decode(body, html=True, declared=declared)
