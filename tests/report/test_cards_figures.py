"""Cost cards read cost_table rows; figure data use run_table names; tail rounds; figure folder checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from report_runs import LATEX_KEY, SCRIPT_KEY, make_run

from effbench.analysis.costs import cost_table
from effbench.errors import ConfigError
from effbench.report.cards import cost_cards, format_value
from effbench.report.figures import COSTS, check_figures_dir, quality_vs_cost, tail_curves, write_figures
from effbench.store.db import Metric


def _cards(run):
    return {c.candidate: c for c in cost_cards(run)}


def test_cards_say_what_the_cost_table_says():
    run = make_run()
    rows = {r["candidate"]: r for r in cost_table(run)}
    for key, card in _cards(run).items():
        row = rows[key]
        for entry_key, row_key in (("energy_per_sample_j_b1", "energy_per_sample_j_b1"),
                                   ("energy_per_sample_j_best", "best_energy_per_sample_j"), ("train_energy_j", "train_energy_j")):
            v = row[row_key]
            assert card.entry(entry_key).value == (None if v is None else v.value)
        bb = row["best_throughput_batch_size"]
        if bb is not None:
            assert card.entry("latency_p50_s_best").label.endswith(f"({bb})")


def test_best_energy_is_not_given_when_measured_and_estimated_mix():
    run = make_run()
    for i, m in enumerate(run.metrics):  # alpha's batch-8 energy becomes an estimate
        if m.candidate == "alpha/sklearn" and m.name == "energy_per_sample_j" and m.batch_size == 8:
            run.metrics[i] = Metric(m.candidate, m.name, m.value, m.unit, "estimated", batch_size=8)
    e = _cards(run)["alpha/sklearn"].entry("energy_per_sample_j_best")
    assert e.missing and "measured and estimated values are never compared" in e.note
    assert _cards(run)[LATEX_KEY].entry("energy_per_sample_j_best").value == pytest.approx(2e-4)


def test_carbon_and_sparsity_entries():
    cards = _cards(make_run())
    c = cards["alpha/sklearn"].entry("carbon_per_sample_g_b1")
    assert c.label == "carbon per sample at batch 1 (estimated)" and c.provenance == "estimated"
    assert c.value == pytest.approx(2e-3 / 3.6e6 * 475.0) and c.text.endswith("gCO2e") and "475 gCO2e/kWh" in c.note
    assert cards["gamma/torch"].entry("carbon_per_sample_g_b1").missing
    s = cards[SCRIPT_KEY]
    assert s.entry("nonzero_params").value == 5000 and s.entry("nonzero_params").provenance == "analytic"
    assert s.entry("sparsity").text == "75.0%"
    assert cards["alpha/sklearn"].entry("nonzero_params") is None  # not a pruned variant
    assert format_value(2.6e-7, "gCO2e") == "260 ngCO2e" and format_value(0.5, "g") == "500 mg"


def test_quality_vs_cost_uses_run_table_names_and_drops_failed():
    panels = {p.cost: p for p in quality_vs_cost(make_run())}
    assert set(panels) == {c for c, _, _, _ in COSTS}
    assert {"peak_rss_bytes_b1", "latency_p50_s_b1", "best_throughput_samples_per_s", "energy_per_sample_j_b1"} <= set(panels)
    e = panels["energy_per_sample_j_b1"]
    assert {p.candidate: p.provenance for p in e.points}[LATEX_KEY] == "estimated"
    assert all("delta/torch" not in p.missing for p in panels.values())  # failed: left out, not "missing"
    assert "gamma/torch" in panels["latency_p50_s_b1"].missing


def test_tail_rounds_as_the_tail_mode_stores_them():
    run = make_run()
    tail = dict(run.candidates[0].info["tail"])
    tail.pop("rounds")
    tail.update(rounds_used=12, rounds_measured=20)
    run.candidates[0].info["tail"] = tail
    t = tail_curves(run)["alpha/sklearn"]
    assert (t["rounds_used"], t["rounds_measured"]) == (12, 20)
    bare = tail_curves(make_run())["alpha/sklearn"]  # TailAnalysis.to_dict(): "rounds" only
    assert bare["rounds_used"] == bare["rounds_measured"] == 20
    pytest.importorskip("plotly")
    from effbench.analysis.run_report import run_report
    from effbench.report.html import render_html

    assert "<td>12 / 20</td>" in render_html(run_report(run))
    assert t["quality_label"] == "accuracy"


def test_tail_of_a_regression_names_its_quality():
    pytest.importorskip("plotly")
    from effbench.analysis.run_report import run_report
    from effbench.report.html import render_html

    run = make_run()
    run.candidates[0].info["tail"] = {**run.candidates[0].info["tail"],
                                      "quality": {"task": "regression", "tolerance": 0.5, "label": "within ±0.5 on time"}}
    assert tail_curves(run)["alpha/sklearn"]["quality_label"] == "share within ±0.5"
    html = render_html(run_report(run))
    assert "unconstrained share within ±0.5 (mean)" in html
    assert '"share within \\u00b10.5 under the deadline [ratio] (measured)"' in html  # the plot's axis (JSON)


def test_check_figures_dir_refuses_before_rendering(tmp_path, monkeypatch):
    d = tmp_path / "figs"
    assert check_figures_dir(d, False) == d and not d.exists()  # creates nothing
    d.mkdir()
    (d / "tail_quality.svg").write_text("old")
    with pytest.raises(ConfigError, match="tail_quality.svg' already exists"):
        check_figures_dir(d, False)
    run = make_run(tail=False)
    check_figures_dir(d, False, run=run)  # this run writes no tail figure
    with pytest.raises(ConfigError, match="already exists"):
        check_figures_dir(d, False, run=make_run())
    check_figures_dir(d, True, run=make_run())
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file; give a directory"):
        check_figures_dir(tmp_path / "file", True)
    with pytest.raises(ConfigError, match="png, svg or pdf"):
        check_figures_dir(d, True, formats=("gif",))

    import effbench.report.figures as figures

    def no_rendering(*a, **k):
        raise AssertionError("rendered before the check")

    monkeypatch.setattr(figures, "quality_vs_cost", no_rendering)
    with pytest.raises(ConfigError, match="already exists"):
        write_figures(make_run(), d)


def test_write_errors_are_config_errors(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot create the folder"):
        write_figures(make_run(), tmp_path / "file" / "sub")
    pytest.importorskip("matplotlib")
    import matplotlib.figure

    def full_disk(self, path, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full_disk)
    with pytest.raises(ConfigError, match=r"cannot write '.*quality_vs_cost.png': No space left on device"):
        write_figures(make_run(), tmp_path / "figs")
    assert not list(Path(tmp_path / "figs").iterdir())


def test_cost_cards_handle_no_energy():
    cards = _cards(make_run(energy=False))
    a = cards["alpha/sklearn"]
    assert a.entry("energy_per_sample_j_b1").missing and a.entry("energy_per_sample_j_best").missing
    assert a.entry("carbon_per_sample_g_b1").missing and a.entry("train_energy_j").missing
    assert np.isfinite(a.entry("latency_p50_s_best").value)
