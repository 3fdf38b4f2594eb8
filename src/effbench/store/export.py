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

import contextlib
import functools
import gc
import json
import math
import os
import re
import stat
from pathlib import Path

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.records import LATENCY_PER_CALL, CandidateRecord, Metric, RunRecord, SampleSet
from effbench.store.files import json_default, json_ready
from effbench.store.schema import MAX_DOUBLE, RUN_SCHEMA_V1, RUN_SCHEMA_V2
from effbench.validation import NAME_PATTERN, is_whole, validate_name

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

MAX_DEPTH = 64
"""How deeply the free-form objects (config, environment, task, info, detail, meta) may nest."""


def run_from_dict(doc, *, source: str = "<json>", _consume: bool = False) -> RunRecord:
    """The run in an interchange document, after checking it against the published JSON Schema
    (:mod:`effbench.store.schema`) and the rules a schema cannot express. Anything that a reader
    (show, export, report) could not use is refused with one :class:`DataError` line naming the
    JSON path of the bad value and what is allowed."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT and "effbench_json" not in doc:
        raise DataError(f"{source}: not an effbench run export (expected \"format\": \"{FORMAT}\")")
    version = doc.get("schema_version", doc.get("effbench_json"))
    if not is_whole(version) or version < 1:
        raise DataError(f"{source}: schema_version must be a positive integer; got {_shown(version)}")
    if version > JSON_SCHEMA_VERSION:
        raise DataError(f"{source}: schema_version {version} is newer than this effbench reads ({JSON_SCHEMA_VERSION}); upgrade effbench")
    while version < JSON_SCHEMA_VERSION:
        _validate(doc, version, source)
        doc = UPGRADES[version](doc)
        version = doc["schema_version"]
    _validate(doc, JSON_SCHEMA_VERSION, source)
    with _gc_paused():
        return _records(doc, source, consume=_consume)


def _records(doc: dict, source: str, consume: bool = False) -> RunRecord:
    """The records of a document that passed the schema, after the checks it cannot express.
    With ``consume``, each metric and sample set of ``doc`` is dropped (set to None) as soon as it
    is a record, so the document and the records are not both whole in memory."""
    def fail(path, message):
        raise DataError(f"{source}: {path}: {message}")

    r = doc["run"]
    _name(r["run_id"], "run.run_id", "run id", fail)
    for field in ("config", "environment", "task"):
        _shallow(r.get(field), f"run.{field}", fail)
    run = RunRecord(**{k: r.get(k) for k in ("run_id", "created_at", "status", "suite", "finished_at", "effbench_version")},
                    config=r.get("config") or {}, environment=r.get("environment") or {}, task=r.get("task") or {}, notes=r.get("notes") or [])
    y_test = run.task.get("y_test")
    keys: set[str] = set()
    for i, c in enumerate(doc["candidates"]):
        where = f"candidates[{i}]"
        _name(c["model"], f"{where}.model", "model name", fail)
        _name(c["backend"], f"{where}.backend", "backend name", fail)
        if c["key"] != f"{c['model']}/{c['backend']}":
            fail(f"{where}.key", f"expected MODEL/BACKEND ({c['model']}/{c['backend']!s}), got {_shown(c['key'])}")
        if c["key"] in keys:
            fail(f"{where}.key", f"candidate {c['key']!r} appears twice")
        keys.add(c["key"])
        _shallow(c.get("info"), f"{where}.info", fail)
        predictions = c.get("predictions")
        if predictions is not None and y_test is not None and len(predictions) != len(y_test):
            fail(f"{where}.predictions", f"expected one label per test example ({len(y_test)}, as run.task.y_test), got {len(predictions)}")
        run.candidates.append(CandidateRecord(
            key=c["key"], model=c["model"], backend=c["backend"], family=c.get("family") or "", parent=c.get("parent"),
            status=c.get("status", "pending"), error=c.get("error"), info=c.get("info") or {}, predictions=predictions))
    seen: set[tuple] = set()
    metrics = run.metrics
    items = doc["metrics"]
    for i in range(len(items)):
        m = items[i]
        if consume:
            items[i] = None
        key = (m["candidate"], m.get("batch_size", 0), m["name"])
        if key[0] not in keys:
            fail(f"metrics[{i}].candidate", f"{_shown(key[0])} is not among the candidates ({_listed(keys)})")
        if key in seen:
            fail(f"metrics[{i}]", f"metric {key[2]!r} of {key[0]!r} at batch size {key[1]} appears twice")
        seen.add(key)
        detail = m.get("detail")
        if detail:
            _shallow(detail, f"metrics[{i}].detail", fail)
        metrics.append(Metric(candidate=key[0], name=key[2], value=m.get("value"), unit=m["unit"], provenance=m["provenance"],
                              batch_size=int(key[1]), detail=detail or {}))
    seen = set()
    items = doc["samples"]
    for i in range(len(items)):
        smp = items[i]
        if consume:
            items[i] = None
        key = (smp["candidate"], smp["batch_size"], smp["kind"])
        if key[0] not in keys:
            fail(f"samples[{i}].candidate", f"{_shown(key[0])} is not among the candidates ({_listed(keys)})")
        if key in seen:
            fail(f"samples[{i}]", f"{key[2]} samples of {key[0]!r} at batch size {key[1]} appear twice")
        seen.add(key)
        _shallow(smp.get("meta"), f"samples[{i}].meta", fail)
        run.samples.append(SampleSet(candidate=key[0], batch_size=int(key[1]), kind=key[2], unit=smp["unit"],
                                     values=np.asarray(smp["values"], dtype=float), meta=smp.get("meta") or {}))
    return run


@functools.lru_cache(maxsize=None)
def _validator(version: int):
    import jsonschema_rs

    return jsonschema_rs.validator_for({1: RUN_SCHEMA_V1, 2: RUN_SCHEMA_V2}[version])


def _validate(doc: dict, version: int, source: str) -> None:
    """Check ``doc`` against the JSON Schema of its version; the first violation as one DataError line."""
    error = next(iter(_validator(version).iter_errors(doc)), None)
    if error is None:
        return
    schema = {1: RUN_SCHEMA_V1, 2: RUN_SCHEMA_V2}[version]
    path = list(error.instance_path)
    where = _json_path(path)
    what = _expected(schema, list(error.schema_path))
    if what is None:
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    else:
        message = f"expected {what}, got {_shown(_at(doc, path))}"
    old = f" (schema version {version})" if version < JSON_SCHEMA_VERSION else ""
    raise DataError(f"{source}{old}: {where}: {message}")


@functools.lru_cache(maxsize=None)
def _item_validator(kind: str):
    """A validator of one item of ``metrics`` or ``samples`` (version 2), shaped as the document's
    schema at ``properties.<kind>`` so that error paths read the same."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(_item_schema(kind))


