"""Progress while training and measuring: a Rich bar on a terminal, a real bar in a notebook
(``tqdm.auto``: a widget in Jupyter), plain lines otherwise (logs, CI).

Every reporter has the same four methods: ``start(total, label="measuring")`` (a new phase: the
training of the suite, then its measurement), ``advance(n=1, text="")``, ``log(text)`` and ``stop()``.
"""

from __future__ import annotations

import sys
import time


class RichProgress:
    """A Rich bar whose count and time left stay whole at 80 columns: the description, last, is the
    only column that shrinks (cut with an ellipsis, never wrapped)."""

    def __init__(self, console=None):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self._progress = None

    def columns(self, label: str = "measuring") -> tuple:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
        from rich.table import Column

        def fixed():
            return Column(no_wrap=True)

        return (TextColumn(f"[bold]{label}", table_column=fixed()), BarColumn(bar_width=20, table_column=fixed()),
                MofNCompleteColumn(table_column=fixed()), TimeElapsedColumn(table_column=fixed()),
                TimeRemainingColumn(table_column=fixed()),
                TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)))

    def start(self, total: int, label: str = "measuring"):
        from rich.progress import Progress

        self.stop()
        self._progress = Progress(*self.columns(label), console=self.console, transient=False, expand=True)
        self._progress.start()
        self._task = self._progress.add_task("", total=total)

    def advance(self, n: int = 1, text: str = ""):
        if self._progress is not None:
            self._progress.update(self._task, advance=n, description=text or None)

    def log(self, text: str):
        self.console.print(f"[dim]{text}[/dim]")

    def stop(self):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class NotebookProgress:
    """A ``tqdm.auto`` bar: a widget in Jupyter, one updating bar instead of a line per step."""

    def __init__(self):
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._bar = None

    def start(self, total: int, label: str = "measuring"):
        self.stop()
        self._bar = self._tqdm(total=total, desc=label, unit="step")

    def advance(self, n: int = 1, text: str = ""):
        if self._bar is not None:
            if text:
                self._bar.set_postfix_str(text, refresh=False)
            self._bar.update(n)

    def log(self, text: str):
        self._tqdm.write(text)

    def stop(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class PlainProgress:
    """One line per step to stderr, with the step count and elapsed time (for logs and CI)."""

    def __init__(self, stream=None, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.clock = clock
        self.total = 0
        self.done = 0

    def start(self, total: int, label: str = "measuring"):
        self.total, self.done, self.t0, self.label = total, 0, self.clock(), label

    def advance(self, n: int = 1, text: str = ""):
        self.done += n
        if text:
            print(f"[{self.done}/{self.total} {self.clock() - self.t0:6.1f}s] {text}", file=self.stream, flush=True)

    def log(self, text: str):
        print(text, file=self.stream, flush=True)

    def stop(self):
        pass


class SilentProgress(PlainProgress):
    def advance(self, n: int = 1, text: str = ""):
        self.done += n

    def log(self, text: str):
        pass


def in_notebook(modules=None) -> bool:
    """Is this a Jupyter kernel (``ZMQInteractiveShell``: Jupyter, VS Code notebooks) or Colab?
    ``modules``: ``sys.modules`` (a dict for tests); IPython is never imported here."""
    modules = sys.modules if modules is None else modules
    ipython = modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None:
        return False
    return type(shell).__name__ == "ZMQInteractiveShell" or "google.colab" in modules


def _tqdm_installed(modules) -> bool:
    if "tqdm" in modules:
        return True
    from importlib.util import find_spec

    return find_spec("tqdm") is not None


def default_progress(quiet: bool = False, *, stream=None, modules=None):
    """Silent with ``quiet``; in a notebook a tqdm.auto bar (Rich's own Jupyter display when tqdm is not
    installed); a Rich bar when ``stream`` (stderr) is a terminal; plain lines otherwise."""
    if quiet:
        return SilentProgress()
    modules = sys.modules if modules is None else modules
    if in_notebook(modules):
        return NotebookProgress() if _tqdm_installed(modules) else RichProgress()
    stream = stream or sys.stderr
    return RichProgress() if stream.isatty() else PlainProgress(stream)
