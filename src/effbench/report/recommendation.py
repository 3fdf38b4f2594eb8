"""The text of ``effbench recommend``: a :class:`effbench.analysis.selection.Recommendation` in, lines out."""

from __future__ import annotations

from effbench.numbers import fmt_named, fmt_p, fmt_ratio, mark_random_weights
from effbench.report.text import random_weights_notes

__all__ = ["format_cost", "render_recommendation"]


def format_cost(v, name: str = "") -> str:
    """A cost in the runner-up list, by the unit its ``name`` carries (``latency_p99_s_b1=21.0 ms``,
    ``params=61.7k``); '-' when unknown."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    return fmt_named(name, v)


def _runner_up(rec, r: dict) -> str:
    names = [n for n in rec.preference if n != "simplicity"]
    par = {True: "on par", False: "not on par", None: "quality not compared"}[r["on_par_with_reference"]]
    p = "" if r["p_value"] is None else f", p={fmt_p(r['p_value'])}"
    costs = ", ".join(f"{n}={format_cost(r['costs'].get(n), n)}" for n in names if n in r["costs"])
    quality = mark_random_weights(fmt_ratio(r['quality'], 4), r['key'] in rec.random_weights)
    return f"  {r['key']}: {rec.quality} {quality} ({par}{p}); {r['family'] or 'family unknown'}; {costs}"


def render_recommendation(rec) -> tuple[list[str], list[str]]:
    """(lines for standard output, lines for standard error: the models left out and why)."""
    parity = (f"parity: {rec.test} test, {100 * (1 - rec.alpha):g}% level" if rec.quality_compared else
              "quality not compared: every model has random weights")
    out = [f"Recommendation for run {rec.run_id} ({rec.quality} on {rec.n_test} test examples; {parity})",
           f"constraints: {'; '.join(rec.constraints) or 'none'}; preference: {', '.join(rec.preference)}",
           f"objectives of the frontier: {', '.join(rec.objectives)}; {len(rec.feasible)} model(s) meet the constraints, "
           f"{len(rec.frontier)} on their frontier",
           "", *rec.message]
    if rec.runner_ups:
        out += ["", "runner-ups (frontier):", *(_runner_up(rec, r) for r in rec.runner_ups)]
    if rec.random_weights:  # the sentences above compare qualities too: the note concerns them all
        out += ["", *random_weights_notes(rec.random_weights)]
    err = [f"effbench: left out {key}: {reason}" for key, reason in rec.dropped]
    if err:
        out.append("")
    return out, err
