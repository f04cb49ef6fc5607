"""A corpus of awkward article files: the good ones go out, each bad one is named once."""

from __future__ import annotations

import json
import os
import random
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import run_cli
from helpers import write_seed

pytestmark = pytest.mark.slow  # every test runs the CLI in a child process

BODY = (
    "The regional council met on Monday to discuss the new transport plan. "
    "Members argued for hours about the cost of the tram extension. "
    "A final vote is expected next month after a public consultation."
)
GERMAN = (
    "Die Regierung hat am Montag einen neuen Haushalt vorgestellt. Die Opposition "
    "kritisierte die Pläne scharf. Eine Abstimmung ist für den nächsten Monat geplant."
)
SPANISH = (
    "El gobierno presentó el lunes un nuevo presupuesto. La oposición criticó los planes "
    "con dureza. La votación está prevista para el próximo mes."
)
RUSSIAN = (
    "Правительство в понедельник представило новый бюджет. Оппозиция резко "
    "раскритиковала эти планы. Голосование запланировано на следующий месяц."
)


def unique(word: str) -> str:
    """A sentence of the shared body, then made-up words seeded by `word`: a text of its own.

    Texts that are mostly one body would be one story (digest.stories merges copies).
    """
    rng = random.Random(word)

    def made_up() -> str:
        return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(3))

    own = [" ".join(made_up() for _ in range(9)).capitalize() + "." for _ in range(3)]
    return " ".join([BODY.split(". ")[0] + ".", *own])


def txt(title: str, body: str | None = None) -> str:
    return f"{title}\n\n{body or unique(title.split()[0])}\n"


# name -> (bytes, a word from its headline that must reach the email)
DELIVERED: dict[str, tuple[bytes, str]] = {
    "plain.txt": (txt("Zebracrossing council news").encode(), "Zebracrossing"),
    "one-sentence.txt": (
        txt("Onesentence story", "Only one sentence is here.").encode(),
        "Onesentence",
    ),
    "two-sentences.txt": (
        txt("Twosentence story", "First one here. Second one here.").encode(),
        "Twosentence",
    ),
    "utf8-bom.txt": (b"\xef\xbb\xbf" + txt("Bomword headline").encode(), "Bomword"),
    "utf16-bom.txt": (txt("Utfsixteen headline").encode("utf-16"), "Utfsixteen"),
    "utf16le-nobom.txt": (txt("Littleendian headline").encode("utf-16-le"), "Littleendian"),
    "utf16be-nobom.txt": (txt("Bigendian headline").encode("utf-16-be"), "Bigendian"),
    "cp1252.txt": (txt("Smartquote \u201cheadline\u201d").encode("cp1252"), "Smartquote"),
    "bad-utf8-mid.txt": (
        txt("Brokenbyte headline").encode() + b"caf\xe9 \xff end.\n",
        "Brokenbyte",
    ),
    "rtl-emoji.txt": (txt("Emojistory 🚀 שלום עולם مرحبا").encode(), "Emojistory"),
    "german.txt": (txt("Haushaltsdebatte im Bundestag", GERMAN).encode(), "Haushaltsdebatte"),
    "spanish.txt": (txt("Presupuestodebate en Madrid", SPANISH).encode(), "Presupuestodebate"),
    "russian.txt": (txt("Бюджетспор в Москве", RUSSIAN).encode(), "Бюджетспор"),
    "script.html": (
        (
            "<html><head><title>Htmlstory page</title><style>p{color:red}</style>"
            "<script>alert('pwned-script')</script></head><body><nav>Home | World</nav>"
            "<article><h1>Htmlstory headline</h1><p>" + unique("html") + "</p>"
            '<img src="x" onerror="alert(\'pwned-onerror\')"></article></body></html>'
        ).encode(),
        "Htmlstory",
    ),
    "script-title.txt": (txt("Scripttitle <script>alert(1)</script>").encode(), "Scripttitle"),
    "bcc.json": (
        json.dumps({"title": "Bccstory\r\nBcc: x@example.org", "text": unique("bcc")}).encode(),
        "Bccstory",
    ),
    "long-title.txt": (txt("Longtitle " + "word " * 400).encode(), "Longtitle"),
    "markdown.md": (f"# Markdownstory headline\n\n{unique('md')}\n".encode(), "Markdownstory"),
    "one-word-lines.txt": (
        ("Onewordlines headline\n\n" + "\n".join(["word"] * 10_000)).encode(),
        "Onewordlines",
    ),
}

