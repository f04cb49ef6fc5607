"""Bytes to text: BOMs, BOM-less UTF-16, strict UTF-8, declared or legacy charsets; not binary."""

from __future__ import annotations

import codecs
import re

from digest.intake.files.article import Rejected

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"%PDF-", "PDF"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x1f\x8b", "GZIP"),
    (b"\x7fELF", "ELF"),
)
# UTF-32 first: its little-endian BOM starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# cp1252 where it defines a byte; latin-1 (the identity) for the five bytes it leaves unmapped.
_CP1252 = {
    b: c for b in range(0x80, 0xA0) if (c := bytes([b]).decode("cp1252", "replace")) != "\ufffd"
}
_DECLARED = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_WESTERN = {"utf-8", "ascii", "iso8859-1", "cp1252"}  # browsers read all of these as cp1252


def decode(data: bytes, *, html: bool, declared: str | None = None) -> str:
    """Bytes to text: BOM, the charset the server `declared` (HTTP), BOM-less UTF-16,
    strict UTF-8, else a legacy 8-bit charset (the page's <meta> one, else cp1252)."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise Rejected(f"binary file (looks like {kind}), skipped")
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, "replace")
    if declared and (text := _strict(data, declared)) is not None:
        return text
    if utf16 := _utf16_without_bom(data):
        return data.decode(utf16, "replace")
    if b"\x00" in data:
        raise Rejected("binary file (contains NUL bytes), skipped")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _legacy(data, html=html)


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (LookupError, UnicodeError):  # an unknown name, a non-text codec, or wrong
        return None


def _legacy(data: bytes, *, html: bool) -> str:
    """A charset the page declares (Shift_JIS, KOI8-R...), else Windows' cp1252."""
    match = _DECLARED.search(data[:4096]) if html else None
    try:
        codec = codecs.lookup(match[1].decode("ascii")).name if match else "cp1252"
        if codec not in _WESTERN:
            return data.decode(codec, "replace")
    except (LookupError, UnicodeError):  # an unknown or non-text codec name: ignore it
        pass
    return data.decode("latin-1").translate(_CP1252)


def _utf16_without_bom(data: bytes) -> str | None:
    """Mostly-ASCII UTF-16 has a NUL in every other byte, and almost none in the rest."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    even, odd = sample[0 : pairs * 2 : 2].count(0), sample[1 : pairs * 2 : 2].count(0)
    if odd >= pairs * 0.3 and even <= pairs * 0.05:
        return "utf-16-le"
    if even >= pairs * 0.3 and odd <= pairs * 0.05:
        return "utf-16-be"
    return None


_BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x1f\x7f\ufffd]")


def looks_binary(text: str) -> bool:
    """More than a tenth control characters or replacement marks: not text, whatever it claims."""
    sample = text[:4096]
    bad = len(_BINARY_CHARS.findall(sample))
    return bad > len(sample) * 0.1
