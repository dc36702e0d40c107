"""CPU reductions along axis 1 of a 2-D (M, K) array: sum/prod/max/min/all/any, arg max/min, var.

The engine reshapes every reduction to ``x`` (M, K) with any strides and ``out`` (M,) contiguous.
Layouts, chosen in Python:

- rows: ``x[i, :K]`` unit-stride (a C-layout view, maybe wider than K) -> one vectorised 1-D
  reduction per row; rows are split into chunks across threads when there are few of them;
- cols: ``x = A.T`` with A's rows unit-stride -> add whole rows of A into a tile of ``out``
  (a column walk with a big stride would miss the cache on every element);
- anything else (negative, broadcast, doubly strided) is copied to rows first.

Per-op drivers are closures over a constant op code: Numba prunes the other ops' branches and still
caches them (an int closure cell hashes stably; a captured dispatcher would defeat the cache).

>>> import numpy as np
>>> out = np.empty(2, np.float32)
>>> reduce_rows("sum", np.ones((2, 3), np.float32), out); out
array([3., 3.], dtype=float32)
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.extending import intrinsic, overload

__all__ = ["reduce_rows", "arg_reduce_rows", "var_rows", "row_view", "col_view", "plan", "ext_1d"]

SUM, PROD, MAX, MIN, ALL, ANY = range(6)
_OPS = {"sum": SUM, "prod": PROD, "max": MAX, "min": MIN, "all": ALL, "any": ANY}
FM = {"reassoc", "nsz", "contract", "arcp"}  # reorder sums/products; NaN and inf still honoured
BLK = 2048  # 1-D block: short vector-lane partial sums (accuracy) and an L1-resident re-read
TILE = 1024  # column-path tile width: the out-slice being accumulated stays in L1
PAR_MIN = 1 << 18  # below this many elements thread start-up outweighs the work


# ---------------------------------------------------------------- scalar building blocks
def _minmax(fname, sname, uname):
    """max/min as an LLVM intrinsic: LLVM vectorises these as reductions (a select does not)."""

    @intrinsic
    def f(typingctx, a, b):
        if a != b:
            return None
        if isinstance(a, types.Float):
            name = fname
        elif isinstance(a, types.Integer) and a.signed:
            name = sname
        elif isinstance(a, (types.Integer, types.Boolean)):
            name = uname
        else:
            return None

        def codegen(context, builder, sig, args):
            t = args[0].type
            fn = builder.module.declare_intrinsic(name, [t], ir.FunctionType(t, [t, t]))
            return builder.call(fn, args)

        return a(a, b), codegen

    return f


mx = _minmax("llvm.maxnum", "llvm.smax", "llvm.umax")  # float flavour ignores NaN
mn = _minmax("llvm.minnum", "llvm.smin", "llvm.umin")


@njit(cache=True)
def pmax(a, b):
    """NaN-propagating max (torch.max)."""
    return b if (b > a) | (b != b) else a


@njit(cache=True)
def pmin(a, b):
    return b if (b < a) | (b != b) else a


# ---------------------------------------------------------------- 1-D row reductions
@njit(cache=True, fastmath=FM)
def _sum_blk(b, s):
    for k in range(b.shape[0]):
        s += b[k]
    return s


@njit(cache=True)
def sum_1d(a, z):
    """Sum in z's dtype. Lanes sum 2048-blocks, blocks sum in groups of 64, groups sum at the end:
    float32 error grows like ~200 ulps at 16M elements, not the 500K ulps of one running sum."""
    s1 = s2 = s3 = z
    nb = 0
    for b0 in range(0, a.shape[0], BLK):
        s1 += _sum_blk(a[b0 : b0 + BLK], z)
        nb += 1
        if nb % 64 == 0:
            s2 += s1
            s1 = z
            if nb % 4096 == 0:
                s3 += s2
                s2 = z
    return s3 + (s2 + s1)


@njit(cache=True, fastmath=FM)
def prod_1d(a, p):
    for k in range(a.shape[0]):
        p *= a[k]
    return p


@njit(cache=True, fastmath=FM)
def _sqdev_blk(b, mu):
    s = 0.0
    for k in range(b.shape[0]):
        d = b[k] - mu
        s += d * d
    return s


@njit(cache=True)
def sqdev_1d(a, mu):
    s = 0.0
    for b0 in range(0, a.shape[0], BLK):
        s += _sqdev_blk(a[b0 : b0 + BLK], mu)
    return s


@njit(cache=True)
def _nan_cnt(b):
    c = 0
    for k in range(b.shape[0]):
        c += 1 if b[k] != b[k] else 0
    return c


@njit(cache=True)
def _blk_ext(b, big):
    m = b[0]
    if big:
        for k in range(b.shape[0]):
            m = mx(m, b[k])
    else:
        for k in range(b.shape[0]):
            m = mn(m, b[k])
    return m


@njit(cache=True)
def ext_1d(a, big):
    """max (big) or min of a non-empty row, NaN-propagating: mx/mn skip NaN, so NaNs are counted
    beside them, block by block (the second pass reads L1)."""
    m = a[0]
    for b0 in range(0, a.shape[0], BLK):
        b = a[b0 : b0 + BLK]
        if _nan_cnt(b):
            return b[find_1d(b, b[0] * 0 + np.nan)]
        v = _blk_ext(b, big)
        m = mx(m, v) if big else mn(m, v)
    return m


@njit(cache=True)
def find_1d(r, v):
    """First k with r[k] == v (first NaN when v is NaN); -1 if none."""
    if v != v:
        for k in range(r.shape[0]):
            if r[k] != r[k]:
                return k
    else:
        for k in range(r.shape[0]):
            if r[k] == v:
                return k
    return -1


@njit(cache=True)
def _nz_cnt(b):
    c = 0
    for k in range(b.shape[0]):
        c += 1 if b[k] != 0 else 0
    return c


@njit(cache=True)
def nz_1d(a, every):
    """all (every) / any of a row, stopping at the first deciding block."""
    for b0 in range(0, a.shape[0], BLK):
        b = a[b0 : b0 + BLK]
        c = _nz_cnt(b)
        if every and c < b.shape[0]:
            return False
        if not every and c > 0:
            return True
    return every


# ---------------------------------------------------------------- out-vector (column) updates
@njit(cache=True, fastmath=FM)
def vadd(acc, r):
    for j in range(acc.shape[0]):
        acc[j] += r[j]


@njit(cache=True, fastmath=FM)
def _vmul(acc, r):
    for j in range(acc.shape[0]):
        acc[j] *= r[j]


@njit(cache=True)
def _vext(acc, r, big):
    if big:
        for j in range(acc.shape[0]):
            acc[j] = pmax(acc[j], r[j])
    else:
        for j in range(acc.shape[0]):
            acc[j] = pmin(acc[j], r[j])


@njit(cache=True)
def _vnz(acc, r, every):
    if every:
        for j in range(acc.shape[0]):
            acc[j] &= r[j] != 0
    else:
        for j in range(acc.shape[0]):
            acc[j] |= r[j] != 0


@njit(cache=True, fastmath=FM)
def vsqdev(acc, r, mu):
    for j in range(acc.shape[0]):
        d = r[j] - mu[j]
        acc[j] += d * d


@njit(cache=True)
def varg(vals, idx, r, k, big):
    """Column arg-extreme update: strictly better wins (first occurrence); NaN beats numbers."""
    for j in range(vals.shape[0]):
        v, a = r[j], vals[j]
        if (v != v and a == a) or (v > a if big else v < a):
            vals[j] = v
            idx[j] = k


# ---------------------------------------------------------------- op dispatch (compile time)
def red_1d(op, r, like):
    """op-reduction of row r, in like.dtype (op: a literal int)."""


def comb(op, a, b):
    """Combine two partial results of op."""


def col_task(op, a, dst, c0, c1, k0, k1):
    """dst[c0:c1] = op over rows k0..k1 of a[:, c0:c1]."""


def _lit(op):
    return op.literal_value if isinstance(op, types.IntegerLiteral) else None


@overload(red_1d, prefer_literal=True)
def _ov_red(op, r, like):
    o, dt = _lit(op), like.dtype
    if o is None:
        return None

    def impl(op, r, like):
        if o == SUM:
            return sum_1d(r, dt(0))
        elif o == PROD:
            return prod_1d(r, dt(1))
        elif o == MAX or o == MIN:
            return ext_1d(r, o == MAX)
        return nz_1d(r, o == ALL)

    return impl


@overload(comb, prefer_literal=True)
def _ov_comb(op, a, b):
    o = _lit(op)
    if o is None:
        return None
    return [
        lambda op, a, b: a + b,
        lambda op, a, b: a * b,
        lambda op, a, b: pmax(a, b),
        lambda op, a, b: pmin(a, b),
        lambda op, a, b: a and b,
        lambda op, a, b: a or b,
    ][o]


@overload(col_task, prefer_literal=True)
def _ov_col(op, a, dst, c0, c1, k0, k1):
    o = _lit(op)
    if o is None:
        return None

    def impl(op, a, dst, c0, c1, k0, k1):
        acc = dst[c0:c1]
        if o == SUM:  # two levels: 256-row partials, then their sum (accuracy for tall K)
            acc[:] = 0
            tmp = np.zeros_like(acc)
            for k in range(k0, k1):
                vadd(tmp, a[k, c0:c1])
                if (k - k0) % 256 == 255:
                    vadd(acc, tmp)
                    tmp[:] = 0
            vadd(acc, tmp)
            return
        acc[:] = a[k0, c0:c1]  # casts to acc's dtype (bool for all/any)
        for k in range(k0 + 1, k1):
            r = a[k, c0:c1]
            if o == PROD:
                _vmul(acc, r)
            elif o == MAX or o == MIN:
                _vext(acc, r, o == MAX)
            else:
                _vnz(acc, r, o == ALL)

    return impl


# ---------------------------------------------------------------- layout helpers (Python)
def row_view(x: np.ndarray) -> np.ndarray | None:
    """C-layout (M, W) view with W >= K and ``x == v[:, :K]``; None if rows are not unit-stride."""
    m, k = x.shape
    if x.flags.c_contiguous:
        return x
    it, (s0, s1) = x.itemsize, x.strides
    if k > 1 and s1 != it:
        return None
    if m == 1:
        return np.lib.stride_tricks.as_strided(x, (1, k), (k * it, it))
    if s0 <= 0 or s0 % it or s0 < k * it:
        return None
    # never read past column K, so the last row's tail beyond the buffer is not touched
    return np.lib.stride_tricks.as_strided(x, (m, s0 // it), (s0, it))


def col_view(x: np.ndarray) -> np.ndarray | None:
    """C-layout (K, W) view A with W >= M and ``x == A[:, :M].T``, or None."""
    return row_view(x.T)


def plan(m: int, k: int) -> int:
    """0: run serial; n >= 1: parallel with each row split into n chunks (few rows -> split K)."""
    t = get_num_threads()
    if t < 2 or m * k < PAR_MIN:
        return 0
    return t if m < 4 * t and k >= 4 * t else 1


def _tiles(m: int, par: bool) -> tuple[int, int]:
    """(tile width, tile count) for the column path; balanced across threads when parallel."""
    n = -(-m // TILE)
    if par:
        t = get_num_threads()
        n = -(-n // t) * t
    w = -(-m // n)
    w = -(-w // 16) * 16  # whole vectors per tile
    return w, -(-m // w)


# ---------------------------------------------------------------- op drivers (closures)
def _make(op):
    @njit(cache=True)
    def rows(x, k, out):
        for i in range(out.shape[0]):
            out[i] = red_1d(op, x[i, :k], out)

    @njit(cache=True, parallel=True)
    def rows_par(x, k, out, nch):
        m = out.shape[0]
        part = np.empty(m * nch, out.dtype)
        for t in prange(m * nch):
            i = t // nch
            c = t - i * nch
            part[t] = red_1d(op, x[i, c * k // nch : (c + 1) * k // nch], out)
        for i in range(m):
            v = part[i * nch]
            for c in range(1, nch):
                v = comb(op, v, part[i * nch + c])
            out[i] = v

    @njit(cache=True)
    def cols(a, m, out, w):
        for c0 in range(0, m, w):
            col_task(op, a, out, c0, min(c0 + w, m), 0, a.shape[0])

    @njit(cache=True, parallel=True)
    def cols_par(a, m, out, w, nk):
        kk = a.shape[0]
        nt = (m + w - 1) // w
        part = np.empty((nk, m), out.dtype)
        for t in prange(nt * nk):
            j = t // nk
            c = t - j * nk
            col_task(op, a, part[c], j * w, min(j * w + w, m), c * kk // nk, (c + 1) * kk // nk)
        for j in range(m):
            v = part[0, j]
            for c in range(1, nk):
                v = comb(op, v, part[c, j])
            out[j] = v

    return rows, rows_par, cols, cols_par


_DRIVERS = [_make(op) for op in range(6)]
_IDENT = {SUM: 0, PROD: 1, ALL: True, ANY: False}


def reduce_rows(op: str, x: np.ndarray, out: np.ndarray) -> None:
    """out[i] = op(x[i, :]) for op in sum/prod/max/min/all/any; max/min propagate NaN like torch."""
    code = _OPS[op]
    m, k = x.shape
    if m == 0:
        return
    if k == 0:
        if code not in _IDENT:
            raise ValueError(f"reduce_rows: {op} of an empty row (x shape {x.shape}) has no identity")
        out[:] = _IDENT[code]
        return
    rows, rows_par, cols, cols_par = _DRIVERS[code]
    nch = plan(m, k)
    v = row_view(x)
    a = col_view(x) if v is None else None
    if v is None and a is None:
        v = np.ascontiguousarray(x)
    if v is not None:
        rows(v, k, out) if nch == 0 else rows_par(v, k, out, nch)
        return
    w, nt = _tiles(m, nch > 0)
    if nch == 0:
        cols(a, m, out, w)
    else:  # split K too when there are fewer tiles than threads' worth of work
        nk = 1 if nt >= 2 * get_num_threads() else get_num_threads()
        cols_par(a, m, out, w, nk)


# ---------------------------------------------------------------- argmax / argmin
@njit(cache=True)
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


@njit(cache=True, parallel=True)
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
            if v != v and a == a or (v > a if big else v < a):
                vals[b], idx[b] = v, idx[b + c]
        out_v[i] = vals[b]
        out_i[i] = idx[b]


@njit(cache=True)
def _arg_cols(a, m, w, big, out_v, out_i, j0, j1):
    for j in range(j0, j1):
        c0, c1 = j * w, min(j * w + w, m)
        vals, idx = out_v[c0:c1], out_i[c0:c1]
        vals[:] = a[0, c0:c1]
        idx[:] = 0
        for r in range(1, a.shape[0]):
            varg(vals, idx, a[r, c0:c1], r, big)


@njit(cache=True, parallel=True)
def _arg_cols_par(a, m, w, big, out_v, out_i):
    nt = (m + w - 1) // w
    for j in prange(nt):
        _arg_cols(a, m, w, big, out_v, out_i, j, j + 1)


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
        w, nt = _tiles(m, nch > 0)
        if nch == 0:
            _arg_cols(a, m, w, big, vals, out_indices, 0, nt)
            return
        if nt > 1:
            _arg_cols_par(a, m, w, big, vals, out_indices)
            return
    if v is None:
        v = np.ascontiguousarray(x)
    _arg_rows(v, k, max(nch, 1), big, get_num_threads() if nch else 1, vals, out_indices)


# ---------------------------------------------------------------- var / std (two-pass)
@njit(cache=True)
def _var_tasks(x, k, nch, lo, hi, mean, acc, phase):
    """Phase 0: per-task sums; phase 1: per-task squared deviations from the row mean."""
    for t in range(lo, hi):
        i = t // nch
        c = t - i * nch
        r = x[i, c * k // nch : (c + 1) * k // nch]
        acc[t] = sum_1d(r, 0.0) if phase == 0 else sqdev_1d(r, mean[i])


@njit(cache=True, parallel=True)
def _var_tasks_par(x, k, nch, mean, acc, phase, nt):
    n = acc.shape[0]
    for p in prange(nt):
        _var_tasks(x, k, nch, p * n // nt, (p + 1) * n // nt, mean, acc, phase)


@njit(cache=True)
def _var_rows(x, k, nch, nt, corr, out, mean):
    m = out.shape[0]
    acc = np.empty(m * nch)
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
    return np.nan if ssd == 0 or ssd != ssd else np.inf


@njit(cache=True)
def _var_cols(a, m, w, corr, out, mean, j0, j1):
    kk = a.shape[0]
    for j in range(j0, j1):
        c0, c1 = j * w, min(j * w + w, m)
        s = np.zeros(c1 - c0)
        for r in range(kk):
            vadd(s, a[r, c0:c1])
        mu = s / kk
        s[:] = 0.0
        for r in range(kk):
            vsqdev(s, a[r, c0:c1], mu)
        for c in range(c1 - c0):
            mean[c0 + c] = mu[c]
            out[c0 + c] = _div_dof(s[c], kk - corr)


@njit(cache=True, parallel=True)
def _var_cols_par(a, m, w, corr, out, mean):
    for j in prange((m + w - 1) // w):
        _var_cols(a, m, w, corr, out, mean, j, j + 1)


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
            w, nt = _tiles(m, nch > 0)
            if nch == 0 or nt == 1:
                _var_cols(a, m, w, float(correction), out, mean, 0, nt)
            else:
                _var_cols_par(a, m, w, float(correction), out, mean)
        else:
            v = np.ascontiguousarray(x) if v is None else v
            _var_rows(v, k, max(nch, 1), get_num_threads() if nch else 1, float(correction), out, mean)
    if mean_out is not None and mean is not mean_out:
        mean_out[:] = mean
