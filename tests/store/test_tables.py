"""Loading and joining external CSV tables."""

from __future__ import annotations

import pytest

from effbench.errors import ConfigError, DataError
from effbench.store.tables import load_tables, parse_number


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture
def files(tmp_path):
    acc = _write(
        tmp_path,
        "acc.csv",
        "model,top1,param_count\n"
        'a,80.5,"1,014.45"\n'
        "b,70.0,5\n"
        "c,,3\n"  # missing value
        "d,60.0,2\n"
        "d,61.0,2\n"  # duplicate key
        "e,50.0,1\n",  # not in the other file
    )
    speed = _write(
        tmp_path,
        "speed.csv",
        "\ufeffmodel,img_per_s,param_count\n"
        'a,"12,345.5",9\n'
        "b,100,9\n"
        "c,200,9\n"
        "d,300,9\n"
        "x,1,1\n",
    )
    return acc, speed


def test_join_drops_and_reports(files):
    acc, speed = files
    keys, matrix, report = load_tables([acc, speed], "model", ["top1", "img_per_s", "param_count"])
    assert keys == ["a", "b"]
    assert matrix.tolist() == [[80.5, 12345.5, 1014.45], [70.0, 100.0, 5.0]]
    reasons = {(d.key, d.reason.split(" (")[0].split(" in ")[0]) for d in report.dropped}
    assert ("c", "missing value") in reasons
    assert ("d", "duplicate key") in reasons
    assert ("e", "no matching key") in reasons
    assert ("x", "no matching key") in reasons
    assert report.rows_kept == 2
    assert report.column_sources["param_count"] == acc
    assert any("param_count" in n for n in report.notes)


def test_duplicates_keep_first(files):
    acc, speed = files
    keys, matrix, report = load_tables([acc, speed], "model", ["top1"], duplicates="first")
    assert keys == ["a", "b", "d"]
    assert matrix[2, 0] == 60.0
    assert any(d.key == "d" and "kept the first" in d.reason for d in report.dropped)


def test_single_file_and_key_pattern(tmp_path):
    f1 = _write(tmp_path, "r.csv", "model,top1\nresnet50.a1_in1k,80\nvit.b,70\n_odd,60\n")
    f2 = _write(tmp_path, "b.csv", "model,speed\nresnet50,10\nvit,20\n")
    keys, matrix, report = load_tables([f1, f2], "model", ["top1", "speed"], key_pattern=r"^([a-z0-9]+)")
    assert keys == ["resnet50", "vit"]
    assert matrix.tolist() == [[80.0, 10.0], [70.0, 20.0]]
    assert any(d.key == "_odd" and "pattern" in d.reason for d in report.dropped)
    with pytest.raises(ConfigError, match="regular expression"):
        load_tables([f1], "model", ["top1"], key_pattern="(")


def test_join_matching_nothing(tmp_path):
    f1 = _write(tmp_path, "r.csv", "model,top1\nresnet50.a1_in1k,80\n")
    f2 = _write(tmp_path, "b.csv", "model,speed\nresnet50,10\n")
    with pytest.raises(DataError, match="matched no row") as err:
        load_tables([f1, f2], "model", ["top1", "speed"])
    assert "\n" not in str(err.value)


def test_unknown_column_lists_available(files):
    with pytest.raises(ConfigError, match=r"unknown column 'top5'; available: img_per_s, param_count, top1"):
        load_tables(list(files), "model", ["top5"])


def test_non_numeric_value_names_file_key_column(tmp_path):
    f = _write(tmp_path, "t.csv", "id,v\nm1,1\nm2,fast\n")
    with pytest.raises(DataError, match=r"t.csv: row 'm2', column 'v': 'fast' is not a number"):
        load_tables([f], "id", ["v"])


def test_missing_key_column_and_files(tmp_path, files):
    f = _write(tmp_path, "t.csv", "name,v\nm1,1\n")
    with pytest.raises(DataError, match="no key column 'model'"):
        load_tables([files[0], f], "model", ["top1"])
    with pytest.raises(DataError, match="no such file"):
        load_tables([str(tmp_path / "nope.csv")], "model", ["top1"])
    with pytest.raises(DataError, match="empty file"):
        load_tables([_write(tmp_path, "e.csv", "")], "model", ["top1"])
    with pytest.raises(ConfigError, match="at least one CSV"):
        load_tables([], "model", ["top1"])
    with pytest.raises(ConfigError, match="duplicates"):
        load_tables([f], "name", ["v"], duplicates="last")


def test_everything_dropped(tmp_path):
    f = _write(tmp_path, "t.csv", "id,v\nm1,\nm2,NA\n")
    with pytest.raises(DataError, match="no row left"):
        load_tables([f], "id", ["v"])


@pytest.mark.parametrize(
    "text,value",
    [("1,014.45", 1014.45), (" 12 ", 12.0), ("-1,000", -1000.0), ("1e3", 1000.0), ("", None), ("N/A", None),
     ("nan", None), ("-", None)],
)
def test_parse_number(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["1,5", "12,34.5", "abc", "1.2.3"])
def test_parse_number_rejects(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_infinity_is_not_a_number_any_analysis_can_rank():
    from effbench.store.tables import parse_number

    for text in ("inf", "-Infinity", "1e400"):
        with pytest.raises(ValueError):
            parse_number(text)
    assert parse_number("nan") is None and parse_number("1e308") == 1e308


def test_a_long_export_given_for_a_table_says_how_to_write_a_wide_one(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("candidate,batch_size,metric,value,unit,provenance\na/torch,0,accuracy,0.9,ratio,measured\n")
    with pytest.raises(ConfigError, match=r"unknown column 'accuracy'; available: .*; this is a long export .*--format csv --wide"):
        load_tables([str(path)], "candidate", ["accuracy"])
