"""DKIM signing: verified offline by dkimpy against the test's own public key record."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from digest.delivery import mail
from digest.delivery.dkim import (
    Canonical,
    DkimError,
    body_hash,
    relaxed_hash,
    relaxed_lines,
    sign,
    signer,
)
from digest.delivery.personalize import Template
from digest.errors import DigestError

SELECTOR, DOMAIN = "news2026", "example.org"
UNSUBSCRIBE = "https://news.example.org/unsubscribe/abc.def"
ALL_SEVEN = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
]


_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return _KEY


def write_key(path: Path, key: rsa.RSAPrivateKey, form: serialization.PrivateFormat) -> Path:
    pem = key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption())
    path.write_bytes(pem)
    return path


def dns_for(key: rsa.RSAPrivateKey) -> object:
    """A resolver that knows one record: our selector's public key (no DNS is asked)."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    wanted = f"{SELECTOR}._domainkey.{DOMAIN}.".encode()

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == wanted else None

    return lookup


def message(unsubscribe_url: str | None = UNSUBSCRIBE) -> bytes:
    msg = mail.build_message(
        subject="News digest: Tuesday 5 March 2024",
        text="One article.\n",
        html="<p>One article.</p>",
        sender=f"News <news@{DOMAIN}>",
        recipients=("reader@example.net",),
        date=datetime(2024, 3, 5, 7, 0, tzinfo=UTC),
        unsubscribe_url=unsubscribe_url,
    )
    return mail.for_recipient(msg, "reader@example.net")


def signature_tags(signed: bytes) -> dict[str, str]:
    """The tags of the DKIM-Signature header, unfolded (h= is "from : to : ...")."""
    header = signed.split(b"\r\n\r\n", 1)[0].decode()
    unfolded = re.sub(r"\r\n[ \t]+", " ", header)
    found = re.search(r"^DKIM-Signature:(.*)$", unfolded, re.MULTILINE)
    assert found is not None
    tags = (t.partition("=") for t in found.group(1).split(";") if t.strip())
    return {k.strip(): " ".join(v.split()) for k, _, v in tags}


def signed_headers(signed: bytes) -> list[str]:
    return [h.strip() for h in signature_tags(signed)["h"].split(":")]


@pytest.mark.parametrize(
    "form",
    [serialization.PrivateFormat.TraditionalOpenSSL, serialization.PrivateFormat.PKCS8],
    ids=["pkcs1", "pkcs8"],
)
def test_a_signed_message_verifies_with_either_key_format(
    tmp_path: Path, key: rsa.RSAPrivateKey, form: serialization.PrivateFormat
) -> None:
    key_file = write_key(tmp_path / "dkim.pem", key, form)
    signed = sign(message(), key_file=key_file, selector=SELECTOR, domain=DOMAIN)
    assert signed.startswith(b"DKIM-Signature: ")
    assert dkim.verify(signed, dnsfunc=dns_for(key))
    assert signed_headers(signed) == ALL_SEVEN
    tags = signature_tags(signed)
    assert (tags["a"], tags["c"], tags["d"], tags["s"]) == (
        "rsa-sha256",
        "relaxed/relaxed",
        DOMAIN,
        SELECTOR,
    )


def test_without_a_one_click_url_only_the_headers_present_are_signed(
    tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    key_file = write_key(tmp_path / "k.pem", key, serialization.PrivateFormat.PKCS8)
    signed = sign(message(None), key_file=key_file, selector=SELECTOR, domain=DOMAIN)
    assert signed_headers(signed) == ALL_SEVEN[:-1]  # List-Unsubscribe is the mailto: alone
    assert dkim.verify(signed, dnsfunc=dns_for(key))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"Subject: News digest", b"Subject: Fake digest"),
        (b"To: reader@example.net", b"To: other@example.net"),
        (UNSUBSCRIBE.encode(), b"https://evil.example.com/x"),
        (b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: No"),
        (b"One article.", b"Two articles"),
    ],
    ids=["subject", "to", "unsubscribe-url", "one-click", "body"],
)
def test_a_changed_header_or_body_fails_verification(
    tmp_path: Path, key: rsa.RSAPrivateKey, old: bytes, new: bytes
) -> None:
    key_file = write_key(tmp_path / "k.pem", key, serialization.PrivateFormat.TraditionalOpenSSL)
    signed = sign(message(), key_file=key_file, selector=SELECTOR, domain=DOMAIN)
    assert old in signed
    assert not dkim.verify(signed.replace(old, new, 1), dnsfunc=dns_for(key))


def test_another_key_does_not_verify(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = write_key(tmp_path / "k.pem", other, serialization.PrivateFormat.PKCS8)
    signed = sign(message(), key_file=key_file, selector=SELECTOR, domain=DOMAIN)
    assert not dkim.verify(signed, dnsfunc=dns_for(key))


def test_a_replaced_key_file_is_read_again(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    key_file = tmp_path / "k.pem"
    key_file.write_bytes(b"not a key yet")
    with pytest.raises(DkimError):
        sign(message(), key_file=key_file, selector=SELECTOR, domain=DOMAIN)
    write_key(key_file, key, serialization.PrivateFormat.PKCS8)
    signed = sign(message(), key_file=key_file, selector=SELECTOR, domain=DOMAIN)
    assert dkim.verify(signed, dnsfunc=dns_for(key))


def _ec_key() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _encrypted_key() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "cannot read it"),
        (b"-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----\n", "not a PEM"),
        (b"hello", "not a PEM private key"),
        (_ec_key(), "not an RSA key"),
        (_encrypted_key(), "passphrase"),
    ],
    ids=["missing", "bad-base64-body", "garbage", "ec-key", "encrypted"],
)
def test_an_unusable_key_names_the_setting_and_the_fix(
    tmp_path: Path, content: bytes | None, why: str
) -> None:
    key_file = tmp_path / "dkim.pem"
    if content is not None:
        key_file.write_bytes(content)
    with pytest.raises(DigestError) as caught:
        sign(message(), key_file=key_file, selector=SELECTOR, domain=DOMAIN)
    text = str(caught.value)
    assert text.startswith(f"DIGEST_DKIM_KEY_FILE={key_file}: ")
    assert why in text
    assert "openssl" in text  # what to do next
    assert caught.value.exit_code == 2


