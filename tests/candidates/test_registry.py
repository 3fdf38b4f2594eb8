"""The backend registry: declarations, priority order, and the places that read it."""

import subprocess
import sys

import numpy as np
import pytest
from models_for_tests import TwoLayer, first_feature_sign

from effbench.candidates import BACKENDS, registry, wrap
from effbench.candidates.registry import Backend
from effbench.errors import ConfigError


def test_the_built_in_backends_in_registration_and_priority_order():
    assert registry.names() == BACKENDS == ("sklearn", "torch", "onnxruntime", "callable")
    assert [b.name for b in registry.by_priority()] == ["torch", "onnxruntime", "sklearn", "callable"]


def test_for_object_asks_the_specific_backends_before_any_callable():
    from sklearn.linear_model import LogisticRegression

    X = np.random.default_rng(0).random((20, 64), dtype=np.float32)
    est = LogisticRegression(max_iter=100).fit(X, (X[:, 0] > 0.5).astype(int))
    assert registry.for_object(TwoLayer()).name == "torch"  # a torch module is callable too
    assert registry.for_object(b"\x08\x01").name == "onnxruntime"
    assert registry.for_object("model.onnx").name == "onnxruntime"  # by its declared suffix
    assert registry.for_object(est).name == "sklearn"
    assert registry.for_object(first_feature_sign).name == "callable"
    assert registry.for_object("model.txt") is None and registry.for_object(42) is None


def test_unknown_and_duplicate_backends_are_one_line_errors():
    with pytest.raises(ConfigError, match=r"^backend: expected one of 'callable', 'onnxruntime', 'sklearn', 'torch', got 'tf'$"):
        registry.get("tf")
    with pytest.raises(ConfigError, match="'torch' is already registered"):
        registry.register(Backend("torch", "x:Y"))
    with pytest.raises(ConfigError, match="suffixes: expected file suffixes such as '.onnx', got 'onnx'"):
        Backend("b", "x:Y", suffixes=("onnx",))
    with pytest.raises(ConfigError, match="backend name 'a b' is not allowed"):
        Backend("a b", "x:Y")
    with pytest.raises(ConfigError, match=r"^framework: expected one of 'sklearn', 'torch', got 'jax'$"):
        registry.get("onnxruntime").converter("jax")


def test_a_registered_backend_is_listed_everywhere_and_removed_again():
    from effbench import candidates
    from effbench.measure.environment import libraries

    def recorded():
        return libraries(registry.library_names())

    tiny = Backend("tiny", "effbench.candidates.callable_adapter:CallableCandidate", libraries=("tinylib",), priority=5,
                   accepts=lambda obj: obj == "tiny!")
    registry.register(tiny)
    try:
        assert registry.names()[-1] == "tiny" and "tiny" in candidates.BACKENDS
        assert recorded()[-4:] == ("tinylib", "threadpoolctl", "psutil", "nvidia-ml-py")
        assert registry.for_object("tiny!") is tiny
    finally:
        assert registry.unregister("tiny") is tiny
    assert "tinylib" not in recorded()


def test_the_environment_records_every_backends_libraries_in_order():
    from effbench.runs.lifecycle import run_environment

    assert tuple(run_environment(1)["libraries"]) == ("effbench", "numpy", "scipy", "scikit-learn", "torch", "onnx", "onnxruntime", "skl2onnx",
                         "threadpoolctl", "psutil", "nvidia-ml-py")


def test_the_setup_line_shows_each_backends_runtime():
    from types import SimpleNamespace

    from effbench.report.text import setup_line

    libs = {"numpy": "2.0", "scikit-learn": "1.5", "torch": "2.4", "onnx": "1.16", "onnxruntime": "1.19", "skl2onnx": "1.17"}
    run = SimpleNamespace(environment={"cpu": {"model": "cpu"}, "cores_logical": 2, "libraries": libs},
                          config={"threads": 1}, task={"sample_shape": [64]})
    assert "threads per candidate 1 (default 1; --threads N), scikit-learn 1.5, torch 2.4, onnxruntime 1.19; float32" in setup_line(run)


def test_the_suite_and_the_cli_help_list_the_registered_suite_backends():
    from effbench.zoo.digits_suite import select_specs, suite_backends

    assert suite_backends() == ("sklearn", "torch", "onnxruntime")
    with pytest.raises(ConfigError, match="unknown backend 'callable'; allowed: sklearn, torch, onnxruntime"):
        select_specs(["logreg"], ["callable"])
    code = "from effbench.cli import main; main(['run', '--help'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Comma-separated backends: sklearn, torch," in out and "onnxruntime (default: all)." in out


def test_wrap_names_every_backend_when_nothing_claims_the_object():
    with pytest.raises(ConfigError) as err:
        wrap("x", 42)
    assert str(err.value) == (
        "candidate 'x': cannot benchmark a int; allowed: a torch.nn.Module, an ONNX file path or bytes, "
        "a fitted scikit-learn estimator, a callable f(X) -> labels, or an effbench Candidate"
    )
