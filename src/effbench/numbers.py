"""One number formatter for every terminal command (``show``, ``compare``, ``pareto``, ``recommend``,
``batching``, ``misnomer``, ``tail``, ``timeline``); JSON outputs keep the raw numbers.

- seconds with SI prefixes below one second (``14.3 µs``, ``2.1 ms``, ``1.5 s``, ``3600 s``);
- bytes in binary units (``512 B``, ``12.3 KiB``, ``4.5 MiB``);
- counts with k/M/G/T (``815``, ``61.7k``, ``1.23M``), rates as counts per second (``123k/s``);
- energy and other physical quantities with SI prefixes on both sides (``441 µJ``, ``1.2 kJ``);
- ratios with fixed decimals (``0.9733``, ``1.023``), p-values (``0.034``, ``1.2e-05``);
- an estimated value carries :data:`ESTIMATE_MARK` (``~``) right after its unit, everywhere;
- a quality figure of a candidate with random weights (``weights = "random"``) carries
  :data:`RANDOM_WEIGHTS_MARK` (``?``): its cost figures stay valid, its quality is meaningless;
- a missing value (None, NaN) is :data:`MISSING` (``-``).

Three significant digits unless said otherwise; a value never switches to Python's exponent form
when a prefix can say it, and rounding that reaches 1000 moves to the next prefix (``999.7 µs`` ->
``1 ms``). :func:`fmt_named` picks the unit from a metric or column name, the units-in-names
convention (``latency_p50_s_b1``, ``size_bytes``, ``energy_per_sample_j_b1``, ``throughput_samples_per_s``).
"""

from __future__ import annotations

import math
import re

__all__ = ["ESTIMATE_MARK", "MISSING", "RANDOM_WEIGHTS_MARK", "fmt_bytes", "fmt_count", "fmt_named", "fmt_number", "fmt_p", "fmt_percent",
           "fmt_rate", "fmt_ratio", "fmt_seconds", "fmt_si", "mark_estimate", "mark_random_weights"]

ESTIMATE_MARK = "~"
RANDOM_WEIGHTS_MARK = "?"
MISSING = "-"

#: SI prefixes, largest first; the ones below 1 are used only with a physical unit
_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"))
_BINARY = ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def _missing(value) -> bool:
    if value is None or isinstance(value, bool):
        return value is None
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def _sig(x: float, digits: int = 3) -> str:
    """``x`` rounded to ``digits`` significant digits in positional notation, trailing zeros dropped as
    ``%g`` does (``12.3``, ``21``, ``0.5``; ``1024``: a number with more integer digits keeps them all)."""
    if x == 0:
        return "0"
    e = math.floor(math.log10(abs(x)))
    s = f"{x:.{max(0, digits - 1 - e)}f}"
    if len(s.lstrip("-").replace(".", "").lstrip("0")) > digits and "." in s:  # 9.996 -> 10.00: one decimal too many
        s = s[:-1].rstrip(".")
    return s.rstrip("0").rstrip(".") if "." in s else s


def _rounds_to(x: float, digits: int) -> float:
    return float(_sig(x, digits))


def _scaled(v: float, digits: int, prefixes) -> tuple[str, str] | None:
    """(mantissa text, prefix) for the largest prefix the value, rounded to ``digits``, reaches (so
    999.7 µ rounds to 1 m, never to 1000 µ); None below the smallest."""
    for factor, prefix in prefixes:
        if abs(_rounds_to(v / factor, digits)) >= 1:
            return _sig(v / factor, digits), prefix
    return None


def fmt_si(value, unit: str = "", digits: int = 3) -> str:
    """``value`` with SI prefixes for large and (with a unit) small magnitudes: ``1.23 kJ``, ``441 µJ``,
    ``4.2G``; a unit starting with ``/`` attaches without a space (``12.3k/s``)."""
    if _missing(value):
        return MISSING
    v = float(value)
    sep = "" if (not unit or unit.startswith("/")) else " "
    physical = bool(unit) and not unit.startswith("/")
    found = ("0", "") if v == 0 else _scaled(v, digits, _SI if physical else _SI[:5])
    if found is None:  # below 1 without a unit, or below 1 p with one
        return f"{v:.{digits - 1}e}{sep}{unit}" if physical else f"{_sig(v, digits)}{unit}"
    text, prefix = found
    return f"{text}{sep}{prefix}{unit}"


def fmt_seconds(value, digits: int = 3) -> str:
    """``14.3 µs``, ``2.1 ms``, ``1.5 s``, ``3600 s`` (no prefixes above one second)."""
    if _missing(value):
        return MISSING
    v = float(value)
    if abs(_rounds_to(v, digits)) >= 1 or v == 0:
        return f"{_sig(v, digits)} s"
    return fmt_si(v, "s", digits)


