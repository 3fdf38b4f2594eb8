"""A PyTorch model read from an archive file, as a ``torch`` candidate that reaches worker processes.

Modules loaded from a torch.export archive (``.pt2``) or a TorchScript archive (``.pt``, ``.ts``) do
not pickle, so the candidate carries the archive's bytes and loads the module again where it is
unpickled. What it ships (its size) is the archive itself.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

from effbench.candidates.torch_adapter import TorchCandidate
from effbench.errors import ConfigError

FORMATS = ("torch.export", "torchscript")


def load_archive(data: bytes, fmt: str):
    """The module in an archive's bytes: ``torch.export.load(...).module()`` or ``torch.jit.load``."""
    import torch

    if fmt == "torch.export":
        return torch.export.load(io.BytesIO(data)).module()
    return torch.jit.load(io.BytesIO(data), map_location="cpu")


class TorchArchiveCandidate(TorchCandidate):
    """``TorchArchiveCandidate(name, path_or_bytes, fmt="torch.export" | "torchscript", device=..., output=...)``."""

    def __init__(self, model: str, archive, fmt: str, **kwargs):
        if fmt not in FORMATS:
            raise ConfigError(f"candidate {model!r}: archive format must be one of {', '.join(FORMATS)}; got {fmt!r}")
        if isinstance(archive, (str, os.PathLike)):
            archive = Path(archive).read_bytes()
        self.archive = bytes(archive)
        self.archive_format = fmt
        super().__init__(model, load_archive(self.archive, fmt), **kwargs)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["module"] = None  # rebuilt from the archive where it is unpickled
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.module = load_archive(self.archive, self.archive_format)

    def flops(self, X_example):
        """The torch FLOP counter, on the module called as a function: a torch.export module cannot be
        switched to eval mode (it runs as exported), which the counter does to an ``nn.Module``."""
        from effbench.measure.flops.torch import count_torch_flops

        module = self.module
        return count_torch_flops(lambda *args: module(*args), self.prepare(X_example))

    def serialized(self) -> bytes:
        return self.archive

    def serialization_format(self) -> str:
        return {"torch.export": "torch.export archive (.pt2)", "torchscript": "TorchScript archive"}[self.archive_format]

    def describe(self) -> dict:
        return {**super().describe(), "archive_format": self.archive_format}
