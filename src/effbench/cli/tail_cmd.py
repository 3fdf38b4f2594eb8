"""``effbench tail``: quality under inference deadlines (tail quality).

``effbench tail analyze --times FILE`` analyses per-instance timings recorded elsewhere.
Only click and the standard library are imported at module level.
"""

from __future__ import annotations

import click


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
@click.option("--every", default=2, show_default=True, type=click.IntRange(min=1),
              help="Stopping rule: fit the time distribution every N rounds.")
@click.option("--window", default=3, show_default=True, type=click.IntRange(min=1),
              help="Stopping rule: compare each fit with the previous N fits.")
@click.option("--js-threshold", default=0.05, show_default=True, type=float,
              help="Stopping rule: converged when every Jensen-Shannon distance is below this.")
@click.option("--min-rounds", default=8, show_default=True, type=click.IntRange(min=1),
              help="Stopping rule: never stop before this many rounds.")
@click.option("--max-rounds", default=200, show_default=True, type=click.IntRange(min=1),
              help="Stopping rule: always stop at this many rounds.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), default=None,
              help="Write the results as JSON to this file.")
@click.option("--force", is_flag=True, help="Overwrite an existing --json file.")
def analyze(times_file, thresholds, percentiles, grid, quantile, every, window, js_threshold,
            min_rounds, max_rounds, json_out, force):
    """Tail quality of recorded per-instance timings.

    An instance is on time when time_s <= threshold; a late instance counts as wrong and the
    denominator is the whole dataset. Per deadline: the worst round, a low quantile, the mean,
    standard deviation and best round of quality, beside the quality without deadline.
    """
    import csv
    import json
    import os

    from effbench.analysis import tail as tq
    from effbench.errors import DataError

    pcts = _parse_percentiles(percentiles)
    if json_out and os.path.exists(json_out) and not force:
        raise click.UsageError(f"--json: {json_out} exists; pass --force to overwrite it")
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
    config = tq.ConvergenceConfig(every=every, window=window, threshold=js_threshold,
                                  min_rounds=min_rounds, max_rounds=max_rounds)
    conv = tq.convergence_round(times, config)

    data = result.to_dict()
    key = data["quantile_key"]
    _render(result, data, conv, key)
    if json_out:
        payload = {
            "schema": "effbench.tail.analyze/1",
            "source": os.path.abspath(times_file),
            "provenance": "measured",
            **data,
            "round_ids": round_ids,
            "convergence": conv.to_dict(),
        }
        tmp = json_out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, json_out)
        click.echo(f"wrote {json_out}")


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
    click.echo(
        f"stopping rule: {conv.stopped_by} after {conv.rounds_used} of {conv.rounds_available} rounds "
        f"(JS < {conv.config.threshold} vs previous {conv.config.window} fits, every {conv.config.every} rounds){last_txt}"
    )


def _fmt_s(value: float) -> str:
    if value >= 1:
        return f"{value:.4g} s"
    if value >= 1e-3:
        return f"{value * 1e3:.4g} ms"
    return f"{value * 1e6:.4g} us"
