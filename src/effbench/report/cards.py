"""Cost cards as data: every indicator of one candidate, with its unit, provenance and setup.

After "The Efficiency Misnomer" (Dehghani et al., ICLR 2022): report every cost indicator,
and the setup behind each, rather than one or two of them. A card holds, per candidate:
quality; parameters (and non-zero parameters and sparsity for pruned variants); FLOPs with
convention and coverage; size; peak memory; latency p50/p99 at batch 1 and at the best batch;
throughput; energy per sample (measured or estimated, labelled) and carbon per sample (always
estimated) where the run has them; training time (and energy); and the setup (hardware, software
versions, precision, batch sizes, input shape, threads).

Pure: a :class:`effbench.records.RunRecord` in, dataclasses out (no I/O, no printing). The
numbers come from :mod:`effbench.analysis.costs` (derived from the raw samples every time);
renderers (:mod:`effbench.report.html`, :mod:`effbench.report.tables`) only format them.

The energy entries, the best-throughput batch and the training energy are read from the rows of
:func:`effbench.analysis.costs.cost_table` (``energy_per_sample_j_b1``,
``best_energy_per_sample_j``, which is empty when measured and estimated values would be
compared, ``best_throughput_batch_size``, ``train_energy_j``), so the cards say what the cost
table says. Carbon per sample at batch 1 is the ``carbon_per_sample_g`` metric (always
estimated). :func:`energy_rows` (for the energy figures) reads ``energy_per_sample_j`` and/or
``energy_per_batch_j`` per batch size; energy per sample derived from energy per batch keeps the
batch's provenance and says so in its note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from effbench.analysis.costs import batch_rows, cost_table
from effbench.records import CARBON_PER_SAMPLE_G, ENERGY_PER_BATCH_J, ENERGY_PER_SAMPLE_J, TRAIN_ENERGY_J
from effbench.numbers import fmt_bytes, fmt_count, fmt_seconds, fmt_si

__all__ = [
    "PROVENANCE_LABELS",
    "CardEntry",
    "CostCard",
    "cost_cards",
    "energy_rows",
    "run_setup",
    "format_value",
    "provenance_label",
]

#: How each provenance is named to readers: "analytic" values are computed, not measured.
PROVENANCE_LABELS = {
    "measured": "measured",
    "estimated": "estimated",
    "analytic": "computed (analytic)",
}

ENERGY_SAMPLE = ENERGY_PER_SAMPLE_J
ENERGY_BATCH = ENERGY_PER_BATCH_J
TRAIN_ENERGY = TRAIN_ENERGY_J
CARBON_SAMPLE = CARBON_PER_SAMPLE_G


def provenance_label(provenance: str | None) -> str:
    if provenance is None:
        return "not measured"
    return PROVENANCE_LABELS.get(provenance, provenance)


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(float(v))


def format_value(value, unit: str) -> str:
    """A number with its unit, in the unit's natural scale ("1.2 ms", "68.1 KiB", "34k FLOP", "17.2k"), by
    :mod:`effbench.numbers` as the terminal shows it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, str):
        return value
    v = float(value)
    if unit == "s":
        return fmt_seconds(v)
    if unit == "bytes":
        return fmt_bytes(v)
    if unit == "ratio":
        return f"{v:.4f}"
    if unit == "count":
        return fmt_count(v)
    if unit == "FLOP":
        return f"{fmt_count(v)} FLOP"
    if unit == "J":
        return fmt_si(v, "J")
    if unit in ("g", "gCO2e"):
        return fmt_si(v, unit)
    if unit == "%":
        return f"{v:.1f}%"
    if unit in ("target", "1", "score"):  # a regression error in the target's unit, r2, a custom metric
        return f"{v:.4g}"
    if unit in ("samples/s", "1/s"):
        return f"{fmt_count(v)} samples/s"
    return f"{v:.4g} {unit}".rstrip()


