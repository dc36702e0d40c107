"""CPU reductions along axis 1 of a 2-D (M, K) array: sum/prod/max/min/all/any, plus the layout
helpers the family shares (argmax/argmin live in sort.py, var in scan.py, logsumexp in
softmax.py).

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
from numba.core import cgutils
from numba.extending import intrinsic, overload

from kernels.cpu.simd import Vec, vlanes, vload

__all__ = ["arg_reduce_rows", "col_view", "logsumexp_rows", "reduce_rows", "row_view", "var_rows"]

SUM, PROD, MAX, MIN, ALL, ANY = range(6)
_OPS = {"sum": SUM, "prod": PROD, "max": MAX, "min": MIN, "all": ALL, "any": ANY}
FM = {"reassoc", "nsz", "contract", "arcp"}  # reorder sums/products; NaN and inf still honoured
BLK = 2048  # 1-D block: short vector-lane partial sums (accuracy) and an L1-resident re-read
TILE = 2048  # column-path tile width: long row runs, and the out-slice accumulators stay in L1
PAR_MIN = 1 << 18  # below this many elements thread start-up outweighs the work
COL_MIN = 1 << 12  # smaller column-major inputs are copied to rows
# Kernels that allocate nothing run without Numba's refcounting: its out-of-line atomic
# incref/decref pairs on array arguments and views cost ~100 ns per call, more than a short row.
LEAF = {"cache": True, "_nrt": False}


# ---------------------------------------------------------------- scalar building blocks
@njit(cache=True, inline="always")
def isnan(v):
    """NaN test for every dtype (constant False for ints and bools)."""
    return v != v  # noqa: PLR0124


@njit(cache=True, inline="always")
def pext(a, b, big):
    """NaN-propagating max (big) or min of two scalars, as torch.max/min."""
    return b if ((b > a) if big else (b < a)) | isnan(b) else a


# ---------------------------------------------------------------- 1-D row reductions
@njit(fastmath=FM, **LEAF)
def _sum_blk(b, s):
    for k in range(b.shape[0]):
        s += b[k]
    return s


@njit(**LEAF)
def sum_1d(a, z):
    """Sum in z's dtype. Lanes sum 2048-blocks, blocks sum in groups of 64, groups sum at the end:
    float32 error grows like ~200 ulps at 16M elements, not the 500K ulps of one running sum."""
    s1 = s2 = s3 = z
    for nb, b0 in enumerate(range(0, a.shape[0], BLK), 1):
        s1 += _sum_blk(a[b0 : b0 + BLK], z)
        if nb % 64 == 0:
            s2 += s1
            s1 = z
            if nb % 4096 == 0:
                s3 += s2
                s2 = z
    return s3 + (s2 + s1)


@njit(fastmath=FM, **LEAF)
def prod_1d(a, p):
    for k in range(a.shape[0]):
        p *= a[k]
    return p


def _vcall(builder, big, a, b):
    """llvm.maximum (big) or llvm.minimum of two float vectors: lane-wise, NaN-propagating."""
    t = a.type
    name = f"llvm.{'maximum' if big else 'minimum'}.v{t.count}{t.element.intrinsic_name}"
    fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(t, [t, t]), name)
    return builder.call(fn, [a, b])


@intrinsic(prefer_literal=True)
def _vext(typingctx, big, a, b):
    """NaN-propagating lane-wise max (big, a literal) / min of two simd.Vec (LLVM does not
    vectorise a NaN-propagating select, and maxnum ignores NaN)."""
    if not (isinstance(big, types.BooleanLiteral) and isinstance(a, Vec) and a == b):
        return None
    return a(big, a, b), lambda ctx, builder, sig, args: _vcall(
        builder, big.literal_value, *args[1:]
    )


@intrinsic(prefer_literal=True)
def _vhext(typingctx, big, v):
    """Horizontal NaN-propagating max/min of a simd.Vec, as a tree of halves."""
    if not (isinstance(big, types.BooleanLiteral) and isinstance(v, Vec)):
        return None

    def codegen(context, builder, sig, args):
        x, n = args[1], v.lanes
        while n > 1:
            n //= 2
            idx = (
                ir.Constant(ir.VectorType(ir.IntType(32), n), list(range(j, j + n))) for j in (0, n)
            )
            lo, hi = (builder.shuffle_vector(x, x, i) for i in idx)
            x = _vcall(builder, big.literal_value, lo, hi)
        return builder.extract_element(x, ir.IntType(32)(0))

    return v.dtype(big, v), codegen


def _make_fext(big):
    """Float max (big) / min of a row with explicit vectors, four at a time; the tail is one
    more vector overlapping the last full one (max and min are idempotent). big is a closure
    constant, so the intrinsics see a literal and Numba still caches the closure."""

    @njit(**LEAF)
    def fext(a):
        n, w = a.shape[0], vlanes(a)
        if n < w:
            m = a[0]
            for k in range(n):
                m = pext(m, a[k], big)
            return m
        v0 = v1 = v2 = v3 = vload(a, n - w)
        k = 0
        while k + 4 * w <= n:
            v0, v1 = _vext(big, v0, vload(a, k)), _vext(big, v1, vload(a, k + w))
            v2, v3 = _vext(big, v2, vload(a, k + 2 * w)), _vext(big, v3, vload(a, k + 3 * w))
            k += 4 * w
        while k + w <= n:
            v0 = _vext(big, v0, vload(a, k))
            k += w
        return _vhext(big, _vext(big, _vext(big, v0, v1), _vext(big, v2, v3)))

    return fext


_fmax, _fmin = _make_fext(True), _make_fext(False)


@njit(**LEAF)
def _iext(a, big):
    m = a[0]
    if big:
        for k in range(a.shape[0]):
            m = max(m, a[k])
    else:
        for k in range(a.shape[0]):
            m = min(m, a[k])
    return m


def ext_1d(a, big):
    """max (big) or min of a non-empty row, NaN-propagating."""


@overload(ext_1d, inline="always")
def _ov_ext(a, big):
    if isinstance(a.dtype, types.Float):

        def impl(a, big):
            if big:
                return _fmax(a)
            return _fmin(a)

        return impl
    return lambda a, big: _iext(a, big)


@njit(**LEAF)
def _nz_cnt(b):
    c = 0
    for k in range(b.shape[0]):
        c += 1 if b[k] != 0 else 0
    return c


@njit(**LEAF)
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
@njit(fastmath=FM, **LEAF)
def vadd(acc, r):
    for j in range(acc.shape[0]):
        acc[j] += r[j]


@njit(fastmath=FM, **LEAF)
def _vmul(acc, r):
    for j in range(acc.shape[0]):
        acc[j] *= r[j]


@njit(**LEAF)
def _vpext(acc, r, big):
    if big:
        for j in range(acc.shape[0]):
            acc[j] = pext(acc[j], r[j], True)
    else:
        for j in range(acc.shape[0]):
            acc[j] = pext(acc[j], r[j], False)


@njit(**LEAF)
def _vnz(acc, r, every):
    if every:
        for j in range(acc.shape[0]):
            acc[j] &= r[j] != 0
    else:
        for j in range(acc.shape[0]):
            acc[j] |= r[j] != 0


# ---------------------------------------------------------------- op dispatch (compile time)
def red_1d(op, r, like):
    """op-reduction of row r, in like.dtype (op: a literal int)."""


def comb(op, a, b):
    """Combine two partial results of op."""


def col_task(op, a, dst, c0, c1, k0, k1, tmp):
    """dst[c0:c1] = op over rows k0..k1 of a[:, c0:c1]; tmp: scratch at least c1 - c0 long."""


def cast(a, v):
    """v converted to array a's dtype (jit code only): keeps float32 math in float32."""


