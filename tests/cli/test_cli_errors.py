"""Bad input: one line naming what was wrong and what is allowed, exit code 2, nothing stored lost."""

import subprocess
import sys

import pytest

from effbench.cli import main


def _one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("effbench: error: ")
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["run", "--candidates", "resnet"], "--candidates: unknown candidate 'resnet'; allowed: logreg, random_forest"),
        (["run", "--backends", "tpu"], "--backends: unknown backend 'tpu'; allowed: sklearn, torch, onnxruntime"),
        (["run", "--batch-sizes", "0"], "batch size 0 is not allowed: use positive integers or 'all'"),
        (["run", "--batch-sizes", "8,x"], "batch size 'x' is not allowed"),
        (["run", "--batch-sizes", "-3"], "batch size -3 is not allowed"),
        (["run", "--threads", "0"], "--threads must be a positive integer"),
        (["run", "--candidates", "hist_gb", "--backends", "torch"], "the selection matches no candidate"),
        (["run", "--frobnicate"], "No such option '--frobnicate'"),
        (["export", "x", "--format", "xml"], "'xml' is not one of 'json', 'csv'"),
        (["nosuchcommand"], "No such command 'nosuchcommand'"),
    ],
)
def test_bad_arguments(args, expected, capsys):
    assert main(args) == 2
    assert expected in _one_error_line(capsys)


def test_reading_commands_on_a_missing_database(tmp_path, capsys):
    db = tmp_path / "none.sqlite"
    assert main(["show", "--db", str(db)]) == 2
    assert "does not exist" in _one_error_line(capsys)
    assert not db.exists()


def test_unknown_run_id(tmp_path, capsys):
    from effbench.store.db import Store

    db = tmp_path / "r.sqlite"
    Store(db).close()
    assert main(["show", "abc", "--db", str(db)]) == 2
    assert "unknown run id 'abc'" in _one_error_line(capsys)
    assert main(["export", "abc", "--db", str(db)]) == 2
    assert "unknown run id 'abc'" in _one_error_line(capsys)


def test_foreign_database_is_refused_and_left_alone(tmp_path, capsys):
    foreign = tmp_path / "thesis.txt"
    foreign.write_bytes(b"my thesis, not a database\n")
    for args in (["show"], ["run", "--quick"], ["export", "latest"]):
        assert main(args + ["--db", str(foreign)]) == 2
        assert "is not an effbench database" in _one_error_line(capsys)
    assert foreign.read_bytes() == b"my thesis, not a database\n"


def test_show_on_empty_store_and_list(tmp_path, capsys):
    from effbench.store.db import Store

    db = tmp_path / "r.sqlite"
    Store(db).close()
    assert main(["show", "--db", str(db)]) == 0
    assert "no runs yet" in capsys.readouterr().out


def test_help_answers_without_heavy_imports():
    code = (
        "import sys\n"
        "from effbench.cli import main\n"
        "rc = main(['--help'])\n"
        "heavy = [m for m in ('torch', 'onnxruntime', 'sklearn', 'scipy', 'onnx') if m in sys.modules]\n"
        "print(rc, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 []"
    assert "Commands:" in out and "run" in out


def test_the_cli_default_of_repeats_is_the_executors():
    from effbench.cli.run_cmd import run
    from effbench.executor import DEFAULT_REPEATS

    [opt] = [p for p in run.params if p.name == "repeats"]
    assert opt.default == DEFAULT_REPEATS
