"""Figure data for the report, and static PNG/SVG figures drawn with matplotlib (Agg).

The data builders are pure (a run in, plain dataclasses and lists out) and feed both the
interactive HTML report (:mod:`effbench.report.html`, plotly) and the static figures here, so
the two always show the same numbers:

* :func:`effbench.analysis.quality_cost.quality_vs_cost` (re-exported here) - accuracy against
  every cost indicator, the Pareto frontier of ``accuracy:max`` vs ``cost:min`` (``:max`` for
  throughput) marked;
* :func:`latency_distributions` - the empirical CDF of the raw per-call latencies at batch 1
  (every sample up to ``max_points``, then evenly spaced order statistics plus the whole tail);
* :func:`batch_curves` - per-sample latency (p50 / batch), per-call p50 and throughput
  (batch / p50) against the batch size;
* :func:`energy_curves` - energy per sample against the batch size, when the run has energy
  metrics (one series per provenance: measured and estimated are never merged);
* :func:`tail_curves` - quality against the deadline, from ``candidate.info["tail"]`` (the
  ``TailAnalysis.to_dict()`` shape of :mod:`effbench.analysis.tail`), when present.

:func:`write_figures` writes the static figures (``--figures DIR``); matplotlib is imported
there only, with the Agg backend.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from effbench.analysis.costs import LATENCY_KIND, batch_rows
from effbench.analysis.quality_cost import COSTS, Point, QualityCostPanel, quality_vs_cost
from effbench.errors import ConfigError
from effbench.report.cards import energy_rows

__all__ = [
    "PALETTE",
    "COSTS",
    "Point",
    "QualityCostPanel",
    "candidate_colors",
    "BACKEND_MARKERS",
    "candidate_markers",
    "spread_coinciding",
    "TIME_UNITS",
    "time_unit",
    "quality_vs_cost",
    "latency_distributions",
    "batch_curves",
    "energy_curves",
    "tail_curves",
    "tail_quality_label",
    "tail_quality_name",
    "FIGURE_NAMES",
    "figure_names",
    "check_figures_dir",
    "write_figures",
]

#: Qualitative palette (Tableau 10, then ColorBrewer Dark2 and two more), one colour per candidate, the same in every figure.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
           "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666", "#17becf", "#bcbd22")

def candidate_colors(run) -> dict[str, str]:
    return {c.key: PALETTE[i % len(PALETTE)] for i, c in enumerate(run.candidates)}


#: backend -> (plotly symbol, matplotlib marker): the marker of a point says its backend, so a model
#: on two backends with the same parameters shows two shapes; other backends get ``_OTHER_MARKER``.
BACKEND_MARKERS: dict[str, tuple[str, str]] = {
    "torch": ("circle", "o"), "onnxruntime": ("square", "s"), "sklearn": ("diamond", "D"), "callable": ("cross", "P"),
}
_OTHER_MARKER = ("star", "*")


def candidate_markers(run) -> dict[str, tuple[str, str]]:
    """candidate -> (plotly symbol, matplotlib marker) of its backend (:data:`BACKEND_MARKERS`)."""
    return {c.key: BACKEND_MARKERS.get(c.backend, _OTHER_MARKER) for c in run.candidates}


#: the spread, in decades of a log axis, between two points that would coincide (about 7 %)
SPREAD_DECADES = 0.03


def spread_coinciding(points, *, rtol: float = 0.01, qtol: float = 0.002) -> list[float]:
    """The x (cost) at which to draw each :class:`Point` of a panel so that points which coincide
    (costs within ``rtol`` of each other and qualities within ``qtol``) are told apart.

    Deterministic: the points of a group are spread symmetrically around their first member, in the
    order given, by :data:`SPREAD_DECADES` of the (log) cost axis each; a point alone keeps its
    cost. Only the drawn position moves: hover texts and tables keep the true value.
    """
    groups: list[list[int]] = []
    for i, p in enumerate(points):
        for g in groups:
            a = points[g[0]]
            if abs(p.quality - a.quality) <= qtol and abs(p.cost - a.cost) <= rtol * max(abs(a.cost), abs(p.cost)):
                g.append(i)
                break
        else:
            groups.append([i])
    xs = [float(p.cost) for p in points]
    for g in groups:
        if len(g) > 1:
            base = points[g[0]].cost
            for k, i in enumerate(g):
                xs[i] = float(base) * 10 ** (SPREAD_DECADES * (k - (len(g) - 1) / 2))
    return xs


#: (name, seconds per unit), largest first: a time axis shows one of these, never a mix.
TIME_UNITS: tuple[tuple[str, float], ...] = (("s", 1.0), ("ms", 1e-3), ("\u00b5s", 1e-6), ("ns", 1e-9))


def time_unit(values_s) -> tuple[str, float]:
    """``(unit, factor)`` for a time axis holding ``values_s`` (seconds): the largest unit of
    :data:`TIME_UNITS` in which the geometric mean of the positive values (the middle of a log
    axis) is at least 1 (ns below that); multiply the seconds by ``factor`` to draw them. One fixed
    unit per axis, so ticks never mix styles."""
    v = [float(x) for x in values_s if x is not None and math.isfinite(float(x)) and float(x) > 0]
    if not v:
        return "s", 1.0
    middle = math.exp(sum(math.log(x) for x in v) / len(v))
    for name, sec in TIME_UNITS:
        if middle >= sec:
            return name, 1.0 / sec
    return TIME_UNITS[-1][0], 1.0 / TIME_UNITS[-1][1]


# ------------------------------------------------------------------------ latency


def _ecdf_points(values: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    if n <= max_points:
        idx = np.arange(n)
    else:
        tail = min(n, max_points // 4)
        idx = np.unique(np.concatenate([np.linspace(0, n - 1, max_points - tail).round().astype(int), np.arange(n - tail, n)]))
    return v[idx], (idx + 1) / n


def latency_distributions(run, *, batch_size: int = 1, max_points: int = 400) -> list[dict]:
    """Per candidate measured at ``batch_size``: ECDF points of the raw per-call latencies (s)
    and p50/p90/p99/max; ``n`` is the number of raw samples."""
    out = []
    for s in run.samples_for(batch_size=batch_size, kind=LATENCY_KIND):
        v = np.asarray(s.values, dtype=float)
        x, y = _ecdf_points(v, max_points)
        out.append({
            "candidate": s.candidate, "n": int(v.size), "x_s": x.tolist(), "ecdf": y.tolist(),
            "p50_s": float(np.quantile(v, 0.5)), "p90_s": float(np.quantile(v, 0.9)),
            "p99_s": float(np.quantile(v, 0.99)), "max_s": float(v.max()),
            "block_size": int(s.meta.get("block_size", 1) or 1),
        })
    order = {c.key: i for i, c in enumerate(run.candidates)}
    out.sort(key=lambda d: order.get(d["candidate"], len(order)))
    return out


def batch_curves(run) -> dict[str, list[dict]]:
    """candidate -> rows of :func:`effbench.analysis.costs.batch_rows`, by batch size."""
    by: dict[str, list[dict]] = {}
    for r in batch_rows(run):
        by.setdefault(r["candidate"], []).append(r)
    out = {c.key: sorted(by.pop(c.key), key=lambda r: r["batch_size"]) for c in run.candidates if c.key in by}
    out.update({k: sorted(v, key=lambda r: r["batch_size"]) for k, v in by.items()})  # samples of unlisted candidates
    return out


def energy_curves(run) -> dict[tuple[str, str], list[dict]]:
    """(candidate, provenance) -> energy rows by batch size (empty when no energy was stored)."""
    out: dict[tuple[str, str], list[dict]] = {}
    for r in energy_rows(run):
        if r["energy_per_sample_j"] is None:
            continue
        out.setdefault((r["candidate"], r["energy_per_sample_provenance"] or "measured"), []).append(r)
    return out


def tail_curves(run) -> dict[str, dict]:
    """candidate -> ``{"threshold_s": [...], "mean": [...], "tail": [...], "tail_label": str,
    "unconstrained": float | None, "rounds_used": int | None, "rounds_measured": int | None,
    "quality_label": str}`` from ``info["tail"]`` (``quality_label``: ``accuracy``, or for a
    regression measured with a tolerance ``share within ±0.5``).

    ``info["tail"]`` as :mod:`effbench.runs.tail` stores it has ``rounds_used`` (the rounds the
    stopping rule used) and ``rounds_measured`` (every round timed); a bare
    ``TailAnalysis.to_dict()`` has ``rounds`` only, read as both. Candidates whose
    ``info["tail"]`` has no ``thresholds`` rows are left out.
    """
    out = {}
    for c in run.candidates:
        tail = (c.info or {}).get("tail")
        if not isinstance(tail, dict) or not isinstance(tail.get("thresholds"), list) or not tail["thresholds"]:
            continue
        key = tail.get("quantile_key")
        rows = sorted((r for r in tail["thresholds"] if isinstance(r, dict) and _num(r.get("threshold_s")) is not None),
                      key=lambda r: float(r["threshold_s"]))
        if not rows:
            continue
        q = tail.get("quantile")
        out[c.key] = {
            "threshold_s": [float(r["threshold_s"]) for r in rows],
            "mean": [_num(r.get("mean")) for r in rows],
            "min": [_num(r.get("min")) for r in rows],
            "tail": [_num(r.get(key)) if key else None for r in rows],
            "tail_label": (f"{float(q) * 100:g}% quantile over rounds" if _num(q) is not None else "tail quantile"),
            "unconstrained": _num((tail.get("unconstrained") or {}).get("mean")) if isinstance(tail.get("unconstrained"), dict) else None,
            "rounds_used": _int(tail.get("rounds_used", tail.get("rounds"))),
            "rounds_measured": _int(tail.get("rounds_measured", tail.get("rounds"))),
            "labels": [str(r.get("label", "")) for r in rows],
            "quality_label": tail_quality_name(tail.get("quality")),
        }
    return out


def tail_quality_label(tails: dict) -> str:
    """The name of the quality the tail curves of ``tails`` (:func:`tail_curves`) show, for an axis."""
    labels = {t["quality_label"] for t in tails.values()}
    return labels.pop() if len(labels) == 1 else "quality (accuracy, or share within the tolerance)"


def tail_quality_name(quality) -> str:
    """The name of a tail run's quality (``info["tail"]["quality"]``, :func:`effbench.analysis.tail.answer_definition`):
    ``accuracy``, or for a regression ``share within ±TOLERANCE``."""
    tol = _num(quality.get("tolerance")) if isinstance(quality, dict) else None
    return "accuracy" if tol is None else f"share within ±{tol:g}"


def _int(v):
    f = _num(v)
    return None if f is None else int(f)


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


# ------------------------------------------------------------------------ static figures


def _mpl_text(s: str) -> str:
    """Escape matplotlib's mathtext trigger so a name with '$' is drawn as written."""
    return str(s).replace("$", r"\$")


