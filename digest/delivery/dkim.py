"""DKIM-sign outgoing messages (rsa-sha256, relaxed/relaxed); the only module importing dkimpy.

The signature covers the headers a reader's provider checks before it trusts
the message: From, To, Subject, Date, Message-ID, and List-Unsubscribe with
List-Unsubscribe-Post (Gmail shows its one-click button only when those two
are signed). The key file may be PKCS#1 ("BEGIN RSA PRIVATE KEY") or PKCS#8
("BEGIN PRIVATE KEY") PEM; cryptography reads either and hands dkimpy PKCS#1.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import dkim as dkimpy
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from digest.errors import DigestError

SIGNED_HEADERS = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
)
MIN_KEY_BITS = 1024  # receivers ignore shorter keys (RFC 8301); 2048 is the usual size


class DkimError(DigestError):
    """The DKIM key or settings cannot sign; the message names the setting to fix."""

    exit_code = 2


def sign(message: bytes, *, key_file: Path, selector: str, domain: str) -> bytes:
    """The message with a DKIM-Signature header in front (CRLF line endings expected)."""
    key = _key(key_file, *_version(key_file))
    try:
        signature = dkimpy.sign(
            message,
            selector.encode("ascii"),
            domain.encode("ascii"),
            key,
            canonicalize=(b"relaxed", b"relaxed"),
            signature_algorithm=b"rsa-sha256",
            include_headers=[h.lower().encode("ascii") for h in present_headers(message)],
        )
    except (dkimpy.DKIMException, UnicodeEncodeError) as exc:
        raise DkimError(
            f"cannot DKIM-sign with DIGEST_DKIM_KEY_FILE={key_file} "
            f"(selector {selector!r}, domain {domain!r}): {exc}",
            "check DIGEST_DKIM_SELECTOR and DIGEST_DKIM_DOMAIN are plain ASCII names",
        ) from exc
    return bytes(signature) + message


def present_headers(message: bytes) -> tuple[str, ...]:
    """The SIGNED_HEADERS that the message's header block holds."""
    head = re.split(rb"\r?\n\r?\n", message, maxsplit=1)[0]
    names = {m.group(1).lower() for m in re.finditer(rb"^([!-9;-~]+):", head, re.MULTILINE)}
    return tuple(h for h in SIGNED_HEADERS if h.lower().encode("ascii") in names)


def _version(path: Path) -> tuple[int, int]:
    """The key file's mtime and size, so a replaced key is read again."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise _key_error(path, f"cannot read it ({exc.strerror or exc})") from exc
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=4)
def _key(path: Path, mtime_ns: int, size: int) -> bytes:
    """The key as PKCS#1 PEM, read once per version of the file (one send signs thousands)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise _key_error(path, f"cannot read it ({exc.strerror or exc})") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # encrypted with a passphrase
        raise _key_error(
            path,
            "the key is protected by a passphrase",
            f"write it without one: openssl pkey -in {path} -out plain.pem",
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise _key_error(path, "not a PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _key_error(path, "not an RSA key (DKIM rsa-sha256 needs one)")
    if key.key_size < MIN_KEY_BITS:
        raise _key_error(path, f"a {key.key_size}-bit key is too short (receivers ignore it)")
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _key_error(path: Path, why: str, hint: str | None = None) -> DkimError:
    return DkimError(
        f"DIGEST_DKIM_KEY_FILE={path}: {why}",
        hint
        or "give an RSA private key in PEM (PKCS#1 or PKCS#8), e.g. made with "
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkim.pem",
    )
