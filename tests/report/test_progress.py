"""Progress reporters: which one is chosen (terminal, notebook, log), the Rich bar at 80 columns,
and the training phase of the suite (a fake environment and a recording reporter; no sleeps)."""

from __future__ import annotations

import io
import itertools
from types import SimpleNamespace

import pytest

from effbench.report.progress import (
    NotebookProgress,
    PlainProgress,
    RichProgress,
    SilentProgress,
    default_progress,
    in_notebook,
)


class ZMQInteractiveShell:  # the class name IPython gives a Jupyter kernel's shell
    pass


class TerminalInteractiveShell:
    pass


def _ipython(shell):
    return {"IPython": SimpleNamespace(get_ipython=lambda: shell)}


def test_a_jupyter_kernel_is_a_notebook_and_a_terminal_ipython_is_not():
    assert in_notebook(_ipython(ZMQInteractiveShell()))
    assert not in_notebook(_ipython(TerminalInteractiveShell()))
    assert in_notebook({**_ipython(TerminalInteractiveShell()), "google.colab": object()})
    assert not in_notebook(_ipython(None))   # IPython imported, but no shell running
    assert not in_notebook({})


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_the_reporter_follows_the_environment():
    pytest.importorskip("tqdm")
    notebook = {**_ipython(ZMQInteractiveShell()), "tqdm": object()}
    assert isinstance(default_progress(stream=_Stream(True), modules=notebook), NotebookProgress)
    assert isinstance(default_progress(stream=_Stream(True), modules={}), RichProgress)
    assert isinstance(default_progress(stream=_Stream(False), modules={}), PlainProgress)
    assert isinstance(default_progress(True, stream=_Stream(True), modules=notebook), SilentProgress)


def test_the_rich_bar_keeps_count_and_time_left_at_80_columns():
    from rich.console import Console
    from rich.progress import Progress

    buf = io.StringIO()
    console = Console(file=buf, width=80, color_system=None)
    bar = Progress(*RichProgress(console).columns("measuring"), console=console, expand=True, auto_refresh=False)
    task = bar.add_task("", total=420)
    bar.update(task, advance=37, description="cnn_wide.prune90u/onnxruntime: latency at batch 128 (repeat 2/3)")
    console.print(bar.make_tasks_table(bar.tasks))
    [line] = buf.getvalue().splitlines()
    assert len(line) <= 80 and "37/420" in line and "-:--:--" in line and line.endswith("…")


def test_plain_lines_count_steps_with_the_given_clock():
    out = io.StringIO()
    p = PlainProgress(out, clock=itertools.count(0.0, 1.5).__next__)
    p.start(3, label="training")
    p.advance(0, "training mlp")
    p.advance(1)
    p.advance(1, "training cnn")
    assert out.getvalue().splitlines() == ["[0/3    1.5s] training mlp", "[2/3    3.0s] training cnn"]


def test_the_notebook_bar_counts_steps():
    pytest.importorskip("tqdm")
    p = NotebookProgress()
    p.start(4, label="tail")
    p.advance(1, "cnn: 20 rounds")
    p.advance(2)
    assert (p._bar.n, p._bar.total, p._bar.desc) == (3, 4, "tail")
    p.stop()
    assert p._bar is None


class _Recording:
    def __init__(self):
        self.events = []

    def start(self, total, label="measuring"):
        self.events.append(("start", total, label))

    def advance(self, n=1, text=""):
        self.events.append(("advance", n, text))

    def stop(self):
        self.events.append(("stop",))


def test_training_the_suite_advances_a_training_bar():
    from effbench.tasks.digits import load_digits_task
    from effbench.zoo.digits_suite import build_candidates, parse_candidate_keys, select_keys

    selection = select_keys(parse_candidate_keys(["logreg/sklearn"]), quick=True)
    logged, rec = [], _Recording()
    build_candidates(load_digits_task(), selection, quick=True, on_progress=logged.append, progress=rec)
    assert rec.events == [("start", 1, "training"), ("advance", 0, "training logreg"), ("advance", 1, ""), ("stop",)]
    assert logged == []   # the step names went to the bar, not to the log
