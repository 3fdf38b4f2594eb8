"""A large export is imported as a stream (store/json_stream.py): the same run, the same refusals
as reading it whole, whatever the chunk boundaries, in bounded memory."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from effbench.errors import DataError, EffbenchError
from effbench.store import json_stream
from effbench.store.db import Store
from effbench.store.export import run_to_dict
from fuzz_cases import BASE_V2, documents, mutated_documents, run_case, to_bytes


def _outcome(path, db, *, stream: bool, chunk: int = 1 << 20):
    """("ok", the stored run as a dict) or ("refused", the message) of importing ``path`` into ``db``."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(json_stream, "STREAM_MIN_BYTES", 0 if stream else 1 << 60)
        mp.setattr(json_stream, "_CHUNK", chunk)
        try:
            run_id, _ = json_stream.import_json(path, lambda: Store(db))
        except EffbenchError as exc:
            return "refused", str(exc)
    with Store(db, create=False) as store:
        return "ok", run_to_dict(store.load_run(run_id))


def _both(tmp_path, data: bytes, chunk: int, n: int = 0):
    path = tmp_path / f"doc{n}.json"
    path.write_bytes(data)
    whole = _outcome(path, tmp_path / f"whole{n}.sqlite", stream=False)
    streamed = _outcome(path, tmp_path / f"stream{n}.sqlite", stream=True, chunk=chunk)
    return whole, streamed


_counter = iter(range(10**9))


@settings(max_examples=150, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(mutated_documents(), st.sampled_from([1, 7, 64, 4096]))
def test_a_streamed_import_stores_and_refuses_what_a_whole_read_does(tmp_path, doc, chunk):
    whole, streamed = _both(tmp_path, to_bytes(doc), chunk, next(_counter))
    assert whole[0] == streamed[0], (whole, streamed)
    if whole[0] == "ok":
        assert whole[1] == streamed[1]  # the same run, record for record
    else:  # one line each, naming the file
        assert "\n" not in streamed[1] and "doc" in streamed[1]


def test_the_same_messages_for_a_bad_item_deep_in_the_file(tmp_path):
    doc = copy.deepcopy(BASE_V2)
    doc["metrics"] = doc["metrics"] + [dict(doc["metrics"][0], name=f"m{i}") for i in range(3000)]
    doc["metrics"][2500]["provenance"] = "guessed"
    whole, streamed = _both(tmp_path, to_bytes(doc), 4096)
    assert whole == streamed
    assert streamed[1].endswith('metrics[2500].provenance: expected one of "measured", "estimated", "analytic", "reported", got "guessed"')
    doc["metrics"][2500]["provenance"] = "measured"
    text = to_bytes(doc).decode().replace('"name": "m2999"', '"name": "m2999",,', 1)  # a syntax error on line 1, far in
    whole, streamed = _both(tmp_path, text.encode(), 4096, 1)
    assert whole == streamed and "is not valid JSON (line 1, column " in streamed[1]


def test_a_metric_given_twice_is_refused_and_nothing_is_stored(tmp_path):
    doc = copy.deepcopy(BASE_V2)
    doc["metrics"].append(dict(doc["metrics"][0]))
    path = tmp_path / "dup.json"
    path.write_bytes(to_bytes(doc))
    status, message = _outcome(path, tmp_path / "s.sqlite", stream=True, chunk=64)
    assert status == "refused" and "appears twice" in message
    with Store(tmp_path / "s.sqlite", create=False) as store:
        assert store.list_runs() == []  # all or nothing


def test_the_reader_holds_about_one_chunk_whatever_the_file_size(tmp_path, monkeypatch):
    doc = copy.deepcopy(BASE_V2)
    doc["metrics"] = [dict(doc["metrics"][0], name=f"metric_{i}") for i in range(20_000)]  # ~2.6 MB of JSON
    path = tmp_path / "big.json"
    path.write_bytes(to_bytes(doc))
    longest = []
    fill = json_stream._Reader._fill

    def watched(self, at_least=None):
        out = fill(self, at_least)
        longest.append(len(self.buf))
        return out

    monkeypatch.setattr(json_stream._Reader, "_fill", watched)
    status, run = _outcome(path, tmp_path / "s.sqlite", stream=True, chunk=16_384)
    assert status == "ok" and len(run["metrics"]) == 20_000
    assert path.stat().st_size > 100 * 16_384 and max(longest) <= 2 * 16_384 + 200  # never the whole file


def test_a_file_that_cannot_be_streamed_is_read_whole(tmp_path):
    doc = copy.deepcopy(BASE_V2)
    reordered = {"metrics": doc.pop("metrics"), **doc}  # the metrics before the run: no streaming, the same result
    whole, streamed = _both(tmp_path, json.dumps(reordered).encode(), 64)
    assert whole[0] == streamed[0] == "ok" and whole[1] == streamed[1]


@settings(max_examples=100, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(documents)
def test_any_streamed_input_is_imported_and_read_or_refused_in_one_line(tmp_path, monkeypatch, data):
    monkeypatch.setattr(json_stream, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(json_stream, "_CHUNK", 16)
    run_case(data, tmp_path, next(_counter))


def test_an_unreadable_header_is_one_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"format": "effbench-run", "schema_version": 2, "run": {"run_id": "x"')
    status, message = _outcome(path, tmp_path / "s.sqlite", stream=True, chunk=8)
    assert status == "refused" and "is not valid JSON" in message
    assert not (tmp_path / "s.sqlite").exists()  # refused before a database was made


def test_a_number_cut_by_a_chunk_boundary_is_read_whole(tmp_path):
    doc = copy.deepcopy(BASE_V2)
    doc["metrics"].insert(3, 123456789)  # a bare number where an object belongs: the message shows all of it
    whole, streamed = _both(tmp_path, to_bytes(doc), 1)
    assert whole == streamed and streamed[1].endswith("metrics[3]: expected an object, got 123456789")


@pytest.mark.parametrize("chunk", [1, 2, 3, 5])
def test_the_reader_reads_each_value_whole_across_chunk_boundaries(monkeypatch, chunk):
    import io

    monkeypatch.setattr(json_stream, "_CHUNK", chunk)
    reader = json_stream._Reader(io.BytesIO('123456789 -0.25e-3 "ab\\u00e9" [1, 22, 333] {"k": 4444} true null'.encode()), "x")
    assert [reader.value() for _ in range(7)] == [123456789, -0.25e-3, "abé", [1, 22, 333], {"k": 4444}, True, None]
    assert reader.peek() == ""


def test_a_streamed_import_on_each_backend(tmp_path, new_db, monkeypatch):
    monkeypatch.setattr(json_stream, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(json_stream, "_CHUNK", 64)
    path = tmp_path / "run.json"
    path.write_bytes(to_bytes(BASE_V2))
    db = new_db()
    run_id, _ = json_stream.import_json(path, lambda: Store(db))
    with Store(db, create=False) as store:
        stored = run_to_dict(store.load_run(run_id))
    assert _outcome(path, tmp_path / "whole.sqlite", stream=False) == ("ok", stored)
    doc = copy.deepcopy(BASE_V2)
    doc["run"]["run_id"] = "20260101-000000-dup1"
    doc["samples"].append(dict(doc["samples"][0]))
    path.write_bytes(to_bytes(doc))
    with pytest.raises(DataError, match="appears twice; nothing was imported|appears twice"):
        json_stream.import_json(path, lambda: Store(db))
    with Store(db, create=False) as store:
        assert [r["run_id"] for r in store.list_runs()] == [run_id]  # the refused run left nothing
