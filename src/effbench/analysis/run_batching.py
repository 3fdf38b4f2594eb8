"""The batching study on a stored run: which batch size to serve with, per candidate.

Pure: a RunRecord in, results out. Service times are the run's raw per-call latency samples at
each measured batch size; energy per batch is the run's ``energy_per_batch_j`` metric (measured or
estimated, and labelled so). The queue simulation is :mod:`effbench.analysis.batching`.
"""

from __future__ import annotations

from effbench.analysis.batching import LatencyObjective, batch_size_table, make_profiles, recommend_batch_size
from effbench.errors import DataError

LATENCY_KIND = "latency_per_call"


def profiles_from_run(run, candidate: str):
    """Batch profiles (service-time samples + energy per batch) of one candidate of a run."""
    times = {s.batch_size: s.values for s in run.samples if s.candidate == candidate and s.kind == LATENCY_KIND and len(s.values)}
    if not times:
        raise DataError(f"candidate {candidate!r} has no latency samples in run {run.run_id}")
    energy, prov = {}, {}
    for m in run.metrics:
        if m.candidate == candidate and m.name == "energy_per_batch_j" and m.value is not None and m.batch_size in times:
            energy[m.batch_size] = m.value
            prov[m.batch_size] = m.provenance
    missing = sorted(set(times) - set(energy))
    if missing:
        raise DataError(
            f"candidate {candidate!r} of run {run.run_id} has no energy per batch at batch size(s) {missing}; "
            "the batching study needs a run measured with energy (the default)"
        )
    return make_profiles(times, energy, prov)


def batching_study(run, candidates, arrival_rate_per_s: float, objective: LatencyObjective, **kwargs) -> dict:
    """Per candidate: the batch-size table and the recommended serving setting (see recommend_batch_size)."""
    out = {}
    for key in candidates:
        profiles = profiles_from_run(run, key)
        out[key] = {
            "table": batch_size_table(profiles),
            "recommendation": recommend_batch_size(profiles, arrival_rate_per_s, objective, **kwargs),
        }
    return out
