"""``effbench tail``: quality under inference deadlines (tail quality).

``effbench tail analyze --times FILE`` analyses per-instance timings recorded elsewhere;
``effbench tail measure`` measures them on candidates of the default suite.
Only click and the standard library are imported at module level.
"""

from __future__ import annotations

import click

from effbench.cli.common import check_json_output, db_option, emit_json, human_output

def _parse_percentiles(text: str) -> list[float]:
    text = text.strip()
    if text.lower() in ("", "none"):
        return []
    out = []
    for part in text.split(","):
        try:
            out.append(float(part))
        except ValueError:
            raise click.BadParameter(
                f"expected comma-separated numbers in (0, 100] such as 90,95,99,99.9 or 'none', got {text!r}",
                param_hint="'--percentiles'",
            ) from None
    return out


@click.group()
def tail():
    """Quality under inference deadlines: an answer later than the deadline counts as wrong.

    After Yang et al., "Quality at the Tail of Machine Learning Inference".
    """



def _stopping_rule_options(f):
    """--every, --window, --js-threshold, --min-rounds: the stopping rule's settings, shared by analyze and measure."""
    f = click.option("--min-rounds", default=8, show_default=True, type=click.IntRange(min=1),
                     help="Stopping rule: never stop before this many rounds.")(f)
    f = click.option("--js-threshold", default=0.05, show_default=True, type=float,
                     help="Stopping rule: converged when every Jensen-Shannon distance is below this.")(f)
    f = click.option("--window", default=None, type=click.IntRange(min=1),
                     help="Stopping rule: compare each fit with the previous N fits [default: 3; --rule yang: 5].")(f)
    f = click.option("--round-threshold", default=0.05, show_default=True, type=float,
                     help="--rule tail: the round effects' fits must also be within this JS distance.")(f)
    f = click.option("--rule", type=click.Choice(["js", "tail", "yang"]), default="tail", show_default=True,
                     help="Stopping rule: js (KDE of the pooled times), tail (and the per-round slowdowns stable), "
                          "yang (the authors' rule: ISJ bandwidth, rJSD over 5 fits; --js-threshold is its threshold).")(f)
    f = click.option("--every", default=2, show_default=True, type=click.IntRange(min=1),
                     help="Stopping rule: fit the time distribution every N rounds.")(f)
    return f

@tail.command("analyze")
@click.option("--times", "times_file", required=True, type=click.Path(dir_okay=False),
              help="CSV with columns round,instance,time_s,correct (correct: 1 or 0).")
@click.option("--threshold", "thresholds", multiple=True, type=float, metavar="SECONDS",
              help="A deadline in seconds (repeatable).")
@click.option("--percentiles", default="90,95,99,99.9", show_default=True,
              help="Deadlines at these percentiles of the pooled observed times ('none' for none).")
@click.option("--grid", default=20, show_default=True, type=click.IntRange(min=0),
              help="Points of a deadline grid from the minimum to the maximum time (0: none).")
@click.option("--quantile", default=0.01, show_default=True, type=float,
              help="Low quantile of quality over rounds reported as the tail quality.")
@_stopping_rule_options
@click.option("--max-rounds", default=200, show_default=True, type=click.IntRange(min=1),
              help="Stopping rule: always stop at this many rounds.")
@click.option("--fit-rounds", default=None, type=click.IntRange(min=1),
              help="Fit the prediction on the first K rounds and check it on the rounds after them.")
@click.option("--predict-rounds", default=None, type=click.IntRange(min=1),
              help="With --fit-rounds: predict this many rounds after the fitted ones [default: all the rest].")
