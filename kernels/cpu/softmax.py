"""CPU softmax family along axis 1 of a 2-D (M, K) float array: softmax, log_softmax, their
backwards, and logsumexp.

Each row is read from memory once: a max pass, then exp/sum and the final scale run on the row
while it is still in L1/L2. float32 rows use explicit simd.Vec code (16 lanes with AVX-512, a
Cephes exp specialised to x - max <= 0, masked loads for tails and short rows); other dtypes
use ``fexp``/``flog`` from ``kernels.fastmath`` in auto-vectorised loops. Rows that are not
unit-stride are copied first (each row is read two or three times).

NaN and inf follow torch without special cases: the max may skip a NaN, but exp(NaN - m) brings
it into the row sum, so the whole row is NaN; an all -inf row gives NaN (softmax) and -inf
(logsumexp, torch's inf -> 0 shift). float32 exp results below 2**-126 flush to 0.

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

from kernels.cpu.reduce import BLK, FM, LEAF, PAR_MIN, cast, ext_1d
from kernels.cpu.simd import Vec, _elem_ptr, _vec_ptr, lanes_for, vlanes, vload, vstore, vzero
from kernels.fastmath import fexp, flog

__all__ = [
    "log_softmax_backward_rows", "log_softmax_rows", "logsumexp_rows", "softmax_backward_rows",
    "softmax_rows",
]  # fmt: skip

SOFTMAX, LOG_SOFTMAX, LSE, SOFTMAX_BW, LOG_SOFTMAX_BW = range(5)


# ---------------------------------------------------------------- float32 exp on simd.Vec
# LLVM vectorises fexp loops only 8 lanes wide here (it prefers 256-bit vectors even with
# AVX-512), and exp is what softmax spends its time on: so float32 rows use explicit vectors.
_EXP_P = (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1)
_EXP_C = (0.5000000120, 1.4426950409, 12582912.0, 0.693359375, -2.12194440e-4, -87.33654)


def _fn(builder, name, ret, *args):
    """Declare (once) and return an LLVM intrinsic of the module being built."""
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(ret, args), name)


def _splat(builder, x, w):
    """A w-lane vector of scalar IR value x."""
    one = builder.insert_element(ir.Constant(ir.VectorType(x.type, w), ir.Undefined), x, _I0)
    return builder.shuffle_vector(one, one, ir.Constant(ir.VectorType(ir.IntType(32), w), [0] * w))


_I0 = ir.IntType(32)(0)


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
        fma_fn = _fn(builder, f"llvm.fma.v{n}f32", vt, vt, vt, vt)
        fma = lambda a, b, d: builder.call(fma_fn, [a, b, d])
        half, log2e, magic, ln2_hi, ln2_lo, lo = _EXP_C
        d = builder.fsub(args[0], _splat(builder, args[1], n))
        tiny = builder.fcmp_ordered("<", d, c(lo))  # false for NaN
        d = builder.select(tiny, c(lo), d)  # keeps the 2**n scale factor a normal number
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
        return builder.select(tiny, c(0.0), e)

    return v(v, m), codegen


def _emit(builder, name, a, b):
    """An IR instruction (fadd, fmul) or an LLVM vector intrinsic on float32 vectors a, b."""
    if not name.startswith("llvm."):
        return getattr(builder, name)(a, b)
    return builder.call(_fn(builder, f"{name}.v{a.type.count}f32", a.type, a.type, a.type), [a, b])


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
                lo, hi = (builder.shuffle_vector(x, x, _lanes(j, n, 32)) for j in (0, n))
                x = _emit(builder, name, lo, hi)
            return builder.extract_element(x, _I0)

        return v.dtype(v), codegen

    return f


_vadd, _vmul, _vmaxnum = _vop("fadd"), _vop("fmul"), _vop("llvm.maxnum")
_vhsum, _vhmax = _vfold("fadd"), _vfold("llvm.maxnum")


def _lanes(start, n, bits):
    """The constant vector start, start + 1, ..., start + n - 1."""
    return ir.Constant(ir.VectorType(ir.IntType(bits), n), list(range(start, start + n)))


@intrinsic
def _vsplat(typingctx, v, x):
    """A vector like v with every lane x."""
    return v(v, x), lambda context, builder, sig, args: _splat(builder, args[1], v.lanes)


def _masked(kind):
    """Masked load (lanes arr[i : i + n], the rest = fill) or store of a simd.Vec, n < lanes:
    row tails and short rows stay vector code, without touching memory past the row."""

    def typer(typingctx, arr, i, n, x):
        vt = Vec(arr.dtype, lanes_for(arr.dtype))

        def codegen(context, builder, sig, args):
            lt, w = context.get_value_type(vt), vt.lanes
            ptr = _vec_ptr(
                context, builder, vt, _elem_ptr(context, builder, sig.args[0], args[0], args[1])
            )
            mask = builder.icmp_signed("<", _lanes(0, w, 64), _splat(builder, args[2], w))
            name = f"llvm.masked.{kind}.v{w}f{arr.dtype.bitwidth}.p0"
            align = ir.IntType(32)(arr.dtype.bitwidth // 8)
            if kind == "load":
                fill = _splat(builder, context.cast(builder, args[3], sig.args[3], arr.dtype), w)
                fn = _fn(builder, name, lt, ptr.type, align.type, mask.type, lt)
                return builder.call(fn, [ptr, align, mask, fill])
            fn = _fn(builder, name, ir.VoidType(), lt, ptr.type, align.type, mask.type)
            builder.call(fn, [args[3], ptr, align, mask])
            return context.get_dummy_value()

        return (vt if kind == "load" else types.void)(arr, types.intp, types.intp, x), codegen

    return intrinsic(typer)


_vload_part, _vstore_part = _masked("load"), _masked("store")  # (arr, i, n, fill / vector)


@njit(**LEAF)
def _vmax_row(r):
    """Max of a float32 row ignoring NaN (maxnum: one instruction per vector); a NaN still turns
    the whole row NaN through exp(NaN - m)."""
    n, w = r.shape[0], vlanes(r)
    v0 = v1 = _vload_part(r, 0, min(n, w), -np.inf)
    k = 0
    while k + 2 * w <= n:
        v0, v1 = _vmaxnum(v0, vload(r, k)), _vmaxnum(v1, vload(r, k + w))
        k += 2 * w
    if k < n:
        v0 = _vmaxnum(v0, _vload_part(r, k, min(n - k, w), -np.inf))
        if k + w < n:
            v1 = _vmaxnum(v1, _vload_part(r, k + w, n - k - w, -np.inf))
    return _vhmax(_vmaxnum(v0, v1))


@njit(**LEAF)
def _vscale(o, c):
    n, w = o.shape[0], vlanes(o)
    cv = _vsplat(vzero(o), c)
    k = 0
    while k + w <= n:
        vstore(o, k, _vmul(vload(o, k), cv))
        k += w
    if k < n:
        _vstore_part(o, k, n - k, _vmul(_vload_part(o, k, n - k, 0), cv))


@njit(**LEAF)
def _vexp_blk(r, m, o, store):
    """sum(exp(r - m)) of a float32 block, storing exp into o if asked; r - m <= 0. The tail's
    padding lanes load -inf, whose exp is 0."""
    n, w = r.shape[0], vlanes(r)
    acc = vzero(r)
    k = 0
    while k + w <= n:
        e = _vexp_shift(vload(r, k), m)
        if store:
            vstore(o, k, e)
        acc = _vadd(acc, e)
        k += w
    if k < n:
        e = _vexp_shift(_vload_part(r, k, n - k, -np.inf), m)
        if store:
            _vstore_part(o, k, n - k, e)
        acc = _vadd(acc, e)
    return _vhsum(acc)


# ---------------------------------------------------------------- vectorised row pieces
@njit(fastmath=FM, **LEAF)
def _exp_store(r, m, o, s):
    """o = exp(r - m); returns s + sum(o)."""
    for k in range(r.shape[0]):
        e = fexp(r[k] - m)
        o[k] = e
        s += e
    return s


@njit(fastmath=FM, **LEAF)
def _exp_acc(r, m, s):
    for k in range(r.shape[0]):
        s += fexp(r[k] - m)
    return s


@njit(fastmath=FM, **LEAF)
def _dot(a, b, s):
    for k in range(a.shape[0]):
        s += a[k] * b[k]
    return s


@njit(fastmath=FM, **LEAF)
def _plain_sum(a, s):
    for k in range(a.shape[0]):
        s += a[k]
    return s


@njit(fastmath=FM, **LEAF)
def _scale(o, c):
    for k in range(o.shape[0]):
        o[k] *= c


@njit(fastmath=FM, **LEAF)
def _shift(r, c, o):
    for k in range(r.shape[0]):
        o[k] = r[k] - c


@njit(fastmath=FM, **LEAF)
def _sm_bw(y, g, d, o):
    for k in range(y.shape[0]):
        o[k] = y[k] * (g[k] - d)


@njit(fastmath=FM, **LEAF)
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


@njit(**LEAF)
def _lse_parts(r):
    """(m, log sum exp(r - m)) with torch's logsumexp rule: an infinite max is replaced by 0."""
    m = _rowmax(r)
    if m == np.inf or m == -np.inf:  # then r - 0 may be > 0: the general exp
        return cast(r, 0), flog(_exp_acc(r, cast(r, 0), cast(r, 0)))
    return m, flog(_sum_exp(r, m, r, False))