def _item_schema(kind: str) -> dict:
    return {"$schema": RUN_SCHEMA_V2.get("$schema"), "$defs": RUN_SCHEMA_V2["$defs"], "type": "object",
            "properties": {kind: RUN_SCHEMA_V2["properties"][kind]}}


def _validate_item(item, kind: str, index: int, source: str) -> None:
    """Check item ``index`` of array ``kind`` as :func:`_validate` checks it in a whole document."""
    error = next(iter(_item_validator(kind).iter_errors({kind: [item]})), None)
    if error is None:
        return
    path = list(error.instance_path)
    path[1] = index
    what = _expected(_item_schema(kind), list(error.schema_path))
    if what is None:
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
    else:
        message = f"expected {what}, got {_shown(_at({kind: [item]}, [kind, 0, *path[2:]]))}"
    raise DataError(f"{source}: {_json_path(path)}: {message}")


def _expected(schema: dict, schema_path: list) -> str | None:
    """What the schema allows at the failed keyword, in words (None: use the validator's message)."""
    try:
        node = schema
        for part in schema_path[:-1]:
            node = node[part]
        keyword = schema_path[-1]
        rule = node[keyword]
    except (KeyError, IndexError, TypeError):
        return None
    if keyword == "type":
        types = [rule] if isinstance(rule, str) else rule
        words = {"integer": "a whole number", "number": "a number", "string": "a string", "object": "an object",
                 "array": "an array", "boolean": "true or false", "null": "null"}
        return " or ".join(words.get(t, t) for t in types)
    if keyword in ("minimum", "maximum"):
        lo, hi = node.get("minimum"), node.get("maximum")
        noun = "a whole number" if "integer" in (node.get("type") or ()) else "a number"
        if hi == MAX_DOUBLE:
            return f"{noun} >= {lo:g} (a finite double)" if lo not in (None, -MAX_DOUBLE) else f"a finite {noun[2:]} (a double, |x| <= {MAX_DOUBLE:.4g})"
        return f"{noun} in [{lo}, {hi}]" if lo is not None and hi is not None else f"{noun} {'>=' if lo is not None else '<='} {lo if lo is not None else hi}"
    if keyword in ("enum", "const"):
        values = rule if keyword == "enum" else [rule]
        return "one of " + ", ".join(json.dumps(v) for v in values)
    if keyword == "pattern":
        return "letters, digits and _ . + - only" if rule == NAME_PATTERN else f"a string matching {rule}"
    if keyword == "maxLength":
        return f"a string of at most {rule} characters"
    if keyword == "minLength":
        return f"a string of at least {rule} character(s)"
    return None


