"""Data envelopment analysis (DEA): relative efficiency of each model against the others.

Inputs are the costs (``:min`` objectives: latency, energy, parameters...), outputs the
benefits (``:max``: accuracy, throughput...). For each model ("decision-making unit") one
linear programme asks how far it is from the convex (BCC) or conical (CCR) hull of the
others (Charnes, Cooper & Rhodes 1978; Banker, Charnes & Cooper 1984; Cooper, Seiford &
Tone, *Data Envelopment Analysis*, 2nd ed., 2007, ch. 3-4):

- input orientation:  ``min theta`` s.t. ``sum_j l_j x_j <= theta x_o``, ``sum_j l_j y_j >= y_o``;
  efficiency = ``theta``.
- output orientation: ``max phi``  s.t. ``sum_j l_j x_j <= x_o``, ``sum_j l_j y_j >= phi y_o``;
  efficiency reported as ``1 / phi`` so that, in both orientations, 1 = efficient and
  smaller = worse (the score lies in (0, 1]).
- BCC adds ``sum_j l_j = 1`` (variable returns to scale); CCR has constant returns to scale
  and the same score in both orientations.

Slacks come from the standard second stage (``slacks="max"``): with the radial score fixed,
maximise the sum of the slacks, each divided by its column mean so that units do not matter.
``slacks="first_stage"`` reports the slacks of the first-stage solution instead (cheaper, but
not unique); ``slacks="none"`` computes the scores only. Peers are the models with
``lambda > 1e-6`` in the last stage solved.

A model with no ``:min`` objective gets a constant input of 1, one with no ``:max`` objective
a constant output of 1 (the "benefit of the doubt" composite). Note that BCC with a constant
input and input orientation scores every model 1.

Speed (the LPs are scipy's HiGHS, ``linprog(method="highs")``):

- a dominated model can always be replaced in the envelope by a model that dominates it, so the
  non-dominated models are scored first, against themselves only;
- those scoring 1 include every extreme-efficient model, which span the whole technology: every
  other model is scored against that (much smaller) envelope, with the same scores and slacks;
- the LPs of up to 256 models are solved as one block-diagonal LP (the optimum of the sum is
  every block at its own optimum): one solver call instead of 256; where a batch fails, its
  models are solved one by one so that the error names the model.

DEA scores differ from Pareto membership on purpose: a Pareto-optimal model in a non-convex
dent of the frontier has a score below 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from effbench.analysis.objectives import Objective, split_inputs_outputs
from effbench.errors import ConfigError, DataError

MODELS = ("ccr", "bcc")
ORIENTATIONS = ("input", "output")
SLACKS = ("max", "first_stage", "none")
_PEER_TOL = 1e-6


@dataclass(frozen=True)
class DEAResult:
    """DEA scores of n models (row order of the input)."""

    efficiency: np.ndarray  # (n,) in (0, 1]; 1 = efficient
    peers: list[np.ndarray]  # per model, indices of its peers (lambda > 1e-6)
    peer_weights: list[np.ndarray]  # the matching lambdas
    input_slacks: np.ndarray  # (n, n_inputs); NaN with slacks="none"
    output_slacks: np.ndarray  # (n, n_outputs)
    model: str
    orientation: str
    slacks: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def efficient(self) -> np.ndarray:
        """Radially efficient (score 1 within 1e-9) and, when slacks are known, no slack."""
        ok = self.efficiency >= 1 - 1e-9
        if self.slacks != "none":
            scale_in = np.abs(self.input_slacks).sum(axis=1)
            scale_out = np.abs(self.output_slacks).sum(axis=1)
            ok &= (scale_in <= 1e-7) & (scale_out <= 1e-7)
        return ok


def _validate(inputs: np.ndarray, outputs: np.ndarray, model: str, orientation: str, slacks: str):
    if model not in MODELS:
        raise ConfigError(f"DEA model must be one of {', '.join(MODELS)}, got {model!r}")
    if orientation not in ORIENTATIONS:
        raise ConfigError(f"DEA orientation must be one of {', '.join(ORIENTATIONS)}, got {orientation!r}")
    if slacks not in SLACKS:
        raise ConfigError(f"DEA slacks must be one of {', '.join(SLACKS)}, got {slacks!r}")
    for name, arr in (("input", inputs), ("output", outputs)):
        if arr.ndim != 2:
            raise DataError(f"DEA {name}s must be a 2-D array (models x {name}s), got {arr.ndim}-D")
        if not np.isfinite(arr).all():
            raise DataError(f"DEA {name}s contain a missing or infinite value")
        if (arr <= 0).any():
            row, col = np.argwhere(arr <= 0)[0]
            raise DataError(
                f"DEA needs strictly positive values; {name} column {col} has {arr[row, col]} at row {row}"
            )
    if inputs.shape[0] != outputs.shape[0]:
        raise DataError(f"DEA inputs have {inputs.shape[0]} rows but outputs {outputs.shape[0]}")


def _reference_set(inputs: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    from effbench.analysis.pareto import nondominated_mask

    return np.flatnonzero(nondominated_mask(np.hstack([-inputs, outputs])))


@dataclass(frozen=True)
class _Problem:
    X: np.ndarray  # (n, m) inputs
    Y: np.ndarray  # (n, s) outputs
    vrs: bool  # BCC: sum of lambda = 1
    input_oriented: bool


_CHUNK = 256  # units per block-diagonal LP


def _block_diag(blocks: np.ndarray):
    """Sparse block-diagonal matrix of ``blocks`` (K, p, v): one independent LP per block."""
    from scipy.sparse import csr_array

    K, p, v = blocks.shape
    k, i, j = np.nonzero(blocks)
    return csr_array((blocks[k, i, j], (k * p + i, k * v + j)), shape=(K * p, K * v))


def _solve_blocks(c, a_ub=None, b_ub=None, a_eq=None, b_eq=None) -> np.ndarray | None:
    """Solve K independent LPs ``min c_k x`` (x >= 0) as one block-diagonal HiGHS LP.

    Arrays have a leading K axis (``c`` (K, v), ``a_ub`` (K, p, v), ``b_ub`` (K, p), ...): the
    optimum of the sum is every block at its own optimum. Returns x (K, v), or None when the
    combined LP is not solved to optimality."""
    from scipy.optimize import linprog

    K, v = c.shape
    res = linprog(np.ravel(c),
                  A_ub=None if a_ub is None else _block_diag(a_ub), b_ub=None if b_ub is None else np.ravel(b_ub),
                  A_eq=None if a_eq is None else _block_diag(a_eq), b_eq=None if b_eq is None else np.ravel(b_eq),
                  bounds=(0, None), method="highs")
    return res.x.reshape(K, v) if res.status == 0 else None


def _radial_lps(pb: _Problem, units: np.ndarray, ref: np.ndarray):
    """Stage-1 LPs of ``units`` against ``ref``: variables (theta or phi, lambda over ref)."""
    m, s, r, K = pb.X.shape[1], pb.Y.shape[1], ref.size, units.size
    a_ub = np.zeros((K, m + s, r + 1))
    a_ub[:, :m, 1:] = pb.X[ref].T
    a_ub[:, m:, 1:] = -pb.Y[ref].T
    if pb.input_oriented:  # sum l x <= theta x_o, sum l y >= y_o
        a_ub[:, :m, 0] = -pb.X[units]
        b_ub = np.hstack([np.zeros((K, m)), -pb.Y[units]])
    else:  # sum l x <= x_o, sum l y >= phi y_o
        a_ub[:, m:, 0] = pb.Y[units]
        b_ub = np.hstack([pb.X[units], np.zeros((K, s))])
    c = np.zeros((K, r + 1))
    c[:, 0] = 1.0 if pb.input_oriented else -1.0
    a_eq = np.broadcast_to(np.r_[0.0, np.ones(r)], (K, 1, r + 1)) if pb.vrs else None
    b_eq = np.ones((K, 1)) if pb.vrs else None
    return c, a_ub, b_ub, a_eq, b_eq


def _radial(pb: _Problem, units: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Stage 1: (theta or phi, lambda over ``ref``) of every unit in ``units``, shape (k, 1 + r),
    in block-diagonal LPs of ``_CHUNK`` units (one LP per unit where a batch fails)."""
    out = np.empty((units.size, ref.size + 1))
    for start in range(0, units.size, _CHUNK):
        u = units[start:start + _CHUNK]
        x = _solve_blocks(*_radial_lps(pb, u, ref))
        if x is None:
            x = np.vstack([_radial_unit(pb, int(o), ref) for o in u])
        out[start:start + u.size] = x
    return out


