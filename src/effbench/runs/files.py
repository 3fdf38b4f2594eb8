"""Your own models from the command line: model files (synthetic or labelled inputs) and suite files.

    plan = plan_model_files(["a.onnx", "b.pt2"], input_spec="16", batch_sizes=[1, 4])
    plan = plan_model_files(["a.onnx", "forest.skops"], data="val.npz", task="classification", metrics="accuracy,top5")
    plan = plan_suite_file("study.toml")
    measure_run(plan.candidates, plan.task, suite=plan.suite, batch_sizes=plan.batch_sizes, ...)

Everything is loaded and checked here, before anything is measured: a bad reference, input spec or
data file, or data that does not fit a model's inputs, is one ConfigError or DataError line. Inputs
keep their dtypes (int64 ids, bool masks; floats as float32) and a model with several inputs gets a
dict of named arrays. A run on synthetic inputs, or on data with ``task = "none"``, is cost only (an
unlabelled task: no predictions, no quality); a labelled run scores each metric of the data's task
(classification or regression), with its direction.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.tasks.base import Task

__all__ = ["FILES_BATCH_SIZES", "Plan", "add_variants", "on_import_path", "plan_model_files", "plan_of_run", "plan_suite_file"]

FILES_BATCH_SIZES = (1, 8, 32)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.+\-]")


@dataclass
class Plan:
    """What one run measures: its suite name, candidates, task (unlabelled: cost only), batch sizes,
    threads, timeout, and what the run's config records about where it came from."""

    suite: str
    candidates: list
    task: Task
    batch_sizes: tuple
    threads: int = 1
    timeout_s: float | None = None
    config: dict = field(default_factory=dict)
    training_from: dict = field(default_factory=dict)   # model -> the tracking it takes its training cost from
    training: dict = field(default_factory=dict)        # model -> training facts (a variant: the time to build it)
    failed_records: list = field(default_factory=list)  # variants that could not be built, with their reasons


# -- model files --------------------------------------------------------------------------------

def plan_model_files(refs, *, input_spec: str | None = None, batch_sizes=FILES_BATCH_SIZES,
                     trust_pickle: bool = False, data=None, task: str | None = None, metrics=None,
                     target: str | None = None, device: str = "cpu") -> Plan:
    """Model files or references (``.onnx``, ``.pt2``, ``.pt``/``.ts``, ``.skops``, ``python:mod:fn``,
    ...): on synthetic inputs shaped by ``input_spec`` or by the models' own signatures (cost only),
    or on ``data`` (a data file read as a suite's ``[data]``, ``--data``) with its ``task``
    (default classification), ``metrics`` (names, a list or comma-separated; default the task's) and,
    for a CSV or Parquet table, ``target`` (its label column; the other columns are the features).
    Suite ``files``; candidate names are the file stems, made unique. A CUDA ``device`` this machine
    lacks is one ConfigError line, before any model is loaded."""
    from effbench.runs.latency import resolve_batch_sizes
    from effbench.sources.build import build_candidates, check_device

    check_device(device, "--device")
    given = [option for option, value in (("--task", task), ("--metrics", metrics), ("--target", target)) if value is not None]
    if data is None and given:
        raise ConfigError(f"{given[0]}: applies with --data (labelled data for the model files)")
    specs = _file_specs(refs)
    if data is not None:
        if input_spec is not None:
            raise ConfigError("--input: synthetic inputs or --data, not both")
        data_spec = _cli_data_spec(data, task, metrics, target)
        candidates, run_task = _on_data("files", data_spec, specs, trust_pickle, device, lambda i: None,
                                        batch_sizes, "--batch-sizes", rename=_cli_message)
        return Plan("files", candidates, run_task, tuple(batch_sizes),
                    config={"sources": [s.model for s in specs], "data": data_spec.to_dict(), "trust_pickle": trust_pickle,
                            "device": device, "data_args": {"data": str(Path(data).expanduser().resolve()), "task": task, "metrics": metrics,
                                          "target": target}})
    given = _given_inputs(input_spec, "--input")
    n = _synthetic_rows(batch_sizes, "--batch-sizes")
    sizes = resolve_batch_sizes(batch_sizes, n)
    candidates, inputs = [], {}
    for spec in specs:
        built, prov = build_candidates(spec, None, trust_pickle=trust_pickle, device=device,
                                       check=_spec_check(spec.name, given, "--input"))
        inputs[spec.name] = _input_specs(spec.name, prov, given, "--input", sizes, "--batch-sizes")
        candidates += built
    X, source = _synthetic(inputs, n, input_spec)
    run_task = replace(Task.from_arrays("files", X), info={"data": source})
    return Plan("files", candidates, run_task, tuple(batch_sizes),
                config={"sources": [s.model for s in specs], "input": input_spec, "trust_pickle": trust_pickle,
                        "device": device})


