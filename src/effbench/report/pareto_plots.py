"""2-D projections of a Pareto analysis: every pair of objectives, the exact frontier drawn, and
each model's probability of being on the frontier (from the stochastic frontier) as its colour.

Used by ``effbench pareto ... --plot DIR``; works for effbench's runs and for external tables.
matplotlib (Agg) is imported when a figure is drawn.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from effbench.errors import ConfigError


def _staircase(x, y, x_better_max: bool, y_better_max: bool):
    """The 2-D non-dominated points of (x, y), sorted along x, for drawing the projection's frontier."""
    sx = 1.0 if x_better_max else -1.0
    sy = 1.0 if y_better_max else -1.0
    order = np.lexsort((-sy * y, -sx * x))  # best x first, ties by best y
    front, best_y = [], -np.inf
    for i in order:
        if sy * y[i] > best_y:
            front.append(i)
            best_y = sy * y[i]
    front = np.asarray(front, dtype=int)
    return front[np.argsort(x[front])] if front.size else front


def _prepare(directory: Path, paths: list[Path], force: bool) -> None:
    """Refuse a file given as the folder and existing figures without ``force``; create the folder."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"--plot {str(directory)!r} is a file; give a folder")
    existing = [p for p in paths if p.exists()]
    if existing and not force:
        raise ConfigError(f"--plot: {str(existing[0])!r} already exists ({len(existing)} file(s)); give --force to overwrite")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--plot: cannot create {str(directory)!r}: {exc.strerror}") from None


def _draw_pair(ax, keys, x, y, obj_x, obj_y, colour, on_frontier, stochastic: bool, label_top: int):
    """One projection on ``ax``; returns the scatter (for the colour bar)."""
    sc = ax.scatter(x, y, c=colour, cmap="viridis", vmin=0, vmax=1, s=18, alpha=0.85, linewidths=0)
    ax.scatter(x[on_frontier], y[on_frontier], s=46, facecolors="none", edgecolors="crimson", linewidths=0.9,
               label="on the frontier (all objectives)")
    front = _staircase(x, y, obj_x.direction == "max", obj_y.direction == "max")
    if front.size:
        # the boundary of the dominated region: between two frontier points it takes the value of the
        # point that dominates that stretch (the right one when larger x is better)
        where = "pre" if obj_x.direction == "max" else "post"
        ax.step(x[front], y[front], where=where, color="crimson", lw=0.8, alpha=0.6, label="frontier of this projection")
    for col, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
        finite = col[np.isfinite(col)]
        if finite.size and finite.min() > 0 and finite.max() / finite.min() > 100:
            setter("log")
    ranked = np.argsort(-colour)[:label_top] if stochastic else np.flatnonzero(on_frontier)[:label_top]
    for k in ranked:
        ax.annotate(str(keys[k]).replace("$", r"\$"), (x[k], y[k]), fontsize=6, alpha=0.8, xytext=(3, 3),
                    textcoords="offset points")
    ax.set_xlabel(f"{obj_x.name} ({'higher' if obj_x.direction == 'max' else 'lower'} is better)")
    ax.set_ylabel(f"{obj_y.name} ({'higher' if obj_y.direction == 'max' else 'lower'} is better)")
    ax.legend(loc="best", fontsize=7)
    ax.set_title(f"{len(keys)} models: {obj_x.name} vs {obj_y.name}", fontsize=9)
    return sc


def write_pareto_projections(keys, matrix, objectives, on_frontier, directory, *, p_frontier=None, force=False,
                             formats=("png",), max_pairs: int = 28, label_top: int = 12) -> list[Path]:
    """One figure per pair of objectives (at most ``max_pairs``) in ``directory``.

    Every model is a point; models on the full multi-objective frontier are outlined; the line is
    the frontier of that 2-D projection alone. With ``p_frontier`` the colour is the probability of
    being on the frontier (stochastic frontier), else frontier membership. Log axes when a column
    spans more than two decades and is positive. Refuses to overwrite without ``force``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory = Path(directory)
    m = np.asarray(matrix, dtype=float)
    names = [o.name for o in objectives]
    pairs = list(itertools.combinations(range(len(objectives)), 2))[:max_pairs]
    path_of = {(i, j, fmt): directory / f"pareto_{names[i]}__{names[j]}.{fmt}".replace("/", "_")
               for i, j in pairs for fmt in formats}
    _prepare(directory, list(path_of.values()), force)
    on_frontier = np.asarray(on_frontier, dtype=bool)
    colour = np.asarray(p_frontier, dtype=float) if p_frontier is not None else on_frontier.astype(float)
    written = []
    for (i, j) in pairs:
        fig, ax = plt.subplots(figsize=(7, 5), dpi=110)
        sc = _draw_pair(ax, keys, m[:, i], m[:, j], objectives[i], objectives[j], colour, on_frontier,
                        p_frontier is not None, label_top)
        fig.colorbar(sc, ax=ax, label="P(on the frontier)" if p_frontier is not None else "on the frontier (1) or not (0)")
        fig.tight_layout()
        try:
            for fmt in formats:
                fig.savefig(path_of[(i, j, fmt)])
                written.append(path_of[(i, j, fmt)])
        except OSError as exc:
            raise ConfigError(f"--plot: cannot write {str(path_of[(i, j, fmt)])!r}: {exc.strerror}") from None
        finally:
            plt.close(fig)
    return written
