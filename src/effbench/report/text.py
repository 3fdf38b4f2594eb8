"""Terminal rendering of results: rich tables on a terminal, plain aligned text otherwise.

Renderers only format; the numbers come from :mod:`effbench.analysis.costs`.
Estimated values carry a trailing ``~`` and the legend says so. A FLOP count that misses a
matmul-like op or an estimated 10% or more of the work carries a trailing ``!`` and a note line
(:func:`flops_flags`); a model whose torch and ONNX parameter counts differ gets a note saying why
(:func:`param_notes`).
"""

from __future__ import annotations

import math


def fmt_si(value, unit: str = "", digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    v = float(value)
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= factor:
            return f"{v / factor:.{digits}g}{prefix}{unit}"
    if unit and v != 0 and abs(v) < 1:  # small physical quantities: 441 uJ rather than 0.000441 J
        for factor, prefix in ((1e-3, "m"), (1e-6, "u"), (1e-9, "n")):
            if abs(v) >= factor:
                return f"{v / factor:.{digits}g} {prefix}{unit}"
        return f"{v:.{digits}g} {unit}"
    return f"{v:.{digits}g}{unit}"


def fmt_bytes(value) -> str:
    if value is None:
        return "-"
    v = float(value)
    for factor, prefix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(v) >= factor:
            return f"{v / factor:.3g} {prefix}"
    return f"{int(v)} B"


def fmt_seconds(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    v = float(value)
    if v >= 1:
        return f"{v:.3g} s"
    if v >= 1e-3:
        return f"{v * 1e3:.3g} ms"
    return f"{v * 1e6:.3g} us"


def _mark(val, text: str) -> str:
    return text + "~" if val is not None and getattr(val, "provenance", "") == "estimated" else text


def _v(x):
    return None if x is None else x.value


COLUMNS = (
    ("candidate", "candidate"),
    ("accuracy", "acc"),
    ("f1_macro", "F1"),
    ("params", "params"),
    ("flops_per_sample", "FLOPs/sample"),
    ("size_bytes", "size"),
    ("peak_rss_bytes_b1", "RSS b=1"),
    ("peak_memory_bytes_bmax", "mem/call b=max"),
    ("latency_p50_s_b1", "p50 b=1"),
    ("latency_p99_s_b1", "p99 b=1"),
    ("best_throughput_samples_per_s", "best throughput"),
    ("energy_per_sample_j_b1", "J/sample b=1"),
    ("best_energy_per_sample_j", "least J/sample"),
    ("train_time_s", "train"),
)


FLOPS_FLAG = "!"
#: A FLOP count is flagged when the work it could not count is estimated at this share or more.
FLAG_UNCOUNTED_WORK_SHARE = 0.10


def flops_flags(run) -> dict[str, str]:
    """candidate key -> why its FLOP count is flagged: matmul-like ops left uncounted (stored detail
    ``missing_big_ops``) or an estimated uncounted share of the work of at least
    :data:`FLAG_UNCOUNTED_WORK_SHARE` (``uncounted_work_share``). Records stored before those keys
    existed are not flagged."""
    out = {}
    for c in run.candidates:
        m = run.metric(c.key, "flops_per_sample")
        if m is None or m.value is None:
            continue
        d = m.detail or {}
        why = []
        big = d.get("missing_big_ops") or []
        if big:
            why.append(f"not counted: {', '.join(big)} (matmul-like: the count may miss much of the work)")
        share = d.get("uncounted_work_share")
        if share is not None and share >= FLAG_UNCOUNTED_WORK_SHARE:
            why.append(f"the ops it could not count are estimated at {100 * share:.0f}% of the work")
        if why:
            out[c.key] = "; ".join(why)
    return out


def flops_flag_notes(flags: dict[str, str]) -> list[str]:
    return [f"{FLOPS_FLAG} {key}: FLOPs undercounted, {why}" for key, why in flags.items()]


def param_notes(rows: list[dict]) -> list[str]:
    """One line per model whose torch and ONNX Runtime candidates hold different parameter counts
    (cost-table rows in), saying by how much and why."""
    by_model: dict[str, dict[str, int]] = {}
    for r in rows:
        v = _v(r.get("params"))
        if v is not None and r.get("backend") in ("torch", "onnxruntime"):
            by_model.setdefault(r["model"], {})[r["backend"]] = int(v)
    out = []
    for model, counts in by_model.items():
        if len(counts) < 2 or counts["torch"] == counts["onnxruntime"]:
            continue
        t, o = counts["torch"], counts["onnxruntime"]
        if o < t:
            why = ("the ONNX exporter folds each BatchNorm into the convolution before it (its scale and shift become "
                   "the convolution's bias: one number per channel instead of two) and stores identical initialisers "
                   "once (freshly initialised or random weights make every LayerNorm weight and bias, or layer scale, "
                   "of one shape identical)")
        else:
            why = ("the exported graph holds constants torch keeps as buffers, not parameters (BatchNorm running "
                   "statistics that were not folded, position tables, masks)")
        out.append(f"params: {model} holds {o:,} parameters on onnxruntime and {t:,} on torch "
                   f"({100 * (o - t) / t:+.2f}%): {why}; the arithmetic, and the FLOPs, are the same.")
    return out


DEFAULT_QUALITY = ("accuracy", "f1_macro")
_SHORT = dict(COLUMNS[1:3])


def quality_columns(run) -> tuple[str, ...]:
    """The quality columns of a run's table: its task's first two metrics (a suite's ``rmse``,
    ``top5``, ...), else accuracy and macro-F1."""
    from effbench.analysis.costs import task_metric_names

    return tuple(task_metric_names(run)[:2]) or DEFAULT_QUALITY


def column_headers(quality=DEFAULT_QUALITY) -> list[str]:
    """The cost table's headers with these quality columns."""
    return [COLUMNS[0][1]] + [_SHORT.get(q, q) for q in quality] + [h for _, h in COLUMNS[3:]]


def cost_rows_as_text(rows: list[dict], quality=DEFAULT_QUALITY, flags: dict[str, str] | None = None) -> list[list[str]]:
    """The terminal table's cells; ``quality``: its quality columns (:func:`quality_columns`); ``flags``
    (:func:`flops_flags`) marks FLOP counts with ``!``."""
    flags = flags or {}
    out = []
    for r in rows:
        if r["status"] == "failed" and all(r.get(q) is None for q in quality):
            out.append([r["candidate"], "FAILED (reason below)"] + [""] * (len(column_headers(quality)) - 2))
            continue
        thr = r["best_throughput_samples_per_s"]
        out.append([
            r["candidate"] + (" (failed)" if r["status"] == "failed" else ""),
            *("-" if _v(r.get(q)) is None else f"{r[q].value:.4g}" if q not in DEFAULT_QUALITY else f"{r[q].value:.4f}"
              for q in quality),  # a stored metric may hold null
            fmt_si(_v(r["params"])),
            _mark(r["flops_per_sample"], fmt_si(_v(r["flops_per_sample"]))) + (FLOPS_FLAG if r["candidate"] in flags else ""),
            fmt_bytes(_v(r["size_bytes"])),
            fmt_bytes(_v(r["peak_rss_bytes_b1"])),
            fmt_bytes(_v(r["peak_memory_bytes_bmax"])),
            fmt_seconds(_v(r["latency_p50_s_b1"])),
            fmt_seconds(_v(r["latency_p99_s_b1"])),
            "-" if thr is None else f"{fmt_si(thr.value, '/s')} (b={r['best_throughput_batch_size']})",
            _mark(r["energy_per_sample_j_b1"], fmt_si(_v(r["energy_per_sample_j_b1"]), "J")),
            "-" if r["best_energy_per_sample_j"] is None else
            _mark(r["best_energy_per_sample_j"], f"{fmt_si(r['best_energy_per_sample_j'].value, 'J')} (b={r['best_energy_batch_size']})"),
            fmt_seconds(_v(r["train_time_s"])),
        ])
    return out


def render_table(title: str, headers: list[str], rows: list[list[str]], *, console=None, plain: bool | None = None, caption: str = "") -> str | None:
    """Render with rich on a terminal; return plain aligned text otherwise (the caller prints it)."""
    if plain is None:
        import sys

        plain = not sys.stdout.isatty()
    if plain:
        widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
        lines = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        if caption:
            lines.append(caption)
        return "\n".join(lines)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, caption=caption, caption_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=i == 0)
    for r in rows:
        table.add_row(*r)
    (console or Console()).print(table)
    return None


def setup_line(run) -> str:
    from effbench.candidates import registry  # the libraries shown: each registered backend's runtime

    env = run.environment
    cpu = env.get("cpu", {}).get("model", "?")
    libs = env.get("libraries", {})
    cfg = run.config
    threads = cfg.get("threads")
    runtimes = {b.runtime for b in registry.backends() if b.runtime}
    versions = ", ".join(f"{k} {v}" for k, v in libs.items() if v and k in runtimes)
    return (f"setup: {cpu}, {env.get('cores_logical')} logical cores, threads per candidate {threads} "
            f"(default 1; --threads N), {versions}; {_inputs_text(run.task or {})}; "
            f"latency = one infer() call on a prepared batch, p50/p99 from raw samples")


def _inputs_text(task: dict) -> str:
    """``float32; input [64]``, or each named input with its dtype (``input_ids int64 [128], ...``)."""
    named = task.get("inputs")
    if named:
        return "inputs " + ", ".join(f"{k} {v.get('dtype')} {v.get('shape')}" for k, v in named.items())
    return f"{task.get('dtype') or 'float32'}; input {task.get('sample_shape')}"


def legend(run) -> str:
    energy = (run.environment or {}).get("energy") or {}
    if not energy:
        e = "energy: not measured in this run"
    elif energy.get("provenance") == "estimated":
        e = (f"energy per sample of one call is ESTIMATED (marked ~): {energy.get('meter')}, TDP {energy.get('tdp_w', '?')} W "
             f"({energy.get('tdp_source', '?')}) x process CPU utilisation; no energy counter was readable")
    else:
        e = f"energy per sample of one call is measured ({energy.get('meter')})"
    return ("units: FLOPs per sample (FLOPs = 2 x MACs; analytic), size = serialized artefact (measured), RSS = peak "
            "resident memory of the whole worker process during a batch-1 call, mem/call = what one call at the largest batch adds "
            "to the resident memory (both measured), latency per batch call (measured), throughput = "
            f"batch / p50 (measured), train = wall time of training (measured); {e}.")