def test_a_folded_list_unsubscribe_header_still_verifies(
    tmp_path: Path, key: rsa.RSAPrivateKey
) -> None:
    long_url = "https://news.example.org/unsubscribe/" + "MQ.x" * 30  # folds over two lines
    msg = mail.build_message(
        subject="News digest",
        text="One article.\n",
        html="<p>One article.</p>",
        sender=f"news@{DOMAIN}",
        recipients=("reader@example.net",),
        date=datetime(2024, 3, 5, 7, 0, tzinfo=UTC),
        unsubscribe_url=long_url,
    )
    data = mail.for_recipient(msg, "reader@example.net")
    assert re.search(rb"List-Unsubscribe: [^\r\n]*,\r\n <https://", data)  # really folded
    key_file = write_key(tmp_path / "k.pem", key, serialization.PrivateFormat.PKCS8)
    signed = sign(data, key_file=key_file, selector=SELECTOR, domain=DOMAIN)
    assert dkim.verify(signed, dnsfunc=dns_for(key))


_blanks = st.text(alphabet=" \tab.=-", max_size=30)


@given(lines=st.lists(_blanks, max_size=12), subject=_blanks)
def test_relaxed_canonicalisation_agrees_with_dkimpy_on_any_blanks(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], subject: str
) -> None:
    """Runs of spaces and tabs, trailing blanks, empty lines at the end: dkimpy still verifies."""
    key = _KEY
    key_file = write_key(
        tmp_path_factory.mktemp("k") / "k.pem", key, serialization.PrivateFormat.PKCS8
    )
    head = (
        f"From: news@{DOMAIN}\r\nTo: r@example.net\r\nSubject: x{subject}\r\n"
        f"Date: Tue, 05 Mar 2024 07:00:00 +0000\r\nMessage-ID: <1@{DOMAIN}>\r\n"
    )
    data = (head + "\r\n" + "".join(f"{line}\r\n" for line in lines)).encode()
    signed = sign(data, key_file=key_file, selector=SELECTOR, domain=DOMAIN)
    assert dkim.verify(signed, dnsfunc=dns_for(key))


MARK = "0123456789abcdef0123456789abcdef"


@given(
    lines=st.lists(_blanks, max_size=8),
    around=st.tuples(_blanks, _blanks),
    token=st.text("abcXYZ019_-", min_size=1, max_size=90),
    end=st.sampled_from(["", "\r\n", "\r\n\r\n", " \t"]),
)
def test_a_filled_template_signs_as_its_whole_body_would(
    lines: list[str], around: tuple[str, str], token: str, end: str
) -> None:
    """The body's relaxed form made piece by piece (shared parts once, filled lines per
    reader) hashes as the whole body's does, and dkimpy verifies the signature."""
    head = (
        f"From: news@{DOMAIN}\r\nTo: to-{MARK}@invalid\r\nSubject: x\r\n"
        f"Date: Tue, 05 Mar 2024 07:00:00 +0000\r\nMessage-ID: <1@{DOMAIN}>\r\n"
    )
    filled_line = f"{around[0]}https://news.example.org/u/{MARK}u{around[1]}"
    body = "".join(f"{line}\r\n" for line in [*lines, filled_line, *lines]) + end
    template = Template(
        (head + "\r\n" + body).encode(),
        mail.to_line(f"to-{MARK}@invalid"),
        (f"{MARK}u", f"{MARK}p"),
        relaxed_lines,
    )
    out = template.fill(mail.to_line("r@example.net"), {f"{MARK}u": token, f"{MARK}p": "p"})
    assert isinstance(out, Canonical)
    assert relaxed_hash(b"".join(out.body)) == body_hash(out.partition(b"\r\n\r\n")[2])
    signed = signer(key_file=_key_file(), selector=SELECTOR, domain=DOMAIN)(out)
    received = signed if signed.endswith(b"\r\n") else signed + b"\r\n"  # as SMTP carries it
    assert dkim.verify(received, dnsfunc=dns_for(_KEY))


_KEY_FILE: list[Path] = []


def _key_file() -> Path:
    """The module's key in a file, written once (hypothesis calls the test many times)."""
    if not _KEY_FILE:
        import tempfile

        folder = Path(tempfile.mkdtemp(prefix="dkim-key-"))
        _KEY_FILE.append(write_key(folder / "k.pem", _KEY, serialization.PrivateFormat.PKCS8))
    return _KEY_FILE[0]


def test_signing_needs_no_pure_python_rsa() -> None:
    """dkimpy is the tests' verifier only: the signer is OpenSSL through cryptography."""
    source = Path(sign.__code__.co_filename).read_text(encoding="utf-8")
    assert "import dkim" not in source and "from dkim" not in source
