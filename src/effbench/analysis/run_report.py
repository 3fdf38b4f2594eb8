"""The analyses the report of one run shows, computed once, before any rendering.

:func:`run_report` computes the accuracy-vs-cost panels with their Pareto frontiers
(:func:`effbench.analysis.quality_cost.quality_vs_cost`), runs the misnomer analysis (:func:`effbench.analysis.run_misnomer.run_misnomer`)
and the recommendation (:func:`effbench.analysis.selection.recommend` with the defaults of
``effbench recommend RUN_ID``) on a run and keeps, for each, either its result or the reason the
run cannot give one (the run lacks what the analysis needs: a :class:`effbench.errors.EffbenchError`;
anything else is a bug and propagates). The renderers of :mod:`effbench.report` take the
:class:`RunReport` and only format it.

Pure: a RunRecord in, a :class:`RunReport` out (no I/O, no clock, no printing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from effbench.analysis import selection
from effbench.analysis.quality_cost import QualityCostPanel, quality_vs_cost, run_quality
from effbench.analysis.run_misnomer import RunMisnomer, run_misnomer
from effbench.errors import DataError, EffbenchError

__all__ = ["SCHEMA", "MISNOMER_TOP", "RunReport", "run_report"]

#: ``schema`` of :meth:`RunReport.to_dict`
SCHEMA = "effbench.report/1"
#: contradictions listed per indicator pair in the report
MISNOMER_TOP = 5


@dataclass(frozen=True)
class RunReport:
    """A run and the analyses its report shows: each a result, or None and the reason why not."""

    run: object
    misnomer: RunMisnomer | None = None
    misnomer_error: str | None = None
    recommendation: selection.Recommendation | None = None
    recommendation_error: str | None = None
    quality_vs_cost: list[QualityCostPanel] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "run_id": self.run.run_id,
                "misnomer": None if self.misnomer is None else self.misnomer.to_dict(),
                "misnomer_error": self.misnomer_error,
                "recommendation": None if self.recommendation is None else self.recommendation.to_dict(),
                "recommendation_error": self.recommendation_error,
                "quality_vs_cost": [{**asdict(p), "points": [asdict(pt) for pt in p.points], "provenances": list(p.provenances),
                                     "missing": list(p.missing)} for p in self.quality_vs_cost]}


def run_report(run, *, preference=selection.DEFAULT_PREFERENCE, misnomer_top: int = MISNOMER_TOP) -> RunReport:
    """The accuracy-vs-cost panels, the misnomer analysis and the recommendation of ``run`` (each of the
    last two, or why the run cannot give it)."""
    misnomer = recommendation = None
    misnomer_error = recommendation_error = None
    try:
        misnomer = run_misnomer(run, top=misnomer_top)
    except DataError as exc:
        misnomer_error = str(exc)
    try:
        recommendation = selection.recommend(run, preference=preference, quality=run_quality(run)[0])
    except EffbenchError as exc:
        recommendation_error = str(exc)
    return RunReport(run, misnomer, misnomer_error, recommendation, recommendation_error, quality_vs_cost(run))
