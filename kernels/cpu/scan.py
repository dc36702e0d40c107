"""CPU scans along axis 1 of a 2-D (M, K) array: cumsum, cumprod, cummax, cummin.

Like torch's CPU kernels, float scans accumulate in float64 (float32 results are rounded once
per element, not once per step) and integer/bool scans in the int64 ``out``. A scan is a serial
chain within a row, so threads split rows. Column-major input (x = A.T) is scanned by carrying
a vector of running values down the rows of A, written out in tiles of 64 output rows (those
64 cache lines stay in L1 while successive k fill them).

>>> import numpy as np
>>> out = np.empty((1, 3), np.int64)
>>> scan_rows("cumsum", np.array([[1, 2, 3]]), out); out
array([[1, 3, 6]])
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange, types
from numba.extending import overload

from kernels.cpu.reduce import PAR_MIN, col_view, isnan, row_view

__all__ = ["scan_arg_rows", "scan_rows"]

CTILE = 64  # column path: output rows per tile


def _acc0(out, v):
    """Accumulator start value v: float64 for float outputs, out.dtype otherwise."""


@overload(_acc0)
def _ov_acc0(out, v):
    if isinstance(out.dtype, types.Float):
        return lambda out, v: np.float64(v)
    dt = out.dtype
    return lambda out, v: dt(v)


@njit(cache=True)
def _scan_rows(prod, x, k, out, lo, hi):
    for i in range(lo, hi):
        r, o = x[i, :k], out[i]
        acc = _acc0(out, 1 if prod else 0)
        if prod:
            for j in range(k):
                acc *= r[j]
                o[j] = acc
        else:
            for j in range(k):
                acc += r[j]
                o[j] = acc


@njit(cache=True)
def _scan_cols(prod, a, m, out, t0, t1):
    kk = out.shape[1]
    for t in range(t0, t1):
        c0, c1 = t * CTILE, min(t * CTILE + CTILE, m)
        acc = np.empty(c1 - c0, type(_acc0(out, 0)))
        acc[:] = 1 if prod else 0
        for k in range(kk):
            r = a[k, c0:c1]
            if prod:
                for j in range(c1 - c0):
                    acc[j] *= r[j]
            else:
                for j in range(c1 - c0):
                    acc[j] += r[j]
            for j in range(c1 - c0):
                out[c0 + j, k] = acc[j]


@njit(cache=True)
def _scan_arg(big, x, k, vals, idx, lo, hi):
    """torch's rule: a NaN always takes over; otherwise ties move the index forward (>=, <=)."""
    for i in range(lo, hi):
        r = x[i, :k]
        best, bi = r[0], 0
        for j in range(k):
            v = r[j]
            if isnan(v) or (not isnan(best) and (v >= best if big else v <= best)):
                best, bi = v, j
            vals[i, j] = best
            idx[i, j] = bi


@njit(cache=True, parallel=True)
def _scan_rows_par(prod, x, k, out, nt):
    m = out.shape[0]
    for p in prange(nt):
        _scan_rows(prod, x, k, out, p * m // nt, (p + 1) * m // nt)


@njit(cache=True, parallel=True)
def _scan_cols_par(prod, a, m, out, nt):
    n = (m + CTILE - 1) // CTILE
    for p in prange(nt):
        _scan_cols(prod, a, m, out, p * n // nt, (p + 1) * n // nt)


@njit(cache=True, parallel=True)
def _scan_arg_par(big, x, k, vals, idx, nt):
    m = vals.shape[0]
    for p in prange(nt):
        _scan_arg(big, x, k, vals, idx, p * m // nt, (p + 1) * m // nt)


def _threads(m: int, k: int) -> int:
    """Threads worth starting: rows are the unit of work."""
    return min(get_num_threads(), m) if m * k >= PAR_MIN else 1


def scan_rows(op: str, x: np.ndarray, out2d: np.ndarray) -> None:
    """out2d = cumsum/cumprod of x along axis 1 (out2d (M, K) contiguous, dtype chosen by caller)."""
    if op not in ("cumsum", "cumprod"):
        raise ValueError(f"scan_rows: unknown op {op!r}; expected 'cumsum' or 'cumprod'")
    prod = op == "cumprod"
    m, k = x.shape
    if m == 0 or k == 0:
        return
    nt = _threads(m, k)
    v = row_view(x)
    a = col_view(x) if v is None else None
    if a is not None:
        if nt > 1:
            _scan_cols_par(prod, a, m, out2d, nt)
        else:
            _scan_cols(prod, a, m, out2d, 0, (m + CTILE - 1) // CTILE)
        return
    v = np.ascontiguousarray(x) if v is None else v
    if nt > 1:
        _scan_rows_par(prod, v, k, out2d, nt)
    else:
        _scan_rows(prod, v, k, out2d, 0, m)


def scan_arg_rows(op: str, x: np.ndarray, out_vals: np.ndarray, out_idx: np.ndarray) -> None:
    """cummax/cummin along axis 1: running values and int64 indices (torch tie and NaN rules)."""
    if op not in ("cummax", "cummin"):
        raise ValueError(f"scan_arg_rows: unknown op {op!r}; expected 'cummax' or 'cummin'")
    m, k = x.shape
    if m == 0 or k == 0:
        return
    v = row_view(x)
    v = np.ascontiguousarray(x) if v is None else v
    nt = _threads(m, k)
    if nt > 1:
        _scan_arg_par(op == "cummax", v, k, out_vals, out_idx, nt)
    else:
        _scan_arg(op == "cummax", v, k, out_vals, out_idx, 0, m)
