import json
import sqlite3

import numpy as np
import pytest

from effbench.errors import DataError, StoreError, UnknownRunError
from effbench.store.db import SCHEMA_VERSION, CandidateRecord, Metric, SampleSet, Store, default_db_path
from effbench.report.export import run_to_csv_rows, write_export
from effbench.store.export import JSON_SCHEMA_VERSION, load_json, run_from_dict


def _fill(store, status="complete"):
    run_id = store.create_run(suite="test", config={"batch_sizes": [1, 4]}, environment={"cpu": {"model": "x"}},
                              task={"name": "t", "y_test": [0, 1, 1]}, effbench_version="0")
    store.add_candidate(run_id, CandidateRecord("m/torch", "m", "torch", "nn", None, "pending", info={"a": 1}))
    store.add_metrics(run_id, [Metric("m/torch", "params", 10, "count", "analytic"),
                               Metric("m/torch", "accuracy", 2 / 3, "ratio", "measured", detail={"n_examples": 3}),
                               Metric("m/torch", "peak_memory_bytes", 4096, "bytes", "measured", batch_size=4)])
    store.add_samples(run_id, SampleSet("m/torch", 1, "latency_per_call", "s", np.array([1e-3, 2e-3, 1.5e-3]), {"stop_reason": "max_time"}))
    store.add_samples(run_id, SampleSet("m/torch", 4, "latency_per_call", "s", np.array([4e-3, 5e-3]), {}))
    store.update_candidate(run_id, "m/torch", status="ok", predictions=[0, 1, 0])
    if status:
        store.finish_run(run_id, status)
    return run_id


def test_round_trip_keeps_raw_samples_units_and_provenance(new_db):
    db = new_db()
    with Store(db) as store:
        run_id = _fill(store)
    with Store(db, create=False) as store:
        run = store.load_run(run_id)
        assert store.schema_version == SCHEMA_VERSION
    assert run.status == "complete" and run.task["y_test"] == [0, 1, 1]
    assert run.candidate("m/torch").predictions == [0, 1, 0]
    m = run.metric("m/torch", "accuracy")
    assert (m.unit, m.provenance, m.detail) == ("ratio", "measured", {"n_examples": 3})
    assert run.metric("m/torch", "peak_memory_bytes", 4).value == 4096
    s = {x.batch_size: x for x in run.samples}
    np.testing.assert_array_equal(s[1].values, [1e-3, 2e-3, 1.5e-3])
    assert s[1].meta == {"stop_reason": "max_time"}


def test_interrupted_run_keeps_every_measurement(new_db):
    path = new_db()
    store = Store(path)
    run_id = _fill(store, status=None)  # the process dies before finish_run: nothing closes the store
    del store
    with Store(path) as fresh:
        run = fresh.load_run(run_id)
    assert run.status == "running"
    assert len(run.metrics) == 3 and len(run.samples) == 2


def test_provenance_is_checked(new_db):
    db = new_db()
    with Store(db) as store:
        run_id = _fill(store)
        with pytest.raises(StoreError, match="provenance must be one of measured, estimated, analytic, reported"):
            store.add_metrics(run_id, [Metric("m/torch", "x", 1, "s", "guessed")])
        store.add_metrics(run_id, [Metric("m/torch", "train_time_s", 3.0, "s", "reported")])
        assert store.load_run(run_id).metric("m/torch", "train_time_s").provenance == "reported"


def _as_schema_v1(path):
    """Turn a file into the version-1 layout: the metrics table's CHECK without 'reported'."""
    con = sqlite3.connect(path)
    sql = con.execute("SELECT sql FROM sqlite_master WHERE name='metrics'").fetchone()[0]
    assert "'reported'" in sql
    with con:
        con.execute("ALTER TABLE metrics RENAME TO m_old")
        con.execute(sql.replace(", 'reported'", ""))
        con.execute("INSERT INTO metrics SELECT * FROM m_old")
        con.execute("DROP TABLE m_old")
        con.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    con.close()


def test_a_version_1_file_is_read_as_is_and_upgraded_by_a_writer(tmp_path):
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        run_id = _fill(store)
    _as_schema_v1(path)
    with Store(path, create=False) as reader:   # a reader never migrates
        assert reader.schema_version == 1
        before = reader.load_run(run_id)
    with Store(path) as writer:
        assert writer.schema_version == SCHEMA_VERSION == 2
        writer.add_metrics(run_id, [Metric("m/torch", "train_time_s", 3.0, "s", "reported")])
        after = writer.load_run(run_id)
    assert [(m.name, m.value, m.provenance, m.detail) for m in after.metrics[:-1]] == \
        [(m.name, m.value, m.provenance, m.detail) for m in before.metrics]
    assert after.metric("m/torch", "train_time_s").provenance == "reported"


