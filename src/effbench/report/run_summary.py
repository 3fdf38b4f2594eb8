"""The text of ``effbench show``: a run list, or a :class:`effbench.analysis.costs.RunSummary`, in; lines out."""

from __future__ import annotations

import re

from effbench.analysis.stats import min_samples_for_quantile_ci
from effbench.numbers import MISSING, fmt_bytes, fmt_count, fmt_rate, fmt_seconds, fmt_si, mark_estimate
from effbench.records import TRAIN_ENERGY_J, TRAIN_TIME_S
from effbench.report.text import (
    column_headers,
    column_priority,
    cost_rows_as_text,
    flops_flag_notes,
    flops_flags,
    legend,
    param_notes,
    quality_columns,
    random_weights_notes,
    render_table,
    setup_line,
)

__all__ = ["interval_text", "p99_9_text", "sparse_notes", "render_run_list", "render_run_summary", "render_tail_run",
           "render_tracking", "stored_line"]

_BATCH_HEADERS = ["candidate", "batch", "p50/batch", "p99/batch", "p50/sample", "throughput", "mem/call", "J/sample", "samples",
                  "stopped by", "p50 95% CI", "p99 95% CI", "p99.9/batch"]


def interval_text(row: dict, name: str, fmt=fmt_seconds) -> str:
    """``[low, high]`` of a batch row's ``<name>_low_s``/``<name>_high_s``, or ``(needs N samples)``."""
    low, high = row[f"{name}_low_s"], row[f"{name}_high_s"]
    if low is None or high is None:
        return f"(needs {row[f'{name}_min_samples']} samples)"
    return f"[{fmt(low)}, {fmt(high)}]"


def p99_9_text(row: dict, fmt=fmt_seconds) -> str:
    """p99.9 with its interval, or with the number of samples its interval needs."""
    return f"{fmt(row['latency_p99_9_s'])} {interval_text(row, 'latency_p99_9', fmt)}"


def render_run_list(runs: list[dict], where) -> list[str]:
    """The runs of a store (rows of ``Store.list_runs``), or how to start one when there is none."""
    if not runs:
        return [f"no runs yet in {where}; start one with 'effbench run'"]
    rows = [[r["run_id"], r["created_at"], r["suite"] or "", r["status"], str(r["n_candidates"]), str(r["n_failed"])] for r in runs]
    return [render_table(f"runs in {where}", ["run id", "created (UTC)", "suite", "status", "candidates", "failed"], rows)]


def _batch_row(r: dict) -> list[str]:
    return [r["candidate"], str(r["batch_size"]), fmt_seconds(r["latency_p50_s"]), fmt_seconds(r["latency_p99_s"]),
            fmt_seconds(r["latency_p50_per_sample_s"]), fmt_rate(r["throughput_samples_per_s"]), fmt_bytes(r["peak_memory_bytes"]),
            mark_estimate(fmt_si(r["energy_per_sample_j"], "J"), r["energy_provenance"] == "estimated"),
            fmt_count(r["n_samples"]), str(r["stop_reason"]), interval_text(r, "latency_p50"), interval_text(r, "latency_p99"),
            p99_9_text(r)]


def _value(row: dict, name: str):
    v = row.get(name)
    return None if v is None else v.value


def _sizes(row: dict) -> str:
    compressed, size = _value(row, "compressed_size_bytes"), _value(row, "size_bytes")
    if compressed is None or size is None:
        return "compressed size not measured"
    return f"{fmt_bytes(compressed)} compressed of {fmt_bytes(size)}"


def sparse_notes(costs: list[dict]) -> list[str]:
    """One line per candidate with zero weights (a pruned variant): its non-zero parameters and its
    compressed size (zlib), beside its dense parent's when the run has it."""
    by_key = {r["candidate"]: r for r in costs}
    out = []
    for r in costs:
        nz, params = _value(r, "nonzero_params"), _value(r, "params")
        if nz is None or not params or nz >= params:
            continue
        line = f"sparse: {r['candidate']} has {int(nz):,} non-zero of {int(params):,} parameters ({1 - nz / params:.1%} zero), {_sizes(r)}"
        parent = (by_key.get(r["parent"]) or by_key.get(f"{r['parent']}/{r['backend']}")) if r.get("parent") else None
        if parent is not None:
            line += f"; dense {parent['candidate']}: {_sizes(parent)}"
        out.append(line + " (zlib level 9 of the serialized state)")
    return out


