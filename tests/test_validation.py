import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from effbench.errors import ConfigError
from effbench.validation import Interval, Options, check, check_all


def test_whole_numbers_one_rule_for_bool_and_numpy():
    assert check("threads", np.int64(2), Interval(int, 1, None)) == 2
    assert type(check("threads", np.int64(2), Interval(int, 1, None))) is int
    with pytest.raises(ConfigError, match=r"^threads: expected a whole number >= 1, got True$"):
        check("threads", True, Interval(int, 1, None))
    with pytest.raises(ConfigError, match=r"got 2\.0"):
        check("threads", 2.0, Interval(int, 1, None))
    with pytest.raises(ConfigError, match=r"got 0$"):
        check("threads", 0, Interval(int, 1, None))


def test_reals_refuse_nan_and_inf_unless_unbounded_and_allowed():
    pos = Interval(float, 0, None, closed="neither")
    assert check("x", 3, pos) == 3.0 and type(check("x", 3, pos)) is float
    assert check("x", np.float32(0.5), pos) == 0.5
    for bad in (0, -1.0, math.nan, math.inf, False):
        with pytest.raises(ConfigError, match=r"^x: expected a number > 0, got "):
            check("x", bad, pos)
    assert check("x", math.inf, Interval(float, 0, None, allow_inf=True)) == math.inf
    with pytest.raises(ConfigError):
        check("x", -math.inf, Interval(float, 0, None, allow_inf=True))


def test_bounds_and_wording():
    unit = Interval(float, 0, 1, closed="neither")
    assert str(unit) == "a number in (0, 1)"
    assert str(Interval(int, 7, 30)) == "a whole number in [7, 30]"
    assert str(Interval(float, None, 10, closed="left")) == "a number < 10"
    assert str(Interval(float, 0, None, closed="neither", unit="seconds")) == "a number of seconds > 0"
    assert str(Interval(float)) == "a finite number" and str(Interval(int)) == "a whole number"
    with pytest.raises(ConfigError, match=r"expected a number in \(0, 1\), got 1$"):
        check("q", 1, unit)
    assert check("q", 0.5, unit) == 0.5


def test_options_none_and_several_constraints():
    assert check("m", "kde", Options({"empirical", "kde"})) == "kde"
    with pytest.raises(ConfigError, match=r"^m: expected one of 'empirical', 'kde', got 'x'$"):
        check("m", "x", Options({"empirical", "kde"}))
    with pytest.raises(ConfigError):
        check("m", ["unhashable"], Options({"a"}))
    assert check("d", None, Interval(float, 0, None), None) is None
    with pytest.raises(ConfigError, match=r"^d: expected a number >= 0 or None, got 'soon'$"):
        check("d", "soon", Interval(float, 0, None), None)
    assert check("s", "text", str) == "text"
    with pytest.raises(ConfigError):
        check("b", 1, bool)


def test_check_all_converts_every_value():
    out = check_all({"a": np.int32(3), "b": 2}, {"a": [Interval(int, 1, None)], "b": [Interval(float, 0, None)]})
    assert out == {"a": 3, "b": 2.0} and type(out["a"]) is int and type(out["b"]) is float


@settings(derandomize=True, max_examples=200)
@given(st.one_of(st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True), st.booleans()))
def test_interval_agrees_with_plain_comparison(v):
    iv = Interval(float, -1, 2, closed="left")
    expected = not isinstance(v, bool) and not math.isnan(v) and -1 <= v < 2
    assert iv.accepts(v) == expected


def test_an_infinite_or_nan_value_is_named_as_not_finite():
    for value, shown in ((float("inf"), "inf"), (float("nan"), "nan"), (-float("inf"), "-inf")):
        with pytest.raises(ConfigError, match=rf"^tolerance: expected a number >= 0, got {shown} \(not a finite number\)$"):
            check("tolerance", value, Interval(float, 0, None))
    with pytest.raises(ConfigError, match=r"^tolerance: expected a number >= 0, got -1\.0$"):
        check("tolerance", -1.0, Interval(float, 0, None))
