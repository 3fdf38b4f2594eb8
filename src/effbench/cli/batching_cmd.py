"""effbench batching: which batch size minimises energy per sample under a latency objective."""

from __future__ import annotations

import click

from effbench.cli.common import check_json_output, db_option, echo_lines, emit_json, human_output, split_list
from effbench.cli.study import hw_label_option


@click.command()
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN_ID...")
@click.option("--arrival-rate", "rate", type=float, required=True, help="Requests per second arriving (Poisson by default).")
@click.option("--max-latency", "bound", type=float, required=True, help="Latency objective: response time at --percentile at most this many seconds (e.g. 0.05).")
@click.option("--percentile", type=float, default=99.0, show_default=True, help="Percentile of the response time the objective bounds.")
@click.option("--candidates", metavar="KEYS", help="Comma-separated candidate keys (model/backend, or model/backend@HARDWARE with runs on several hardware); default: every candidate of the runs.")
@click.option("--policies", default="fixed,dynamic", show_default=True, help="fixed (wait for B requests) and/or dynamic (up to B or a maximum wait).")
@click.option("--arrivals", type=click.Choice(["poisson", "deterministic"]), default="poisson", show_default=True)
@click.option("--requests", "n_requests", type=int, default=100_000, show_default=True, help="Simulated requests per setting.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "json_out", metavar="FILE", help="Write the study as JSON.")
@click.option("--force", is_flag=True, help="Overwrite the --json file.")
@db_option
@hw_label_option
def batching(run_ids, rate, bound, percentile, candidates, policies, arrivals, n_requests, seed, json_out, force, db, hw_labels):
    """Serve with which batch size? Simulates the queue from the run's measured service times.

    Response time includes the wait to fill a batch at the arrival rate, the queueing and the service
    time drawn from the measured samples. The answer per candidate: the setting with the least energy
    per sample that meets the objective, by how much it meets it, or the closest when none does.
    Several runs: each candidate is studied on each hardware (KEY@HARDWARE) from its own run's samples
    and idle power.
    """
    from effbench.analysis.batching import LatencyObjective
    from effbench.analysis.run_batching import study_batching
    from effbench.cli.study import load_study
    from effbench.report.batching import render_batching_study
    from effbench.validation import Interval, check

    positive = Interval(float, 0, None, closed="neither")
    rate = check("--arrival-rate", rate, positive)
    objective = LatencyObjective(check("--max-latency", bound, positive), percentile)
    check_json_output(json_out, force)
    runs = load_study(db, run_ids, hw_labels)
    study = study_batching(runs, split_list(candidates), rate, objective, policies=tuple(split_list(policies) or ()),
                           arrivals=arrivals, n_requests=n_requests, seed=seed)
    with human_output(json_out):
        echo_lines(render_batching_study(study))
    if json_out:
        emit_json(json_out, study.to_dict(), force=force, indent=1)
    return 0
