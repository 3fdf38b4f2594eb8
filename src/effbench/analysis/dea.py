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

Speed: a dominated model can always be replaced in the envelope by a model that dominates it
without loss, so every LP only uses the non-dominated models as its reference set; the LP
solver is scipy's HiGHS (``linprog(method="highs")``).

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
    from scipy.optimize import linprog

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
    m, s = X.shape[1], Y.shape[1]
    ref = _reference_set(X, Y)
    r = ref.size
    Xr, Yr = X[ref].T, Y[ref].T  # (m, r), (s, r)
    vrs = model == "bcc"
    a_eq_conv = np.r_[0.0, np.ones(r)][None, :] if vrs else None
    b_eq_conv = np.ones(1) if vrs else None
    # stage-1 matrices share everything but the column of the radial variable
    a_ub = np.zeros((m + s, r + 1))
    a_ub[:m, 1:] = Xr
    a_ub[m:, 1:] = -Yr
    c1 = np.zeros(r + 1)
    c1[0] = 1.0 if orientation == "input" else -1.0
    bounds1 = [(0, None)] * (r + 1)
    # stage-2: variables [lambda (r), s_minus (m), s_plus (s)]
    a_eq2 = np.zeros((m + s + (1 if vrs else 0), r + m + s))
    a_eq2[:m, :r] = Xr
    a_eq2[:m, r:r + m] = np.eye(m)
    a_eq2[m:m + s, :r] = Yr
    a_eq2[m:m + s, r + m:] = -np.eye(s)
    if vrs:
        a_eq2[-1, :r] = 1.0
    weights = np.r_[1.0 / X.mean(axis=0), 1.0 / Y.mean(axis=0)]
    c2 = np.r_[np.zeros(r), -weights]

    eff = np.empty(n)
    peers: list[np.ndarray] = []
    peer_w: list[np.ndarray] = []
    s_in = np.full((n, m), np.nan)
    s_out = np.full((n, s), np.nan)
    for o in range(n):
        xo, yo = X[o], Y[o]
        if orientation == "input":
            a_ub[:m, 0] = -xo
            a_ub[m:, 0] = 0.0
            b_ub = np.r_[np.zeros(m), -yo]
        else:
            a_ub[:m, 0] = 0.0
            a_ub[m:, 0] = yo
            b_ub = np.r_[xo, np.zeros(s)]
        res = linprog(c1, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq_conv, b_eq=b_eq_conv,
                      bounds=bounds1, method="highs")
        if res.status != 0:
            raise DataError(f"DEA linear programme failed for row {o}: {res.message}")
        radial = float(res.x[0])
        lam = res.x[1:]
        if orientation == "input":
            eff[o] = min(1.0, radial)
        else:
            eff[o] = min(1.0, 1.0 / radial) if radial > 0 else np.nan
        if slacks == "first_stage":
            if orientation == "input":
                s_in[o] = np.maximum(0.0, radial * xo - Xr @ lam)
                s_out[o] = np.maximum(0.0, Yr @ lam - yo)
            else:
                s_in[o] = np.maximum(0.0, xo - Xr @ lam)
                s_out[o] = np.maximum(0.0, Yr @ lam - radial * yo)
        elif slacks == "max":
            # fix the radial score (a hair of slack against solver tolerance) and maximise slacks
            if orientation == "input":
                b_eq2 = np.r_[radial * (1 + 1e-9) * xo, yo]
            else:
                b_eq2 = np.r_[xo, radial * (1 - 1e-9) * yo]
            if vrs:
                b_eq2 = np.r_[b_eq2, 1.0]
            res2 = linprog(c2, A_eq=a_eq2, b_eq=b_eq2, bounds=(0, None), method="highs")
            if res2.status == 0:
                lam = res2.x[:r]
                s_in[o] = res2.x[r:r + m]
                s_out[o] = res2.x[r + m:]
            else:  # pragma: no cover - numerical corner case; keep stage-1 slacks
                s_in[o] = np.maximum(0.0, (radial * xo if orientation == "input" else xo) - Xr @ lam)
                s_out[o] = np.maximum(0.0, Yr @ lam - (yo if orientation == "input" else radial * yo))
        sel = lam > _PEER_TOL
        peers.append(ref[sel])
        peer_w.append(lam[sel])
    # tiny slacks are solver noise
    if slacks != "none":
        s_in[np.abs(s_in) < 1e-7 * X.mean(axis=0)] = 0.0
        s_out[np.abs(s_out) < 1e-7 * Y.mean(axis=0)] = 0.0
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
