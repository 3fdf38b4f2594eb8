"""The cost table for papers: Markdown (GitHub-flavoured) and LaTeX (booktabs).

Every cell carries its unit (scaled: ms, KiB, k FLOP; ratios and counts say theirs in the
header) and every column header the provenance of its values ("measured",
"estimated" or "computed (analytic)"); a column whose values mix provenances says "mixed"
and marks each estimated cell with a dagger. Text is escaped: ``\\ ` * _ { } [ ] # | ~ < >`` for
Markdown, ``& % $ # _ { } ~ ^ \\`` for LaTeX, so a name can never break the table or run code.

Pure: a run in, a string out (the CLI writes the file).
"""

from __future__ import annotations

import re

from effbench.analysis.costs import cost_table
from effbench.report.cards import CostCard, cost_cards, format_value, provenance_label
from effbench.report.text import FLOPS_FLAG, flops_flag_notes, flops_flags, param_notes

__all__ = ["TABLE_COLUMNS", "escape_markdown", "escape_latex", "cost_table_rows", "render_markdown", "render_latex"]

#: (card entry key, header, unit shown in the header)
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("accuracy", "accuracy", "ratio"),
    ("params", "params", "count"),
    ("flops_per_sample", "FLOPs/sample", "FLOP"),
    ("size_bytes", "size", "bytes"),
    ("peak_rss_bytes_b1", "peak RSS b=1", "bytes"),
    ("latency_p50_s_b1", "p50 b=1", "s"),
    ("latency_p99_s_b1", "p99 b=1", "s"),
    ("best_throughput_samples_per_s", "best throughput", "samples/s"),
    ("energy_per_sample_j_b1", "energy/sample b=1", "J"),
    ("train_time_s", "train time", "s"),
)

_LATEX_SPECIALS = {
    "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
    "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
}
_LATEX_RE = re.compile("|".join(re.escape(k) for k in _LATEX_SPECIALS))
_MD_RE = re.compile(r"([\\`*_{}\[\]#|~<>])")


