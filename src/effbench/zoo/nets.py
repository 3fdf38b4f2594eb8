"""Small PyTorch networks for 8x8 single-channel images, written here (there is no CPU torchvision build).

Every network takes flattened float32 inputs of shape (N, 64) and reshapes them itself, so the
PyTorch and ONNX Runtime versions receive exactly the same arrays as the scikit-learn models.
This module imports torch at import time: import it only where torch is needed.
"""

from __future__ import annotations

import torch
from torch import nn


class _Images(nn.Module):
    """(N, 64) -> (N, 1, 8, 8)."""

    def forward(self, x):
        return x.reshape(x.shape[0], 1, 8, 8)


class MLP(nn.Module):
    """Two hidden layers of 128 and 64 units with ReLU."""

    def __init__(self, n_features: int = 64, n_classes: int = 10, hidden=(128, 64)):
        super().__init__()
        layers, width = [], n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class SmallCNN(nn.Module):
    """Two 3x3 convolutions (16 and 32 channels), one max-pool, one linear classifier."""

    def __init__(self, n_classes: int = 10, channels=(16, 32)):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            _Images(),
            nn.Conv2d(1, c1, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(c2 * 4 * 4, n_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def channel_shuffle(x, groups: int):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ShuffleUnit(nn.Module):
    """A ShuffleNetV2 unit (Ma et al., 2018).

    stride 1: split the channels in two halves, transform one (1x1 conv, 3x3 depthwise conv, 1x1 conv),
    concatenate with the untouched half, shuffle. stride 2: both branches transform the whole input
    (the left one with a depthwise stride-2 conv and a 1x1 conv), doubling the channels.
    """

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.stride = stride
        branch = c_out // 2
        if stride == 2:
            self.left = nn.Sequential(
                nn.Conv2d(c_in, c_in, 3, stride=2, padding=1, groups=c_in, bias=False),
                nn.BatchNorm2d(c_in),
                nn.Conv2d(c_in, branch, 1, bias=False),
                nn.BatchNorm2d(branch),
                nn.ReLU(),
            )
            right_in = c_in
        else:
            self.left = None
            right_in = c_in // 2
        self.right = nn.Sequential(
            nn.Conv2d(right_in, branch, 1, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(),
            nn.Conv2d(branch, branch, 3, stride=stride, padding=1, groups=branch, bias=False),
            nn.BatchNorm2d(branch),
            nn.Conv2d(branch, branch, 1, bias=False),
            nn.BatchNorm2d(branch),
            nn.ReLU(),
        )

    def forward(self, x):
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat([a, self.right(b)], dim=1)
        else:
            out = torch.cat([self.left(x), self.right(x)], dim=1)
        return channel_shuffle(out, 2)


class TinyShuffleNet(nn.Module):
    """A tiny ShuffleNetV2-style network: 3x3 stem (24 ch), one stride-2 and two stride-1 units (48 ch), global pooling."""

    def __init__(self, n_classes: int = 10, stem: int = 24, width: int = 48):
        super().__init__()
        self.net = nn.Sequential(
            _Images(),
            nn.Conv2d(1, stem, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem),
            nn.ReLU(),
            ShuffleUnit(stem, width, stride=2),
            ShuffleUnit(width, width, stride=1),
            ShuffleUnit(width, width, stride=1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, n_classes),
        )

    def forward(self, x):
        return self.net(x)


class WideCNN(nn.Module):
    """Deliberately over-wide: the small CNN's layout with 96 channels per convolution.

    It exists to show a model with many times the FLOPs and parameters of the small CNN for
    about the same accuracy on digits.
    """

    def __init__(self, n_classes: int = 10, width: int = 96):
        super().__init__()
        self.inner = SmallCNN(n_classes=n_classes, channels=(width, width))

    def forward(self, x):
        return self.inner(x)