@dataclass(frozen=True)
class CardEntry:
    """One indicator on a card. ``value`` None means not measured (``provenance`` is then None)."""

    key: str
    label: str
    value: float | None
    unit: str
    provenance: str | None
    note: str = ""

    @property
    def missing(self) -> bool:
        return self.value is None

    @property
    def text(self) -> str:
        return format_value(self.value, self.unit)

    def to_dict(self) -> dict:
        return {
            "key": self.key, "label": self.label, "value": self.value, "unit": self.unit,
            "provenance": self.provenance, "note": self.note,
        }


@dataclass(frozen=True)
class CostCard:
    candidate: str
    model: str
    backend: str
    family: str
    parent: str | None
    status: str
    error: str | None
    entries: tuple[CardEntry, ...]
    setup: tuple[tuple[str, str], ...]
    missing: tuple[str, ...] = field(default=())

    def entry(self, key: str) -> CardEntry | None:
        for e in self.entries:
            if e.key == key:
                return e
        return None

    def to_dict(self) -> dict:
        return {
            "candidate": self.candidate, "model": self.model, "backend": self.backend,
            "family": self.family, "parent": self.parent, "status": self.status, "error": self.error,
            "entries": [e.to_dict() for e in self.entries],
            "setup": [list(s) for s in self.setup],
            "missing": list(self.missing),
        }


# ------------------------------------------------------------------------------------ energy


def energy_rows(run) -> list[dict]:
    """Energy per (candidate, batch size): per sample and per batch, with provenance.

    Reads ``energy_per_sample_j`` and ``energy_per_batch_j`` metrics (``batch_size > 0``);
    when only the per-batch value is stored, per sample = per batch / batch size (same
    provenance, noted). Empty when the run measured no inference energy.
    """
    cells: dict[tuple[str, int], dict] = {}
    for m in run.metrics:
        if m.batch_size <= 0 or m.name not in (ENERGY_SAMPLE, ENERGY_BATCH):
            continue
        row = cells.setdefault((m.candidate, m.batch_size), {"candidate": m.candidate, "batch_size": m.batch_size})
        row[m.name] = m.value
        row[m.name + ":provenance"] = m.provenance
        row[m.name + ":detail"] = m.detail
    out = []
    for (_, b), row in sorted(cells.items()):
        per_sample = row.get(ENERGY_SAMPLE)
        prov = row.get(ENERGY_SAMPLE + ":provenance")
        note = ""
        if per_sample is None and _finite(row.get(ENERGY_BATCH)):
            per_sample = float(row[ENERGY_BATCH]) / b
            prov = row.get(ENERGY_BATCH + ":provenance")
            note = f"energy per batch / {b}"
        per_batch = row.get(ENERGY_BATCH)
        per_batch_prov = row.get(ENERGY_BATCH + ":provenance")
        if per_batch is None and _finite(per_sample):
            per_batch = float(per_sample) * b
            per_batch_prov = prov
        out.append({
            "candidate": row["candidate"],
            "batch_size": b,
            "energy_per_sample_j": per_sample if _finite(per_sample) else None,
            "energy_per_sample_provenance": prov if _finite(per_sample) else None,
            "energy_per_batch_j": per_batch if _finite(per_batch) else None,
            "energy_per_batch_provenance": per_batch_prov if _finite(per_batch) else None,
            "note": note,
        })
    return out


# ------------------------------------------------------------------------------------ setup


def _versions(env: dict) -> str:
    libs = env.get("libraries") or {}
    return ", ".join(f"{k} {v}" for k, v in libs.items() if v) or "not recorded"


