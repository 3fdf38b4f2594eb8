"""One place for parameter validation: declarative constraints, one wording for every message.

After scikit-learn's ``utils/_param_validation.py``: a parameter is checked against a list of
constraints and is valid when it satisfies any of them. Every message has the same shape::

    threads: expected a whole number >= 1, got True

Numbers follow one rule everywhere: ``bool`` is never a number (``True`` is not a thread count),
numpy scalars are numbers (``np.int64(2)`` is a whole number), NaN is never a valid real, and
infinity only where an interval is unbounded on that side and ``allow_inf=True``. A whole number
that passes is returned as a Python ``int``, a real as a Python ``float``, so what a config stores is
the same whatever numeric type it was given.

    from effbench.validation import Interval, Options, check
    threads = check("threads", threads, Interval(int, 1, None))
    method = check("method", method, Options({"empirical", "kde"}))
    deadline = check("deadline", deadline, Interval(float, 0, None, closed="neither"), None)
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass

from effbench.errors import ConfigError

__all__ = ["Interval", "Options", "SEED", "check", "check_all", "check_seed", "is_whole", "is_real", "describe",
           "NAME_PATTERN", "NAME_RE", "validate_name"]

NAME_PATTERN = r"^[A-Za-z0-9_.+\-]+$"
"""The rule for model and backend names (and run ids): letters, digits and ``_ . + -``."""
NAME_RE = re.compile(NAME_PATTERN)


def validate_name(name: str, what: str = "candidate name") -> str:
    """``name`` if it follows :data:`NAME_PATTERN`, else :class:`ConfigError` naming ``what``."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name.endswith("\n"):
        raise ConfigError(f"{what} {name!r} is not allowed: use letters, digits and _ . + - only")
    return name


def is_whole(value) -> bool:
    """A whole number: int or numpy integer, never bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    """A real number: int, float or numpy number, never bool (NaN and inf included; intervals refuse them)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class Interval:
    """Numbers of a type between two bounds.

    ``type``: ``int`` (whole numbers) or ``float`` (real numbers, ints accepted). ``left`` / ``right``:
    bounds, ``None`` for unbounded. ``closed``: which bounds belong to the interval: ``"both"``
    (default), ``"left"``, ``"right"`` or ``"neither"``. ``allow_inf``: an unbounded side also
    admits infinity itself (reals only). ``unit``: named in the message (``"seconds"``).
    """

    type: type
    left: float | None = None
    right: float | None = None
    closed: str = "both"
    allow_inf: bool = False
    unit: str = ""             # named in messages: "a number of seconds > 0"

    def __post_init__(self):
        if self.type not in (int, float):
            raise TypeError(f"Interval type must be int or float, got {self.type!r}")
        if self.closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"Interval closed must be both, left, right or neither, got {self.closed!r}")

    def accepts(self, value) -> bool:
        if not (is_whole(value) if self.type is int else is_real(value)):
            return False
        v = float(value) if self.type is float else value
        if self.type is float:
            if math.isnan(v):
                return False
            if math.isinf(v):
                side = self.right if v > 0 else self.left
                return self.allow_inf and side is None
        if self.left is not None:
            if v < self.left or (v == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if v > self.right or (v == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def convert(self, value):
        return int(value) if self.type is int else float(value)

    def __str__(self) -> str:
        noun = "a whole number" if self.type is int else "a number"
        if self.unit:
            noun += f" of {self.unit}"
        lo_op = ">=" if self.closed in ("both", "left") else ">"
        hi_op = "<=" if self.closed in ("both", "right") else "<"
        if self.left is not None and self.right is not None:
            lo_b = "[" if lo_op == ">=" else "("
            hi_b = "]" if hi_op == "<=" else ")"
            return f"{noun} in {lo_b}{_num(self.left)}, {_num(self.right)}{hi_b}"
        if self.left is not None:
            return f"{noun} {lo_op} {_num(self.left)}"
        if self.right is not None:
            return f"{noun} {hi_op} {_num(self.right)}"
        return noun if self.type is int or self.allow_inf else noun.replace("a number", "a finite number", 1)


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values (strings, usually)."""

    values: frozenset

    def __init__(self, values: Iterable):
        object.__setattr__(self, "values", frozenset(values))

    def accepts(self, value) -> bool:
        try:
            return value in self.values
        except TypeError:  # unhashable
            return False

    def convert(self, value):
        return value

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in sorted(self.values, key=str))


def _num(x) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


SEED = Interval(int, 0, None)
"""A seed of numpy's random generators: a whole number >= 0 (numpy refuses negative seeds)."""


def check_seed(seed, name: str = "seed"):
    """``seed`` as an int, or None (fresh entropy); anything else is :class:`ConfigError`."""
    return check(name, seed, SEED, None)


def describe(constraints) -> str:
    words = ["None" if c is None else str(c) for c in constraints]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def check(name: str, value, *constraints):
    """``value`` if it satisfies any constraint (an :class:`Interval`, :class:`Options`, a type, or
    ``None`` for None itself), converted to the constraint's type; else :class:`ConfigError`
    ``"NAME: expected ..., got VALUE"``."""
    if not constraints:
        raise TypeError("check needs at least one constraint")
    for c in constraints:
        if c is None:
            if value is None:
                return None
        elif isinstance(c, type):
            if isinstance(value, c) and not (c in (int, float) and isinstance(value, bool)):
                return value
        elif c.accepts(value):
            return c.convert(value)
    why = " (not a finite number)" if is_real(value) and not math.isfinite(float(value)) else ""
    raise ConfigError(f"{name}: expected {describe(constraints)}, got {_shown(value)}{why}")


def check_all(values: dict, constraints: dict[str, list | tuple]) -> dict:
    """Check every ``name: value`` against ``constraints[name]``; returns the converted values.
    A name without constraints is an error in effbench, not in the caller's input."""
    out = {}
    for name, value in values.items():
        out[name] = check(name, value, *constraints[name])
    return out


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
