"""The layout tells the architecture: each layer imports only the layers below it.

Every ``import effbench.X`` and ``from effbench.X import ...`` in the source is read from the
syntax tree, including the lazy imports inside functions, and checked against the table below
(docs/architecture.md draws it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "effbench"

BOTTOM = {"errors", "validation", "records", "estimates", "numbers"}
# layer -> the layers it may import (besides itself and BOTTOM)
ALLOWED = {
    "tasks": set(),
    "sources": {"candidates", "measure", "tasks"},  # beside zoo: loading model, data and suite files
    "measure": set(),
    "candidates": {"measure"},
    "testing": {"candidates", "measure"},
    "zoo": {"candidates", "measure", "tasks"},
    "executor": {"measure", "candidates"},
    "executors": {"executor", "measure", "candidates"},  # the Ray executor drives the local executor's phases
    "store": set(),
    "analysis": set(),
    "runs": {"measure", "candidates", "tasks", "zoo", "sources", "executor", "executors", "store", "analysis"},
    "report": {"analysis", "store", "candidates"},  # candidates: the registry's declarations (a backend's runtime)
    "api": {"runs", "measure", "candidates", "tasks", "zoo", "executor", "executors", "store", "analysis", "report"},
    "cli": {"*"},
    "__main__": {"cli"},
    "__init__": {"api"},  # the package: its public names, imported lazily from the facade
}


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else "__init__"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.startswith("effbench"):
            if node.module == "effbench":  # from effbench import records, runs, ...
                out += [(node.lineno, f"effbench.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("effbench.")]
    return out


def _violations() -> list[str]:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts)
        layer = _layer(module)
        if layer in BOTTOM:
            allowed = BOTTOM
        else:
            assert layer in ALLOWED, f"{module}: layer {layer!r} is not in the architecture table; add it"
            allowed = ALLOWED[layer] | BOTTOM | {layer}
        for lineno, target in _imports(path):
            t = _layer(target)
            if "*" in allowed or t in allowed or target == "effbench":
                continue
            bad.append(f"{path.relative_to(SRC.parent)}:{lineno}: {layer} imports {target}")
    return bad


def test_each_layer_imports_only_the_layers_below_it():
    assert _violations() == []


def test_the_bottom_imports_nothing_above_it():
    for name, allowed in (("errors", set()), ("validation", {"errors"}), ("records", {"errors", "validation"}),
                          ("estimates", {"errors", "validation"})):
        targets = {_layer(t) for _, t in _imports(SRC / f"{name}.py")}
        assert targets <= allowed, (name, targets)


@pytest.mark.parametrize("layer,forbidden", [("store", "analysis"), ("measure", "analysis"),
                                             ("analysis", "store"), ("analysis", "cli"), ("analysis", "report")])
def test_the_issue_s_named_edges_are_gone(layer, forbidden):
    hits = [f"{p}:{n}" for p in (SRC / layer).rglob("*.py") for n, t in _imports(p) if _layer(t) == forbidden]
    assert hits == []


def test_the_checker_sees_lazy_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from effbench.store.db import Store\n    import effbench.cli\n")
    assert [t for _, t in _imports(f)] == ["effbench.store.db", "effbench.cli"]
