#!/usr/bin/env bash
# The GPU paths of suite files and model files, run for real on a machine with an NVIDIA GPU
# (figures for docs/gpu.md, section "Your own models on the GPU"). Not a test: it prints figures.
#
#     bash benchmarks/gpu_check.sh [OUT_DIR]        # from the repository root; needs torch with CUDA
#
# 1. a small CNN saved as a torch.export archive (.pt2) and as ONNX, in a suite file with
#    device = "cuda": measured on torch (model and inputs on the GPU, torch.cuda.synchronize before
#    every timestamp) and on ONNX Runtime's CUDA provider when onnxruntime-gpu is installed;
# 2. the same archive as a model file with --device cuda, and with --device cpu for comparison;
# 3. what each candidate recorded: its device (and ONNX Runtime's providers), p50 per batch size,
#    energy per sample with its provenance (NVML measured on the GPU).
# On a machine without a GPU step 1 stops with one error line and exit code 2 (the check itself).
set -euo pipefail
OUT=${1:-${OUT:-/tmp/gpu_check}}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONPATH=${PYTHONPATH:-src}
DB="$OUT/gpu_check.sqlite"
rm -f "$DB"

"$PY" - "$OUT" <<'PYEOF'
import sys, pathlib, torch
out = pathlib.Path(sys.argv[1])
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3, padding=1),
                          torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10)).eval()
x = torch.randn(2, 3, 64, 64)
prog = torch.export.export(net, (x,), dynamic_shapes={"input": {0: torch.export.Dim("batch")}})
torch.export.save(prog, out / "cnn.pt2")
print("torch", torch.__version__, "cuda available:", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
try:
    import onnxruntime as ort
    print("onnxruntime", ort.__version__, ort.get_available_providers())
    backends = '["torch", "onnxruntime"]' if "CUDAExecutionProvider" in ort.get_available_providers() else '["torch"]'
except ImportError:
    backends = '["torch"]'
(out / "gpu.toml").write_text(
    f'name = "gpu-check"\nbatch_sizes = [1, 32, 256]\ndevice = "cuda"\n[data]\ntask = "none"\ninput = "3x64x64"\n'
    f'[[candidates]]\nname = "cnn"\nmodel = "{out / "cnn.pt2"}"\nbackends = {backends}\n')
PYEOF

set -x
"$PY" -m effbench run "$OUT/gpu.toml" --db "$DB" --repeats 3 --max-time 1 --quiet
"$PY" -m effbench run "$OUT/cnn.pt2" --input 3x64x64 --batch-sizes 1,32,256 --device cuda --db "$DB" --max-time 1 --quiet
"$PY" -m effbench run "$OUT/cnn.pt2" --input 3x64x64 --batch-sizes 1,32,256 --device cpu --db "$DB" --max-time 1 --quiet
set +x

"$PY" - "$DB" <<'PYEOF'
import sys
from effbench.store.db import Store
with Store(sys.argv[1], create=False) as store:
    for row in store.list_runs():
        run = store.load_run(row["run_id"])
        print(f"\nrun {run.run_id} ({run.suite}, {run.status}); device in config: {run.config.get('device')}")
        for c in run.candidates:
            print(f"  {c.key}: status {c.status}, device {c.info.get('device')}, providers {c.info.get('providers')}")
            for b in run.batch_sizes(c.key):
                s = run.sample_set(c.key, b)
                e = run.metric(c.key, "energy_per_sample_j", b)
                p50 = sorted(s.values)[len(s.values) // 2] if s is not None and len(s.values) else float("nan")
                energy = f"{e.value:.3g} J/sample ({e.provenance})" if e is not None and e.value is not None else "no energy"
                print(f"    b={b}: p50 {p50 * 1e3:.3f} ms, n={0 if s is None else len(s.values)}, stop {None if s is None else s.meta.get('stop_reason')}, {energy}")
PYEOF
