"""What a run is, independent of where it is stored: the record types and every metric name.

This module is the bottom of the stack: it imports nothing of effbench's but the errors, and does
no I/O. The store reads and writes these records, the runs layer creates them, the analyses and
reports read them.

Every metric name, sample kind, unit and provenance string is defined here, once. Metrics per
batch size carry their batch size; static ones (params, size, FLOPs, quality, training) batch
size 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# -- provenance of a value ---------------------------------------------------------------------------
MEASURED = "measured"      # taken on this machine, in this run
ESTIMATED = "estimated"    # a model of the truth (e.g. energy from TDP x utilisation); always labelled
ANALYTIC = "analytic"      # computed from the model itself (parameters, FLOPs)
REPORTED = "reported"      # typed in by a user (e.g. a training time); never measured by effbench
PROVENANCES = (MEASURED, ESTIMATED, ANALYTIC, REPORTED)

# -- sample kinds (raw samples are the truth; summaries are derived) -----------------------------------
LATENCY_PER_CALL = "latency_per_call"            # seconds per call of infer() on one batch
TAIL_E2E_PER_BATCH = "tail_e2e_per_batch"        # tail rounds: rounds x batches, row-major
TAIL_INFERENCE_PER_BATCH = "tail_inference_per_batch"


def tail_kind(time_kind: str) -> str:
    """The sample kind of a tail measurement's per-batch times (``e2e`` or ``inference``)."""
    return {"e2e": TAIL_E2E_PER_BATCH, "inference": TAIL_INFERENCE_PER_BATCH}[time_kind]


# -- metric names --------------------------------------------------------------------------------------
PARAMS = "params"
NONZERO_PARAMS = "nonzero_params"                 # parameters that are not exactly zero (pruned models)
SIZE_BYTES = "size_bytes"
COMPRESSED_SIZE_BYTES = "compressed_size_bytes"   # the serialized artefact compressed (zlib, level 9)
FLOPS_PER_SAMPLE = "flops_per_sample"
ACCURACY = "accuracy"
F1_MACRO = "f1_macro"
TRAIN_TIME_S = "train_time_s"
TRAIN_ENERGY_J = "train_energy_j"
PEAK_MEMORY_BYTES = "peak_memory_bytes"
PEAK_RSS_BYTES = "peak_rss_bytes"
ENERGY_PER_BATCH_J = "energy_per_batch_j"
ENERGY_PER_SAMPLE_J = "energy_per_sample_j"
ACTIVE_ENERGY_PER_SAMPLE_J = "active_energy_per_sample_j"
CARBON_PER_SAMPLE_G = "carbon_per_sample_g"

UNITS = {
    PARAMS: "count",
    NONZERO_PARAMS: "count",
    SIZE_BYTES: "bytes",
    COMPRESSED_SIZE_BYTES: "bytes",
    FLOPS_PER_SAMPLE: "FLOP",
    ACCURACY: "ratio",
    F1_MACRO: "ratio",
    TRAIN_TIME_S: "s",
    TRAIN_ENERGY_J: "J",
    PEAK_MEMORY_BYTES: "bytes",
    PEAK_RSS_BYTES: "bytes",
    ENERGY_PER_BATCH_J: "J",
    ENERGY_PER_SAMPLE_J: "J",
    ACTIVE_ENERGY_PER_SAMPLE_J: "J",
    CARBON_PER_SAMPLE_G: "gCO2e",
}
"""The unit each metric is stored with."""

QUALITY_METRICS = (ACCURACY, F1_MACRO)
"""Quality metrics of the digits suite and effbench.benchmark, larger is better. A suite file's task
may score others (``balanced_accuracy``, ``top5``, ``mae``, ``rmse``, ``r2``, custom ones): each is
stored with its direction in the metric's detail (``"direction": "max"`` or ``"min"``) and listed
with it in the run's task record (``task["metrics"]``)."""


