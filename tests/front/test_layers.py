"""The import graph follows the data flow of DESIGN.md (read from the source with ast).

ground (config, validation, io, units, parallel) <- models <- learning <- analysis <- front
(api, cli, the package itself, paper, benchmarks). Nothing imports upward, the
graph has no cycle, and no private name crosses a module boundary.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Source folder -> dotted package it installs as (pyproject's package-dir).
PACKAGES = {"hdsnn": "hdsnn", "models": "hdsnn.models", "learning": "hdsnn.learning",
            "analysis": "hdsnn.analysis", "paper": "hdsnn.paper", "benchmarks": "benchmarks"}
GROUND = {"hdsnn.config", "hdsnn.validation", "hdsnn.io", "hdsnn.units", "hdsnn.parallel"}
LAYERS = {"hdsnn.models": 1, "hdsnn.learning": 2, "hdsnn.analysis": 3}
NAMES = {0: "ground", 1: "models", 2: "learning", 3: "analysis", 4: "front"}


def layer(module: str) -> int:
    """Layer of a dotted module name of this project."""
    if module in GROUND:
        return 0
    for package, level in LAYERS.items():
        if module == package or module.startswith(package + "."):
            return level
    return 4


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted name -> file of every module of the project."""
    found = {}
    for folder, package in PACKAGES.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = path.relative_to(root / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, str, int]]:
    """``(imported module, imported name or '', line)`` of every project import in a file."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                stem = base[:len(base) - node.level + 1]
                source = ".".join(stem + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for a in node.names:
                sub = f"{source}.{a.name}"
                out.append((sub, "", node.lineno) if sub in known else (source, a.name, node.lineno))
    return [(m, n, line) for m, n, line in out if m in known or m.split(".")[0] in ("hdsnn", "benchmarks")]


def graph(root: Path = ROOT):
    mods = modules(root)
    known = set(mods)
    return mods, {name: imports(name, path, known) for name, path in mods.items()}


def upward_edges(edges) -> list[str]:
    return [f"{a} ({NAMES[layer(a)]}) imports {b} ({NAMES[layer(b)]}) at line {line}"
            for a, targets in edges.items() for b, _, line in targets if layer(b) > layer(a)]


def private_imports(edges) -> list[str]:
    return [f"{a} imports the private name {b}.{n} at line {line}"
            for a, targets in edges.items() for b, n, line in targets
            if n.startswith("_") and n != "__version__" and b != a]


def cycles(edges) -> list[list[str]]:
    """Cycles among modules, packages excluded (a package imports its own submodules)."""
    packages = {b for targets in edges.values() for b, _, _ in targets} & {
        a for a in edges if any(c.startswith(a + ".") for c in edges)}
    adj = {a: sorted({b for b, _, _ in t if b in edges and b != a and b not in packages and a not in packages})
           for a, t in edges.items()}
    found, state = [], {}

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in adj[node]:
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in adj:
        if node not in state:
            visit(node, [])
    return found


def test_nothing_imports_upward():
    _, edges = graph()
    assert upward_edges(edges) == []


def test_no_private_name_crosses_modules():
    _, edges = graph()
    assert private_imports(edges) == []


def test_no_import_cycle():
    _, edges = graph()
    assert cycles(edges) == []


def test_the_checks_catch_a_planted_violation(tmp_path):
    """A copy of the tree with one upward import, one private import and one cycle fails all three checks."""
    for folder in PACKAGES:
        for path in (ROOT / folder).rglob("*.py"):
            dest = tmp_path / folder / path.relative_to(ROOT / folder)
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(path.read_text())
    (tmp_path / "models" / "planted.py").write_text(
        "def f():\n    from hdsnn.analysis import report\n    from hdsnn.io import _hidden\n"
        "    from . import planted_b\n")
    (tmp_path / "models" / "planted_b.py").write_text("from .planted import f\n")
    _, edges = graph(tmp_path)
    assert upward_edges(edges) == [
        "hdsnn.models.planted (models) imports hdsnn.analysis.report (analysis) at line 2"]
    assert private_imports(edges) == ["hdsnn.models.planted imports the private name hdsnn.io._hidden at line 3"]
    assert ["hdsnn.models.planted", "hdsnn.models.planted_b", "hdsnn.models.planted"] in cycles(edges)


@pytest.mark.parametrize("module", ["hdsnn.models.simulate", "hdsnn.learning.hebbian", "hdsnn.cli"])
def test_layer_names(module):
    assert layer(module) == {"hdsnn.models.simulate": 1, "hdsnn.learning.hebbian": 2, "hdsnn.cli": 4}[module]
