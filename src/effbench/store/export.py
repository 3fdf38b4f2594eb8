"""Export a run to JSON (the documented interchange format) or CSV, and load JSON back.

JSON layout (``schema_version`` 2, documented in docs/json-schema.md)::

    {"format": "effbench-run", "schema_version": 2,
     "run": {run_id, created_at, finished_at, status, suite, effbench_version, config, environment, task, notes},
     "candidates": [{key, model, backend, family, parent, status, error, info, predictions}],
     "metrics": [{candidate, batch_size, name, value, unit, provenance, detail}],
     "samples": [{candidate, batch_size, kind, unit, values: [...], meta}],
     "derived": {"cost_table": [...], "batch_table": [...]}}      # recomputed from the above; ignored on load

Older layouts are upgraded on load, one version at a time (:data:`UPGRADES`).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet
from effbench.store.files import json_default, json_ready, write_output

FORMAT = "effbench-run"
JSON_SCHEMA_VERSION = 2


def run_to_dict(run: RunRecord, *, derived: bool = True) -> dict:
    from effbench.analysis.costs import batch_rows, cost_table

    doc = {
        "format": FORMAT,
        "schema_version": JSON_SCHEMA_VERSION,
        "run": {k: getattr(run, k) for k in ("run_id", "created_at", "finished_at", "status", "suite", "effbench_version", "config", "environment", "task", "notes")},
        "candidates": [vars(c) for c in run.candidates],
        "metrics": [vars(m) for m in run.metrics],
        "samples": [{**{k: getattr(s, k) for k in ("candidate", "batch_size", "kind", "unit", "meta")}, "values": np.asarray(s.values).tolist()} for s in run.samples],
    }
    if derived:
        doc["derived"] = {
            "note": "recomputed from 'metrics' and 'samples' by this effbench version; ignored when loading",
            "cost_table": [{k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in row.items()} for row in cost_table(run)],
            "batch_table": batch_rows(run),
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
            out["samples"].append({"candidate": key, "batch_size": int(b), "kind": "latency_per_call", "unit": "s", "values": values, "meta": {}})
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
    from effbench.store.db import PROVENANCES

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


# figures derived from the raw latency samples (the stored metrics, energy included, are written as they are)
DERIVED_CSV_UNITS = {
    "n_samples": "count",
    "latency_p50_s": "s",
    "latency_p90_s": "s",
    "latency_p99_s": "s",
    "latency_mean_s": "s",
    "latency_p50_per_sample_s": "s",
    "latency_p99_per_sample_s": "s",
    "throughput_samples_per_s": "samples/s",
}

CSV_COLUMNS = ("run_id", "candidate", "model", "backend", "batch_size", "metric", "value", "unit", "provenance")


def run_to_csv_rows(run: RunRecord) -> list[dict]:
    """Long format: stored metrics, then the derived latency/throughput figures per batch size."""
    from effbench.analysis.costs import batch_rows

    models = {c.key: (c.model, c.backend) for c in run.candidates}
    rows = []
    for m in run.metrics:
        model, backend = models.get(m.candidate, (m.candidate, ""))
        rows.append({"run_id": run.run_id, "candidate": m.candidate, "model": model, "backend": backend, "batch_size": m.batch_size or "",
                     "metric": m.name, "value": "" if m.value is None else m.value, "unit": m.unit, "provenance": m.provenance})
    for r in batch_rows(run):
        model, backend = models.get(r["candidate"], (r["candidate"], ""))
        for name, unit in DERIVED_CSV_UNITS.items():
            value = r[name]
            rows.append({"run_id": run.run_id, "candidate": r["candidate"], "model": model, "backend": backend, "batch_size": r["batch_size"],
                         "metric": name, "value": value, "unit": unit, "provenance": "measured"})
    return rows


def write_export(run: RunRecord, fmt: str, output, *, force: bool = False) -> Path | None:
    """Write JSON or CSV to ``output`` ('-' for stdout). Refuses to overwrite a file unless ``force``."""
    if fmt not in ("json", "csv"):
        raise ConfigError(f"--format must be json or csv; got {fmt!r}")
    if fmt == "json":
        text = json.dumps(run_to_dict(run), indent=1, allow_nan=False) + "\n"
    else:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(run_to_csv_rows(run))
        text = buf.getvalue()
    return write_output(output, text, force=force, option="--output")
