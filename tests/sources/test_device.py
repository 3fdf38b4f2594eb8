"""device = "cuda" / --device: a clear error without a GPU, before anything is loaded or measured; the code
paths that run on a GPU, with what can be faked honestly (this machine has none: benchmarks/gpu_check.sh runs
them for real)."""

from __future__ import annotations

import types

import pytest
import torch

from effbench.cli import main
from effbench.errors import ConfigError
from effbench.measure.timer import TimingConfig, measure_latency
from effbench.sources.build import build_candidates, check_device
from effbench.sources.suite import CandidateSpec
from tests.cli.test_suite_runs_more import _relu_onnx

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this test is about a machine without a GPU")


def fake_torch(available: bool, count: int = 0, cuda_build: str | None = "12.4"):
    cuda = types.SimpleNamespace(is_available=lambda: available, device_count=lambda: count)
    return types.SimpleNamespace(cuda=cuda, version=types.SimpleNamespace(cuda=cuda_build), __version__="2.9.0")


def test_check_device_names_what_is_missing():
    assert check_device("cpu") == "cpu"
    with pytest.raises(ConfigError, match=r"^device: 'cuda' needs an NVIDIA GPU, and PyTorch sees none on this machine "
                                          r"\(torch 2\.9\.0, a CPU-only build\); use device = \"cpu\" \(--device cpu\)$"):
        check_device("cuda", torch_module=fake_torch(False, cuda_build=None))
    with pytest.raises(ConfigError, match=r"built for CUDA 12\.4\)"):
        check_device("cuda:0", "--device", torch_module=fake_torch(False))
    with pytest.raises(ConfigError, match=r"^device: 'cuda:2': this machine has 2 CUDA GPUs \(cuda:0 to cuda:1\)$"):
        check_device("cuda:2", torch_module=fake_torch(True, 2))
    assert check_device("cuda:1", torch_module=fake_torch(True, 2)) == "cuda:1"
    with pytest.raises(ConfigError, match=r"^--device: expected 'cpu', 'cuda' or 'cuda:N', got 'gpu'$"):
        check_device("gpu", "--device")


@NO_GPU
def test_this_machine_without_a_gpu_is_told_so():
    with pytest.raises(ConfigError, match=r"^device: 'cuda' needs an NVIDIA GPU, and PyTorch sees none"):
        check_device("cuda")


@NO_GPU
@pytest.mark.parametrize("how", ["suite file", "--device", "model files"])
def test_cuda_without_a_gpu_is_one_line_before_anything_is_measured(tmp_path, capsys, monkeypatch, how):
    import effbench.sources.build as build

    loaded = []
    monkeypatch.setattr(build, "build_candidates", lambda *a, **k: loaded.append(a))
    model = _relu_onnx(tmp_path / "relu.onnx")
    device_line = 'device = "cuda:1"\n' if how == "suite file" else ""
    (tmp_path / "s.toml").write_text(f'{device_line}batch_sizes = [1]\n[data]\ntask = "none"\ninput = "4"\n'
                                     f'[[candidates]]\nname = "relu"\nmodel = "{model}"\n')
    args = {"suite file": [str(tmp_path / "s.toml")], "--device": [str(tmp_path / "s.toml"), "--device", "cuda"],
            "model files": [model, "--input", "4", "--device", "cuda"]}[how]
    db = tmp_path / "r.sqlite"
    assert main(["run", *args, "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    field = "device: 'cuda:1'" if how == "suite file" else "--device: 'cuda'"
    assert len(err) == 1 and err[0].startswith(f"effbench: error: {field} needs an NVIDIA GPU, and PyTorch sees none")
    assert loaded == [] and not db.exists()


def test_device_applies_to_suite_and_model_files_only(tmp_path, capsys):
    assert main(["run", "--device", "cuda", "--db", str(tmp_path / "r.sqlite")]) == 2
    assert "--device: applies to suite or model files" in capsys.readouterr().err


def test_the_device_is_recorded_beside_each_candidate(tmp_path, monkeypatch):
    import onnxruntime as ort

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    spec = CandidateSpec(name="relu", model=_relu_onnx(tmp_path / "relu.onnx"), kind="onnx")
    [c], _ = build_candidates(spec, None, device="cuda:0")
    assert c.info["device"] == "cuda:0" and c.providers[0] == ("CUDAExecutionProvider", {"device_id": 0})
    [cpu], _ = build_candidates(spec, None)
    assert cpu.info["device"] == "cpu" and cpu.providers == ("CPUExecutionProvider",)


def test_a_cuda_torch_candidate_synchronises_before_every_timestamp(monkeypatch):
    from effbench.candidates.torch_adapter import TorchCandidate

    events = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: events.append(("sync", device)))
    c = TorchCandidate("net", torch.nn.Identity(), device="cuda:0")
    assert c.describe()["device"] == "cuda:0"
    t = [0.0]

    def clock():
        events.append(("clock", None))
        return t[0]

    def call():
        t[0] += 2.0**-10

    r = measure_latency(call, TimingConfig(warmup_calls=2, warmup_s=0.0, min_samples=5, max_samples=5, min_block_s=0.0),
                        sync=c.sync, clock=clock)
    assert len(r.samples_s) == 5
    reads = [i for i, e in enumerate(events) if e[0] == "clock"]
    assert reads and all(events[i - 1] == ("sync", "cuda:0") for i in reads)