def run_setup(run) -> list[tuple[str, str]]:
    """The setup of the whole run: hardware, software versions, protocol, input (label, text)."""
    env, cfg, task = run.environment or {}, run.config or {}, run.task or {}
    cpu = env.get("cpu") or {}
    rows: list[tuple[str, str]] = []
    hw = cpu.get("model") or "not recorded"
    extra = []
    if env.get("cores_logical"):
        extra.append(f"{env['cores_logical']} logical cores")
    if cpu.get("mhz"):
        extra.append(f"{cpu['mhz']:.0f} MHz")
    if cpu.get("governor"):
        extra.append(f"governor {cpu['governor']}")
    several = env.get("hardware") if isinstance(env.get("hardware"), dict) and len(env["hardware"]) > 1 else None
    if several:  # several runs on several machines (effbench.analysis.multirun): each machine, then the first's software
        rows.append(("runs", ", ".join(cfg.get("runs") or [run.run_id])))
        rows += [(f"hardware {label}", str(description)) for label, description in several.items()]
    else:
        rows.append(("CPU", hw + (f" ({', '.join(extra)})" if extra else "")))
        gpus = env.get("gpu") or []
        rows.append(("GPU", ", ".join(str(g.get("name", g)) if isinstance(g, dict) else str(g) for g in gpus) or "none used"))
    if cfg.get("tail_runs"):
        rows.append(("tail quality from", ", ".join(cfg["tail_runs"])))
    osinfo = env.get("os") or {}
    if osinfo:
        rows.append(("OS", osinfo.get("platform") or f"{osinfo.get('system', '')} {osinfo.get('release', '')}".strip()))
    py = env.get("python") or {}
    if py:
        rows.append(("Python", f"{py.get('implementation', '')} {py.get('version', '')}".strip()))
    rows.append(("software", _versions(env)))
    threads = cfg.get("threads", env.get("threads_used"))
    rows.append(("threads per candidate", "not recorded" if threads is None else str(threads)))
    if cfg.get("batch_sizes"):
        rows.append(("batch sizes", ", ".join(str(b) for b in cfg["batch_sizes"])))
    shape = task.get("sample_shape")
    if task:
        desc = f"{task.get('name', '?')}: {task.get('n_test', '?')} test examples"
        if shape is not None:
            desc += f", input shape per sample {list(shape)}"
        if task.get("dtype"):
            desc += f", {task['dtype']}"
        rows.append(("task", desc))
    timing = cfg.get("timing") or {}
    if timing:
        rows.append(("timing protocol", ", ".join(f"{k}={v}" for k, v in timing.items())))
    if env.get("load_average"):
        rows.append(("load average before / after", f"{env.get('load_average')} / {env.get('load_average_after', '-')}"))
    return rows


def _candidate_setup(run, c, rows_b) -> tuple[tuple[str, str], ...]:
    info = c.info or {}
    worker = info.get("worker") or {}
    ts = worker.get("thread_settings") or {}
    threads = ts.get("threads", (run.config or {}).get("threads"))
    precision = info.get("precision")
    if precision is None and (run.task or {}).get("dtype"):
        precision = f"{run.task['dtype']} input (model precision not recorded)"
    out = [
        ("backend", c.backend),
        ("device", str(info.get("device", "cpu"))),
        ("precision", precision or "not recorded"),
        ("threads", "not recorded" if threads is None else str(threads)),
        ("batch sizes measured", ", ".join(str(r["batch_size"]) for r in rows_b) or "none"),
        ("input shape per sample", str(list((run.task or {}).get("sample_shape") or [])) or "not recorded"),
    ]
    if info.get("description"):
        out.insert(0, ("model", str(info["description"])))
    if info.get("graph_optimization"):
        out.append(("graph optimization", str(info["graph_optimization"])))
    if info.get("providers"):
        out.append(("providers", ", ".join(map(str, info["providers"]))))
    if c.parent:
        out.append(("derived from", c.parent))
    return tuple(out)


# ------------------------------------------------------------------------------------ cards


def _from_value(key, label, v, note="") -> CardEntry:
    if v is None:
        return CardEntry(key, label, None, "", None, note)
    value = v.value if _finite(v.value) else None
    return CardEntry(key, label, value, v.unit, v.provenance if value is not None else None, v.note or note)


def _task_metric_entries(run, row) -> list[CardEntry]:
    """A suite's own quality metrics (top5, rmse, r2, custom), each with its direction."""
    from effbench.analysis.costs import task_metric_names
    from effbench.analysis.run_table import stored_direction

    words = {"max": "higher is better", "min": "lower is better"}
    return [_from_value(name, f"{name} (test split; {words.get(stored_direction(run, name), 'direction not recorded')})",
                        row.get(name)) for name in task_metric_names(run) if name not in ("accuracy", "f1_macro")]


