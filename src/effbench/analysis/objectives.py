"""Objectives with a direction, and the oriented matrices the analyses work on.

An objective names a column and says whether larger or smaller is better:
``"top1:max"``, ``"latency_p99_s:min"``. Column names may themselves contain ``':'``;
the direction is whatever follows the *last* colon.

The Pareto code works on a "larger is better" matrix (:func:`oriented_matrix`): a
``min`` column is negated. DEA needs the raw positive values split into inputs
(``min``) and outputs (``max``): :func:`split_inputs_outputs`.

Pure: no I/O, no printing. Another analysis (misnomer indicators) reuses
:func:`parse_objective` for its ``--indicator COLUMN:max|min`` option.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from effbench.errors import ConfigError, DataError

DIRECTIONS = ("max", "min")


@dataclass(frozen=True)
class Objective:
    """A column and its direction: ``"max"`` (larger is better) or ``"min"``."""

    name: str
    direction: str

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ConfigError(
                f"objective {self.name!r}: direction must be 'max' or 'min', got {self.direction!r}"
            )
        if not self.name:
            raise ConfigError("objective: column name must not be empty")

    @property
    def sign(self) -> float:
        """+1 for ``max``, -1 for ``min``: multiply to get "larger is better"."""
        return 1.0 if self.direction == "max" else -1.0

    def __str__(self) -> str:
        return f"{self.name}:{self.direction}"


def parse_objective(spec: str, *, option: str = "--objective") -> Objective:
    """Parse ``"COLUMN:max"`` or ``"COLUMN:min"`` (split on the last colon).

    ``option`` names the command-line option in error messages.

    >>> parse_objective("latency:p99_s:min")
    Objective(name='latency:p99_s', direction='min')
    """
    spec = str(spec).strip()
    name, sep, direction = spec.rpartition(":")
    direction = direction.strip().lower()
    if not sep or not name.strip():
        raise ConfigError(
            f"{option} {spec!r}: expected COLUMN:max or COLUMN:min (a column and its direction)"
        )
    if direction not in DIRECTIONS:
        raise ConfigError(
            f"{option} {spec!r}: direction must be 'max' or 'min' after the last ':', got {direction!r}"
        )
    return Objective(name.strip(), direction)


def parse_objectives(specs: Iterable[str], *, option: str = "--objective") -> list[Objective]:
    """Parse several specs; a column given twice is an error."""
    objectives = [parse_objective(s, option=option) for s in specs]
    seen: set[str] = set()
    for obj in objectives:
        if obj.name in seen:
            raise ConfigError(f"{option}: column {obj.name!r} given more than once")
        seen.add(obj.name)
    return objectives


def as_matrix(values: np.ndarray | Mapping[str, Sequence[float]], objectives: Sequence[Objective]) -> np.ndarray:
    """Raw values as an (n, len(objectives)) float matrix; a mapping is read by column name."""
    if isinstance(values, Mapping):
        missing = [o.name for o in objectives if o.name not in values]
        if missing:
            raise DataError(
                f"unknown column {missing[0]!r}; available: {', '.join(map(str, values)) or '(none)'}"
            )
        cols = [np.asarray(values[o.name], dtype=float) for o in objectives]
        matrix = np.column_stack(cols) if cols else np.empty((0, 0))
    else:
        matrix = np.asarray(values, dtype=float)
        if matrix.ndim != 2 or matrix.shape[1] != len(objectives):
            raise DataError(
                f"values must be a 2-D array with one column per objective ({len(objectives)}), "
                f"got shape {matrix.shape}"
            )
    return matrix


def oriented_matrix(
    values: np.ndarray | Mapping[str, Sequence[float]],
    objectives: Sequence[Objective],
    *,
    larger_is_better: bool = True,
) -> np.ndarray:
    """Return an ``(n, len(objectives))`` float matrix where every column has the same sense.

    ``values`` is either a 2-D array whose columns follow ``objectives`` or a mapping
    column name -> 1-D values. With ``larger_is_better=True`` (default) ``min`` columns
    are negated; with ``False`` the ``max`` columns are negated instead.
    NaN values are rejected (:class:`DataError`): drop incomplete rows first.
    """
    matrix = as_matrix(values, objectives)
    if np.isnan(matrix).any():
        row, col = np.argwhere(np.isnan(matrix))[0]
        raise DataError(f"column {objectives[col].name!r} has a missing value (NaN) at row {row}")
    signs = np.array([o.sign for o in objectives], dtype=float)
    if not larger_is_better:
        signs = -signs
    return matrix * signs


def split_inputs_outputs(
    values: np.ndarray | Mapping[str, Sequence[float]], objectives: Sequence[Objective]
) -> tuple[np.ndarray, np.ndarray]:
    """Split raw (un-negated) values into DEA inputs (``min`` columns) and outputs (``max``).

    Returns ``(inputs, outputs)`` of shapes ``(n, n_min)`` and ``(n, n_max)``; either may
    have zero columns (DEA then uses a constant 1, see :mod:`effbench.analysis.dea`).
    """
    matrix = as_matrix(values, objectives)
    is_min = np.array([o.direction == "min" for o in objectives], dtype=bool)
    return matrix[:, is_min], matrix[:, ~is_min]