_CLI_FIELDS = (("data.path", "--data"), ("data.task", "--task"), ("data.metrics", "--metrics"), ("data.labels", "--data"),
               ("data.target", "--target"))


def _cli_data_spec(path, task, metrics, target=None):
    """The ``[data]`` of a suite file, from ``--data``, ``--task``, ``--metrics`` and ``--target``; messages name
    the options."""
    from effbench.sources.suite import parse_data

    raw = {"path": str(Path(path).expanduser().resolve()), "task": "classification" if task is None else task}
    if target is not None:
        raw["target"] = target
    if metrics is not None:
        raw["metrics"] = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    try:
        return parse_data(raw)
    except ConfigError as exc:
        raise ConfigError(_cli_message(str(exc))) from None


def _cli_message(text: str) -> str:
    for old, new in _CLI_FIELDS:
        if text.startswith(old):
            return new + text[len(old):]
    return text


def _file_specs(refs) -> list:
    """One CandidateSpec per reference (files must exist), named by the file's stem, made unique."""
    from effbench.sources.models import model_kind
    from effbench.sources.suite import CandidateSpec

    if not refs:
        raise ConfigError("MODEL: give at least one model file or reference")
    specs, names = [], set()
    for ref in refs:
        kind = model_kind(ref, field="MODEL")
        if kind == "python":
            model, stem = ref, ref.rsplit(":", 1)[1]
        else:
            path = Path(ref[3:] if kind == "hf" else ref).expanduser().resolve()
            if not (path.is_dir() if kind == "hf" else path.is_file()):
                raise ConfigError(f"MODEL: {ref!r} does not exist")
            model, stem = ("hf:" if kind == "hf" else "") + str(path), path.stem if kind != "hf" else path.name
        name = base = _UNSAFE.sub("_", stem) or "model"
        i = 1
        while name in names:
            i += 1
            name = f"{base}-{i}"
        names.add(name)
        specs.append(CandidateSpec(name=name, model=model, kind=kind))
    return specs


# -- suite files --------------------------------------------------------------------------------

def plan_suite_file(path, *, trust_pickle: bool = False, batch_sizes=None, threads: int | None = None,
                    timeout_s: float | None = None, device: str | None = None) -> Plan:
    """A suite file's plan: its data (any task: classification or regression scored with each of its
    metrics, or ``none``: cost only) or synthetic inputs (``data.input`` or the models' signatures),
    its candidates on every backend listed, its batch sizes, threads, timeout and device (each
    overridden by the argument when it is not None). A CUDA device this machine lacks is one
    ConfigError line, before any model is loaded. The suite's folder is put on the import path first
    (:func:`on_import_path`), so a ``python:`` factory or metric in a package beside it is found."""
    from effbench.sources.build import check_device
    from effbench.sources.suite import load_suite

    folder = Path(path).expanduser().resolve().parent
    if Path(path).is_file():
        on_import_path(folder)
    spec = load_suite(path, trust_pickle=trust_pickle)
    if device is not None:
        spec = replace(spec, device=device)
    check_device(spec.device, "--device" if device is not None else "device")  # before any model is loaded
    sizes_field = "--batch-sizes" if batch_sizes else "batch_sizes"
    batch_sizes = tuple(batch_sizes or spec.batch_sizes)
    if spec.data is None or spec.data.path is None:
        candidates, task = _suite_synthetic(spec, batch_sizes, trust_pickle, sizes_field)
    else:
        candidates, task = _on_data(spec.name, spec.data, spec.candidates, trust_pickle, spec.device,
                                    lambda i: f"candidates[{i}]", batch_sizes, sizes_field)
    return Plan(spec.name, candidates, task, batch_sizes, threads=threads or spec.threads,
                timeout_s=timeout_s if timeout_s is not None else spec.timeout_s,
                config={"suite_file": spec.to_dict(), "trust_pickle": trust_pickle, "device": spec.device},
                training_from={c.name: c.training for c in spec.candidates if c.training})


# -- compressed variants ------------------------------------------------------------------------

FILE_VARIANT_GROUPS = ("quant", "prune", "onnx-opt")
"""The --variants groups a suite file's (or model files') PyTorch candidates take: no ``distil`` (it needs a
student architecture and training data, which a suite file does not give)."""


