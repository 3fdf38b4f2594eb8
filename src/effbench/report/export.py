"""What ``effbench export`` writes: the run's records with its derived tables (JSON), or a long CSV.

The records' interchange format is :mod:`effbench.store.export`; this module adds what is
derived from them (the cost table and the per-batch-size table of :mod:`effbench.analysis.costs`)
and renders the CSV.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from effbench.analysis.costs import batch_rows, cost_table, long_rows
from effbench.errors import ConfigError
from effbench.records import RunRecord
from effbench.store.export import run_to_dict
from effbench.store.files import json_default, json_ready, write_output


def export_document(run: RunRecord, *, derived: bool = True) -> dict:
    """The JSON document of ``effbench export``: the records and, with ``derived``, the cost tables."""
    doc = run_to_dict(run)
    if derived:
        derived_doc = {
            "note": "recomputed from 'metrics' and 'samples' by this effbench version; ignored when loading",
            "cost_table": [{k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in row.items()} for row in cost_table(run)],
            "batch_table": batch_rows(run),
        }
        doc["derived"] = json_ready(json.loads(json.dumps(derived_doc, default=json_default)))
    return doc


CSV_COLUMNS = ("run_id", "candidate", "model", "backend", "batch_size", "metric", "value", "unit", "provenance", "weights")


def run_to_csv_rows(run: RunRecord) -> list[dict]:
    """Long format (:func:`effbench.analysis.costs.long_rows`), with '' for a missing value or batch size."""
    return [{**r, "batch_size": r["batch_size"] or "", "value": "" if r["value"] is None else r["value"]} for r in long_rows(run)]


def write_wide_csv(header: list[str], rows: list[dict], output, *, force: bool = False) -> Path | None:
    """The wide table of :meth:`effbench.analysis.multirun.RunStudy.wide_rows` as CSV ('-' for stdout);
    numbers as Python writes them (``repr``: read back exactly), '' where not recorded."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return write_output(output, buf.getvalue(), force=force, option="--output")


def write_export(run: RunRecord, fmt: str, output, *, force: bool = False) -> Path | None:
    """Write JSON or CSV to ``output`` ('-' for stdout). Refuses to overwrite a file unless ``force``."""
    if fmt not in ("json", "csv"):
        raise ConfigError(f"--format must be json or csv; got {fmt!r}")
    if fmt == "json":
        text = json.dumps(export_document(run), indent=1, allow_nan=False) + "\n"
    else:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(run_to_csv_rows(run))
        text = buf.getvalue()
    return write_output(output, text, force=force, option="--output")
