"""CPU running statistics along axis 1 of a 2-D (M, K) array: cumsum, cumprod, cummax, cummin,
and var with its mean (two passes: mean, then squared deviations, so no cancellation; float64
accumulators; the column path sums rows of A = x.T into tiles, like reduce.py).

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

from kernels.cpu.reduce import (
    BLK,
    FM,
    LEAF,
    PAR_MIN,
    col_view,
    isnan,
    plan,
    row_view,
    sum_1d,
    tiles,
    vadd,
)

__all__ = ["scan_arg_rows", "scan_rows", "var_rows"]

CTILE = 64  # column path: output rows per tile


def _acc0(out, v):
    """Accumulator start value v: float64 for float outputs, out.dtype otherwise."""


@overload(_acc0)
def _ov_acc0(out, v):
    if isinstance(out.dtype, types.Float):
        return lambda out, v: np.float64(v)
    dt = out.dtype
    return lambda out, v: dt(v)


@njit(**LEAF)
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


@njit(**LEAF)
def _scan_cols(prod, a, m, out, t0, t1, accs):
    """Tiles t0..t1 of CTILE output rows; accs: one accumulator row per tile."""
    kk = out.shape[1]
    for t in range(t0, t1):
        c0, c1 = t * CTILE, min(t * CTILE + CTILE, m)
        acc = accs[t, : c1 - c0]
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


@njit(**LEAF)
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


@njit(parallel=True, **LEAF)
def _scan_rows_par(prod, x, k, out, nt):
    m = out.shape[0]
    for p in prange(nt):
        _scan_rows(prod, x, k, out, p * m // nt, (p + 1) * m // nt)


@njit(parallel=True, **LEAF)
def _scan_cols_par(prod, a, m, out, nt, accs):
    n = (m + CTILE - 1) // CTILE
    for p in prange(nt):
        _scan_cols(prod, a, m, out, p * n // nt, (p + 1) * n // nt, accs)


@njit(parallel=True, **LEAF)
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
        n = (m + CTILE - 1) // CTILE  # float scans accumulate in float64, like torch's
        accs = np.empty((n, CTILE), np.float64 if out2d.dtype.kind == "f" else out2d.dtype)
        if nt > 1:
            _scan_cols_par(prod, a, m, out2d, nt, accs)
        else:
            _scan_cols(prod, a, m, out2d, 0, n, accs)
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


# ---------------------------------------------------------------- var / mean (two-pass)
@njit(fastmath=FM, **LEAF)
def _sqdev_blk(b, mu):
    s = 0.0
    for k in range(b.shape[0]):
        d = b[k] - mu
        s += d * d
    return s


@njit(**LEAF)
def sqdev_1d(a, mu):
    s = 0.0
    for b0 in range(0, a.shape[0], BLK):
        s += _sqdev_blk(a[b0 : b0 + BLK], mu)
    return s


@njit(fastmath=FM, **LEAF)
def vsqdev(acc, r, mu):
    for j in range(acc.shape[0]):
        d = r[j] - mu[j]
        acc[j] += d * d


@njit(**LEAF)
def _var_tasks(x, k, nch, lo, hi, mean, acc, phase):
    """Phase 0: per-task sums; phase 1: per-task squared deviations from the row mean."""
    for t in range(lo, hi):
        i = t // nch
        c = t - i * nch
        r = x[i, c * k // nch : (c + 1) * k // nch]
        acc[t] = sum_1d(r, 0.0) if phase == 0 else sqdev_1d(r, mean[i])


@njit(parallel=True, **LEAF)
def _var_tasks_par(x, k, nch, mean, acc, phase, nt):
    n = acc.shape[0]
    for p in prange(nt):
        _var_tasks(x, k, nch, p * n // nt, (p + 1) * n // nt, mean, acc, phase)


@njit(**LEAF)
def _var_rows(x, k, nch, nt, corr, out, mean, acc):
    m = out.shape[0]
    for phase in range(2):
        if nt > 1:
            _var_tasks_par(x, k, nch, mean, acc, phase, nt)
        else:
            _var_tasks(x, k, nch, 0, m * nch, mean, acc, phase)
        for i in range(m):
            s = acc[i * nch : (i + 1) * nch].sum()
            if phase == 0:
                mean[i] = s / k
            else:
                out[i] = _div_dof(s, k - corr)


@njit(cache=True)
def _div_dof(ssd, dof):
    """torch: ssd / max(dof, 0); 0/0 -> nan, x/0 -> inf (without Python's ZeroDivisionError)."""
    if dof > 0:
        return ssd / dof
    return np.nan if ssd == 0 or isnan(ssd) else np.inf


@njit(**LEAF)
def _var_cols(a, m, w, corr, out, mean, j0, j1, s2, mu2):
    """Tiles j0..j1 of the column path; s2, mu2: float64 scratch rows, one per tile."""
    kk = a.shape[0]
    for j in range(j0, j1):
        c0, c1 = j * w, min(j * w + w, m)
        s, mu = s2[j, : c1 - c0], mu2[j, : c1 - c0]
        s[:] = 0.0
        for r in range(kk):
            vadd(s, a[r, c0:c1])
        for c in range(c1 - c0):
            mu[c] = s[c] / kk
        s[:] = 0.0
        for r in range(kk):
            vsqdev(s, a[r, c0:c1], mu)
        for c in range(c1 - c0):
            mean[c0 + c] = mu[c]
            out[c0 + c] = _div_dof(s[c], kk - corr)


@njit(parallel=True, **LEAF)
def _var_cols_par(a, m, w, corr, out, mean, s2, mu2):
    for j in prange((m + w - 1) // w):
        _var_cols(a, m, w, corr, out, mean, j, j + 1, s2, mu2)


def var_rows(x: np.ndarray, out: np.ndarray, correction: float, mean_out=None) -> None:
    """Variance along axis 1 with ``correction`` (two-pass, float64 accumulators); mean optional."""
    m, k = x.shape
    if m == 0:
        return
    mean = np.empty(m) if mean_out is None or mean_out.dtype != np.float64 else mean_out
    if k == 0:
        out[:] = np.nan
        mean[:] = np.nan
    else:
        nch = plan(m, k)
        v = row_view(x)
        a = col_view(x) if v is None else None
        if a is not None:
            w, nt = tiles(m, nch > 0)
            s2, mu2 = np.empty((nt, w)), np.empty((nt, w))  # (kernels allocate nothing: LEAF)
            if nch == 0 or nt == 1:
                _var_cols(a, m, w, float(correction), out, mean, 0, nt, s2, mu2)
            else:
                _var_cols_par(a, m, w, float(correction), out, mean, s2, mu2)
        else:
            v = np.ascontiguousarray(x) if v is None else v
            nch, nt = max(nch, 1), get_num_threads() if nch else 1
            _var_rows(v, k, nch, nt, float(correction), out, mean, np.empty(m * nch))
    if mean_out is not None and mean is not mean_out:
        mean_out[:] = mean
