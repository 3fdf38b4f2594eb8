"""Tables for papers: Markdown (GitHub-flavoured) and LaTeX (booktabs and siunitx).

The Markdown cost table (:func:`cost_table_rows`, shared with the HTML report): every cell carries its unit (scaled: ms, KiB, k FLOP; ratios and counts say theirs in the
header) and every column header the provenance of its values ("measured",
"estimated" or "computed (analytic)"); a column whose values mix provenances says "mixed"
and marks each estimated cell with a dagger. Text is escaped: ``\\ ` * _ { } [ ] # | ~ < >`` for
Markdown, ``& % $ # _ { } ~ ^ \\`` for LaTeX, so a name can never break the table or run code.

The LaTeX cost table is built for a page (:func:`paper_cost_table`): short headers, one unit per
column in a second header row (``\\si{\\micro\\second}``), the numbers in siunitx ``S`` columns
scaled to that unit, and a table wider than ``max_columns`` value columns split into stacked
tabulars that repeat the candidate column. Columns the cost table has beyond the known ones (the
tail quality, anything added later) are kept, as escaped text columns.

With the run's :class:`~effbench.analysis.run_report.RunReport`, both formats also get the Pareto
table (frontier layer, dominators, DEA efficiency) and the misnomer table (rank correlations and
contradictions of every indicator pair).

Pure: a run (and its report) in, a string out (the CLI writes the file).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from effbench.analysis.costs import cost_table, random_quality_cells, random_weight_keys
from effbench.report.cards import CostCard, cost_cards, format_value, provenance_label
from effbench.numbers import RANDOM_WEIGHTS_MARK
from effbench.report.text import FLOPS_FLAG, flops_flag_notes, flops_flags, param_notes, random_weights_notes

__all__ = ["TABLE_COLUMNS", "escape_markdown", "escape_latex", "cost_table_rows", "render_markdown", "render_latex",
           "PaperColumn", "PaperTable", "paper_cost_table", "paper_pareto_table", "paper_misnomer_table",
           "latex_table", "markdown_table", "MAX_COLUMNS"]

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


def _header_text(header: str, unit: str, prov: str) -> str:
    # cells carry their own scaled unit (ms, KiB, ...); unit-less numbers get it in the header
    shown = {"target": "target units"}.get(unit, unit)
    return f"{header} ({shown}, {prov})" if unit in ("ratio", "count", "target", "1") else f"{header} ({prov})"


def cost_table_rows(run) -> tuple[list[str], list[list[str]], list[str]]:
    """``(headers, rows, notes)`` as plain (unescaped) text; '-' marks a missing value."""
    cards = cost_cards(run)
    cols = _columns_present(cards, _table_columns(run))
    headers = ["candidate"]
    for key, header, unit in cols:
        headers.append(_header_text(header, unit, _column_provenance(cards, key)))
    flags = flops_flags(run)
    random, marked = random_weight_keys(run), set()
    rows = []
    for card in cards:
        row = [card.candidate + (" (failed)" if card.status == "failed" else "")]
        for key, _, _ in cols:
            e = card.entry(key)
            if e is None or e.missing:
                row.append("-")
                continue
            text = format_value(e.value, e.unit)
            if key == cols[0][0] and card.candidate in random:  # the quality of a model with random weights
                text += f" {RANDOM_WEIGHTS_MARK}"
                marked.add(card.candidate)
            if key == "best_throughput_samples_per_s" and e.note:
                text += f" ({e.note.replace('at batch ', 'b=')})"
            if e.provenance == "estimated":
                text += " \u2020"
            if key == "flops_per_sample" and card.candidate in flags:
                text += f" {FLOPS_FLAG}"
            row.append(text)
        rows.append(row)
    tail_note = _add_tail_column(run, cards, headers, rows, marked)
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
    notes += random_weights_notes(marked) + flops_flag_notes(flags) + param_notes(cost_table(run))
    return headers, rows, notes


def _tail_at_own_p99(run, key: str) -> float | None:
    """The tail quality (low quantile over rounds) at the candidate's own p99 deadline, from ``info["tail"]``."""
    tail = _tail_info(run, key)
    row = tail.get("own_p99")
    value = row.get(tail.get("quantile_key")) if isinstance(row, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def _add_tail_column(run, cards, headers, rows, marked: set) -> str | None:
    """A column of tail quality at each candidate's own p99 deadline, when some candidate has one
    (a tail-quality run, or one joined to the costs: docs/studies.md); returns its note, and adds the
    candidates whose cell carries the random-weights mark to ``marked``."""
    from effbench.report.figures import tail_quality_name

    values = [_tail_at_own_p99(run, card.candidate) for card in cards]
    if all(v is None for v in values):
        return None
    headers.append("tail quality at own p99 (ratio, measured)")
    random = random_weight_keys(run)
    for row, v, card in zip(rows, values, cards):
        mark = v is not None and card.candidate in random
        row.append("-" if v is None else f"{v:.4f}" + (f" {RANDOM_WEIGHTS_MARK}" if mark else ""))
        if mark:
            marked.add(card.candidate)
    names = sorted({tail_quality_name(_tail_info(run, card.candidate).get("quality"))
                    for card, v in zip(cards, values) if v is not None})
    return (f"tail quality = the low quantile over inference rounds of the {' or '.join(names)} when an answer later "
            "than the candidate's own p99 time counts as wrong (effbench tail measure).")


def _tail_info(run, key: str) -> dict:
    try:
        tail = run.candidate(key).info.get("tail") or {}
    except KeyError:
        return {}
    return tail if isinstance(tail, dict) else {}


def render_markdown(run, report=None) -> str:
    """A GitHub-flavoured Markdown table of the run's costs, with its caption and notes; with the
    run's :class:`~effbench.analysis.run_report.RunReport`, the Pareto and misnomer tables follow."""
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
    for table in _analysis_tables(report):
        lines += ["", markdown_table(table).rstrip("\n")]
    return "\n".join(lines) + "\n"


def render_latex(run, report=None, *, max_columns: int | None = None) -> str:
    """LaTeX ``table`` environments (booktabs, siunitx): the run's costs (:func:`paper_cost_table`)
    and, with the run's report, the Pareto and misnomer tables. Needs
    ``\\usepackage{booktabs,siunitx}``."""
    tables = [paper_cost_table(run)] + _analysis_tables(report)
    return "% generated by effbench; needs \\usepackage{booktabs} and \\usepackage{siunitx}\n" + "\n".join(
        latex_table(t, max_columns=max_columns or MAX_COLUMNS) for t in tables)


def _analysis_tables(report) -> list["PaperTable"]:
    if report is None:
        return []
    return [paper_pareto_table(report), paper_misnomer_table(report)]


# ----------------------------------------------------------------------------- tables for a page

#: value columns per tabular before a LaTeX table is split (the candidate column is repeated)
MAX_COLUMNS = 6

#: SI prefixes by power of ten: (text, siunitx macro)
_PREFIXES = {12: ("T", r"\tera"), 9: ("G", r"\giga"), 6: ("M", r"\mega"), 3: ("k", r"\kilo"), 0: ("", ""),
             -3: ("m", r"\milli"), -6: ("\u00b5", r"\micro"), -9: ("n", r"\nano")}
#: unit of a card entry -> (text, siunitx macro); "" = a plain number (counts take a k/M/G factor)
_SI_UNITS = {"s": ("s", r"\second"), "bytes": ("B", r"\byte"), "J": ("J", r"\joule")}


@dataclass(frozen=True)
class PaperColumn:
    """One column: a short ``header``; ``unit`` (plain text, e.g. ``µs``) and ``si`` (the siunitx
    units, e.g. ``\\micro\\second``; empty for a factor like ``k``); ``cells`` as plain text;
    ``numeric`` columns are siunitx ``S`` columns, whose cells are numbers or ``-``, and whose
    ``marks`` (``†``, ``!``) follow the number."""

    header: str
    cells: list[str]
    unit: str = ""
    si: str = ""
    numeric: bool = False
    marks: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PaperTable:
    """A caption, a label suffix, the first (key) column and the value columns, and notes."""

    caption: str
    label: str
    key: PaperColumn
    columns: list[PaperColumn]
    notes: list[str] = field(default_factory=list)


def _prefix_power(values) -> int:
    """The power of ten (a multiple of 3, -9 to 12) that puts the geometric mean of ``values`` in [1, 1000)."""
    v = [abs(x) for x in values if x is not None and math.isfinite(x) and x != 0]
    if not v:
        return 0
    mean = math.exp(sum(math.log(x) for x in v) / len(v))
    return max(-9, min(12, 3 * math.floor(math.log10(mean) / 3)))


def _decimals(scaled) -> int:
    """Decimals that give the smallest value three significant digits (0 to 3)."""
    v = [abs(x) for x in scaled if x is not None and math.isfinite(x) and x != 0]
    if not v:
        return 0
    return max(0, min(3, 2 - math.floor(math.log10(min(v)))))


def _number_column(header: str, values, unit: str, marks=None, *, decimals: int | None = None) -> PaperColumn:
    """A numeric column of ``values`` (None: '-') in ``unit`` (a key of :data:`_SI_UNITS`, ``count``
    for a k/M/G factor, anything else for plain numbers), scaled to one prefix for the whole column."""
    if unit in _SI_UNITS or unit == "count":
        power = _prefix_power(values)
        if unit == "bytes" or unit == "count":
            power = max(0, power)
    else:
        power = 0
    text, macro = _PREFIXES[power]
    scaled = [None if v is None else v / 10 ** power for v in values]
    d = _decimals(scaled) if decimals is None else decimals
    if decimals is None and power == 0 and unit == "count" and all(v is None or float(v).is_integer() for v in values):
        d = 0  # a count below 1000 is a whole number
    cells = ["-" if v is None else f"{v:.{d}f}" for v in scaled]
    if unit in _SI_UNITS:
        u_text, u_macro = _SI_UNITS[unit]
        unit_text, si = text + u_text, macro + u_macro
    else:
        unit_text, si = text, ""
    return PaperColumn(header, cells, unit_text, si, True, list(marks or [""] * len(cells)))


#: card entry key -> short header of the LaTeX cost table
_SHORT = {"accuracy": "acc.", "params": "params", "flops_per_sample": "FLOPs", "size_bytes": "size",
          "peak_rss_bytes_b1": "RSS b1", "latency_p50_s_b1": "p50 b1", "latency_p99_s_b1": "p99 b1",
          "latency_p50_s": "p50", "latency_p99_s": "p99",
          "best_throughput_samples_per_s": "thr.", "energy_per_sample_j_b1": "E b1", "train_time_s": "train"}
_UNIT_OF = {"count": "count", "FLOP": "count", "bytes": "bytes", "s": "s", "J": "J", "samples/s": "count"}


def paper_cost_table(run) -> PaperTable:
    """The cost table for a page: short headers, one unit per column, numbers in that unit.

    The known columns of :data:`TABLE_COLUMNS` (the run's own quality metric first) come from the
    cost cards (the numbers, not their text); any further column of :func:`cost_table_rows` is kept
    as a text column."""
    cards = cost_cards(run)
    cols = _columns_present(cards, _table_columns(run))
    flags = flops_flags(run)
    headers, rows, notes = cost_table_rows(run)
    known = {_header_text(h, u, _column_provenance(cards, k)) for k, h, u in cols}
    key = PaperColumn("candidate", [r[0] for r in rows])
    columns, provenance = [], {}
    for k, _, unit in cols:
        entries = [c.entry(k) for c in cards]
        values = [None if e is None or e.missing else float(e.value) for e in entries]
        random = random_weight_keys(run) if k == cols[0][0] else ()
        marks = [("\u2020" if e is not None and not e.missing and e.provenance == "estimated" else "")
                 + (FLOPS_FLAG if k == "flops_per_sample" and c.candidate in flags and v is not None else "")
                 + (RANDOM_WEIGHTS_MARK if c.candidate in random and v is not None else "")
                 for c, e, v in zip(cards, entries, values)]
        short = _SHORT.get(k, k)
        provenance.setdefault(_column_provenance(cards, k), []).append(short)
        if k == cols[0][0]:  # the quality: accuracy (a ratio, 4 decimals) or the run's own metric
            columns.append(_number_column(short, values, "ratio", marks, decimals=4 if unit == "ratio" else None))
            continue
        col = _number_column(_SHORT[k], values, _UNIT_OF.get(unit, unit), marks)
        if unit == "samples/s":
            col = PaperColumn(col.header, col.cells, f"{col.unit}/s" if col.unit else "1/s", col.si or "", True, col.marks)
        columns.append(col)
        if k == "best_throughput_samples_per_s":
            batch = [None if e is None or e.missing or not e.note else _batch_of(e.note) for e in entries]
            columns.append(_number_column("b*", batch, "", decimals=0))
    for i, h in enumerate(headers[1:], start=1):
        if h not in known:  # a column this table does not know: kept as text
            columns.append(PaperColumn(h, [r[i] for r in rows]))
    prov = "; ".join(f"{p}: {', '.join(names)}" for p, names in provenance.items())
    notes = [f"Provenance of each column: {prov}."] + [
        n.replace("'-' = not measured in this run", "'-' = not measured") for n in notes]
    if any(c.header == "b*" for c in columns):
        notes.insert(1, "thr. = best throughput over batch sizes; b* = the batch size that gives it.")
    return PaperTable(f"Costs of run {run.run_id} ({run.suite or '?'}, {(run.task or {}).get('name', '?')}).",
                      f"costs-{run.run_id}", key, columns, notes)


def _batch_of(note: str) -> float | None:
    m = re.search(r"(\d+)", note)
    return float(m.group(1)) if m else None


#: indicator -> unit for :func:`_number_column` in the Pareto table
_INDICATOR_UNITS = {"params": "count", "flops_per_sample": "count", "size_bytes": "bytes", "peak_rss_bytes_b1": "bytes",
                    "best_throughput_samples_per_s": "count"}


def _indicator_unit(name: str) -> str:
    if name in _INDICATOR_UNITS:
        return _INDICATOR_UNITS[name]
    if name.endswith("_s") or "_s_" in name:
        return "s"
    if "_j" in name:
        return "J"
    return "ratio"


def paper_pareto_table(report) -> PaperTable:
    """The Pareto study of the report (:data:`effbench.analysis.run_report.PARETO_OBJECTIVES`): one
    row per candidate, frontier first: layer, the objectives, the dominator count, DEA efficiency."""
    study = report.pareto
    run = report.run
    if study is None:
        return PaperTable(f"Pareto analysis of run {run.run_id}: not possible ({report.pareto_error}).",
                          f"pareto-{run.run_id}", PaperColumn("candidate", []), [])
    order = [int(i) for i in study.ranking()]
    doms = study.dominators(order)
    key = PaperColumn("candidate", [str(study.keys[i]) for i in order])
    columns = [_number_column("layer", [float(study.layer[i]) for i in order], "", decimals=0)]
    random = random_quality_cells(run, [str(study.keys[i]) for i in order], [o.name for o in study.objectives])
    for c, o in enumerate(study.objectives):
        unit = _indicator_unit(o.name)
        columns.append(_number_column(_SHORT.get(o.name, o.name), [float(study.values[i, c]) for i in order], unit,
                                      [RANDOM_WEIGHTS_MARK if (str(study.keys[i]), o.name) in random else "" for i in order],
                                      decimals=4 if unit == "ratio" else None))
    columns.append(_number_column("dom.", [float(n) for n in doms.count], "", decimals=0))
    if study.dea is not None:
        columns.append(_number_column("DEA", [float(study.dea.efficiency[i]) for i in order], "", decimals=3))
    objectives = ", ".join(str(o) for o in study.objectives)
    notes = [f"Objectives: {objectives}. Layer 1 = the Pareto frontier (no other candidate is at least as good on "
             "every objective and better on one); dom. = how many candidates dominate it."]
    if study.dea is not None:
        notes.append(f"DEA = relative efficiency (data envelopment analysis, {study.dea.model.upper()} model, "
                     f"{study.dea.orientation} orientation; :min objectives are inputs, :max outputs); 1 = efficient.")
    notes += random_weights_notes({k for k, _ in random})
    if report.pareto_dropped:
        notes.append("Left out: " + "; ".join(f"{k} ({r})" for k, r in report.pareto_dropped) + ".")
    return PaperTable(f"Pareto analysis of run {run.run_id}: {study.n_frontier} of {len(study.keys)} candidates on the frontier.",
                      f"pareto-{run.run_id}", key, columns, notes)


def paper_misnomer_table(report) -> PaperTable:
    """The misnomer analysis of the report: per indicator pair, the oriented rank correlations with
    their intervals and how many candidate pairs contradict each other."""
    run = report.run
    rm = report.misnomer
    if rm is None:
        return PaperTable(f"Misnomer analysis of run {run.run_id}: not possible ({report.misnomer_error}).",
                          f"misnomer-{run.run_id}", PaperColumn("x", []), [])
    res = rm.result
    short = {i.name: _SHORT.get(i.name, i.display) for i in res.indicators}
    contra = {(p.x, p.y): p for p in res.contradictions}
    level = f"{res.confidence * 100:g}%"

    def corr(v, ci) -> str:
        if v is None or v != v:
            return "-"
        return f"{v:+.2f}" + ("" if ci is None else f" [{ci[0]:+.2f}, {ci[1]:+.2f}]")

    pairs = res.correlations
    key = PaperColumn("x", [short[c.x] for c in pairs])
    columns = [
        PaperColumn("y", [short[c.y] for c in pairs]),
        _number_column("n", [float(c.n_models) for c in pairs], "", decimals=0),
        PaperColumn(f"tau-b [{level}]", [corr(c.kendall_oriented, c.kendall_oriented_ci) for c in pairs]),
        PaperColumn(f"rho [{level}]", [corr(c.spearman_oriented, c.spearman_oriented_ci) for c in pairs]),
        PaperColumn("contra.", [f"{contra[(c.x, c.y)].count} of {contra[(c.x, c.y)].n_pairs}"
                                            if (c.x, c.y) in contra else "-" for c in pairs]),
    ]
    names = "; ".join(f"{short[i.name]} = {i.display}" for i in res.indicators)
    notes = [f"After Dehghani et al., The Efficiency Misnomer (ICLR 2022). Indicators: {names}. Oriented Kendall tau-b and Spearman rho: "
             f"+1 = the two indicators always agree on which candidate is more efficient, -1 = always disagree; "
             f"{level} intervals by Fisher z. contra. = candidate pairs that contradict: one candidate better on one indicator by at least "
             f"{res.min_factor:g}x and the other better on the other by at least {res.min_other_factor:g}x."]
    return PaperTable(f"Do the cost indicators of run {run.run_id} agree? ({res.n_models} candidates)",
                      f"misnomer-{run.run_id}", key, columns, notes)


def _md_header(col: PaperColumn) -> str:
    return f"{col.header} ({col.unit})" if col.unit else col.header


def markdown_table(table: PaperTable) -> str:
    """A :class:`PaperTable` as a GitHub-flavoured Markdown table with its caption and notes."""
    cols = [table.key] + table.columns
    lines = [f"**{escape_markdown(table.caption)}**", ""]
    if not table.key.cells:
        return "\n".join(lines[:1]) + "\n"
    lines.append("| " + " | ".join(escape_markdown(_md_header(c)) for c in cols) + " |")
    lines.append("|" + "|".join([":---"] + ["---:"] * len(table.columns)) + "|")
    for r in range(len(table.key.cells)):
        cells = [escape_markdown(c.cells[r] + (" " + c.marks[r] if c.marks and c.marks[r] else "")) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [""] + [escape_markdown(n) for n in table.notes]
    return "\n".join(lines) + "\n"


def _latex_text(text: str) -> str:
    """Escaped text, with the dagger and the micro sign as LaTeX draws them."""
    return escape_latex(text).replace("\u2020", r"$^\dagger$").replace("\u00b5", r"\textmu{}")


def _table_format(cells: list[str]) -> str:
    """siunitx ``table-format`` for the number cells of a column (e.g. ``3.2``)."""
    nums = [c.lstrip("-") for c in cells if c != "-"]
    if not nums:
        return "1.0"
    ints = max(len(n.split(".")[0]) for n in nums)
    decs = max((len(n.split(".")[1]) if "." in n else 0) for n in nums)
    sign = "-" if any(c.startswith("-") and c != "-" for c in cells) else ""
    return f"{sign}{ints}.{decs}"


def _latex_cell(col: PaperColumn, r: int) -> str:
    text, mark = col.cells[r], (col.marks[r] if col.marks else "")
    if not col.numeric:
        return _latex_text(text)
    if text == "-":
        return "{--}"
    if mark:  # braced: siunitx sets it as text, the number and its mark together
        return "{" + text + "".join(r"$^\dagger$" if m == "\u2020" else r"\textsuperscript{" + escape_latex(m) + "}" for m in mark) + "}"
    return text


def _latex_unit(col: PaperColumn) -> str:
    if not col.unit:
        return ""
    return "{(\\si{" + col.si + "})}" if col.si else "{(" + _latex_text(col.unit) + ")}"


def latex_table(table: PaperTable, *, max_columns: int = MAX_COLUMNS) -> str:
    """A :class:`PaperTable` as one LaTeX ``table``: booktabs rules, siunitx ``S`` columns for the
    numbers (``table-format`` from the cells), names on the first header row and units on the
    second; more than ``max_columns`` value columns are split into stacked tabulars, each
    repeating the key column."""
    if max_columns < 1:
        from effbench.errors import ConfigError

        raise ConfigError(f"max_columns must be at least 1; got {max_columns}")
    label = re.sub(r"[^A-Za-z0-9-]", "-", table.label)
    out = ["\\begin{table}[t]", "\\centering", "\\small"]
    chunks = [table.columns[i:i + max_columns] for i in range(0, len(table.columns), max_columns)] if table.key.cells else []
    for n, chunk in enumerate(chunks):
        if n:
            out.append("\\par\\medskip")
        spec = "l" + "".join(f"S[table-format={_table_format(c.cells)}]" if c.numeric else "r" for c in chunk)
        out += [f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
                " & ".join([_latex_text(table.key.header)] + ["{" + _latex_text(c.header) + "}" for c in chunk]) + " \\\\"]
        if any(c.unit for c in chunk):
            out.append(" & ".join([""] + [_latex_unit(c) for c in chunk]) + " \\\\")
        out.append("\\midrule")
        for r in range(len(table.key.cells)):
            out.append(" & ".join([_latex_text(table.key.cells[r])] + [_latex_cell(c, r) for c in chunk]) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}"]
    caption = " ".join([table.caption] + table.notes)
    out += [f"\\caption{{{_latex_text(caption)}}}", f"\\label{{tab:effbench-{label}}}", "\\end{table}"]
    return "\n".join(out) + "\n"