def _row(op, x, g, o, lse, i):
    """Row i of op (a literal): each op gets its own small compiled loop (a runtime op made
    one big function that LLVM optimised half as well)."""


@overload(_row, prefer_literal=True, inline="always")
def _ov_row(op, x, g, o, lse, i):
    if not isinstance(op, types.IntegerLiteral):
        return None
    return [_softmax_row, _log_softmax_row, _lse_row, _softmax_bw_row, _log_softmax_bw_row][
        op.literal_value
    ]


def _softmax_row(op, x, g, o, lse, i):
    r = x[i]
    m = _rowmax(r)
    _rowscale(o[i], cast(r, 1) / _sum_exp(r, m, o[i], True))


def _log_softmax_row(op, x, g, o, lse, i):
    r = x[i]
    m = _rowmax(r)
    _shift(r, m + flog(_sum_exp(r, m, r, False)), o[i])


def _lse_row(op, x, g, o, lse, i):
    m, ls = _lse_parts(x[i])
    lse[i] = m + ls


def _softmax_bw_row(op, x, g, o, lse, i):  # x = y (the forward output), g = grad of y
    r, d = x[i], cast(x, 0)
    for b0 in range(0, r.shape[0], BLK):
        d += _dot(r[b0 : b0 + BLK], g[i, b0 : b0 + BLK], cast(r, 0))
    _sm_bw(r, g[i], d, o[i])


def _log_softmax_bw_row(op, x, g, o, lse, i):
    d = cast(x, 0)
    for b0 in range(0, x.shape[1], BLK):
        d += _plain_sum(g[i, b0 : b0 + BLK], cast(x, 0))
    _lsm_bw(x[i], g[i], d, o[i])


def _make(op):
    """Serial and threaded row drivers for one op (a closure constant: Numba caches these)."""

    @njit(**LEAF)
    def rows(x, g, o, lse):
        for i in range(x.shape[0]):
            _row(op, x, g, o, lse, i)

    @njit(parallel=True, **LEAF)
    def rows_par(x, g, o, lse, nt):
        m = x.shape[0]
        for p in prange(nt):
            for i in range(p * m // nt, (p + 1) * m // nt):
                _row(op, x, g, o, lse, i)

    return rows, rows_par


_DRIVERS = [_make(op) for op in range(5)]


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
    rows, rows_par = _DRIVERS[op]
    if nt > 1:
        rows_par(x, g, o, l1, nt)
    else:
        rows(x, g, o, l1)


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
