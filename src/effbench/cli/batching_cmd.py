"""effbench batching: which batch size minimises energy per sample under a latency objective."""

from __future__ import annotations

import click

from effbench.cli.common import db_option, split_list


@click.command()
@click.argument("run_id")
@click.option("--arrival-rate", "rate", type=float, required=True, help="Requests per second arriving (Poisson by default).")
@click.option("--max-latency", "bound", type=float, required=True, help="Latency objective: response time at --percentile at most this many seconds (e.g. 0.05).")
@click.option("--percentile", type=float, default=99.0, show_default=True, help="Percentile of the response time the objective bounds.")
@click.option("--candidates", metavar="KEYS", help="Comma-separated candidate keys (model/backend); default: every candidate of the run.")
@click.option("--policies", default="fixed,dynamic", show_default=True, help="fixed (wait for B requests) and/or dynamic (up to B or a maximum wait).")
@click.option("--arrivals", type=click.Choice(["poisson", "deterministic"]), default="poisson", show_default=True)
@click.option("--requests", "n_requests", type=int, default=100_000, show_default=True, help="Simulated requests per setting.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "json_out", metavar="FILE", help="Write the study as JSON.")
@click.option("--force", is_flag=True, help="Overwrite the --json file.")
@db_option
def batching(run_id, rate, bound, percentile, candidates, policies, arrivals, n_requests, seed, json_out, force, db):
    """Serve with which batch size? Simulates the queue from the run's measured service times.

    Response time includes the wait to fill a batch at the arrival rate, the queueing and the service
    time drawn from the measured samples. The answer per candidate: the setting with the least energy
    per sample that meets the objective, by how much it meets it, or the closest when none does.
    """
    from effbench.analysis.batching import LatencyObjective
    from effbench.analysis.run_batching import batching_study
    from effbench.errors import ConfigError
    from effbench.report.text import fmt_seconds, render_table
    from effbench.store.db import Store
    from effbench.store.files import check_output, write_json

    if not rate > 0:
        raise ConfigError(f"--arrival-rate must be a positive number of requests per second; got {rate:g}")
    if not bound > 0:
        raise ConfigError(f"--max-latency must be a positive number of seconds; got {bound:g}")
    objective = LatencyObjective(bound, percentile)
    if json_out:
        check_output(json_out, force, "--json")
    with Store(db, create=False) as store:
        run = store.load_run(run_id)
    keys = split_list(candidates) or [c.key for c in run.candidates if c.status == "ok"]
    known = {c.key for c in run.candidates}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ConfigError(f"--candidates: {unknown[0]!r} is not in run {run.run_id}; allowed: {', '.join(sorted(known))}")
    study = batching_study(run, keys, rate, objective, policies=tuple(split_list(policies) or ()), arrivals=arrivals,
                           n_requests=n_requests, seed=seed)
    for key, res in study.items():
        rows = [[str(r["batch_size"]), fmt_seconds(r["batch_latency_p50_s"]), fmt_seconds(r["batch_latency_p99_s"]),
                 fmt_seconds(r["per_sample_latency_s"]), f"{r['throughput_per_s']:.4g}/s",
                 f"{r['energy_per_sample_j']:.3g} J" + ("~" if r["energy_provenance"] == "estimated" else "")] for r in res["table"]]
        text = render_table(f"{key}: per batch size (service time measured; ~ energy estimated)",
                            ["batch", "p50/batch", "p99/batch", "p50/sample", "throughput (b/p50)", "energy/sample"], rows)
        if text is not None:
            click.echo(text)
        click.echo(f"{key}: at {rate:g} requests/s, {res['recommendation'].summary}")
    if json_out:
        doc = {"run_id": run.run_id, "arrival_rate_per_s": rate, "objective": {"percentile": percentile, "bound_s": bound},
               "candidates": {k: {"table": v["table"], "recommendation": v["recommendation"].to_dict()} for k, v in study.items()}}
        write_json(json_out, doc, force=force)
        click.echo(f"wrote {json_out}", err=True)
    return 0
