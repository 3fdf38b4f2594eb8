"""Small importable models for the adapter tests (spawned workers must import them)."""

import numpy as np
import torch


class TwoLayer(torch.nn.Module):
    def __init__(self, n_in=64, n_out=10):
        super().__init__()
        torch.manual_seed(0)
        self.fc1 = torch.nn.Linear(n_in, 16)
        self.fc2 = torch.nn.Linear(16, n_out)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


def first_feature_sign(X):
    return (np.asarray(X)[:, 0] > 0.5).astype(np.int64)
