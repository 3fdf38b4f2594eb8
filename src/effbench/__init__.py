"""effbench: what a machine-learning model really costs, every indicator at once.

Heavy libraries (torch, onnxruntime) are imported lazily, so importing effbench and
``effbench --help`` stay fast.
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("effbench")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__", "benchmark", "load_run", "track"]


def __getattr__(name):
    # Lazy public API: ``effbench.benchmark`` without importing the measuring stack at import time.
    if name == "benchmark":
        from effbench.api import benchmark

        return benchmark
    if name == "load_run":
        from effbench.api import load_run

        return load_run
    if name == "track":
        from effbench.api import track

        return track
    raise AttributeError(f"module 'effbench' has no attribute {name!r}")