def unit_of(name: str) -> str:
    """The unit a metric is stored with: :data:`UNITS`, ``ratio`` for the other classification
    shares (``balanced_accuracy``, ``top5``, ...), ``target`` for an error in the regression
    target's unit (``mae``, ``rmse``), ``1`` for ``r2`` and ``score`` for a custom metric."""
    if name in UNITS:
        return UNITS[name]
    if name == "balanced_accuracy" or (name.startswith("top") and name[3:].isdigit()):
        return "ratio"
    return {"mae": "target", "rmse": "target", "r2": "1"}.get(name, "score")


def quality_direction(run_task: dict | None, name: str) -> str | None:
    """The direction (``max``/``min``) a run's task record gives quality metric ``name``, or None
    when the task does not list it (the digits suite: accuracy and f1_macro, both ``max``)."""
    for m in (run_task or {}).get("metrics") or ():
        if isinstance(m, dict) and m.get("name") == name:
            return m.get("direction")
    return None

RANDOM_WEIGHTS = "random"
"""A candidate's ``info["weights"]`` when its weights are random on purpose (``weights = "random"`` in
a suite file): its cost figures are valid, its quality is meaningless
(:func:`effbench.analysis.costs.random_weight_keys`)."""


def is_quality_metric(run_task: dict | None, name: str) -> bool:
    """Is ``name`` a quality metric of a run with this task record (accuracy, macro-F1, or one its task lists)?"""
    return name in QUALITY_METRICS or quality_direction(run_task, name) is not None


TRACK_SUITE = "track"
"""The suite of a tracking (``effbench track``, :func:`effbench.track`): a run that holds the training
time and energy of one piece of code; ``latest`` never lands on one."""

# -- statuses ------------------------------------------------------------------------------------------
RUN_STATUSES = ("running", "complete", "interrupted", "failed")
CANDIDATE_STATUSES = ("pending", "running", "ok", "failed")


@dataclass
class Metric:
    candidate: str
    name: str
    value: float | None
    unit: str
    provenance: str
    batch_size: int = 0        # 0: not per batch size
    detail: dict = field(default_factory=dict)


@dataclass
class SampleSet:
    candidate: str
    batch_size: int
    kind: str                  # LATENCY_PER_CALL, TAIL_E2E_PER_BATCH, ...
    unit: str
    values: np.ndarray
    meta: dict = field(default_factory=dict)


@dataclass
class CandidateRecord:
    key: str
    model: str
    backend: str
    family: str = ""
    parent: str | None = None
    status: str = "pending"    # pending | running | ok | failed
    error: str | None = None
    info: dict = field(default_factory=dict)
    predictions: list | None = None


