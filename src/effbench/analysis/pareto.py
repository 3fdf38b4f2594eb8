"""Exact Pareto analysis: non-dominated set, non-dominated sorting into layers, dominators.

Every function takes a "larger is better" matrix ``X`` of shape ``(n_models, n_objectives)``
(build it with :func:`effbench.analysis.objectives.oriented_matrix`). Row ``a`` *dominates*
row ``b`` when ``a >= b`` in every objective and ``a > b`` in at least one. Ties are explicit:
identical rows never dominate each other, so exact duplicates of a frontier model are all
on the frontier (and share every layer).

Algorithms (pure: no I/O; numpy, and moocore's C code, picked by measurement: docs/pareto.md):

- 1 objective: the rows equal to the maximum.
- Front, n >= 4096: first a cull, unless over half of a 1,024-row strided sample is on its own
  front (then a cull cannot pay). A pivot (the row of a strided sample whose min-max
  normalised values have the largest product: it dominates the largest box) removes, in one
  vectorised pass over strided columns, every row it dominates; repeated while a pass removes
  >= 1% of what remains (for 10^6 uniform points in 4-D, ~4% remain). Only dominated rows go.
- Front, exact stage: moocore's ``is_nondominated(keep_weakly=True)`` (C; O(n log n) for 2
  and 3 objectives) on what the cull left: duplicates of a front row are all kept. It beats
  our own numpy sweeps (Kung's 2-D sweep, a 3-D staircase, 4+-D block comparison) 2 to 15 x.
- Layers: moocore's ``pareto_rank`` (C): Jensen's O(n log n) sweep for 2 objectives, one
  front at a time for 3+ (O(L n log n) for L layers). Measured faster than our own numpy
  prefix bitsets and than peeling with our own front (see docs/pareto.md).
- Front and layers, 2 and 3 objectives, from 4,096 rows: the rows go to moocore ordered by the
  last objective (its sweeps sort by it, and run faster on ordered rows than our argsort costs).
- Dominator counts of every row (:func:`dominance_counts`, ours, numpy): a row's dominators are
  the rows >= it less the rows equal to it. 2 objectives: a bottom-up merge over the distinct
  rows in decreasing lexicographic order, O(n log^2 n); 3+: per-column bitsets of stored
  prefixes ANDed and popcounted, O(n^2 d / 64) with small constants, 64 MB of bitsets at most.
- Dominators of requested rows: an exact count and a bounded sample (the smallest indices).
  A table's few rows: one blocked pass, O(k n d). Many rows: the counts above, then per bucket
  of counts [c, 2c) a scan in row order of only the rows with a smaller count (a dominator has
  fewer dominators), each row leaving when its sample is full.
"""

from __future__ import annotations

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


# --------------------------------------------------------------------------- non-dominated set
_SAMPLE = 1024  # rows of the strided sample that decides whether a cull can pay