def escape_latex(text) -> str:
    """Escape the ten LaTeX specials ``& % $ # _ { } ~ ^ \\`` (one pass, so no double escaping)."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], s)


def escape_markdown(text) -> str:
    """Backslash-escape Markdown punctuation (incl. ``|`` and ``< >``) and flatten newlines."""
    s = str(text).replace("\r", " ").replace("\n", " ")
    return _MD_RE.sub(r"\\\1", s)


def _table_columns(run) -> tuple[tuple[str, str, str], ...]:
    """:data:`TABLE_COLUMNS`, with the run's first quality metric (a suite's ``rmse``, ``top5``, ...)
    in place of accuracy when its task lists its own."""
    from effbench.analysis.costs import task_metric_names
    from effbench.records import unit_of

    names = task_metric_names(run)
    if not names or names[0] == "accuracy":
        return TABLE_COLUMNS
    return tuple((names[0], names[0], unit_of(names[0])) if key == "accuracy" else (key, header, unit)
                 for key, header, unit in TABLE_COLUMNS)


def _columns_present(cards: list[CostCard], columns=TABLE_COLUMNS) -> list[tuple[str, str, str]]:
    """Every column except energy, which is shown only when some candidate has it."""
    out = []
    for key, header, unit in columns:
        if key.startswith("energy") and not any((c.entry(key) and not c.entry(key).missing) for c in cards):
            continue
        out.append((key, header, unit))
    return out


def _column_provenance(cards, key) -> str:
    provs = {c.entry(key).provenance for c in cards if c.entry(key) is not None and not c.entry(key).missing}
    if not provs:
        return "not measured"
    if len(provs) == 1:
        return provenance_label(provs.pop())
    return "mixed"


def cost_table_rows(run) -> tuple[list[str], list[list[str]], list[str]]:
    """``(headers, rows, notes)`` as plain (unescaped) text; '-' marks a missing value."""
    cards = cost_cards(run)
    cols = _columns_present(cards, _table_columns(run))
    headers = ["candidate"]
    for key, header, unit in cols:
        prov = _column_provenance(cards, key)
        # cells carry their own scaled unit (ms, KiB, ...); unit-less numbers get it in the header
        shown = {"target": "target units"}.get(unit, unit)
        headers.append(f"{header} ({shown}, {prov})" if unit in ("ratio", "count", "target", "1") else f"{header} ({prov})")
    flags = flops_flags(run)
    rows = []
    for card in cards:
        row = [card.candidate + (" (failed)" if card.status == "failed" else "")]
        for key, _, _ in cols:
            e = card.entry(key)
            if e is None or e.missing:
                row.append("-")
                continue
            text = format_value(e.value, e.unit)
            if key == "best_throughput_samples_per_s" and e.note:
                text += f" ({e.note.replace('at batch ', 'b=')})"
            if e.provenance == "estimated":
                text += " \u2020"
            if key == "flops_per_sample" and card.candidate in flags:
                text += f" {FLOPS_FLAG}"
            row.append(text)
        rows.append(row)
    tail_note = _add_tail_column(run, cards, headers, rows)
    notes = [
        "'-' = not measured in this run; \u2020 = estimated (not measured).",
        "FLOPs = 2 x MACs; latency is one call on a prepared batch (p50/p99 of the raw samples); "
        "throughput = batch / p50 latency at the batch size that maximises it; peak RSS = whole worker process.",
    ]
    missing_cols = [col[1] for col in TABLE_COLUMNS if col[0].startswith("energy") and col not in cols]
    if missing_cols:
        notes.append("not measured in this run: " + ", ".join(missing_cols) + ".")
    if tail_note:
        notes.append(tail_note)
    notes += flops_flag_notes(flags) + param_notes(cost_table(run))
    return headers, rows, notes


def _tail_at_own_p99(run, key: str) -> float | None:
    """The tail quality (low quantile over rounds) at the candidate's own p99 deadline, from ``info["tail"]``."""
    try:
        tail = run.candidate(key).info.get("tail") or {}
    except KeyError:
        return None
    row = tail.get("own_p99") if isinstance(tail, dict) else None
    value = row.get(tail.get("quantile_key")) if isinstance(row, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def _add_tail_column(run, cards, headers, rows) -> str | None:
    """A column of tail quality at each candidate's own p99 deadline, when some candidate has one
    (a tail-quality run, or one joined to the costs: docs/studies.md); returns its note."""
    values = [_tail_at_own_p99(run, card.candidate) for card in cards]
    if all(v is None for v in values):
        return None
    headers.append("tail quality at own p99 (ratio, measured)")
    for row, v in zip(rows, values):
        row.append("-" if v is None else f"{v:.4f}")
    return ("tail quality = the low quantile over inference rounds of the accuracy when an answer later than the "
            "candidate's own p99 time counts as wrong (effbench tail measure).")


def render_markdown(run) -> str:
    """A GitHub-flavoured Markdown table of the run's costs, with its caption and notes."""
    headers, rows, notes = cost_table_rows(run)
    lines = [
        f"Costs of run {escape_markdown(run.run_id)} ({escape_markdown(run.suite or '?')}, "
        f"{escape_markdown((run.task or {}).get('name', '?'))}).",
        "",
        "| " + " | ".join(escape_markdown(h) for h in headers) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(headers) - 1)) + "|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(escape_markdown(c) for c in r) + " |")
    lines.append("")
    lines += [escape_markdown(n) for n in notes]
    return "\n".join(lines) + "\n"


def render_latex(run) -> str:
    """A LaTeX ``table`` (booktabs) of the run's costs; needs ``\\usepackage{booktabs}``."""
    headers, rows, notes = cost_table_rows(run)
    spec = "l" + "r" * (len(headers) - 1)

    def cell(text: str) -> str:
        return escape_latex(text).replace("\u2020", r"$^\dagger$")

    lines = [
        "% generated by effbench; needs \\usepackage{booktabs}",
        "\\begin{table}[t]",
        "\\centering",
        "\\small",
        f"\\begin{{tabular}}{{{spec}}}",
        "\\toprule",
        " & ".join(cell(h) for h in headers) + " \\\\",
        "\\midrule",
    ]
    for r in rows:
        lines.append(" & ".join(cell(c) for c in r) + " \\\\")
    lines += [
        "\\bottomrule",
        "\\end{tabular}",
        f"\\caption{{Costs of run {cell(run.run_id)} ({cell(run.suite or '?')}). " + " ".join(cell(n) for n in notes) + "}",
        f"\\label{{tab:effbench-{re.sub(r'[^A-Za-z0-9-]', '-', run.run_id)}}}",
        "\\end{table}",
    ]
    return "\n".join(lines) + "\n"
