"""CPU two-pass row statistics along axis 1 of a 2-D (M, K) float array: softmax, log_softmax,
their backwards, logsumexp, and var (mean, then squared deviations: no cancellation).

Each row is read from memory once: a vectorised max pass, then exp/sum and the final scale run
on the row while it is still in L1/L2. ``fexp``/``flog`` are the polynomial versions from
``kernels.fastmath`` (without SVML ``np.exp`` would be a scalar libm call per element).
Rows that are not unit-stride are copied first (each row is read two or three times).

NaN and inf follow torch without special cases: a NaN makes the row max NaN and so the whole
row NaN; an all -inf row gives NaN (softmax) and -inf (logsumexp, torch's inf -> 0 shift).

>>> import numpy as np
>>> out = np.empty((1, 2), np.float32)
>>> softmax_rows(np.zeros((1, 2), np.float32), out); out
array([[0.5, 0.5]], dtype=float32)
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from kernels.cpu.reduce import (
    BLK,
    FM,
    PAR_MIN,
    cast,
    col_view,
    ext_1d,
    isnan,
    plan,
    row_view,
    sum_1d,
    tiles,
    vadd,
)
from kernels.cpu.simd import Vec, vlanes, vload, vstore, vzero
from kernels.fastmath import fexp, flog

__all__ = [
    "log_softmax_backward_rows",
    "log_softmax_rows",
    "logsumexp_rows",
    "softmax_backward_rows",
    "softmax_rows",
    "var_rows",
]

SOFTMAX, LOG_SOFTMAX, LSE, SOFTMAX_BW, LOG_SOFTMAX_BW = range(5)


# ---------------------------------------------------------------- float32 exp on simd.Vec
# LLVM vectorises fexp loops only 8 lanes wide here (it prefers 256-bit vectors even with
# AVX-512), and exp is what softmax spends its time on: so float32 rows use explicit vectors.
_EXP_P = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1)
_EXP_C = (0.5000000120, 1.4426950409, 12582912.0, 0.693359375, -2.12194440e-4, -87.33654)


@intrinsic
def _vexp_shift(typingctx, v, m):
    """exp(v - m) per lane for float32 v - m <= 0 (m the row max): Cephes expf (~1 ulp) with a
    single 2**n scale; results below 2**-126 flush to 0 (torch keeps those subnormals)."""
    if not (isinstance(v, Vec) and v.dtype == types.float32 and m == types.float32):
        return None

    def codegen(context, builder, sig, args):
        vt, n = args[0].type, v.lanes
        i32 = ir.VectorType(ir.IntType(32), n)
        c = lambda x, t=vt: ir.Constant(t, [x] * n)
        fma_fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vt, [vt, vt, vt]), f"llvm.fma.v{n}f32"
        )
        fma = lambda a, b, d: builder.call(fma_fn, [a, b, d])
        half, log2e, magic, ln2_hi, ln2_lo, lo = _EXP_C
        mv = builder.insert_element(ir.Constant(vt, ir.Undefined), args[1], ir.IntType(32)(0))
        d = builder.fsub(args[0], builder.shuffle_vector(mv, mv, c(0, i32)))
        k = fma(d, c(log2e), c(magic))  # round(d / ln2) + magic, exact in float32
        fn = builder.fsub(k, c(magic))
        r = fma(fn, c(-ln2_lo), fma(fn, c(-ln2_hi), d))
        p = c(_EXP_P[0])
        for q in (*_EXP_P[1:], half):
            p = fma(p, r, c(q))
        e = builder.fadd(fma(p, builder.fmul(r, r), r), c(1.0))
        bits = builder.shl(
            builder.add(builder.bitcast(k, i32), c(127 - 0x4B400000, i32)), c(23, i32)
        )
        e = builder.fmul(e, builder.bitcast(bits, vt))
        return builder.select(builder.fcmp_ordered("<", d, c(lo)), c(0.0), e)

    return v(v, m), codegen


def _emit(builder, name, a, b):
    """An IR instruction (fadd, fmul) or an LLVM vector intrinsic on float32 vectors a, b."""
    if not name.startswith("llvm."):
        return getattr(builder, name)(a, b)
    t = a.type
    fn = ir.FunctionType(t, [t, t])
    return builder.call(
        cgutils.get_or_insert_function(builder.module, fn, f"{name}.v{t.count}f32"), [a, b]
    )


def _vop(name):
    @intrinsic
    def f(typingctx, a, b):
        if not (isinstance(a, Vec) and a == b and a.dtype == types.float32):
            return None
        return a(a, b), lambda context, builder, sig, args: _emit(builder, name, *args)

    return f


def _vfold(name):
    """Horizontal fold of a vector's lanes, as a tree of halves."""

    @intrinsic
    def f(typingctx, v):
        if not (isinstance(v, Vec) and v.dtype == types.float32):
            return None

        def codegen(context, builder, sig, args):
            x, n = args[0], v.lanes
            while n > 1:
                n //= 2
                lo, hi = (
                    ir.Constant(ir.VectorType(ir.IntType(32), n), list(range(j, j + n)))
                    for j in (0, n)
                )
                x = _emit(
                    builder,
                    name,
                    builder.shuffle_vector(x, x, lo),
                    builder.shuffle_vector(x, x, hi),
                )
            return builder.extract_element(x, ir.IntType(32)(0))

        return v.dtype(v), codegen

    return f


