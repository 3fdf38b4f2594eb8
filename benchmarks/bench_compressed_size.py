"""Serialized and compressed sizes of the digits networks, dense and pruned (unstructured, no
fine-tuning), as `effbench run` records them (`size_bytes`, `compressed_size_bytes`, `nonzero_params`).

    PYTHONPATH=src python benchmarks/bench_compressed_size.py
"""

from __future__ import annotations

import torch

from effbench.candidates.torch_adapter import TorchCandidate
from effbench.tasks.digits import load_digits_task
from effbench.zoo import nets
from effbench.zoo.training import train_torch_classifier
from effbench.zoo.variants import prune_unstructured


def main() -> None:
    task = load_digits_task()
    print(f"{'candidate':<22} {'params':>8} {'non-zero':>8} {'size B':>8} {'zlib B':>8} {'zlib/size':>9}")
    for name, net in (("mlp", nets.MLP), ("cnn_wide", nets.WideCNN)):
        torch.manual_seed(0)
        dense, _ = train_torch_classifier(net(), task.X_train, task.y_train, epochs=3, seed=0, threads=1)
        models = [(name, dense)] + [(f"{name}.prune{int(s * 100)}u", prune_unstructured(dense, s)[0]) for s in (0.5, 0.9)]
        for key, m in models:
            c = TorchCandidate(key, m)
            size, z = c.size_bytes(), c.compressed_size_bytes()
            print(f"{key:<22} {c.param_count():>8} {c.nonzero_param_count():>8} {size:>8} {z:>8} {z / size:>9.2f}")


if __name__ == "__main__":
    main()
