"""FLOPs of fitted scikit-learn estimators: analytic formulas, averaged over the rows of X where the
path is data-dependent (scikit-learn is imported inside)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from effbench.errors import CandidateError, DataError
from effbench.measure.flops.common import (
    METHOD_SKLEARN,
    FlopCount,
    _coverage,
    _join_notes,
)

__all__ = ["candidate_flops", "count_sklearn_flops", "supported_sklearn_estimators"]


@dataclass
class _Terms:
    counted: dict[str, float] = field(default_factory=dict)
    uncounted: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _is_classifier(est) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(est))


def _linear_terms(est, X) -> _Terms:
    coef = est.coef_
    shape = coef.shape if hasattr(coef, "shape") else np.shape(coef)
    n_out, n_features = (1, shape[0]) if len(shape) == 1 else (shape[0], shape[1])
    t = _Terms(counted={"matmul": 2.0 * n_features * n_out})
    t.notes.append(f"{type(est).__name__}: X @ coef_.T is 2 x {n_features} features x {n_out} outputs; intercept add not counted")
    if _is_classifier(est):
        has_proba = hasattr(est, "predict_proba")
        if n_out == 1:
            t.uncounted["threshold"] = 1
            if has_proba:
                t.uncounted["sigmoid"] = 1
        else:
            t.uncounted["argmax"] = 1
            if has_proba:
                t.uncounted["softmax"] = 1
        t.notes.append("predict uses argmax/threshold, predict_proba softmax/sigmoid: both listed uncounted")
    return t


def _decision_path_internal_nodes(est, X, n_trees):
    """Mean number of internal nodes (comparisons) visited per sample over all trees."""
    path = est.decision_path(X)
    indicator = path[0] if isinstance(path, tuple) else path
    nodes_per_sample = np.asarray(indicator.sum(axis=1)).ravel()
    return float(nodes_per_sample.mean()) - n_trees  # one leaf per tree is visited, not compared


def _tree_terms(est, X) -> _Terms:
    estimators = getattr(est, "estimators_", None)
    n_trees = len(estimators) if estimators is not None else 1
    t = _Terms(counted={"node_comparisons": _decision_path_internal_nodes(est, X, n_trees)})
    t.notes.append(
        f"{type(est).__name__}: internal nodes visited per sample (decision_path), averaged over {len(X)} rows; "
        "1 comparison = 1 FLOP; leaf lookup is a memory read"
    )
    if _is_classifier(est):
        n_classes = est.n_classes_
        width = int(np.sum(n_classes)) if np.ndim(n_classes) else int(n_classes)
        t.uncounted["argmax"] = 1
    else:
        width = int(getattr(est, "n_outputs_", 1))
    if estimators is not None:
        # sklearn accumulates each tree's output (n_trees x width adds) then divides by n_trees (width divs).
        t.counted["average_adds"] = float(n_trees * width + width)
        t.notes.append(f"averaging {n_trees} trees: {n_trees} x {width} adds + {width} divisions")
    return t


_HGB_FIELDS = ("feature_idx", "num_threshold", "left", "right", "is_leaf", "missing_go_to_left")


def _hgb_traverse(nodes, X):
    """Route every row of X down one HistGradientBoosting TreePredictor (raw, non-binned data).

    Mirrors ``_predict_one_from_raw_data``: NaN follows ``missing_go_to_left``, else ``x <= num_threshold``
    goes left. Returns (leaf index per row, comparisons per row).
    """
    feat = nodes["feature_idx"].astype(np.intp)
    thr = nodes["num_threshold"]
    left = nodes["left"].astype(np.intp)
    right = nodes["right"].astype(np.intp)
    is_leaf = nodes["is_leaf"].astype(bool)
    mgl = nodes["missing_go_to_left"].astype(bool)
    n = X.shape[0]
    idx = np.zeros(n, dtype=np.intp)
    comps = np.zeros(n, dtype=np.int64)
    active = np.flatnonzero(~is_leaf[idx])
    while active.size:
        node = idx[active]
        v = X[active, feat[node]]
        go_left = np.where(np.isnan(v), mgl[node], v <= thr[node])
        idx[active] = np.where(go_left, left[node], right[node])
        comps[active] += 1
        active = active[~is_leaf[idx[active]]]
    return idx, comps


def _hgb_predictors(est):
    predictors = getattr(est, "_predictors", None)
    if not isinstance(predictors, list) or not predictors or not all(isinstance(p, list) for p in predictors):
        import sklearn

        raise CandidateError(
            f"cannot count FLOPs of {type(est).__name__}: the private attribute _predictors (list of lists of "
            f"TreePredictor) is missing or changed in scikit-learn {sklearn.__version__}"
        )
    for it in predictors:
        for p in it:
            nodes = getattr(p, "nodes", None)
            names = getattr(getattr(nodes, "dtype", None), "names", None) or ()
            missing = [f for f in _HGB_FIELDS if f not in names]
            if missing:
                raise CandidateError(
                    f"cannot count FLOPs of {type(est).__name__}: TreePredictor.nodes lacks fields {missing} "
                    "in this scikit-learn version"
                )
            if "is_categorical" in names and np.any(nodes["is_categorical"]):
                raise CandidateError(
                    f"cannot count FLOPs of {type(est).__name__}: categorical splits are not supported, "
                    "only numeric thresholds"
                )
    return predictors


def _hgb_raw_X(est, X):
    preprocess = getattr(est, "_preprocess_X", None)
    raw = preprocess(X, reset=False) if callable(preprocess) else X
    return np.ascontiguousarray(raw, dtype=np.float64)


def _hgb_terms(est, X) -> _Terms:
    predictors = _hgb_predictors(est)
    Xr = _hgb_raw_X(est, X)
    comps = np.zeros(Xr.shape[0], dtype=np.float64)
    for it in predictors:
        for p in it:
            comps += _hgb_traverse(p.nodes, Xr)[1]
    n_iter, k = len(predictors), len(predictors[0])
    t = _Terms(
        counted={
            "node_comparisons": float(comps.mean()),
            "leaf_value_adds": float(n_iter * k + k),  # one add per tree + the baseline per output
        }
    )
    t.notes.append(
        f"{type(est).__name__}: {n_iter} iterations x {k} trees; internal nodes visited per sample traversed "
        f"on _predictors[i][k].nodes, averaged over {len(X)} rows; 1 comparison = 1 FLOP"
    )
    if _is_classifier(est):
        if k == 1:
            t.uncounted.update({"sigmoid": 1, "threshold": 1})
        else:
            t.uncounted.update({"softmax": 1, "argmax": 1})
    elif getattr(est, "loss", None) in ("poisson", "gamma"):
        t.uncounted["exp"] = 1
    return t


def _svm_terms(est, X) -> _Terms:
    kernel = est.kernel
    if not isinstance(kernel, str) or kernel == "precomputed":
        raise CandidateError(
            f"cannot count FLOPs of {type(est).__name__} with kernel={kernel!r}: "
            "supported kernels are 'rbf', 'linear', 'poly', 'sigmoid'"
        )
    n_sv, n_features = est.support_vectors_.shape
    t = _Terms()
    if kernel == "rbf":
        t.counted["kernel_sq_distance"] = 3.0 * n_features * n_sv  # (x - sv)^2 summed: sub, mul, add
        t.counted["kernel_gamma_scale"] = float(n_sv)
        t.uncounted["exp"] = n_sv
    elif kernel == "linear":
        t.counted["kernel_dot"] = 2.0 * n_features * n_sv
    else:  # poly: (gamma <x,sv> + coef0)^degree ; sigmoid: tanh(gamma <x,sv> + coef0)
        t.counted["kernel_dot"] = 2.0 * n_features * n_sv
        t.counted["kernel_affine"] = 2.0 * n_sv
        t.uncounted["pow" if kernel == "poly" else "tanh"] = n_sv
    dual = est.dual_coef_
    t.counted["dual_coef_mac"] = 2.0 * int(np.prod(dual.shape))
    t.notes.append(
        f"{type(est).__name__}(kernel={kernel!r}): one kernel value per support vector ({n_sv}) per sample"
    )
    if _is_classifier(est):
        n_classes = len(est.classes_)
        n_pairs = n_classes * (n_classes - 1) // 2
        t.uncounted["ovo_vote"] = n_pairs
        t.notes.append(
            f"one-vs-one (libsvm): {n_pairs} class pairs, each sums coef x kernel over the support vectors of "
            "its two classes, so all pairs together make dual_coef_.size = (n_classes - 1) x n_SV multiply-adds; "
            "intercept subtraction not counted, voting listed uncounted; decision_function_shape='ovr' only "
            "reshapes decision_function, predict is one-vs-one"
        )
    return t


def _knn_method(est) -> str:
    method = getattr(est, "_fit_method", None)
    if method is None:
        if est.algorithm in ("brute", "kd_tree", "ball_tree"):
            return est.algorithm
        raise CandidateError(
            f"cannot count FLOPs of {type(est).__name__}: the private attribute _fit_method (what "
            f"algorithm='auto' picked) is missing in this scikit-learn version"
        )
    return method


def _knn_terms(est, X) -> _Terms:
    metric = getattr(est, "effective_metric_", est.metric)
    params = getattr(est, "effective_metric_params_", {}) or {}
    if not (metric == "euclidean" or (metric == "minkowski" and params.get("p", 2) == 2)):
        raise CandidateError(
            f"cannot count FLOPs of {type(est).__name__} with metric={metric!r}: only the euclidean metric "
            "(minkowski with p=2) is supported"
        )
    method = _knn_method(est)
    n_train = int(est.n_samples_fit_)
    n_features = int(X.shape[1])
    k = int(est.n_neighbors)
    t = _Terms()
    if method == "brute":
        t.counted["dot_products"] = 2.0 * n_features * n_train  # -2 X @ Y.T as one GEMM
        t.counted["query_sq_norm"] = 2.0 * n_features
        t.counted["norm_combination"] = 2.0 * n_train  # |x|^2 + (-2 x.y) + |y|^2
        t.notes.append(
            f"{type(est).__name__}: algorithm={est.algorithm!r} ran as 'brute' ({n_train} training rows, "
            f"{n_features} features); squared distances by the GEMM decomposition |x|^2 - 2x.y + |y|^2; "
            f"the training-set norms (2 x {n_features} x {n_train} FLOPs) are recomputed once per predict call "
            "and are not counted per sample"
        )
    else:
        tree = getattr(est, "_tree", None)
        if tree is None or not hasattr(tree, "get_n_calls"):
            raise CandidateError(
                f"cannot count FLOPs of {type(est).__name__}: its {method} index (private _tree) is missing"
            )
        tree.reset_n_calls()
        est.kneighbors(X)
        per_sample = tree.get_n_calls() / len(X)
        tree.reset_n_calls()
        t.counted["point_distances"] = 3.0 * n_features * per_sample
        t.notes.append(
            f"{type(est).__name__}: algorithm={est.algorithm!r} ran as {method!r}; {per_sample:.1f} point "
            f"distances per sample (the tree's own counter, averaged over {len(X)} rows) x 3 x {n_features} FLOPs; "
            "node-bound distances during the descent are not counted"
        )
    t.uncounted["k_selection"] = 1
    t.uncounted["sqrt"] = k
    t.uncounted["vote" if _is_classifier(est) else "mean"] = 1
    return t


def _standard_scaler_terms(est, X) -> _Terms:
    n_features = X.shape[1]
    ops = (est.with_mean and getattr(est, "mean_", None) is not None) + (
        est.with_std and getattr(est, "scale_", None) is not None
    )
    return _Terms(counted={"standardize": float(ops * n_features)},
                  notes=[f"StandardScaler: subtract mean, divide by scale: {ops} x {n_features} FLOPs"])


def _minmax_scaler_terms(est, X) -> _Terms:
    return _Terms(counted={"scale_shift": 2.0 * X.shape[1]}, notes=["MinMaxScaler: x * scale_ + min_"])


def _pca_terms(est, X) -> _Terms:
    n_comp, n_features = est.components_.shape
    t = _Terms(counted={"projection": 2.0 * n_features * n_comp})
    if getattr(est, "mean_", None) is not None:
        t.counted["center"] = float(n_features)
    if getattr(est, "whiten", False):
        t.counted["whiten"] = float(n_comp)
    t.notes.append(f"{type(est).__name__}: center, project on {n_comp} components")
    return t


# Linear models whose prediction is X @ coef_.T + intercept_ (GLMs with a log link are left out).
_LINEAR_MODEL_NAMES = (
    "LogisticRegression", "LogisticRegressionCV", "RidgeClassifier", "RidgeClassifierCV", "SGDClassifier",
    "SGDRegressor", "Perceptron", "PassiveAggressiveClassifier", "PassiveAggressiveRegressor",
    "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV", "Lars",
    "LarsCV", "LassoLars", "LassoLarsCV", "LassoLarsIC", "OrthogonalMatchingPursuit", "BayesianRidge",
    "ARDRegression", "HuberRegressor", "QuantileRegressor", "TheilSenRegressor",
)


def _sklearn_handlers():
    """(classes, name list, handler) in dispatch order: first isinstance match wins."""
    from sklearn import ensemble, linear_model, neighbors, preprocessing, svm, tree
    from sklearn.decomposition import PCA

    linear_classes = tuple(
        cls
        for cls in (getattr(linear_model, name, None) for name in _LINEAR_MODEL_NAMES)
        if cls is not None
    ) + (svm.LinearSVC, svm.LinearSVR)
    return [
        ((tree.DecisionTreeClassifier, tree.DecisionTreeRegressor, tree.ExtraTreeClassifier,
          tree.ExtraTreeRegressor, ensemble.RandomForestClassifier, ensemble.RandomForestRegressor,
          ensemble.ExtraTreesClassifier, ensemble.ExtraTreesRegressor), _tree_terms),
        ((ensemble.HistGradientBoostingClassifier, ensemble.HistGradientBoostingRegressor), _hgb_terms),
        ((svm.SVC, svm.NuSVC, svm.SVR, svm.NuSVR, svm.OneClassSVM), _svm_terms),
        ((neighbors.KNeighborsClassifier, neighbors.KNeighborsRegressor), _knn_terms),
        ((preprocessing.StandardScaler,), _standard_scaler_terms),
        ((preprocessing.MinMaxScaler,), _minmax_scaler_terms),
        ((PCA,), _pca_terms),
        (linear_classes, _linear_terms),
    ]


def supported_sklearn_estimators() -> list[str]:
    """Names of the scikit-learn estimators :func:`count_sklearn_flops` knows (plus Pipeline)."""
    names = {"Pipeline"}
    for classes, _ in _sklearn_handlers():
        names.update(c.__name__ for c in classes)
    return sorted(names)


def _estimator_terms(est, X) -> _Terms:
    for classes, handler in _sklearn_handlers():
        if isinstance(est, classes):
            return handler(est, X)
    raise CandidateError(
        f"cannot count FLOPs of estimator type {type(est).__module__}.{type(est).__name__}; supported: "
        + ", ".join(supported_sklearn_estimators())
    )


def _as_2d(X) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"X must be a numeric 2-D array (n_samples, n_features), got unconvertible {type(X).__name__}: {exc}") from exc
    if arr.ndim != 2 or arr.shape[0] < 1:
        raise DataError(f"X must be a numeric 2-D array with at least one row, got shape {arr.shape}")
    return arr


def count_sklearn_flops(estimator, X) -> FlopCount:
    """Analytic FLOPs per sample of a fitted scikit-learn estimator or Pipeline on the rows of ``X``.

    Data-dependent costs (tree paths, kd-tree searches) are averaged over the rows of ``X``. A
    Pipeline sums its steps, each counted on the output of the previous ones; its op names are
    prefixed by the step name. ``coverage`` is the share of formula terms that were counted.
    """
    from sklearn.exceptions import NotFittedError
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import check_is_fitted

    X = _as_2d(X)
    try:
        check_is_fitted(estimator)
    except NotFittedError as exc:
        raise CandidateError(f"cannot count FLOPs of {type(estimator).__name__}: it is not fitted") from exc
    except TypeError as exc:  # not an estimator at all
        raise CandidateError(
            f"cannot count FLOPs of estimator type {type(estimator).__name__}: not a scikit-learn estimator; "
            "supported: " + ", ".join(supported_sklearn_estimators())
        ) from exc
    n_in = getattr(estimator, "n_features_in_", None)
    if n_in is not None and n_in != X.shape[1]:
        raise DataError(f"X must have {n_in} columns (the estimator's n_features_in_), got {X.shape[1]}")

    if isinstance(estimator, Pipeline):
        parts = []
        steps = [(n, s) for n, s in estimator.steps if s is not None and s != "passthrough"]
        for i, (name, step) in enumerate(steps):
            parts.append((name, _estimator_terms(step, X)))
            if i < len(steps) - 1:
                X = _as_2d(step.transform(X))
        counted, uncounted, notes = {}, {}, []
        for name, t in parts:
            counted.update({f"{name}.{k}": v for k, v in t.counted.items()})
            uncounted.update({f"{name}.{k}": v for k, v in t.uncounted.items()})
            notes.extend(f"{name}: {n}" for n in t.notes)
        terms = _Terms(counted, uncounted, notes)
    else:
        terms = _estimator_terms(estimator, X)
    terms.notes.append("uncounted_ops are formula terms with their calls per sample; coverage = share of terms counted")
    return FlopCount(
        flops_per_sample=float(sum(terms.counted.values())),
        method=METHOD_SKLEARN,
        counted_ops={k: float(v) for k, v in terms.counted.items()},
        uncounted_ops={k: int(v) for k, v in terms.uncounted.items()},
        coverage=_coverage(len(terms.counted), len(terms.uncounted)),
        notes=_join_notes(terms.notes),
        # a formula term's calls per sample, one FLOP each: the estimate of the work left uncounted
        uncounted_elements={k: float(v) for k, v in terms.uncounted.items()},
    )



def candidate_flops(candidate, X_example) -> FlopCount:
    """The registry's FLOP counter for the ``sklearn`` backend: the candidate's estimator on ``X_example``."""
    return count_sklearn_flops(candidate.estimator, X_example)