def _axis_title(label, unit, provs) -> str:
    from effbench.report.cards import provenance_label

    p = ", ".join(provenance_label(x) for x in provs) if provs else "not measured"
    return f"{label} [{unit}] ({p})"


#: Every figure :func:`write_figures` can write (the last two only when the run has those measurements).
FIGURE_NAMES = ("quality_vs_cost", "latency_ecdf_b1", "batch_curves", "energy_per_sample", "tail_quality")
FORMATS = ("png", "svg", "pdf")


def _check_formats(formats) -> tuple[str, ...]:
    for fmt in formats:
        if fmt not in FORMATS:
            raise ConfigError(f"figure format must be png, svg or pdf; got {fmt!r}")
    return tuple(formats)


def figure_names(run) -> list[str]:
    """The figures :func:`write_figures` writes for ``run`` (without extension)."""
    names = list(FIGURE_NAMES[:3])
    if energy_curves(run):
        names.append("energy_per_sample")
    if tail_curves(run):
        names.append("tail_quality")
    return names


def check_figures_dir(directory, force: bool = False, *, run=None, formats: tuple[str, ...] = ("png", "svg")) -> Path:
    """Fail before any rendering if the figures cannot go into ``directory``.

    Raises :class:`ConfigError` when ``directory`` is a file, or (without ``force``) when a figure
    file it would write already exists: those of ``run`` when given, else any of
    :data:`FIGURE_NAMES`. Creates nothing. Returns the directory as a Path.
    """
    formats = _check_formats(formats)
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"--figures {str(directory)!r} is a file; give a directory")
    if directory.is_dir():
        from effbench.store.files import check_replaceable

        names = figure_names(run) if run is not None else FIGURE_NAMES
        targets = [directory / f"{n}.{fmt}" for n in names for fmt in formats]
        for p in targets:
            check_replaceable(p, "--figures:")  # a link or a device is never overwritten, even with --force
        existing = [str(p) for p in targets if p.exists()]
        if existing and not force:
            raise ConfigError(f"--figures: {existing[0]!r} already exists ({len(existing)} file(s)); give --force to overwrite")
    return directory


