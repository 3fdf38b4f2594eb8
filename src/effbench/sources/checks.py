"""What a loaded model's file tells about its task, checked before anything is measured.

    check_task_fits("resnet", provenance, output=None, task="classification", metrics=("top5",), y=labels)

From the provenance :func:`~effbench.sources.models.load_model` records (no extra load, no call of the
model): a scikit-learn estimator's kind (``is_classifier`` / ``is_regressor``), its classes and
whether it has ``predict_proba``; an ONNX model's or a ``.pt2`` archive's output dtype and shape; a
Hugging Face sequence classifier's number of labels (its logits). What they contradict is one
:class:`~effbench.errors.ConfigError` line naming the field:

- task ``regression`` with a scikit-learn classifier, or with a model whose output has several
  columns (class scores: regression reads one value per example);
- task ``classification`` with a scikit-learn regressor, or with a model whose output is one real
  value per example;
- a top-k metric on a model that outputs fewer than k scores per example, or only labels, or labels
  that cannot index its score columns.

A model whose file does not tell (a ``python:`` torch factory, TorchScript, a callable, a dynamic
output width) is checked when its outputs are scored, after measuring: that candidate alone fails,
with the reason.
"""

from __future__ import annotations

import numpy as np

from effbench.errors import ConfigError
from effbench.sources.signature import InputSpec, shape_text
from effbench.tasks.metrics import top_k

__all__ = ["check_task_fits", "model_output"]


def model_output(provenance: dict, output=None) -> InputSpec | None:
    """The output a candidate scores (``output``: a name or an index; default the first), as an
    :class:`InputSpec` (``None`` for a dynamic dimension), when the model's file tells it; else None."""
    specs = provenance.get("output_specs") or []
    if output is None:
        chosen = specs[:1]
    elif provenance.get("kind") == "hf":  # a transformers model's output, read by name (default "logits")
        chosen = [s for s in specs if s["name"] == output]
    elif provenance.get("kind") != "onnx":  # an archive's one tensor: output picks nothing from it
        chosen = []
    elif isinstance(output, int) and not isinstance(output, bool):
        chosen = specs[output:output + 1] if output >= 0 else []
    else:
        chosen = [s for s in specs if s["name"] == output]
    if not chosen:
        return None
    return InputSpec(chosen[0]["name"], chosen[0]["dtype"], tuple(chosen[0]["shape"]))


def check_task_fits(name: str, provenance: dict, *, output=None, task: str, metrics=(), y=None,
                    fields=("data.task", "data.metrics")) -> None:
    """ConfigError (one line, naming ``fields``: the task's and the metrics' field) when model ``name``
    cannot serve ``task`` or a metric in ``metrics``, as far as its ``provenance`` tells; ``y``: the
    labels, which a top-k metric reads as column indices of the model's scores."""
    task_field, metrics_field = fields
    kind = provenance.get("estimator_type")
    cls = str(provenance.get("class", "")).rsplit(".", 1)[-1]
    if task == "regression" and kind == "classifier":
        raise ConfigError(f"{task_field}: regression needs a regressor; model {name!r} is a scikit-learn classifier "
                          f"({cls}): use task classification, or a regressor")
    if task == "classification" and kind == "regressor":
        raise ConfigError(f"{task_field}: classification needs a classifier; model {name!r} is a scikit-learn regressor "
                          f"({cls}): use task regression, or a classifier")
    out = model_output(provenance, output)
    width, shown = _width(out), "" if out is None else f"output {out.name!r} {out.dtype}{shape_text(out.shape)}"
    if task == "regression" and width is not None and width > 1:
        raise ConfigError(f"{task_field}: regression needs one value per example; model {name!r} outputs {width} values "
                          f"per example ({shown}), one score per class: use task classification")
    if task == "classification" and width == 1 and np.issubdtype(np.dtype(out.dtype), np.floating):
        raise ConfigError(f"{task_field}: classification needs class labels or one score per class; model {name!r} "
                          f"outputs one real value per example ({shown}): use task regression")
    if task != "classification":
        return
    for i, metric in enumerate(metrics):
        k = top_k(metric)
        if k is None:
            continue
        where = f"{metrics_field}[{i}]: {metric}"
        if kind == "classifier" and provenance.get("scores") is False:
            raise ConfigError(f"{where} ranks one score per class; model {name!r} ({cls}) has no predict_proba, only labels")
        scores = provenance.get("n_classes") if kind == "classifier" else width
        if scores is None:
            continue
        what = f"({cls}, {scores} classes)" if kind == "classifier" else f"({shown})"
        if scores == 1 and kind != "classifier":
            others = [o["name"] for o in provenance.get("output_specs") or [] if o["name"] != out.name]
            hint = f"; choose its scores with output = NAME (its other outputs: {', '.join(others)})" if others else ""
            raise ConfigError(f"{where} ranks one score per class; model {name!r} outputs one value per example {what}{hint}")
        if k > scores:
            raise ConfigError(f"{where} needs at least {k} classes; model {name!r} scores {scores} {what}")
        top = None if y is None or not len(y) else np.max(y)
        if top is not None and np.issubdtype(np.asarray(y).dtype, np.integer) and top >= scores:
            raise ConfigError(f"{where} reads the labels as column indices of the model's scores; the labels go up to "
                              f"{int(top)}, model {name!r} scores {scores} classes {what}")


def _width(out: InputSpec | None) -> int | None:
    """Values per example of an output: 1 for shape (n,), the columns of (n, k) when fixed; else None."""
    if out is None:
        return None
    if len(out.shape) == 1:
        return 1
    if len(out.shape) == 2:
        return out.shape[1]
    return None
