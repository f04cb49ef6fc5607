"""The source corpus: each file in fixtures/sources beside what a reader expects of it.

A case is two files: `name.ext` and `name.ext.expected.json` (the article's title, section,
source, url, published, language, id and paragraphs, or `{"skipped": reason}`). Run with
UPDATE_EXPECTED=1 to write the expected files from the code, then read each one by eye:
it must say what a person expects, not merely what the code does. Where they differ and the
code stays, a "note" in the expected file says so (regenerating keeps it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import FIXTURES

from digest.errors import SourceError
from digest.intake.files import parse_article
from digest.records import FileVersion

CORPUS = FIXTURES / "sources"
SUFFIX = ".expected.json"
CASES = sorted(p for p in CORPUS.iterdir() if not p.name.endswith(SUFFIX))


def loaded(path: Path) -> dict[str, Any]:
    """What the loader makes of one corpus file, in the shape of its expected JSON."""
    data = path.read_bytes()
    try:
        article = parse_article(FileVersion(path.name, len(data), 0, 0), data)
    except SourceError as exc:
        return {"skipped": exc.reason}
    published = article.published.isoformat() if article.published else None
    return {
        "title": article.title,
        "section": article.section,
        "source": article.source,
        "url": article.url,
        "published": published,
        "language": article.language,
        "id": article.id,
        "paragraphs": list(article.paragraphs),
    }


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_corpus_file_loads_as_expected(path: Path) -> None:
    expected = path.with_name(path.name + SUFFIX)
    got = loaded(path)
    if os.environ.get("UPDATE_EXPECTED") == "1":
        note = _read(expected).get("note") if expected.exists() else None
        text = json.dumps(({"note": note} if note else {}) | got, ensure_ascii=False, indent=2)
        expected.write_text(text + "\n", encoding="utf-8")
    want = _read(expected)
    want.pop("note", None)
    assert got == want


def _read(expected: Path) -> dict[str, Any]:
    return dict(json.loads(expected.read_text(encoding="utf-8")))


def test_every_expected_file_has_its_input() -> None:
    inputs = {p.name for p in CASES}
    orphans = [p.name for p in CORPUS.glob("*" + SUFFIX) if p.name[: -len(SUFFIX)] not in inputs]
    assert orphans == []