def add_variants(plan: Plan, groups, log=None) -> Plan:
    """``plan`` with the compressed variants (:mod:`effbench.zoo.variants`) of its PyTorch candidates in
    ``groups`` added: int8 dynamic and static quantisation, unstructured and structured pruning, ONNX
    Runtime without graph optimisation. Built from the loaded module, on the CPU, without fine-tuning
    (a suite file gives no training data; static quantisation is calibrated on the run's own inputs,
    and the variant's info says so). A variant that cannot be built (e.g. an archive's flattened
    module has no layer to quantise) is recorded failed with its reason; the others are measured."""
    from effbench.zoo.variants import VARIANT_GROUPS, SourceModel, VariantSpec, build_variants, standard_variants

    groups = tuple(groups or ())
    for g in groups:
        if g not in FILE_VARIANT_GROUPS:
            raise ConfigError(f"--variants: {g!r} applies to the default suite only (it needs a student architecture and "
                              f"training data); suite and model files take {', '.join(FILE_VARIANT_GROUPS)} or all")
    if not groups:
        return plan
    specs = [VariantSpec(v.suffix, v.kind, {**v.params, **({"finetune_epochs": 0} if "finetune_epochs" in v.params else {})},
                         v.backend) for v in standard_variants([s for g in groups for s in VARIANT_GROUPS[g]])]
    X, y = plan.task.X_test, plan.task.y_test
    added, failures = [], []
    for c in [c for c in plan.candidates if c.backend == "torch"]:
        src = SourceModel(c.model, c.module, X, y, family=c.family or "neural-network", parent_key=c.key, threads=plan.threads,
                          info={"variant_data": "built without fine-tuning; static int8 calibrated on the run's own inputs"})
        cands, facts, fails = build_variants(src, specs, on_progress=log)
        added += cands
        failures += fails
        plan.training.update(facts)
    if not added and not failures:
        raise ConfigError("--variants: no PyTorch candidate to build variants of (variants are built from torch models)")
    plan.candidates = plan.candidates + added
    plan.failed_records = plan.failed_records + [f.to_record() for f in failures]
    plan.config = {**plan.config, "variants": list(groups)}
    return plan


def plan_of_run(run) -> Plan:
    """The plan of a stored suite-file or model-files run, made again from its sources (to resume it): the
    same files, inputs, batch sizes, threads and timeout. A suite file that changed since is refused."""
    cfg = run.config or {}
    trust, sizes = bool(cfg.get("trust_pickle")), cfg.get("batch_sizes")
    if cfg.get("suite_file") is not None:
        stored = cfg["suite_file"]
        source = stored.get("source")
        if not source or not Path(source).is_file():
            raise ConfigError(f"--resume: run {run.run_id} came from the suite file {source!r}, which is no longer there")
        plan = plan_suite_file(source, trust_pickle=trust, batch_sizes=sizes, threads=cfg.get("threads"),
                               timeout_s=cfg.get("command_timeout_s"), device=stored.get("device"))
        if plan.config["suite_file"] != stored:
            raise ConfigError(f"--resume: the suite file {source!r} changed since run {run.run_id} started; "
                              "restore it, or start a new run")
        return add_variants(plan, cfg.get("variants"))
    if cfg.get("sources") is not None:
        plan = plan_model_files(cfg["sources"], input_spec=cfg.get("input"), batch_sizes=sizes, trust_pickle=trust,
                                device=cfg.get("device") or "cpu", **cfg.get("data_args", {}))
        plan.threads, plan.timeout_s = cfg.get("threads") or 1, cfg.get("command_timeout_s")
        return add_variants(plan, cfg.get("variants"))
    raise ConfigError(f"--resume: run {run.run_id} is a {run.suite!r} run, which 'effbench run --resume' cannot make again "
                      "(for models given in Python, call effbench.benchmark(..., resume=RUN_ID) with the same models)")


