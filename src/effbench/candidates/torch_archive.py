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
    """The module in an archive's bytes: ``torch.export.load(...).module()`` (see
    :func:`exported_module`) or ``torch.jit.load``."""
    import torch

    if fmt == "torch.export":
        return exported_module(torch.export.load(io.BytesIO(data)))
    return torch.jit.load(io.BytesIO(data), map_location="cpu")


def exported_module(program):
    """``program.module()``, whose ``train()`` and ``eval()`` leave it as it is instead of raising.

    An exported graph runs as it was exported (a model is exported for inference in eval mode);
    torch makes ``train``/``eval`` raise NotImplementedError on it, which would stop everything that
    puts a module in eval mode first (the torch adapter, the FLOP counter, the ONNX exporter)."""
    import types

    module = program.module()

    def _as_exported(self, mode: bool = True):
        return self

    module.train = types.MethodType(_as_exported, module)
    module.eval = types.MethodType(_as_exported, module)
    return module


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

    def serialized(self) -> bytes:
        return self.archive

    def serialization_format(self) -> str:
        return {"torch.export": "torch.export archive (.pt2)", "torchscript": "TorchScript archive"}[self.archive_format]

    def describe(self) -> dict:
        return {**super().describe(), "archive_format": self.archive_format}
