"""The one recorder: what the measuring side reports becomes records, committed as it arrives.

Every metric name, unit and provenance a run stores is written here (names and units from
:mod:`effbench.records`), whatever the measurement mode: the latency mode (``effbench run``,
:func:`effbench.benchmark`) calls every method as the executor reports; the tail mode uses the
same methods for training metrics, predictions and quality.

The recorder writes through a *sink* with the store's writing methods (``add_metrics``,
``add_samples``, ``update_candidate``) for one run id: :class:`effbench.store.db.Store` is one.
"""

from __future__ import annotations

import numpy as np

from effbench import records as R
from effbench.measure.timer import TimingConfig
from effbench.records import Metric, SampleSet


class Recorder:
    """Turns what the executor reports into records of run ``run_id``, written to ``store`` at once."""

    def __init__(self, store, run_id, task, training: dict | None = None, energy_setup: dict | None = None,
                 carbon: dict | None = None, timing: TimingConfig | None = None):
        self.store, self.run_id, self.task = store, run_id, task
        self.timing = timing or TimingConfig()
        self.training = training or {}
        self.energy_setup = energy_setup
        self.carbon = carbon
        self._latency_acc: dict[tuple[str, int], tuple[list, list]] = {}

    def _metric(self, key, name, value, provenance, batch_size=0, detail=None):
        self.store.add_metrics(self.run_id, [Metric(key, name, value, R.unit_of(name), provenance, batch_size, detail or {})])

    # -- candidate lifecycle ---------------------------------------------------------------------
    def ready(self, key, info):
        self.store.update_candidate(self.run_id, key, status="running", info={"worker": info})

    def node(self, key, node):
        """Where the candidate ran (the Ray executor): info["node"] = {hostname, node_id, hardware, environment, ...}."""
        self.store.update_candidate(self.run_id, key, info={"node": node})

    def failed(self, key, reason, detail=""):
        self.store.update_candidate(self.run_id, key, status="failed", error=reason, info={"traceback": detail} if detail else None)

    def failed_step(self, key, step, reason, detail=""):
        self.store.update_candidate(self.run_id, key, info={f"{step}_error": reason})

    # -- static costs ----------------------------------------------------------------------------
    def static(self, key, s):
        errors = s.get("errors", {})
        self._metric(key, R.PARAMS, s["params"], R.ANALYTIC,
                     detail={"note": "learned numbers held by the model; see docs/costs.md"} if s["params"] is not None
                     else {"reason": errors.get("params", "this backend cannot count parameters")})
        self._metric(key, R.SIZE_BYTES, s["size_bytes"], R.MEASURED,
                     detail={"serialization": s["serialization"], **({"reason": errors["size_bytes"]} if "size_bytes" in errors else {})})
        self._flops(key, s.get("flops"), errors)

    def _flops(self, key, f, errors):
        if f and not f.get("counted_ops") and f.get("uncounted_ops"):
            # nothing countable (e.g. a tree ensemble inside an ONNX graph): no number rather than a false 0
            self._metric(key, R.FLOPS_PER_SAMPLE, None, R.ANALYTIC,
                         detail={"reason": "no operation of this model can be counted by " + f.get("method", "the counter"),
                                 **{k: v for k, v in f.items() if k != "flops_per_sample"}})
        elif f:
            self._metric(key, R.FLOPS_PER_SAMPLE, f["flops_per_sample"], f.get("provenance", R.ANALYTIC),
                         detail={k: v for k, v in f.items() if k not in ("flops_per_sample", "provenance")})
        else:
            self._metric(key, R.FLOPS_PER_SAMPLE, None, R.ANALYTIC,
                         detail={"reason": errors.get("flops") or "this backend cannot count FLOPs"})

    # -- quality ---------------------------------------------------------------------------------
    def predictions(self, key, labels, outputs=None, *, note: str | None = None, status: str | None = None):
        """Stores the predictions and the quality metrics on the task's test labels.

        A task without ``metrics`` (the digits suite, :func:`effbench.benchmark`): accuracy and
        macro-F1 of the labels. Otherwise each of the task's metrics scores what it reads
        (``MetricDef.score``: the labels, or the raw ``outputs`` for top-k and regression), and its
        direction (``max`` or ``min``) is stored in its detail. The stored predictions are the labels,
        or a regression's predicted values. Predictions that cannot be scored (None, a wrong count or
        shape, NaN, strings against numbers) raise :class:`~effbench.errors.DataError` before anything
        is stored: the candidate fails alone."""
        from effbench.tasks.base import check_predictions, quality_metrics
        from effbench.tasks.metrics import regression_values

        y_true = self.task.y_test
        if not self.task.metrics:
            scored = {name: (value, None) for name, value in quality_metrics(y_true, labels).items()}
        else:
            if labels is not None:
                labels = check_predictions(labels, y_true)
            scored = {m.name: (m.score(y_true, labels if m.needs == "labels" and labels is not None else outputs),
                               m.direction) for m in self.task.metric_defs()}
        stored = np.asarray(labels) if labels is not None else regression_values(outputs, len(y_true))
        self.store.update_candidate(self.run_id, key, predictions=stored, status=status)
        detail = {"n_examples": int(len(stored)), "split": "test", **({"note": note} if note else {})}
        for name, (value, direction) in scored.items():
            extra = {} if direction is None else {"direction": direction, "task": self.task.task_type}
            self._metric(key, name, value, R.MEASURED, detail={**detail, **extra})

    # -- per batch size --------------------------------------------------------------------------
    def memory(self, key, batch_size, reading):
        detail = {k: v for k, v in reading.items() if k not in ("peak_bytes", "peak_rss_bytes", "provenance")}
        prov = reading.get("provenance", R.MEASURED)
        self._metric(key, R.PEAK_MEMORY_BYTES, reading["peak_bytes"], prov, batch_size, detail)
        self._metric(key, R.PEAK_RSS_BYTES, reading["peak_rss_bytes"], prov, batch_size, detail)

    def latency(self, key, batch_size, samples, meta):
        """One time window of a latency cell: the cell's samples so far are stored pooled."""
        acc_samples, acc_meta = self._latency_acc.setdefault((key, batch_size), ([], []))
        acc_samples.append(np.asarray(samples, dtype=float))
        acc_meta.append(meta)
        pooled = np.concatenate(acc_samples)
        merged = dict(acc_meta[-1]) if len(acc_meta) == 1 else self._merge_windows(acc_meta, pooled)
        self.store.add_samples(self.run_id, SampleSet(key, batch_size, R.LATENCY_PER_CALL, "s", pooled, merged))

    def _merge_windows(self, metas: list[dict], pooled: np.ndarray) -> dict:
        """The cell's metadata over all its time windows so far; each window's own stays in ``repeats``.

        ``stop_reason`` is the windows' common reason, or ``mixed`` (``stop_reasons`` lists them);
        ``rel_halfwidths`` is the precision of the pooled samples, which is what the cell's figures use;
        counts and times are sums; ``block_size`` the largest any window used.
        """
        from effbench.estimates import precision_reached

        reasons = [m.get("stop_reason") for m in metas]
        t = self.timing
        _, widths = precision_reached(pooled, rel_tol=t.rel_tol, quantiles=t.stop_quantiles, confidence=t.confidence)
        merged = {k: v for k, v in metas[-1].items() if k != "repeat"}
        merged.update(
            stop_reason=reasons[0] if len(set(reasons)) == 1 else "mixed",
            stop_reasons=reasons,
            rel_halfwidths={str(k): v for k, v in widths.items()},
            block_size=max(int(m.get("block_size") or 1) for m in metas),
            calibrated=any(bool(m.get("calibrated")) for m in metas),
            repeats=metas,
        )
        for name in ("n_samples", "n_calls", "sampling_time_s", "warmup_time_s", "warmup_calls", "stopping_checks"):
            if all(isinstance(m.get(name), (int, float)) for m in metas):
                merged[name] = sum(m[name] for m in metas)
        return merged

    def energy(self, key, batch_size, reading):
        """Energy of one batch call: per batch, per sample, above idle, and its carbon (always estimated)."""
        prov = reading["provenance"]
        e = reading["energy_per_batch_j"]
        detail = {k: v for k, v in reading.items() if k not in ("energy_per_batch_j", "provenance", "notices")}
        self._metric(key, R.ENERGY_PER_BATCH_J, e, prov, batch_size, detail)
        self._metric(key, R.ENERGY_PER_SAMPLE_J, e / batch_size, prov, batch_size, {"from": "energy_per_batch_j / batch size"})
        idle_w = (self.energy_setup or {}).get("idle_power_w")
        if idle_w is not None:
            active = max(0.0, e - idle_w * reading["duration_per_batch_s"])
            idle_prov = self.energy_setup.get("idle_provenance", prov)
            self._metric(key, R.ACTIVE_ENERGY_PER_SAMPLE_J, active / batch_size,
                         R.ESTIMATED if R.ESTIMATED in (prov, idle_prov) else R.MEASURED, batch_size,
                         {"idle_power_w": idle_w, "from": "(energy per batch - idle power x batch duration) / batch size"})
        if self.carbon:
            from effbench.measure.carbon import carbon_g

            self._metric(key, R.CARBON_PER_SAMPLE_G, carbon_g(e / batch_size, self.carbon["g_per_kwh"]), R.ESTIMATED, batch_size,
                         {"energy_provenance": prov, **self.carbon})

    # -- training --------------------------------------------------------------------------------
    def training_metrics(self, candidate):
        facts = self.training.get(candidate.model)
        if not facts:
            return
        exported = candidate.parent and candidate.parent.split("/")[0] == candidate.model
        shared = " (shared with its source model; this backend is an export)" if exported else ""
        self._metric(candidate.key, R.TRAIN_TIME_S, facts["train_time_s"], facts.get("provenance", R.MEASURED),
                     detail={"note": "wall time of training the model" + shared,
                             **{k: v for k, v in facts.items() if k not in ("train_time_s", "train_energy", "provenance")}})
        energy = facts.get("train_energy")
        if energy:
            self._metric(candidate.key, R.TRAIN_ENERGY_J, energy["energy_j"], energy["provenance"],
                         detail={"note": "energy of training the model" + shared,
                                 **{k: v for k, v in energy.items() if k not in ("energy_j", "provenance")}})

    # -- tail quality ----------------------------------------------------------------------------
    def tail_rounds(self, key, data, **meta):
        """The raw per-batch times of every measured round (rounds x batches, row-major), both kinds."""
        meta = {"rounds": data.rounds, "n_batches": int(data.e2e_s.shape[1]), "layout": "rounds x batches, row-major",
                **meta, **{k: v for k, v in data.meta.items() if k != "wall_time_s"}}
        for kind in ("e2e", "inference"):
            self.store.add_samples(self.run_id, SampleSet(key, data.batch_size, R.tail_kind(kind), "s",
                                                          data.batch_times(kind).ravel(), meta))

    def tail_report(self, key, report: dict):
        self.store.update_candidate(self.run_id, key, info={"tail": report})
