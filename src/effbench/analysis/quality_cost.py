"""Accuracy against every cost indicator of a run, with the Pareto frontier of each pair marked.

The data of the report's "accuracy vs each cost" panels (HTML and static figures): one
:class:`QualityCostPanel` per cost of :data:`COSTS`, the frontier of ``accuracy:max`` against that
one cost (``:min``; throughput ``:max``) computed with :func:`effbench.analysis.pareto.nondominated_mask`.

Pure: a RunRecord in, dataclasses out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from effbench.analysis.objectives import Objective, oriented_matrix
from effbench.analysis.pareto import nondominated_mask
from effbench.analysis.run_misnomer import run_indicator_table

__all__ = ["COSTS", "Point", "QualityCostPanel", "quality_vs_cost"]

#: (indicator name of :mod:`effbench.analysis.run_table`, label, unit, direction)
COSTS: tuple[tuple[str, str, str, str], ...] = (
    ("params", "parameters", "count", "min"),
    ("flops_per_sample", "FLOPs per sample", "FLOP", "min"),
    ("size_bytes", "size on disk", "bytes", "min"),
    ("peak_rss_bytes_b1", "peak memory (process RSS, batch 1)", "bytes", "min"),
    ("latency_p50_s_b1", "p50 latency at batch 1", "s", "min"),
    ("best_throughput_samples_per_s", "best throughput", "samples/s", "max"),
    ("energy_per_sample_j_b1", "energy per sample at batch 1", "J", "min"),
)


@dataclass(frozen=True)
class Point:
    candidate: str
    quality: float
    cost: float
    provenance: str
    on_frontier: bool


@dataclass(frozen=True)
class QualityCostPanel:
    cost: str
    label: str
    unit: str
    direction: str
    points: tuple[Point, ...]
    provenances: tuple[str, ...]
    missing: tuple[str, ...] = field(default=())   # candidates without this cost or without accuracy
    quality: str = "accuracy"                      # the quality axis: accuracy, or the run's own first metric
    quality_direction: str = "max"

    @property
    def quality_axis(self) -> str:
        """The quality axis' title: ``accuracy [ratio] (measured)``, or a run's own metric with its direction."""
        if self.quality == "accuracy":
            return "accuracy [ratio] (measured)"
        return f"{self.quality} ({'lower' if self.quality_direction == 'min' else 'higher'} is better; measured)"

    @property
    def frontier(self) -> list[Point]:
        """Frontier points ordered by cost (a staircase from cheap to costly)."""
        return sorted((p for p in self.points if p.on_frontier), key=lambda p: p.cost)


def quality_vs_cost(run, *, include_empty: bool = False) -> list[QualityCostPanel]:
    """One panel per cost indicator with accuracy on the other axis and the frontier marked.

    Values come from :func:`effbench.analysis.run_table.run_objective_table` (the indicator names
    of ``effbench pareto RUN_ID``); failed candidates are left out. A cost that no candidate has
    is left out unless ``include_empty``.
    """
    quality, q_dir = run_quality(run)
    names, values, provs, _ = run_indicator_table(run, [quality] + [col for col, _, _, _ in COSTS])
    acc = values[quality]
    panels = []
    for col, label, unit, direction in COSTS:
        cost = values[col]
        ok = np.isfinite(acc) & np.isfinite(cost)
        missing = tuple(n for n, k in zip(names, ok) if not k)
        if not ok.any() and not include_empty:
            continue
        idx = np.flatnonzero(ok)
        if idx.size:
            X = oriented_matrix({quality: acc[idx], col: cost[idx]},
                                [Objective(quality, q_dir), Objective(col, direction)])
            front = nondominated_mask(X)
        else:
            front = np.zeros(0, dtype=bool)
        pts = tuple(Point(names[i], float(acc[i]), float(cost[i]), provs[col][i] or "measured", bool(f))
                    for i, f in zip(idx, front))
        panels.append(QualityCostPanel(col, label, unit, direction, pts,
                                       tuple(sorted({p.provenance for p in pts})), missing, quality, q_dir))
    return panels


def run_quality(run) -> tuple[str, str]:
    """(the quality metric, its direction) the report reads: the run's own first metric (a suite's
    ``rmse``: min) when its task lists metrics, else accuracy (max)."""
    from effbench.analysis.costs import task_metric_names
    from effbench.analysis.run_table import stored_direction

    names = task_metric_names(run)
    if not names:
        return "accuracy", "max"
    return names[0], stored_direction(run, names[0]) or "max"