@overload(cast, inline="always")
def _ov_cast(a, v):
    dt = a.dtype
    return lambda a, v: dt(v)


def _lit(op):
    return op.literal_value if isinstance(op, types.IntegerLiteral) else None


@overload(red_1d, prefer_literal=True, inline="always")
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


@overload(comb, prefer_literal=True, inline="always")
def _ov_comb(op, a, b):
    o = _lit(op)
    if o is None:
        return None
    return [
        lambda op, a, b: a + b,
        lambda op, a, b: a * b,
        lambda op, a, b: pext(a, b, True),
        lambda op, a, b: pext(a, b, False),
        lambda op, a, b: a and b,
        lambda op, a, b: a or b,
    ][o]


@overload(col_task, prefer_literal=True, inline="always")
def _ov_col(op, a, dst, c0, c1, k0, k1, tmp):
    o = _lit(op)
    if o is None:
        return None

    def impl(op, a, dst, c0, c1, k0, k1, tmp):
        acc = dst[c0:c1]
        if o == SUM:  # two levels: 256-row partials, then their sum (accuracy for tall K)
            tmp = tmp[: c1 - c0]
            acc[:] = 0
            for b0 in range(k0, k1, 256):
                b1 = min(b0 + 256, k1)
                tmp[:] = 0
                for k in range(b0, b1):
                    vadd(tmp, a[k, c0:c1])
                vadd(acc, tmp)
            return
        for j in range(c1 - c0):  # casts to acc's dtype (bool for all/any)
            acc[j] = a[k0, c0 + j]
        for k in range(k0 + 1, k1):
            r = a[k, c0:c1]
            if o == PROD:
                _vmul(acc, r)
            elif o == MAX or o == MIN:
                _vpext(acc, r, o == MAX)
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
    """C-layout (K, W) view A with W >= M and ``x == A[:, :M].T``, or None. None as well below
    COL_MIN elements: copying to rows costs ~1 us there, and spares a compiled column kernel."""
    return row_view(x.T) if x.size >= COL_MIN else None


