"""`effbench show` groups stability warnings: one line per kind with its count of cells; --batches
names the cells (the warnings themselves are analysis.stats.stability_warnings' real sentences)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from effbench.analysis.compare_runs import RunStability
from effbench.analysis.stats import stability_warnings, summarize
from effbench.report.run_summary import _stability_lines


def _summary(cells, run_warnings=()):
    return SimpleNamespace(stability=RunStability(list(run_warnings), cells), run=SimpleNamespace(run_id="r1"))


def test_twelve_cells_of_warnings_become_one_line_per_kind():
    rng = np.random.default_rng(0)
    noisy = stability_warnings(summarize(rng.lognormal(0, 0.5, 500)))     # IQR far above 10% of the median
    few = stability_warnings(summarize(np.full(20, 1.0) + rng.normal(0, 1e-4, 20)))  # too few for a p99 interval
    assert any(w.startswith("Noisy") for w in noisy) and any(w.startswith("Only 20 samples") for w in few)
    cells = {(f"m{i}/torch", b): (noisy if i % 2 else few) for i in range(6) for b in (1, 8)}
    cells[("quiet/torch", 1)] = []
    lines = _stability_lines(_summary(cells, ["the machine was busy"]), batches=False)
    assert lines[0] == "warning: the machine was busy"
    kinds = [line for line in lines[1:] if line.startswith("warning:")]
    assert len(kinds) == len({w.split(":")[0][:12] for w in noisy + few})  # one line per kind, not 12 x kinds
    noisy_line = next(line for line in kinds if "noisy" in line)
    assert noisy_line == "warning: noisy (interquartile range above 10% of the median) in 6 of 13 cells"
    assert lines[-1] == "note: 'effbench show r1 --batches' names the cells"

    detailed = _stability_lines(_summary(cells), batches=True)
    noisy_detail = next(line for line in detailed if "noisy" in line)
    assert noisy_detail.count(" b1 (") + noisy_detail.count(" b8 (") == 6       # every cell, with its IQR share
    assert "m1/torch b1 (" in noisy_detail and "m0/torch" not in noisy_detail
    few_detail = next(line for line in detailed if "too few samples" in line)
    assert "m0/torch b8 (20)" in few_detail and few_detail.startswith("warning: too few samples for a p99 interval")
    assert not any(line.startswith("note:") for line in detailed)


def test_no_cell_warning_prints_only_the_run_warnings():
    assert _stability_lines(_summary({("a/torch", 1): []}), batches=False) == []


def test_every_kind_the_stability_report_writes_is_one_line():
    # the sentences of analysis.compare_runs.stability_report, with figures that differ per cell
    kinds = {
        "Sampling stopped at max_time_s in its time window before min_samples = 10 samples were taken (4 in all; ...": "4",
        "Sampling stopped at max_time_s in 2 of its 3 time windows with the median known only to +-7.5% ...": "7.5%",
        "The medians of its 3 time windows differ by 12% (more than ...": "12%",
        "Timed in blocks of 8 calls (one call is shorter than min_block_s = 20 us): ...": "8",
    }
    cells = {(f"m{i}/torch", 1): [text.replace("12%", f"{10 + i}%")] for i, text in enumerate(kinds) for _ in range(1)}
    cells.update({(f"n{i}/torch", 8): [text] for i, text in enumerate(kinds)})
    lines = _stability_lines(_summary(cells), batches=False)
    assert len([line for line in lines if line.startswith("warning:")]) == 4  # one per kind, not one per figure
    detailed = _stability_lines(_summary(cells), batches=True)
    drift = next(line for line in detailed if "time windows disagree" in line)
    assert "m2/torch b1 (12%)" in drift and "n2/torch b8 (12%)" in drift and " in 2 of 8 cells" in drift