def _front_heavy(X: np.ndarray) -> bool:
    """True when over half of a strided sample is non-dominated (e.g. points on a sphere): a
    pivot would remove next to nothing, so the cull is skipped."""
    import moocore

    sample = X[::max(1, X.shape[0] // _SAMPLE)]
    return bool(moocore.is_nondominated(sample, maximise=True, keep_weakly=True).mean() > 0.5)


_PRESORT_MIN_N = 4096  # from this many rows, 2 and 3 objectives are handed to moocore presorted (below: no gain)


def _presorted(fn, X: np.ndarray) -> np.ndarray:
    """``fn(X)``, a result per row, computed on the rows ordered by the last objective, best first.

    moocore's 2- and 3-objective sweeps (front and layers) sort by that objective, and their sort
    and sweep run faster on ordered rows than our argsort and gather cost (docs/pareto.md)."""
    n, d = X.shape
    if d > 3 or n < _PRESORT_MIN_N:
        return fn(X)
    order = np.argsort(X[:, -1])[::-1]
    part = fn(X[order])
    out = np.empty_like(part)
    out[order] = part
    return out


def _exact_front(X: np.ndarray) -> np.ndarray:
    """moocore's ``is_nondominated(keep_weakly=True)``, maximising in place (no negated copy)."""
    import moocore

    return _presorted(lambda Y: moocore.is_nondominated(Y, maximise=True, keep_weakly=True), X)


def nondominated_mask(X) -> np.ndarray:
    """Boolean mask of the non-dominated rows of a larger-is-better matrix ``X`` (n, d)."""
    X = _check(X)
    n, d = X.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    if d == 1:
        return X[:, 0] == X[:, 0].max()
    if n < _CULL_MIN_N or _front_heavy(X):
        return _exact_front(X)
    cand = _cull(X)
    out = np.zeros(n, dtype=bool)
    out[cand] = _exact_front(X[cand])  # duplicates all kept
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

        layer = _presorted(lambda Y: moocore.pareto_rank(Y, maximise=True), X) + 1
    layer = layer.astype(np.int64, copy=False)
    if max_layer is not None:
        layer = np.minimum(layer, max_layer + 1)
    return layer


def leading_layers(X, rows: int) -> tuple[np.ndarray, int]:
    """The first layers, as many as it takes to rank at least ``rows`` rows: ``(layer, depth)``.

    Layers ``1..depth`` are those of :func:`nondominated_layers`; the rows deeper get ``depth + 1``
    (``depth`` = the number of layers when every row is ranked). Fronts are peeled with
    :func:`nondominated_mask` (culled, then moocore) one at a time, so a table of the first 25 rows
    of 10^6 costs one or two fronts instead of every layer. 1 objective: every layer (cheap).
    """
    X = _check(X)
    n, d = X.shape
    if n == 0 or d == 1 or rows >= n:
        layer = nondominated_layers(X)
        return layer, int(layer.max()) if n else 0
    layer = np.zeros(n, dtype=np.int64)
    rest = np.arange(n)
    depth = ranked = 0
    while ranked < max(rows, 1) and rest.size:
        depth += 1
        front = nondominated_mask(X if rest.size == n else X[rest])  # no copy for the first front
        layer[rest[front]] = depth
        ranked += int(np.count_nonzero(front))
        rest = rest[~front]
    layer[rest] = depth + 1
    return layer, depth


# --------------------------------------------------------------------------- dominators
DOMINATOR_SAMPLE = 10
_BLOCK_CELLS = 1 << 20  # comparisons per vectorised block: bounds the extra memory
_FEW_ROWS = 64  # up to this many requested rows, dominators() scans X as it is (no sorted copy)


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

    Up to 64 rows (a table's): one blocked pass over ``X``, O(k n d). More rows: every row's count
    by :func:`dominance_counts`, then the samples by :func:`_first_dominators`, which scans, in row
    order, only the rows that can dominate (their count is smaller) and stops a row once it has its
    sample. Extra memory O(n d) plus the samples (and the count's own, see there).
    """
    X = _check(X)
    n = X.shape[0]
    rows = _check_rows(rows, n)
    count = np.zeros(rows.size, dtype=np.int64)
    sample: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * rows.size
    if n == 0 or rows.size == 0:
        return Dominators(rows=rows, count=count, sample=sample)
    if rows.size <= _FEW_ROWS:
        return _few_dominators(X, rows, limit)
    counts = dominance_counts(X)
    count = counts[rows]
    need = count if limit is None else np.minimum(count, limit)
    return Dominators(rows=rows, count=count, sample=_first_dominators(X, rows, need, counts))


def _few_dominators(X: np.ndarray, rows: np.ndarray, limit: int | None) -> Dominators:
    """:func:`dominators` for a few rows (a table's): one pass over the rows in index order, a block
    of candidates at a time, with no sorted copy of ``X`` (extra memory O(2^20) plus the samples)."""
    n, d = X.shape
    P = X[rows]
    count = np.zeros(rows.size, dtype=np.int64)
    found: list[list[np.ndarray]] = [[] for _ in range(rows.size)]
    kept = np.zeros(rows.size, dtype=np.int64)  # dominators sampled so far, per row
    step = max(1, _BLOCK_CELLS // rows.size)
    for start in range(0, n, step):
        M = _dominates_rows(np.ascontiguousarray(X[start:start + step].T), P)
        count += M.sum(axis=1)
        for i in np.flatnonzero(M.any(axis=1)):
            if limit is None or kept[i] < limit:
                hit = np.flatnonzero(M[i])[: None if limit is None else limit - kept[i]] + start
                found[i].append(hit)
                kept[i] += hit.size
    sample = [np.concatenate(f) if f else np.zeros(0, dtype=np.int64) for f in found]
    return Dominators(rows=rows, count=count, sample=sample)


def dominated_by(X, rows: Sequence[int] | None = None) -> list[np.ndarray]:
    """For each requested row (default: all), the sorted indices of every row that dominates it.

    O(k n d) time for k rows and output as large as the dominance relation (up to ~n^2 / 2
    indices for all rows): on large tables use :func:`dominators` (a count and a bounded sample).
    """
    return dominators(X, rows, limit=None).sample


def _first_dominators(X: np.ndarray, rows: np.ndarray, need: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    """The ``need[i]`` smallest dominator indices of each row ``rows[i]`` (every row's exact
    dominator count given as ``counts``).

    A dominator of a row has fewer dominators than the row (its own dominators dominate the row
    too, and so does it), so the rows are taken in buckets of counts [c, 2c) and each bucket is
    scanned, in row order and in blocks, against only the rows with a smaller count; a row leaves
    the scan as soon as it has ``need`` dominators, which are then its smallest-index ones."""
    k = rows.size
    todo = np.flatnonzero(need > 0)
    hit_row: list[np.ndarray] = []
    hit_col: list[np.ndarray] = []
    if todo.size:
        todo = todo[np.argsort(counts[rows[todo]], kind="stable")]
        row_counts = counts[rows[todo]]
        lo = 0
        while lo < todo.size:
            hi = int(np.searchsorted(row_counts, 2 * row_counts[lo], side="left"))
            bucket = todo[lo:max(hi, lo + 1)]
            cands = np.flatnonzero(counts < row_counts[max(hi, lo + 1) - 1])  # row order
            # a row with count >= c0 among N candidates in random order has its first `need` dominators
            # within about need N / c0 of them: the first block is sized for that, the next ones double
            first = -(-2 * int(need[bucket].max()) * cands.size // max(1, int(row_counts[lo])))
            r, c = _scan_first(X, rows[bucket], need[bucket], cands, first)
            hit_row.append(bucket[r])
            hit_col.append(c)
            lo = max(hi, lo + 1)
    r = np.concatenate(hit_row) if hit_row else np.zeros(0, dtype=np.int64)
    c = np.concatenate(hit_col) if hit_col else np.zeros(0, dtype=np.int64)
    c = c[np.argsort(r, kind="stable")]  # per row, the scan found them in row order
    ends = np.cumsum(np.bincount(r, minlength=k)).tolist()
    return [c[a:b] for a, b in zip([0] + ends[:-1], ends)]


def _scan_first(X: np.ndarray, rows: np.ndarray, need: np.ndarray, cands: np.ndarray,
                first: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) pairs: for each ``rows[i]``, its first ``need[i]`` dominators among ``cands`` (ascending);
    blocks of ``first`` candidates, doubling (at most 2^20 comparisons a block)."""
    P = X[rows]
    found = np.zeros(rows.size, dtype=np.int64)
    active = np.arange(rows.size)
    out_r: list[np.ndarray] = []
    out_c: list[np.ndarray] = []
    start = 0
    size = max(1, first)
    while active.size and start < cands.size:
        block = cands[start:start + max(1, min(size, _BLOCK_CELLS // active.size))]
        start += block.size
        size *= 2
        M = _dominates_rows(np.ascontiguousarray(X[block].T), P[active])
        r, c = np.nonzero(M)  # row-major: per row, candidates in row order
        if r.size:
            first = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
            rank = np.arange(r.size) - np.repeat(first, np.diff(np.r_[first, r.size]))
            keep = rank < (need - found)[active][r]
            out_r.append(active[r[keep]])
            out_c.append(block[c[keep]])
            found[active] += np.bincount(r[keep], minlength=active.size)
        active = active[found[active] < need[active]]
    empty = np.zeros(0, dtype=np.int64)
    return (np.concatenate(out_r) if out_r else empty), (np.concatenate(out_c) if out_c else empty)


# --------------------------------------------------------------------------- dominator counts
_BITSET_BYTES = 64 << 20  # memory for the prefix bitsets of dominance_counts (3+ objectives)
_MIN_STRIDE = 8  # the stored prefixes are every s-th place, s >= this


def dominance_counts(X) -> np.ndarray:
    """The exact number of rows that dominate each row of a larger-is-better matrix ``X`` (n, d).

    A row's dominators are the rows ``>=`` it everywhere, less the rows equal to it (itself
    included), so rows are counted on their ranks per column (ties exact):

    - 1 objective: the rows with a larger value, O(n log n).
    - 2 objectives: the distinct rows in decreasing lexicographic order (a dominator always comes
      first), and for each the weighted count of earlier rows with a second value ``>=`` its own,
      by a bottom-up merge of blocks: O(n log^2 n) (one sort per level).
    - 3+ objectives: per column, bitsets of the rows ranked in the first ``c s`` places (every
      ``s``-th prefix, ``s`` chosen to hold them in 64 MB or 4 x the matrix, whichever is larger);
      a row's count is the popcount of the AND of its d prefixes plus the at most ``s - 1`` rows per
      column between the stored prefix and its own: O(n^2 d / 64 + n d^2 s) time.
    """
    X = _check(X)
    n, d = X.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    R = _ranks(X)
    if d == 1:
        return n - np.searchsorted(np.sort(R[:, 0]), R[:, 0], side="right")
    if d == 2:
        return _counts_2d(R)
    return _weak_counts_bitset(R) - _multiplicity(R)


def _ranks(X: np.ndarray) -> np.ndarray:
    """(n, d) dense ranks per column (0 = smallest; equal values, equal ranks)."""
    R = np.empty(X.shape, dtype=np.int64)
    for k in range(X.shape[1]):
        R[:, k] = np.unique(X[:, k], return_inverse=True)[1].reshape(-1)
    return R


def _multiplicity(R: np.ndarray) -> np.ndarray:
    """How many rows equal each row (itself included)."""
    order = np.lexsort(R.T[::-1])
    S = R[order]
    new = np.r_[True, (S[1:] != S[:-1]).any(axis=1)]
    group = np.cumsum(new) - 1
    out = np.empty(R.shape[0], dtype=np.int64)
    out[order] = np.bincount(group)[group]
    return out


def _counts_2d(R: np.ndarray) -> np.ndarray:
    key = R[:, 0] * (int(R[:, 1].max()) + 1) + R[:, 1]
    uniq, inv, mult = np.unique(key, return_inverse=True, return_counts=True)
    # decreasing lexicographic order: a dominator of a distinct row comes before it
    second = (uniq % (int(R[:, 1].max()) + 1))[::-1]
    dom = _earlier_ge(second, mult[::-1])[::-1]
    return dom[inv.reshape(-1)]


def _earlier_ge(key: np.ndarray, w: np.ndarray) -> np.ndarray:
    """res[i] = sum of w[j] over j < i with key[j] >= key[i] (bottom-up merge of blocks: at each
    level, a block's right half is counted against its left half, both ordered by key)."""
    m = key.size
    res = np.zeros(m, dtype=np.int64)
    K = int(key.max()) + 1 if m else 1
    idx = np.arange(m, dtype=np.int64)
    desc = (K - 1 - key) * 2
    s = 1
    while s < m:
        pair = idx // (2 * s)
        right = (idx // s) & 1
        order = np.argsort(pair * (2 * K) + desc + right)  # per pair: key descending, left half first on ties
        r = right[order]
        lw = np.where(r == 0, w[order], 0)
        before = np.cumsum(lw) - lw
        before -= before[pair[order] * (2 * s)]  # pairs stay contiguous: pair t starts at 2 s t
        res[order[r == 1]] += before[r == 1]
        s *= 2
    return res


def _weak_counts_bitset(R: np.ndarray) -> np.ndarray:
    """How many rows are >= each row everywhere (itself and its duplicates included)."""
    n, d = R.shape
    words = (n + 63) // 64
    budget = max(_BITSET_BYTES, 4 * 8 * n * d)  # 64 MB, or 4 x the matrix: the gaps stay near n / 64 d
    s = max(_MIN_STRIDE, -(-n // max(1, budget // (8 * d * words) - 1)))
    checkpoints = n // s + 1
    order = np.empty((d, n), dtype=np.int64)
    pos = np.empty((d, n), dtype=np.int32)  # place of each row in each column's decreasing order
    prefix = np.empty((d, n), dtype=np.int32)  # how many rows are >= the row in that column
    bits = []
    ids = np.arange(n, dtype=np.int64)
    one = np.left_shift(np.uint64(1), (ids & 63).astype(np.uint64))
    for k in range(d):
        order[k] = np.argsort(-R[:, k], kind="stable")
        pos[k, order[k]] = ids
        prefix[k] = n - np.searchsorted(np.sort(R[:, k]), R[:, k], side="left")
        step = np.zeros((checkpoints, words), dtype=np.uint64)  # row c: the rows at places [(c-1)s, cs)
        at = pos[k] // s + 1
        inside = at < checkpoints
        np.bitwise_or.at(step, (at[inside], ids[inside] >> 6), one[inside])
        bits.append(np.bitwise_or.accumulate(step, axis=0))  # row c: the rows at places [0, cs)
    out = np.empty(n, dtype=np.int64)
    block = max(1, min(n, (1 << 21) // max(words, s * d)))
    offsets = np.arange(s, dtype=np.int64)
    for start in range(0, n, block):
        q = slice(start, start + block)
        c = prefix[:, q] // s  # (d, b) the stored prefix below each row's own, per column
        acc = bits[0][c[0]]
        for k in range(1, d):
            acc &= bits[k][c[k]]
        total = np.bitwise_count(acc).sum(axis=1, dtype=np.int64)
        for k in range(d):  # the rows between the stored prefix and the row's own, each counted once
            place = c[k][:, None] * s + offsets
            ok = place < prefix[k, q][:, None]
            J = order[k][np.minimum(place, n - 1)]  # (b, s)
            for k2 in range(d):
                P = pos[k2][J]
                ok &= P < prefix[k2, q][:, None]
                if k2 < k:  # counted already for column k2 when it lies past k2's stored prefix
                    ok &= P < (c[k2] * s)[:, None]
            total += np.count_nonzero(ok, axis=1)
        out[q] = total
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
