"""Fuzz inputs for `effbench import` and the check every input must pass.

Shared by tests/store/test_import_fuzz.py (a seeded few hundred cases) and
benchmarks/fuzz_import.py (10,000+ cases, counted). An input is the bytes of a file given to
`effbench import`: a valid export with one to three mutations (a value replaced by any JSON value,
a key deleted or added, an item dropped), random JSON, or random bytes.

``run_case`` imports it through the CLI and, when the import is accepted, runs every reader on
the stored run (show, show --batches, export json and csv, report markdown, latex and html). The
outcome is "success" or "clean error" (exit code 2 with one line); anything else raises.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json

from hypothesis import strategies as st

from effbench.cli import main

DEEP = "__effbench_fuzz_deep__"
"""A string replaced, in the serialized text, by lists nested 5,000 deep (json.dumps cannot write them)."""

BASE_V2 = {
    "format": "effbench-run", "schema_version": 2,
    "run": {"run_id": "20260101-000000-abcd", "created_at": "2026-01-01T00:00:00+00:00", "finished_at": "2026-01-01T00:01:00+00:00",
            "status": "complete", "suite": "digits", "effbench_version": "0.1.0",
            "config": {"batch_sizes": [1, 4], "threads": 1, "timing": {"min_time_s": 0.1}, "seed": 0},
            "environment": {"cpu": {"model": "cpu", "mhz": 2000.0}, "cores_logical": 2, "libraries": {"torch": "2.0"},
                            "gpu": [], "energy": {"meter": "rapl", "provenance": "measured", "idle_power_w": 3.0}},
            "task": {"name": "digits", "n_train": 10, "n_test": 4, "sample_shape": [64], "n_classes": 3, "y_test": [0, 1, 2, 1]},
            "notes": ["a note"]},
    "candidates": [
        {"key": "cnn/torch", "model": "cnn", "backend": "torch", "family": "nn", "parent": None, "status": "ok", "error": None,
         "info": {"device": "cpu", "worker": {"thread_settings": {"threads": 1}}}, "predictions": [0, 1, 2, 2]},
        {"key": "logreg/sklearn", "model": "logreg", "backend": "sklearn", "family": "linear", "parent": None, "status": "ok",
         "error": None, "info": {}, "predictions": [0, 1, 2, 1]},
    ],
    "metrics": [
        {"candidate": "cnn/torch", "batch_size": 0, "name": "params", "value": 1000, "unit": "count", "provenance": "analytic", "detail": {}},
        {"candidate": "cnn/torch", "batch_size": 0, "name": "accuracy", "value": 0.75, "unit": "ratio", "provenance": "measured", "detail": {}},
        {"candidate": "cnn/torch", "batch_size": 0, "name": "flops_per_sample", "value": 2e4, "unit": "FLOP", "provenance": "analytic",
         "detail": {"coverage": 0.9}},
        {"candidate": "cnn/torch", "batch_size": 4, "name": "peak_memory_bytes", "value": 4096, "unit": "bytes", "provenance": "measured", "detail": {}},
        {"candidate": "cnn/torch", "batch_size": 1, "name": "energy_per_sample_j", "value": 0.01, "unit": "J", "provenance": "measured", "detail": {}},
        {"candidate": "logreg/sklearn", "batch_size": 0, "name": "accuracy", "value": 1.0, "unit": "ratio", "provenance": "measured", "detail": {}},
        {"candidate": "logreg/sklearn", "batch_size": 0, "name": "size_bytes", "value": None, "unit": "bytes", "provenance": "measured",
         "detail": {"reason": "not serializable"}},
    ],
    "samples": [
        {"candidate": "cnn/torch", "batch_size": 1, "kind": "latency_per_call", "unit": "s", "values": [1e-3, 2e-3, 1.5e-3, 1.2e-3],
         "meta": {"stop_reason": "max_time", "block_size": 1}},
        {"candidate": "cnn/torch", "batch_size": 4, "kind": "latency_per_call", "unit": "s", "values": [4e-3, 5e-3], "meta": {}},
        {"candidate": "logreg/sklearn", "batch_size": 1, "kind": "latency_per_call", "unit": "s", "values": [1e-4, 2e-4, 1e-4], "meta": {}},
    ],
}

BASE_V1 = {
    "effbench_json": 1,
    "run": {"run_id": "old-1", "created_at": "2026-01-01T00:00:00+00:00", "status": "complete", "suite": "digits"},
    "candidates": [{"name": "logreg", "backend": "sklearn", "family": "linear",
                    "values": {"params": {"value": 650, "unit": "count"}, "accuracy": {"value": 0.97, "unit": "ratio"}},
                    "latency": {"1": [1e-4, 2e-4], "8": [5e-4, 6e-4]}}],
}

SPECIAL_NUMBERS = [0, -1, 1, 2**31 - 1, 2**31, 2**63, 10**30, 10**400, -(10**400), 1e308, -0.0, 0.5, float("nan"), float("inf")]
SPECIAL_STRINGS = ["", "many", "x/y", "a b", "\x00", "\ud800", "é", "latest", "../etc", "cnn/torch", "measured", "s", "\n", "1"]
KEYS = ["threads", "batch_sizes", "value", "batch_size", "detail", "config", "meta", "info", "values", "key", "name", "status", "x"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.sampled_from(SPECIAL_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.sampled_from(SPECIAL_STRINGS), st.just(DEEP),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), inner, max_size=4)),
    max_leaves=12)


def _slots(doc) -> list[tuple]:
    """Every (container, key) of a document."""
    out, stack = [], [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in items:
            out.append((node, k))
            stack.append(v)
    return out


def _like(value):
    if isinstance(value, bool) or value is None:
        return st.sampled_from([True, False, None])
    if isinstance(value, int):
        return st.integers(0, 10**6)
    if isinstance(value, float):
        return st.floats(0, 1e6)
    if isinstance(value, str):
        return st.sampled_from(["cnn/torch", "logreg/sklearn", "cnn", "torch", "s", "measured", "ok", "failed", "latency_per_call", "x_1"])
    if isinstance(value, list):
        return st.just(value + value[:1])
    return st.builds(lambda k, v: {**value, k: v}, st.sampled_from(KEYS), scalars)


@st.composite
def mutated_documents(draw):
    doc = copy.deepcopy(draw(st.sampled_from([BASE_V2, BASE_V2, BASE_V2, BASE_V1])))
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(doc)
        node, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["tweak", "tweak", "tweak", "replace", "replace", "delete", "add"]))
        if action == "tweak":  # a value of the same type: most such documents are still valid
            node[key] = draw(_like(node[key]))
        elif action == "replace":
            node[key] = draw(json_values)
        elif action == "delete":
            del node[key]
        elif isinstance(node[key], dict):
            node[key][draw(st.sampled_from(KEYS))] = draw(json_values)
        elif isinstance(node[key], list):
            node[key].append(draw(json_values))
        else:
            node[key] = draw(json_values)
    return doc


def to_bytes(doc) -> bytes:
    text = json.dumps(doc, allow_nan=True)
    text = text.replace(json.dumps(DEEP), "[" * 5000 + "]" * 5000)
    return text.encode("utf-8", "surrogatepass")


documents = st.one_of(mutated_documents().map(to_bytes), mutated_documents().map(to_bytes), json_values.map(to_bytes),
                      st.binary(max_size=64))

READERS = (["show"], ["show", "--batches"], ["export", "--format", "json", "-o", "-"], ["export", "--format", "csv", "-o", "-"],
           ["report", "--format", "markdown", "-o", "-"], ["report", "--format", "latex", "-o", "-"])
HTML = ["report", "--format", "html", "-o", "-"]


def run_case(data: bytes, workdir, n: int, html: bool = False) -> str:
    """Import ``data``; on success read the run back with every reader. Returns "success" or
    "clean error"; raises AssertionError (a reader refused an accepted run, or more than one error
    line) or whatever a command raised that is not an EffbenchError."""
    src = workdir / f"case{n}.json"
    src.write_bytes(data)
    db = str(workdir / f"case{n}.sqlite")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["import", str(src), "--db", db])
    if rc == 2:
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("effbench: error: "), lines
        return "clean error"
    assert rc == 0, (rc, err.getvalue())
    from effbench.store.db import Store

    with Store(db, create=False) as store:  # by its id: 'latest' of report means the latest run with latencies
        (run_id,) = [r["run_id"] for r in store.list_runs()]
    for args in READERS + ((HTML,) if html else ()):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = main([args[0], run_id, *args[1:], "--db", db])
        assert rc == 0, (args, rc, err.getvalue())
    return "success"
