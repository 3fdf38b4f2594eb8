"""The text of ``effbench recommend``: a :class:`effbench.analysis.selection.Recommendation` in, lines out."""

from __future__ import annotations

__all__ = ["format_cost", "render_recommendation"]


def format_cost(v) -> str:
    """A cost in the runner-up list: 4 significant digits, scientific when very large or small; '-' when unknown."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:.3g}" if (abs(v) >= 1e5 or 0 < abs(v) < 1e-3) else f"{v:.4g}"
    return str(v)


def _runner_up(rec, r: dict) -> str:
    names = [n for n in rec.preference if n != "simplicity"]
    par = "on par" if r["on_par_with_reference"] else "not on par"
    p = "" if r["p_value"] is None else f", p={r['p_value']:.2g}"
    costs = ", ".join(f"{n}={format_cost(r['costs'].get(n))}" for n in names if n in r["costs"])
    return f"  {r['key']}: {rec.quality} {r['quality']:.4f} ({par}{p}); {r['family'] or 'family unknown'}; {costs}"


def render_recommendation(rec) -> tuple[list[str], list[str]]:
    """(lines for standard output, lines for standard error: the models left out and why)."""
    out = [f"Recommendation for run {rec.run_id} ({rec.quality} on {rec.n_test} test examples; "
           f"parity: {rec.test} test, {100 * (1 - rec.alpha):g}% level)",
           f"constraints: {'; '.join(rec.constraints) or 'none'}; preference: {', '.join(rec.preference)}",
           f"objectives of the frontier: {', '.join(rec.objectives)}; {len(rec.feasible)} model(s) meet the constraints, "
           f"{len(rec.frontier)} on their frontier",
           "", *rec.message]
    if rec.runner_ups:
        out += ["", "runner-ups (frontier):", *(_runner_up(rec, r) for r in rec.runner_ups)]
    err = [f"effbench: left out {key}: {reason}" for key, reason in rec.dropped]
    if err:
        out.append("")
    return out, err
