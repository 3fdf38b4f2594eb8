"""Models loaded from files are measured in worker processes today (float inputs): a torch.export
archive travels to its worker as bytes, and the run records where it came from."""

import factories_for_tests as F
import numpy as np
import pytest
import torch

import effbench
from effbench.measure.timer import TimingConfig
from effbench.report.progress import SilentProgress
from effbench.sources.build import build_candidates
from effbench.sources.suite import CandidateSpec

FAST = TimingConfig(warmup_calls=1, warmup_s=0.0, min_samples=3, max_samples=20, min_time_s=0.0, max_time_s=0.05)


@pytest.mark.slow
def test_a_pt2_archive_and_its_onnx_export_measured_in_workers(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((24, 4)).astype(np.float32)
    net = F.build_net().eval()
    with torch.inference_mode():
        y = net(torch.from_numpy(X)).argmax(1).numpy()
    program = torch.export.export(net, (torch.from_numpy(X[:2]),), dynamic_shapes={"input": {0: torch.export.Dim("batch")}})
    torch.export.save(program, tmp_path / "net.pt2")
    spec = CandidateSpec(name="net", model=str(tmp_path / "net.pt2"), kind="torch.export", backends=("torch", "onnxruntime"))
    cands, _ = build_candidates(spec, X[:2])
    res = effbench.benchmark(cands, X, y, batch_sizes=[1, "all"], db=tmp_path / "r.sqlite", isolate=True, timing=FAST,
                             energy=None, progress=SilentProgress())
    rows = {row["candidate"]: row for row in res.table()}
    assert set(rows) == {"net/torch", "net/onnxruntime"}
    for key, row in rows.items():
        assert row["accuracy"].value == 1.0, key
        assert row["params"].value == 4 * 8 + 8 + 8 * 3 + 3, key
    assert rows["net/torch"]["size_bytes"].value == (tmp_path / "net.pt2").stat().st_size
    assert rows["net/torch"]["flops_per_sample"].value == 2 * (4 * 8 + 8 * 3)
    torch_info = res.run.candidate("net/torch").info
    onnx_info = res.run.candidate("net/onnxruntime").info
    assert torch_info["source"] == "torch.export" and torch_info["weights"] == "file"
    assert torch_info["archive_format"] == "torch.export"
    assert onnx_info["converted_from"] == "torch"
