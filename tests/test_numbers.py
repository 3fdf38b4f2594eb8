"""effbench.numbers: the one number formatter of the text outputs."""

from __future__ import annotations

import math
import re

from hypothesis import given
from hypothesis import strategies as st

from effbench.numbers import (
    fmt_bytes,
    fmt_count,
    fmt_named,
    fmt_number,
    fmt_p,
    fmt_percent,
    fmt_rate,
    fmt_ratio,
    fmt_seconds,
    fmt_si,
    mark_estimate,
)

SI = {"T": 1e12, "G": 1e9, "M": 1e6, "k": 1e3, "": 1.0, "m": 1e-3, "µ": 1e-6, "n": 1e-9, "p": 1e-12}
BINARY = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
PARSE = re.compile(r"^(?P<m>-?\d+(?:\.\d+)?(?:e[-+]\d+)?) ?(?P<prefix>[TGMkmµnp]?)(?P<unit>s|J|/s)?$")

positive = st.floats(min_value=1e-13, max_value=1e15, allow_nan=False, allow_infinity=False)


def parse_si(text: str) -> tuple[float, float, str]:
    """(value, mantissa, prefix) of a formatted SI quantity."""
    m = PARSE.match(text)
    assert m, text
    mantissa = float(m["m"])
    return mantissa * SI[m["prefix"]], mantissa, m["prefix"]


def parse_bytes(text: str) -> tuple[float, float, str]:
    number, unit = text.split(" ")
    return float(number) * BINARY[unit], float(number), unit


@given(positive)
def test_seconds_round_trip_within_three_digits_and_prefix_in_range(v):
    text = fmt_seconds(v)
    back, mantissa, prefix = parse_si(text)
    assert math.isclose(back, v, rel_tol=0.005 + 1e-12), (v, text)
    if "e" not in text:
        assert prefix in ("", "m", "µ", "n", "p")
        assert 1 <= mantissa < 1000 or (prefix == "" and mantissa >= 1), text  # no prefix above one second


@given(positive, positive)
def test_seconds_are_monotone(a, b):
    lo, hi = sorted((a, b))
    assert parse_si(fmt_seconds(lo))[0] <= parse_si(fmt_seconds(hi))[0]


@given(st.floats(min_value=0, max_value=2.0**50))
def test_bytes_round_trip_and_unit(v):
    text = fmt_bytes(v)
    back, number, unit = parse_bytes(text)
    if unit == "B":
        assert back == round(v) and number < 1024
    else:
        assert math.isclose(back, v, rel_tol=0.005 + 1e-12), (v, text)
        assert 1 <= number < 1024 or unit == "TiB", text  # the largest unit takes any number


@given(positive, positive)
def test_bytes_are_monotone(a, b):
    lo, hi = sorted((a, b))
    assert parse_bytes(fmt_bytes(lo))[0] <= parse_bytes(fmt_bytes(hi))[0]


@given(st.floats(min_value=1, max_value=1e15))
def test_counts_and_rates_round_trip_with_one_prefix_per_range(v):
    text = fmt_count(v)
    back, mantissa, prefix = parse_si(text)
    assert math.isclose(back, v, rel_tol=0.005 + 1e-12), (v, text)
    assert 1 <= mantissa < 1000 or (prefix == "T" and mantissa >= 1000)
    assert prefix in ("", "k", "M", "G", "T")
    assert fmt_rate(v) == text + "/s"


@given(positive, positive)
def test_energy_is_monotone_and_consistent(a, b):
    lo, hi = sorted((a, b))
    assert parse_si(fmt_si(lo, "J"))[0] <= parse_si(fmt_si(hi, "J"))[0]
    _, mantissa, prefix = parse_si(fmt_si(a, "J"))
    assert 1 <= mantissa < 1000 or prefix == "T" or "e" in fmt_si(a, "J")


def test_fixed_examples():
    assert [fmt_seconds(v) for v in (1.43e-5, 0.0009997, 0.02096, 1.5, 3600, 0, None, float("nan"))] == [
        "14.3 µs", "1 ms", "21 ms", "1.5 s", "3600 s", "0 s", "-", "-"]
    assert [fmt_bytes(v) for v in (512, 1023.9 * 1024, 5e6)] == ["512 B", "1 MiB", "4.77 MiB"]
    assert [fmt_count(v) for v in (815, 61706, 1.2345e6, 0.5)] == ["815", "61.7k", "1.23M", "0.5"]
    assert fmt_rate(1.227e5) == "123k/s" and fmt_si(4.41e-4, "J") == "441 µJ" and fmt_si(999.7e-6, "J") == "1 mJ"
    assert (fmt_ratio(0.97333, 4), fmt_ratio(1.0234), fmt_percent(0.125)) == ("0.9733", "1.023", "12.5%")
    assert (fmt_p(0.0341), fmt_p(1.23e-5), fmt_p(0.0), fmt_p(None)) == ("0.034", "1.2e-05", "<1e-300", "-")
    assert (fmt_number(123456.0), fmt_number(0.0001234), fmt_number(True), fmt_number(3)) == ("123k", "1.23e-04", "yes", "3")


def test_estimate_mark_is_the_same_everywhere():
    assert mark_estimate(fmt_si(5e-4, "J"), True) == "500 µJ~"
    assert mark_estimate(fmt_count(2e4), True) == "20k~"
    assert mark_estimate("-", True) == "-" and mark_estimate("1 s", False) == "1 s"


def test_the_unit_comes_from_the_name():
    assert [fmt_named(n, v) for n, v in (
        ("latency_p99_s_b1", 0.02096), ("latency_p50_per_sample_s_b8", 2e-6), ("train_time_s", 12.3),
        ("size_bytes", 80000), ("peak_rss_bytes_b1", 1.5e8), ("energy_per_sample_j_b1", 4.4e-4),
        ("best_throughput_samples_per_s", 1.227e5), ("infer_samples_per_sec", 1234.5), ("params", 61706),
        ("flops_per_sample", 2.1e9), ("accuracy", 0.98), ("latency_p50_s_b1@cpu", 1e-5),
        ("top1", 81.2),
    )] == ["21 ms", "2 µs", "12.3 s", "78.1 KiB", "143 MiB", "440 µJ", "123k/s", "1.23k/s", "61.7k", "2.1G", "0.9800",
           "10 µs", "81.2"]
