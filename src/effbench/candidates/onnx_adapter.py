"""An ONNX model run by ONNX Runtime as a candidate."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from effbench.candidates.base import Candidate
from effbench.errors import ConfigError
from effbench.validation import Options, check


class OnnxCandidate(Candidate):
    backend = "onnxruntime"

    def __init__(self, model: str, onnx_model, *, providers=("CPUExecutionProvider",), graph_optimization: str = "all",
                 output: str | int | None = None, **kwargs):
        super().__init__(model, **kwargs)
        if isinstance(onnx_model, (str, os.PathLike)):
            path = Path(onnx_model)
            if not path.is_file():
                raise ConfigError(f"candidate {model!r}: ONNX file {str(path)!r} does not exist")
            onnx_model = path.read_bytes()
        if not isinstance(onnx_model, (bytes, bytearray)):
            raise ConfigError(f"candidate {model!r}: an ONNX candidate needs a file path or the model's bytes; got {type(onnx_model).__name__}")
        check("graph_optimization", graph_optimization, Options(("disable", "basic", "extended", "all")))
        self.model_bytes = bytes(onnx_model)
        self.providers = tuple(providers)
        self.graph_optimization = graph_optimization
        self.output = output  # which output holds the scores: a name or an index (default: the first)
        self._session = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_session"] = None  # sessions are not picklable; rebuilt in the worker
        return state

    @property
    def session(self):
        if self._session is None:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            level = {
                "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
            }[self.graph_optimization]
            opts.graph_optimization_level = level
            if self.threads:
                opts.intra_op_num_threads = self.threads
                opts.inter_op_num_threads = 1
                opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            self._session = ort.InferenceSession(self.model_bytes, sess_options=opts, providers=list(self.providers))
            self._input_name = self._session.get_inputs()[0].name
            outputs = [o.name for o in self._session.get_outputs()]
            if self.output is None:
                self._output_names = outputs[:1]
            elif isinstance(self.output, int) and 0 <= self.output < len(outputs):
                self._output_names = [outputs[self.output]]
            elif self.output in outputs:
                self._output_names = [self.output]
            else:
                raise ConfigError(f"candidate {self.model!r}: output {self.output!r}: the model's outputs are {', '.join(outputs)}")
        return self._session

    def infer(self, prepared):
        session = self.session
        feed = prepared if isinstance(prepared, dict) else {self._input_name: prepared}
        return session.run(self._output_names, feed)[0]

    def to_outputs(self, output):
        """The timed call's output as it is: :meth:`infer` already ran only the output ``self.output`` names."""
        return np.asarray(output)

    def to_labels(self, output):
        out = np.asarray(output)
        return out.argmax(axis=1) if out.ndim == 2 else out.reshape(-1)

    def param_count(self):
        import onnx

        proto = onnx.load_from_string(self.model_bytes)
        total = sum(int(np.prod(init.dims)) for init in proto.graph.initializer)
        # skl2onnx stores ML-domain models as node attributes; count them with the convention
        # used for scikit-learn (docs/costs.md): trees = 2 per internal node + the leaf values.
        for node in proto.graph.node:
            if node.domain != "ai.onnx.ml":
                continue
            attrs = {a.name: a for a in node.attribute}
            if node.op_type.startswith("TreeEnsemble") and "nodes_modes" in attrs:
                internal = sum(1 for m in attrs["nodes_modes"].strings if m != b"LEAF")
                leaves = attrs.get("class_weights") or attrs.get("target_weights")
                total += 2 * internal + (len(leaves.floats) if leaves is not None else 0)
            elif node.op_type.startswith("Linear"):
                total += len(attrs["coefficients"].floats) + (len(attrs["intercepts"].floats) if "intercepts" in attrs else 0)
            else:
                total += sum(len(a.floats) for a in node.attribute)
        return int(total)

    def serialized(self) -> bytes:
        return self.model_bytes

    def serialization_format(self) -> str:
        return "onnx"

    def configure_threads(self, threads: int) -> None:
        super().configure_threads(threads)
        self._session = None
        self.session  # build it now, at load time, not inside the first timed or memory-measured call

    def thread_settings(self) -> dict:
        return {
            "threads": self.threads,
            "ort_intra_op_num_threads": self.threads,
            "ort_inter_op_num_threads": 1,
            "ort_execution_mode": "sequential",
            "graph_optimization": self.graph_optimization,
            "providers": list(self.providers),
        }

    def describe(self) -> dict:
        return {**super().describe(), "graph_optimization": self.graph_optimization, "providers": list(self.providers)}