_vadd, _vmul, _vmaxnum = _vop("fadd"), _vop("fmul"), _vop("llvm.maxnum")
_vhsum, _vhmax = _vfold("fadd"), _vfold("llvm.maxnum")


@intrinsic
def _vsplat(typingctx, v, x):
    """A vector like v with every lane x."""

    def codegen(context, builder, sig, args):
        one = builder.insert_element(
            ir.Constant(args[0].type, ir.Undefined), args[1], ir.IntType(32)(0)
        )
        return builder.shuffle_vector(
            one, one, ir.Constant(ir.VectorType(ir.IntType(32), v.lanes), [0] * v.lanes)
        )

    return v(v, x), codegen


@njit(cache=True)
def _vmax_row(r):
    """Max of a float32 row ignoring NaN (maxnum: one instruction per vector); a NaN still turns
    the whole row NaN through exp(NaN - m)."""
    n, w = r.shape[0], vlanes(r)
    m = r[0]
    if n >= 2 * w:
        v0 = v1 = vload(r, 0)
        for k in range(0, n - 2 * w + 1, 2 * w):
            v0, v1 = _vmaxnum(v0, vload(r, k)), _vmaxnum(v1, vload(r, k + w))
        m = _vhmax(_vmaxnum(v0, v1))
    for k in range(n - n % (2 * w), n):
        m = max(m, r[k])
    return m


@njit(cache=True)
def _vscale(o, c):
    n, w = o.shape[0], vlanes(o)
    cv = _vsplat(vzero(o), c)
    for k in range(0, n - w + 1, w):
        vstore(o, k, _vmul(vload(o, k), cv))
    for k in range(n - n % w, n):
        o[k] *= c


@njit(cache=True)
def _vexp_blk(r, m, o, store):
    """sum(exp(r - m)) of a float32 block, storing exp into o if asked; r - m <= 0."""
    n, w = r.shape[0], vlanes(r)
    acc = vzero(r)
    for k in range(0, n - w + 1, w):
        e = _vexp_shift(vload(r, k), m)
        if store:
            vstore(o, k, e)
        acc = _vadd(acc, e)
    s = _vhsum(acc)
    for k in range(n - n % w, n):
        e = fexp(r[k] - m)
        if store:
            o[k] = e
        s += e
    return s


