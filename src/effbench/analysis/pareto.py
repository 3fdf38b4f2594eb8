"""Exact Pareto analysis: non-dominated set, non-dominated sorting into layers, dominators.

Every function takes a "larger is better" matrix ``X`` of shape ``(n_models, n_objectives)``
(build it with :func:`effbench.analysis.objectives.oriented_matrix`). Row ``a`` *dominates*
row ``b`` when ``a >= b`` in every objective and ``a > b`` in at least one. Ties are explicit:
identical rows never dominate each other, so exact duplicates of a frontier model are all
on the frontier (and share every layer).

Algorithms (pure numpy, no I/O):

- 1 objective: the rows equal to the maximum.
- 2 objectives: the O(n log n) sweep (sort by the first objective, running maximum of the
  second; Kung, Luccio & Preparata 1975).
- 3 objectives: the O(n log n) sweep with a sorted staircase of the last two objectives.
- 4+ objectives: sort so that every dominator precedes what it dominates (sum of the
  min-max normalised objectives, then lexicographic), and compare vectorised blocks
  against the frontier found so far (it stays small for typical data; O(n^2 d) when
  every point is non-dominated).
- Large inputs (n > 4096) first go through a cheap cull: the best remaining point by the
  normalised sum removes, in one vectorised pass, every point it dominates; repeated while
  a pass removes at least 1% of what remains. For 10^6 uniform points in 4-D it leaves ~2%.
- Layers and dominator lists for n <= ``BITSET_MAX_N``: per objective a prefix bitset of
  the sort order; the AND over objectives is the dominator set of each row (n^2/64 words
  per objective), and layers are peeled from it. Larger n: repeated peeling of the
  frontier with :func:`nondominated_mask`, and dominators computed per requested row.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from effbench.analysis.objectives import Objective, oriented_matrix
from effbench.errors import ConfigError, DataError

BITSET_MAX_N = 12_000
_CULL_MIN_N = 4096
_ONE = np.uint64(1)


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


# --------------------------------------------------------------------------- bitsets
def dominator_bitsets(X) -> np.ndarray:
    """Dominator sets as bitsets: ``D[i]`` (``ceil(n/64)`` uint64 words) has bit ``j`` set iff
    row ``j`` dominates row ``i``. Memory ``n * ceil(n/64) * 8`` bytes per array."""
    X = _check(X)
    n, d = X.shape
    words = max(1, (n + 63) // 64)
    rows = np.arange(n)
    own_word = rows >> 6
    own_bit = np.left_shift(_ONE, (rows & 63).astype(np.uint64))
    ge = None
    eq = None
    unique_somewhere = False
    prefixes = []
    for k in range(d):
        col = X[:, k]
        order = np.argsort(-col, kind="stable")
        z = np.zeros((n + 1, words), dtype=np.uint64)
        z[rows + 1, order >> 6] = np.left_shift(_ONE, (order & 63).astype(np.uint64))
        prefix = np.bitwise_or.accumulate(z, axis=0)  # prefix[r] = the r best rows
        neg_sorted = -col[order]
        hi = np.searchsorted(neg_sorted, -col, side="right")  # number of rows >= col
        g = prefix[hi]
        ge = g if ge is None else ge & g
        if not unique_somewhere and not np.any(neg_sorted[1:] == neg_sorted[:-1]):
            unique_somewhere = True
        prefixes.append((prefix, neg_sorted, hi))
    if unique_somewhere:  # no duplicate rows: only the row itself is "equal"
        ge[rows, own_word] &= ~own_bit
        return ge
    for k, (prefix, neg_sorted, hi) in enumerate(prefixes):
        lo = np.searchsorted(neg_sorted, -X[:, k], side="left")  # rows strictly better
        e = prefix[hi] & ~prefix[lo]
        eq = e if eq is None else eq & e
    return ge & ~eq


def _bits_to_indices(row_bits: np.ndarray, n: int) -> np.ndarray:
    bits = np.unpackbits(row_bits.astype("<u8").view(np.uint8), bitorder="little")[:n]
    return np.flatnonzero(bits)


def layers_from_bitsets(D: np.ndarray, max_layer: int | None = None) -> np.ndarray:
    """Non-dominated sorting from dominator bitsets (see :func:`dominator_bitsets`).

    Returns 1-based layers; with ``max_layer`` peeling stops there and the remaining rows
    get ``max_layer + 1`` ("deeper than max_layer")."""
    n = D.shape[0]
    layer = np.zeros(n, dtype=np.int64)
    remaining = np.arange(n)
    rem_bits = np.zeros(D.shape[1], dtype=np.uint64)
    np.bitwise_or.at(rem_bits, remaining >> 6, np.left_shift(_ONE, (remaining & 63).astype(np.uint64)))
    d_rem = D
    current = 0
    while remaining.size:
        current += 1
        if max_layer is not None and current > max_layer:
            layer[remaining] = max_layer + 1
            break
        free = ~np.any(d_rem & rem_bits, axis=1)
        peeled = remaining[free]
        if peeled.size == 0:  # pragma: no cover - impossible for a strict partial order
            raise RuntimeError("dominance cycle")
        layer[peeled] = current
        np.bitwise_xor.at(rem_bits, peeled >> 6, np.left_shift(_ONE, (peeled & 63).astype(np.uint64)))
        keep = ~free
        remaining = remaining[keep]
        d_rem = d_rem[keep]
    return layer


# --------------------------------------------------------------------------- layers, dominators
def nondominated_layers(X, max_layer: int | None = None) -> np.ndarray:
    """Non-dominated sorting: layer 1 = frontier, layer 2 = frontier once layer 1 is removed...

    With ``max_layer`` the rows deeper than ``max_layer`` get ``max_layer + 1``.
    """
    X = _check(X)
    n = X.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n <= BITSET_MAX_N:
        return layers_from_bitsets(dominator_bitsets(X), max_layer=max_layer)
    layer = np.zeros(n, dtype=np.int64)
    remaining = np.arange(n)
    current = 0
    while remaining.size:
        current += 1
        if max_layer is not None and current > max_layer:
            layer[remaining] = max_layer + 1
            break
        nd = nondominated_mask(X[remaining])
        layer[remaining[nd]] = current
        remaining = remaining[~nd]
    return layer


def dominated_by(X, rows: Sequence[int] | None = None) -> list[np.ndarray]:
    """For each requested row (default: all), the sorted indices of the rows that dominate it.

    Worst case O(n^2) in total; ask only for the rows you show when n is large.
    """
    X = _check(X)
    n = X.shape[0]
    rows = list(range(n)) if rows is None else [int(r) for r in rows]
    for r in rows:
        if not 0 <= r < n:
            raise ConfigError(f"row index must be in [0, {n}), got {r}")
    if n <= BITSET_MAX_N and len(rows) > 8:
        D = dominator_bitsets(X)
        return [_bits_to_indices(D[r], n) for r in rows]
    out = []
    for r in rows:
        p = X[r]
        out.append(np.flatnonzero(np.all(X >= p, axis=1) & np.any(X > p, axis=1)))
    return out


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