def on_import_path(folder) -> None:
    """Put ``folder`` first on ``sys.path`` and on ``PYTHONPATH`` (for worker processes: they unpickle
    a factory's classes by reference), once. A suite's ``python:pkg.mod:factory`` and
    ``python:pkg.mod:metric`` are then found in a package beside the suite file."""
    folder = str(Path(folder).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if folder not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([folder, *parts])


def _suite_synthetic(spec, batch_sizes, trust_pickle, sizes_field):
    from effbench.runs.latency import resolve_batch_sizes
    from effbench.sources.build import build_candidates
    from effbench.sources.signature import resolve_shapes, synthetic_inputs

    text = spec.data.input if spec.data is not None else None
    given = _given_inputs(text, "data.input")
    n = _synthetic_rows(batch_sizes, sizes_field)
    example = None if given is None else synthetic_inputs(resolve_shapes(given, None, field="data.input"), 2)
    candidates, inputs = [], {}
    for i, c in enumerate(spec.candidates):
        if example is None and c.backends:
            raise ConfigError(f"candidates[{i}].backends: converting to other backends needs example inputs; "
                              "give data.input (a shape such as 3x224x224) or data.path")
        built, prov = build_candidates(c, example, trust_pickle=trust_pickle, device=spec.device, field=f"candidates[{i}]",
                                       check=_spec_check(c.name, given, "data.input"))
        inputs[c.name] = _input_specs(c.name, prov, given, "data.input", resolve_batch_sizes(batch_sizes, 1), sizes_field)
        candidates += built
    X, source = _synthetic(inputs, n, text)
    return candidates, replace(Task.from_arrays(spec.name, X), info={"data": source})


def _on_data(name, data_spec, cand_specs, trust_pickle, device, field_of, batch_sizes, sizes_field, rename=str):
    """The candidates and the task of a run on a data file (a suite's ``[data]`` or ``--data``): every
    model's inputs checked against the data (DataError naming the input, dtype or shape), its fixed
    batch size against ``batch_sizes``, and what its file tells of its outputs against the task and
    metrics (:func:`effbench.sources.checks.check_task_fits`). ``rename``: a suite field's name as the
    command line gives it (``data.metrics`` -> ``--metrics``)."""
    from effbench.measure.inputs import batch_of
    from effbench.runs.latency import resolve_batch_sizes
    from effbench.sources.build import build_candidates
    from effbench.sources.checks import check_inputs_fit, check_task_fits
    from effbench.sources.data import load_data
    from effbench.sources.signature import InputSpec
    from effbench.tasks.metrics import check_top_k_labels

    ds = load_data(data_spec)
    labelled = data_spec.task != "none"
    if labelled:  # before any model is loaded
        check_top_k_labels(data_spec.metrics, ds.y, n_classes=len(ds.source.get("classes") or ()) or None,
                           field=rename("data.metrics"))
    sizes = resolve_batch_sizes(batch_sizes, ds.n)
    X = ds.X
    example = batch_of(X, 2)
    given = [InputSpec(k, str(a.dtype), a.shape) for k, a in ds.inputs.items()]
    candidates = []
    for i, c in enumerate(cand_specs):
        def check(prov, name=c.name):  # before the model is converted to other backends
            check_inputs_fit(name, prov, given, what="the data", field=rename("data.path"), columns=ds.source.get("features"))

        built, prov = build_candidates(c, example, trust_pickle=trust_pickle, device=device, field=field_of(i), check=check)
        signature = _signature(c.name, prov)
        if signature:
            _check_fits(c.name, ds, signature)
            _check_batch(c.name, signature, None, sizes, sizes_field, (rename("data.path"), ds.n) if labelled else None)
        if labelled:
            check_task_fits(c.name, prov, output=c.output, task=data_spec.task, metrics=data_spec.metrics, y=ds.y,
                            fields=(rename("data.task"), rename("data.metrics")))
        candidates += built
    task = Task.from_arrays(name, X, ds.y if labelled else None, task_type=data_spec.task if labelled else "classification",
                            metrics=data_spec.metrics if labelled else ())
    return candidates, replace(task, info={"data": ds.source})


def _check_fits(name, ds, signature) -> None:
    """The data fits the model's inputs (``Dataset.model_inputs``) as the workers will give them: the
    data's own integer dtype (the workers keep integer dtypes as they are)."""
    fitted = ds.model_inputs(signature)
    fitted = fitted if isinstance(fitted, dict) else {signature[0].name: fitted}
    given = ds.inputs if len(ds.inputs) > 1 else {signature[0].name: ds.X}
    for input_name, a in fitted.items():
        held = given[input_name].dtype
        if (np.issubdtype(a.dtype, np.integer) or a.dtype == bool) and a.dtype != held:
            raise DataError(f"model {name!r}: input {input_name!r} takes {a.dtype}, the data holds {held}; the workers "
                            f"give integer inputs as they are: save the array as {a.dtype}")


# -- inputs -------------------------------------------------------------------------------------

def _given_inputs(text, where):
    """A hand-written input spec, parsed (one input or several, any dtype the workers feed)."""
    if text is None:
        return None
    from effbench.sources.signature import parse_input_spec

    specs = parse_input_spec(text, field=where)
    for s in specs:
        if s.dtype in ("float64", "float16"):
            raise ConfigError(f"{where}: {text!r} has a {s.dtype} input; effbench feeds real-valued inputs as float32 "
                              "(export the model with float32 inputs)")
    return specs


def _signature(name, prov):
    """The model's input signature when its file tells it; ConfigError for a float64/float16 input
    (the workers feed real numbers as float32)."""
    from effbench.sources.models import input_signature

    signature = input_signature(prov)
    for s in signature or ():
        if s.dtype in ("float64", "float16"):
            raise ConfigError(f"model {name!r}: input {s.name!r} is {s.dtype}; effbench feeds real-valued inputs as "
                              "float32: export the model with float32 inputs")
    return signature


def _spec_check(name, given, where):
    """The check :func:`build_candidates` runs once model ``name`` is loaded: a hand-written spec ``given``
    against a scikit-learn estimator's features or a torch factory's ``forward`` (models whose file
    tells no input signature; :func:`effbench.sources.checks.check_inputs_fit`)."""
    from effbench.sources.checks import check_inputs_fit
    from effbench.sources.signature import resolve_shapes

    def check(prov):
        if given is not None and not prov.get("inputs"):
            check_inputs_fit(name, prov, resolve_shapes(given, None, field=where), what="the spec", field=where)

    return check


def _input_specs(name, prov, given, where, sizes, sizes_field) -> tuple:
    """The model's synthetic inputs: ``given`` (a hand-written spec) checked against its signature, or
    the signature itself (a scikit-learn estimator: a table of its ``n_features_in_`` columns); a fixed
    batch dimension checked against the batch ``sizes``."""
    from effbench.sources.signature import InputSpec, resolve_shapes

    signature = _signature(name, prov)
    if given is None and signature is None and prov.get("n_features"):
        return (InputSpec(None, "float32", (None, prov["n_features"])),)
    specs = resolve_shapes(given, signature, field=where)
    _check_batch(name, signature, specs, sizes, sizes_field)
    return specs


def _check_batch(name, signature, specs, sizes, sizes_field, scored=None) -> None:
    """ConfigError when the model fixes its batch size (``fixed_batch``) and ``sizes`` ask for another, or
    its quality is to be scored (``scored``: the data's field and its number of examples, which the
    predict step gives the model in one call) on another number of examples."""
    from effbench.sources.signature import fixed_batch, shape_text

    fixed = fixed_batch(signature, specs)
    if fixed is None:
        return
    what = f"model {name!r} takes batches of {fixed[1]} only (input {fixed[0]!r} has the fixed shape {shape_text(fixed[2])})"
    other = [b for b in sizes if b != fixed[1]]
    if other:
        raise ConfigError(f"{sizes_field}: {what}, not {other[0]}; measure it at batch size {fixed[1]}, or export it with "
                          "a dynamic batch dimension")
    if scored is not None and scored[1] != fixed[1]:
        raise ConfigError(f"{scored[0]}: {what}; its quality is scored on the {scored[1]} examples in one call: export it "
                          "with a dynamic batch dimension, or measure its cost only (task none)")


def _synthetic_rows(batch_sizes, where) -> int:
    """How many synthetic rows: the largest batch size ('all' needs a data set)."""
    from effbench.runs.latency import resolve_batch_sizes

    if any(isinstance(b, str) and b.strip().lower() in ("all", "full") for b in batch_sizes):
        raise ConfigError(f"{where}: 'all' (the whole data set) needs data; synthetic inputs are measured at "
                          "whole-number batch sizes, e.g. 1,8,32")
    return max(resolve_batch_sizes(batch_sizes, 1))


def _synthetic(inputs: dict, n: int, text):
    """``n`` random rows that every model takes (one array, or a dict of named arrays for several
    inputs), and their description."""
    from effbench.sources.signature import shape_text, synthetic_inputs

    def same(specs):  # a lone input's name does not matter: it is fed as the model's only input
        return tuple((s.name if len(specs) > 1 else None, s.dtype, tuple(s.shape)) for s in specs)

    distinct = {same(v) for v in inputs.values()}
    if len(distinct) > 1:
        listed = ", ".join(f"{k} " + " ".join(f"{s.dtype}{shape_text(s.shape)}" for s in v) for k, v in inputs.items())
        raise ConfigError(f"the models take different inputs ({listed}); measure them in separate runs")
    specs = next(iter(inputs.values()))
    X = synthetic_inputs(specs, n, seed=0)
    source = {"format": "synthetic", "n": n, "seed": 0, "spec": text}
    if isinstance(X, dict):
        return X, {**source, "inputs": {k: {"shape": list(a.shape[1:]), "dtype": str(a.dtype)} for k, a in X.items()}}
    return X, {**source, "shape": list(X.shape[1:]), "dtype": str(X.dtype)}