@dataclass(repr=False)
class RunRecord:
    """One run: its setup, candidates, metrics and raw samples.

    The accessors (:meth:`candidate`, :meth:`metric`, :meth:`metrics_for`, :meth:`sample_set`,
    :meth:`samples_for`) look values up through an index that is rebuilt whenever the lists
    change length, so reading a run is not a linear scan per value.
    """

    run_id: str
    created_at: str
    status: str                # running | complete | interrupted | failed
    suite: str | None = None
    finished_at: str | None = None
    effbench_version: str | None = None
    config: dict = field(default_factory=dict)
    environment: dict = field(default_factory=dict)
    task: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    candidates: list[CandidateRecord] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    samples: list[SampleSet] = field(default_factory=list)
    _index: tuple | None = field(default=None, init=False, compare=False)

    def __repr__(self) -> str:
        n_failed = sum(1 for c in self.candidates if c.status == "failed")
        return (f"<RunRecord {self.run_id} {self.status}, suite {self.suite!r}: {len(self.candidates)} candidates"
                f" ({n_failed} failed), {len(self.metrics)} metrics, {len(self.samples)} sample sets>")

    # -- the index -------------------------------------------------------------------------------
    def _lookup(self):
        sig = (id(self.candidates), len(self.candidates), id(self.metrics), len(self.metrics),
               id(self.samples), len(self.samples))
        if self._index is None or self._index[0] != sig:
            cands = {c.key: c for c in self.candidates}
            metrics: dict[tuple[str, str, int], Metric] = {}
            by_candidate: dict[str, list[Metric]] = {}
            for m in self.metrics:
                metrics[(m.candidate, m.name, int(m.batch_size))] = m
                by_candidate.setdefault(m.candidate, []).append(m)
            samples: dict[tuple[str, int, str], SampleSet] = {}
            for s in self.samples:
                samples[(s.candidate, int(s.batch_size), s.kind)] = s
            names = frozenset((name, b) for (_, name, b) in metrics)
            self._index = (sig, cands, metrics, by_candidate, samples, names)
        return self._index

    # -- accessors -------------------------------------------------------------------------------
    def candidate(self, key: str) -> CandidateRecord:
        """The candidate record with this key (``KeyError`` when there is none)."""
        return self._lookup()[1][key]

    def has_candidate(self, key: str) -> bool:
        return key in self._lookup()[1]

    def metric(self, candidate: str, name: str, batch_size: int = 0) -> Metric | None:
        """One metric of one candidate (at one batch size; 0 for static metrics), or None."""
        return self._lookup()[2].get((candidate, name, int(batch_size)))

    def value(self, candidate: str, name: str, batch_size: int = 0) -> float | None:
        """The metric's value, or None when it is missing or has no value."""
        m = self.metric(candidate, name, batch_size)
        return None if m is None else m.value

    def metrics_for(self, candidate: str, name: str | None = None) -> list[Metric]:
        """Every metric of a candidate (in stored order), or every batch size of one metric."""
        out = self._lookup()[3].get(candidate, [])
        return list(out) if name is None else [m for m in out if m.name == name]

    def metric_keys(self) -> frozenset[tuple[str, int]]:
        """Every ``(metric name, batch size)`` stored for at least one candidate."""
        return self._lookup()[5]

    def sample_set(self, candidate: str, batch_size: int, kind: str = LATENCY_PER_CALL) -> SampleSet | None:
        """The raw samples of one cell, or None."""
        return self._lookup()[4].get((candidate, int(batch_size), kind))

    def samples_for(self, candidate: str | None = None, batch_size: int | None = None,
                    kind: str | None = LATENCY_PER_CALL, *, nonempty: bool = True) -> list[SampleSet]:
        """Sample sets matching every filter given (None: any), in stored order; by default of
        kind ``latency_per_call`` and with at least one value."""
        return [s for s in self.samples
                if (candidate is None or s.candidate == candidate)
                and (batch_size is None or int(s.batch_size) == int(batch_size))
                and (kind is None or s.kind == kind)
                and (not nonempty or len(s.values) > 0)]

    def batch_sizes(self, candidate: str | None = None, kind: str = LATENCY_PER_CALL) -> list[int]:
        """Sorted batch sizes that have samples of ``kind`` (for one candidate, or any)."""
        return sorted({int(s.batch_size) for s in self.samples_for(candidate, kind=kind)})

    def has_samples(self, kind: str = LATENCY_PER_CALL) -> bool:
        return any(s.kind == kind and len(s.values) for s in self.samples)

    @property
    def failed(self) -> list[str]:
        """Keys of the candidates that failed."""
        return [c.key for c in self.candidates if c.status == "failed"]


# -- tables of models (a CSV file, or a run read as a table) ------------------------------------------

@dataclass(frozen=True)
class DroppedRow:
    """One row left out of the joined table."""

    key: str
    file: str
    reason: str


@dataclass
class LoadReport:
    """What :func:`load_tables` did: rows read per file, rows kept, every dropped row."""

    files: list[str]
    rows_read: dict[str, int]
    rows_kept: int = 0
    dropped: list[DroppedRow] = field(default_factory=list)
    column_sources: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
