"""The default suite: classic scikit-learn models and small PyTorch networks trained on digits at run time,
plus ONNX Runtime versions of every PyTorch model and of two scikit-learn models (skl2onnx).

Seeds are fixed, so the same run gives the same accuracies.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from effbench.errors import ConfigError

SEED = 0


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    framework: str                    # "sklearn" or "torch": how it is trained
    backends: tuple[str, ...]         # the backends it is benchmarked on
    prepare: Callable                 # (task, quick) -> fit; fit() -> (fitted model, training facts); only fit() is timed
    quick: bool = False               # part of the --quick suite
    description: str = ""
    info: dict = field(default_factory=dict)


def _sk(factory):
    def prepare(task, quick):
        est = factory()  # imports and construction: not part of the training time

        def fit():
            est.fit(task.X_train, task.y_train)
            return est, {"estimator": type(est).__name__,
                         "params": {k: v for k, v in est.get_params().items() if isinstance(v, (int, float, str, bool, type(None)))}}

        return fit

    return prepare


def _logreg():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=2000, C=1.0, random_state=SEED)


def _forest():
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=100, random_state=SEED, n_jobs=1)


def _hgb():
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, early_stopping=False, random_state=SEED)


def _svm():
    from sklearn.svm import SVC

    return SVC(kernel="rbf", C=10.0, gamma="scale", random_state=SEED)


def _knn():
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=3, algorithm="brute")


def _torch(net_name: str, epochs: int, quick_epochs: int, lr: float):
    def prepare(task, quick):
        import torch

        from effbench.zoo import nets
        from effbench.zoo.training import train_torch_classifier, warm_up_torch

        warm_up_torch()  # torch's one-time start-up stays out of the first model's training time
        torch.manual_seed(SEED)
        module = getattr(nets, net_name)()

        def fit():
            return train_torch_classifier(module, task.X_train, task.y_train, epochs=quick_epochs if quick else epochs,
                                          lr=lr, seed=SEED, threads=TRAIN_THREADS)

        return fit

    return prepare


# One thread for training: deterministic, and on a small shared machine faster than two
# (measured: the BLAS-threaded logistic regression took 0.75 s with 2 threads, 0.025 s with 1).
TRAIN_THREADS = 1

SPECS: tuple[ModelSpec, ...] = (
    ModelSpec("logreg", "linear", "sklearn", ("sklearn", "onnxruntime"), _sk(_logreg), quick=True, description="multinomial logistic regression"),
    ModelSpec("random_forest", "tree-ensemble", "sklearn", ("sklearn", "onnxruntime"), _sk(_forest), description="random forest, 100 trees"),
    ModelSpec("hist_gb", "tree-ensemble", "sklearn", ("sklearn",), _sk(_hgb), description="histogram gradient boosting, 100 iterations x 10 classes"),
    ModelSpec("svm_rbf", "kernel", "sklearn", ("sklearn",), _sk(_svm), description="RBF support vector machine, one-vs-one"),
    ModelSpec("knn", "neighbours", "sklearn", ("sklearn",), _sk(_knn), description="3-nearest neighbours, brute force"),
    ModelSpec("mlp", "neural-network", "torch", ("torch", "onnxruntime"), _torch("MLP", 30, 8, 3e-3), quick=True, description="MLP 64-128-64-10"),
    ModelSpec("cnn_small", "neural-network", "torch", ("torch", "onnxruntime"), _torch("SmallCNN", 15, 5, 3e-3), quick=True, description="CNN, 3x3 convs with 16 and 32 channels"),
    ModelSpec("shufflenet_tiny", "neural-network", "torch", ("torch", "onnxruntime"), _torch("TinyShuffleNet", 20, 5, 1e-2), description="ShuffleNetV2-style: channel split and shuffle, depthwise convs"),
    ModelSpec("cnn_wide", "neural-network", "torch", ("torch", "onnxruntime"), _torch("WideCNN", 8, 3, 2e-3), description="deliberately over-wide CNN, 96 channels"),
)

MODEL_NAMES = tuple(s.name for s in SPECS)
FRAMEWORKS = ("sklearn", "torch")     # what the suite trains in; backends come from the registry


def suite_backends() -> tuple[str, ...]:
    """The registered backends a suite model can run on: its framework's own, or one that converts from it."""
    from effbench.candidates import registry

    return tuple(b.name for b in registry.backends() if b.name in FRAMEWORKS or set(b.converters) & set(FRAMEWORKS))


# The smaller student each PyTorch model is distilled into (network class in zoo.nets, its arguments).
STUDENTS = {
    "mlp": ("MLP", {"hidden": (32,)}),
    "cnn_small": ("SmallCNN", {"channels": (4, 8)}),
    "shufflenet_tiny": ("TinyShuffleNet", {"stem": 8, "width": 16}),
    "cnn_wide": ("SmallCNN", {"channels": (8, 16)}),
}


