"""Several stored runs, one analysis: hardware identities, candidates matched across runs, tail
results joined with their costs, and the tables the analyses read.

:func:`combine_runs` takes the runs of a study (``RunRecord``s, in the order given) and
gives a :class:`RunStudy`:

- every candidate gets a **hardware**: the run's label when one is given (``labels``, e.g. from
  ``--hw-label RUN=NAME``: an override, for every candidate of the run), else its node's
  (``info["node"]``, as a Ray executor records it: ``node["hardware"]``, else the identity of
  ``node["environment"]``), else the identity of the run's environment (:func:`hardware_identity`:
  CPU model, cores, GPU names);
- candidates are matched by their key (``model/backend``): several runs with no candidate in
  common are a :class:`~effbench.errors.DataError`; with several hardware, only the candidates
  present on every hardware are kept (none: a DataError too), and :attr:`RunStudy.notes` names
  the others and where they are. Runs on the same hardware add up (a candidate measured twice
  there takes the values of the last run given);
- tail-quality runs (tail samples, no latency samples) are joined to the cost runs by candidate
  key: their ``info["tail"]`` is shown with the costs (:func:`join_tail`).

:meth:`RunStudy.merged` is one ``RunRecord`` that every single-run analysis reads unchanged (its
candidates are ``key@hardware`` when there are several hardware); :meth:`RunStudy.hardware_table`
is the table of ``effbench pareto RUN_A RUN_B``: hardware-free indicators (accuracy, params,
FLOPs, size) once, the others once per hardware (``latency_p99_s_b1@HW``), with the
``hardware -> objectives`` mapping of :func:`effbench.analysis.pareto.hardware_frontiers`;
:meth:`RunStudy.wide_rows` is the one-row-per-candidate-and-hardware table of
``effbench export --format csv --wide``.

Pure: records in, records and arrays out (no I/O, no clock, no printing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from effbench.analysis.run_table import (
    available_indicators,
    indicator_interval,
    indicator_value,
    is_known_indicator,
    latency_quantile,
    unknown_indicator_message,
)
from effbench.errors import ConfigError, DataError
from effbench.records import (
    LATENCY_PER_CALL,
    RANDOM_WEIGHTS,
    TAIL_E2E_PER_BATCH,
    TAIL_INFERENCE_PER_BATCH,
    CandidateRecord,
    RunRecord,
)

__all__ = ["HARDWARE_FREE", "RunStudy", "combine_runs", "hardware_identity", "hardware_slug", "is_tail_run",
           "join_tail", "split_hardware_column", "tail_link"]

#: Indicators that do not depend on the machine: read once per candidate (from the first hardware).
HARDWARE_FREE = frozenset({"accuracy", "f1_macro", "params", "nonzero_params", "flops_per_sample", "size_bytes"})
#: Separates an indicator from its hardware in a column name: ``latency_p99_s_b1@cpu-a``.
HW_SEP = "@"


def hardware_slug(text: str) -> str:
    """A label usable in a column name: lower case, runs of other characters turned into '-'."""
    text = re.sub(r"\((r|tm|c)\)", "", str(text), flags=re.IGNORECASE)
    return re.sub(r"[^a-z0-9.+]+", "-", text.lower()).strip("-") or "unknown"


def hardware_identity(environment: Mapping | None) -> tuple[str, str]:
    """``(label, description)`` of a recorded environment (``measure.environment``): the CPU model
    and the cores the process could use, and the GPU names when there are any. The label is the
    description as :func:`hardware_slug` writes it, e.g. ``amd-epyc-7763-64-core-processor-16c``."""
    env = environment or {}
    cpu = env.get("cpu") or {}
    model = cpu.get("model") or cpu.get("processor") or cpu.get("machine") or "unknown CPU"
    cores = env.get("affinity_count") or env.get("cores_logical")
    gpus = [g.get("name") for g in (env.get("gpu") or []) if isinstance(g, Mapping) and g.get("name")]
    description = f"{model}, {cores} cores" if cores else str(model)
    label = hardware_slug(model) + (f"-{cores}c" if cores else "")
    if gpus:
        names = sorted(set(gpus))
        counted = [f"{gpus.count(n)} x {n}" if gpus.count(n) > 1 else n for n in names]
        description += ", GPU " + " + ".join(counted)
        label += "-" + hardware_slug("-".join(f"{gpus.count(n)}x{n}" if gpus.count(n) > 1 else n for n in names))
    return label, description


def is_tail_run(run: RunRecord) -> bool:
    """A run that holds tail-quality rounds and no latency samples (``effbench tail measure``)."""
    return not run.has_samples(LATENCY_PER_CALL) and (run.has_samples(TAIL_E2E_PER_BATCH)
                                                       or run.has_samples(TAIL_INFERENCE_PER_BATCH))


def tail_link(run: RunRecord) -> str | None:
    """The cost run a tail run was linked to (``effbench tail measure --cost-run RUN``), or None."""
    link = (run.config or {}).get("cost_run")
    return str(link) if link else None


def split_hardware_column(name: str) -> tuple[str, str | None]:
    """``'latency_p99_s_b1@cpu-a'`` -> ``('latency_p99_s_b1', 'cpu-a')``; a bare name -> ``(name, None)``."""
    base, sep, hw = name.rpartition(HW_SEP)
    return (base, hw) if sep and base and hw else (name, None)


@dataclass(frozen=True)
class Cell:
    """One candidate on one hardware: the run it was measured in and its record."""

    key: str
    hardware: str
    run: RunRecord
    candidate: CandidateRecord


@dataclass(frozen=True)
class RunStudy:
    """Runs matched into one study (see the module doc)."""

    run_ids: tuple[str, ...]
    hardware: tuple[str, ...]                 # labels, in order of first appearance
    descriptions: Mapping[str, str]           # label -> what it is (CPU model, cores, GPU)
    keys: tuple[str, ...]                     # candidate keys present on every hardware, in order
    cells: Mapping[tuple[str, str], Cell]     # (key, hardware) -> cell
    notes: tuple[str, ...] = ()
    tail_runs: tuple[str, ...] = ()           # tail runs joined to the costs
    sources: tuple[RunRecord, ...] = ()       # the cost runs, in the order given

    @property
    def runs(self) -> list[RunRecord]:
        """The cost runs of the study, in the order given."""
        return list(self.sources)

    @property
    def several_hardware(self) -> bool:
        return len(self.hardware) > 1

    def point(self, key: str, hardware: str) -> str:
        """The candidate's name in :meth:`merged`: ``key@hardware`` with several hardware, else ``key``."""
        return f"{key}{HW_SEP}{hardware}" if self.several_hardware else key

    def merged(self) -> RunRecord:
        """One run holding every (candidate, hardware) of the study, for the single-run analyses.

        Candidates are named by :meth:`point`; each keeps its metrics, samples and predictions, and
        gets ``info["hardware"]`` and ``info["source_run"]``. The task is the first run's; the config
        and environment are the first run's, with ``runs`` / ``tail_runs`` (ids) and ``hardware``
        (label -> description) added. A study of one run, on one hardware, with no tail run joined
        is that run itself."""
        first = self.sources[0]
        if len(self.sources) == 1 and not self.several_hardware and not self.tail_runs:
            return first
        out = RunRecord(run_id="+".join(self.run_ids), created_at=first.created_at, status=_status(self),
                        suite=", ".join(dict.fromkeys(c.run.suite or "?" for c in self.cells.values())),
                        finished_at=first.finished_at, effbench_version=first.effbench_version,
                        config={**first.config, "runs": list(self.run_ids), "tail_runs": list(self.tail_runs)},
                        environment={**first.environment, "hardware": dict(self.descriptions)},
                        task=first.task, notes=[*first.notes, *self.notes])
        samples: dict[tuple[str, str], list] = {}  # (run id, candidate) -> its sample sets, in stored order
        for run in self.sources:
            for s in run.samples:
                samples.setdefault((run.run_id, s.candidate), []).append(s)
        for hw in self.hardware:
            for key in self.keys:
                cell = self.cells[(key, hw)]
                name = self.point(key, hw)
                out.candidates.append(replace(cell.candidate, key=name, info={**cell.candidate.info, "hardware": hw,
                                                                              "source_run": cell.run.run_id}))
                out.metrics.extend(replace(m, candidate=name) for m in cell.run.metrics_for(key))
                out.samples.extend(replace(s, candidate=name) for s in samples.get((cell.run.run_id, key), ()))
        return out

    def _check_indicator(self, name: str) -> None:
        if not any(is_known_indicator(r, name) for r in self.runs):
            raise ConfigError(unknown_indicator_message(self.runs[0], name))

    def value(self, key: str, hardware: str, name: str) -> float | None:
        """One indicator of one candidate on one hardware (None when not recorded or failed)."""
        cell = self.cells.get((key, hardware))
        if cell is None or cell.candidate.status == "failed":
            return None
        v, _ = indicator_value(cell.run, key, name)
        return None if v is None or not np.isfinite(v) else float(v)

    def hardware_table(self, indicators: Sequence[str]) -> tuple[list[str], np.ndarray, list[str],
                                                                 dict[str, list[str]], list[str]]:
        """``(keys, values, columns, hardware -> its columns, common columns)``.

        A hardware-free indicator (:data:`HARDWARE_FREE`) is one column, read on the first hardware
        that has it; every other indicator is one column per hardware, ``name@hardware``. A
        candidate lacking a value (or failed) on some hardware is NaN there."""
        for name in indicators:
            self._check_indicator(name)
        columns, per_hw, common = [], {hw: [] for hw in self.hardware}, []
        for name in indicators:
            if name in HARDWARE_FREE or not self.several_hardware:
                columns.append(name)
                common.append(name)
            else:
                for hw in self.hardware:
                    columns.append(f"{name}{HW_SEP}{hw}")
                    per_hw[hw].append(columns[-1])
        values = np.full((len(self.keys), len(columns)), np.nan)
        for i, key in enumerate(self.keys):
            for j, col in enumerate(columns):
                name, hw = split_hardware_column(col) if col not in common else (col, None)
                hws = [hw] if hw is not None else list(self.hardware)
                got = next((v for v in (self.value(key, h, name) for h in hws) if v is not None), None)
                values[i, j] = np.nan if got is None else got
        return list(self.keys), values, columns, per_hw, common

    def indicators(self) -> list[str]:
        """Every indicator some run of the study can give, in name order."""
        return sorted({n for r in self.runs for n in available_indicators(r)})

    def wide_rows(self, indicators: Sequence[str] | None = None) -> tuple[list[str], list[dict]]:
        """``(header, rows)``: one row per candidate and hardware, one column per indicator (names as
        ``effbench pareto`` and ``recommend`` use them, units in the names); '' where not recorded.
        ``key`` is the candidate key, or ``key@hardware`` with several hardware, so that it is unique.
        Each latency quantile (``latency_p<Q>_s_b<N>``) is followed by its 95% interval,
        ``<name>_ci95_low`` and ``<name>_ci95_high`` (:func:`effbench.estimates.quantile_ci`; '' when
        the cell has too few samples for one: 368 for p99, 3688 for p99.9). ``weights`` is ``random`` for
        a candidate with random weights (its quality is meaningless), else empty."""
        from effbench.analysis.costs import random_weight_keys

        names = list(indicators) if indicators is not None else self.indicators()
        for name in names:
            self._check_indicator(name)
        with_ci = {n for n in names if latency_quantile(n) is not None and 0.0 < latency_quantile(n) < 1.0}
        columns = [c for n in names for c in ((n, f"{n}_ci95_low", f"{n}_ci95_high") if n in with_ci else (n,))]
        header = ["key", "candidate", "model", "backend", "hardware", "run_id", "status", "weights", *columns]
        rows = []
        for hw in self.hardware:
            for key in self.keys:
                cell = self.cells[(key, hw)]
                row = {"key": self.point(key, hw), "candidate": key, "model": cell.candidate.model,
                       "backend": cell.candidate.backend, "hardware": hw, "run_id": cell.run.run_id,
                       "status": cell.candidate.status,
                       "weights": RANDOM_WEIGHTS if cell.candidate.key in random_weight_keys(cell.run) else ""}
                for name in names:
                    v = self.value(key, hw, name)
                    row[name] = "" if v is None else v
                    if name in with_ci:
                        ci = None if v is None else indicator_interval(cell.run, key, name, 0.95)
                        row[f"{name}_ci95_low"], row[f"{name}_ci95_high"] = ("", "") if ci is None else ci
                rows.append(row)
        return header, rows