def _radial_unit(pb: _Problem, o: int, ref: np.ndarray) -> np.ndarray:
    x = _solve_blocks(*_radial_lps(pb, np.array([o]), ref))
    if x is None:
        raise DataError(f"DEA linear programme failed for row {o}")
    return x[0]


def _max_slack_lps(pb: _Problem, radial: np.ndarray, ref: np.ndarray):
    """Stage-2 equality system, shared by every unit: variables (lambda over ref, input slacks,
    output slacks); right-hand sides per unit with the radial score fixed."""
    X, Y = pb.X, pb.Y
    m, s, r = X.shape[1], Y.shape[1], ref.size
    a = np.zeros((m + s + pb.vrs, r + m + s))
    a[:m, :r] = X[ref].T
    a[:m, r:r + m] = np.eye(m)
    a[m:m + s, :r] = Y[ref].T
    a[m:m + s, r + m:] = -np.eye(s)
    if pb.vrs:
        a[-1, :r] = 1.0
    # the radial score is fixed with a hair of slack against the solver's tolerance
    if pb.input_oriented:
        b = np.hstack([radial[:, None] * (1 + 1e-9) * X, Y])
    else:
        b = np.hstack([X, radial[:, None] * (1 - 1e-9) * Y])
    if pb.vrs:
        b = np.hstack([b, np.ones((X.shape[0], 1))])
    c = np.r_[np.zeros(r), -1.0 / X.mean(axis=0), -1.0 / Y.mean(axis=0)]  # slacks in units of their mean
    return c, a, b


