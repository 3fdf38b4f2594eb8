"""The text of ``effbench misnomer``: a :class:`effbench.analysis.misnomer.TableMisnomer` in, lines out."""

from __future__ import annotations

from collections import Counter

from effbench.numbers import MISSING, fmt_p, fmt_percent
from effbench.report.text import render_table

__all__ = ["render_table_misnomer", "render_misnomer_result"]

_CAPTION = ("oriented: +1 = the two indicators always agree on which model is more efficient, "
            "-1 = always disagree; raw: on the stored values (GMACs vs throughput is negative). "
            "Intervals: Fisher z (Fieller et al. 1957 for tau, Bonett & Wright 2000 for rho).")


def _fmt_r(value, ci) -> str:
    if value is None or value != value:
        return MISSING
    if ci is None:
        return f"{value:+.3f}"
    return f"{value:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _dropped_summary(source) -> str:
    if not source.dropped_reasons:
        return "no row dropped"
    reasons = Counter(source.dropped_reasons)
    shown = "; ".join(f"{n} {r}" for r, n in reasons.most_common(4))
    more = len(reasons) - 4
    return f"{len(source.dropped_reasons)} rows dropped: {shown}" + (f"; {more} other reasons" if more > 0 else "")


def render_table_misnomer(tm) -> list[str]:
    """Where the models came from, the loader's notes, then :func:`render_misnomer_result`."""
    src = tm.input
    return [f"{tm.result.n_models} models from {', '.join(src.files)} (key {src.key!r}); {_dropped_summary(src)}",
            *(f"note: {note}" for note in src.notes), *render_misnomer_result(tm.result)]


def _correlation_table(result) -> str:
    display = {i.name: i.display for i in result.indicators}
    level = f"{result.confidence * 100:g}%"
    rows = [[display[c.x], display[c.y], str(c.n_models),
             _fmt_r(c.kendall_oriented, c.kendall_oriented_ci), _fmt_r(c.spearman_oriented, c.spearman_oriented_ci),
             _fmt_r(c.kendall_raw, None), _fmt_r(c.spearman_raw, None), fmt_p(c.kendall_p_value)]
            for c in result.correlations]
    return render_table("Rank correlations between indicators",
                        ["x", "y", "models", f"Kendall tau-b oriented [{level}]", f"Spearman rho oriented [{level}]",
                         "tau raw", "rho raw", "p (tau)"], rows, caption=_CAPTION, keys=2)


def render_misnomer_result(result) -> list[str]:
    """The correlation table and the contradictions of a :class:`~effbench.analysis.misnomer.MisnomerResult`."""
    display = {i.name: i.display for i in result.indicators}
    out = [_correlation_table(result)]
    rule = (f"one model better on x, the other on y, larger factor >= "
            f"{result.min_factor:g}, smaller >= {result.min_other_factor:g}")
    out += ["", f"Contradictions ({rule}; strongest first = largest product of the two factors)"]
    for p in result.contradictions:
        share = fmt_percent(p.share) if p.n_pairs else MISSING
        out.append(f"{display[p.x]} vs {display[p.y]}: {p.count:,} of {p.n_pairs:,} model pairs ({share})")
        out += [f"  - {c.text}" for c in p.top]
    out.append(f"total: {result.total_contradictions:,} contradicting (model pair, indicator pair) cases")
    return out