def _status(study: RunStudy) -> str:
    statuses = [r.status for r in study.sources]
    return next((s for s in statuses if s != "complete"), "complete")


def _candidate_hardware(run: RunRecord, c: CandidateRecord, run_label: str | None) -> tuple[str, str]:
    node = (c.info or {}).get("node")
    if isinstance(node, Mapping) and not run_label:
        label, description = hardware_identity(node.get("environment"))
        if node.get("hardware"):
            return str(node["hardware"]), f"{node['hardware']} ({description})"
        if node.get("environment"):
            return label, description
    label, description = hardware_identity(run.environment)
    if run_label:
        return run_label, f"{run_label} ({description})"
    return label, description


def combine_runs(runs: Sequence[RunRecord], labels: Mapping[str, str] | None = None,
                 tail_runs: Sequence[RunRecord] = ()) -> RunStudy:
    """The study of ``runs`` (cost runs) with ``labels`` (run id -> hardware label) and the
    ``tail_runs`` joined to them (see the module doc)."""
    labels = dict(labels or {})
    if not runs:
        raise ConfigError("give at least one run with latency samples (a cost run); got only tail-quality runs "
                          f"({', '.join(r.run_id for r in tail_runs)}): give the cost run of the same candidates beside "
                          "them (e.g. effbench report COST_RUN TAIL_RUN), or link them when measuring (effbench tail "
                          "measure ... --cost-run COST_RUN); effbench show TAIL_RUN shows a tail run alone"
                          if tail_runs else "give at least one run")
    ids = [r.run_id for r in runs]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ConfigError(f"run {twice[0]} is given more than once")
    if len(runs) > 1 and not set.intersection(*({c.key for c in r.candidates} for r in runs)):
        raise DataError(_nothing_in_common(runs))
    unknown = sorted(set(labels) - set(ids))
    if unknown:
        raise ConfigError(f"--hw-label {unknown[0]}=...: {unknown[0]} is not one of the runs given ({', '.join(ids)})")
    cells: dict[tuple[str, str], Cell] = {}
    descriptions: dict[str, str] = {}
    order: list[str] = []
    notes: list[str] = []
    for run in runs:
        for c in run.candidates:
            hw, description = _candidate_hardware(run, c, labels.get(run.run_id))
            descriptions.setdefault(hw, description)
            if (c.key, hw) in cells:
                notes.append(f"{c.key} on {hw} is in runs {cells[(c.key, hw)].run.run_id} and {run.run_id}; "
                             f"its values are those of {run.run_id} (the last given)")
            cells[(c.key, hw)] = Cell(c.key, hw, run, c)
            order.append(c.key)
    hardware = list(dict.fromkeys(hw for _, hw in cells))
    all_keys = list(dict.fromkeys(order))
    keys = [k for k in all_keys if all((k, hw) in cells for hw in hardware)]
    if not keys and cells:
        raise DataError(_nothing_in_common(runs, cells, hardware))
    if not hardware:  # runs without any candidate: their own hardware, nothing to match
        hardware = list(dict.fromkeys(labels.get(r.run_id) or hardware_identity(r.environment)[0] for r in runs))
    for k in all_keys:
        if k not in keys:
            where = [f"{hw} (run {cells[(k, hw)].run.run_id})" for hw in hardware if (k, hw) in cells]
            missing = [hw for hw in hardware if (k, hw) not in cells]
            notes.append(f"{k} left out: measured on {', '.join(where)} only, not on {', '.join(missing)} "
                         f"(candidates are matched by key model/backend)")
    cells = {ck: cell for ck, cell in cells.items() if ck[0] in keys}
    study = RunStudy(run_ids=tuple(ids), hardware=tuple(hardware), descriptions=descriptions, keys=tuple(keys),
                     cells=cells, notes=tuple(notes), sources=tuple(runs))
    return join_tail(study, tail_runs) if tail_runs else study