def fmt_bytes(value, digits: int = 3) -> str:
    """``512 B``, ``12.3 KiB``, ``4.5 MiB``, ``1.2 GiB`` (binary prefixes)."""
    if _missing(value):
        return MISSING
    found = _scaled(float(value), digits, _BINARY)
    return f"{int(round(float(value)))} B" if found is None else f"{found[0]} {found[1]}"


def fmt_count(value, digits: int = 3) -> str:
    """``815``, ``61.7k``, ``1.23M``, ``4.1G``; a fraction below 1000 keeps ``digits`` digits."""
    if _missing(value):
        return MISSING
    v = float(value)
    if abs(_rounds_to(v, digits)) < 1000:
        return str(int(v)) if v == int(v) else _sig(v, digits)
    return fmt_si(v, "", digits)


def fmt_rate(value, unit: str = "/s", digits: int = 3) -> str:
    """A rate: ``123k/s``, ``12.3/s``, ``0.5/s``."""
    if _missing(value):
        return MISSING
    return fmt_count(value, digits) + unit


def fmt_ratio(value, decimals: int = 3) -> str:
    """A ratio or share with fixed decimals: ``0.9733`` (decimals=4), ``1.023``."""
    if _missing(value):
        return MISSING
    return f"{float(value):.{decimals}f}"


def fmt_percent(share, digits: int = 3) -> str:
    """A share as a percentage: ``12.5%``, ``0.25%``."""
    if _missing(share):
        return MISSING
    return f"{_sig(100.0 * float(share), digits)}%"


def fmt_p(p) -> str:
    """A p-value: ``0.034``, ``1.2e-05`` below 0.001, ``<1e-300``."""
    if _missing(p):
        return MISSING
    p = float(p)
    if p < 1e-300:
        return "<1e-300"
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"


def fmt_number(value, digits: int = 4) -> str:
    """A number of unknown unit: ``digits`` significant digits; k/M/G/T from 100000 up; the exponent form
    only below 0.001, with three digits (``1.23e-05``), where no prefix would be right without a unit."""
    if isinstance(value, bool):
        return "yes" if value else ""
    if _missing(value):
        return MISSING
    v = float(value)
    if v == 0:
        return "0"
    if abs(v) >= 1e5:
        return fmt_si(v, "", 3)
    if abs(v) < 1e-3:
        return f"{v:.{digits - 2}e}"
    return str(int(v)) if v == int(v) else _sig(v, digits)


def mark_estimate(text: str, estimated: bool) -> str:
    """``text`` with the estimate mark when ``estimated`` (and not missing)."""
    return text + ESTIMATE_MARK if estimated and text != MISSING else text


def mark_random_weights(text: str, random_weights: bool) -> str:
    """A quality figure ``text`` with :data:`RANDOM_WEIGHTS_MARK` when its candidate's weights are
    random (and the figure is not missing)."""
    return text + RANDOM_WEIGHTS_MARK if random_weights and text != MISSING else text


_TOKENS = re.compile(r"[a-z0-9]+")


def fmt_named(name: str, value) -> str:
    """``value`` formatted by the unit its name carries: ``*_s``/``*_s_b1`` seconds, ``*bytes*`` bytes,
    ``*_j`` joules, ``*_per_s``/``*_per_sec`` rates, ``params``/``flops``/``macs``/``count`` counts,
    ``accuracy``/``f1``/``acc`` between 0 and 1 with 4 decimals, anything else :func:`fmt_number`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not _missing(value):
        return fmt_number(value) if isinstance(value, bool) else str(value)
    base = re.split(r"[@\[\s]", name.lower(), maxsplit=1)[0]  # a hardware suffix or a note is not the unit
    tokens = _TOKENS.findall(base)
    joined = "_".join(tokens)
    if "per_s" in joined + "_" and ("per_s_" in joined + "_" or joined.endswith("per_sec")):
        return fmt_rate(value)
    if "bytes" in tokens:
        return fmt_bytes(value)
    if "s" in tokens:
        return fmt_seconds(value)
    if "j" in tokens:
        return fmt_si(value, "J")
    if "g" in tokens and "carbon" in tokens:
        return fmt_si(value, "g")
    if any(t in tokens for t in ("params", "flops", "macs", "count", "param")):
        return fmt_count(value)
    if any(t in tokens for t in ("accuracy", "f1", "acc")) and abs(float(value)) <= 1:
        return fmt_ratio(value, 4)  # a quality share: the cost table's 4 decimals (0.9800, not 0.98)
    return fmt_number(value)