@click.option("--level", default=0.9, show_default=True, type=float,
              help="With --fit-rounds: probability of the prediction interval.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Write the results as JSON to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
def analyze(times_file, thresholds, percentiles, grid, quantile, rule, round_threshold, every, window, js_threshold,
            min_rounds, max_rounds, fit_rounds, predict_rounds, level, json_out, force):
    """Tail quality of recorded per-instance timings.

    An instance is on time when time_s <= threshold; a late instance counts as wrong and the
    denominator is the whole dataset. Per deadline: the worst round, a low quantile, the mean,
    standard deviation and best round of quality, beside the quality without deadline.

    With --fit-rounds K: per deadline (yours, and the percentiles of the first K rounds), a
    prediction interval of the worst round over the rounds after them, fitted on the first K, the
    worst they really had, and whether the interval contains it.
    """
    import csv
    import os

    from effbench.analysis import tail as tq
    from effbench.analysis.tail_rules import replay_rule, rule_config
    from effbench.errors import DataError

    pcts = _parse_percentiles(percentiles)
    check_json_output(json_out, force)
    try:
        with open(times_file, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            reader.fieldnames = columns
            times, correct, round_ids, _ = tq.arrays_from_rows(reader, columns)
    except OSError as exc:
        raise DataError(f"--times: cannot read {times_file}: {exc.strerror or exc}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"--times: {times_file} is not a readable CSV file ({exc})") from None

    result = tq.analyze_tail(times, correct, thresholds_s=thresholds, percentiles=pcts,
                             grid=grid, quantile=quantile)
    config = rule_config(rule, every=every, window=window, threshold=js_threshold, round_threshold=round_threshold,
                         min_rounds=min_rounds, max_rounds=max_rounds)
    conv = replay_rule(times, config)

    data = result.to_dict()
    key = data["quantile_key"]
    prediction = None
    if fit_rounds is not None:
        prediction = _held_out_prediction(times, correct, thresholds, pcts, fit_rounds, predict_rounds, level, quantile)
    with human_output(json_out):
        _render(result, data, conv, key)
        if prediction is not None:
            _render_prediction(prediction)
    if json_out:
        payload = {
            "schema": "effbench.tail.analyze/1",
            "source": os.path.abspath(times_file),
            "provenance": "measured",
            **data,
            "round_ids": round_ids,
            "convergence": conv.to_dict(),
        }
        if prediction is not None:
            payload["prediction"] = prediction
        emit_json(json_out, payload, force=force)


def _held_out_prediction(times, correct, thresholds, pcts, fit_rounds, predict_rounds, level, quantile) -> dict:
    """Intervals fitted on the first ``fit_rounds`` rounds against the rounds after them (the JSON's ``prediction``)."""
    from effbench.analysis import tail as tq
    from effbench.analysis import tail_interval as ti
    from effbench.errors import ConfigError

    total = times.shape[0]
    if fit_rounds >= total:
        raise ConfigError(f"--fit-rounds: expected fewer than the {total} rounds in the file "
                          f"(some must be left to check the prediction on), got {fit_rounds}")
    if predict_rounds is not None and predict_rounds > total - fit_rounds:
        raise ConfigError(f"--predict-rounds: expected at most the {total - fit_rounds} rounds after "
                          f"--fit-rounds {fit_rounds}, got {predict_rounds}")
    cfg = ti.IntervalConfig(level=level, quantile=quantile)
    deadlines = tq.select_thresholds(times[:fit_rounds], thresholds, pcts, 0)
    if not deadlines:
        raise ConfigError("--fit-rounds: expected at least one deadline (--threshold or --percentiles), got none")
    rows = ti.held_out_rows(times, correct, deadlines, fit_rounds=fit_rounds, predict_rounds=predict_rounds, config=cfg)
    return {**ti.interval_settings(cfg, fit_rounds, predict_rounds or total - fit_rounds),
            "percentiles_from": "the fitted rounds", "error_unit": "percentage points", "thresholds": rows}


def _render_prediction(pred: dict) -> None:
    click.echo(f"prediction: fitted on rounds 1-{pred['fit_rounds']}, worst of the next {pred['predict_rounds']} "
               f"rounds, {100 * pred['level']:g}% interval")
    head = f"{'deadline':>12} {'label':<7} {'low':>7} {'point':>7} {'high':>7} {'observed':>8} {'covered':>7} {'point err pp':>12}"
    click.echo(head)
    click.echo("-" * len(head))
    for row in pred["thresholds"]:
        w = row["predicted_worst"]
        click.echo(f"{_fmt_s(row['threshold_s']):>12} {row['label']:<7} {w['low']:7.4f} {w['point']:7.4f} {w['high']:7.4f} "
                   f"{row['observed_worst']:8.4f} {str(row['covered']).lower():>7} {row['point_error_pp']:12.2f}")


def _render(result, data, conv, key):
    unc = data["unconstrained"]
    click.echo(
        f"{data['rounds']} rounds x {data['instances']} instances; quality without deadline "
        f"{unc['mean']:.4f}; on time when time_s <= threshold"
    )
    header = f"{'deadline':>12} {'origin':<10} {'label':<7} {'min':>7} {key:>7} {'mean':>7} {'std':>7} {'max':>7}"
    click.echo(header)
    click.echo("-" * len(header))
    for row in data["thresholds"]:
        click.echo(
            f"{_fmt_s(row['threshold_s']):>12} {row['origin']:<10} {row['label']:<7} "
            f"{row['min']:7.4f} {row[key]:7.4f} {row['mean']:7.4f} {row['std']:7.4f} {row['max']:7.4f}"
        )
    last = conv.trace[-1].max_js if conv.trace and conv.trace[-1].max_js is not None else None
    last_txt = f"; last max JS distance {last:.4f}" if last is not None else ""
    rule = conv.to_dict()
    what = {"yang": f"rJSD <= {rule['threshold']} over the previous {rule['window']} fits (ISJ)",
            "tail": f"JS < {rule['threshold']} vs previous {rule['window']} fits, round effects JS < {rule.get('round_threshold')}",
            }.get(rule.get("rule"), f"JS < {rule['threshold']} vs previous {rule['window']} fits")
    click.echo(
        f"stopping rule {rule.get('rule', 'js')}: {conv.stopped_by} after {conv.rounds_used} of {conv.rounds_available} "
        f"rounds ({what}, every {rule['every']} rounds){last_txt}"
    )


def _fmt_s(value: float) -> str:
    from effbench.numbers import fmt_seconds

    return fmt_seconds(value, digits=4)


@tail.command("measure")
@click.argument("suite_file", required=False, metavar="[SUITE.toml]")
@click.option("--candidate", "candidates", multiple=True, metavar="NAME[/BACKEND]",
              help="A candidate of the default suite (or of SUITE.toml), e.g. cnn_small/torch or logreg (all its backends); "
                   "repeatable. Default: the suite (--quick: the quick suite).")
@click.option("--trust-pickle", "trust_pickle", is_flag=True, help="SUITE.toml: load its pickle/joblib model files.")
@click.option("--batch-size", default=1, show_default=True, type=click.IntRange(min=1),
              help="Instances per inference call; every instance takes its batch's time.")
@click.option("--time-kind", type=click.Choice(["e2e", "inference"]), default="e2e", show_default=True,
              help="Time compared with the deadline: end to end (prepare+infer+to_labels) or the model call only.")
@click.option("--threshold", "thresholds", multiple=True, type=float, metavar="SECONDS",
              help="A deadline in seconds for every candidate (repeatable).")
@click.option("--tolerance", default=None, type=float, metavar="X",
              help="A regression suite file: an on-time answer is good when |prediction - target| <= X (the target's "
                   "units) [default: the suite file's [data] tolerance].")
@click.option("--percentiles", default="90,95,99,99.9", show_default=True,
              help="Deadlines at these percentiles of each candidate's own times (p99 is always added).")
@click.option("--grid", default=20, show_default=True, type=click.IntRange(min=0),
              help="Points of the quality-versus-deadline curve (0: none).")
@click.option("--quantile", default=0.01, show_default=True, type=float,
              help="Low quantile of quality over rounds reported as the tail quality.")
@_stopping_rule_options
@click.option("--max-rounds", default=None, type=click.IntRange(min=1),
              help="Stopping rule: always stop at this many rounds [default: 200; --quick: 40].")
@click.option("--holdout-rounds", default=None, type=click.IntRange(min=0),
              help="Rounds measured after the stop to check the prediction [default: 20; --quick: 10].")
@click.option("--fixed-rounds", default=None, type=click.IntRange(min=2),
              help="Measure exactly N rounds and replay the stopping rule on them (the rest are held out).")
@click.option("--deadline-common", "deadline_common", type=float, default=None, metavar="SECONDS",
              help="One deadline for every candidate [default: the median of their own p99 deadlines].")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1),
              help="Threads per candidate (torch, BLAS/OpenMP, ONNX Runtime intra-op).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Write every candidate's results as JSON to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
@click.option("--no-store", "no_store", is_flag=True, help="Do not write a run to the result database.")
@click.option("--quick", is_flag=True, help="The quick suite, quick training, at most 40 rounds and 10 held-out rounds.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@click.option("--cost-run", "cost_run", default=None, metavar="RUN",
              help="The cost run ('effbench run') of the same candidates: the tail run records the link, so "
                   "'effbench report TAIL_RUN' shows both (RUN: an id, a unique prefix, or 'latest').")
@db_option
def measure(suite_file, candidates, trust_pickle, batch_size, time_kind, thresholds, tolerance, percentiles, grid, quantile, rule, round_threshold, every, window,
            js_threshold, min_rounds, max_rounds, holdout_rounds, fixed_rounds, deadline_common, threads,
            json_out, force, no_store, quick, quiet, cost_run, db):
    """Measure tail quality on candidates of the default suite (digits), or of a suite file.

    \b
    effbench tail measure --candidate cnn_small/torch
    effbench tail measure study.toml --candidate resnet   (labelled data; see docs/your-models.md)

    Trains the candidates, then per candidate runs one discarded warm-up round and whole-dataset
    inference rounds in its own worker process until the stopping rule says stop (default
    --rule tail: every N rounds a KDE of the pooled times and one of the per-round slowdowns,
    both within a Jensen-Shannon distance of the previous fits), then held-out rounds to check
    the quality predicted from the rounds used (a 90% interval of the worst round: predicted,
    observed, covered).
    An instance is on time when time <= deadline; a late instance counts as wrong. A good answer
    is the right label, or for a regression (--tolerance X) within X of the target. The results
    are stored as a new run (see 'effbench show') unless --no-store.
    """
    from effbench.errors import ConfigError
    from effbench.runs.tail import TailConfig, measure_tail_suite
    from effbench.zoo.digits_suite import parse_candidate_keys

    check_json_output(json_out, force)
    if deadline_common is not None and not (deadline_common > 0 and deadline_common != float("inf")):
        raise ConfigError(f"--deadline-common: expected a positive number of seconds, got {deadline_common!r}")
    for t in thresholds:
        if not (t > 0 and t != float("inf")):
            raise ConfigError(f"--threshold: expected a positive number of seconds, got {t!r}")
    if max_rounds is None:
        max_rounds = max(40 if quick else 200, min_rounds)
    if holdout_rounds is None:
        holdout_rounds = 10 if quick else 20
    config = TailConfig(
        batch_size=batch_size, time_kind=time_kind, thresholds_s=tuple(thresholds),
        percentiles=tuple(_parse_percentiles(percentiles)), grid=grid, quantile=quantile, rule=rule,
        round_threshold=round_threshold, every=every,
        window=window, js_threshold=js_threshold, min_rounds=min_rounds, max_rounds=max_rounds,
        holdout_rounds=holdout_rounds, fixed_rounds=fixed_rounds, threads=threads,
    )
    if tolerance is not None:
        from effbench.runs.tail import TOLERANCE
        from effbench.validation import check

        tolerance = check("--tolerance", tolerance, TOLERANCE)
    if cost_run is not None and no_store:
        raise ConfigError("--cost-run links the stored tail run to a cost run; it cannot be used with --no-store")
    from effbench.report.progress import default_progress

    progress = default_progress(quiet)  # a bar on a terminal or in a notebook, plain lines otherwise
    log = progress.log
    if suite_file is not None:
        from effbench.runs.files import plan_suite_file
        from effbench.runs.tail import measure_tail_plan

        if quick:
            raise ConfigError("--quick: applies to the default suite, not to a suite file")
        from dataclasses import replace

        from effbench.runs.tail import check_suite_candidate_names, suite_tolerance
        from effbench.sources.suite import load_suite

        spec = load_suite(suite_file, trust_pickle=trust_pickle)
        check_suite_candidate_names(spec, candidates)  # before building any
        if spec.data is not None and spec.data.task != "none":  # (no labels: refused by measure_tail_plan)
            config = replace(config, tolerance=suite_tolerance(spec.data.task, tolerance, spec.data.tolerance,
                                                               suite=spec.name, option="--tolerance"))
        plan = plan_suite_file(suite_file, trust_pickle=trust_pickle, threads=threads)
        result = measure_tail_plan(plan, list(candidates), config=config, common_deadline_s=deadline_common,
                                   db=db, store=not no_store, log=log, cost_run=cost_run, progress=progress)
    else:
        if trust_pickle:
            raise ConfigError("--trust-pickle: applies to a suite file (effbench tail measure SUITE.toml --trust-pickle)")
        if tolerance is not None:
            raise ConfigError(f"--tolerance: applies to a regression suite file; the default suite (digits) is a "
                              f"classification, where a good answer is the right label; got {tolerance!r}")
        parse_candidate_keys(candidates)  # unknown names fail here, before any training
        result = measure_tail_suite(list(candidates), quick=quick, config=config, common_deadline_s=deadline_common,
                                    db=db, store=not no_store, log=log, cost_run=cost_run, progress=progress)
    with human_output(json_out):
        _render_measure(result)
    if json_out:
        payload = {
            "schema": "effbench.tail.measure/1",
            "provenance": "measured",
            "config": config.to_dict(),
            "common_deadline_s": result.common_deadline_s,
            "common_deadline_origin": result.common_deadline_origin,
            "run_id": result.run_id,
            "candidates": {k: {"accuracy": result.accuracy[k], "quality_without_deadline": result.accuracy[k],
                               "quality_name": (rep.get("quality") or {}).get("label", "accuracy"),
                               "random_weights": k in result.random_weights, **rep}
                           for k, rep in result.reports.items()},
            "failed": result.failed,
        }
        emit_json(json_out, payload, force=force)
    if result.run_id:
        click.echo(f"stored as run {result.run_id} in {result.db_path}  (effbench show {result.run_id})", err=json_out == "-")
    return 1 if result.failed and not result.reports else 0


def _render_measure(result):
    from effbench.cli.common import echo_lines
    from effbench.numbers import mark_random_weights
    from effbench.report.text import random_weights_notes

    common = result.common_deadline_s
    reports = result.reports
    if not reports:
        click.echo("no candidate was measured")
    else:
        any_rep = next(iter(reports.values()))
        key = any_rep["quantile_key"]
        quality = any_rep.get("quality") or {"task": "classification"}
        regression = quality["task"] == "regression"
        acc = f"±{quality['tolerance']:g}" if regression else "acc"
        click.echo(
            f"tail quality ({any_rep['time_kind']} time, batch {any_rep['batch_size']}, {any_rep['instances']} instances; "
            f"on time when time <= deadline; common deadline {_fmt_s(common)} = {result.common_deadline_origin}; "
            f"stopping rule {any_rep['convergence'].get('rule', 'js')})"
        )
        if regression:
            click.echo(f"quality: {quality['label']}: a good answer is {quality['good']}")
        w = 7 if result.random_weights & reports.keys() else 6  # room for the random-weights mark
        head = (f"{'candidate':<26} {acc:>{w}} {'p99 dl':>9} {'worst':>{w}} {key:>{w}} {'mean':>{w}} "
                f"{'common':>{w}} {'c.mean':>{w}} {'rounds':>6} {'stop':<10} {'err p99':>7} {'err com':>7} {'interval p99, observed':>25}")
        click.echo(head)
        click.echo("-" * len(head))
        for k, rep in reports.items():
            p = rep["own_p99"]
            c = rep["common_deadline"] or {}
            rows = {r["origin"] + r["label"]: r for r in rep["prediction"]["thresholds"]}
            e99, ec = (rows.get(k, {}).get("error_min_pp") for k in ("percentilep99", "commoncommon"))
            random = k in result.random_weights
            q = [mark_random_weights(f"{v:.4f}", random) for v in (result.accuracy[k], p["min"], p[key], p["mean"],
                                                                   c.get("min", float("nan")), c.get("mean", float("nan")))]
            click.echo(
                f"{k:<26} {q[0]:>{w}} {_fmt_s(p['threshold_s']):>9} {q[1]:>{w}} {q[2]:>{w}} "
                f"{q[3]:>{w}} {q[4]:>{w}} {q[5]:>{w}} "
                f"{rep['rounds_used']:>6} {rep['convergence']['stopped_by']:<10} "
                f"{_fmt_pp(e99):>7} {_fmt_pp(ec):>7} {_fmt_interval(rows.get('percentilep99')):>25}"
            )
        click.echo(
            (f"{acc}: share of answers within {acc} of the target without deadline" if regression else
             "acc: accuracy without deadline") + "; p99 dl: the candidate's own p99 deadline; worst/"
            f"{key}/mean: quality over rounds at it; common/c.mean: worst and mean quality at the common deadline; "
            "rounds: used by the stopping rule; err: |predicted - observed| worst case of the held-out rounds, "
            "in percentage points (fitted on the rounds used); interval p99, observed: the 90% prediction interval of "
            "that worst case, the worst held-out round, and whether the interval contains it (y/n)"
        )
        echo_lines(random_weights_notes(result.random_weights & reports.keys()))
        if regression:
            _render_late_as_mean(reports)
    for k, why in result.failed.items():
        click.echo(f"failed: {k}: {why}", err=True)


def _render_late_as_mean(reports: dict) -> None:
    """A regression's own metrics with late answers replaced by the mean of the targets, at the own p99
    and the common deadline (mean over rounds, worst round)."""
    from effbench.numbers import fmt_si

    for k, rep in reports.items():
        late = rep.get("late_as_mean")
        if not late:
            continue
        parts = []
        for name in late["metrics"]:
            at = [(label, row["late_as_mean"][name]) for label, row in (("own p99", rep["own_p99"]),
                                                                       ("common", rep["common_deadline"])) if row]
            cells = ", ".join(f"{label} {fmt_si(v['mean'])} (worst round {fmt_si(v['worst'])})" for label, v in at)
            parts.append(f"{name} {fmt_si(late['unconstrained'][name])} without deadline; {cells}")
        click.echo(f"{k}: late answers replaced by the mean of the targets ({fmt_si(late['fallback_value'])}): "
                   + "; ".join(parts))


def _fmt_interval(row) -> str:
    if not row or "predicted_worst" not in row:
        return "-"
    w = row["predicted_worst"]
    return f"{w['low']:.3f}-{w['high']:.3f} {row['observed_worst']:.3f} {'y' if row['covered'] else 'n'}"


def _fmt_pp(v) -> str:
    return "-" if v is None else f"{v:.2f}"