# ---------------------------------------------------------------- vectorised row pieces
@njit(cache=True, fastmath=FM)
def _exp_store(r, m, o, s):
    """o = exp(r - m); returns s + sum(o)."""
    for k in range(r.shape[0]):
        e = fexp(r[k] - m)
        o[k] = e
        s += e
    return s


@njit(cache=True, fastmath=FM)
def _exp_acc(r, m, s):
    for k in range(r.shape[0]):
        s += fexp(r[k] - m)
    return s


@njit(cache=True, fastmath=FM)
def _dot(a, b, s):
    for k in range(a.shape[0]):
        s += a[k] * b[k]
    return s


@njit(cache=True, fastmath=FM)
def _plain_sum(a, s):
    for k in range(a.shape[0]):
        s += a[k]
    return s


@njit(cache=True, fastmath=FM)
def _scale(o, c):
    for k in range(o.shape[0]):
        o[k] *= c


@njit(cache=True, fastmath=FM)
def _shift(r, c, o):
    for k in range(r.shape[0]):
        o[k] = r[k] - c


@njit(cache=True, fastmath=FM)
def _sm_bw(y, g, d, o):
    for k in range(y.shape[0]):
        o[k] = y[k] * (g[k] - d)


@njit(cache=True, fastmath=FM)
def _lsm_bw(y, g, d, o):
    for k in range(y.shape[0]):
        o[k] = g[k] - fexp(y[k]) * d


# ---------------------------------------------------------------- one row, each op
def _exp_blk(r, m, o, store):
    """sum(exp(r - m)) of one block, o = exp(r - m) if store."""


def _rowmax(r):
    """Row max for softmax: NaN need not propagate here (exp(NaN - m) does it)."""


def _rowscale(o, c):
    """o *= c."""


@overload(_rowmax, inline="always")
def _ov_rowmax(r):
    if r.dtype == types.float32:
        return lambda r: _vmax_row(r)
    return lambda r: ext_1d(r, True)


@overload(_rowscale, inline="always")
def _ov_rowscale(o, c):
    if o.dtype == types.float32 and c == types.float32:
        return lambda o, c: _vscale(o, c)
    return lambda o, c: _scale(o, c)


@overload(_exp_blk, inline="always")
def _ov_exp_blk(r, m, o, store):
    if r.dtype == types.float32 and m == types.float32:
        return lambda r, m, o, store: _vexp_blk(r, m, o, store)

    def impl(r, m, o, store):
        if store:
            return _exp_store(r, m, o, cast(r, 0))
        return _exp_acc(r, m, cast(r, 0))

    return impl


@njit(cache=True, inline="always")
def _sum_exp(r, m, o, store):
    """sum(exp(r - m)) for m >= max(r), per 2048-block so float32 lane sums stay short;
    o = exp(r - m) if store."""
    if r.shape[0] <= BLK:  # the common case, without slicing
        return _exp_blk(r, m, o, store)
    s = cast(r, 0)
    for b0 in range(0, r.shape[0], BLK):
        s += _exp_blk(r[b0 : b0 + BLK], m, o[b0 : b0 + BLK], store)
    return s


@njit(cache=True)
def _lse_parts(r):
    """(m, log sum exp(r - m)) with torch's logsumexp rule: an infinite max is replaced by 0."""
    m = _rowmax(r)
    if m == np.inf or m == -np.inf:  # then r - 0 may be > 0: the general exp
        return cast(r, 0), flog(_exp_acc(r, cast(r, 0), cast(r, 0)))
    return m, flog(_sum_exp(r, m, r, False))