def plan(m: int, k: int) -> int:
    """0: run serial; n >= 1: parallel with each row split into n chunks (few rows -> split K)."""
    if m * k < PAR_MIN:  # checked first: get_num_threads() itself costs ~1 us
        return 0
    t = get_num_threads()
    if t < 2:
        return 0
    return t if m < 4 * t and k >= 4 * t else 1


def tiles(m: int, par: bool) -> tuple[int, int]:
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
    @njit(**LEAF)
    def rows(x, k, out):
        for i in range(out.shape[0]):
            out[i] = red_1d(op, x[i, :k], out)

    @njit(parallel=True, **LEAF)
    def rows_par(x, k, out, nch, part):
        """Task t: row t // nch, chunk t % nch, into part[t] (part is out when nch == 1)."""
        m = out.shape[0]
        for t in prange(m * nch):
            i = t // nch
            c = t - i * nch
            part[t] = red_1d(op, x[i, c * k // nch : (c + 1) * k // nch], out)
        for i in range(m if nch > 1 else 0):  # chunks combine in order: deterministic
            v = part[i * nch]
            for c in range(1, nch):
                v = comb(op, v, part[i * nch + c])
            out[i] = v

    @njit(**LEAF)
    def cols(a, m, out, w, tmp):
        for c0 in range(0, m, w):
            col_task(op, a, out, c0, min(c0 + w, m), 0, a.shape[0], tmp[0])

    @njit(parallel=True, **LEAF)
    def cols_par(a, m, out, w, nk, part, tmp):
        """Task t: tile t % nt over K-chunk t // nt, into part[t // nt] (each thread gets whole
        K-chunks: long contiguous reads)."""
        kk = a.shape[0]
        nt = (m + w - 1) // w
        for t in prange(nt * nk):
            c = t // nt
            j = t - c * nt
            col_task(
                op, a, part[c], j * w, min(j * w + w, m), c * kk // nk, (c + 1) * kk // nk, tmp[t]
            )
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
            raise ValueError(
                f"reduce_rows: {op} of an empty row (x shape {x.shape}) has no identity"
            )
        out[:] = _IDENT[code]
        return
    rows, rows_par, cols, cols_par = _DRIVERS[code]
    nch = plan(m, k)
    v = row_view(x)
    a = col_view(x) if v is None else None
    if v is None and a is None:
        v = np.ascontiguousarray(x)
    if v is not None:
        if nch == 0:
            rows(v, k, out)
        else:  # (the kernels allocate nothing, see LEAF)
            rows_par(v, k, out, nch, out if nch == 1 else np.empty(m * nch, out.dtype))
        return
    w, nt = tiles(m, nch > 0)
    if nch == 0:
        cols(a, m, out, w, np.empty((1, w), out.dtype))
    else:  # split K too when there are fewer tiles than threads' worth of work
        t = get_num_threads()
        nk = 1 if nt >= 2 * t else t
        part = out.reshape(1, m) if nk == 1 else np.empty((nk, m), out.dtype)
        cols_par(a, m, out, w, nk, part, np.empty((nt * nk, w), out.dtype))


# ---------------------------------------------------------------- kernels living elsewhere
def arg_reduce_rows(op: str, x: np.ndarray, out_values, out_indices: np.ndarray) -> None:
    """argmax/argmin along axis 1 (kernels in sort.py, with the other order statistics)."""
    from kernels.cpu.sort import arg_reduce_rows as f

    f(op, x, out_values, out_indices)


def var_rows(x: np.ndarray, out: np.ndarray, correction: float, mean_out=None) -> None:
    """Variance along axis 1 (kernels in scan.py, with the other running statistics)."""
    from kernels.cpu.scan import var_rows as f

    f(x, out, correction, mean_out)


def logsumexp_rows(x: np.ndarray, out: np.ndarray) -> None:
    """logsumexp along axis 1 (kernels in softmax.py)."""
    from kernels.cpu.softmax import logsumexp_rows as f

    f(x, out)