def _tables(summary, batches: bool) -> list[str]:
    run = summary.run
    task = run.task or {}
    cost_only = "y_test" in task and task["y_test"] is None  # a task without labels: no quality was measured
    examples = f"cost only, {task.get('n_test', '?')} examples without labels" if cost_only else f"{task.get('n_test', '?')} test examples"
    title = f"run {run.run_id} ({run.suite}, {run.status}) - {task.get('name', '?')}: {examples}"
    flags = flops_flags(run)
    quality = quality_columns(run)
    random = [r["candidate"] for r in summary.costs  # the note only where a quality figure is shown
              if r["random_weights"] and any(_value(r, q) is not None for q in quality)]
    caption = "\n".join([setup_line(run), legend(run), *random_weights_notes(random), *flops_flag_notes(flags),
                         *param_notes(summary.costs),
                         *sparse_notes(summary.costs)])
    texts = [render_table(title, column_headers(quality), cost_rows_as_text(summary.costs, quality, flags), caption=caption,
                          priority=column_priority(quality))]
    if batches:
        texts.append(render_table("per batch size", _BATCH_HEADERS, [_batch_row(r) for r in summary.batches], keys=2,
                                  caption="~: estimated energy; CI: 95% order-statistic interval of the raw samples "
                                          f"(distribution-free); p99.9's interval needs {min_samples_for_quantile_ci(0.999)} samples"))
    return texts


# the kinds of a cell's stability warnings (analysis.stats.stability_warnings and
# analysis.compare_runs.stability_report): what identifies the kind (a regular expression), its one-line
# name, and the figure shown per cell with --batches
_WARNING_KINDS = (
    (r"^Noisy measurement", "noisy (interquartile range above 10% of the median)", r"interquartile range is ([\d.]+%)"),
    (r"^Only \d+ samples", "too few samples for a p99 interval (tail figures are point estimates)", r"^Only (\d+) samples"),
    (r"severe outliers", "severe outliers (beyond 3 IQR: interference, allocation, GC)", r"\(([\d.]+%)\) are severe outliers"),
    (r"^The load average changed", "the load average changed during the cell", None),
    (r"with the median known only to", "stopped before the median reached its target precision", r"known only to \+-([\d.]+%)"),
    (r"^Sampling stopped at max_time_s .*before min_samples", "cut short by max_time_s before min_samples (max_time_s wins)",
     r"\((\d+) in all"),
    (r"^The medians of its", "time windows disagree (their medians drift apart)", r"differ by ([\d.]+%)"),
    (r"^Timed in blocks of", "timed in blocks of calls (tails are of block means)", r"blocks of (\d+) calls"),
)


def _warning_kind(text: str) -> tuple[str, str | None]:
    """(the kind's one-line name, the cell's figure or None) of one stability warning."""
    for pattern, name, figure in _WARNING_KINDS:
        if re.search(pattern, text):
            found = re.search(figure, text) if figure else None
            return name, (found.group(1) if found else None)
    return text, None  # an unknown kind is its own line


def _stability_lines(summary, batches: bool) -> list[str]:
    """One line per kind of warning with the number of cells it concerns; with ``batches`` the line
    also names every cell (with its figure: the IQR share, the sample count, the outlier share)."""
    stability, run = summary.stability, summary.run
    out = [f"warning: {w}" for w in stability.run_warnings]
    if not stability.n_cells_warned:
        return out
    kinds: dict[str, list[str]] = {}
    for (key, b), ws in sorted(stability.cells.items()):
        for w in ws:
            name, figure = _warning_kind(w)
            kinds.setdefault(name, []).append(f"{key} b{b}" + (f" ({figure})" if figure else ""))
    n_cells = len(stability.cells)
    for name, cells in kinds.items():
        listed = f": {', '.join(cells)}" if batches else ""
        out.append(f"warning: {name} in {len(cells)} of {n_cells} cells{listed}")
    if not batches:
        out.append(f"note: 'effbench show {run.run_id} --batches' names the cells")
    return out


def render_run_summary(summary, *, batches: bool = False) -> tuple[list[str], list[str]]:
    """(lines for standard output: the tables; lines for standard error: warnings, failures, notes)."""
    run = summary.run
    err = _stability_lines(summary, batches)
    err += [f"failed: {c.key}: {c.error}" for c in run.candidates if c.status == "failed"]
    err += [f"note: {note}" for note in run.notes]
    return _tables(summary, batches), err


_TRACKING_HEADERS = ["tracking", "ended", "wall time", "energy", "energy provenance", "attached to"]