def _examples(keys) -> str:
    keys = list(dict.fromkeys(keys))
    return ", ".join(keys[:3]) + (", ..." if len(keys) > 3 else "")


def _nothing_in_common(runs, cells=None, hardware=None) -> str:
    if cells is None:
        each = "; ".join(f"{r.run_id}: {_examples(c.key for c in r.candidates) or 'none'}" for r in runs)
        return f"runs {', '.join(r.run_id for r in runs)} have no candidate in common ({each}); candidates are matched by key model/backend"
    each = "; ".join(f"{hw}: {_examples(k for k, h in cells if h == hw)}" for hw in hardware)
    return (f"no candidate of run(s) {', '.join(r.run_id for r in runs)} is measured on every one of their {len(hardware)} "
            f"hardware ({each}); candidates are matched by key model/backend (--hw-label RUN=NAME puts a whole run on one hardware)")


def join_tail(study: RunStudy, tail_runs: Sequence[RunRecord]) -> RunStudy:
    """``study`` with the tail-quality results of ``tail_runs`` in its candidates' ``info["tail"]``.

    A tail run linked to a cost run (:func:`tail_link`) joins that run's candidates only; an
    unlinked one joins every cost run of the study. Candidates match by key; a tail candidate
    with no cost candidate, and a cost run's candidate already holding tail results, are noted."""
    cells = dict(study.cells)
    notes = list(study.notes)
    for tail in tail_runs:
        link = tail_link(tail)
        if link is not None and link not in study.run_ids:
            raise ConfigError(f"tail run {tail.run_id} is linked to cost run {link}, which is not among the runs "
                              f"given ({', '.join(study.run_ids)}); give {link} too")
        joined = 0
        for c in tail.candidates:
            result = (c.info or {}).get("tail")
            if not isinstance(result, Mapping):
                continue
            targets = [ck for ck, cell in cells.items() if ck[0] == c.key and (link is None or cell.run.run_id == link)]
            if not targets:
                notes.append(f"tail run {tail.run_id}: {c.key} has no cost measurement in the runs given; left out")
            for ck in targets:
                cell = cells[ck]
                info = {**cell.candidate.info, "tail": {**result, "tail_run": tail.run_id}}
                cells[ck] = replace(cell, candidate=replace(cell.candidate, info=info))
                joined += 1
        if not joined:
            notes.append(f"tail run {tail.run_id} shares no candidate with the cost runs; nothing joined")
    return replace(study, cells=cells, notes=tuple(notes), tail_runs=study.tail_runs + tuple(t.run_id for t in tail_runs))

