"""Your own models from the command line (first slice): model files on synthetic inputs, and suite files.

    plan = plan_model_files(["a.onnx", "b.pt2"], input_spec="16", batch_sizes=[1, 4])
    plan = plan_suite_file("study.toml")
    measure_run(plan.candidates, plan.task, suite=plan.suite, batch_sizes=plan.batch_sizes, ...)

Everything is loaded and checked here, before anything is measured: a bad reference, input spec or
data file, or a model whose inputs the workers cannot take yet, is one ConfigError or DataError line.
The workers feed every model one float32 array today, so a model must take one float32 input;
integer and multi-input models are refused with :data:`LATER`. A run on synthetic inputs, or on
data with ``task = "none"``, is cost only (an unlabelled task: no predictions, no quality). A
labelled run scores accuracy and f1_macro (``Recorder.predictions``); other metrics and regression
are refused for now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from effbench.errors import ConfigError, DataError
from effbench.tasks.base import Task

__all__ = ["CLI_METRICS", "FILES_BATCH_SIZES", "LATER", "Plan", "add_variants", "plan_model_files", "plan_suite_file",
           "plan_of_run"]

LATER = "integer and multi-input models are not measured yet: the workers feed one float32 array (they load and predict from Python today, effbench.sources; measuring them is a later step)"
CLI_METRICS = ("accuracy", "f1_macro")
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
                     trust_pickle: bool = False, device: str = "cpu") -> Plan:
    """Model files or references (``.onnx``, ``.pt2``, ``.pt``/``.ts``, ``.skops``, ``python:mod:fn``,
    ...) on synthetic float32 inputs shaped by ``input_spec`` or by the models' own signatures:
    a cost-only plan, suite ``files``; candidate names are the file stems, made unique."""
    from effbench.sources.build import build_candidates, check_device

    check_device(device, "--device")
    specs = _file_specs(refs)
    given = _given_inputs(input_spec, "--input")
    n = _synthetic_rows(batch_sizes, "--batch-sizes")
    candidates, shapes = [], {}
    for spec in specs:
        built, prov = build_candidates(spec, None, trust_pickle=trust_pickle, device=device)
        shapes[spec.name] = _input_shape(spec.name, prov, given, "--input")
        candidates += built
    X, source = _synthetic(shapes, n, input_spec)
    task = replace(Task.from_arrays("files", X), info={"data": source})
    return Plan("files", candidates, task, tuple(batch_sizes),
                config={"sources": [s.model for s in specs], "input": input_spec, "trust_pickle": trust_pickle,
                        "device": device})


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
    """A suite file's plan: its data (float inputs; classification scored by accuracy and f1_macro, or
    task ``none``: cost only) or synthetic inputs (``data.input`` or the models' signatures), its
    candidates on every backend listed, its batch sizes, threads, timeout and device (each overridden
    by the argument when it is not None). A CUDA device this machine lacks is one ConfigError line,
    before any model is loaded."""
    from effbench.sources.suite import load_suite

    from effbench.sources.build import check_device

    spec = load_suite(path, trust_pickle=trust_pickle)
    if device is not None:
        spec = replace(spec, device=device)
    check_device(spec.device, "--device" if device is not None else "device")  # before any model is loaded
    _check_task(spec.data)
    batch_sizes = tuple(batch_sizes or spec.batch_sizes)
    if spec.data is None or spec.data.path is None:
        candidates, task = _suite_synthetic(spec, batch_sizes, trust_pickle)
    else:
        candidates, task = _suite_data(spec, trust_pickle)
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
                                device=cfg.get("device") or "cpu")
        plan.threads, plan.timeout_s = cfg.get("threads") or 1, cfg.get("command_timeout_s")
        return add_variants(plan, cfg.get("variants"))
    raise ConfigError(f"--resume: run {run.run_id} is a {run.suite!r} run, which 'effbench run --resume' cannot make again "
                      "(for models given in Python, call effbench.benchmark(..., resume=RUN_ID) with the same models)")


def _check_task(data) -> None:
    if data is None:
        return
    if data.task not in ("classification", "none"):
        raise ConfigError(f"data.task: {data.task!r} is not yet from the command line; in this step a run scores "
                          "classification (accuracy, f1_macro) or measures cost only (task = \"none\")")
    for i, m in enumerate(data.metrics):
        if m not in CLI_METRICS:
            raise ConfigError(f"data.metrics[{i}]: {m!r} is not yet from the command line; in this step a run scores "
                              f"{' and '.join(CLI_METRICS)}")


def _suite_synthetic(spec, batch_sizes, trust_pickle):
    from effbench.sources.build import build_candidates
    from effbench.sources.signature import resolve_shapes, synthetic_inputs

    text = spec.data.input if spec.data is not None else None
    given = _given_inputs(text, "data.input")
    n = _synthetic_rows(batch_sizes, "batch_sizes")
    example = None if given is None else synthetic_inputs(resolve_shapes(given, None, field="data.input"), 2)
    candidates, shapes = [], {}
    for i, c in enumerate(spec.candidates):
        if example is None and c.backends:
            raise ConfigError(f"candidates[{i}].backends: converting to other backends needs example inputs; "
                              "give data.input (a shape such as 3x224x224) or data.path")
        built, prov = build_candidates(c, example, trust_pickle=trust_pickle, device=spec.device, field=f"candidates[{i}]")
        shapes[c.name] = _input_shape(c.name, prov, given, "data.input")
        candidates += built
    X, source = _synthetic(shapes, n, text)
    return candidates, replace(Task.from_arrays(spec.name, X), info={"data": source})


def _suite_data(spec, trust_pickle):
    from effbench.sources.build import build_candidates
    from effbench.sources.data import load_data

    ds = load_data(spec.data)
    if len(ds.inputs) > 1:
        raise ConfigError(f"data.path: the data holds {len(ds.inputs)} input arrays ({', '.join(ds.inputs)}); {LATER}")
    X = ds.X
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DataError(f"data.path: the inputs are {X.dtype}; they must be numbers")
    candidates = []
    for i, c in enumerate(spec.candidates):
        built, prov = build_candidates(c, np.asarray(X[:2], dtype=np.float32), trust_pickle=trust_pickle,
                                       device=spec.device, field=f"candidates[{i}]")
        signature = _float_signature(c.name, prov)
        if signature:
            ds.model_inputs(signature)  # the shapes must fit: DataError naming the input otherwise
        candidates += built
    labels = ds.y if spec.data.task == "classification" else None
    return candidates, replace(Task.from_arrays(spec.name, X, labels), info={"data": ds.source})


# -- inputs -------------------------------------------------------------------------------------

def _given_inputs(text, where):
    """A hand-written input spec, parsed; one float32 input only in this step."""
    if text is None:
        return None
    from effbench.sources.signature import parse_input_spec

    specs = parse_input_spec(text, field=where)
    if len(specs) > 1:
        raise ConfigError(f"{where}: {text!r} names {len(specs)} inputs; {LATER}")
    if specs[0].dtype != "float32":
        raise ConfigError(f"{where}: {text!r} is a {specs[0].dtype} input; "
                          + (LATER if not specs[0].dtype.startswith("float") else "effbench feeds models float32 inputs today"))
    return specs


def _float_signature(name, prov):
    """The model's input signature when its file tells it; ConfigError when it is not one float32 input."""
    from effbench.sources.models import input_signature

    names = prov.get("input_names") or []
    if len(names) > 1:
        raise ConfigError(f"model {name!r} takes {len(names)} inputs ({', '.join(names)}); {LATER}")
    signature = input_signature(prov)
    if not signature:
        return None
    if len(signature) > 1:
        raise ConfigError(f"model {name!r} takes {len(signature)} inputs ({', '.join(s.name for s in signature)}); {LATER}")
    try:
        dtype = np.dtype(signature[0].dtype)
    except TypeError:
        dtype = None
    if dtype is None or not np.issubdtype(dtype, np.floating):
        raise ConfigError(f"model {name!r}: input {signature[0].name!r} is {signature[0].dtype}; {LATER}")
    if dtype != np.float32:
        raise ConfigError(f"model {name!r}: input {signature[0].name!r} is {dtype}; effbench feeds models float32 "
                          "inputs today: export the model with float32 inputs")
    return signature


def _input_shape(name, prov, given, where) -> tuple:
    from effbench.sources.signature import resolve_shapes

    return resolve_shapes(given, _float_signature(name, prov), field=where)[0].shape


def _synthetic_rows(batch_sizes, where) -> int:
    """How many synthetic rows: the largest batch size ('all' needs a data set)."""
    from effbench.runs.latency import resolve_batch_sizes

    if any(isinstance(b, str) and b.strip().lower() in ("all", "full") for b in batch_sizes):
        raise ConfigError(f"{where}: 'all' (the whole data set) needs data; synthetic inputs are measured at "
                          "whole-number batch sizes, e.g. 1,8,32")
    return max(resolve_batch_sizes(batch_sizes, 1))


def _synthetic(shapes: dict, n: int, text):
    """One float32 array of ``n`` random rows that every model takes, and its description."""
    from effbench.sources.signature import InputSpec, shape_text, synthetic_inputs

    distinct = set(shapes.values())
    if len(distinct) > 1:
        listed = ", ".join(f"{k} {shape_text(v)}" for k, v in shapes.items())
        raise ConfigError(f"the models take different inputs ({listed}); measure them in separate runs")
    X = synthetic_inputs((InputSpec(None, "float32", distinct.pop()),), n, seed=0)
    return X, {"format": "synthetic", "n": n, "seed": 0, "spec": text, "shape": list(X.shape[1:]), "dtype": "float32"}