def _flops_note(run, key) -> str:
    m = run.metric(key, "flops_per_sample")
    if m is None:
        return ""
    d = m.detail or {}
    parts = ["FLOPs = 2 x MACs"]
    share = d.get("uncounted_work_share")
    if _finite(share):
        parts.append(f"uncounted work estimated at {100 * float(share):.1f}% of the total")
    cov = d.get("coverage")
    if _finite(cov):
        parts.append(f"coverage {100 * float(cov):.0f}% of op calls counted")
    if d.get("missing_big_ops"):
        parts.append("matmul-like ops not counted: " + ", ".join(d["missing_big_ops"]))
    unc = d.get("uncounted_ops") or {}
    if unc:
        parts.append("uncounted: " + ", ".join(f"{k} x{v}" for k, v in list(unc.items())[:4]))
    if d.get("method"):
        parts.append(f"counter: {d['method']}")
    if m.value is None and d.get("reason"):
        parts.append(str(d["reason"]))
    return "; ".join(parts)


def cost_cards(run) -> list[CostCard]:
    """One :class:`CostCard` per candidate of ``run``, in the run's order."""
    table = {r["candidate"]: r for r in cost_table(run)}
    by_cand: dict[str, list[dict]] = {}
    for r in batch_rows(run):
        by_cand.setdefault(r["candidate"], []).append(r)
    cards = []
    for c in run.candidates:
        row = table[c.key]
        rows_b = by_cand.get(c.key, [])
        bb = row["best_throughput_batch_size"]
        best = next((r for r in rows_b if r["batch_size"] == bb), None) if bb is not None else None
        b1 = next((r for r in rows_b if r["batch_size"] == 1), None)
        entries = [
            _from_value("accuracy", "accuracy (test split)", row["accuracy"]),
            _from_value("f1_macro", "macro F1 (test split)", row["f1_macro"]),
            *_task_metric_entries(run, row),
            _from_value("params", "parameters", row["params"]),
            *_sparsity_entries(run, c, row),
            _from_value("flops_per_sample", "FLOPs per sample", row["flops_per_sample"], _flops_note(run, c.key)),
            _from_value("size_bytes", "size (serialized)", row["size_bytes"], _size_note(run, c.key)),
            *_compressed_entries(run, c, row),
            _from_value("peak_rss_bytes_b1", "peak memory: process RSS at batch 1", row["peak_rss_bytes_b1"]),
            _from_value("peak_memory_bytes_bmax", "peak memory added by one call at the largest batch", row["peak_memory_bytes_bmax"]),
            _from_value("latency_p50_s_b1", "latency p50 at batch 1", row["latency_p50_s_b1"],
                        "" if b1 is None else f"{b1['n_samples']} samples, per call"),
            _from_value("latency_p99_s_b1", "latency p99 at batch 1", row["latency_p99_s_b1"],
                        "" if b1 is None else f"{b1['n_samples']} samples, per call"),
        ]
        if best is not None:
            entries += [
                CardEntry("latency_p50_s_best", f"latency p50 per call at the best batch ({bb})", best["latency_p50_s"], "s", "measured",
                          f"{format_value(best['latency_p50_per_sample_s'], 's')} per sample"),
                CardEntry("latency_p99_s_best", f"latency p99 per call at the best batch ({bb})", best["latency_p99_s"], "s", "measured",
                          f"{format_value(best['latency_p99_per_sample_s'], 's')} per sample"),
            ]
        else:
            entries += [CardEntry("latency_p50_s_best", "latency p50 at the best batch", None, "", None),
                        CardEntry("latency_p99_s_best", "latency p99 at the best batch", None, "", None)]
        entries.append(_from_value("best_throughput_samples_per_s", "best throughput (batch / p50)", row["best_throughput_samples_per_s"]))
        entries.append(_from_value("energy_per_sample_j_b1", "energy per sample at batch 1", row["energy_per_sample_j_b1"]))
        eb = row["best_energy_batch_size"]
        entries.append(_from_value("energy_per_sample_j_best", "lowest energy per sample" + ("" if eb is None else f" (batch {eb})"),
                                   row["best_energy_per_sample_j"], _best_energy_note(run, c.key, row)))
        entries.append(_carbon_entry(run, c.key))
        entries.append(_from_value("train_time_s", "training time (wall)", row["train_time_s"], _train_note(run, c.key)))
        entries.append(_from_value("train_energy_j", "training energy", row["train_energy_j"]))
        cards.append(CostCard(
            candidate=c.key, model=c.model, backend=c.backend, family=c.family or "", parent=c.parent,
            status=c.status, error=c.error, entries=tuple(entries), setup=_candidate_setup(run, c, rows_b),
            missing=tuple(e.label for e in entries if e.missing),
        ))
    return cards