def _json_path(path: list) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(the document)"


def _at(doc, path: list):
    for p in path:
        doc = doc[str(p)] if isinstance(doc, dict) and p not in doc else doc[p]
    return doc


def _shown(value) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"a number beyond the range of a double (|x| > {MAX_DOUBLE:.4g})"
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _listed(keys) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:5]) + (f", ... ({len(keys)} in all)" if len(keys) > 5 else "") if keys else "none"


def _name(value: str, path: str, what: str, fail) -> None:
    try:
        validate_name(value, what)
    except ConfigError:
        fail(path, f"expected letters, digits and _ . + - only, got {_shown(value)}")


def _shallow(value, path: str, fail) -> None:
    """Refuse free-form values nested deeper than :data:`MAX_DEPTH` (readers print and copy them),
    or holding a number beyond a double (``1e400`` parses as infinity)."""
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, (dict, list)):
            if depth > MAX_DEPTH:
                fail(path, f"nested more than {MAX_DEPTH} levels deep")
            stack.extend((x, depth + 1) for x in (v.values() if isinstance(v, dict) else v))
        elif isinstance(v, float) and not math.isfinite(v):
            fail(path, f"holds a number out of range (numbers must be finite doubles, |x| <= {MAX_DOUBLE:.4g})")


class _BadNumber(ValueError):
    pass


def _no_constant(name: str):
    raise _BadNumber(f"{name} is not JSON (write null for a missing value)")


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{source} is not a JSON text file: byte {exc.start} is not UTF-8 (binary data?)") from None


def parse_json(data: bytes | str, *, source: str = "<json>"):
    """Strict JSON: UTF-8 text, finite numbers only (no NaN, Infinity or 1e400), valid Unicode,
    nested at most as deep as Python's parser allows; else one :class:`DataError` line."""
    if isinstance(data, bytes):
        data = _decode(data, source)
    try:
        # no parse_float hook (a Python call per number): a float beyond a double (1e400) parses as
        # infinity, which the schema refuses where numbers are typed and _shallow everywhere else
        with _gc_paused():
            doc = json.loads(data, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DataError(f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except _BadNumber as exc:
        raise DataError(f"{source}: {exc}") from None
    except RecursionError:
        raise DataError(f"{source}: the JSON is nested too deeply to read (effbench exports nest a few levels)") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts (sys.get_int_max_str_digits)
        raise DataError(f"{source}: a value cannot be read ({' '.join(str(exc).split())[:120]})") from None
    if _SURROGATE.search(data):
        check_unicode(doc, source)
    return doc


def check_unicode(doc, source: str) -> None:
    """Refuse a parsed value that holds half of a surrogate pair (``"\\ud800"`` alone: not Unicode)."""
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(f"{source}: a string holds {exc.object[exc.start:exc.end]!r}, half of a surrogate pair: not valid Unicode") from None
    except RecursionError:
        raise DataError(f"{source}: the JSON is nested too deeply to read") from None


_SURROGATE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@contextlib.contextmanager
def _gc_paused():
    """Millions of new dicts and records would run the cyclic collector again and again (it finds
    nothing to free in them): about 40% of the time of a large import."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_json(path) -> RunRecord:
    """Read, check and convert an exported run (any schema version); one DataError line when it cannot be used."""
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would wait for a writer, /dev/zero never end
            raise DataError(f"cannot read {str(path)!r}: it is not a regular file (a device, FIFO or folder); give an exported JSON file")
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    # memory: the bytes, the text and the parsed document are each let go as soon as the next
    # form exists, and the document's metrics and samples one by one as they become records
    text = _decode(data, str(path))
    del data
    doc = parse_json(text, source=str(path))
    del text
    return run_from_dict(doc, source=str(path), _consume=True)
