"""Seeded training of the built-in candidates (the same run gives the same accuracies)."""

from __future__ import annotations

import numpy as np


def warm_up_torch() -> None:
    """One throwaway forward, backward and Adam step on a tiny model: torch initialises its kernels,
    autograd engine and optimizer code once per process, and that cost is not any model's training."""
    import torch

    state = torch.random.get_rng_state()
    layer = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(layer.parameters())
    torch.nn.functional.cross_entropy(layer(torch.zeros(3, 4)), torch.zeros(3, dtype=torch.long)).backward()
    opt.step()
    torch.random.set_rng_state(state)


def train_torch_classifier(module, X, y, *, epochs: int, lr: float = 3e-3, batch_size: int = 64, seed: int = 0, threads: int | None = None, weight_decay: float = 0.0):
    """Train with Adam and cross-entropy on CPU, deterministically for a given seed and thread count.

    Returns the module in eval mode and a dict of training facts.
    """
    import torch

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(y, dtype=np.int64))
    opt = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    module.train()
    n = len(Xt)
    last_loss = float("nan")
    for _ in range(epochs):
        order = torch.randperm(n, generator=g)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(module(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            last_loss = float(loss.detach())
    module.eval()
    return module, {"epochs": epochs, "optimizer": "Adam", "lr": lr, "batch_size": batch_size, "seed": seed, "final_batch_loss": last_loss}