def _compressed_entries(run, c, row) -> list[CardEntry]:
    """The compressed size, when the run measured it (torch candidates), with its compressor."""
    v = row.get("compressed_size_bytes")
    if v is None or not _finite(v.value):
        return []
    m = run.metric(c.key, "compressed_size_bytes")
    return [CardEntry("compressed_size_bytes", "size (compressed)", v.value, "bytes", v.provenance,
                      str((m.detail or {}).get("compression", "")))]


def _sparsity_entries(run, c, row) -> list[CardEntry]:
    """Non-zero parameters and sparsity: the stored metric (torch candidates) or what the candidate
    info records (pruned variants of older runs); shown when some parameters are zero."""
    info = c.info or {}
    stored = row.get("nonzero_params")
    nz = stored.value if stored is not None and _finite(stored.value) else info.get("nonzero_params")
    params_v = row["params"].value if row["params"] is not None else None
    if stored is not None and _finite(nz) and _finite(params_v) and float(nz) == float(params_v) and "sparsity" not in info:
        return []  # a dense model: its non-zero count is its parameter count
    if not _finite(nz):
        return []
    out = [CardEntry("nonzero_params", "non-zero parameters", int(nz) if float(nz).is_integer() else float(nz), "count", "analytic",
                     "weights that are exactly zero are not counted")]
    sparsity = info.get("sparsity")
    params = row["params"].value if row["params"] is not None and _finite(row["params"].value) else None
    note = "share of the parameters that are zero"
    if not _finite(sparsity) and params:
        sparsity = 1.0 - float(nz) / float(params)
        note += " (1 - non-zero / parameters)"
    if _finite(sparsity):
        out.append(CardEntry("sparsity", "sparsity", 100.0 * float(sparsity), "%", "analytic", note))
    return out


def _best_energy_note(run, key, row) -> str:
    v = row["best_energy_per_sample_j"]
    if v is not None:
        return v.note
    provs = {m.provenance for m in run.metrics_for(key, ENERGY_SAMPLE) if m.batch_size > 0}
    if len(provs) > 1:
        return "not given: measured and estimated values are never compared"
    return ""


def _carbon_entry(run, key) -> CardEntry:
    m = run.metric(key, CARBON_SAMPLE, 1)
    if m is None or not _finite(m.value):
        return CardEntry("carbon_per_sample_g_b1", "carbon per sample at batch 1 (estimated)", None, "", None)
    # carbon = energy x grid intensity: an estimate, whatever the energy's provenance
    label = "carbon per sample at batch 1" + (" (estimated)" if m.provenance == "estimated" else "")
    d = m.detail or {}
    bits = []
    if _finite(d.get("g_per_kwh")):
        bits.append(f"{float(d['g_per_kwh']):g} gCO2e/kWh")
    if d.get("region"):
        bits.append(f"region {d['region']}")
    if d.get("source"):
        bits.append(str(d["source"]))
    if d.get("energy_provenance"):
        bits.append(f"from {d['energy_provenance']} energy")
    return CardEntry("carbon_per_sample_g_b1", label, float(m.value), m.unit or "gCO2e", m.provenance, "; ".join(bits))


def _size_note(run, key) -> str:
    m = run.metric(key, "size_bytes")
    return "" if m is None else str((m.detail or {}).get("serialization", ""))


def _train_note(run, key) -> str:
    m = run.metric(key, "train_time_s")
    return "" if m is None else str((m.detail or {}).get("note", ""))
