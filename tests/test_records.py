"""digest.records is a leaf, and the modules built on it load no stage they do not use.

Each import runs in a fresh interpreter (a subprocess) so that what other tests loaded
does not hide what the import itself pulls in.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# digest.errors and digest.text are leaves themselves; no other digest module may be imported.
LEAVES = {"digest.errors", "digest.text"}


def loaded_after(module: str, watched: tuple[str, ...]) -> list[str]:
    """Which of `watched` are in sys.modules after importing `module` in a fresh interpreter."""
    code = f"import sys, {module}\nprint([m for m in {watched!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    found: list[str] = ast.literal_eval(result.stdout.strip())
    return found


def test_records_imports_only_the_standard_library() -> None:
    tree = ast.parse((ROOT / "digest" / "records.py").read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported, "the parse found no imports at all"
    ours = {m for m in imported if m.split(".")[0] == "digest"}
    assert ours <= LEAVES
    assert all(m.split(".")[0] in sys.stdlib_module_names for m in imported - ours)


@pytest.mark.parametrize(
    ("module", "watched"),
    [
        # the reader pages show preferences and archive pages: no summarizing, no stories
        ("digest.readers.web.app", ("numpy", "sumy", "digest.stories")),
        # the store keeps articles and summaries without reading files or summarizing
        (
            "digest.store",
            ("digest.summary.summarizer", "digest.intake.files", "digest.stories", "numpy"),
        ),
        ("digest.records", ("digest.settings", "digest.store", "digest.intake.files")),
    ],
)
def test_import_loads_no_other_stage(module: str, watched: tuple[str, ...]) -> None:
    assert loaded_after(module, watched) == []


def test_the_check_sees_a_heavy_import() -> None:
    """The watcher itself works: importing the summary cache does load the summarizer."""
    assert loaded_after("digest.summary.cache", ("digest.summary.summarizer",)) == [
        "digest.summary.summarizer"
    ]