@dataclass(frozen=True)
class VariantEntry:
    """A compressed variant of a suite model (see effbench.zoo.variants), selected like a model."""

    name: str                         # "<source>.<suffix>", e.g. "cnn_wide.int8dyn"
    source: ModelSpec
    suffix: str
    backend: str

    @property
    def family(self) -> str:
        return self.source.family


def variant_names(spec: ModelSpec, groups=None) -> list[str]:
    """The variant model names of a suite model for the given --variants groups (all groups when None)."""
    from effbench.zoo.variants import VARIANT_GROUPS

    if spec.framework != "torch":
        return []
    groups = tuple(VARIANT_GROUPS) if groups is None else groups
    return [f"{spec.name}.{suffix}" for g in groups for suffix in VARIANT_GROUPS[g]]


def expand_variants(models=None, quick: bool = False, groups=()) -> list[str] | None:
    """The model list for ``--variants``: the selected models (or the suite / quick suite) followed by
    the variants of their PyTorch models in the given groups. Returns ``models`` unchanged when no group."""
    if not groups:
        return models
    base = list(models) if models else [s.name for s in SPECS if s.quick or not quick]
    out = []
    for name in base:
        out.append(name)
        spec = next((s for s in SPECS if s.name == name), None)
        if spec is not None:
            out += [v for v in variant_names(spec, groups) if v not in base]
    return out


def _variant_entry(name: str):
    from effbench.zoo.variants import standard_variants

    source, _, suffix = name.partition(".")
    spec = next((s for s in SPECS if s.name == source), None)
    if spec is None or name not in variant_names(spec):
        return None
    return VariantEntry(name, spec, suffix, standard_variants([suffix])[0].backend)


def select_specs(models=None, backends=None, quick: bool = False) -> list[tuple[ModelSpec, tuple[str, ...]]]:
    """The (spec, backends) pairs to run; validates names against what the suite has.

    A name ``<model>.<suffix>`` selects a compressed variant (a :class:`VariantEntry`, listed after its
    source); its source model is trained for it, and benchmarked too.
    """
    entries = {}
    if models:
        for m in models:
            if m in MODEL_NAMES:
                continue
            e = _variant_entry(m)
            if e is None:
                allowed = ", ".join(MODEL_NAMES)
                raise ConfigError(f"--candidates: unknown candidate {m!r}; allowed: {allowed}, and <pytorch model>.<variant> "
                                  f"(e.g. cnn_wide.int8dyn; see 'effbench run --list')")
            entries[m] = e
        models = list(dict.fromkeys([m for m in models if m in MODEL_NAMES] + [e.source.name for e in entries.values()]))
    if backends:
        allowed = suite_backends()
        unknown = [b for b in backends if b not in allowed]
        if unknown:
            raise ConfigError(f"--backends: unknown backend {unknown[0]!r}; allowed: {', '.join(allowed)}")
    chosen = []
    for spec in SPECS:
        if models and spec.name not in models:
            continue
        if not models and quick and not spec.quick:
            continue
        b = tuple(x for x in spec.backends if not backends or x in backends)
        if b or any(e.source is spec for e in entries.values()):
            chosen.append((spec, b))
        for e in entries.values():
            if e.source is spec and (not backends or e.backend in backends):
                chosen.append((e, (e.backend,)))
    if not chosen or all(not b for _, b in chosen):
        raise ConfigError(
            f"the selection matches no candidate: candidates={','.join(models or ['all'])} backends={','.join(backends or ['all'])}; "
            f"backends per candidate: " + "; ".join(f"{s.name}: {','.join(s.backends)}" for s in SPECS)
        )
    return chosen


def build_candidates(task, selection, *, quick: bool = False, on_progress=None, clock=time.perf_counter, energy_meter=None,
                     progress=None):
    """Train every selected model on the task and wrap it for each of its backends.

    Returns (candidates, training) where training maps model name -> facts including
    ``train_time_s`` (wall time of ``fit`` or of the training loop, measured with ``clock``) and,
    with an ``energy_meter`` (see :mod:`effbench.measure.energy`), ``train_energy`` (a reading as a dict).
    ``progress``: a reporter of :mod:`effbench.report.progress` (``start``, ``advance``, ``stop``): one
    step per model trained and per variant built, under the label ``training``; the steps' names then
    go to it rather than to ``on_progress``, which keeps the other messages (a variant that failed).
    """
    candidates, training = [], {}
    pending_variants: dict[str, list] = {}
    for spec, _ in selection:
        if isinstance(spec, VariantEntry):
            pending_variants.setdefault(spec.source.name, []).append(spec)
    if progress is not None:
        progress.start(len(selection), label="training")  # a model or a variant: one step each
        on_progress = _steps_to(progress, on_progress)
    try:
        _train_each(task, selection, quick, on_progress, clock, energy_meter, progress, candidates, training, pending_variants)
    finally:
        if progress is not None:
            progress.stop()
    return candidates, training


def _steps_to(progress, on_progress):
    """Step names (``training X``, ``building variant Y``) to the bar, any other message to ``on_progress``."""
    def message(text: str):
        if text.startswith(("training ", "building variant ")):
            progress.advance(0, text)
        elif on_progress:
            on_progress(text)
    return message