def write_figures(run, directory, *, force: bool = False, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write the static figures of ``run`` into ``directory`` (created if needed).

    Refuses (:class:`ConfigError`, via :func:`check_figures_dir`, before any rendering) to
    overwrite an existing file unless ``force``; a folder or file that cannot be written is a
    :class:`ConfigError` too. Returns the paths written. Figures: ``quality_vs_cost``,
    ``latency_ecdf_b1``, ``batch_curves``, and ``energy_per_sample`` / ``tail_quality`` when the
    run has those measurements.
    """
    directory = check_figures_dir(directory, force, run=run, formats=formats)
    panels = quality_vs_cost(run)
    lat = latency_distributions(run)
    curves = batch_curves(run)
    energy = energy_curves(run)
    tails = tail_curves(run)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--figures {str(directory)!r}: cannot create the folder: {exc.strerror or exc}") from None

    plt = _pyplot()
    colors = candidate_colors(run)
    markers = {k: m[1] for k, m in candidate_markers(run).items()}
    files = _FigureFiles(plt, directory, formats, run.run_id)
    files.save(_quality_vs_cost_figure(plt, panels, run.candidates, colors, markers), "quality_vs_cost")
    files.save(_latency_figure(plt, lat, colors), "latency_ecdf_b1")
    files.save(_batch_figure(plt, curves, colors), "batch_curves")
    if energy:
        files.save(_energy_figure(plt, energy, colors), "energy_per_sample")
    if tails:
        files.save(_tail_figure(plt, tails, colors), "tail_quality")
    return files.written


def _pyplot():
    """matplotlib.pyplot on the Agg backend (imported here only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


class _FigureFiles:
    """Saves each figure in every format, stamped with the run id, and closes it; ``written`` lists the files."""

    def __init__(self, plt, directory: Path, formats, run_id: str):
        self.plt, self.directory, self.formats, self.run_id = plt, directory, formats, run_id
        self.written: list[Path] = []

    def save(self, fig, name: str) -> None:
        fig.text(0.01, 0.005, f"effbench run {self.run_id}", fontsize=7, color="#777")
        try:
            for fmt in self.formats:
                p = self.directory / f"{name}.{fmt}"
                try:
                    fig.savefig(p, dpi=130 if fmt == "png" else None, bbox_inches="tight", metadata=_metadata(fmt))
                except OSError as exc:
                    raise ConfigError(f"--figures: cannot write {str(p)!r}: {exc.strerror or exc}") from None
                self.written.append(p)
        finally:
            self.plt.close(fig)


def _log_x(ax) -> None:
    """A log x axis without minor tick labels."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_minor_formatter(NullFormatter())


def _plain_log(axis) -> None:
    """Plain numbers (0.5, 20, 1000) on a log axis instead of powers of ten; no minor labels."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _batch_axis(ax, batch_sizes) -> None:
    """A log2 batch-size x axis ticked at the batch sizes measured, in plain numbers (1, 8, 32)."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log", base=2)
    bs = sorted(set(int(b) for b in batch_sizes))
    if bs:
        ax.set_xticks(bs, [str(b) for b in bs])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("batch size")


def _quality_vs_cost_figure(plt, panels, candidates, colors, markers=None):
    """A grid of panels, accuracy against each cost, the frontier points edged in black and joined."""
    n = max(1, len(panels))
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    markers = markers or {}
    for ax, panel in zip(axes.ravel(), panels):
        _draw_panel(ax, panel, colors, markers)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], marker=markers.get(c.key, "o"), ls="", color=colors[c.key], label=_mpl_text(c.key))
               for c in candidates]
    handles.append(plt.Line2D([], [], marker="o", ls="--", color="#444", markeredgecolor="black", label="Pareto frontier (black edge)"))
    handles.append(plt.Line2D([], [], marker="o", ls="", color="#444", markerfacecolor="none", label="estimated (hollow)"))
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=7, bbox_to_anchor=(0.5, -0.02 - 0.03 * math.ceil(len(handles) / 4)))
    fig.suptitle("Accuracy vs each cost (frontier: accuracy:max vs cost:min, throughput:max)", fontsize=10)
    fig.tight_layout()
    return fig


def _draw_panel(ax, panel: QualityCostPanel, colors, markers=None) -> None:
    """Marker = backend (hollow when estimated); points that coincide are spread (:func:`spread_coinciding`);
    a time cost is drawn in one unit (:func:`time_unit`)."""
    unit, factor = time_unit([p.cost for p in panel.points]) if panel.unit == "s" else (panel.unit, 1.0)
    for p, x in zip(panel.points, spread_coinciding(panel.points)):
        col = colors.get(p.candidate, "#333")
        ax.scatter(x * factor, p.quality, s=55 if p.on_frontier else 28, marker=(markers or {}).get(p.candidate, "o"),
                   facecolors="none" if p.provenance == "estimated" else col,
                   edgecolors="black" if p.on_frontier else col, linewidths=1.2, zorder=3,
                   label=_mpl_text(p.candidate))
    fr = panel.frontier
    if len(fr) > 1:
        ax.step([p.cost * factor for p in fr], [p.quality for p in fr], where="post" if panel.direction == "min" else "pre",
                color="#444", lw=1, ls="--", zorder=2)
    _log_x(ax)
    if panel.unit == "s":
        _plain_log(ax.xaxis)
    ax.set_xlabel(_mpl_text(_axis_title(panel.label, unit, panel.provenances)), fontsize=8)
    ax.set_ylabel(_mpl_text(panel.quality_axis), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _latency_figure(plt, lat, colors):
    """The ECDF of the raw per-call latencies at batch 1, one step line per candidate."""
    fig, ax = plt.subplots(figsize=(7, 4))
    unit, factor = time_unit([x for d in lat for x in d["x_s"]])
    for d in lat:
        ax.step(np.asarray(d["x_s"]) * factor, d["ecdf"], where="post", color=colors.get(d["candidate"], "#333"),
                label=_mpl_text(f"{d['candidate']} (n={d['n']})"))
    _log_x(ax)
    _plain_log(ax.xaxis)
    ax.set_xlabel(f"latency of one call at batch 1 [{unit}] (measured, raw samples)")
    ax.set_ylabel("share of calls at or below (ECDF)")
    ax.axhline(0.99, color="#999", lw=0.8, ls=":")
    ax.axhline(0.5, color="#999", lw=0.8, ls=":")
    ax.grid(alpha=0.3)
    if lat:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no latency samples at batch 1", transform=ax.transAxes, ha="center")
    fig.tight_layout()
    return fig


def _batch_figure(plt, curves, colors):
    """Per-sample p50 latency and throughput against the batch size, side by side."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    unit, factor = time_unit([r["latency_p50_per_sample_s"] for rows in curves.values() for r in rows])
    for cand, rows in curves.items():
        bs = [r["batch_size"] for r in rows]
        a1.plot(bs, [r["latency_p50_per_sample_s"] * factor for r in rows], marker="o", color=colors.get(cand, "#333"), label=_mpl_text(cand))
        a2.plot(bs, [r["throughput_samples_per_s"] for r in rows], marker="o", color=colors.get(cand, "#333"), label=_mpl_text(cand))
    all_bs = [r["batch_size"] for rows in curves.values() for r in rows]
    for a in (a1, a2):
        _batch_axis(a, all_bs)
        a.set_yscale("log")
        a.grid(alpha=0.3)
    _plain_log(a1.yaxis)
    a1.set_ylabel(f"p50 latency per sample [{unit}] (measured)")
    a2.set_ylabel("throughput [samples/s] (measured, batch / p50)")
    if curves:
        a2.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _energy_figure(plt, energy, colors):
    """Energy per sample against the batch size; estimated series dashed."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for (cand, prov), rows in energy.items():
        ax.plot([r["batch_size"] for r in rows], [r["energy_per_sample_j"] for r in rows], marker="o" if prov != "estimated" else "^",
                ls="-" if prov != "estimated" else "--", color=colors.get(cand, "#333"), label=_mpl_text(f"{cand} ({prov})"))
    _batch_axis(ax, [r["batch_size"] for rows in energy.values() for r in rows])
    ax.set_yscale("log")
    ax.set_ylabel("energy per sample [J] (solid: measured, dashed: estimated)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _tail_figure(plt, tails, colors):
    """Accuracy under each deadline: the mean over rounds, and the tail quantile dashed."""
    fig, ax = plt.subplots(figsize=(7, 4))
    unit, factor = time_unit([x for t in tails.values() for x in t["threshold_s"]])
    for cand, t in tails.items():
        col = colors.get(cand, "#333")
        xs = np.asarray(t["threshold_s"]) * factor
        ax.step(xs, [np.nan if v is None else v for v in t["mean"]], where="post", color=col, label=_mpl_text(f"{cand} mean"))
        if any(v is not None for v in t["tail"]):
            ax.step(xs, [np.nan if v is None else v for v in t["tail"]], where="post", color=col, ls="--",
                    label=_mpl_text(f"{cand} {t['tail_label']}"))
    ax.set_xscale("log")
    _plain_log(ax.xaxis)
    ax.set_xlabel(f"deadline [{unit}] (late answers count as wrong)")
    ax.set_ylabel(f"{tail_quality_label(tails)} under the deadline [ratio] (measured)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _metadata(fmt: str) -> dict:
    # reproducible files: no creation date (matplotlib honours SOURCE_DATE_EPOCH for PDF/SVG too)
    if fmt == "svg":
        return {"Date": None}
    if fmt == "pdf":
        return {"CreationDate": None}
    return {}