# name -> bytes; each must be reported once by name, never stop the others
REPORTED: dict[str, bytes] = {
    "empty.txt": b"",
    "whitespace.txt": b"   \n\n\t \n",
    "chrome-only.txt": b"Copyright \xc2\xa9 2026 The Times, LLC.\n\nSource link\n\n"
    b"Related Posts\n\n1 of 1,537\n",
    "image.txt": b"\x89PNG\r\n\x1a\n" + os.urandom(2048),
    "nul.txt": b"abc\x00\x00\x01def\x00" * 500,
    "not-json.json": b"{ this is not json",
    "no-text.json": json.dumps({"title": "Missing text"}).encode(),
    "headline-only.txt": b"Just a headline and nothing else\n",
    "huge.txt": b"",  # written separately: 50 MB
}


def build_corpus(tmp_path: Path) -> tuple[Path, list[str]]:
    """Write every case; return the seeds folder and the names that must be reported."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name, (data, _) in DELIVERED.items():
        write_seed(seeds, name, data, age_seconds=3600)
    for name, data in REPORTED.items():
        write_seed(seeds, name, data, age_seconds=3600)
    with (seeds / "huge.txt").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    os.utime(seeds / "huge.txt", (time.time() - 3600,) * 2)
    outside = tmp_path / "outside.txt"
    outside.write_text(txt("Outsidesecret headline"))
    (seeds / "escape.txt").symlink_to(outside)
    (seeds / "loop.txt").symlink_to(seeds / "loop.txt")
    (seeds / "folder.txt").mkdir()
    write_seed(seeds, ".hidden.txt", txt("Hiddenword headline").encode(), age_seconds=3600)
    write_seed(seeds, "partial.txt.part", txt("Partialword headline").encode(), age_seconds=3600)
    write_seed(seeds, "editor.txt~", txt("Tildeword headline").encode(), age_seconds=3600)
    fresh = seeds / "fresh.txt"
    fresh.write_text(txt("Freshword headline"))  # just written: waits for the next run
    locked = write_seed(seeds, "mode000.txt", txt("Lockedword headline").encode(), age_seconds=3600)
    locked.chmod(0)
    return seeds, [*REPORTED, "escape.txt", "loop.txt"]


def email_of(outbox: Path) -> tuple[EmailMessage, str, str]:
    (eml,) = outbox.glob("digest-*.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    text_part, html_part = msg.iter_parts()
    return msg, str(text_part.get_content()), str(html_part.get_content())


def test_bad_files_are_named_once_and_good_ones_go_out(tmp_path: Path) -> None:
    seeds, reported = build_corpus(tmp_path)
    assert len(DELIVERED) + len(reported) + 6 >= 30  # 6 more: ignored, fresh and mode-000 cases
    env = {"DIGEST_SETTLE_SECONDS": "60"}
    first = run_cli("run", env=env)
    assert first.code == 0, first.err
    for name in reported:
        lines = [line for line in first.err.splitlines() if f"seeds/{name}:" in line]
        assert len(lines) == 1, (name, first.err)
    for ignored in (".hidden.txt", "partial.txt.part", "editor.txt~", "folder.txt", "fresh.txt"):
        assert ignored not in first.err
    assert "Traceback" not in first.err

    msg, text, html = email_of(tmp_path / "outbox")
    flat_text, flat_html = " ".join(text.split()), " ".join(html.split())
    for name, (_, word) in DELIVERED.items():
        assert word in flat_text and word in flat_html, name
    for never in ("Outsidesecret", "Hiddenword", "Partialword", "Tildeword", "Freshword"):
        assert never not in flat_text
    assert msg["Bcc"] is None and "\n" not in str(msg["Subject"])
    assert "pwned-script" not in html and "<script" not in html.lower()
    assert "pwned-onerror" not in html and "onerror" not in html
    assert "&lt;script&gt;" in html

    second = run_cli("run", env=env)
    assert second.code == 0, second.err
    assert second.err == ""  # bad files were reported once, not on every run
    os.utime(seeds / "fresh.txt", (time.time() - 3600,) * 2)
    third = run_cli("run", env=env)
    assert third.code == 0, third.err
    assert len(list((tmp_path / "outbox").glob("digest-*.eml"))) == 2
