"""Imports are checked against the published JSON Schema and the API's rules; what a reader could
not use is refused with one line naming the JSON path."""

import copy
import json
from pathlib import Path

import pytest

from effbench.cli import main
from effbench.errors import DataError
from effbench.store.db import Store
from effbench.store.export import load_json, parse_json, run_from_dict
from effbench.store.schema import RUN_SCHEMA_V2, schema_json

from fuzz_cases import BASE_V1, BASE_V2

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _refused(mutate, base=BASE_V2) -> str:
    doc = copy.deepcopy(base)
    mutate(doc)
    with pytest.raises(DataError) as info:
        run_from_dict(parse_json(json.dumps(doc)), source="run.json")
    return str(info.value)


def _set(path, value):
    def mutate(doc):
        node = doc
        for p in path[:-1]:
            node = node[p]
        node[path[-1]] = value
    return mutate


@pytest.mark.parametrize("path, value, message", [
    (["samples", 0, "batch_size"], 0, "samples[0].batch_size: expected a whole number in [1, 2147483647], got 0"),
    (["metrics", 0, "batch_size"], 10**30, "metrics[0].batch_size: expected a whole number in [0, 2147483647], got 1000000000000000000000000000000"),
    (["metrics", 0, "batch_size"], -1, "metrics[0].batch_size: expected a whole number in [0, 2147483647], got -1"),
    (["metrics", 0, "detail"], [1], "metrics[0].detail: expected an object or null, got [1]"),
    (["run", "config"], [1], "run.config: expected an object or null, got [1]"),
    (["run", "config", "threads"], "many", 'run.config.threads: expected a whole number or null, got "many"'),
    (["run", "config", "threads"], 0, "run.config.threads: expected a whole number in [1, 2147483647], got 0"),
    (["candidates", 0, "info"], "x", 'candidates[0].info: expected an object or null, got "x"'),
    (["samples", 0, "meta"], [], "samples[0].meta: expected an object or null, got []"),
    (["metrics", 1, "value"], "0.75", 'metrics[1].value: expected a number or null, got "0.75"'),
    (["metrics", 1, "value"], True, "metrics[1].value: expected a number or null, got true"),
    (["metrics", 0, "provenance"], "guessed", 'metrics[0].provenance: expected one of "measured", "estimated", "analytic", "reported", got "guessed"'),
    (["metrics", 0, "candidate"], "ghost/torch", 'metrics[0].candidate: "ghost/torch" is not among the candidates (cnn/torch, logreg/sklearn)'),
    (["samples", 2, "candidate"], "ghost/torch", 'samples[2].candidate: "ghost/torch" is not among the candidates (cnn/torch, logreg/sklearn)'),
    (["samples", 0, "values", 1], -1, "samples[0].values[1]: expected a number >= 0 (a finite double), got -1"),
    (["samples", 0, "kind"], "vibes", "samples[0].kind: expected one of"),
    (["candidates", 0, "model"], "bad name", 'candidates[0].model: expected letters, digits and _ . + - only, got "bad name"'),
    (["candidates", 1, "backend"], "sk learn", 'candidates[1].backend: expected letters, digits and _ . + - only, got "sk learn"'),
    (["candidates", 0, "model"], "cnn\n", 'candidates[0].model: expected letters, digits and _ . + - only, got "cnn\\n"'),
    (["candidates", 0, "key"], "cnn/onnx", 'candidates[0].key: expected MODEL/BACKEND (cnn/torch), got "cnn/onnx"'),
    (["candidates", 0, "predictions"], [1], "candidates[0].predictions: expected one label per test example (4, as run.task.y_test), got 1"),
    (["run", "run_id"], "../x", 'run.run_id: expected letters, digits and _ . + - only, got "../x"'),
    (["run", "status"], "done", "run.status: expected one of"),
])
def test_each_bad_value_is_named_by_its_json_path(path, value, message):
    line = _refused(_set(path, value))
    assert line.startswith("run.json: ") and message in line and "\n" not in line, line


def test_duplicates_and_depth_are_refused():
    assert _refused(lambda d: d["metrics"].append(dict(d["metrics"][0]))).endswith(
        "metrics[7]: metric 'params' of 'cnn/torch' at batch size 0 appears twice")
    assert _refused(lambda d: d["candidates"].append(dict(d["candidates"][0]))).endswith(
        "candidates[2].key: candidate 'cnn/torch' appears twice")
    deep = [1]
    for _ in range(70):
        deep = [deep]
    assert _refused(_set(["run", "environment", "x"], deep)).endswith("run.environment: nested more than 64 levels deep")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["candidates"][0].pop("name"), 'candidates[0]: "name" is a required property'),
    (lambda d: d["candidates"][0]["values"].__setitem__("params", 3), "candidates[0].values.params: expected an object, got 3"),
    (lambda d: d["candidates"][0]["latency"].__setitem__("one", [1.0]), "candidates[0].latency"),
    (lambda d: d.pop("run"), '(the document): "run" is a required property'),
    (lambda d: d["run"].pop("run_id"), 'run: "run_id" is a required property'),
])
def test_version_1_files_with_missing_or_wrong_fields(mutate, message):
    line = _refused(mutate, BASE_V1)
    assert message in line and "\n" not in line, line


