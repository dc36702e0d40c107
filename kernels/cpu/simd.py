"""Explicit SIMD vectors for Numba kernels: 512-bit where the compile target has AVX-512F
(<16 x float>, <8 x double>), else 256-bit (AVX2: <8 x float>, <4 x double>).

Why: LLVM's vectorizers do not turn a scalar register-blocked GEMM micro-kernel into
broadcast-FMA code (see shared/reference/numba-gemm-probe.md), so the micro-kernel spells its
vectors out. A `Vec` local lowers to an LLVM vector value and lives in a ymm/zmm register.
The register-tile GEMM micro-kernels built from these live at the end of this file.

All loads/stores take a 1-D array and an element index. They do no bounds or wraparound
checks: callers guarantee `0 <= i` and `i + lanes <= len(arr)`.
"""

from llvmlite import ir
from numba import njit
from numba.core import cgutils, config, types
from numba.core.codegen import get_host_cpu_features
from numba.extending import intrinsic, models, register_model

__all__ = [
    "MR",
    "NV",
    "VBYTES",
    "Vec",
    "lanes_for",
    "ld",
    "micro",
    "prefetch",
    "st",
    "tblock",
    "transpose_copy",
    "vbroadcast",
    "vfma",
    "vlanes",
    "vload",
    "vput",
    "vstore",
    "vzero",
]


def _target_vbytes() -> int:
    # Follow Numba's own target (NUMBA_CPU_FEATURES / NUMBA_ENABLE_AVX override the host), so
    # the vector width always matches the code Numba emits and the cache key it files it under.
    feats = config.CPU_FEATURES
    if feats is None:
        feats = get_host_cpu_features()
    return 64 if "+avx512f" in feats.split(",") else 32


VBYTES = _target_vbytes()  # bytes in one vector register (zmm or ymm)


def lanes_for(dtype) -> int:
    """Vector lanes for a Numba scalar type (float32: 16 with AVX-512, else 8)."""
    return VBYTES // (dtype.bitwidth // 8)


class Vec(types.Type):
    """A SIMD vector of `lanes` scalars of `dtype` (compile-time only, never boxed)."""

    def __init__(self, dtype, lanes):
        self.dtype = dtype
        self.lanes = lanes
        super().__init__(name=f"Vec({dtype}x{lanes})")


@register_model(Vec)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        elem = dmm.lookup(fe_type.dtype).get_value_type()
        super().__init__(dmm, fe_type, ir.VectorType(elem, fe_type.lanes))


def _vec_of(arr):
    return Vec(arr.dtype, lanes_for(arr.dtype))


def _elem_ptr(context, builder, arrty, arr, idx):
    # Raw element pointer: no wraparound select, no bounds check (the caller's contract).
    data = context.make_array(arrty)(context, builder, arr).data
    return builder.gep(data, [idx], inbounds=True)


def _vec_ptr(context, builder, vt, ptr):
    return builder.bitcast(ptr, context.get_value_type(vt).as_pointer())


@intrinsic
def ld(typingctx, arr, i):
    """arr[i] with no wraparound select (lets LLVM keep strided loops simple)."""

    def codegen(context, builder, sig, args):
        return builder.load(_elem_ptr(context, builder, sig.args[0], args[0], args[1]))

    return arr.dtype(arr, types.intp), codegen


@intrinsic
def st(typingctx, arr, i, x):
    """arr[i] = x (cast to arr's dtype) with no wraparound select."""

    def codegen(context, builder, sig, args):
        v = context.cast(builder, args[2], sig.args[2], sig.args[0].dtype)
        builder.store(v, _elem_ptr(context, builder, sig.args[0], args[0], args[1]))
        return context.get_dummy_value()

    return types.void(arr, types.intp, x), codegen


@intrinsic
def vlanes(typingctx, arr):
    """Lanes of the vector type matching arr's dtype, as a compile-time constant."""
    n = lanes_for(arr.dtype)

    def codegen(context, builder, sig, args):
        return context.get_constant(types.intp, n)

    return types.intp(arr), codegen


@intrinsic
def vzero(typingctx, arr):
    """All-zero vector with arr's dtype."""
    vt = _vec_of(arr)

    def codegen(context, builder, sig, args):
        return ir.Constant(context.get_value_type(vt), None)

    return vt(arr), codegen


@intrinsic
def vload(typingctx, arr, i):
    """Unaligned load of arr[i : i + lanes]."""
    vt = _vec_of(arr)
    align = arr.dtype.bitwidth // 8

    def codegen(context, builder, sig, args):
        p = _elem_ptr(context, builder, sig.args[0], args[0], args[1])
        return builder.load(_vec_ptr(context, builder, vt, p), align=align)

    return vt(arr, types.intp), codegen


