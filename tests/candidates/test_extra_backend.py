"""The worked example of docs/adding-a-backend.md, run as it stands there: a tiny backend defined in
one module, registered, checked and benchmarked end to end, then unregistered."""

import inspect
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import effbench
from effbench.candidates import registry
from effbench.measure.timer import TimingConfig
from effbench.report.progress import SilentProgress

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-backend.md"
FAST = TimingConfig(warmup_calls=1, warmup_s=0.0, min_samples=3, max_samples=20, min_time_s=0.0, max_time_s=0.05)


def example(name: str) -> str:
    """The code block after ``<!-- example: NAME -->`` in the doc."""
    match = re.search(rf"<!-- example: {re.escape(name)} -->\n```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert match, f"no example {name!r} in {DOC}"
    return match.group(1)


@pytest.fixture()
def centroid_backend():
    """The doc's module, imported as ``centroid_backend`` (importing it registers the backend)."""
    module = types.ModuleType("centroid_backend")
    module.__file__ = str(DOC)
    sys.modules["centroid_backend"] = module  # candidates pickle their class by module name
    try:
        exec(compile(example("centroid_backend.py"), str(DOC), "exec"), module.__dict__)  # noqa: S102 - the doc's example, as written
        yield module
    finally:
        sys.modules.pop("centroid_backend", None)
        if "centroids" in registry.names():
            registry.unregister("centroids")


def test_the_centroid_backend_end_to_end(centroid_backend, tmp_path):
    from effbench.candidates import registry, wrap
    from effbench.testing import check_candidate

    rng = np.random.default_rng(0)
    centroids = rng.random((3, 8)).astype(np.float32)
    X = rng.random((30, 8)).astype(np.float32)
    y = np.argmin(((X[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)
    model = centroid_backend.CentroidModel(centroids)

    assert registry.for_object(model).name == "centroids"
    check_candidate(wrap("nc", model), X)
    res = effbench.benchmark({"nc": model}, X, y, batch_sizes=[1, "all"], db=tmp_path / "r.sqlite",
                             isolate=False, timing=FAST, energy=None, progress=SilentProgress())
    [row] = res.table()
    assert row["candidate"] == "nc/centroids"
    assert row["accuracy"].value == 1.0
    assert row["params"].value == 3 * 8
    assert row["size_bytes"].value == 3 * 8 * 4
    assert row["flops_per_sample"].value == 3 * 3 * 8
    assert row["flops_per_sample"].provenance == "analytic"


def test_the_doc_shows_this_test_letter_for_letter():
    assert example("test") == inspect.getsource(test_the_centroid_backend_end_to_end)


def test_the_example_backend_is_gone_after_its_test():
    assert "centroids" not in registry.names() and "centroid_backend" not in sys.modules