@njit(cache=True)
def _row(op, x, g, o, lse, i):
    r = x[i]
    if op == SOFTMAX:
        m = _rowmax(r)
        s = _sum_exp(r, m, o[i], True)
        _rowscale(o[i], cast(r, 1) / s)
    elif op == LOG_SOFTMAX:
        m = _rowmax(r)
        _shift(r, m + flog(_sum_exp(r, m, r, False)), o[i])
    elif op == LSE:
        m, ls = _lse_parts(r)
        lse[i] = m + ls
    elif op == SOFTMAX_BW:  # x = y (forward output), g = grad of y
        d = cast(r, 0)
        for b0 in range(0, r.shape[0], BLK):
            d += _dot(r[b0 : b0 + BLK], g[i, b0 : b0 + BLK], cast(r, 0))
        _sm_bw(r, g[i], d, o[i])
    else:
        d = cast(r, 0)
        for b0 in range(0, r.shape[0], BLK):
            d += _plain_sum(g[i, b0 : b0 + BLK], cast(r, 0))
        _lsm_bw(r, g[i], d, o[i])


@njit(cache=True)
def _rows(op, x, g, o, lse, lo, hi):
    for i in range(lo, hi):
        _row(op, x, g, o, lse, i)


@njit(cache=True, parallel=True)
def _rows_par(op, x, g, o, lse, nt):
    m = x.shape[0]
    for p in prange(nt):
        _rows(op, x, g, o, lse, p * m // nt, (p + 1) * m // nt)


# ---------------------------------------------------------------- var / std (two-pass)
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


@njit(cache=True, fastmath=FM)
def vsqdev(acc, r, mu):
    for j in range(acc.shape[0]):
        d = r[j] - mu[j]
        acc[j] += d * d


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
    return np.nan if ssd == 0 or isnan(ssd) else np.inf


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


# ---------------------------------------------------------------- Python entry points
def _rowc(a: np.ndarray) -> np.ndarray:
    """C-contiguous rows: the array itself or a copy (cheaper than three strided passes)."""
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def _run(op: int, x: np.ndarray, g, out2d, lse) -> None:
    m, k = x.shape
    if m == 0 or k == 0:
        if op == LSE and m:
            lse[:] = -np.inf
        return
    x = _rowc(x)
    g = x if g is None else _rowc(g)
    o = x if out2d is None else out2d
    l1 = x[0] if lse is None else lse  # a typed placeholder when unused
    nt = min(get_num_threads(), m) if m * k >= PAR_MIN else 1
    if nt > 1:
        _rows_par(op, x, g, o, l1, nt)
    else:
        _rows(op, x, g, o, l1, 0, m)


def softmax_rows(x: np.ndarray, out2d: np.ndarray) -> None:
    """out2d = softmax(x) along axis 1 (stable: exp(x - rowmax) / sum)."""
    _run(SOFTMAX, x, None, out2d, None)


def log_softmax_rows(x: np.ndarray, out2d: np.ndarray) -> None:
    """out2d = x - rowmax - log(sum(exp(x - rowmax)))."""
    _run(LOG_SOFTMAX, x, None, out2d, None)


def logsumexp_rows(x: np.ndarray, out: np.ndarray) -> None:
    """out[i] = log(sum(exp(x[i]))), stable; an all -inf row gives -inf, K = 0 gives -inf."""
    _run(LSE, x, None, None, out)


def softmax_backward_rows(y: np.ndarray, gy: np.ndarray, out: np.ndarray) -> None:
    """out = y * (gy - sum(gy * y)) along axis 1, y the softmax output."""
    _run(SOFTMAX_BW, y, gy, out, None)


def log_softmax_backward_rows(y: np.ndarray, gy: np.ndarray, out: np.ndarray) -> None:
    """out = gy - exp(y) * sum(gy) along axis 1, y the log_softmax output."""
    _run(LOG_SOFTMAX_BW, y, gy, out, None)


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
            if nch == 0 or nt == 1:
                _var_cols(a, m, w, float(correction), out, mean, 0, nt)
            else:
                _var_cols_par(a, m, w, float(correction), out, mean)
        else:
            v = np.ascontiguousarray(x) if v is None else v
            _var_rows(
                v, k, max(nch, 1), get_num_threads() if nch else 1, float(correction), out, mean
            )
    if mean_out is not None and mean is not mean_out:
        mean_out[:] = mean
