"""No import loop in digest/, counting imports inside functions and under TYPE_CHECKING."""

from __future__ import annotations

from pathlib import Path

from import_graph import cycles, graph


def test_digest_has_no_import_loop() -> None:
    edges = graph()
    assert len(edges) > 50 and "digest.runs.run" in edges  # the whole package was read
    assert cycles(edges) == []


def test_a_loop_is_found_in_a_function_or_under_type_checking(tmp_path: Path) -> None:
    """The reader sees the kinds of import a loop hides in: late, typing-only, relative."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .c import X\n"
    )
    (package / "sub" / "c.py").write_text("from .. import a\nX = 1\n")
    (package / "d.py").write_text("import pkg.a\n")  # on the way in, not in the loop
    edges = graph(package)
    assert edges["pkg.a"] == {"pkg.sub.b"}
    assert cycles(edges) == [["pkg.a", "pkg.sub.b", "pkg.sub.c"]]