def render_tracking(run, uses: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The view of a tracking run (``effbench track``, suite ``track``): its tracking by name, how it
    ended, its wall time, its energy with its provenance and meter, and the candidates of later runs
    that took it (``uses``: (run id, candidate key), :meth:`effbench.store.db.Store.tracking_uses`).
    Returns (lines for standard output, lines for standard error: the run's notes)."""
    rows, details, estimated = [], [], False
    for c in run.candidates:
        t, e = run.metric(c.key, TRAIN_TIME_S), run.metric(c.key, TRAIN_ENERGY_J)
        has_e = e is not None and e.value is not None
        estimated |= has_e and e.provenance == "estimated"
        energy = mark_estimate(fmt_si(e.value, "J"), e.provenance == "estimated") if has_e else MISSING
        provenance = f"{e.provenance} ({(e.detail or {}).get('meter') or 'meter unknown'})" if has_e else "not measured"
        attached = ", ".join(f"{key} (run {run_id})" for run_id, key in uses) or "none"
        rows.append([c.model, run.status, fmt_seconds(None if t is None else t.value), energy, provenance, attached])
        if t is not None and (t.detail or {}).get("note"):
            details.append(f"{c.model}: {t.detail['note']}; {t.detail.get('how', run.status)}")
    command = (run.config or {}).get("command")
    caption = [*details, *(["~: estimated energy (no energy counter was readable: TDP x CPU utilisation)"] if estimated else []),
               "a tracking's energy is the machine's total over its window: no idle baseline is subtracted"]
    if not uses:
        caption.append("attached to: none yet; a later run's candidate named as the tracking (or with training = "
                       "\"NAME\" in a suite file) takes the latest complete one as its training cost")
    title = f"tracking run {run.run_id} ({run.status}, {run.created_at})" + ("" if command else ": a Python block")
    table = render_table(title, _TRACKING_HEADERS, rows, caption="\n".join(caption), wrap=(5,))
    return [table], [f"note: {note}" for note in run.notes]


_TAIL_HEADERS = ["candidate", "quality", "no deadline", "own p99 deadline", "worst", "tail", "rounds used / measured"]


def render_tail_run(run) -> tuple[list[str], list[str]]:
    """The view of a tail-quality run (``effbench tail measure``, :func:`effbench.store.runs.is_tail_suite`): per
    candidate, the quality's name, its value without deadline (mean over rounds), the candidate's own p99
    deadline, the worst round and the tail quality (the low quantile over rounds) there, and the rounds
    used by the stopping rule out of those measured; the quality figures of a model with random weights
    are marked. Returns (lines for standard output, lines for standard error: failures and the run's notes)."""
    from effbench.analysis.costs import random_weight_keys
    from effbench.numbers import fmt_ratio, mark_random_weights
    from effbench.report.figures import tail_quality_name

    random, marked, rows, quantiles, err = random_weight_keys(run), set(), [], set(), []
    for c in run.candidates:
        tail = (c.info or {}).get("tail")
        if c.status == "failed" or not isinstance(tail, dict):
            err.append(f"{c.key}: {c.status}" + (f": {c.error}" if c.error else ": no tail-quality result"))
            continue
        own, key = tail.get("own_p99") or {}, tail.get("quantile_key")
        quantiles.add(f"{key} = the {tail.get('quantile', 0):g} quantile" if key else "")

        def q(v, c=c):
            text = mark_random_weights(fmt_ratio(v, 4), c.key in random)
            if text.endswith("?"):
                marked.add(c.key)
            return text

        rows.append([c.key, tail_quality_name(tail.get("quality")), q((tail.get("unconstrained") or {}).get("mean")),
                     fmt_seconds(own.get("threshold_s")), q(own.get("min")), q(own.get(key)),
                     f"{tail.get('rounds_used', MISSING)} / {tail.get('rounds_measured', MISSING)}"])
    what = (f"tail-quality run (effbench tail measure): quality under inference deadlines; an answer later than the "
            f"deadline counts as wrong. no deadline: mean over rounds; worst: the worst round at the candidate's own "
            f"p99 deadline; tail: the low quantile over rounds there ({', '.join(sorted(q for q in quantiles if q))})")
    more = (f"more: effbench export {run.run_id} (every threshold, the curve, the prediction); "
            f"effbench report COST_RUN {run.run_id} (the tail quality beside the costs of a cost run of the same "
            f"candidates)")
    caption = [what, *random_weights_notes(marked), more]
    title = f"Run {run.run_id} ({run.suite}, {run.status}): tail quality"
    table = render_table(title, _TAIL_HEADERS, rows, caption="\n".join(caption))
    return [table], [f"failed: {e}" for e in err] + [f"note: {note}" for note in run.notes]


def stored_line(run, db_path) -> str:
    """Where a new run was stored, and how to see or export it."""
    return (f"stored as run {run.run_id} in {db_path}  (effbench show {run.run_id}; "
            f"effbench export {run.run_id} --format json --output FILE)")
