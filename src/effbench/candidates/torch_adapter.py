"""A PyTorch ``nn.Module`` as a candidate (eval mode, no autograd, on CPU or CUDA).

Real-valued inputs reach the module as float32, integer and bool inputs keep their dtype (token
ids), and a dict of named inputs is passed as keyword arguments (``module(**inputs)``). ``output``
chooses the scores in a tuple or dict output (``"logits"`` for transformers models)."""

from __future__ import annotations

import io

from effbench.candidates.base import Candidate, as_batch, compressed_length, select_output
from effbench.errors import ConfigError


class TorchCandidate(Candidate):
    backend = "torch"

    def __init__(self, model: str, module, *, device: str = "cpu", output: str | int | None = None, **kwargs):
        super().__init__(model, **kwargs)
        self.family = self.family or "neural-network"  # a user's module, unless told otherwise
        import torch

        if not isinstance(module, torch.nn.Module):
            raise ConfigError(f"candidate {model!r}: a PyTorch candidate needs a torch.nn.Module; got {type(module).__name__}")
        if device not in ("cpu",) and not device.startswith("cuda"):
            raise ConfigError(f"candidate {model!r}: device must be 'cpu' or 'cuda[:N]'; got {device!r}")
        self.module = module.eval()
        self.device = device
        self.output = output
        self.info.setdefault("device", device)  # recorded beside the candidate's figures

    def _torch(self):
        import torch

        return torch

    def prepare(self, X):
        torch = self._torch()
        batch = as_batch(X)
        named = isinstance(batch, dict)
        tensors = {k: torch.from_numpy(v) for k, v in (batch.items() if named else [(None, batch)])}
        if self.device != "cpu":
            tensors = {k: t.to(self.device) for k, t in tensors.items()}
            torch.cuda.synchronize(self.device)
        return tensors if named else tensors[None]

    def infer(self, prepared):
        torch = self._torch()
        with torch.inference_mode():
            return self.module(**prepared) if isinstance(prepared, dict) else self.module(prepared)

    def sync(self):
        if self.device != "cpu":
            self._torch().cuda.synchronize(self.device)

    def to_labels(self, output):
        scores = select_output(output, self.output)
        return scores.argmax(dim=1).cpu().numpy() if scores.ndim == 2 else scores.reshape(-1).cpu().numpy()

    def _weights(self):
        """Every ``nn.Parameter``, plus the packed weights and biases of quantised modules
        (``torch.ao.nn.quantized``: ``weight()`` and ``bias()`` are methods, not parameters)."""
        torch = self._torch()
        yield from self.module.parameters()
        for m in self.module.modules():
            weight, bias = getattr(m, "weight", None), getattr(m, "bias", None)
            if callable(weight) and not isinstance(weight, torch.Tensor):
                packed = [weight(), bias() if callable(bias) and not isinstance(bias, torch.Tensor) else None]
                yield from (t for t in packed if isinstance(t, torch.Tensor))

    def param_count(self):
        """Elements of every weight (:meth:`_weights`)."""
        return int(sum(t.numel() for t in self._weights()))

    def nonzero_param_count(self):
        """Elements of every weight that are not exactly zero (a quantised weight: its dequantised value)."""
        torch = self._torch()
        return int(sum(int(torch.count_nonzero(t.dequantize() if t.is_quantized else t.detach())) for t in self._weights()))

    def compressed_size_bytes(self):
        """:func:`effbench.candidates.base.compressed_length` of :meth:`serialized`."""
        return compressed_length(self.serialized())

    def serialized(self) -> bytes:
        buf = io.BytesIO()
        self._torch().save(self.module.state_dict(), buf)
        return buf.getvalue()

    def serialization_format(self) -> str:
        return "torch.save(state_dict)"

    def configure_threads(self, threads: int) -> None:
        super().configure_threads(threads)
        torch = self._torch()
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set once in this process (only allowed before parallel work)
            pass
        if self.device != "cpu":
            self.module.to(self.device)

    def thread_settings(self) -> dict:
        torch = self._torch()
        return {
            "threads": self.threads,
            "torch_num_threads": torch.get_num_threads(),
            "torch_num_interop_threads": torch.get_num_interop_threads(),
            "device": self.device,
        }

    def describe(self) -> dict:
        return {**super().describe(), "device": self.device, "precision": "float32",
                **({} if self.output is None else {"output": self.output})}
