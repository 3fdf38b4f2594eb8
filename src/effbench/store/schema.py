"""The JSON Schema (draft 2020-12) of the run interchange format, version 2 and version 1.

:data:`RUN_SCHEMA_V2` is published as ``docs/json-schema.json`` (``python -m effbench.store.schema``
writes it; a test holds the two equal) and described in ``docs/json-schema.md``. Every import is
validated against it, then against the rules a schema cannot express (:mod:`effbench.store.export`).

The schema types every field that effbench's readers (show, export, report, the analyses) use,
the free-form objects included (``config.threads``, ``environment.energy``, ``meta.block_size``,
...); keys it does not name are allowed, so a file written by a later 2.x with extra keys loads.
"""

from __future__ import annotations

import json
import sys

from effbench.records import CANDIDATE_STATUSES, LATENCY_PER_CALL, PROVENANCES, RUN_STATUSES, TAIL_E2E_PER_BATCH, TAIL_INFERENCE_PER_BATCH
from effbench.validation import NAME_PATTERN

__all__ = ["RUN_SCHEMA_V2", "RUN_SCHEMA_V1", "MAX_BATCH_SIZE", "MAX_DOUBLE", "schema_json"]

MAX_BATCH_SIZE = 2**31 - 1
"""The largest batch size a run may hold (SQLite and numpy index with 32-bit and 64-bit integers)."""
MAX_DOUBLE = sys.float_info.max

_ID = "https://effbench.dev/schema/effbench-run-2.json"