@intrinsic
def vbroadcast(typingctx, arr, i):
    """Vector with every lane = arr[i] (lowers to vbroadcastss/sd from memory)."""
    vt = _vec_of(arr)

    def codegen(context, builder, sig, args):
        x = builder.load(_elem_ptr(context, builder, sig.args[0], args[0], args[1]))
        lt = context.get_value_type(vt)
        v = builder.insert_element(ir.Constant(lt, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
        mask = ir.Constant(ir.VectorType(ir.IntType(32), vt.lanes), [0] * vt.lanes)
        return builder.shuffle_vector(v, ir.Constant(lt, ir.Undefined), mask)

    return vt(arr, types.intp), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """a * b + c, fused (llvm.fma.v16f32, v8f32, ...): one vfmadd instruction."""
    if not (isinstance(a, Vec) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        lt = context.get_value_type(a)
        suffix = f"v{a.lanes}f{a.dtype.bitwidth}"
        # declare_intrinsic rejects vector types, so declare the overload by hand.
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(lt, [lt, lt, lt]), f"llvm.fma.{suffix}"
        )
        return builder.call(fn, args)

    return a(a, b, c), codegen


@intrinsic
def vstore(typingctx, arr, i, v):
    """arr[i : i + lanes] = v (unaligned)."""
    if not (isinstance(v, Vec) and v.dtype == arr.dtype):
        return None

    def codegen(context, builder, sig, args):
        p = _elem_ptr(context, builder, sig.args[0], args[0], args[1])
        align = sig.args[0].dtype.bitwidth // 8
        builder.store(args[2], _vec_ptr(context, builder, sig.args[2], p), align=align)
        return context.get_dummy_value()

    return types.void(arr, types.intp, v), codegen


@intrinsic
def vput(typingctx, arr, i, v, accumulate):
    """arr[i : i + lanes] = v, or += v when accumulate (a runtime bool; no branch, a select)."""
    if not (isinstance(v, Vec) and v.dtype == arr.dtype):
        return None

    def codegen(context, builder, sig, args):
        arrty, _, vt, _ = sig.args
        p = _elem_ptr(context, builder, arrty, args[0], args[1])
        vp = _vec_ptr(context, builder, vt, p)
        align = arrty.dtype.bitwidth // 8
        # Reading the old value is always safe (same address); select keeps NaN garbage
        # in a fresh output from leaking into a plain store.
        old = builder.load(vp, align=align)
        flag = context.cast(builder, args[3], sig.args[3], types.boolean)
        v = builder.select(flag, builder.fadd(old, args[2]), args[2])
        builder.store(v, vp, align=align)
        return context.get_dummy_value()

    return types.void(arr, types.intp, v, types.boolean), codegen


@intrinsic
def prefetch(typingctx, arr, i):
    """Hint: bring the cache line holding arr[i] into L1 (read). Never faults."""

    def codegen(context, builder, sig, args):
        p = _elem_ptr(context, builder, sig.args[0], args[0], args[1])
        i8p = builder.bitcast(p, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [i8p.type, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        builder.call(fn, [i8p, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return types.void(arr, types.intp), codegen


def _interleave_masks(n):
    h = n // 2
    i32 = ir.IntType(32)
    lo = [x for m in range(h) for x in (m, n + m)]
    hi = [x for m in range(h, n) for x in (m, n + m)]
    return ir.Constant(ir.VectorType(i32, n), lo), ir.Constant(ir.VectorType(i32, n), hi)


@intrinsic
def tblock(typingctx, arr):
    """Side of the square block transpose_copy moves: one 32-byte vector (8 f32, 4 f64)."""
    n = 32 // (arr.dtype.bitwidth // 8)

    def codegen(context, builder, sig, args):
        return context.get_constant(types.intp, n)

    return types.intp(arr), codegen


@intrinsic
def transpose_copy(typingctx, src, si, ss, dst, di, ds):
    """dst[di + c*ds + r] = src[si + r*ss + c] for r, c < T = tblock(src): an in-register
    T x T transpose (log2(T) rounds of interleaving shuffles) instead of T*T scalar moves."""
    if src.dtype != dst.dtype:
        return None
    n = 32 // (src.dtype.bitwidth // 8)
    align = src.dtype.bitwidth // 8

    def codegen(context, builder, sig, args):
        vt = ir.VectorType(context.get_value_type(src.dtype), n)

        def vptr(arrty, arr, idx):
            return builder.bitcast(_elem_ptr(context, builder, arrty, arr, idx), vt.as_pointer())

        def offset(base, stride, r):
            return builder.add(base, builder.mul(stride, ir.Constant(base.type, r)))

        rows = [
            builder.load(vptr(sig.args[0], args[0], offset(args[1], args[2], r)), align=align)
            for r in range(n)
        ]
        lo, hi = _interleave_masks(n)
        for _ in range(n.bit_length() - 1):  # perfect-shuffle rounds: rows become columns
            pairs = [(rows[m], rows[m + n // 2]) for m in range(n // 2)]
            rows = [builder.shuffle_vector(a, b, msk) for a, b in pairs for msk in (lo, hi)]
        for c, v in enumerate(rows):
            builder.store(v, vptr(sig.args[3], args[3], offset(args[4], args[5], c)), align=align)
        return context.get_dummy_value()

    return types.void(src, types.intp, types.intp, dst, types.intp, types.intp), codegen


# ---------------------------------------------------------------- register-tile GEMM kernels
# Tile: MR rows x NV vectors of columns (NR = NV * lanes). Each uses at most 16 accumulators
# plus the B vectors and one broadcast: 4 x 3 ymm fits AVX2's 16 registers, 8 x 2 zmm AVX-512's 32.
MR, NV = (8, 2) if VBYTES == 64 else (4, 3)


@njit(cache=True)
def micro_4x3(Ap, ao, Bp, bo, ldb, kc, C, co, ldc, acc):
    """C[co + r*ldc + j] (+)= sum_k Ap[ao + k*4 + r] * Bp[bo + k*ldb + j]; r < 4, j < 3L."""
    L = vlanes(Bp)
    c00 = c01 = c02 = c10 = c11 = c12 = vzero(Bp)
    c20 = c21 = c22 = c30 = c31 = c32 = vzero(Bp)
    for k in range(kc):
        pb, pa = bo + k * ldb, ao + k * 4
        b0, b1, b2 = vload(Bp, pb), vload(Bp, pb + L), vload(Bp, pb + 2 * L)
        x = vbroadcast(Ap, pa)
        c00, c01, c02 = vfma(x, b0, c00), vfma(x, b1, c01), vfma(x, b2, c02)
        x = vbroadcast(Ap, pa + 1)
        c10, c11, c12 = vfma(x, b0, c10), vfma(x, b1, c11), vfma(x, b2, c12)
        x = vbroadcast(Ap, pa + 2)
        c20, c21, c22 = vfma(x, b0, c20), vfma(x, b1, c21), vfma(x, b2, c22)
        x = vbroadcast(Ap, pa + 3)
        c30, c31, c32 = vfma(x, b0, c30), vfma(x, b1, c31), vfma(x, b2, c32)
    rows = ((c00, c01, c02), (c10, c11, c12), (c20, c21, c22), (c30, c31, c32))
    for r, (u, v, w) in enumerate(rows):
        p = co + r * ldc
        vput(C, p, u, acc)
        vput(C, p + L, v, acc)
        vput(C, p + 2 * L, w, acc)


@njit(cache=True)
def micro_8x2(Ap, ao, Bp, bo, ldb, kc, C, co, ldc, acc):
    """C[co + r*ldc + j] (+)= sum_k Ap[ao + k*8 + r] * Bp[bo + k*ldb + j]; r < 8, j < 2L."""
    L = vlanes(Bp)
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = vzero(Bp)
    c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = vzero(Bp)
    for k in range(kc):
        pb, pa = bo + k * ldb, ao + k * 8
        b0, b1 = vload(Bp, pb), vload(Bp, pb + L)
        x, y = vbroadcast(Ap, pa), vbroadcast(Ap, pa + 1)
        c00, c01, c10, c11 = vfma(x, b0, c00), vfma(x, b1, c01), vfma(y, b0, c10), vfma(y, b1, c11)
        x, y = vbroadcast(Ap, pa + 2), vbroadcast(Ap, pa + 3)
        c20, c21, c30, c31 = vfma(x, b0, c20), vfma(x, b1, c21), vfma(y, b0, c30), vfma(y, b1, c31)
        x, y = vbroadcast(Ap, pa + 4), vbroadcast(Ap, pa + 5)
        c40, c41, c50, c51 = vfma(x, b0, c40), vfma(x, b1, c41), vfma(y, b0, c50), vfma(y, b1, c51)
        x, y = vbroadcast(Ap, pa + 6), vbroadcast(Ap, pa + 7)
        c60, c61, c70, c71 = vfma(x, b0, c60), vfma(x, b1, c61), vfma(y, b0, c70), vfma(y, b1, c71)
    top = ((c00, c01), (c10, c11), (c20, c21), (c30, c31))
    bottom = ((c40, c41), (c50, c51), (c60, c61), (c70, c71))
    for r, (u, v) in enumerate(top + bottom):
        vput(C, co + r * ldc, u, acc)
        vput(C, co + r * ldc + L, v, acc)


micro = micro_8x2 if VBYTES == 64 else micro_4x3  # fixed per compile target, like VBYTES
