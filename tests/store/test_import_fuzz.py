"""Fuzzing `effbench import` (seeded, so CI is repeatable): every input is imported cleanly or
refused with one line, and every accepted run can be shown, exported and reported.

The 10,000-case count is benchmarks/fuzz_import.py; its figures are in docs/reliability.md."""

import copy
import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from fuzz_cases import BASE_V1, BASE_V2, documents, mutated_documents, run_case, to_bytes

_counter = itertools.count()


def _fuzz(n):
    return settings(max_examples=n, derandomize=True, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_base_documents_import_and_read(tmp_path):
    assert run_case(to_bytes(BASE_V2), tmp_path, 0, html=True) == "success"
    assert run_case(to_bytes(BASE_V1), tmp_path, 1) == "success"


def test_null_quality_values_are_read(tmp_path):
    """Found by benchmarks/fuzz_import.py: `show` formatted a null accuracy as a number."""
    doc = copy.deepcopy(BASE_V2)
    for m in doc["metrics"]:
        if m["name"] == "accuracy":
            m["value"] = None
    assert run_case(to_bytes(doc), tmp_path, 0) == "success"
    v1 = copy.deepcopy(BASE_V1)
    v1["candidates"][0]["values"]["accuracy"] = {"unit": "ratio"}
    assert run_case(to_bytes(v1), tmp_path, 1) == "success"


@_fuzz(300)
@given(mutated_documents())
def test_mutated_exports_are_imported_and_read_or_refused_in_one_line(doc):
    with tempfile.TemporaryDirectory() as tmp:
        run_case(to_bytes(doc), Path(tmp), next(_counter))


@_fuzz(200)
@given(documents)
def test_any_input_is_imported_or_refused_in_one_line(data):
    with tempfile.TemporaryDirectory() as tmp:
        run_case(data, Path(tmp), next(_counter))
