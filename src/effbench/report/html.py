"""The HTML report of a stored run: one self-contained file with interactive plots.

Everything is inlined: the styles, plotly.js (the plotting library, MIT licence) and the data of
every figure. plotly.js is inlined once per page, whatever the number of figures: its minified
bundle (4.8 MB) gzip-compressed and base64-encoded (about 1.96 MB) in a data block that the
browser decompresses with its own ``DecompressionStream`` and runs as an inline script before
the figures are drawn. A Content-Security-Policy meta tag forbids every fetch, so the page opens
with no network and makes no request (checked in a real browser by
``tests/report/test_browser.py``).

Escaping: every text that comes from the run (model names, notes, errors, environment) goes
through :func:`html.escape`; in plots it is escaped too, because plotly draws a few HTML-like
tags in labels, and the figure JSON is written by plotly's encoder, which turns ``<``, ``>``
and ``/`` into ``\\u003c``, ``\\u003e``, ``\\u002f`` so a name can never close the
``<script>`` element.

Sections: summary table, setup, accuracy vs each cost (frontier marked), latency distributions
at batch 1 (ECDF of the raw samples), batch-size curves, energy, tail quality, misnomer
analysis, recommendation, cost cards, what is missing, method. A section whose measurements
the run does not have says so in words.

Only :func:`render_html` is public; it takes a :class:`effbench.analysis.run_report.RunReport`
(the run and the analyses computed by :func:`effbench.analysis.run_report.run_report`) and returns
the page as a string (the CLI writes it).
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import json
import math
from datetime import datetime, timezone

from effbench.analysis.costs import random_weight_keys
from effbench.report.cards import cost_cards, energy_rows, format_value, provenance_label, run_setup
from effbench.report.figures import (
    COSTS,
    PALETTE,
    batch_curves,
    candidate_colors,
    candidate_markers,
    energy_curves,
    latency_distributions,
    spread_coinciding,
    tail_curves,
    tail_quality_label,
    time_unit,
)
from effbench.report.run_summary import interval_text, p99_9_text
from effbench.report.tables import cost_table_rows
from effbench.report.text import random_weights_notes

__all__ = ["render_html", "CSP"]

#: No network at all: inline scripts and styles only, images from data: URLs.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data: blob:; font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'")

_PLOT_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False}

# A small white template (plotly's "plotly_white" is ~10 kB of JSON per figure and slow to apply).
_AXIS = {"gridcolor": "#e6e9ef", "zerolinecolor": "#d0d5de", "linecolor": "#b8bfcc", "showline": True, "ticks": "outside",
         "tickcolor": "#b8bfcc", "automargin": True}
_TEMPLATE = {"layout": {"paper_bgcolor": "white", "plot_bgcolor": "white", "xaxis": _AXIS, "yaxis": _AXIS,
                        "hoverlabel": {"align": "left"}, "colorway": list(PALETTE)}}


def _e(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _pt(text) -> str:
    """Text for plotly labels: escaped, so plotly's pseudo-HTML never interprets a name."""
    return html.escape("" if text is None else str(text), quote=False)


def _time_axis(values_s, title: str) -> tuple[float, str, dict]:
    """``(factor, unit, axis)`` of a log time axis in one fixed unit (:func:`time_unit`): the seconds
    times ``factor`` are drawn, ``[s]`` in the title becomes ``[unit]`` and the ticks are plain
    numbers (no SI prefix, no exponent)."""
    unit, factor = time_unit(values_s)
    return factor, unit, dict(type="log", title=title.replace("[s]", f"[{unit}]"), tickformat="~g", exponentformat="none")


def _batch_axis(batch_sizes) -> dict:
    """A log batch-size axis ticked at the batch sizes measured, in plain numbers (1, 8, 32)."""
    bs = sorted(set(int(b) for b in batch_sizes))
    return dict(type="log", title="batch size", tickvals=bs, ticktext=[str(b) for b in bs])


def _badge(provenance: str | None) -> str:
    cls = provenance or "missing"
    return f'<span class="prov prov-{_e(cls)}">{_e(provenance_label(provenance))}</span>'


class _Figures:
    """Collects plotly figures; each becomes a div and one ``Plotly.newPlot`` call."""

    def __init__(self):
        self.items: list[tuple[str, str]] = []

    def add(self, fig, *, height: int = 360, css: str = "plot") -> str:
        import plotly.io as pio

        fig.update_layout(template=_TEMPLATE, height=height, margin=dict(l=60, r=20, t=40, b=50),
                          font=dict(family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size=12))
        div_id = f"fig{len(self.items)}"
        self.items.append((div_id, pio.to_json(fig, validate=True)))
        # a fixed height on the div: a resize (responsive plots) never changes the page layout
        return f'<div class="{css}" id="{div_id}" role="img" style="height:{int(height)}px"></div>'

    def script(self) -> str:
        """The loader of plotly.js (see :func:`plotly_js_block`) and, once it ran, every ``Plotly.newPlot``."""
        calls = [f"Plotly.newPlot({json.dumps(d)}, (f = {j}).data, f.layout, CONFIG);" for d, j in self.items]
        draw = "function(){var f; var CONFIG = " + json.dumps(_PLOT_CONFIG) + ";\n" + "\n".join(calls) + "\n}"
        return _LOADER_JS.replace("DRAW", draw)


