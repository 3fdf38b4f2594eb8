"""Terminal rendering of results: rich tables on a terminal, plain aligned text otherwise.

Renderers only format; the numbers come from :mod:`effbench.analysis.costs`.
Estimated values carry a trailing ``~`` and the legend says so. A FLOP count that misses a
matmul-like op or an estimated 10% or more of the work carries a trailing ``!`` and a note line
(:func:`flops_flags`); a model whose torch and ONNX parameter counts differ gets a note saying why
(:func:`param_notes`).
"""

from __future__ import annotations

import re

from effbench.numbers import (
    MISSING,
    RANDOM_WEIGHTS_MARK,
    fmt_bytes,
    fmt_count,
    fmt_named,
    fmt_rate,
    fmt_ratio,
    fmt_seconds,
    fmt_si,
    mark_estimate,
    mark_random_weights,
)

__all__ = ["COLUMNS", "column_priority", "cost_rows_as_text", "fmt_bytes", "fmt_seconds", "fmt_si", "output_width",
           "random_weights_notes", "render_table", "table_sections", "wrap_lines"]


def _mark(val, text: str) -> str:
    return mark_estimate(text, val is not None and getattr(val, "provenance", "") == "estimated")


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


def random_weights_notes(keys) -> list[str]:
    """The note under a table whose quality figures of these candidates (random weights,
    :func:`effbench.analysis.costs.random_weight_keys`) carry :data:`~effbench.numbers.RANDOM_WEIGHTS_MARK`;
    none when there are none."""
    if not keys:
        return []
    return [f"{RANDOM_WEIGHTS_MARK} random weights (weights = \"random\"): {', '.join(sorted(keys))}: "
            "quality is meaningless; cost figures stay valid"]


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


def column_priority(quality=DEFAULT_QUALITY) -> list[int]:
    """The order in which the cost table's columns (:func:`column_headers`) are kept together when the
    terminal is too narrow for all of them: the first quality metric and the latencies, then the
    static costs, throughput and energy, then the rest."""
    keys = ["candidate", *quality, *(k for k, _ in COLUMNS[3:])]
    order = [*quality[:1], "latency_p50_s_b1", "latency_p99_s_b1", "params", "flops_per_sample", "size_bytes",
             "best_throughput_samples_per_s", "energy_per_sample_j_b1", *quality[1:], "peak_rss_bytes_b1",
             "peak_memory_bytes_bmax", "best_energy_per_sample_j", "train_time_s"]
    return [keys.index(k) for k in order]


def cost_rows_as_text(rows: list[dict], quality=DEFAULT_QUALITY, flags: dict[str, str] | None = None) -> list[list[str]]:
    """The terminal table's cells; ``quality``: its quality columns (:func:`quality_columns`); ``flags``
    (:func:`flops_flags`) marks FLOP counts with ``!``; a row with random weights marks its quality with ``?``."""
    flags = flags or {}
    out = []
    for r in rows:
        if r["status"] == "failed" and all(r.get(q) is None for q in quality):
            out.append([r["candidate"], "FAILED (reason below)"] + [""] * (len(column_headers(quality)) - 2))
            continue
        thr, best_e = r["best_throughput_samples_per_s"], r["best_energy_per_sample_j"]
        out.append([
            r["candidate"] + (" (failed)" if r["status"] == "failed" else ""),
            *(mark_random_weights(fmt_ratio(_v(r.get(q)), 4) if q in DEFAULT_QUALITY else fmt_named(q, _v(r.get(q))),
                                  r.get("random_weights", False))
              for q in quality),  # a stored metric may hold null
            fmt_count(_v(r["params"])),
            _mark(r["flops_per_sample"], fmt_count(_v(r["flops_per_sample"]))) + (FLOPS_FLAG if r["candidate"] in flags else ""),
            fmt_bytes(_v(r["size_bytes"])),
            fmt_bytes(_v(r["peak_rss_bytes_b1"])),
            fmt_bytes(_v(r["peak_memory_bytes_bmax"])),
            fmt_seconds(_v(r["latency_p50_s_b1"])),
            fmt_seconds(_v(r["latency_p99_s_b1"])),
            MISSING if thr is None else f"{fmt_rate(thr.value)} (b={r['best_throughput_batch_size']})",
            _mark(r["energy_per_sample_j_b1"], fmt_si(_v(r["energy_per_sample_j_b1"]), "J")),
            MISSING if best_e is None else _mark(best_e, f"{fmt_si(best_e.value, 'J')} (b={r['best_energy_batch_size']})"),
            fmt_seconds(_v(r["train_time_s"])),
        ])
    return out


MIN_WIDTH = 60
"""The narrowest width a table is laid out for; a narrower terminal gets tables 60 columns wide."""


def output_width() -> int | None:
    """The width tables are laid out for: ``$COLUMNS`` when set (a positive integer), else the
    terminal's width when standard output is a terminal, else None (a pipe or a file: every column
    side by side, however wide). Never below :data:`MIN_WIDTH`."""
    import os
    import shutil
    import sys

    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) > 0:
        return max(int(cols), MIN_WIDTH)
    if sys.stdout.isatty():
        return max(shutil.get_terminal_size().columns, MIN_WIDTH)
    return None


