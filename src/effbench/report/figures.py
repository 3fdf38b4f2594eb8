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
    "quality_vs_cost",
    "latency_distributions",
    "batch_curves",
    "energy_curves",
    "tail_curves",
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
    "unconstrained": float | None, "rounds_used": int | None, "rounds_measured": int | None}``
    from ``info["tail"]``.

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
        }
    return out


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
    files = _FigureFiles(plt, directory, formats, run.run_id)
    files.save(_quality_vs_cost_figure(plt, panels, run.candidates, colors), "quality_vs_cost")
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


def _quality_vs_cost_figure(plt, panels, candidates, colors):
    """A grid of panels, accuracy against each cost, the frontier points edged in black and joined."""
    n = max(1, len(panels))
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.4 * nrows), squeeze=False)
    for ax, panel in zip(axes.ravel(), panels):
        _draw_panel(ax, panel, colors)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], marker="o", ls="", color=colors[c.key], label=_mpl_text(c.key)) for c in candidates]
    handles.append(plt.Line2D([], [], marker="o", ls="--", color="#444", markeredgecolor="black", label="Pareto frontier (black edge)"))
    fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=7, bbox_to_anchor=(0.5, -0.02 - 0.03 * math.ceil(len(handles) / 4)))
    fig.suptitle("Accuracy vs each cost (frontier: accuracy:max vs cost:min, throughput:max)", fontsize=10)
    fig.tight_layout()
    return fig


def _draw_panel(ax, panel: QualityCostPanel, colors) -> None:
    for p in panel.points:
        ax.scatter(p.cost, p.quality, color=colors.get(p.candidate, "#333"), s=55 if p.on_frontier else 28,
                   marker="o" if p.provenance != "estimated" else "^",
                   edgecolors="black" if p.on_frontier else "none", zorder=3,
                   label=_mpl_text(p.candidate))
    fr = panel.frontier
    if len(fr) > 1:
        ax.step([p.cost for p in fr], [p.quality for p in fr], where="post" if panel.direction == "min" else "pre",
                color="#444", lw=1, ls="--", zorder=2)
    _log_x(ax)
    ax.set_xlabel(_mpl_text(_axis_title(panel.label, panel.unit, panel.provenances)), fontsize=8)
    ax.set_ylabel(_mpl_text(panel.quality_axis), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)


def _latency_figure(plt, lat, colors):
    """The ECDF of the raw per-call latencies at batch 1, one step line per candidate."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for d in lat:
        ax.step(d["x_s"], d["ecdf"], where="post", color=colors.get(d["candidate"], "#333"),
                label=_mpl_text(f"{d['candidate']} (n={d['n']})"))
    _log_x(ax)
    ax.set_xlabel("latency of one call at batch 1 [s] (measured, raw samples)")
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
    for cand, rows in curves.items():
        bs = [r["batch_size"] for r in rows]
        a1.plot(bs, [r["latency_p50_per_sample_s"] for r in rows], marker="o", color=colors.get(cand, "#333"), label=_mpl_text(cand))
        a2.plot(bs, [r["throughput_samples_per_s"] for r in rows], marker="o", color=colors.get(cand, "#333"), label=_mpl_text(cand))
    for a in (a1, a2):
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_xlabel("batch size")
        a.grid(alpha=0.3)
    a1.set_ylabel("p50 latency per sample [s] (measured)")
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
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("energy per sample [J] (solid: measured, dashed: estimated)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _tail_figure(plt, tails, colors):
    """Accuracy under each deadline: the mean over rounds, and the tail quantile dashed."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for cand, t in tails.items():
        col = colors.get(cand, "#333")
        ax.step(t["threshold_s"], [np.nan if v is None else v for v in t["mean"]], where="post", color=col, label=_mpl_text(f"{cand} mean"))
        if any(v is not None for v in t["tail"]):
            ax.step(t["threshold_s"], [np.nan if v is None else v for v in t["tail"]], where="post", color=col, ls="--",
                    label=_mpl_text(f"{cand} {t['tail_label']}"))
    ax.set_xscale("log")
    ax.set_xlabel("deadline [s] (late answers count as wrong)")
    ax.set_ylabel("accuracy under the deadline [ratio] (measured)")
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
