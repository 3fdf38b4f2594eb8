"""Exact Pareto analysis: non-dominated set, non-dominated sorting into layers, dominators.

Every function takes a "larger is better" matrix ``X`` of shape ``(n_models, n_objectives)``
(build it with :func:`effbench.analysis.objectives.oriented_matrix`). Row ``a`` *dominates*
row ``b`` when ``a >= b`` in every objective and ``a > b`` in at least one. Ties are explicit:
identical rows never dominate each other, so exact duplicates of a frontier model are all
on the frontier (and share every layer).

Algorithms (pure: no I/O; numpy, and moocore's C code for layers):

- 1 objective: the rows equal to the maximum.
- n >= 4096: first a cull. A pivot (the row of a strided sample whose min-max normalised
  values have the largest product: it dominates the largest box) removes, in one vectorised
  pass over strided columns, every row it dominates; repeated while a pass removes >= 1% of
  what remains. For 3+ objectives, the front of a 1,024-row sample of what is left then gives
  up to 64 pivots that filter the rest in one block comparison. Only dominated rows go.
- 2 objectives: the O(n log n) sweep (sort by the first objective, running maximum of the
  second; Kung, Luccio & Preparata 1975), vectorised.
- 3 objectives: the O(n log n) sweep with a sorted staircase of the last two objectives.
- 4+ objectives: sort so that every dominator precedes what it dominates (sum of the
  min-max normalised objectives, then lexicographic), and compare vectorised blocks
  against the frontier found so far (O(n f d) for a front of f rows).
- Layers: moocore's ``pareto_rank`` (C): Jensen's O(n log n) sweep for 2 objectives, one
  front at a time for 3+ (O(L n log n) for L layers). Measured faster than our own numpy
  peeling and prefix bitsets at every size (see docs/pareto.md).
- Dominators: an exact count and a bounded sample per requested row, compared in blocks of
  2^22 cells against the rows whose normalised sum is at least the row's; O(k n d) time for
  k rows, O(n d) extra memory.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from effbench.analysis.objectives import Objective, oriented_matrix
from effbench.errors import ConfigError, DataError

_CULL_MIN_N = 4096


def _check(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise DataError(f"objective matrix must be 2-D (models x objectives), got {X.ndim}-D")
    if X.shape[1] < 1:
        raise ConfigError("Pareto analysis needs at least one objective, got 0")
    if not np.isfinite(X).all():
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise DataError(f"objective matrix has a non-finite value {X[row, col]} at row {row}, column {col}")
    return X


def dominates(a, b) -> bool:
    """True when ``a`` dominates ``b`` (larger is better): ``a >= b`` everywhere, ``>`` once."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return bool(np.all(a >= b) and np.any(a > b))


# --------------------------------------------------------------------------- ordering helpers
def _sum_score(X: np.ndarray) -> np.ndarray:
    """Sum of min-max normalised columns: monotone in every objective (also under rounding)."""
    lo = X.min(axis=0)
    span = X.max(axis=0) - lo
    span[span == 0] = 1.0
    return ((X - lo) / span).sum(axis=1)


def _dominator_first_order(X: np.ndarray) -> np.ndarray:
    """An order in which every row comes after all rows that dominate it, duplicates adjacent."""
    score = _sum_score(X)
    keys = [-X[:, k] for k in range(X.shape[1] - 1, -1, -1)] + [-score]
    return np.lexsort(keys)


