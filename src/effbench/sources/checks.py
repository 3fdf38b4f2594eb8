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

    check_inputs_fit("clf", provenance, [InputSpec("X", "float32", (40, 8))], what="the data", field="--data")

checks the inputs a run gives a model against what its loading recorded: a scikit-learn estimator's
``n_features_in_`` (one table, two dimensions, that many columns) and ``feature_names_in_`` (a CSV or
Parquet table's feature columns, in order), and a ``python:`` torch Module's ``forward`` parameters
(every one without a default given, no name it does not take unless it takes ``**kwargs``).
"""

from __future__ import annotations

import numpy as np

from effbench.errors import ConfigError
from effbench.sources.signature import InputSpec, shape_text
from effbench.tasks.metrics import top_k

__all__ = ["check_inputs_fit", "check_task_fits", "model_output"]


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


def check_inputs_fit(name: str, provenance: dict, inputs, *, what: str, field: str, columns=None) -> None:
    """ConfigError (one line, naming ``field``, model ``name``, what it takes and what ``what`` gives)
    when ``inputs`` (:class:`InputSpec` objects, the batch dimension first, a lone input's name None
    or its array's) cannot be fed to the model as its ``provenance`` describes it. ``columns``: a
    table's feature columns, checked against the names a scikit-learn estimator was fitted on."""
    inputs = list(inputs)
    n_features, forward = provenance.get("n_features"), provenance.get("forward")
    cls = str(provenance.get("class", "")).rsplit(".", 1)[-1]
    model = f"{field}: model {name!r} ({cls})"
    if n_features is not None:
        if len(inputs) != 1:
            raise ConfigError(f"{model} takes one table of {n_features} features per example; {what} gives "
                              f"{len(inputs)} inputs ({_listed(inputs)})")
        shape = inputs[0].shape
        if len(shape) != 2:
            raise ConfigError(f"{model} takes a table of {n_features} features per example, shape (?, {n_features}); "
                              f"{what} gives {_listed(inputs)}, {len(shape)} dimensions")
        if shape[1] != n_features:
            raise ConfigError(f"{model} was fitted on {n_features} features; {what} gives {shape[1]} per example "
                              f"({_listed(inputs)})")
    fitted = provenance.get("feature_names")
    if fitted is not None and columns is not None and list(columns) != list(fitted):
        order = " (the same names in another order)" if sorted(columns) == sorted(fitted) else ""
        raise ConfigError(f"{model} was fitted on the columns {', '.join(fitted)}; {what} gives the feature columns "
                          f"{', '.join(columns)}{order}: a model fitted on named columns reads them by position, so "
                          "give the same columns in the same order (reorder the table, or list them with data.features "
                          "in a suite file)")
    if forward is not None:
        _check_forward(f"{field}: model {name!r}", forward, inputs, what)


def _check_forward(model: str, forward: dict, inputs, what: str) -> None:
    """The inputs against a torch Module's ``forward`` parameters (``provenance["forward"]``): a lone input
    is passed positionally (it takes the first parameter), several by name (``module(**inputs)``)."""
    params, required = forward["params"], forward["required"]
    sig = ", ".join([p if p in required else f"{p}=..." for p in params] + (["**kwargs"] if forward["var_keyword"] else []))
    if len(inputs) == 1:
        missing = required[1:]
        if missing:
            raise ConfigError(f"{model}: forward({sig}) also needs {', '.join(map(repr, missing))}; {what} gives one "
                              f"input ({_listed(inputs)}): give one input per parameter, named after it")
        return
    names = [i.name for i in inputs]
    missing = [p for p in required if p not in names]
    if missing:
        raise ConfigError(f"{model}: forward({sig}) needs {', '.join(map(repr, missing))}, which has no default; {what} "
                          f"gives {', '.join(names)}")
    unknown = [n for n in names if n not in params]
    if unknown and not forward["var_keyword"]:
        raise ConfigError(f"{model}: forward({sig}) takes no input {', '.join(map(repr, unknown))}; {what} gives "
                          f"{', '.join(names)} (each input is passed by its name)")


def _listed(inputs) -> str:
    """Inputs in messages: ``X float32(40, 8)``, the name left out for a lone unnamed one."""
    return ", ".join(" ".join(filter(None, (i.name, f"{i.dtype}{shape_text(i.shape)}"))) for i in inputs)
