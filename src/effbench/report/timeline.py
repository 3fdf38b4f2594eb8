"""``effbench timeline`` rendered: the text of a :class:`effbench.analysis.timeline.Timeline` and its figure.

:func:`render_timeline` gives the lines to print; :func:`write_timeline_plot` draws the figure
(matplotlib, Agg, as :mod:`effbench.report.figures`): one panel per column with the models, the
fitted trend and its confidence band on a log axis, and a first panel with every trend divided by
its value in the first year, so that the faster growth shows as the steeper line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from effbench.analysis.timeline import CANNOT_TELL, FASTER, Trend
from effbench.errors import ConfigError
from effbench.numbers import fmt_ratio

__all__ = ["format_rate", "render_timeline", "check_plot_path", "write_timeline_plot"]

PLOT_FORMATS = ("png", "svg")


def _pct(r: float) -> str:
    p = 100.0 * r
    return f"{p:.1f}" if abs(p) < 10 else f"{p:.0f}"


def format_rate(t: Trend) -> str:
    """``+38%/year [29, 48]``: the fitted rate and its interval, in percent per year."""
    sign = "+" if t.rate >= 0 else ""
    return f"{sign}{_pct(t.rate)}%/year [{_pct(t.rate_low)}, {_pct(t.rate_high)}]"


def _verdict(c) -> str:
    if c.verdict == FASTER:
        return f"{c.cost} rises faster than {c.quality}"
    if c.verdict == CANNOT_TELL:
        return f"cannot tell whether {c.cost} rises faster than {c.quality} (the interval contains 0)"
    return f"{c.cost} rises more slowly than {c.quality}"


def render_timeline(tl, source: str = "") -> list[str]:
    """The lines ``effbench timeline`` prints."""
    lo, hi = float(tl.years.min()), float(tl.years.max())
    dropped = f"{len(tl.dropped)} of {tl.rows_read} rows dropped: missing values" if tl.dropped else "no row dropped"
    out = [f"timeline{' of ' + source if source else ''}: {len(tl.labels)} models, {lo:g}-{hi:g} ({dropped})",
           f"log-linear trend per year, {100 * tl.confidence:g}% confidence intervals:"]
    width = max(len(t.column) for t in tl.trends)
    for t in tl.trends:
        out.append(f"  {t.column:<{width}}  {t.role:<7}  {format_rate(t):<28}  n={t.n}, R^2={fmt_ratio(t.r_squared, 2)}")
    out.append("")
    for c in tl.comparisons:
        out.append(f"{_verdict(c)}: {c.cost} per unit of {c.quality} {format_rate(c.ratio)}")
    return out


def check_plot_path(path, force: bool) -> Path:
    """Fail before any work when ``--plot`` cannot be written: a format other than png/svg, an existing
    file without ``force``, a folder, a missing parent folder."""
    from effbench.store.files import check_output

    p = Path(path)
    if p.suffix.lower().lstrip(".") not in PLOT_FORMATS:
        raise ConfigError(f"--plot {str(p)!r}: the file name must end in .png or .svg; got {p.suffix or 'no extension'!r}")
    return check_output(p, force, "--plot")


def write_timeline_plot(tl, path, *, force: bool = False) -> Path:
    """Draw the timeline into ``path`` (.png or .svg) and return it; refuses to overwrite without ``force``."""
    from effbench.report.figures import _metadata, _mpl_text, _pyplot

    p = check_plot_path(path, force)
    plt = _pyplot()
    trends = tl.trends
    ncols = min(3, len(trends) + 1)
    nrows = math.ceil((len(trends) + 1) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.4 * ncols, 3.6 * nrows), squeeze=False)
    axes = axes.ravel()
    grid = np.linspace(float(tl.years.min()), float(tl.years.max()), 100)
    colors = ["#4e79a7", "#e15759", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#9c755f"]
    ax = axes[0]
    for t, col in zip(trends, colors * len(trends)):
        base = t.fitted(grid[:1])[0]
        low, high = t.band(grid)
        ax.plot(grid, t.fitted(grid) / base, color=col, label=_mpl_text(f"{t.column} ({t.role}): {format_rate(t)}"))
        ax.fill_between(grid, low / base, high / base, color=col, alpha=0.15, lw=0)
    ax.set_yscale("log")
    ax.set_title(f"trends relative to {grid[0]:g}", fontsize=9)
    ax.set_ylabel("fitted value / value in the first year", fontsize=8)
    ax.legend(fontsize=7)
    for ax, t, col in zip(axes[1:], trends, colors * len(trends)):
        ax.scatter(tl.years, tl.values[t.column], s=18, color=col, zorder=3)
        low, high = t.band(grid)
        ax.plot(grid, t.fitted(grid), color="#333", lw=1)
        ax.fill_between(grid, low, high, color=col, alpha=0.2, lw=0)
        ax.set_yscale("log")
        ax.set_title(_mpl_text(f"{t.column} ({t.role}): {format_rate(t)}"), fontsize=9)
        ax.set_ylabel(_mpl_text(t.column), fontsize=8)
    for ax in axes[: len(trends) + 1]:
        ax.set_xlabel("year", fontsize=8)
        ax.tick_params(which="both", labelsize=7)
        ax.grid(alpha=0.3)
    for ax in axes[len(trends) + 1:]:
        ax.set_visible(False)
    fig.suptitle(f"models over their years: log-linear trends, {100 * tl.confidence:g}% confidence bands "
                 f"({len(tl.labels)} models)", fontsize=10)
    fig.tight_layout()
    fmt = p.suffix.lower().lstrip(".")
    try:
        fig.savefig(p, dpi=130 if fmt == "png" else None, bbox_inches="tight", metadata=_metadata(fmt))
    except OSError as exc:
        raise ConfigError(f"--plot: cannot write {str(p)!r}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    return p
