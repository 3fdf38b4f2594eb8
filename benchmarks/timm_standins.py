"""Stand-ins for seven timm architectures, written from timm's definitions, for machines where timm
does not import (it needs torchvision, which does not import beside this machine's torch build).

``create_model(model_name)`` mirrors ``timm.create_model(model_name)`` with random weights: the same
layers, shapes and parameter counts as timm's ``resnet18``, ``resnet50``, ``vgg11``,
``mobilenetv2_100``, ``convnext_atto``, ``vit_tiny_patch16_224`` and ``vit_small_patch16_224``
(attention through ``F.scaled_dot_product_attention``, as timm's fused attention). Used by
benchmarks/bench_timm_flops.py as ``python:timm_standins:create_model`` with
``args = { model_name = "..." }``; see docs/flops.md.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MODELS", "create_model"]


# ----------------------------------------------------------------------------------------- ResNet
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = _downsample(cin, planes, stride)

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)) + shortcut)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1):
        super().__init__()
        out = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = _downsample(cin, out, stride)

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.relu(self.bn3(self.conv3(x)) + shortcut)


def _downsample(cin, out, stride):
    if stride == 1 and cin == out:
        return None
    return nn.Sequential(nn.Conv2d(cin, out, 1, stride, bias=False), nn.BatchNorm2d(out))


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        stages, cin = [], 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            blocks = []
            for j in range(n):
                blocks.append(block(cin, planes, 2 if (j == 0 and i > 0) else 1))
                cin = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*stages)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        return self.fc(self.layers(x).mean(dim=(2, 3)))


# -------------------------------------------------------------------------------------------- VGG
class VGG(nn.Module):
    """timm's vgg11: the features, then ``ConvMlp`` pre-logits (7x7 conv 512->4096, 1x1 conv 4096->4096)
    and a linear head after global pooling."""

    def __init__(self, cfg=(64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"), num_classes=1000):
        super().__init__()
        layers, cin = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=True)]
                cin = v
        self.features = nn.Sequential(*layers)
        self.pre_logits = nn.Sequential(nn.Conv2d(512, 4096, 7), nn.ReLU(inplace=True), nn.Dropout(0.0),
                                        nn.Conv2d(4096, 4096, 1), nn.ReLU(inplace=True))
        self.fc = nn.Linear(4096, num_classes)

    def forward(self, x):
        return self.fc(self.pre_logits(self.features(x)).mean(dim=(2, 3)))


# ------------------------------------------------------------------------------------ MobileNetV2
def _conv_bn(cin, cout, k=3, stride=1, groups=1, act=True):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU6(inplace=True)) if act else nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        mid = cin * expand
        layers = [] if expand == 1 else [_conv_bn(cin, mid, 1)]
        layers += [_conv_bn(mid, mid, 3, stride, groups=mid), _conv_bn(mid, cout, 1, act=False)]
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        layers, cin = [_conv_bn(3, 32, 3, 2)], 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        layers.append(_conv_bn(cin, 1280, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))


# --------------------------------------------------------------------------------------- ConvNeXt
class LayerNorm2d(nn.LayerNorm):
    def forward(self, x):
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """timm's block with ``conv_mlp=True`` (convnext_atto): 7x7 depthwise, LayerNorm2d, 1x1 conv MLP, layer scale."""

    def __init__(self, dim):
        super().__init__()
        self.conv_dw = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = LayerNorm2d(dim, eps=1e-6)
        self.fc1 = nn.Conv2d(dim, 4 * dim, 1)
        self.fc2 = nn.Conv2d(4 * dim, dim, 1)
        self.gamma = nn.Parameter(torch.full((dim,), 1e-6))

    def forward(self, x):
        y = self.fc2(F.gelu(self.fc1(self.norm(self.conv_dw(x)))))
        return x + y * self.gamma.reshape(1, -1, 1, 1)


class ConvNeXt(nn.Module):
    def __init__(self, depths=(2, 2, 6, 2), dims=(40, 80, 160, 320), num_classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, dims[0], 4, 4), LayerNorm2d(dims[0], eps=1e-6))
        stages, cin = [], dims[0]
        for i, (d, n) in enumerate(zip(dims, depths)):
            down = [] if i == 0 else [LayerNorm2d(cin, eps=1e-6), nn.Conv2d(cin, d, 2, 2)]
            stages.append(nn.Sequential(*down, *[ConvNeXtBlock(d) for _ in range(n)]))
            cin = d
        self.stages = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(cin, eps=1e-6)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.norm(self.stages(self.stem(x)).mean(dim=(2, 3))))


# -------------------------------------------------------------------------------------------- ViT
class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, 4 * dim)
        self.fc2 = nn.Linear(4 * dim, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class VisionTransformer(nn.Module):
    def __init__(self, dim, depth, heads, patch=16, img=224, num_classes=1000):
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, (img // patch) ** 2 + 1, dim) * 0.02)
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


MODELS = {
    "resnet18": lambda n: ResNet(BasicBlock, (2, 2, 2, 2), n),
    "resnet50": lambda n: ResNet(Bottleneck, (3, 4, 6, 3), n),
    "vgg11": lambda n: VGG(num_classes=n),
    "mobilenetv2_100": lambda n: MobileNetV2(n),
    "convnext_atto": lambda n: ConvNeXt(num_classes=n),
    "vit_tiny_patch16_224": lambda n: VisionTransformer(192, 12, 3, num_classes=n),
    "vit_small_patch16_224": lambda n: VisionTransformer(384, 12, 6, num_classes=n),
}


def create_model(model_name: str, pretrained: bool = False, num_classes: int = 1000, seed: int = 0):
    """A stand-in for ``timm.create_model(model_name)`` with random weights (``pretrained`` must stay False)."""
    if pretrained:
        raise ValueError("stand-ins have no pretrained weights: random weights only")
    if model_name not in MODELS:
        raise ValueError(f"model_name must be one of {', '.join(MODELS)}, got {model_name!r}")
    torch.manual_seed(seed)
    return MODELS[model_name](num_classes).eval()