_NUM = {"type": "number", "minimum": -MAX_DOUBLE, "maximum": MAX_DOUBLE}
_NUM_OR_NULL = {"type": ["number", "null"], "minimum": -MAX_DOUBLE, "maximum": MAX_DOUBLE}
_NONNEG = {"type": "number", "minimum": 0, "maximum": MAX_DOUBLE}
_COUNT = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
_COUNT_OR_NULL = {"type": ["integer", "null"], "minimum": 0, "maximum": 2**63 - 1}
_POSITIVE_INT = {"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE}
_STR_OR_NULL = {"type": ["string", "null"]}
_NAME = {"type": "string", "pattern": NAME_PATTERN, "maxLength": 200}
_LABELS = {"type": ["array", "null"], "items": {"type": ["integer", "number", "string", "boolean", "null"]}}


def _obj(properties: dict | None = None, required=(), **extra) -> dict:
    out = {"type": "object"}
    if properties:
        out["properties"] = properties
    if required:
        out["required"] = list(required)
    out.update(extra)
    return out


RUN_SCHEMA_V2: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": _ID,
    "title": "effbench run export, schema version 2",
    "description": "One run's records: setup, candidates, metrics (value, unit, provenance) and raw samples. "
                   "Written by 'effbench export --format json'; read by 'effbench import'. Keys not named here are allowed and kept.",
    "type": "object",
    "required": ["format", "schema_version", "run", "candidates", "metrics", "samples"],
    "properties": {
        "format": {"const": "effbench-run"},
        "schema_version": {"const": 2},
        "run": {"$ref": "#/$defs/run"},
        "candidates": {"type": "array", "items": {"$ref": "#/$defs/candidate"}},
        "metrics": {"type": "array", "items": {"$ref": "#/$defs/metric"}},
        "samples": {"type": "array", "items": {"$ref": "#/$defs/samples"}},
        "derived": {"description": "recomputed from metrics and samples by the writer; ignored on import"},
    },
    "$defs": {
        "run": _obj({
            "run_id": {**_NAME, "description": "letters, digits and _ . + - (new runs: UTC start time + 4 hex digits)"},
            "created_at": _STR_OR_NULL,
            "finished_at": _STR_OR_NULL,
            "status": {"enum": [*RUN_STATUSES, None]},
            "suite": _STR_OR_NULL,
            "effbench_version": _STR_OR_NULL,
            "config": {"$ref": "#/$defs/config"},
            "environment": {"$ref": "#/$defs/environment"},
            "task": {"$ref": "#/$defs/task"},
            "notes": {"type": ["array", "null"], "items": {"type": "string"}},
        }, required=["run_id"]),
        "config": {"type": ["object", "null"], "properties": {
            "threads": {**_POSITIVE_INT, "type": ["integer", "null"]},
            "batch_sizes": {"type": "array", "items": _POSITIVE_INT},
            "timing": {"type": ["object", "null"]},
        }},
        "environment": {"type": ["object", "null"], "properties": {
            "cpu": {"type": ["object", "null"], "properties": {"model": _STR_OR_NULL, "mhz": _NUM_OR_NULL, "governor": _STR_OR_NULL}},
            "cores_logical": _COUNT_OR_NULL,
            "threads_used": _COUNT_OR_NULL,
            "libraries": {"type": ["object", "null"], "additionalProperties": _STR_OR_NULL},
            "gpu": {"type": ["array", "null"], "items": {"type": ["object", "string"], "properties": {"name": _STR_OR_NULL}}},
            "os": {"type": ["object", "null"]},
            "python": {"type": ["object", "null"]},
            "energy": {"type": ["object", "null"], "properties": {
                "meter": _STR_OR_NULL, "provenance": {"enum": [*PROVENANCES, None]},
                "idle_power_w": {**_NONNEG, "type": ["number", "null"]}, "tdp_w": {**_NONNEG, "type": ["number", "null"]},
            }},
        }},
        "task": {"type": ["object", "null"], "properties": {
            "name": {"type": "string"},
            "n_train": _COUNT_OR_NULL,
            "n_test": _COUNT_OR_NULL,
            "n_classes": _COUNT_OR_NULL,
            "sample_shape": {"type": ["array", "null"], "items": _COUNT},
            "dtype": _STR_OR_NULL,
            "y_test": _LABELS,
        }},
        "candidate": _obj({
            "key": {"type": "string", "description": "MODEL/BACKEND"},
            "model": _NAME,
            "backend": _NAME,
            "family": _STR_OR_NULL,
            "parent": _STR_OR_NULL,
            "status": {"enum": list(CANDIDATE_STATUSES)},
            "error": _STR_OR_NULL,
            "info": {"type": ["object", "null"], "properties": {
                "nonzero_params": _NUM_OR_NULL,
                "worker": {"type": ["object", "null"], "properties": {
                    "thread_settings": {"type": ["object", "null"], "properties": {"threads": {"type": ["integer", "null"], "minimum": 1}}}}},
                "providers": {"type": ["array", "null"]},
            }},
            "predictions": _LABELS,
        }, required=["key", "model", "backend"]),
        "metric": _obj({
            "candidate": {"type": "string"},
            "batch_size": {"type": "integer", "minimum": 0, "maximum": MAX_BATCH_SIZE, "description": "0: not per batch size"},
            "name": {"type": "string", "minLength": 1},
            "value": _NUM_OR_NULL,
            "unit": {"type": "string"},
            "provenance": {"enum": list(PROVENANCES)},
            "detail": {"type": ["object", "null"], "properties": {
                "coverage": _NUM_OR_NULL, "reason": _STR_OR_NULL, "note": _STR_OR_NULL}},
        }, required=["candidate", "name", "unit", "provenance"]),
        "samples": _obj({
            "candidate": {"type": "string"},
            "batch_size": {**_POSITIVE_INT, "description": "the batch size of every timed call"},
            "kind": {"enum": [LATENCY_PER_CALL, TAIL_E2E_PER_BATCH, TAIL_INFERENCE_PER_BATCH]},
            "unit": {"type": "string"},
            "values": {"type": "array", "items": _NONNEG},
            "meta": {"type": ["object", "null"], "properties": {
                "block_size": {**_POSITIVE_INT, "type": ["integer", "null"]},
                "stop_reason": _STR_OR_NULL,
                "repeats": {"type": ["array", "null"], "items": {"type": "object"}},
            }},
        }, required=["candidate", "batch_size", "kind", "unit", "values"]),
    },
}
"""Export format version 2 (``effbench export --format json``)."""


RUN_SCHEMA_V1: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "effbench run export, pre-release version 1 (upgraded to 2 on import)",
    "type": "object",
    "required": ["effbench_json", "run"],
    "properties": {
        "effbench_json": {"const": 1},
        "run": {"type": "object"},
        "candidates": {"type": "array", "items": _obj({
            "name": {"type": "string"},
            "backend": {"type": "string"},
            "values": {"type": "object", "additionalProperties": _obj({"unit": {"type": "string"}, "provenance": {"type": ["string", "null"]}})},
            "latency": {"type": "object", "propertyNames": {"pattern": "^[0-9]{1,10}$"}, "additionalProperties": {"type": "array"}},
            "info": {"type": ["object", "null"]},
        }, required=["name", "backend"])},
    },
}
"""The pre-release layout; only what the upgrade reads is checked here, the upgraded document is
then checked against :data:`RUN_SCHEMA_V2`."""


def schema_json() -> str:
    """The text of ``docs/json-schema.json``."""
    return json.dumps(RUN_SCHEMA_V2, indent=2) + "\n"


if __name__ == "__main__":  # pragma: no cover - writes the published copy
    with open(sys.argv[1] if len(sys.argv) > 1 else "docs/json-schema.json", "w", encoding="utf-8") as fh:
        fh.write(schema_json())
