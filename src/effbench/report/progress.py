"""Progress while measuring: a rich progress bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time


class RichProgress:
    def __init__(self, console=None):
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self._progress = None

    def start(self, total: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]measuring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
            TextColumn("{task.description}"), console=self.console, transient=False,
        )
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


class PlainProgress:
    """One line per step to stderr, with the step count and elapsed time (for logs and CI)."""

    def __init__(self, stream=None, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.clock = clock
        self.total = 0
        self.done = 0

    def start(self, total: int):
        self.total, self.done, self.t0 = total, 0, self.clock()

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


def default_progress(quiet: bool = False):
    if quiet:
        return SilentProgress()
    return RichProgress() if sys.stderr.isatty() else PlainProgress()