def _pivot(X: np.ndarray) -> int:
    """A row of ``X`` (m, d) that dominates a large box: the best product of the min-max
    normalised values, searched on a strided sample of at most ~16k rows."""
    step = max(1, X.shape[0] // 16384)
    S = X[::step]
    lo = S.min(axis=0)
    span = S.max(axis=0) - lo
    span[span == 0] = 1.0
    N = (S - lo) / span
    score = np.prod(N, axis=1) + 1e-12 * N.sum(axis=1)
    return int(np.argmax(score)) * step


def _dominated_by_point(X: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``X`` (m, d) that the point ``p`` dominates."""
    le = X[:, 0] <= p[0]
    for k in range(1, X.shape[1]):
        le &= X[:, k] <= p[k]
    same = np.flatnonzero(le & (X[:, 0] == p[0]))  # only rows equal to p are <= without being <
    if same.size:
        le[same[np.all(X[same] == p, axis=1)]] = False
    return le


def _cull(X: np.ndarray) -> np.ndarray:
    """Indices of the rows of ``X`` (n, d) left after pivots removed what they dominate.

    Only truly dominated rows are removed; repeated while a pass removes >= 1% of the rest."""
    idx = np.arange(X.shape[0])
    for _ in range(64):
        m = idx.size
        if m < _CULL_MIN_N:
            break
        dominated = _dominated_by_point(X, X[_pivot(X)].copy())
        removed = int(np.count_nonzero(dominated))
        if removed:
            keep = np.flatnonzero(~dominated)
            idx = idx[keep]
            X = X[keep]
        if removed < 0.01 * m:
            break
    return idx


def _multi_pivot_cull(Y: np.ndarray, n_pivots: int = 64) -> np.ndarray:
    """Mask of the rows of ``Y`` (m, d) dominated by one of up to ``n_pivots`` front points
    of a strided sample: a cheap vectorised filter before the exact front search."""
    m = Y.shape[0]
    step = max(1, m // 1024)
    sample = Y[::step]
    pivots = sample[_front_exact(sample)]
    if len(pivots) > n_pivots:
        pivots = pivots[np.linspace(0, len(pivots) - 1, n_pivots).astype(int)]
    dominated = np.zeros(m, dtype=bool)
    for start in range(0, m, 8192):
        block = Y[start:start + 8192]
        ge = pivots[:, None, 0] >= block[None, :, 0]
        gt = pivots[:, None, 0] > block[None, :, 0]
        for k in range(1, Y.shape[1]):
            ge &= pivots[:, None, k] >= block[None, :, k]
            gt |= pivots[:, None, k] > block[None, :, k]
        dominated[start:start + 8192] = (ge & gt).any(axis=0)
    return dominated


# --------------------------------------------------------------------------- non-dominated set
def _nd_1d(x: np.ndarray) -> np.ndarray:
    return x == x.max()


def _nd_2d(X: np.ndarray) -> np.ndarray:
    n = X.shape[0]
    order = np.lexsort((-X[:, 1], -X[:, 0]))
    x0 = X[order, 0]
    x1 = X[order, 1]
    starts = np.flatnonzero(np.r_[True, x0[1:] != x0[:-1]])
    group = np.cumsum(np.r_[True, x0[1:] != x0[:-1]]) - 1
    gmax = x1[starts]  # sorted descending inside a group
    prev = np.maximum.accumulate(gmax)
    prev = np.r_[-np.inf, prev[:-1]]
    first = np.r_[True, np.zeros(len(starts) - 1, dtype=bool)]
    ok_group = first | (gmax > prev)
    nd_sorted = (x1 == gmax[group]) & ok_group[group]
    out = np.empty(n, dtype=bool)
    out[order] = nd_sorted
    return out


def _dedupe_sorted(Y: np.ndarray) -> np.ndarray:
    """For rows in sorted order with duplicates adjacent: run id of each row."""
    new = np.r_[True, np.any(Y[1:] != Y[:-1], axis=1)] if len(Y) else np.zeros(0, dtype=bool)
    return np.cumsum(new) - 1


def _nd_3d_distinct(Y: np.ndarray) -> np.ndarray:
    """Y distinct rows sorted lexicographically descending. Staircase sweep."""
    xs1: list[float] = []  # staircase: x1 strictly increasing, x2 strictly decreasing
    xs2: list[float] = []
    out = np.zeros(len(Y), dtype=bool)
    for i, (_, a, b) in enumerate(Y.tolist()):
        pos = bisect.bisect_left(xs1, a)
        if pos < len(xs1) and xs2[pos] >= b:
            continue  # an earlier (x0 >=) distinct point has x1 >= a and x2 >= b
        out[i] = True
        hi = bisect.bisect_right(xs1, a)
        lo = hi
        while lo > 0 and xs2[lo - 1] <= b:
            lo -= 1
        xs1[lo:hi] = [a]
        xs2[lo:hi] = [b]
    return out


def _nd_block_distinct(Y: np.ndarray) -> np.ndarray:
    """Y distinct rows in dominator-first order. Block-vectorised comparison to the front."""
    m, d = Y.shape
    out = np.zeros(m, dtype=bool)
    front = np.empty((m, d))
    f = 0
    start = 0
    while start < m:
        b = int(max(64, min(2048, 4_000_000 // max(f, 1))))
        block = Y[start:start + b]
        alive = np.ones(len(block), dtype=bool)
        if f:
            ge = front[:f, 0][:, None] >= block[None, :, 0]
            for k in range(1, d):
                ge &= front[:f, k][:, None] >= block[None, :, k]
            alive = ~ge.any(axis=0)
        cand = np.flatnonzero(alive)
        if cand.size:
            c = block[cand]
            ge = c[:, None, 0] >= c[None, :, 0]
            for k in range(1, d):
                ge &= c[:, None, k] >= c[None, :, k]
            np.fill_diagonal(ge, False)  # distinct rows: ge off the diagonal means dominance
            keep = cand[~ge.any(axis=0)]
            out[start + keep] = True
            front[f:f + keep.size] = block[keep]
            f += keep.size
        start += len(block)
    return out


def _front_exact(X: np.ndarray) -> np.ndarray:
    """Front mask of ``X`` (m, d >= 2) without culling: sort, merge duplicates, sweep or blocks."""
    d = X.shape[1]
    if d == 2:
        return _nd_2d(X)
    if d == 3:
        order = np.lexsort((-X[:, 2], -X[:, 1], -X[:, 0]))
    else:
        order = _dominator_first_order(X)
    Ys = X[order]
    run = _dedupe_sorted(Ys)
    first_of_run = np.flatnonzero(np.r_[True, run[1:] != run[:-1]])
    distinct = Ys[first_of_run]
    nd_distinct = _nd_3d_distinct(distinct) if d == 3 else _nd_block_distinct(distinct)
    out = np.zeros(X.shape[0], dtype=bool)
    out[order] = nd_distinct[run]
    return out


def nondominated_mask(X) -> np.ndarray:
    """Boolean mask of the non-dominated rows of a larger-is-better matrix ``X`` (n, d)."""
    X = _check(X)
    n, d = X.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    if d == 1:
        return _nd_1d(X[:, 0])
    if n < _CULL_MIN_N:
        return _front_exact(X)
    cand = _cull(X)
    if d >= 3 and cand.size >= _CULL_MIN_N:
        cand = cand[~_multi_pivot_cull(X[cand])]
    out = np.zeros(n, dtype=bool)
    out[cand] = _front_exact(X[cand])
    return out


# --------------------------------------------------------------------------- layers
def nondominated_layers(X, max_layer: int | None = None) -> np.ndarray:
    """Non-dominated sorting: layer 1 = frontier, layer 2 = frontier once layer 1 is removed...

    With ``max_layer`` the rows deeper than ``max_layer`` get ``max_layer + 1``. Identical rows
    share their layer. 1 objective: the rank among the distinct values; 2 or more: moocore's
    ``pareto_rank`` (C; Jensen's O(n log n) sweep for 2 objectives, one front at a time above).
    """
    X = _check(X)
    n, d = X.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if d == 1:
        layer = np.unique(-X[:, 0], return_inverse=True)[1].reshape(-1) + 1
    else:
        import moocore

        layer = moocore.pareto_rank(X, maximise=True) + 1
    layer = layer.astype(np.int64, copy=False)
    if max_layer is not None:
        layer = np.minimum(layer, max_layer + 1)
    return layer


# --------------------------------------------------------------------------- dominators
DOMINATOR_SAMPLE = 10
_BLOCK_CELLS = 1 << 22  # comparisons per vectorised block: bounds the extra memory


@dataclass(frozen=True)
class Dominators:
    """Who dominates the requested rows: an exact count and a bounded sample per row."""

    rows: np.ndarray  # (k,) the requested row indices
    count: np.ndarray  # (k,) exact number of rows that dominate each requested row
    sample: list[np.ndarray]  # per requested row, its ``limit`` smallest dominator indices, ascending


def _check_rows(rows, n: int) -> np.ndarray:
    rows = np.arange(n) if rows is None else np.asarray([int(r) for r in rows], dtype=np.int64)
    bad = rows[(rows < 0) | (rows >= n)]
    if bad.size:
        raise ConfigError(f"row index must be in [0, {n}), got {int(bad[0])}")
    return rows


def _dominates_rows(C: np.ndarray, P: np.ndarray) -> np.ndarray:
    """M[i, j] = candidate j (column j of ``C``, shape (d, m)) dominates row i of ``P`` (k, d)."""
    ge = C[0][None, :] >= P[:, 0, None]
    gt = C[0][None, :] > P[:, 0, None]
    for k in range(1, C.shape[0]):
        ge &= C[k][None, :] >= P[:, k, None]
        gt |= C[k][None, :] > P[:, k, None]
    return ge & gt


def dominators(X, rows: Sequence[int] | None = None, *, limit: int | None = DOMINATOR_SAMPLE) -> Dominators:
    """Exact dominator count and the ``limit`` smallest dominator indices of each requested row
    (default: all rows; ``limit=None`` keeps every dominator).

    Time O(k n d) for k requested rows (only rows with a normalised sum at least the row's are
    compared: a dominator never has a smaller one); extra memory O(n d + 2^22) plus the samples.
    """
    X = _check(X)
    n = X.shape[0]
    rows = _check_rows(rows, n)
    count = np.zeros(rows.size, dtype=np.int64)
    sample: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * rows.size
    if n == 0 or rows.size == 0:
        return Dominators(rows=rows, count=count, sample=sample)
    neg_score = -_sum_score(X)
    order = np.argsort(neg_score, kind="stable")
    sorted_neg = neg_score[order]
    C = np.ascontiguousarray(X[order].T)
    req = np.argsort(neg_score[rows], kind="stable")  # best requested rows first: short prefixes
    block = max(1, _BLOCK_CELLS // n)
    for start in range(0, req.size, block):
        blk = req[start:start + block]
        r = rows[blk]
        prefix = int(np.searchsorted(sorted_neg, neg_score[r].max(), side="right"))
        M = _dominates_rows(C[:, :prefix], X[r])
        count[blk] = M.sum(axis=1)
        for i, hit in zip(blk, M):
            found = np.sort(order[:prefix][hit])
            sample[i] = found if limit is None else found[:limit]
    return Dominators(rows=rows, count=count, sample=sample)


def dominated_by(X, rows: Sequence[int] | None = None) -> list[np.ndarray]:
    """For each requested row (default: all), the sorted indices of every row that dominates it.

    O(k n d) time for k rows and output as large as the dominance relation (up to ~n^2 / 2
    indices for all rows): on large tables use :func:`dominators` (a count and a bounded sample).
    """
    return dominators(X, rows, limit=None).sample


@dataclass(frozen=True)
class ParetoResult:
    """Exact analysis of one table: frontier membership and layer of every row."""

    on_frontier: np.ndarray  # bool (n,)
    layer: np.ndarray  # int (n,), 1 = frontier

    @property
    def n_layers(self) -> int:
        return int(self.layer.max()) if self.layer.size else 0


def pareto_analysis(X) -> ParetoResult:
    """Frontier membership and layers of a larger-is-better matrix (dominators: :func:`dominated_by`)."""
    layer = nondominated_layers(X)
    return ParetoResult(on_frontier=layer == 1, layer=layer)


# --------------------------------------------------------------------------- hardware
@dataclass(frozen=True)
class HardwareFrontiers:
    """Frontier per hardware and the combined view."""

    per_hardware: dict[str, np.ndarray]  # name -> bool mask (n,)
    on_every: np.ndarray  # efficient on every hardware
    on_some: np.ndarray  # efficient on at least one hardware


def hardware_frontiers(
    table: Mapping[str, Sequence[float]],
    hardware: Mapping[str, Sequence[Objective]],
    common: Sequence[Objective] = (),
) -> HardwareFrontiers:
    """Frontier per hardware: the ``common`` objectives (e.g. accuracy) plus that hardware's own
    objectives (e.g. its throughput); ``on_every`` / ``on_some`` combine them.

    ``table`` maps column names to equal-length 1-D arrays (no missing values).
    """
    if not hardware:
        raise ConfigError("hardware: give at least one NAME=COLUMN:max|min,... mapping")
    per: dict[str, np.ndarray] = {}
    for name, objs in hardware.items():
        objs = list(common) + list(objs)
        per[name] = nondominated_mask(oriented_matrix(table, objs))
    masks = np.vstack(list(per.values()))
    return HardwareFrontiers(per_hardware=per, on_every=masks.all(axis=0), on_some=masks.any(axis=0))
