"""The import graph of `digest/`, read from the source with `ast`: loops and the longest functions.

Every import counts: at the top, inside functions, and under `if TYPE_CHECKING:`. An
import of `digest.a.b` is an edge to the module `digest.a.b` (and `from digest.a import b`
to `digest.a.b` when `b` is a module, else to `digest.a`); the implicit import of a
package's `__init__` on the way down is not counted, as Python's own loop rules do not.

Run it to see the figures: `.venv/bin/python tests/import_graph.py`.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Container, Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "digest"


def module_files(root: Path = PACKAGE) -> dict[str, Path]:
    """Module name -> its file, for every module under `root` (a package `__init__` too)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _targets(
    node: ast.Import | ast.ImportFrom, name: str, is_package: bool, modules: Container[str]
) -> Iterator[str]:
    """The modules one import statement loads (absolute; relative ones resolved)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        anchor = name.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:  # `from a import b`: the module a.b if there is one, else a's name b
        sub = f"{base}.{alias.name}"
        yield sub if sub in modules else base


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the digest modules it imports anywhere in its file."""
    files = module_files(root)
    edges: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.update(t for t in _targets(node, name, is_package, files) if t in files)
        found.discard(name)
        edges[name] = found
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: list[str] = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(groups)


def longest_functions(root: Path = PACKAGE, top: int = 10) -> list[tuple[int, str]]:
    """(lines, "module:function") of the longest functions and methods, longest first."""
    sizes: list[tuple[int, str]] = []
    for name, path in module_files(root).items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                sizes.append((lines, f"{name}:{node.name}"))
    return sorted(sizes, key=lambda s: (-s[0], s[1]))[:top]


def main() -> None:
    edges = graph()
    loops = cycles(edges)
    print(f"{len(edges)} modules, {sum(map(len, edges.values()))} import edges")
    print(f"{len(loops)} import loop(s)")
    for group in loops:
        print("  " + " <-> ".join(group))
    print("longest functions (lines):")
    for lines, where in longest_functions():
        print(f"  {lines:4d}  {where}")


if __name__ == "__main__":
    main()
