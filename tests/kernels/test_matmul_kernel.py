"""kernels.cpu.matmul against numpy, on plain numpy arrays: all dtypes, awkward strides,
accumulate, batched with broadcast, empty dims, and both micro-kernel shapes."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.cpu import matmul as mm
from kernels.cpu.matmul import gemm, gemm_batched

FLOAT_TOL = {np.float32: 1e-5, np.float64: 1e-12}
INTS = [np.int64, np.int32, np.int16, np.int8, np.uint8]
# Shapes (M, N, K) that reach every path: simple kernel, serial packed, parallel packed with
# edge tiles and several K blocks (K > KC), tiny and degenerate dims.
SHAPES = [
    (1, 1, 1),
    (37, 5, 19),
    (7, 300, 25),
    (32, 16, 2),
    (100, 100, 100),
    (97, 61, 259),
    (300, 5, 300),
    (12, 200, 300),
]


def rand(rng, shape, dtype):
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    return rng.integers(-20, 20, shape).astype(dtype)


def garbage(dtype):
    return np.nan if np.dtype(dtype).kind == "f" else 99


def rel_err(x, ref):
    return np.linalg.norm(x.astype(np.float64) - ref) / max(np.linalg.norm(ref), 1e-300)


def check_float(out, a, b, dtype, base=None):
    ref = a.astype(np.float64) @ b.astype(np.float64)
    if base is not None:
        ref = ref + base
    assert rel_err(out, ref) <= FLOAT_TOL[dtype]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_float_contiguous(dtype, shape):
    M, N, K = shape
    rng = np.random.default_rng(M * 7 + N)
    a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
    out = np.full((M, N), np.nan, dtype)  # garbage must not leak into a plain store
    gemm(a, b, out)
    check_float(out, a, b, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_moderate_odd(dtype):
    rng = np.random.default_rng(1)
    a, b = rand(rng, (513, 257), dtype), rand(rng, (257, 1031), dtype)
    out = np.empty((513, 1031), dtype)
    gemm(a, b, out)
    check_float(out, a, b, dtype)


def strided_views(rng, M, N, K, dtype):
    """a transposed, b stepped in both dims, out a stepped transposed view."""
    a = rand(rng, (K, M), dtype).T
    b = rand(rng, (2 * K + 1, 3 * N), dtype)[1::2, ::3]
    out = np.full((N, 2 * M), garbage(dtype), dtype)[:, ::2].T
    return a, b, out


@pytest.mark.parametrize("dtype", [np.float32, np.float64, *INTS])
@pytest.mark.parametrize("shape", [(37, 5, 19), (7, 300, 25), (97, 61, 259)])
def test_strided_operands_and_out(dtype, shape):
    rng = np.random.default_rng(2)
    a, b, out = strided_views(rng, *shape, dtype)
    gemm(a, b, out)
    if np.dtype(dtype).kind == "f":
        check_float(out, a, b, dtype)
    else:
        np.testing.assert_array_equal(out, np.matmul(a, b))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_broadcast_and_negative_strides(dtype):
    rng = np.random.default_rng(3)
    M, N, K = 90, 70, 120
    a = np.broadcast_to(rand(rng, (1, K), dtype), (M, K))  # stride-0 rows, read-only
    b = rand(rng, (K, N), dtype)[::-1, ::-1]
    out = np.empty((M, N), dtype)
    gemm(a, b, out)
    check_float(out, a, b, dtype)
    out_rev = np.empty((M, N), dtype)[::-1, ::-1]  # negative output strides: via a temporary
    gemm(a[::-1], b, out_rev)
    check_float(out_rev, a[::-1], b, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize("shape", [(37, 5, 19), (97, 61, 259)])
def test_accumulate(dtype, shape):
    M, N, K = shape
    rng = np.random.default_rng(4)
    a, b, out = strided_views(rng, M, N, K, dtype)
    out[...] = rand(rng, (M, N), dtype)
    base = out.copy()
    gemm(a, b, out, accumulate=True)
    if np.dtype(dtype).kind == "f":
        check_float(out, a, b, dtype, base=base.astype(np.float64))
    else:
        np.testing.assert_array_equal(out, base + np.matmul(a, b))


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("shape", [(1, 1, 1), (37, 5, 19), (70, 80, 90)])
def test_int_exact_with_wraparound(dtype, shape):
    M, N, K = shape
    rng = np.random.default_rng(5)
    a, b = rand(rng, (M, K), dtype), rand(rng, (K, N), dtype)
    out = np.empty((M, N), dtype)
    gemm(a, b, out)
    np.testing.assert_array_equal(out, np.matmul(a, b))  # numpy wraps small ints the same way


@pytest.mark.parametrize("M,N,K", [(0, 4, 3), (4, 0, 3), (0, 0, 0), (4, 5, 0)])
def test_empty_dims(M, N, K):
    a, b = np.ones((M, K), np.float32), np.ones((K, N), np.float32)
    out = np.full((M, N), 7.0, np.float32)
    gemm(a, b, out, accumulate=True)
    assert (out == 7).all()  # K == 0 with accumulate: unchanged
    gemm(a, b, out)
    assert (out == 0).all()
    outb = np.full((2, M, N), 7.0, np.float32)
    gemm_batched(np.ones((2, M, K), np.float32), np.ones((2, K, N), np.float32), outb)
    assert (outb == 0).all()


def test_out_aliases_input():
    rng = np.random.default_rng(6)
    a, b = rand(rng, (120, 120), np.float64), rand(rng, (120, 120), np.float64)
    ref = a @ b
    gemm(a, b, a)
    np.testing.assert_allclose(a, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(9, 6, 5), (100, 100, 100)])
def test_nan_and_inf_propagate(shape):
    M, N, K = shape
    a, b = np.ones((M, K), np.float32), np.ones((K, N), np.float32)
    a[1, 2], a[3, 0], b[0, 4] = np.inf, np.nan, -np.inf
    out = np.empty((M, N), np.float32)
    gemm(a, b, out)
    with np.errstate(invalid="ignore"):
        ref = a @ b
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    np.testing.assert_array_equal(out[np.isfinite(ref)], ref[np.isfinite(ref)])
    np.testing.assert_array_equal(out[np.isinf(ref)], ref[np.isinf(ref)])


def test_simd_store_and_transpose():
    from numba import njit

    from kernels.cpu.simd import tblock, transpose_copy, vlanes, vload, vstore

    @njit
    def run(src, dst, cpy):
        vstore(cpy, 1, vload(src, 2))
        transpose_copy(src, 3, 11, dst, 5, 13)
        return vlanes(src), tblock(src)

    for dt in (np.float32, np.float64):
        src, dst, cpy = np.arange(200, dtype=dt), np.zeros(300, dt), np.zeros(40, dt)
        lanes, t = run(src, dst, cpy)
        np.testing.assert_array_equal(cpy[1 : 1 + lanes], src[2 : 2 + lanes])
        assert cpy[0] == 0 and cpy[1 + lanes] == 0
        got = np.lib.stride_tricks.as_strided(dst[5:], (t, t), (13 * dst.itemsize, dst.itemsize))
        blk = np.lib.stride_tricks.as_strided(src[3:], (t, t), (11 * src.itemsize, src.itemsize))
        np.testing.assert_array_equal(got, blk.T)


def test_errors_name_the_problem():
    f = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError, match="gemm"):
        gemm(f, f, np.empty((2, 3), np.float32))
    with pytest.raises(TypeError, match="dtypes differ"):
        gemm(f, f.T.astype(np.float64), np.empty((2, 2), np.float32))
    with pytest.raises(ValueError, match="read-only"):
        gemm(f, f.T, np.broadcast_to(np.float32(0), (2, 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize(
    "nb,shape", [(5, (3, 4, 2)), (4, (33, 40, 50)), (3, (100, 70, 90)), (1, (100, 70, 90))]
)
def test_batched_broadcast(dtype, nb, shape):
    M, N, K = shape
    rng = np.random.default_rng(7)
    a = rand(rng, (nb, M, K), dtype)
    b = np.broadcast_to(rand(rng, (1, K, N), dtype), (nb, K, N))  # batch stride 0
    out = np.full((nb, M, N), 99, dtype)
    gemm_batched(a, b, out)
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    if np.dtype(dtype).kind == "f":
        assert rel_err(out, ref) <= FLOAT_TOL[dtype]
    else:
        np.testing.assert_array_equal(out, np.matmul(a, b))
    # Transposed per-matrix views with a broadcast A.
    out2 = np.empty((nb, N, M), dtype).transpose(0, 2, 1)
    a2 = np.broadcast_to(a[:1], a.shape)
    gemm_batched(a2, b, out2)
    ref2 = np.matmul(a2.astype(np.float64), b.astype(np.float64))
    assert rel_err(out2, ref2) <= FLOAT_TOL.get(dtype, 0)


@settings(deadline=None, max_examples=25)
@given(
    st.integers(1, 40), st.integers(1, 40), st.integers(1, 40),
    st.sampled_from([(1, 1), (2, 1), (1, 3)]), st.booleans(), st.booleans(),
)  # fmt: skip
def test_property_random_views(M, N, K, steps, ta, tb):
    rng = np.random.default_rng(M * 1600 + N * 40 + K)
    sa, sb = steps
    a = (
        rand(rng, (K, M * sa), np.float64)[:, ::sa].T
        if ta
        else rand(rng, (M, K * sa), np.float64)[:, ::sa]
    )
    b = (
        rand(rng, (N, K * sb), np.float64)[:, ::sb].T
        if tb
        else rand(rng, (K, N * sb), np.float64)[:, ::sb]
    )
    out = np.empty((M, N), np.float64)
    gemm(a, b, out)
    check_float(out, a, b, np.float64)


AVX2_SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from kernels.cpu import matmul as mm
    assert (mm.MR, mm.NV) == (4, 3), (mm.MR, mm.NV)
    rng = np.random.default_rng(0)
    for M, N, K in [(37, 5, 19), (130, 97, 60), (40, 50, 300), (12, 77, 300)]:  # serial paths
        a = rng.standard_normal((K, M)).astype(np.float32).T
        b = rng.standard_normal((K, N)).astype(np.float32)
        out = np.empty((M, N), np.float32)
        mm.gemm(a, b, out)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        assert np.linalg.norm(out - ref) <= 1e-5 * np.linalg.norm(ref)
    print("ok")
    """
)
AVX2_FEATURES = (
    "+64bit,+avx,+avx2,+fma,+f16c,+bmi,+bmi2,+lzcnt,+movbe,+popcnt,+cx16,+sse4.2,+sse4.1,+ssse3"
)


@pytest.mark.skipif(mm.MR == 4, reason="this host already runs the 4x3 AVX2 micro-kernel")
def test_avx2_micro_kernel_in_subprocess():
    """The AVX2 tile (4 x 3 ymm) is what Zen 3 / Haswell run; compile it for an AVX2 target."""
    env = dict(os.environ, NUMBA_CPU_NAME="haswell", NUMBA_CPU_FEATURES=AVX2_FEATURES)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    res = subprocess.run(
        [sys.executable, "-c", AVX2_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr[-3000:]