def _train_each(task, selection, quick, on_progress, clock, energy_meter, progress, candidates, training, pending_variants):
    from threadpoolctl import threadpool_limits

    for spec, backends in selection:
        if isinstance(spec, VariantEntry):
            continue  # built with their source, below
        if on_progress:
            on_progress(f"training {spec.name}")
        with threadpool_limits(limits=TRAIN_THREADS):
            fit = spec.prepare(task, quick)
            token = energy_meter.begin() if energy_meter is not None else None
            t0 = clock()
            model, facts = fit()
            train_time_s = clock() - t0
            reading = energy_meter.end(token) if energy_meter is not None else None
        training[spec.name] = {"train_time_s": train_time_s, "framework": spec.framework, "train_threads": TRAIN_THREADS, **facts}
        if reading is not None:
            training[spec.name]["train_energy"] = reading.to_dict()
        common = {"family": spec.family, "info": {"description": spec.description}}
        for backend in backends:
            candidates.append(_build_on(backend, spec, model, task, training[spec.name], clock, common))
        if progress is not None:
            progress.advance(1)
        if spec.name in pending_variants:
            candidates += _build_variants(task, spec, model, facts, pending_variants[spec.name], training, on_progress, clock)
            if progress is not None:
                progress.advance(len(pending_variants[spec.name]))


def _build_on(backend, spec, model, task, facts, clock, common):
    """The candidate of a trained model on one backend, through the backend registry. A backend other
    than the model's framework gets it through its converter; the export time goes to the facts as
    ``<format>_export_time_s`` (format: the backend's file suffix, e.g. ``onnx_export_time_s``)."""
    from effbench.candidates import registry

    b = registry.get(backend)
    if backend == spec.framework:
        return b.build(spec.name, model, **common)
    convert = b.converter(spec.framework)
    t1 = clock()
    data = convert(model, task.X_test[:1])
    facts[f"{(b.suffixes[0][1:] if b.suffixes else b.name)}_export_time_s"] = clock() - t1
    return b.build(spec.name, data, parent=f"{spec.name}/{spec.framework}", **common)


def _build_variants(task, spec, model, facts, entries, training, on_progress, clock):
    """The compressed variants of one trained suite model; failures go to the source's training facts
    (``variant_failures``: they reach the store in its train_time_s detail) and to the progress log."""
    from threadpoolctl import threadpool_limits

    from effbench.zoo import variants

    student = STUDENTS.get(spec.name)

    def student_factory():
        from effbench.zoo import nets

        cls, kwargs = student
        return getattr(nets, cls)(**kwargs)

    src = variants.SourceModel(
        spec.name, model, task.X_train, task.y_train, family=spec.family, parent_key=f"{spec.name}/{spec.framework}",
        student_factory=student_factory if student else None, train_epochs=int(facts.get("epochs", 10)),
        lr=float(facts.get("lr", 3e-3)), seed=SEED, threads=TRAIN_THREADS, info={"description": spec.description},
    )
    with threadpool_limits(limits=TRAIN_THREADS):
        cands, facts_by_name, failures = variants.build_variants(src, variants.standard_variants([e.suffix for e in entries]),
                                                                 on_progress=on_progress, clock=clock)
    training.update(facts_by_name)
    if failures:
        training[spec.name].setdefault("variant_failures", []).extend(f.to_dict() for f in failures)
    return cands


def parse_candidate_keys(keys) -> list[tuple[str, str | None]]:
    """``["cnn_small/torch", "logreg"]`` -> ``[("cnn_small", "torch"), ("logreg", None)]``, checked
    against the default suite (a bare name means all of its backends)."""
    out = []
    for raw in keys:
        text = str(raw).strip()
        name, _, backend = text.partition("/")
        if name not in MODEL_NAMES:
            raise ConfigError(f"--candidate: unknown candidate {text!r}; allowed: NAME or NAME/BACKEND with NAME in {', '.join(MODEL_NAMES)}")
        spec = next(s for s in SPECS if s.name == name)
        if backend and backend not in spec.backends:
            raise ConfigError(f"--candidate: {name} has no backend {backend!r}; allowed: {', '.join(spec.backends)}")
        out.append((name, backend or None))
    return out


def select_keys(pairs, quick: bool = False) -> list[tuple[ModelSpec, tuple[str, ...]]]:
    """The (spec, backends) pairs for parsed candidate keys (:func:`parse_candidate_keys`); none: the suite."""
    if not pairs:
        return select_specs(None, None, quick=quick)
    wanted: dict[str, set | None] = {}  # name -> backends wanted (None: all of its backends)
    for name, backend in pairs:
        if backend is None:
            wanted[name] = None
        elif name not in wanted:
            wanted[name] = {backend}
        elif wanted[name] is not None:
            wanted[name].add(backend)
    out = []
    for spec, backends in select_specs(list(wanted), None, quick=quick):
        keep = backends if wanted[spec.name] is None else tuple(b for b in backends if b in wanted[spec.name])
        if keep:
            out.append((spec, keep))
    return out
