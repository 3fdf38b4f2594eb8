"""Figures for papers: coinciding points told apart, one unit per time axis, plain batch-size ticks.

Checked on the figure objects themselves: plotly's figure JSON (as the HTML report embeds it) and
matplotlib's axes (as ``--figures`` draws them).
"""

from __future__ import annotations

import html
import json

import numpy as np
import pytest
from report_runs import LATEX_KEY, SCRIPT_KEY, make_run

from effbench.analysis.quality_cost import Point
from effbench.report.cards import format_value
from effbench.report.figures import spread_coinciding, time_unit


def test_time_unit_one_fixed_unit_per_axis():
    assert time_unit([8e-6, 3e-3]) == ("\u00b5s", pytest.approx(1e6))   # geometric mean 155 us
    assert time_unit([0.002, 0.5]) == ("ms", pytest.approx(1e3))         # 32 ms
    assert time_unit([2.67e-7, 2.4e-4]) == ("\u00b5s", pytest.approx(1e6))  # 8 us: not 267 to 240000 ns
    assert time_unit([1.5, 30.0]) == ("s", 1.0)
    assert time_unit([4e-10]) == ("ns", pytest.approx(1e9))
    assert time_unit([None, float("nan"), 0.0]) == ("s", 1.0)


def test_spread_coinciding_is_deterministic_and_leaves_lone_points():
    pts = [Point("a", 0.97, 2e4, "analytic", True), Point("b", 0.5, 1e3, "analytic", False),
           Point("c", 0.97, 2e4, "analytic", True), Point("d", 0.9705, 2.01e4, "analytic", False)]
    xs = spread_coinciding(pts)
    assert xs[1] == 1e3                                    # alone: unchanged
    group = [xs[0], xs[2], xs[3]]
    assert len(set(group)) == 3 and group == sorted(group)   # spread in the order given
    assert np.prod(group) == pytest.approx(2e4 ** 3)         # symmetric around the first member (log axis)
    assert spread_coinciding(pts) == xs


# ------------------------------------------------------------------------------------- plotly


@pytest.fixture(scope="module")
def plotly_figs():
    pytest.importorskip("plotly")
    from effbench.analysis.run_report import run_report
    from effbench.report import html as report_html
    from effbench.report.figures import candidate_colors

    run = make_run()
    report = run_report(run)
    figs = report_html._Figures()
    colors = candidate_colors(run)
    out = {"quality": [], "latency": [], "batching": []}
    for name, build in (("quality", lambda: report_html._quality_vs_cost(report, figs, colors)),
                        ("latency", lambda: report_html._latency(run, figs, colors)),
                        ("batching", lambda: report_html._batching(run, figs, colors))):
        start = len(figs.items)
        build()
        out[name] = [json.loads(j) for _, j in figs.items[start:]]
    return out


def _panel(figs, word):
    return next(f for f in figs["quality"] if word in f["layout"]["xaxis"]["title"]["text"])


def test_coinciding_points_get_distinct_markers_and_positions(plotly_figs):
    # the torch and the ONNX Runtime candidates have the same parameters (20000) and accuracy (0.97)
    fig = _panel(plotly_figs, "parameters")
    pts = {t["name"]: t for t in fig["data"] if t["mode"] == "markers"}
    torch_pt, ort_pt = pts[html.escape(SCRIPT_KEY, quote=False)], pts[html.escape(LATEX_KEY, quote=False)]
    assert torch_pt["y"] == ort_pt["y"] == [0.97]
    assert torch_pt["marker"]["symbol"] == "circle" and ort_pt["marker"]["symbol"] == "square"
    assert torch_pt["x"] != ort_pt["x"]
    assert torch_pt["x"][0] * ort_pt["x"][0] == pytest.approx(20000.0 ** 2)   # spread around the true value
    assert f"parameters: {format_value(20000, 'count')} " in torch_pt["hovertext"][0]   # the hover keeps the true value


def test_time_axes_have_one_fixed_unit(plotly_figs):
    lat = plotly_figs["latency"][0]
    ax = lat["layout"]["xaxis"]
    assert "[\u00b5s]" in ax["title"]["text"]
    assert ax["tickformat"] == "~g" and ax["exponentformat"] == "none" and ax["type"] == "log"
    run = make_run()
    from effbench.analysis.costs import LATENCY_KIND

    raw = run.samples_for(batch_size=1, kind=LATENCY_KIND)[0].values
    assert min(lat["data"][0]["x"]) == pytest.approx(min(raw) * 1e6)
    panel = _panel(plotly_figs, "p50 latency")
    assert "[\u00b5s]" in panel["layout"]["xaxis"]["title"]["text"] and panel["layout"]["xaxis"]["tickformat"] == "~g"
    per_sample = plotly_figs["batching"][0]["layout"]["yaxis"]
    assert per_sample["exponentformat"] == "none" and "[" in per_sample["title"]["text"]


def test_batch_axes_in_plain_numbers(plotly_figs):
    for fig in plotly_figs["batching"]:
        ax = fig["layout"]["xaxis"]
        assert ax["tickvals"] == [1, 8] and ax["ticktext"] == ["1", "8"]


# --------------------------------------------------------------------------------- matplotlib


def test_static_figures_axes():
    pytest.importorskip("matplotlib")
    from effbench.report import figures as F

    plt = F._pyplot()
    run = make_run()
    colors = F.candidate_colors(run)
    markers = {k: m[1] for k, m in F.candidate_markers(run).items()}
    try:
        fig = F._batch_figure(plt, F.batch_curves(run), colors)
        for ax in fig.axes:
            assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "8"]
        assert "[\u00b5s]" in fig.axes[0].get_ylabel()
        assert fig.axes[0].yaxis.get_major_formatter()(100.0, 0) == "100"   # not 10^2
        lat = F._latency_figure(plt, F.latency_distributions(run), colors)
        assert "[\u00b5s]" in lat.axes[0].get_xlabel()
        qc = F._quality_vs_cost_figure(plt, F.quality_vs_cost(run), run.candidates, colors, markers)
        params_ax = next(a for a in qc.axes if a.get_xlabel().startswith("parameters"))
        offsets = [c.get_offsets()[0] for c in params_ax.collections if c.get_offsets().shape[0] == 1]
        at_097 = [tuple(o) for o in offsets if o[1] == pytest.approx(0.97)]
        assert len(at_097) == 2 and at_097[0] != at_097[1]   # the two coinciding points are apart
        paths = {c.get_label(): c.get_paths()[0].vertices.shape for c in params_ax.collections}
        assert len({paths[SCRIPT_KEY.replace("$", r"\$")], paths[LATEX_KEY.replace("$", r"\$")]}) == 2  # circle vs square
    finally:
        plt.close("all")
