"""A fitted scikit-learn estimator (or pipeline) as a candidate."""

from __future__ import annotations

import pickle

import numpy as np

from effbench.candidates.base import Candidate


def _tree_params(tree) -> int:
    """Internal nodes hold (feature, threshold); leaves hold their output values."""
    leaves = int((tree.children_left == -1).sum())
    internal = int(tree.node_count) - leaves
    return 2 * internal + leaves * int(tree.value.shape[1] * tree.value.shape[2])


def _count_params(estimator) -> int:
    """Learned numbers a fitted estimator holds (the convention is in docs/costs.md).

    Linear models (every estimator that stores ``coef_``): coefficients and intercepts only, a scalar
    intercept included (one number) and none when ``fit_intercept=False``; what the fit also keeps
    (``singular_``, ``sigma_``, ``scale_``, ``coef_path_``) is not used by ``predict``. Trees: (feature, threshold) per internal node
    and the output values of each leaf. Gradient boosting: the same over every tree. SVM: support
    vectors, dual coefficients, intercepts. k-NN: the stored training set. Otherwise: every
    numeric array attribute ending in '_'.
    """
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        return sum(_count_params(step) for _, step in estimator.steps if step not in (None, "passthrough"))
    if hasattr(estimator, "tree_"):
        return _tree_params(estimator.tree_)
    if hasattr(estimator, "estimators_") and hasattr(estimator, "n_estimators"):
        return sum(_count_params(e) for e in np.ravel(estimator.estimators_))
    predictors = getattr(estimator, "_predictors", None)
    if predictors is not None:  # HistGradientBoosting: TreePredictor.nodes is a structured array
        total = 0
        for per_iteration in predictors:
            for predictor in per_iteration:
                is_leaf = predictor.nodes["is_leaf"].astype(bool)
                total += 2 * int((~is_leaf).sum()) + int(is_leaf.sum())
        return total + int(np.size(getattr(estimator, "_baseline_prediction", 0)))
    if hasattr(estimator, "_fit_X"):  # neighbours keep their training set
        return int(estimator._fit_X.size)
    if "coef_" in vars(estimator):  # the linear family (an SVC's coef_ is a property, not stored)
        intercept = getattr(estimator, "intercept_", None) if getattr(estimator, "fit_intercept", True) else None
        return int(np.size(estimator.coef_)) + (0 if intercept is None else int(np.size(intercept)))
    total = 0
    for name, value in vars(estimator).items():
        if name.endswith("_") and not name.startswith("_") and isinstance(value, np.ndarray):
            if value.dtype.kind in "fc" and name not in ("classes_", "n_iter_", "class_weight_"):
                total += int(value.size)
    return total


# the family of an estimator, by the scikit-learn module that defines it (a pipeline: its last step)
_SKLEARN_FAMILIES = (("linear_model", "linear"), ("discriminant_analysis", "linear"), ("svm", "kernel"),
                     ("kernel_ridge", "kernel"), ("neighbors", "neighbours"), ("naive_bayes", "naive-bayes"),
                     ("ensemble", "tree-ensemble"), ("tree", "tree"), ("neural_network", "neural-network"))


def sklearn_family(estimator) -> str:
    """``linear``, ``tree``, ``tree-ensemble``, ``neighbours``, ``kernel``, ``naive-bayes`` or
    ``neural-network`` for a scikit-learn estimator (by its module); "" when it cannot tell. A linear
    SVC (``LinearSVC``) is linear; other SVMs are kernel models."""
    steps = getattr(estimator, "steps", None)
    if steps:
        estimator = steps[-1][1]
    cls = type(estimator)
    module = cls.__module__ or ""
    if not module.startswith("sklearn."):
        return ""
    if cls.__name__ in ("LinearSVC", "LinearSVR"):
        return "linear"
    for part, family in _SKLEARN_FAMILIES:
        if f".{part}." in module + ".":
            return family
    return ""


class SklearnCandidate(Candidate):
    backend = "sklearn"

    def __init__(self, model: str, estimator, **kwargs):
        super().__init__(model, **kwargs)
        if not hasattr(estimator, "predict"):
            from effbench.errors import ConfigError

            raise ConfigError(f"candidate {model!r}: a scikit-learn candidate needs a fitted estimator with predict(); got {type(estimator).__name__}")
        self.estimator = estimator
        if not self.family:
            self.family = sklearn_family(estimator)

    def infer(self, prepared):
        return self.estimator.predict(prepared)

    def to_labels(self, output):
        return np.asarray(output)

    def scores_for(self, prepared, output):
        """A classifier's ``predict_proba`` (one column per class, in ``classes_`` order) for top-k;
        otherwise what ``predict`` returned (a regressor's values)."""
        from sklearn.base import is_classifier

        if is_classifier(self.estimator) and hasattr(self.estimator, "predict_proba"):
            return np.asarray(self.estimator.predict_proba(prepared))
        return self.to_outputs(output)

    def param_count(self):
        return _count_params(self.estimator)

    def serialized(self) -> bytes:
        return pickle.dumps(self.estimator, protocol=pickle.HIGHEST_PROTOCOL)

    def configure_threads(self, threads: int) -> None:
        super().configure_threads(threads)
        # BLAS and OpenMP pools (HistGradientBoosting, k-NN distances) are limited by the worker
        # for every candidate; joblib-parallel estimators get n_jobs.
        params = self.estimator.get_params(deep=True)
        updates = {k: threads for k in params if k == "n_jobs" or k.endswith("__n_jobs")}
        if updates:
            self.estimator.set_params(**updates)

    def thread_settings(self) -> dict:
        from threadpoolctl import threadpool_info

        pools = [
            {"api": p.get("user_api"), "internal_api": p.get("internal_api"), "num_threads": p.get("num_threads")}
            for p in threadpool_info()
        ]
        n_jobs = self.estimator.get_params(deep=True).get("n_jobs")
        return {"threads": self.threads, "n_jobs": n_jobs, "threadpools": pools}
