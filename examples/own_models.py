"""Benchmark your own models with effbench: a scikit-learn estimator, a PyTorch module, an ONNX file
and a plain function, on your own data. Run: python examples/own_models.py"""

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import effbench
from effbench.measure.timer import TimingConfig


class TinyNet(torch.nn.Module):  # defined at module level: each model is measured in its own process
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))

    def forward(self, x):
        return self.net(x)


def nearest_mean(X):  # any callable f(X) -> labels works too
    return np.argmin(((X[:, None, :] - MEANS[None]) ** 2).sum(-1), axis=1)


X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
MEANS = np.stack([X_train[y_train == k].mean(0) for k in range(10)])

if __name__ == "__main__":
    forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(X_train, y_train)
    net = TinyNet()  # untrained here: latency and size do not depend on the weights
    result = effbench.benchmark(
        {"forest": forest, "tinynet": net, "nearest_mean": nearest_mean},
        X_test, y_test,
        batch_sizes=[1, 32, "all"],
        timing=TimingConfig(max_time_s=0.2),   # short, for the example; the default is 1 s per cell
    )
    for row in result.table():
        print(f"{row['candidate']:24s} accuracy {row['accuracy'].value:.3f}  "
              f"p50 at batch 1 {row['latency_p50_s_b1'].value * 1e6:8.1f} us  "
              f"size {row['size_bytes'].value} bytes")
    print("stored as run", result.run_id, "in", result.db_path)