def wrap_lines(lines, width: int | None = -1) -> list[str]:
    """Sentences, notes and warnings printed under a table, wrapped at spaces to the width the tables
    are laid out for (-1: :func:`output_width`; None, a pipe or a file: as they are), as
    :func:`render_table` splits the tables. A continuation line is indented two spaces past its
    line's own indent; a word is never cut (a long path or key stays whole). An entry that holds
    several lines (a rendered table) is kept as it is."""
    import textwrap

    if width == -1:
        width = output_width()
    out = []
    for line in lines:
        if not width or "\n" in line or len(line) <= width:
            out.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out += textwrap.wrap(line, width, subsequent_indent=indent + "  ", break_long_words=False,
                             break_on_hyphens=False)
    return out


# per style: what each column adds to its cells' width, and what the table adds once
_OVERHEAD = {"plain": (2, -2), "rich": (3, 1)}


def table_sections(widths: list[int], *, keys: int = 1, priority: list[int] | None = None, width: int | None = None,
                   style: str = "plain") -> list[list[int]]:
    """Split the columns into sections that each fit ``width``: every section repeats the first ``keys``
    columns (the row's name), the others go, in ``priority`` order (default: left to right), into the
    first section with room for them, and keep their left-to-right order inside a section. A column is never cut; one wider than
    ``width`` gets a section of its own (which is then wider). ``width`` None: one section."""
    per_col, edge = _OVERHEAD[style]
    key_cols = list(range(min(keys, len(widths))))
    rest = [i for i in (priority if priority is not None else range(len(widths))) if i >= len(key_cols)]
    rest += [i for i in range(len(key_cols), len(widths)) if i not in rest]
    if width is None or not rest:
        return [key_cols + sorted(rest)]
    base = edge + sum(widths[i] + per_col for i in key_cols)
    sections: list[list[int]] = []
    used: list[int] = []
    for i in rest:  # first fit: each column goes to the first section with room for it
        need = widths[i] + per_col
        n = next((n for n, u in enumerate(used) if u + need <= width), None)
        if n is None:
            sections.append([])
            used.append(base)
            n = len(sections) - 1
        sections[n].append(i)
        used[n] += need
    return [key_cols + sorted(sec) for sec in sections]


def render_table(title: str, headers: list[str], rows: list[list[str]], *, caption: str = "", keys: int = 1,
                 priority: list[int] | None = None, width: int | None = -1, style: str | None = None,
                 color: bool | None = None, wrap: tuple[int, ...] = ()) -> str:
    """The table as text, laid out for ``width`` (-1: :func:`output_width`): when the columns do not fit
    side by side, they are split into sections (see :func:`table_sections`) printed one under the
    other, each keyed by the first ``keys`` columns; no cell is ever cut. ``style`` "rich" draws a
    Rich table (the default on a terminal), "plain" aligned text (the default otherwise); ``color``
    (default: on a terminal) keeps Rich's styles as terminal escapes. The columns in ``wrap`` hold
    words, not values: a Rich table may wrap them at spaces (a plain one never wraps). Sections after
    the first are titled with the title up to its first ``:`` or `` (``."""
    import sys

    if width == -1:
        width = output_width()
    tty = sys.stdout.isatty()
    style = style or ("rich" if tty else "plain")
    color = tty if color is None else color
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    wrap = tuple(wrap) if style == "rich" else ()
    planned = [max(len(w) for c in [h, *(r[i] for r in rows)] for w in c.split() or [""]) if i in wrap else widths[i]
               for i, h in enumerate(headers)]
    sections = table_sections(planned, keys=keys, priority=priority, width=width, style=style)
    short = re.split(r":| \(", title, maxsplit=1)[0]
    texts = []
    for n, cols in enumerate(sections):
        head = title if n == 0 else f"{short} (continued, {n + 1} of {len(sections)})"
        cap = caption if n == len(sections) - 1 else ""
        sub_rows = [[r[i] for i in cols] for r in rows]
        if style == "rich":
            texts.append(_rich_section(head, [headers[i] for i in cols], sub_rows, [planned[i] for i in cols],
                                       [i in wrap for i in cols], cap, keys, width, color))
        else:
            texts.append(_plain_section(head, [headers[i] for i in cols], sub_rows, [widths[i] for i in cols], cap, keys,
                                        width))
    return "\n\n".join(texts)


def _plain_section(title, headers, rows, widths, caption, keys, width) -> str:
    """Aligned text; with a ``width``, the title and caption are wrapped at spaces to it (never the cells)."""
    import textwrap

    def line(cells):
        return "  ".join(c.ljust(w) if i < keys else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    def wrapped(text):
        if not width:
            return [text]
        return [out for par in text.split("\n") for out in (textwrap.wrap(par, width, break_long_words=False,
                                                                           break_on_hyphens=False) or [""])]

    lines = [*wrapped(title), line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in rows]
    if caption:
        lines += wrapped(caption)
    return "\n".join(lines)


def _rich_section(title, headers, rows, widths, wraps, caption, keys, width, color) -> str:
    import io

    from rich.console import Console
    from rich.table import Table

    per_col, edge = _OVERHEAD["rich"]
    needed = edge + sum(w + per_col for w in widths)
    table = Table(title=title, caption=caption or None, caption_justify="left")
    for i, (h, w, wraps_) in enumerate(zip(headers, widths, wraps)):
        table.add_column(h, justify="left" if i < keys else "right", no_wrap=not wraps_, min_width=None if wraps_ else w)
    for r in rows:
        table.add_row(*r)
    console = Console(file=io.StringIO(), width=max(width or needed, needed), force_terminal=color,
                      color_system="standard" if color else None, highlight=False)
    console.print(table)
    return console.file.getvalue().rstrip("\n")


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