#: Decompresses the gzip+base64 plotly.js of :func:`plotly_js_block`, runs it as an inline script
#: (allowed by the CSP's 'unsafe-inline'; no fetch, no eval), then calls the drawing function.
_LOADER_JS = """(function(draw){
  var data = document.getElementById('plotlyjs-gz');
  if (!data || typeof DecompressionStream === 'undefined') {
    document.querySelectorAll('div.plot').forEach(function(d){ d.textContent = 'This browser cannot decompress the '
      + 'embedded plotly.js (DecompressionStream is missing): open the report in a current Chrome, Edge, Firefox or Safari.'; });
    return;
  }
  var bin = atob(data.textContent.trim()), bytes = new Uint8Array(bin.length);
  for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text().then(function(code){
    var s = document.createElement('script'); s.textContent = code; document.head.appendChild(s); draw();
  });
})(DRAW);"""


@functools.lru_cache(maxsize=1)
def plotly_js_block() -> str:
    """plotly's minified bundle, gzip-compressed (level 9, no timestamp: the same bytes every time) and
    base64-encoded, as a non-executed ``<script type="application/gzip+base64">`` data block."""
    from plotly.offline import get_plotlyjs

    packed = base64.b64encode(gzip.compress(get_plotlyjs().encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")
    return f'<script id="plotlyjs-gz" type="application/gzip+base64">{packed}</script>'


# --------------------------------------------------------------------------------- sections


def _summary(run) -> str:
    headers, rows, notes = cost_table_rows(run)
    head = "".join(f'<th scope="col" data-col="{i}">{_e(h)}</th>' for i, h in enumerate(headers))
    body = []
    for r in rows:
        cells = [f'<th scope="row">{_e(r[0])}</th>'] + [f"<td>{_e(c)}</td>" for c in r[1:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="costs sortable"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>'
            + "".join(f'<p class="note">{_e(n)}</p>' for n in notes)
            + '<p class="note">Click a column header to sort. Every cell carries its unit; each header says whether '
              'its values were measured, estimated or computed (analytic).</p>')


def _setup(run) -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in run_setup(run))
    return f'<table class="kv">{rows}</table>'


def _legend_html(run, colors) -> str:
    items = "".join(f'<span class="sw"><i style="background:{_e(colors[c.key])}"></i>{_e(c.key)}</span>' for c in run.candidates)
    return f'<div class="legend">{items}</div>'


def _quality_vs_cost(report, figs: _Figures, colors) -> str:
    import plotly.graph_objects as go

    run, panels = report.run, report.quality_vs_cost
    if not panels:
        return '<p class="missing">No candidate has both an accuracy and a cost measurement: nothing to plot.</p>'
    symbols = {k: m[0] for k, m in candidate_markers(run).items()}
    random = random_weight_keys(run)
    out = [_legend_html(run, colors),
           *(f'<p class="note">{_e(n)}</p>' for n in random_weights_notes(random)),
           '<p class="note">Frontier (large markers with a black outline, dashed staircase): the Pareto frontier of '
           f'{_e(panels[0].quality)}:{panels[0].quality_direction} against that one cost (:min; throughput :max), computed with effbench.analysis.pareto. '
           'Marker shape = backend (circle PyTorch, square ONNX Runtime, diamond scikit-learn, star other); hollow = '
           'estimated. Points that would coincide are spread a little along the cost axis (about 7% apart); hover a '
           'point for its true values. Log-scaled cost axes; time in one unit per axis.</p><div class="grid">']
    for p in panels:
        fig = go.Figure()
        provs = ", ".join(provenance_label(x) for x in p.provenances)
        factor, _, xaxis = _time_axis([q.cost for q in p.points], f"{p.label} [s] ({provs})") if p.unit == "s" else (
            1.0, p.unit, dict(type="log", title=f"{p.label} [{p.unit}] ({provs})"))
        for pt, x in zip(p.points, spread_coinciding(p.points)):
            hover = (f"{_pt(pt.candidate)}<br>{_pt(p.label)}: {_pt(format_value(pt.cost, p.unit))} ({_pt(provenance_label(pt.provenance))})"
                     f"<br>{_pt(p.quality)}: {pt.quality:.4g} (measured)" + ("<br>on the frontier" if pt.on_frontier else "")
                     + ("<br>random weights: quality meaningless" if pt.candidate in random else ""))
            fig.add_trace(go.Scatter(
                x=[x * factor], y=[pt.quality], mode="markers", name=_pt(pt.candidate), showlegend=False,
                marker=dict(color=colors.get(pt.candidate, "#333"), size=14 if pt.on_frontier else 9,
                            symbol=symbols.get(pt.candidate, "circle") + ("-open" if pt.provenance == "estimated" else ""),
                            line=dict(color="black", width=2 if pt.on_frontier else 0)),
                hovertext=[hover], hoverinfo="text"))
        fr = p.frontier
        if len(fr) > 1:
            fig.add_trace(go.Scatter(x=[q.cost * factor for q in fr], y=[q.quality for q in fr], mode="lines", showlegend=False,
                                     line=dict(color="#444", dash="dash", width=1, shape="hv" if p.direction == "min" else "vh"),
                                     hoverinfo="skip"))
        fig.update_layout(title=dict(text=_pt(f"{p.quality} vs {p.label}"), font=dict(size=13)),
                          xaxis={**xaxis, "title": _pt(xaxis["title"])},
                          yaxis=dict(title=_pt(p.quality_axis)))
        note = f'<p class="note">not plotted (no value): {_e(", ".join(p.missing))}</p>' if p.missing else ""
        out.append("<div>" + figs.add(fig, height=330) + note + "</div>")
    out.append("</div>")
    absent = [label for col, label, _, _ in COSTS if col not in {p.cost for p in panels}]
    if absent:
        out.append(f'<p class="missing">Not measured in this run, so not plotted: {_e(", ".join(absent))}.</p>')
    return "".join(out)


def _latency(run, figs: _Figures, colors) -> str:
    import plotly.graph_objects as go

    lat = latency_distributions(run, batch_size=1)
    if not lat:
        return '<p class="missing">No raw latency samples at batch 1 in this run.</p>'
    fig = go.Figure()
    factor, unit, xaxis = _time_axis([x for d in lat for x in d["x_s"]], "latency of one call at batch 1 [s] (measured, raw samples)")
    for d in lat:
        fig.add_trace(go.Scatter(x=[x * factor for x in d["x_s"]], y=d["ecdf"], mode="lines",
                                 line=dict(shape="hv", color=colors.get(d["candidate"], "#333")),
                                 name=_pt(f"{d['candidate']} (n={d['n']})"),
                                 hovertemplate="%{x:.3g} " + unit + ": %{y:.1%} of calls at or below<extra>" + _pt(d["candidate"]) + "</extra>"))
    fig.update_layout(xaxis=xaxis,
                      yaxis=dict(title="share of calls at or below (ECDF)", tickformat=".0%"),
                      legend=dict(font=dict(size=10)))
    fig.add_hline(y=0.5, line=dict(color="#aaa", dash="dot", width=1))
    fig.add_hline(y=0.99, line=dict(color="#aaa", dash="dot", width=1))
    rows = "".join(
        f"<tr><th>{_e(d['candidate'])}</th><td>{d['n']}</td><td>{_e(format_value(d['p50_s'], 's'))}</td>"
        f"<td>{_e(format_value(d['p90_s'], 's'))}</td><td>{_e(format_value(d['p99_s'], 's'))}</td>"
        f"<td>{_e(format_value(d['max_s'], 's'))}</td><td>{d['p99_s'] / d['p50_s']:.2f}x</td></tr>"
        for d in lat)
    missing = [c.key for c in run.candidates if c.key not in {d["candidate"] for d in lat}]
    return (figs.add(fig, height=420)
            + '<p class="note">Empirical CDF of every raw per-call latency at batch 1 (down-sampled to at most 400 points '
              'per candidate, keeping the whole upper tail); dotted lines at 50% and 99%. All values measured.</p>'
            + '<div class="scroll"><table class="small"><thead><tr><th>candidate</th><th>samples</th><th>p50</th><th>p90</th>'
              f'<th>p99</th><th>max</th><th>p99 / p50</th></tr></thead><tbody>{rows}</tbody></table></div>'
            + (f'<p class="missing">No batch-1 latency samples for: {_e(", ".join(missing))}.</p>' if missing else ""))


def _batching(run, figs: _Figures, colors) -> str:
    import plotly.graph_objects as go

    curves = batch_curves(run)
    if not curves:
        return '<p class="missing">No latency samples in this run: no batch-size curves.</p>'
    f1, f2 = go.Figure(), go.Figure()
    factor, unit, yaxis = _time_axis([r["latency_p50_per_sample_s"] for rows in curves.values() for r in rows],
                               "p50 latency per sample [s] (measured)")
    for cand, rows in curves.items():
        bs = [r["batch_size"] for r in rows]
        col = colors.get(cand, "#333")
        f1.add_trace(go.Scatter(x=bs, y=[r["latency_p50_per_sample_s"] * factor for r in rows], mode="lines+markers", name=_pt(cand),
                                line=dict(color=col), hovertemplate="batch %{x}: %{y:.3g} " + unit + " per sample<extra>" + _pt(cand) + "</extra>"))
        f2.add_trace(go.Scatter(x=bs, y=[r["throughput_samples_per_s"] for r in rows], mode="lines+markers", name=_pt(cand),
                                line=dict(color=col), hovertemplate="batch %{x}: %{y:.3s} samples/s<extra>" + _pt(cand) + "</extra>"))
    batch_axis = _batch_axis([r["batch_size"] for rows in curves.values() for r in rows])
    f1.update_layout(title=dict(text="per-sample latency vs batch size", font=dict(size=13)), xaxis=batch_axis, yaxis=yaxis)
    f2.update_layout(title=dict(text="throughput vs batch size", font=dict(size=13)),
                     xaxis=batch_axis, yaxis=dict(type="log", title="throughput [samples/s] (measured, batch / p50)"))
    return ('<div class="grid2">' + figs.add(f1, height=420) + figs.add(f2, height=420) + "</div>"
            + '<p class="note">Per-sample latency = p50 of one call on a batch / batch size; throughput = batch size / p50. '
              'Both from the raw samples (measured). Click legend entries to hide or isolate candidates.</p>'
            + _batch_intervals(run))


def _batch_intervals(run) -> str:
    """The per-batch table: p50, p99 and p99.9 per call with their 95% intervals (or the samples they need)."""
    from effbench.analysis.costs import batch_rows

    def fmt(v):
        return format_value(v, "s")

    rows = "".join(
        f"<tr><th>{_e(r['candidate'])}</th><td>{r['batch_size']}</td><td>{r['n_samples']}</td>"
        f"<td>{_e(fmt(r['latency_p50_s']))} {_e(interval_text(r, 'latency_p50', fmt))}</td>"
        f"<td>{_e(fmt(r['latency_p99_s']))} {_e(interval_text(r, 'latency_p99', fmt))}</td>"
        f"<td>{_e(p99_9_text(r, fmt))}</td></tr>"
        for r in batch_rows(run))
    return ('<div class="scroll"><table class="small" id="batch-intervals"><thead><tr><th>candidate</th><th>batch</th>'
            '<th>samples</th><th>p50 per call [95% CI]</th><th>p99 per call [95% CI]</th><th>p99.9 per call [95% CI]</th>'
            f'</tr></thead><tbody>{rows}</tbody></table></div>'
            '<p class="note">Intervals: distribution-free order-statistic 95% intervals of the raw samples; a quantile '
            'without enough samples shows how many its interval needs.</p>')


def _energy(run, figs: _Figures, colors) -> str:
    import plotly.graph_objects as go

    curves = energy_curves(run)
    train = [(c.key, run.metric(c.key, "train_energy_j")) for c in run.candidates]
    train = [(k, m) for k, m in train if m is not None and m.value is not None]
    parts = []
    if curves:
        fig = go.Figure()
        for (cand, prov), rows in curves.items():
            fig.add_trace(go.Scatter(
                x=[r["batch_size"] for r in rows], y=[r["energy_per_sample_j"] for r in rows], mode="lines+markers",
                name=_pt(f"{cand} ({provenance_label(prov)})"),
                line=dict(color=colors.get(cand, "#333"), dash="solid" if prov != "estimated" else "dash"),
                marker=dict(symbol="circle" if prov != "estimated" else "triangle-up"),
                hovertemplate="batch %{x}: %{y:.3s}J per sample (" + _pt(provenance_label(prov)) + ")<extra>" + _pt(cand) + "</extra>"))
        fig.update_layout(xaxis=_batch_axis([r["batch_size"] for rows in curves.values() for r in rows]),
                          yaxis=dict(type="log", title="energy per sample [J] (solid: measured, dashed: estimated)"))
        parts.append(figs.add(fig, height=400))
        rows = "".join(
            f"<tr><th>{_e(r['candidate'])}</th><td>{r['batch_size']}</td><td>{_e(format_value(r['energy_per_sample_j'], 'J'))} "
            f"{_badge(r['energy_per_sample_provenance'])}</td><td>{_e(format_value(r['energy_per_batch_j'], 'J'))} "
            f"{_badge(r['energy_per_batch_provenance'])}</td><td>{_e(r['note'])}</td></tr>"
            for r in energy_rows(run) if r["energy_per_sample_j"] is not None)
        parts.append('<div class="scroll"><table class="small"><thead><tr><th>candidate</th><th>batch</th><th>energy per sample</th>'
                     f'<th>energy per batch</th><th>note</th></tr></thead><tbody>{rows}</tbody></table></div>')
        measured = {p for (_, p) in curves}
        if "estimated" in measured:
            parts.append('<p class="note">Estimated values come from a power model, not a meter; they are drawn dashed '
                         'and never merged with measured ones.</p>')
    else:
        parts.append('<p class="missing">Inference energy was not measured in this run (no <code>energy_per_sample_j</code> '
                     'or <code>energy_per_batch_j</code> metric is stored), so there is no energy per sample and no '
                     'energy-optimal batch size.</p>')
    if train:
        parts.append('<table class="small"><thead><tr><th>candidate</th><th>training energy</th></tr></thead><tbody>'
                     + "".join(f"<tr><th>{_e(k)}</th><td>{_e(format_value(m.value, 'J'))} {_badge(m.provenance)}</td></tr>" for k, m in train)
                     + "</tbody></table>")
    else:
        parts.append('<p class="missing">Training energy was not measured in this run (no <code>train_energy_j</code> metric).</p>')
    return "".join(parts)


def _tail(run, figs: _Figures, colors) -> str:
    import plotly.graph_objects as go

    tails = tail_curves(run)
    if not tails:
        return ('<p class="missing">Tail quality was not measured in this run (no candidate has tail-quality results: '
                'repeated whole-dataset rounds with per-instance times). See <code>effbench tail</code>.</p>')
    fig = go.Figure()
    factor, unit, xaxis = _time_axis([x for t in tails.values() for x in t["threshold_s"]],
                               "deadline [s] (an answer later than the deadline counts as wrong)")
    for cand, t in tails.items():
        col = colors.get(cand, "#333")
        xs = [x * factor for x in t["threshold_s"]]
        fig.add_trace(go.Scatter(x=xs, y=t["mean"], mode="lines+markers", line=dict(shape="hv", color=col),
                                 name=_pt(f"{cand}: mean over rounds"),
                                 hovertemplate="deadline %{x:.3g} " + unit + ": %{y:.4f}<extra>" + _pt(cand) + "</extra>"))
        if any(v is not None for v in t["tail"]):
            fig.add_trace(go.Scatter(x=xs, y=t["tail"], mode="lines", line=dict(shape="hv", color=col, dash="dash"),
                                     name=_pt(f"{cand}: {t['tail_label']}"),
                                     hovertemplate="deadline %{x:.3g} " + unit + ": %{y:.4f}<extra>" + _pt(cand) + "</extra>"))
    fig.update_layout(xaxis=xaxis,
                      yaxis=dict(title=f"{tail_quality_label(tails)} under the deadline [ratio] (measured)"))
    def unc(t):
        return "-" if t["unconstrained"] is None else f"{t['unconstrained']:.4f}"

    def rounds(t):
        used, measured = t["rounds_used"], t["rounds_measured"]
        return "-" if used is None and measured is None else f"{'-' if used is None else used} / {'-' if measured is None else measured}"

    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(rounds(t))}</td><td>{unc(t)}</td></tr>" for k, t in tails.items())
    missing = [c.key for c in run.candidates if c.key not in tails]
    return (figs.add(fig, height=420)
            + '<p class="note">Quality that survives a deadline (Yang et al., "Quality at the Tail of Machine Learning '
              'Inference"): solid = mean over rounds, dashed = the low quantile over rounds (the tail quality). Rounds used: '
              'those the stopping rule used (deadlines at percentiles come from them); measured: every timed round.</p>'
            + f'<table class="small"><thead><tr><th>candidate</th><th>rounds used / measured</th><th>unconstrained {_e(tail_quality_label(tails))} (mean)</th></tr>'
              f'</thead><tbody>{rows}</tbody></table>'
            + (f'<p class="missing">No tail-quality results for: {_e(", ".join(missing))}.</p>' if missing else ""))


def _fmt_r(v, ci) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{v:+.2f}" + ("" if ci is None else f" [{ci[0]:+.2f}, {ci[1]:+.2f}]")


def _tau_heatmap(res, labels: list[str], names: list[str]):
    """Oriented Kendall tau-b of every indicator pair as a symmetric heatmap (1 on the diagonal)."""
    import plotly.graph_objects as go

    n = len(names)
    z = [[1.0 if i == j else None for j in range(n)] for i in range(n)]
    for c in res.correlations:
        i, j = names.index(c.x), names.index(c.y)
        v = None if math.isnan(c.kendall_oriented) else c.kendall_oriented
        z[i][j] = z[j][i] = v
    text = [["" if v is None else f"{v:+.2f}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=[_pt(x) for x in labels], y=[_pt(x) for x in labels], zmin=-1, zmax=1,
                               colorscale="RdBu", text=text, texttemplate="%{text}",
                               hovertemplate="%{y} vs %{x}: Kendall tau-b (oriented) %{z:+.2f}<extra></extra>",
                               colorbar=dict(title="tau")))
    fig.update_layout(yaxis=dict(autorange="reversed"), margin=dict(l=200, r=20, t=30, b=140))
    return fig


def _misnomer(report, figs: _Figures) -> str:
    rm = report.misnomer
    if rm is None:
        return f'<p class="missing">Misnomer analysis not possible: {_e(report.misnomer_error)}</p>'
    res = rm.result
    labels = [i.display for i in res.indicators]
    names = [i.name for i in res.indicators]
    fig = _tau_heatmap(res, labels, names)
    level = f"{res.confidence * 100:g}%"
    corr_rows = "".join(
        f"<tr><th>{_e(labels[names.index(c.x)])}</th><th>{_e(labels[names.index(c.y)])}</th><td>{c.n_models}</td>"
        f"<td>{_fmt_r(c.kendall_oriented, c.kendall_oriented_ci)}</td><td>{_fmt_r(c.spearman_oriented, c.spearman_oriented_ci)}</td>"
        f"<td>{'-' if math.isnan(c.kendall_p_value) else f'{c.kendall_p_value:.2g}'}</td></tr>"
        for c in res.correlations)
    contra = []
    shown_open = 0
    for p in res.contradictions:
        if not p.count:
            continue
        items = "".join(f"<li>{_e(c.text)}</li>" for c in p.top)
        more = f"<li class='note'>... and {p.count - len(p.top)} more</li>" if p.count > len(p.top) else ""
        opened = " open" if shown_open < 2 else ""
        shown_open += 1
        contra.append(f"<details{opened}><summary>{_e(labels[names.index(p.x)])} vs {_e(labels[names.index(p.y)])}: "
                      f"{p.count} of {p.n_pairs} candidate pairs contradict</summary><ul>{items}{more}</ul></details>")
    dropped = ""
    if rm.dropped_indicators or rm.dropped_candidates:
        bits = [f"{_e(n_)} ({_e(r)})" for n_, r in rm.dropped_indicators + rm.dropped_candidates]
        dropped = f'<p class="missing">Left out: {"; ".join(bits)}.</p>'
    return (
        f'<p>After Dehghani et al., "The Efficiency Misnomer" (ICLR 2022): do the cost indicators agree on which of '
        f'{res.n_models} candidates is more efficient? Oriented rank correlation: +1 = the two indicators always agree, '
        f'-1 = they always disagree. Contradiction: one candidate better on one indicator by at least '
        f'{res.min_factor:g}x and the other better on the other indicator by at least {res.min_other_factor:g}x.</p>'
        + figs.add(fig, height=460)
        + '<div class="scroll"><table class="small"><thead><tr><th>indicator x</th><th>indicator y</th><th>candidates</th>'
          f'<th>Kendall tau-b oriented [{level} CI]</th><th>Spearman rho oriented [{level} CI]</th><th>p (tau)</th></tr></thead>'
          f'<tbody>{corr_rows}</tbody></table></div>'
        + f"<h3>Contradictions in words ({res.total_contradictions} in all)</h3>"
        + ("".join(contra) if contra else "<p>No contradiction at these factors: every indicator pair ranks the candidates alike.</p>")
        + dropped
        + '<p class="note">Intervals: Fisher z (Fieller et al. 1957 for tau, Bonett and Wright 2000 for rho); with few '
          'candidates they are wide. Indicators: parameters, FLOPs per sample, size, p50 latency at batch 1, best throughput, '
          'peak memory (process RSS at batch 1), accuracy.</p>'
    )


def _recommendation(report) -> str:
    from effbench.numbers import mark_random_weights

    rec = report.recommendation
    if rec is None:  # the run lacks what the recommendation needs: say what, in the report
        return f'<p class="missing">No recommendation: {_e(report.recommendation_error)}</p>'
    out = [f"<p>{_e(m)}</p>" for m in rec.message]
    facts = [("status", "no model meets the constraints" if rec.status == "infeasible" else "ok"),
             ("chosen", rec.chosen or "none"), ("reference (best quality on the frontier)", rec.reference or "none"),
             ("constraints", "; ".join(rec.constraints) or "none"), ("preference", ", ".join(rec.preference)),
             ("frontier objectives", ", ".join(rec.objectives)),
             ("models meeting the constraints", str(len(rec.feasible))),
             ("on their frontier", ", ".join(rec.frontier) or "none"),
             ("parity test", f"{rec.test}, {100 * (1 - rec.alpha):g}% level (alpha {rec.alpha:g})")]
    out.append('<table class="kv">' + "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts) + "</table>")
    if rec.parity:
        rows = "".join(
            f"<tr><th>{_e(t.a)}</th><td>{_e(t.b)}</td><td>{t.n}</td><td>{t.a_only}</td><td>{t.b_only}</td>"
            f"<td>{t.accuracy_a:.4f} vs {t.accuracy_b:.4f}</td><td>{t.p_value:.3g}</td><td>{'yes' if t.on_par else 'no'}</td></tr>"
            for t in rec.parity)
        out.append('<div class="scroll"><table class="small"><thead><tr><th>model</th><th>against</th><th>test examples</th>'
                   '<th>only the model right</th><th>only the reference right</th><th>accuracy</th><th>p</th><th>on par</th>'
                   f'</tr></thead><tbody>{rows}</tbody></table></div>')
    if rec.runner_ups:
        def runner(r) -> str:
            par = {True: "on par with the reference", False: "not on par with the reference",
                   None: "quality not compared"}[r["on_par_with_reference"]]
            p = "" if r["p_value"] is None else f", p={r['p_value']:.2g}"
            quality = mark_random_weights(f"{r['quality']:.4f}", r["key"] in rec.random_weights)
            return f"<li>{_e(r['key'])}: {_e(rec.quality)} {quality} ({par}{p})</li>"

        items = "".join(runner(r) for r in rec.runner_ups)
        out.append(f"<p>Runner-ups on the frontier:</p><ul>{items}</ul>")
    out += [f'<p class="note">{_e(n)}</p>' for n in random_weights_notes(rec.random_weights)]
    if rec.closest:
        out.append("<p>Closest models:</p><ul>" + "".join(
            f"<li>{_e(c['key'])}: {_e(', '.join(c['violations']))}</li>" for c in rec.closest) + "</ul>")
    if rec.dropped:
        out.append('<p class="missing">Left out of the recommendation: '
                   + "; ".join(f"{_e(k)} ({_e(r)})" for k, r in rec.dropped) + ".</p>")
    out.append('<p class="note">Computed by effbench.analysis.selection.recommend with the defaults of '
               '<code>effbench recommend RUN_ID</code> (no constraint; the preference above). Other constraints and '
               'preferences: <code>effbench recommend</code>.</p>')
    out.append("<details><summary>details (JSON)</summary><pre>"
               + _e(json.dumps(rec.to_dict(), indent=2, default=str)) + "</pre></details>")
    return "".join(out)


def _cards(run) -> str:
    out = ['<div class="cards">']
    for card in cost_cards(run):
        status = "" if card.status == "ok" else f' <span class="bad">{_e(card.status)}</span>'
        rows = []
        for e in card.entries:
            val = "not measured" if e.missing else e.text
            rows.append(f'<tr class="{"miss" if e.missing else ""}"><th>{_e(e.label)}</th><td class="num">{_e(val)}</td>'
                        f"<td>{_badge(e.provenance)}</td><td class='note'>{_e(e.note)}</td></tr>")
        setup = "".join(f"<tr><th>{_e(k)}</th><td colspan='3'>{_e(v)}</td></tr>" for k, v in card.setup)
        err = f'<p class="bad">error: {_e(card.error)}</p>' if card.error else ""
        out.append(f'<section class="card" data-candidate="{_e(card.candidate)}"><h3>{_e(card.candidate)}{status}</h3>{err}'
                   f'<table class="card-t"><colgroup><col style="width:34%"><col style="width:20%"><col style="width:17%"><col style="width:29%"></colgroup><tbody>{"".join(rows)}</tbody><tbody class="setup">'
                   f'<tr><td colspan="4" class="sub">setup</td></tr>{setup}</tbody></table></section>')
    out.append("</div>")
    return "".join(out)


def _missing(run, has_tail: bool, has_energy: bool) -> str:
    items = []
    for card in cost_cards(run):
        miss = [m for m in card.missing if "energy" not in m and "carbon" not in m]
        if miss:
            items.append(f"<li><b>{_e(card.candidate)}</b>: {_e(', '.join(miss))}</li>")
    run_level = []
    if not has_energy:
        run_level.append("inference energy (per sample and per batch), carbon and training energy")
    if not has_tail:
        run_level.append("tail quality under deadlines")
    failed = [c for c in run.candidates if c.status == "failed"]
    out = ""
    if run_level:
        out += f"<p>Not measured for any candidate: {_e('; '.join(run_level))}.</p>"
    if items:
        out += "<p>Missing per candidate:</p><ul>" + "".join(items) + "</ul>"
    if failed:
        out += "<p>Failed candidates:</p><ul>" + "".join(f"<li><b>{_e(c.key)}</b>: {_e(c.error)}</li>" for c in failed) + "</ul>"
    if run.notes:
        out += "<p>Notes recorded with the run:</p><ul>" + "".join(f"<li>{_e(n)}</li>" for n in run.notes) + "</ul>"
    return out or "<p>Every indicator was measured for every candidate.</p>"


_METHOD = """
<ul>
<li><b>Provenance.</b> <span class="prov prov-measured">measured</span> = read from a clock, counter or the test split;
<span class="prov prov-estimated">estimated</span> = from a model (never shown as a measurement);
<span class="prov prov-analytic">computed (analytic)</span> = counted from the model's structure (parameters, FLOPs).</li>
<li><b>FLOPs</b> = 2 x MACs; the note gives the work the counter could not count (estimated from the element counts of the ops it has no formula for) and the share of op calls it counted, and names any matmul-like op (attention, convolution, linear) left uncounted.</li>
<li><b>Latency</b>: one call of the candidate's inference on a prepared batch, timed per call (warm-up, one worker
process per candidate, threads fixed, randomised order); percentiles from the raw samples, never from summaries.</li>
<li><b>Throughput</b> = batch size / p50 latency of one call at that batch size; the best batch maximises it.</li>
<li><b>Peak memory</b>: RSS = peak resident memory of the whole worker process during batch-1 calls; "added by one call" =
increase of the peak resident memory during one call at the largest batch over the resident memory just before that
call (the kernel's peak mark is reset before the call; allocators keep freed memory, so it can be 0 for small models).</li>
<li><b>Pareto frontier</b>: a candidate is on it when no other is at least as good on both axes and better on one
(Partovi Nia et al., 2022, for why one frontier per cost and hardware).</li>
</ul>
"""

_CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#dde1e8;--bg:#fff;--acc:#2f5fa7}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}header p{margin:0;color:#c9d1de}
nav{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid var(--line);padding:6px 28px;overflow-x:auto;white-space:nowrap}
nav a{color:var(--acc);text-decoration:none;margin-right:14px;font-size:13px}
main{padding:8px 28px 40px;max-width:1500px}
section.s{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:6px 18px 14px;margin:16px 0}
h2{font-size:18px;margin:12px 0 8px}h3{font-size:15px;margin:12px 0 6px}
table{border-collapse:collapse;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.costs td{text-align:right;white-space:nowrap}table.costs th[scope=col]{cursor:pointer;white-space:normal;min-width:80px}
table.small td{white-space:nowrap}table.kv th{color:var(--muted);font-weight:500;white-space:nowrap}
.scroll{overflow-x:auto}.note{color:var(--muted);font-size:12px;margin:4px 0}
.missing{color:#8a5a00;background:#fff7e6;border-left:3px solid #f0a500;padding:6px 10px;margin:8px 0}
.prov{display:inline-block;font-size:11px;padding:0 6px;border-radius:8px;white-space:nowrap}
.prov-measured{background:#e3f4e6;color:#1f6b2e}.prov-estimated{background:#fde9d4;color:#8a4b00}
.prov-analytic{background:#e2ebf9;color:#234f91}.prov-missing{background:#eee;color:#777}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:10px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:10px}
.plot{border:1px solid #eef0f4;border-radius:6px;overflow:hidden}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0}.sw i{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:5px;vertical-align:-1px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:12px}
.card{border:1px solid var(--line);border-radius:8px;padding:4px 12px 10px;background:#fff}
.card-t{width:100%;table-layout:fixed}.card-t th{font-weight:500;color:var(--muted)}.card-t td{overflow-wrap:anywhere}.card-t td.num{white-space:nowrap;font-variant-numeric:tabular-nums}
.card-t tr.miss td.num{color:#999}.card-t td.sub{font-weight:600;padding-top:10px;color:var(--fg)}
.bad{color:#b00020}details{margin:4px 0}summary{cursor:pointer}pre{white-space:pre-wrap;font-size:12px}
footer{color:var(--muted);font-size:12px;padding:0 28px 30px}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th[scope=col]').forEach(function(th){
    th.addEventListener('click',function(){
      var col=+th.dataset.col, body=t.tBodies[0], rows=[].slice.call(body.rows);
      var dir=th.dataset.dir==='asc'?-1:1; th.dataset.dir=dir===1?'asc':'desc';
      function key(r){var s=r.cells[col].textContent.trim();var m=s.match(/^[-+]?[0-9.,]+/);
        if(!m)return [1,s];var v=parseFloat(m[0].replace(/,/g,''));
        var u=s.slice(m[0].length).trim();var f={'k':1e3,'M':1e6,'G':1e9,'T':1e12,'KiB':1024,'MiB':1048576,'GiB':1073741824,
        'ms':1e-3,'us':1e-6,'s':1}; var p=u.split(' ')[0]; var pf=u.match(/^([kMGT])/);
        if(f[p]!==undefined)v*=f[p];else if(pf)v*=f[pf[1]];return [0,v];}
      rows.sort(function(a,b){var x=key(a),y=key(b);if(x[0]!==y[0])return x[0]-y[0];
        return (x[1]<y[1]?-1:x[1]>y[1]?1:0)*dir;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
"""


def render_html(report, *, generated_at: str | None = None) -> str:
    """The whole report as one self-contained HTML page: ``report`` is the
    :class:`effbench.analysis.run_report.RunReport` of a run (its records and analyses)."""
    run = report.run
    figs = _Figures()
    colors = candidate_colors(run)
    has_tail = bool(tail_curves(run))
    has_energy = bool(energy_rows(run)) or any(run.metric(c.key, "train_energy_j") for c in run.candidates)
    sections = [
        ("summary", "Cost table", _summary(run)),
        ("setup", "Setup", _setup(run)),
        ("quality", "Accuracy vs each cost", _quality_vs_cost(report, figs, colors)),
        ("latency", "Latency distributions at batch 1", _latency(run, figs, colors)),
        ("batching", "Batch size: per-sample latency and throughput", _batching(run, figs, colors)),
        ("energy", "Energy", _energy(run, figs, colors)),
        ("tail", "Tail quality under deadlines", _tail(run, figs, colors)),
        ("misnomer", "Misnomer analysis: do the indicators agree?", _misnomer(report, figs)),
        ("recommendation", "Recommendation", _recommendation(report)),
        ("cards", "Cost cards", _cards(run)),
        ("missing", "What is missing", _missing(run, has_tail, has_energy)),
        ("method", "Method and units", _METHOD),
    ]
    nav = "".join(f'<a href="#{sid}">{_e(title)}</a>' for sid, title, _ in sections)
    body = "".join(f'<section class="s" id="{sid}"><h2>{_e(title)}</h2>{content}</section>' for sid, title, content in sections)
    task = run.task or {}
    when = generated_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
    subtitle = (f"suite {run.suite or '?'} · status {run.status} · {len(run.candidates)} candidates · "
                f"task {task.get('name', '?')} ({task.get('n_test', '?')} test examples) · run started {run.created_at}")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>effbench report {_e(run.run_id)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>effbench report: run {_e(run.run_id)}</h1><p>{_e(subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main>"
        f"<footer>Generated by effbench {_e(run.effbench_version or '')} at {_e(when)} from the stored run; "
        "self-contained (no network). Plots: plotly.js (MIT).</footer>"
        f"{plotly_js_block()}<script>{figs.script()}</script><script>{_SORT_JS}</script>"
        "</body></html>\n"
    )
