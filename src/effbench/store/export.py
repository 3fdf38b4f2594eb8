"""The run interchange format: a run's records as a JSON document, and back (with upgrades).

JSON layout (``schema_version`` 2, documented in docs/json-schema.md)::

    {"format": "effbench-run", "schema_version": 2,
     "run": {run_id, created_at, finished_at, status, suite, effbench_version, config, environment, task, notes},
     "candidates": [{key, model, backend, family, parent, status, error, info, predictions}],
     "metrics": [{candidate, batch_size, name, value, unit, provenance, detail}],
     "samples": [{candidate, batch_size, kind, unit, values: [...], meta}],
     "derived": {"cost_table": [...], "batch_table": [...]}}      # written by effbench export; ignored on load

Older layouts are upgraded on load, one version at a time (:data:`UPGRADES`). The derived tables
and the CSV export are rendered by :mod:`effbench.report.export`; the store never runs analyses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from effbench.errors import DataError
from effbench.records import LATENCY_PER_CALL, PROVENANCES, CandidateRecord, Metric, RunRecord, SampleSet
from effbench.store.files import json_default, json_ready

FORMAT = "effbench-run"
JSON_SCHEMA_VERSION = 2


def run_to_dict(run: RunRecord) -> dict:
    """The run's records as the interchange document, without derived tables (see
    :func:`effbench.report.export.export_document` for the document ``effbench export`` writes)."""
    doc = {
        "format": FORMAT,
        "schema_version": JSON_SCHEMA_VERSION,
        "run": {k: getattr(run, k) for k in ("run_id", "created_at", "finished_at", "status", "suite", "effbench_version", "config", "environment", "task", "notes")},
        "candidates": [vars(c) for c in run.candidates],
        "metrics": [vars(m) for m in run.metrics],
        "samples": [{**{k: getattr(s, k) for k in ("candidate", "batch_size", "kind", "unit", "meta")}, "values": np.asarray(s.values).tolist()} for s in run.samples],
    }
    return json_ready(json.loads(json.dumps(doc, default=json_default)))


def _upgrade_v1(doc: dict) -> dict:
    """Version 1 (the pre-release layout) nested everything per candidate:
    ``candidates[i] = {name, backend, ..., "values": {name: {"value", "unit", "provenance"?}},
    "latency": {"<batch>": [seconds, ...]}}`` and had no provenance for some values: those were all
    measured or analytic (params, FLOPs), and are labelled so here.
    """
    analytic = {"params", "flops_per_sample"}
    out = {"format": FORMAT, "schema_version": 2, "run": doc["run"], "candidates": [], "metrics": [], "samples": []}
    for c in doc.get("candidates", []):
        key = f"{c['name']}/{c['backend']}"
        out["candidates"].append({"key": key, "model": c["name"], "backend": c["backend"], "family": c.get("family", ""),
                                  "parent": c.get("parent"), "status": c.get("status", "ok"), "error": c.get("error"),
                                  "info": c.get("info", {}), "predictions": c.get("predictions")})
        for name, v in c.get("values", {}).items():
            out["metrics"].append({"candidate": key, "batch_size": 0, "name": name, "value": v.get("value"), "unit": v.get("unit", ""),
                                   "provenance": v.get("provenance") or ("analytic" if name in analytic else "measured"), "detail": {}})
        for b, values in c.get("latency", {}).items():
            out["samples"].append({"candidate": key, "batch_size": int(b), "kind": LATENCY_PER_CALL, "unit": "s", "values": values, "meta": {}})
    return out


UPGRADES = {1: _upgrade_v1}


def run_from_dict(doc: dict, *, source: str = "<json>") -> RunRecord:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT and "effbench_json" not in doc:
        raise DataError(f"{source}: not an effbench run export (expected \"format\": \"{FORMAT}\")")
    version = doc.get("schema_version", doc.get("effbench_json"))
    if not isinstance(version, int) or version < 1:
        raise DataError(f"{source}: schema_version must be a positive integer; got {version!r}")
    if version > JSON_SCHEMA_VERSION:
        raise DataError(f"{source}: schema_version {version} is newer than this effbench reads ({JSON_SCHEMA_VERSION}); upgrade effbench")
    while version < JSON_SCHEMA_VERSION:
        doc = UPGRADES[version](doc)
        version = doc["schema_version"]
    try:
        r = doc["run"]
        run = RunRecord(**{k: r.get(k) for k in ("run_id", "created_at", "status", "suite", "finished_at", "effbench_version")},
                        config=r.get("config") or {}, environment=r.get("environment") or {}, task=r.get("task") or {}, notes=r.get("notes") or [])
        run.candidates = [CandidateRecord(**c) for c in doc["candidates"]]
        run.metrics = [Metric(**m) for m in doc["metrics"]]
        run.samples = [SampleSet(candidate=s["candidate"], batch_size=s["batch_size"], kind=s["kind"], unit=s["unit"],
                                 values=np.asarray(s["values"], dtype=float), meta=s.get("meta") or {}) for s in doc["samples"]]
    except (KeyError, TypeError) as exc:
        raise DataError(f"{source}: malformed effbench run export ({type(exc).__name__}: {exc})") from None
    if not run.run_id:
        raise DataError(f"{source}: the export has no run.run_id")
    bad = next((m for m in run.metrics if m.provenance not in PROVENANCES), None)
    if bad is not None:
        raise DataError(f"{source}: metric {bad.name!r} of {bad.candidate!r} has provenance {bad.provenance!r}; allowed: {', '.join(PROVENANCES)}")
    return run


def load_json(path) -> RunRecord:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise DataError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{str(path)!r} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return run_from_dict(doc, source=str(path))