def test_foreign_and_newer_files_are_refused_and_untouched(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(StoreError, match="not an effbench database"):
        Store(text)
    assert text.read_text() == "hello\n"

    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not an effbench database"):
        Store(other)
    assert other.read_bytes() == before

    newer = tmp_path / "newer.sqlite"
    Store(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="schema version 99, newer"):
        Store(newer)


def test_run_ids_prefix_latest_and_unknown(new_db):
    db = new_db()
    with Store(db) as store:
        with pytest.raises(UnknownRunError, match="holds no run yet"):
            store.resolve_run_id("latest")
        a = _fill(store)
        assert store.resolve_run_id("latest") == a
        assert store.resolve_run_id(a[:-2]) == a
        with pytest.raises(UnknownRunError, match="unknown run id 'nope'"):
            store.load_run("nope")
        assert [r["run_id"] for r in store.list_runs()] == [a]


def test_missing_database_is_not_created_for_reading(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "absent.sqlite", create=False)
    assert not (tmp_path / "absent.sqlite").exists()


def test_default_location_is_overridable(monkeypatch, tmp_path):
    monkeypatch.setenv("EFFBENCH_DB", str(tmp_path / "x.sqlite"))
    assert default_db_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("EFFBENCH_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "effbench" / "effbench.sqlite"
    monkeypatch.setenv("EFFBENCH_DB", "postgresql://me@db.example:5433/runs")
    assert default_db_path() == "postgresql://me@db.example:5433/runs"  # a URL is kept as it is, not made a path


def test_json_round_trip_and_import(new_db, tmp_path):
    a = new_db()
    b = new_db()
    with Store(a) as store:
        run = store.load_run(_fill(store))
    out = write_export(run, "json", tmp_path / "run.json")
    doc = json.loads(out.read_text())
    assert doc["format"] == "effbench-run" and doc["schema_version"] == JSON_SCHEMA_VERSION
    assert doc["derived"]["cost_table"][0]["accuracy"]["provenance"] == "measured"
    back = load_json(out)
    assert back.run_id == run.run_id and len(back.samples) == 2
    np.testing.assert_array_equal(back.samples[0].values, run.samples[0].values)
    with Store(b) as other:
        other.import_run(back)
        assert other.load_run(run.run_id).metric("m/torch", "params").value == 10
        with pytest.raises(StoreError, match="already in"):
            other.import_run(back)
    with pytest.raises(Exception, match="already exists"):
        write_export(run, "json", out)
    write_export(run, "json", out, force=True)


def test_json_from_the_older_schema_version_still_loads():
    v1 = {
        "effbench_json": 1,
        "run": {"run_id": "old-1", "created_at": "2026-01-01T00:00:00+00:00", "status": "complete", "suite": "digits"},
        "candidates": [{"name": "logreg", "backend": "sklearn", "family": "linear",
                        "values": {"params": {"value": 650, "unit": "count"}, "accuracy": {"value": 0.97, "unit": "ratio"}},
                        "latency": {"1": [1e-4, 2e-4]}}],
    }
    run = run_from_dict(v1)
    assert run.candidates[0].key == "logreg/sklearn"
    assert run.metric("logreg/sklearn", "params").provenance == "analytic"
    assert run.metric("logreg/sklearn", "accuracy").provenance == "measured"
    assert run.samples[0].batch_size == 1 and list(run.samples[0].values) == [1e-4, 2e-4]


def test_json_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(DataError, match="not valid JSON"):
        load_json(bad)
    with pytest.raises(DataError, match="not an effbench run export"):
        run_from_dict({"hello": 1})
    with pytest.raises(DataError, match="newer than this effbench"):
        run_from_dict({"format": "effbench-run", "schema_version": 99})


def test_csv_rows_carry_unit_and_provenance(new_db, tmp_path):
    a = new_db()
    with Store(a) as store:
        run_id = _fill(store)
        store.add_metrics(run_id, [Metric("m/torch", "energy_per_sample_j", 2e-4, "J", "estimated", batch_size=1)])
        run = store.load_run(run_id)
    rows = run_to_csv_rows(run)
    params = next(r for r in rows if r["metric"] == "params")
    assert (params["unit"], params["provenance"]) == ("count", "analytic")
    energy = [r for r in rows if r["metric"].startswith("energy")]
    assert [(r["metric"], r["unit"], r["provenance"]) for r in energy] == [("energy_per_sample_j", "J", "estimated")]
    p50 = next(r for r in rows if r["metric"] == "latency_p50_s" and r["batch_size"] == 1)
    assert p50["value"] == pytest.approx(1.5e-3) and p50["unit"] == "s"
    path = write_export(run, "csv", tmp_path / "run.csv")
    assert path.read_text().splitlines()[0] == "run_id,candidate,model,backend,batch_size,metric,value,unit,provenance,weights"


def test_import_is_all_or_nothing(new_db):
    a = new_db()
    b = new_db()
    with Store(a) as store:
        run = store.load_run(_fill(store))
    run.metrics.append(Metric("m/torch", "x", 1.0, "s", "guessed"))
    with Store(b) as other:
        with pytest.raises(StoreError, match="provenance must be one of"):
            other.import_run(run)
        assert other.list_runs() == []  # nothing half-imported
        run.metrics.pop()
        other.import_run(run)
        assert len(other.load_run(run.run_id).metrics) == 3


def test_string_labels_are_kept_as_they_are(new_db):
    a = new_db()
    with Store(a) as store:
        run_id = _fill(store)
        store.update_candidate(run_id, "m/torch", predictions=np.array(["cat", "dog", "cat"]))
        assert store.load_run(run_id).candidate("m/torch").predictions == ["cat", "dog", "cat"]


def test_latest_can_ask_for_a_run_that_has_what_the_command_needs(new_db):
    db = new_db()
    import numpy as np

    from effbench.errors import UnknownRunError
    from effbench.records import LATENCY_PER_CALL, TAIL_E2E_PER_BATCH, CandidateRecord, SampleSet
    from effbench.store.db import Store

    with Store(db) as store:
        with pytest.raises(UnknownRunError, match="holds no run with latency_per_call samples yet"):
            store.resolve_run_id("latest", needs=LATENCY_PER_CALL)
        for run_id, kind in (("costs", LATENCY_PER_CALL), ("tail", TAIL_E2E_PER_BATCH)):
            store.create_run(suite="s", config={}, environment={}, task={}, effbench_version="t", run_id=run_id)
            store.add_candidate(run_id, CandidateRecord("m/torch", "m", "torch"))
            store.add_samples(run_id, SampleSet("m/torch", 1, kind, "s", np.array([0.1, 0.2])))
        assert store.resolve_run_id("latest") == "tail"  # show latest: the newest run of any kind
        assert store.resolve_run_id("latest", needs=LATENCY_PER_CALL) == "costs"  # recommend, pareto, report, ...
        assert store.load_run("latest", needs=LATENCY_PER_CALL).run_id == "costs"
        assert store.resolve_run_id("tail", needs=LATENCY_PER_CALL) == "tail"  # an explicit id is taken as given


def test_rows_keep_the_order_they_were_written_and_a_rewritten_row_moves_last(new_db):
    """SQLite reads by rowid, PostgreSQL by its seq column: the same order on both, and NaN is NULL on both."""
    with Store(new_db()) as store:
        run_id = store.create_run(suite="s", config={}, environment={}, task={}, effbench_version="0")
        for key in ("b/torch", "a/torch", "c/torch"):
            store.add_candidate(run_id, CandidateRecord(key, key[0], "torch"))
        store.add_metrics(run_id, [Metric("a/torch", name, 1.0, "s", "measured") for name in ("z", "y", "x")])
        store.add_candidate(run_id, CandidateRecord("b/torch", "b", "torch", status="ok"))  # measured again (a resumed run)
        store.add_metrics(run_id, [Metric("a/torch", "z", float("nan"), "s", "measured")])
        run = store.load_run(run_id)
    assert [(c.key, c.status) for c in run.candidates] == [("a/torch", "pending"), ("c/torch", "pending"), ("b/torch", "ok")]
    assert [(m.name, m.value) for m in run.metrics] == [("y", 1.0), ("x", 1.0), ("z", None)]


def test_a_run_id_another_writer_took_is_drawn_again(new_db, monkeypatch):
    import effbench.store.db as db_module

    draws = iter(["20260101-000000-aaaa", "20260101-000000-aaaa", "20260101-000000-bbbb"])
    monkeypatch.setattr(db_module, "new_run_id", lambda: next(draws))
    with Store(new_db()) as store:
        new = dict(suite="s", config={}, environment={}, task={}, effbench_version="0")
        assert store.create_run(**new) == "20260101-000000-aaaa"
        assert store.create_run(**new) == "20260101-000000-bbbb"  # the same second, the same 4 hex digits: drawn again
        with pytest.raises(StoreError, match="run id '20260101-000000-aaaa' is already in .*; give another"):
            store.create_run(**new, run_id="20260101-000000-aaaa")
        assert [r["run_id"] for r in store.list_runs()] == ["20260101-000000-aaaa", "20260101-000000-bbbb"]
