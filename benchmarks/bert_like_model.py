"""A 2-layer BERT-like text classifier (int64 ``input_ids`` and ``attention_mask``), written with
plain layers and ``F.scaled_dot_product_attention`` so that both backends run it: torch as it is,
and ONNX Runtime after export (this torch build cannot export ``nn.TransformerEncoderLayer``).

Its FLOPs per example (2 x MACs, sequence length L, width d, feed-forward f, layers n, classes c):
per layer, the projections Q, K, V and out take 4 x 2 L d^2, the feed-forward 2 x 2 L d f, and the
attention (Q K^T and the weighted sum of V) 2 x 2 L^2 d; then the head 2 d c. :func:`hand_flops`
is that count; embeddings, normalisation, softmax and activations are not counted (docs/flops.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, d: int, heads: int, ff: int):
        super().__init__()
        self.heads = heads
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.out = torch.nn.Linear(d, d)
        self.norm1, self.norm2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.ff1, self.ff2 = torch.nn.Linear(d, ff), torch.nn.Linear(ff, d)

    def forward(self, h, mask):
        b, n, d = h.shape
        q, k, v = self.qkv(h).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        h = self.norm1(h + self.out(a.transpose(1, 2).reshape(b, n, d)))
        return self.norm2(h + self.ff2(F.gelu(self.ff1(h))))


class BertLike(torch.nn.Module):
    def __init__(self, vocab: int = 1000, length: int = 128, d: int = 64, heads: int = 4, ff: int = 256,
                 layers: int = 2, classes: int = 2):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Embedding(length, d)
        self.blocks = torch.nn.ModuleList(Block(d, heads, ff) for _ in range(layers))
        self.head = torch.nn.Linear(d, classes)

    def forward(self, input_ids, attention_mask):
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        h = self.tok(input_ids) + self.pos(positions)
        mask = (attention_mask[:, None, None, :] > 0)  # a key is attended to where its mask is 1
        for block in self.blocks:
            h = block(h, mask)
        return self.head(h[:, 0])


def hand_flops(length: int = 128, d: int = 64, ff: int = 256, layers: int = 2, classes: int = 2) -> int:
    per_layer = 4 * 2 * length * d * d + 2 * 2 * length * d * ff + 2 * 2 * length * length * d
    return layers * per_layer + 2 * d * classes


def build(seed: int = 0, **kwargs) -> BertLike:
    """A factory (``python:bert_like_model:build``): random weights, seeded, in eval mode."""
    torch.manual_seed(seed)
    return BertLike(**kwargs).eval()
