"""The batching study on a stored run: which batch size to serve with, per candidate.

Pure: a RunRecord in, results out. Service times are the run's raw per-call latency samples at
each measured batch size; energy per batch is the run's ``energy_per_batch_j`` metric (measured or
estimated, and labelled so). The queue simulation is :mod:`effbench.analysis.batching`.

That metric is the machine's total energy during a batch call, idle baseline included. So that
the time the server waits for requests is not free (which would favour large batches that wait
long to fill), the run's idle power (``run.environment["energy"]["idle_power_w"]``, measured or
estimated before the cells) is passed to the simulation: energy per sample = (energy of the
batches + idle power x idle time) / requests. A run without an idle power (a counter with
``idle_s=0``) counts the batches only, and the result says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from effbench.analysis.batching import LatencyObjective, Recommendation, batch_size_table, make_profiles, recommend_batch_size
from effbench.errors import ConfigError, DataError
from effbench.records import ENERGY_PER_BATCH_J, LATENCY_PER_CALL

__all__ = ["SCHEMA", "BatchingStudy", "CandidateBatching", "batching_study", "profiles_from_run", "run_idle_power_w",
           "study_batching"]

#: ``schema`` of :meth:`BatchingStudy.to_dict` (the document ``effbench batching --json`` writes)
SCHEMA = "effbench.batching/1"


@dataclass(frozen=True)
class CandidateBatching:
    """One candidate's batch-size table (:func:`~effbench.analysis.batching.batch_size_table`) and the
    recommended serving setting."""

    table: list[dict]
    recommendation: Recommendation

    def to_dict(self) -> dict:
        return {"table": self.table, "recommendation": self.recommendation.to_dict()}


@dataclass(frozen=True)
class BatchingStudy:
    """The batching study of a run: per candidate, in the order asked."""

    run_id: str
    arrival_rate_per_s: float
    objective: LatencyObjective
    candidates: dict[str, CandidateBatching] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "run_id": self.run_id, "arrival_rate_per_s": self.arrival_rate_per_s,
                "objective": {"percentile": self.objective.percentile, "bound_s": self.objective.bound_s},
                "candidates": {k: v.to_dict() for k, v in self.candidates.items()}}


def profiles_from_run(run, candidate: str):
    """Batch profiles (service-time samples + energy per batch) of one candidate of a run."""
    times = {s.batch_size: s.values for s in run.samples_for(candidate, kind=LATENCY_PER_CALL)}
    if not times:
        raise DataError(f"candidate {candidate!r} has no latency samples in run {run.run_id}")
    energy, prov = {}, {}
    for m in run.metrics_for(candidate, ENERGY_PER_BATCH_J):
        if m.value is not None and m.batch_size in times:
            energy[m.batch_size] = m.value
            prov[m.batch_size] = m.provenance
    missing = sorted(set(times) - set(energy))
    if missing:
        raise DataError(
            f"candidate {candidate!r} of run {run.run_id} has no energy per batch at batch size(s) {missing}; "
            "the batching study needs a run measured with energy (the default)"
        )
    return make_profiles(times, energy, prov)


def run_idle_power_w(run) -> float | None:
    """The run's idle power in watts (``environment["energy"]["idle_power_w"]``), or None."""
    energy = (run.environment or {}).get("energy") or {}
    value = energy.get("idle_power_w")
    return None if value is None else float(value)


def batching_study(run, candidates, arrival_rate_per_s: float, objective: LatencyObjective, *,
                   idle_power_by_candidate=None, **kwargs) -> BatchingStudy:
    """Per candidate: the batch-size table and the recommended serving setting (see recommend_batch_size).

    ``candidates``: keys of the run's candidates; None or empty: every candidate that did not fail.
    ``idle_power_w`` defaults to the run's idle power (:func:`run_idle_power_w`; 0 when it has
    none); each recommendation carries it (``idle_power_w``, ``energy_per_sample_from``).
    ``idle_power_by_candidate`` (key -> watts or None) replaces the run's for those candidates.
    """
    keys = list(candidates or [c.key for c in run.candidates if c.status == "ok"])
    unknown = [k for k in keys if not run.has_candidate(k)]
    if unknown:
        known = ", ".join(sorted(c.key for c in run.candidates))
        raise ConfigError(f"candidates: {unknown[0]!r} is not in run {run.run_id}; allowed: {known}")
    given = "idle_power_w" in kwargs
    if not given:
        idle = run_idle_power_w(run)
        if idle is not None:
            kwargs["idle_power_w"] = idle
    out = {}
    for key in keys:
        profiles = profiles_from_run(run, key)
        options = dict(kwargs)
        if not given and idle_power_by_candidate is not None and key in idle_power_by_candidate:
            options.pop("idle_power_w", None)
            if idle_power_by_candidate[key] is not None:
                options["idle_power_w"] = idle_power_by_candidate[key]
        out[key] = CandidateBatching(batch_size_table(profiles),
                                     recommend_batch_size(profiles, arrival_rate_per_s, objective, **options))
    return BatchingStudy(run.run_id, float(arrival_rate_per_s), objective, out)


def study_batching(study, candidates, arrival_rate_per_s: float, objective: LatencyObjective, **kwargs) -> BatchingStudy:
    """:func:`batching_study` on several runs (an :class:`effbench.analysis.multirun.RunStudy`): each
    candidate on each hardware (``key@hardware``) with its own run's samples and idle power."""
    run = study.merged()
    idle = {r.run_id: run_idle_power_w(r) for r in study.runs}
    by_candidate = {c.key: idle[c.info.get("source_run", run.run_id)] for c in run.candidates}  # one run: itself
    return batching_study(run, candidates, arrival_rate_per_s, objective, idle_power_by_candidate=by_candidate, **kwargs)
