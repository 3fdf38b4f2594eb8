"""Reading several runs at once, through :meth:`effbench.store.db.Store.load_run` only (so it
works on any store that has it).

``'latest'`` always means the latest run with latency samples (a cost run), never a tail-only run
by accident; a tail run linked to a cost run (``config["cost_run"]``, written by
``effbench tail measure --cost-run RUN``) brings that cost run along, and
:func:`linked_tail_runs` finds the latest tail run linked to each cost run.
"""

from __future__ import annotations

from collections.abc import Sequence

from effbench.errors import ConfigError
from effbench.records import LATENCY_PER_CALL, RunRecord
from effbench.validation import validate_name

__all__ = ["linked_tail_runs", "load_runs", "parse_hardware_labels", "resolve_runs"]

#: The suites of the runs ``effbench tail measure`` writes (runs/tail.py): the default suite's, and
#: ``<suite>-tail`` for a suite file's; only these are read when looking for tail runs linked to a cost run.
TAIL_SUITES = ("digits-tail", "digits-tail-quick")
TAIL_SUITE_SUFFIX = "-tail"


def is_tail_suite(suite: str | None) -> bool:
    """Whether runs of ``suite`` are ones ``effbench tail measure`` writes (see :data:`TAIL_SUITES`)."""
    return bool(suite) and (suite in TAIL_SUITES or suite.endswith(TAIL_SUITE_SUFFIX))


def resolve_runs(store, run_ids: Sequence[str]) -> list[str]:
    """The stored id of every run given (an id, a unique prefix, or 'latest': the latest cost run);
    a run named twice is a ConfigError."""
    if not run_ids:
        raise ConfigError("give at least one RUN_ID (a stored run, a unique prefix, or 'latest')")
    ids = [store.resolve_run_id(r, needs=LATENCY_PER_CALL) for r in run_ids]
    for given, rid in zip(run_ids, ids):
        if ids.count(rid) > 1:
            same = [g for g, i in zip(run_ids, ids) if i == rid]
            raise ConfigError(f"run {rid} is given more than once ({', '.join(repr(g) for g in same)})")
    return ids


def load_runs(store, run_ids: Sequence[str], *, follow_links: bool = True) -> list[RunRecord]:
    """The runs given, in order (see :func:`resolve_runs`); with ``follow_links``, the cost run
    each tail run is linked to is appended when it is not given."""
    ids = resolve_runs(store, run_ids)
    runs = [store.load_run(rid) for rid in ids]
    if follow_links:
        for run in list(runs):
            link = (run.config or {}).get("cost_run")
            if link and link not in {r.run_id for r in runs}:
                runs.append(store.load_run(store.resolve_run_id(str(link))))
    return runs


def linked_tail_runs(store, runs: Sequence[RunRecord]) -> list[RunRecord]:
    """The latest tail run linked to each of ``runs`` (``config["cost_run"]``) that is not among them;
    only runs of the tail suites are read."""
    given = {r.run_id for r in runs}
    found: dict[str, RunRecord] = {}
    for row in reversed(store.list_runs()):  # newest first
        if not is_tail_suite(row["suite"]) or row["run_id"] in given:
            continue
        run = store.load_run(row["run_id"])
        link = (run.config or {}).get("cost_run")
        if link in given and link not in found:
            found[link] = run
    return list(found.values())


def parse_hardware_labels(store, specs: Sequence[str], option: str = "--hw-label") -> dict[str, str]:
    """``['RUN=LABEL', ...]`` -> ``{run id: label}``; RUN as ``RUN_ID`` accepts it, LABEL follows the
    name rule (letters, digits and ``_ . + -``)."""
    labels: dict[str, str] = {}
    for spec in specs:
        run, sep, label = spec.partition("=")
        run, label = run.strip(), label.strip()
        if not sep or not run or not label:
            raise ConfigError(f"{option} {spec!r}: expected RUN=LABEL, e.g. 20261129-1702-ab12=gpu-box")
        validate_name(label, f"{option} label")
        rid = store.resolve_run_id(run, needs=LATENCY_PER_CALL)
        if rid in labels:
            raise ConfigError(f"{option}: run {rid} is labelled more than once")
        labels[rid] = label
    return labels