def _max_slacks(pb: _Problem, radial: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Stage 2 of every unit, shape (n, r + m + s); NaN rows where HiGHS fails."""
    c, a, b = _max_slack_lps(pb, radial, ref)
    n = b.shape[0]
    out = np.full((n, c.size), np.nan)
    for start in range(0, n, _CHUNK):
        K = min(_CHUNK, n - start)
        x = _solve_blocks(np.broadcast_to(c, (K, c.size)), a_eq=np.broadcast_to(a, (K,) + a.shape),
                          b_eq=b[start:start + K])
        if x is None:  # pragma: no cover - numerical corner case: unit by unit, NaN where it fails
            x = [_solve_blocks(c[None], a_eq=a[None], b_eq=b[o][None]) for o in range(start, start + K)]
            x = np.vstack([np.full((1, c.size), np.nan) if xo is None else xo for xo in x])
        out[start:start + K] = x
    return out


def _envelope(pb: _Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(envelope, ref, stage-1 solutions of ref against ref). The non-dominated units ``ref`` are
    scored against themselves (a dominated unit is never needed in the envelope); those scoring
    1 (within 1e-6) include every extreme-efficient unit, which span the whole technology, so
    every other unit is scored against that smaller ``envelope``."""
    ref = _reference_set(pb.X, pb.Y)
    sol = _radial(pb, ref, ref)
    score = sol[:, 0] if pb.input_oriented else 1.0 / np.maximum(sol[:, 0], 1e-300)
    return ref[score >= 1 - 1e-6], ref, sol


class _Solutions:
    """Per unit: the radial variable, its peers and weights, and its projection sum_j l_j (x_j, y_j)."""

    def __init__(self, n: int, m: int, s: int):
        self.radial = np.full(n, np.nan)
        self.proj_x = np.zeros((n, m))
        self.proj_y = np.zeros((n, s))
        self.peers: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * n
        self.weights: list[np.ndarray] = [np.zeros(0)] * n

    def store_lambda(self, pb: _Problem, units: np.ndarray, ref: np.ndarray, lam: np.ndarray) -> None:
        self.proj_x[units] = lam @ pb.X[ref]
        self.proj_y[units] = lam @ pb.Y[ref]
        for u, row in zip(units.tolist(), lam):
            sel = row > _PEER_TOL
            self.peers[u] = ref[sel]
            self.weights[u] = row[sel]

    def store(self, pb: _Problem, units: np.ndarray, ref: np.ndarray, x: np.ndarray) -> None:
        self.radial[units] = x[:, 0]
        self.store_lambda(pb, units, ref, x[:, 1:])


def _first_stage_slacks(pb: _Problem, sol: _Solutions):
    x_target = sol.radial[:, None] * pb.X if pb.input_oriented else pb.X
    y_target = pb.Y if pb.input_oriented else sol.radial[:, None] * pb.Y
    return np.maximum(0.0, x_target - sol.proj_x), np.maximum(0.0, sol.proj_y - y_target)


def _slacks(pb: _Problem, kind: str, sol: _Solutions, envelope: np.ndarray):
    """(input slacks, output slacks); with ``kind="max"`` the peers become stage 2's."""
    n, m, s = pb.X.shape[0], pb.X.shape[1], pb.Y.shape[1]
    if kind == "none":
        return np.full((n, m), np.nan), np.full((n, s), np.nan)
    s_in, s_out = _first_stage_slacks(pb, sol)  # kept by any unit whose stage 2 fails
    if kind == "max":
        x = _max_slacks(pb, sol.radial, envelope)
        ok = np.flatnonzero(~np.isnan(x).any(axis=1))
        r = envelope.size
        sol.store_lambda(pb, ok, envelope, x[ok, :r])
        s_in[ok], s_out[ok] = x[ok, r:r + m], x[ok, r + m:]
    # tiny slacks are solver noise
    s_in[np.abs(s_in) < 1e-7 * pb.X.mean(axis=0)] = 0.0
    s_out[np.abs(s_out) < 1e-7 * pb.Y.mean(axis=0)] = 0.0
    return s_in, s_out


def dea(
    inputs,
    outputs,
    *,
    model: str = "ccr",
    orientation: str = "input",
    slacks: str = "max",
) -> DEAResult:
    """DEA efficiency of every row. ``inputs`` (n, m) costs, ``outputs`` (n, s) benefits.

    Either may have zero columns (a constant 1 is used). Values must be > 0.
    """
    X = np.asarray(inputs, dtype=float)
    Y = np.asarray(outputs, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if Y.ndim == 1:
        Y = Y[:, None]
    n = max(X.shape[0], Y.shape[0])
    notes: list[str] = []
    if X.size == 0:
        X = np.ones((n, 1))
        notes.append("no input (:min) objective: a constant input of 1 is used")
        if model == "bcc" and orientation == "input":
            notes.append("BCC with a constant input and input orientation scores every model 1")
    if Y.size == 0:
        Y = np.ones((n, 1))
        notes.append("no output (:max) objective: a constant output of 1 is used")
    _validate(X, Y, model, orientation, slacks)
    pb = _Problem(X, Y, vrs=model == "bcc", input_oriented=orientation == "input")
    envelope, ref, ref_sol = _envelope(pb)
    sol = _Solutions(n, X.shape[1], Y.shape[1])
    sol.store(pb, ref, ref, ref_sol)
    others = np.setdiff1d(np.arange(n), ref)
    if others.size:
        sol.store(pb, others, envelope, _radial(pb, others, envelope))
    radial = sol.radial
    if pb.input_oriented:
        eff = np.minimum(1.0, radial)
    else:
        eff = np.where(radial > 0, np.minimum(1.0, 1.0 / np.maximum(radial, 1e-300)), np.nan)
    s_in, s_out = _slacks(pb, slacks, sol, envelope)
    peers, peer_w = sol.peers, sol.weights
    return DEAResult(
        efficiency=eff,
        peers=peers,
        peer_weights=peer_w,
        input_slacks=s_in,
        output_slacks=s_out,
        model=model,
        orientation=orientation,
        slacks=slacks,
        notes=tuple(notes),
    )


def dea_from_objectives(
    values: np.ndarray | Mapping[str, Sequence[float]],
    objectives: Sequence[Objective],
    **kwargs,
) -> DEAResult:
    """DEA on a table: ``:min`` objectives are the inputs, ``:max`` objectives the outputs."""
    inputs, outputs = split_inputs_outputs(values, objectives)
    return dea(inputs, outputs, **kwargs)
