"""The top-level names of effbench: listed for IDEs, served lazily, typed."""

import subprocess
import sys
from pathlib import Path

import effbench

CONFIGS = ("TimingConfig", "EnergyConfig", "ExecutionConfig", "TailConfig")


def test_dir_and_all_list_the_public_configs():
    for name in (*CONFIGS, "benchmark", "run_suite", "load_run", "BenchmarkResult"):
        assert name in dir(effbench) and name in effbench.__all__


def test_the_configs_are_the_library_classes():
    from effbench.executor import ExecutionConfig
    from effbench.measure.energy_cells import EnergyConfig
    from effbench.measure.timer import TimingConfig
    from effbench.runs.tail import TailConfig

    assert (effbench.TimingConfig, effbench.EnergyConfig, effbench.ExecutionConfig, effbench.TailConfig) == (
        TimingConfig, EnergyConfig, ExecutionConfig, TailConfig)
    assert effbench.TimingConfig(max_time_s=1.0).max_time_s == 1.0


def test_an_unknown_name_is_an_attribute_error():
    try:
        effbench.no_such_name
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_importing_effbench_and_its_configs_does_not_import_torch():
    code = ("import sys, effbench\n"
            "lazy = 'effbench.api' not in sys.modules\n"
            "from effbench import TimingConfig, TailConfig, ExecutionConfig, EnergyConfig\n"
            "print(lazy, [m for m in ('torch', 'onnxruntime') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "True []"


def test_the_package_is_typed():
    assert (Path(effbench.__file__).parent / "py.typed").is_file()
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert 'effbench = ["py.typed"]' in pyproject
