"""Issue 17, terminal: at 80 and 120 columns (and on a pipe) no number, unit or estimate mark is cut.

``show``, ``compare``, ``pareto``, ``recommend`` and ``batching`` run through the CLI on two stored
runs this file builds, with the width forced through ``$COLUMNS``, as plain text (a pipe) and as a
Rich table (standard output made to look like a terminal). Every value the wide layout prints must
appear whole in the narrow one, and no ``…`` anywhere.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from effbench.cli import main
from effbench.store.db import CandidateRecord, Metric, RunRecord, SampleSet, Store

#: a number with what may follow it: an SI or binary prefix and unit, /s, %, the estimate and flag marks
VALUE = re.compile(r"(?<![\w.])[-+]?\d[\d.,]*(?:e[-+]\d+)?(?: ?(?:[kMGTmµnp]?(?:s|J|B|g)|KiB|MiB|GiB|TiB|FLOP)"
                   r"|[kMGT]?/s|[kMGT]|%)?[~!]*(?![\w.])")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
KEYS = ["cnn_wide.prune50s/torch", "cnn_wide/torch", "random_forest/sklearn", "logreg/sklearn",
        "mobilenet_v3_small.int8/onnxruntime"]


def _run(run_id: str, scale: float) -> RunRecord:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 10, 300)
    run = RunRecord(run_id, "2026-01-01T00:00:00+00:00", "complete", suite="hand",
                    config={"threads": 1, "batch_sizes": [1, 8]},
                    environment={"cpu": {"model": "Test CPU"}, "cores_logical": 2,
                                 "energy": {"provenance": "estimated", "meter": "tdp", "tdp_w": 65}},
                    task={"name": "digits", "n_test": 300, "y_test": y.tolist(), "sample_shape": [64]})
    for n, key in enumerate(KEYS):
        p = y.copy()
        p[n: n + 3 + 9 * n] = (p[n: n + 3 + 9 * n] + 1) % 10
        model, backend = key.split("/")
        run.candidates.append(CandidateRecord(key, model, backend, "neural-network" if backend != "sklearn" else "linear",
                                              status="ok", predictions=p.tolist()))
        acc = float(np.mean(p == y))
        params = 650 * 7.3 ** n
        run.metrics += [
            Metric(key, "accuracy", acc, "ratio", "measured"), Metric(key, "f1_macro", acc - 0.0123, "ratio", "measured"),
            Metric(key, "params", round(params), "count", "analytic"),
            Metric(key, "flops_per_sample", 2.1 * params, "FLOP", "estimated" if n == 2 else "analytic"),
            Metric(key, "size_bytes", 4.1 * params, "bytes", "measured"),
            Metric(key, "peak_rss_bytes", 1.5e8 + 1e7 * n, "bytes", "measured", batch_size=1),
            Metric(key, "peak_memory_bytes", 8192.0 * (n + 1), "bytes", "measured", batch_size=8),
            Metric(key, "train_time_s", 1.25 * (n + 1), "s", "measured"),
        ]
        for b in (1, 8):
            med = 1.43e-5 * (n + 1) * b ** 0.6 * scale
            run.samples.append(SampleSet(key, b, "latency_per_call", "s", med * rng.lognormal(0, 0.05, 300),
                                         {"stop_reason": "precision"}))
            run.metrics += [Metric(key, "energy_per_sample_j", 4.4e-4 * (n + 1) / b, "J", "estimated", batch_size=b),
                            Metric(key, "energy_per_batch_j", 4.4e-4 * (n + 1), "J", "estimated", batch_size=b)]
    return run


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.sqlite"
    with Store(path) as store:
        store.import_run(_run("20260101-000000-aaaa", 1.0))
        store.import_run(_run("20260102-000000-bbbb", 1.4))
    return str(path)


COMMANDS = {
    "show": ["show", "20260102-000000-bbbb"],
    "show --batches": ["show", "20260102-000000-bbbb", "--batches"],
    "compare": ["compare", "20260101-000000-aaaa", "20260102-000000-bbbb"],
    "pareto": ["pareto", "20260102-000000-bbbb", *(f"--objective={o}" for o in (
        "accuracy:max", "latency_p50_s_b1:min", "latency_p99_s_b1:min", "size_bytes:min", "params:min",
        "flops_per_sample:min", "energy_per_sample_j_b1:min", "best_throughput_samples_per_s:max")), "--dea"],
    "recommend": ["recommend", "20260102-000000-bbbb", "--prefer", "latency,size"],
    "batching": ["batching", "20260102-000000-bbbb", "--arrival-rate", "200", "--max-latency", "0.01",
                 "--requests", "2000", "--policies", "fixed", "--candidates", "cnn_wide/torch"],
}


def _out(args, db, capsys, monkeypatch, width, tty):
    if width is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", str(width))
    capsys.readouterr()
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty)
    code = main([*args, "--db", db])
    monkeypatch.undo()
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return ANSI.sub("", captured.out)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_value_is_cut_at_80_and_120_columns(command, db, capsys, monkeypatch):
    args = COMMANDS[command]
    full = _out(args, db, capsys, monkeypatch, None, False)  # a pipe: every column side by side
    values = set(VALUE.findall(full))
    assert len(values) >= 5, values
    if command != "compare" and command != "recommend":  # the run's energy is estimated: marked in every table
        assert any(v.endswith("J~") for v in values), values
    for width in (80, 120):
        for tty in (False, True):
            text = _out(args, db, capsys, monkeypatch, width, tty)
            assert "…" not in text, (width, tty, text)
            missing = values - set(VALUE.findall(text))
            assert not missing, (width, tty, sorted(missing), text)
            if tty:  # Rich tables are laid out for the width (sentences around them wrap in the terminal)
                drawn = [line for line in text.splitlines() if line[:1] and "\u2500" <= line[0] <= "\u257f"]
                assert max((len(line) for line in drawn), default=0) <= width, (width, text)


def test_show_splits_the_cost_table_and_keeps_every_cell(db, capsys, monkeypatch):
    from effbench.analysis.costs import run_summary
    from effbench.report.text import cost_rows_as_text, flops_flags, quality_columns

    with Store(db) as store:
        run = store.load_run("20260102-000000-bbbb")
    cells = {c for row in cost_rows_as_text(run_summary(run).costs, quality_columns(run), flops_flags(run)) for c in row if c}
    assert {"14.3 µs", "4.99 KiB"} & cells or cells  # the formatter's output, not hand-written figures
    assert any(c.endswith("~") for c in cells)  # estimates are in the table, and must keep their mark
    for width in (80, 120):
        text = _out(COMMANDS["show"], db, capsys, monkeypatch, width, False)
        for cell in cells:
            assert re.search(rf"(?<!\S){re.escape(cell)}(?!\S)", text), (width, cell)
        assert "(continued, 2 of" in text  # 14 columns do not fit side by side: sections, keyed by candidate
        for key in KEYS:
            assert text.count(key) >= 2


def test_the_sentences_under_the_tables_wrap_to_the_width(db, capsys, monkeypatch):
    full = _out(COMMANDS["recommend"], db, capsys, monkeypatch, None, False)  # a pipe: as they are
    assert max(len(line) for line in full.splitlines()) > 80
    for width in (80, 120):
        text = _out(COMMANDS["recommend"], db, capsys, monkeypatch, width, False)
        assert max(len(line) for line in text.splitlines()) <= width, text
        assert text.split() == full.split()  # the same words, in the same order: none cut, none lost
    piped = _out(COMMANDS["batching"], db, capsys, monkeypatch, None, False).splitlines()
    sentence = next(line for line in piped if line.startswith("cnn_wide/torch: at "))
    assert len(sentence) > 80
    lines = _out(COMMANDS["batching"], db, capsys, monkeypatch, 80, False).splitlines()
    wrapped = lines[next(i for i, line in enumerate(lines) if line.startswith("cnn_wide/torch: at ")):]
    assert all(len(line) <= 80 for line in wrapped) and all(line.startswith("  ") for line in wrapped[1:])
    assert " ".join(wrapped).split() == sentence.split()


def test_wrap_lines_keeps_words_whole_and_tables_as_they_are():
    from effbench.report.text import wrap_lines

    assert wrap_lines(["a b c d e f"], width=5) == ["a b c", "  d e", "  f"]
    assert wrap_lines(["  - x yy zz"], width=6) == ["  - x", "    yy", "    zz"]  # two past its own indent
    assert wrap_lines(["see /a/very/long/path/that/stays/whole now"], width=10) == [
        "see", "  /a/very/long/path/that/stays/whole", "  now"]
    table = "a table\nwith lines wider than the width"
    assert wrap_lines([table, "short"], width=10) == [table, "short"]
    assert wrap_lines(["a b c d e f"], width=None) == ["a b c d e f"]
