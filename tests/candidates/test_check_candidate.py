"""effbench.testing.check_candidate names the check a broken candidate fails."""

import numpy as np
import pytest
from models_for_tests import first_feature_sign

from effbench.candidates.callable_adapter import CallableCandidate
from effbench.testing import CHECKS, check_candidate

X = np.random.default_rng(0).random((12, 64), dtype=np.float32)


class TwoDLabels(CallableCandidate):
    def to_labels(self, output):
        return np.zeros((len(output), 2), dtype=np.int64)


class FloatLabels(CallableCandidate):
    def to_labels(self, output):
        return np.asarray(output, dtype=np.float64)


class Stubborn(CallableCandidate):
    def configure_threads(self, threads):
        self.threads = 4


class Failing(CallableCandidate):
    def infer(self, prepared):
        raise RuntimeError("no kernel for this shape")


class NegativeParams(CallableCandidate):
    def param_count(self):
        return -1


class WrongKey(CallableCandidate):
    def describe(self):
        return {**super().describe(), "key": "other/callable"}


def test_the_checks_run_in_the_documented_order():
    assert [name for name, _ in CHECKS] == ["protocol", "pickle_and_threads", "inference", "static_costs", "describe"]


def test_a_conforming_candidate_passes_and_is_not_changed():
    c = CallableCandidate("sign", first_feature_sign, size_bytes=10)
    check_candidate(c, X)
    check_candidate(c)  # the default batch: 40 x 64
    assert c.threads is None  # the checks configured the unpickled copy


@pytest.mark.parametrize("cls, message", [
    (TwoDLabels, r"check_candidate\(m/callable\): inference: to_labels must give one label per row: batch 1, got shape \(1, 2\)"),
    (FloatLabels, r"check_candidate\(m/callable\): inference: labels must be integers, got dtype float64"),
    (Stubborn, r"pickle_and_threads: thread_settings\(\)\['threads'\] must be 1 after configure_threads\(1\), got \{'threads': 4\}"),
    (Failing, r"check_candidate\(m/callable\): inference: raised RuntimeError: no kernel for this shape"),
    (NegativeParams, r"static_costs: param_count\(\) must be None or an int >= 0, got -1"),
    (WrongKey, r"describe: describe\(\) must hold the candidate's key and backend, got key='other/callable'"),
])
def test_a_broken_candidate_fails_the_check_it_breaks(cls, message):
    with pytest.raises(AssertionError, match=message):
        check_candidate(cls("m", first_feature_sign), X)


def test_not_a_candidate_and_a_candidate_of_the_wrong_registered_class():
    with pytest.raises(AssertionError, match=r"check_candidate\(function\): protocol: expected an effbench Candidate, got function"):
        check_candidate(first_feature_sign, X)

    class Impostor(CallableCandidate):
        backend = "sklearn"

    with pytest.raises(AssertionError, match="backend 'sklearn' is registered with SklearnCandidate, but this candidate is a Impostor"):
        check_candidate(Impostor("m", first_feature_sign), X)
