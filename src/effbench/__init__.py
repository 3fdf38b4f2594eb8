"""effbench: what a machine-learning model really costs, every indicator at once.

Heavy libraries (torch, onnxruntime) are imported lazily, so importing effbench and
``effbench --help`` stay fast: the public names below are looked up in :mod:`effbench.api` on
first use (module ``__getattr__``), and listed by ``__all__`` and ``dir(effbench)`` for IDEs.
The package is typed (``py.typed``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version
from typing import TYPE_CHECKING

try:
    __version__ = _version("effbench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time these come from __getattr__
    from effbench.api import (
        BenchmarkResult,
        EnergyConfig,
        ExecutionConfig,
        TailConfig,
        TimingConfig,
        benchmark,
        load_run,
        run_suite,
        track,
    )

# the public names, each served lazily from effbench.api
_LAZY = ("benchmark", "run_suite", "load_run", "track", "BenchmarkResult",
         "TimingConfig", "EnergyConfig", "ExecutionConfig", "TailConfig")

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        from effbench import api

        value = getattr(api, name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module 'effbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