@pytest.mark.parametrize("text, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "is not a JSON text file: byte 0 is not UTF-8 (binary data?)"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"a": NaN}', "NaN is not JSON (write null for a missing value)"),
    (b'{"a": -Infinity}', "-Infinity is not JSON"),
    (b'["\\udc00"]', "half of a surrogate pair: not valid Unicode"),
    (b"[" + b"9" * 5000 + b"]", "a value cannot be read (Exceeds the limit (4300 digits)"),
    (b"{nope", "is not valid JSON (line 1, column 2"),
])
def test_unreadable_input_is_one_line(tmp_path, text, message):
    path = tmp_path / "in.json"
    path.write_bytes(text)
    with pytest.raises(DataError) as info:
        load_json(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_numbers_beyond_a_double_are_refused_where_typed_and_where_free(tmp_path):
    text = json.dumps(BASE_V2)
    typed = tmp_path / "typed.json"
    typed.write_text(text.replace('"value": 0.75', '"value": 1e400'))
    with pytest.raises(DataError, match=r"metrics\[1\]\.value: expected a number or null, got a number beyond the range of a double \(\|x\| > 1.798e\+308\)$"):
        load_json(typed)
    free = tmp_path / "free.json"
    free.write_text(text.replace('"seed": 0', '"seed": -1.5e999'))
    with pytest.raises(DataError, match=r"run.config: holds a number out of range \(numbers must be finite doubles"):
        load_json(free)
    huge = tmp_path / "huge.json"
    huge.write_text(text.replace('"mhz": 2000.0', '"mhz": ' + "9" * 400 + ".0"))
    with pytest.raises(DataError, match=r"run.environment.cpu.mhz: expected a number or null, got a number beyond the range of a double"):
        load_json(huge)


def test_only_regular_files_are_read(tmp_path):
    import os

    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match="it is not a regular file"):
        load_json(fifo)  # would wait for a writer forever
    with pytest.raises(DataError, match="No such file"):
        load_json(tmp_path / "absent.json")


def test_refused_import_stores_nothing(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    good = tmp_path / "good.json"
    good.write_text(json.dumps(BASE_V2))
    assert main(["import", str(good), "--db", str(db)]) == 0
    bad = copy.deepcopy(BASE_V2)
    bad["run"]["run_id"] = "other"
    bad["samples"][0]["batch_size"] = 0
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    capsys.readouterr()
    assert main(["import", str(path), "--db", str(db)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"effbench: error: {path}: samples[0].batch_size: expected a whole number in [1, 2147483647], got 0"]
    with Store(db, create=False) as store:
        assert [r["run_id"] for r in store.list_runs()] == [BASE_V2["run"]["run_id"]]


def test_run_from_dict_leaves_its_argument_alone_and_load_json_reads_the_same(tmp_path):
    doc = copy.deepcopy(BASE_V2)
    run = run_from_dict(doc)
    assert doc == BASE_V2  # only load_json, which owns its document, drops it item by item
    path = tmp_path / "run.json"
    path.write_text(json.dumps(BASE_V2))
    loaded = load_json(path)
    assert (loaded.metrics, loaded.candidates) == (run.metrics, run.candidates)
    assert [s.values.tolist() for s in loaded.samples] == [s["values"] for s in BASE_V2["samples"]]


def test_unknown_keys_are_allowed_and_derived_is_ignored():
    doc = copy.deepcopy(BASE_V2)
    doc["run"]["config"]["from_the_future"] = {"x": 1}
    doc["candidates"][0]["new_field"] = 1
    doc["derived"] = {"cost_table": "anything"}
    run = run_from_dict(parse_json(json.dumps(doc)))
    assert run.config["from_the_future"] == {"x": 1}
    assert run.candidate("cnn/torch").model == "cnn"


def test_what_effbench_exports_passes_the_schema(tmp_path):
    from effbench.report.export import export_document

    run = run_from_dict(copy.deepcopy(BASE_V2))
    doc = json.loads(json.dumps(export_document(run)))
    back = run_from_dict(doc)
    assert (len(back.candidates), len(back.metrics), len(back.samples)) == (2, 7, 3)
    assert back.value("cnn/torch", "params") == 1000


def test_the_published_schema_is_the_one_imports_use():
    assert (DOCS / "json-schema.json").read_text() == schema_json()
    assert RUN_SCHEMA_V2["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    import jsonschema_rs

    jsonschema_rs.meta.validate(RUN_SCHEMA_V2)  # a valid draft 2020-12 schema
