"""CPU order statistics along axis 1 of a 2-D (M, K) array: argmax/argmin, sort, topk, median.

argmax/argmin take the vectorised extreme of each row (or row chunk, when threads split a long
row) and then its first position; column-major input updates a tile of running (value, index)
pairs row by row instead. One stable merge sort (insertion-sorted runs, then bottom-up merges of value/index pairs) serves
all three: NaN sorts as the largest value (torch), ``descending`` is a reversed comparison rather
than a reversed result (so equal keys keep their input order either way), and non-stable requests
get the stable order too (a valid answer). topk with small k keeps a sorted buffer of the k best
instead of sorting the whole row, with the same tie order as the sort. Rows are copied into a
contiguous buffer first, so any strides work; threads split rows.

>>> import numpy as np
>>> v, i = np.empty((1, 3)), np.empty((1, 3), np.int64)
>>> sort_rows(np.array([[2.0, np.nan, 1.0]]), v, i, descending=False, stable=True); v, i
(array([[ 1.,  2., nan]]), array([[2, 0, 1]]))
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from kernels.cpu.reduce import LEAF, PAR_MIN, col_view, ext_1d, isnan, plan, row_view, tiles

__all__ = ["arg_reduce_rows", "median_rows", "sort_rows", "topk_rows"]

RUN = 16  # insertion-sorted run length before merging
TOPK_BUF = 64  # topk with k up to this keeps a buffer instead of sorting the row


@njit(cache=True)
def _before(a, b, desc):
    """a strictly precedes b; NaN counts as the largest value."""
    if desc:
        return a > b or (isnan(a) and not isnan(b))
    return a < b or (isnan(b) and not isnan(a))


@njit(**LEAF)
def _insertion(v, ix, s, e, desc):
    for j in range(s + 1, e):
        x, xi = v[j], ix[j]
        p = j
        while p > s and _before(x, v[p - 1], desc):
            v[p], ix[p] = v[p - 1], ix[p - 1]
            p -= 1
        v[p], ix[p] = x, xi


@njit(**LEAF)
def _merge(sv, si, dv, di, s, mid, e, desc):
    """Stable merge of sv[s:mid] and sv[mid:e] into dv[s:e]: right wins only if strictly first."""
    i, j = s, mid
    for p in range(s, e):
        if j < e and (i >= mid or _before(sv[j], sv[i], desc)):
            dv[p], di[p] = sv[j], si[j]
            j += 1
        else:
            dv[p], di[p] = sv[i], si[i]
            i += 1


@njit(**LEAF)
def _msort(v, ix, tv, ti, desc):
    """Stable sort of v (carrying ix) in place; tv/ti are scratch of the same length."""
    n = v.shape[0]
    for s in range(0, n, RUN):
        _insertion(v, ix, s, min(s + RUN, n), desc)
    w, flip = RUN, False
    while w < n:
        sv, si, dv, di = (tv, ti, v, ix) if flip else (v, ix, tv, ti)
        for s in range(0, n, 2 * w):
            _merge(sv, si, dv, di, s, min(s + w, n), min(s + 2 * w, n), desc)
        flip = not flip
        w *= 2
    if flip:
        for j in range(n):  # (a slice copy would need the refcounting runtime)
            v[j], ix[j] = tv[j], ti[j]


@njit(**LEAF)
def _load(x, i, v, ix):
    for j in range(v.shape[0]):
        v[j] = x[i, j]
        ix[j] = j


@njit(cache=True)
def _sort_rows(x, ov, oi, desc, lo, hi):
    k = x.shape[1]
    v, ix = np.empty(k, x.dtype), np.empty(k, np.int64)
    tv, ti = np.empty_like(v), np.empty_like(ix)
    for i in range(lo, hi):
        _load(x, i, v, ix)
        _msort(v, ix, tv, ti, desc)
        ov[i, :] = v[: ov.shape[1]]
        oi[i, :] = ix[: oi.shape[1]]


@njit(**LEAF)
def _topk_buf(x, ov, oi, desc, lo, hi):
    """Sorted buffer of the k best: a new value enters only if strictly before the k-th."""
    kk, k = x.shape[1], ov.shape[1]
    for i in range(lo, hi):
        bv, bi = ov[i], oi[i]
        n = 0
        for j in range(kk):
            v = x[i, j]
            if n == k and not _before(v, bv[k - 1], desc):
                continue
            p = min(n, k - 1)
            while p > 0 and _before(v, bv[p - 1], desc):
                bv[p], bi[p] = bv[p - 1], bi[p - 1]
                p -= 1
            bv[p], bi[p] = v, j
            n = min(n + 1, k)


@njit(cache=True)
def _median(x, ov, oi, lo, hi):
    k = x.shape[1]
    v, ix = np.empty(k, x.dtype), np.empty(k, np.int64)
    tv, ti = np.empty_like(v), np.empty_like(ix)
    for i in range(lo, hi):
        nan = -1
        for j in range(k):
            if isnan(x[i, j]):
                nan = j
                break
        if nan >= 0:  # torch: NaN propagates, index of the first NaN
            ov[i], oi[i] = x[i, nan], nan
            continue
        _load(x, i, v, ix)
        _msort(v, ix, tv, ti, False)
        ov[i], oi[i] = v[(k - 1) // 2], ix[(k - 1) // 2]


@njit(parallel=True, **LEAF)
def _par(kind, x, ov, oi, desc, nt):
    m = x.shape[0]
    for p in prange(nt):
        lo, hi = p * m // nt, (p + 1) * m // nt
        if kind == 0:
            _sort_rows(x, ov, oi, desc, lo, hi)
        else:
            _topk_buf(x, ov, oi, desc, lo, hi)


@njit(parallel=True, **LEAF)
def _median_par(x, ov, oi, nt):
    m = x.shape[0]
    for p in prange(nt):
        _median(x, ov, oi, p * m // nt, (p + 1) * m // nt)


# ---------------------------------------------------------------- argmax / argmin
@njit(**LEAF)
def find_1d(r, v):
    """First k with r[k] == v (first NaN when v is NaN); -1 if none."""
    if isnan(v):
        for k in range(r.shape[0]):
            if isnan(r[k]):
                return k
    else:
        for k in range(r.shape[0]):
            if r[k] == v:
                return k
    return -1


@njit(**LEAF)
def varg(vals, idx, r, k, big):
    """Column arg-extreme update: strictly better wins (first occurrence); NaN beats numbers."""
    for j in range(vals.shape[0]):
        v, a = r[j], vals[j]
        if (isnan(v) and not isnan(a)) or (v > a if big else v < a):
            vals[j] = v
            idx[j] = k


@njit(**LEAF)
def _arg_tasks(x, k, nch, big, lo, hi, vals, idx):
    """Task t = (row t // nch, chunk t % nch): vectorised extreme, then its first position."""
    for t in range(lo, hi):
        i = t // nch
        c = t - i * nch
        c0 = c * k // nch
        r = x[i, c0 : (c + 1) * k // nch]
        v = ext_1d(r, big)
        vals[t] = v
        idx[t] = c0 + find_1d(r, v)


@njit(parallel=True, **LEAF)
def _arg_tasks_par(x, k, nch, big, vals, idx, nt):
    n = vals.shape[0]
    for p in prange(nt):
        _arg_tasks(x, k, nch, big, p * n // nt, (p + 1) * n // nt, vals, idx)


@njit(cache=True)
def _arg_rows(x, k, nch, big, nt, out_v, out_i):
    m = out_i.shape[0]
    vals = np.empty(m * nch, x.dtype)
    idx = np.empty(m * nch, np.int64)
    if nt > 1:
        _arg_tasks_par(x, k, nch, big, vals, idx, nt)
    else:
        _arg_tasks(x, k, nch, big, 0, m * nch, vals, idx)
    for i in range(m):  # chunks in order: a later chunk wins only if strictly better
        b = i * nch
        for c in range(1, nch):
            v, a = vals[b + c], vals[b]
            if (isnan(v) and not isnan(a)) or (v > a if big else v < a):
                vals[b], idx[b] = v, idx[b + c]
        out_v[i] = vals[b]
        out_i[i] = idx[b]


@njit(**LEAF)
def _arg_cols(a, m, w, big, out_v, out_i, j0, j1):
    for j in range(j0, j1):
        c0, c1 = j * w, min(j * w + w, m)
        vals, idx = out_v[c0:c1], out_i[c0:c1]
        for c in range(c1 - c0):
            vals[c], idx[c] = a[0, c0 + c], 0
        for r in range(1, a.shape[0]):
            varg(vals, idx, a[r, c0:c1], r, big)


@njit(parallel=True, **LEAF)
def _arg_cols_par(a, m, w, big, out_v, out_i):
    nt = (m + w - 1) // w
    for j in prange(nt):
        _arg_cols(a, m, w, big, out_v, out_i, j, j + 1)


# ---------------------------------------------------------------- Python entry points
def _prep(x: np.ndarray) -> tuple[np.ndarray, int]:
    """C-contiguous rows (the kernels read x[i, j] row by row) and a thread count."""
    m, k = x.shape
    nt = min(get_num_threads(), m) if m * k >= PAR_MIN // 4 else 1  # sorting is costlier per item
    return (x if x.flags.c_contiguous else np.ascontiguousarray(x)), nt


def sort_rows(x, out_values, out_indices, descending: bool, stable: bool) -> None:
    """Sort each row; NaN is the largest value; equal keys keep input order (stable or not)."""
    m, k = x.shape
    if m == 0 or k == 0:
        return
    x, nt = _prep(x)
    if nt > 1:
        _par(0, x, out_values, out_indices, bool(descending), nt)
    else:
        _sort_rows(x, out_values, out_indices, bool(descending), 0, m)


def topk_rows(x, k: int, largest: bool, sorted_: bool, out_values, out_indices) -> None:
    """The k largest (or smallest) of each row, best first (sorted_ is always honoured)."""
    m, kk = x.shape
    if not 0 <= k <= kk:
        raise ValueError(f"topk: k={k} out of range for rows of length {kk} (x shape {x.shape})")
    if m == 0 or k == 0:
        return
    x, nt = _prep(x)
    kind = 1 if k <= TOPK_BUF else 0  # the sort path writes only the first k of each row
    if nt > 1:
        _par(kind, x, out_values, out_indices, bool(largest), nt)
    elif kind == 1:
        _topk_buf(x, out_values, out_indices, bool(largest), 0, m)
    else:
        _sort_rows(x, out_values, out_indices, bool(largest), 0, m)


def median_rows(x, out_values, out_indices) -> None:
    """torch.median along axis 1: the lower median; a row with NaN gives NaN at its first NaN."""
    m, k = x.shape
    if m == 0:
        return
    if k == 0:
        raise ValueError(f"median: empty rows (x shape {x.shape}) have no median")
    x, nt = _prep(x)
    if nt > 1:
        _median_par(x, out_values, out_indices, nt)
    else:
        _median(x, out_values, out_indices, 0, m)


def arg_reduce_rows(op: str, x: np.ndarray, out_values, out_indices: np.ndarray) -> None:
    """argmax/argmin along axis 1 (int64, first occurrence; NaN counts as the extreme)."""
    big = op == "max"
    m, k = x.shape
    if m == 0:
        return
    if k == 0:
        raise ValueError(f"arg{op}: empty rows (x shape {x.shape}) have no extreme")
    vals = np.empty(m, x.dtype) if out_values is None else out_values
    nch = plan(m, k)
    v = row_view(x)
    a = col_view(x) if v is None else None
    if a is not None:
        w, nt = tiles(m, nch > 0)
        if nch == 0:
            _arg_cols(a, m, w, big, vals, out_indices, 0, nt)
            return
        if nt > 1:
            _arg_cols_par(a, m, w, big, vals, out_indices)
            return
    if v is None:
        v = np.ascontiguousarray(x)
    _arg_rows(v, k, max(nch, 1), big, get_num_threads() if nch else 1, vals, out_indices)
