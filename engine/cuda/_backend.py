"""The CUDA backend: the same entry points as ``engine._cpu_backend`` (run_map, run_zip,
run_ternary, copy_cast, reduce, arg_reduce, softmax, scan, pair, gemm), launching the
``kernels/cuda`` families on the tensors' device arrays. Metadata (offsets, strides, shapes)
goes to kernels as Python ints and int tuples, by value."""

from __future__ import annotations

import numpy as np

from kernels.cuda import _device as KD
from kernels.cuda.elementwise import map_kernels, ternary_kernels, zip_kernels

from .. import _dtype as D
from .. import _strided as S
from .._tensor import empty_tensor
from ._conv_backend import (  # conv / pool entry points
    adaptive_avgpool2d,
    adaptive_avgpool2d_backward,
    avgpool2d,
    avgpool2d_backward,
    channel_sums,
    col2im,
    conv_dgrad,
    conv_forward,
    conv_wgrad,
    im2col,
    maxpool2d,
    maxpool2d_backward,
    plane_gather,
    upsample_nearest2d,
    upsample_nearest2d_backward,
)

__all__ = [
    "adaptive_avgpool2d",
    "adaptive_avgpool2d_backward",
    "arg_reduce",
    "avgpool2d",
    "avgpool2d_backward",
    "channel_sums",
    "col2im",
    "conv_dgrad",
    "conv_forward",
    "conv_wgrad",
    "copy_cast",
    "fill",
    "gemm",
    "gemm_raw",
    "im2col",
    "launch",
    "maxpool2d",
    "maxpool2d_backward",
    "pair",
    "plane_gather",
    "reduce",
    "run_map",
    "run_ternary",
    "run_zip",
    "scan",
    "softmax",
    "upsample_nearest2d",
    "upsample_nearest2d_backward",
]

_launchers: dict = {}


def _quiet_numba() -> None:
    from numba import config
    config.CUDA_LOW_OCCUPANCY_WARNINGS = 0


_quiet_numba()


def launch(kernel, grid, block, *args) -> None:
    """``kernel[grid, block](*args)`` with the configured launcher cached."""
    key = (kernel, grid, block)
    k = _launchers.get(key)
    if k is None:
        if len(_launchers) > 4096:
            _launchers.clear()
        k = _launchers[key] = kernel[grid, block]
    k(*args)


def _activate(t) -> None:
    from . import _activate as act
    act(t._storage.device.index or 0)


# ---- elementwise ---------------------------------------------------------------------
def _numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _run_elementwise(mod, out, ins, params=()) -> None:
    n = _numel(out._shape)
    if n == 0:
        return
    _activate(out)
    grid, block = KD.launch_1d(n)
    if out._contig:
        kinds, args = [], []
        for t in ins:
            if isinstance(t, np.ndarray):
                kinds.append("s")
                args.append(t[0])
            elif t._contig:
                kinds.append("c")
                args += [t._storage.data, t._offset]
            elif not any(t._stride):
                kinds.append("z")
                args += [t._storage.data, t._offset]
            else:
                break
        else:
            k = getattr(mod, "flat_" + "".join(kinds))
            launch(k, grid, block, *args, out._storage.data, out._offset, n, *params)
            return
    strides = [out._stride] + [(0,) * len(out._shape) if isinstance(t, np.ndarray)
                               else t._stride for t in ins]
    shape, strides = S.collapse(out._shape, strides)
    shape = tuple(int(s) for s in shape)
    kinds, args = [], []
    for t, st in zip(ins, strides[1:]):
        if isinstance(t, np.ndarray):
            kinds.append("s")
            args.append(t[0])
        else:
            kinds.append("a")
            args += [t._storage.data, t._offset, tuple(int(s) for s in st)]
    k = getattr(mod, "strided_" + "".join(kinds))
    launch(k, grid, block, *args, out._storage.data, out._offset,
           tuple(int(s) for s in strides[0]), shape, n, *params)


def run_map(fn, out, x, params):
    _run_elementwise(map_kernels(fn), out, [x], params)


def run_zip(fn, out, a, b):
    _run_elementwise(zip_kernels(fn), out, [a, b])


def run_ternary(fn, out, a, b, c):
    _run_elementwise(ternary_kernels(fn), out, [a, b, c])


_ZERO_PARAMS = (0, 0)


def copy_cast(src, dst) -> None:
    """dst[...] = src (same shape after broadcast; src may be a 1-element host array)."""
    from kernels import scalar
    if isinstance(src, np.ndarray):
        src_bool = src.dtype == np.bool_
    else:
        if src._shape != dst._shape:
            src = src._expand_nograd(dst._shape)
        src_bool = src._dtype is D.bool_
    fn = scalar.is_nonzero if dst._dtype is D.bool_ and not src_bool else scalar.identity
    _run_elementwise(map_kernels(fn), dst, [src], _ZERO_PARAMS)


def fill(out, value) -> None:
    """out[...] = value."""
    from kernels import scalar
    arr = np.array([value], dtype=out._dtype.np if out._dtype is not D.float16 else np.float32)
    _run_elementwise(zip_kernels(scalar.second), out, [arr, arr])


# ---- reductions -----------------------------------------------------------------------
_IDENTITY = {"sum": 0, "prod": 1, "all": True, "any": False}


def _rows(x2):
    M, K = x2._shape
    sm, sk = x2._stride
    return x2._storage.data, int(x2._offset), int(sm), int(sk), int(M), int(K)


def _row_grid(M: int) -> tuple:
    return (max(1, min(M, 4 if KD.SIM else 65535)), KD.BLOCK)


def _thread_path(M, K, sm, sk) -> bool:
    return K <= KD.SMALL_K or (not KD.SIM and sm == 1 and sk != 1 and M >= 1024)


def _fresh(out):
    """out must be a fresh contiguous 1-D/2-D buffer at offset 0 (as the ops allocate)."""
    if not out._contig or out._offset:
        raise RuntimeError("engine.cuda: internal error: reduction output must be contiguous")
    return out._storage.data


def reduce(kind, x2, out, *args):
    from kernels.cuda import reduce as R
    xd, xo, sm, sk, M, K = _rows(x2)
    if M == 0:
        return
    _activate(x2)
    od = _fresh(out)
    if kind == "var":
        if K == 0:
            return fill(out, np.nan)
        mod = R.var_kernels()
        corr = float(args[0])
        if _thread_path(M, K, sm, sk):
            launch(mod.var_thread, *KD.launch_1d(M), xd, xo, sm, sk, M, K, corr, od)
        else:
            launch(mod.var_block, *_row_grid(M), xd, xo, sm, sk, M, K, corr, od)
        return
    if kind == "logsumexp":
        if K == 0:
            return fill(out, -np.inf)
        mod = R.softmax_kernels(x2._dtype.np)
        if _thread_path(M, K, sm, sk):
            launch(mod.lse_thread, *KD.launch_1d(M), xd, xo, sm, sk, M, K, od)
        else:
            launch(mod.lse_block, *_row_grid(M), xd, xo, sm, sk, M, K, od)
        return
    if K == 0:
        if kind not in _IDENTITY:
            raise RuntimeError(f"{kind}(): reduction over an empty dimension has no identity")
        return fill(out, _IDENTITY[kind])
    mod = R.reduce_kernels(kind, out._dtype.np)
    if _thread_path(M, K, sm, sk):
        launch(mod.rows_thread, *KD.launch_1d(M), xd, xo, sm, sk, M, K, od)
        return
    if K >= KD.SPLIT_MIN_K and M < (4 if KD.SIM else 512):
        G = max(2, min((K + KD.SPLIT_CHUNK - 1) // KD.SPLIT_CHUNK, max(2, 2048 // M)))
        part = empty_tensor((M * G,), out._dtype, out._storage.device)
        pd = part._storage.data
        launch(mod.rows_block, *_row_grid(M * G), xd, xo, sm, sk, M, K, G, pd)
        launch(mod.rows_block, *_row_grid(M), pd, 0, G, 1, M, G, 1, od)
        return
    launch(mod.rows_block, *_row_grid(M), xd, xo, sm, sk, M, K, 1, od)


def arg_reduce(kind, x2, vals, idx):
    from kernels.cuda import reduce as R
    xd, xo, sm, sk, M, K = _rows(x2)
    if M == 0:
        return
    if K == 0:
        raise IndexError(f"arg{kind}(): empty rows have no extreme")
    _activate(x2)
    if vals is None:
        vals = empty_tensor((M,), x2._dtype, x2._storage.device)
    mod = R.arg_kernels(kind, x2._dtype.np)
    vd, id_ = _fresh(vals), _fresh(idx)
    if _thread_path(M, K, sm, sk):
        launch(mod.arg_thread, *KD.launch_1d(M), xd, xo, sm, sk, M, K, vd, id_)
    else:
        launch(mod.arg_block, *_row_grid(M), xd, xo, sm, sk, M, K, vd, id_)


def softmax(kind, x2, out2):
    from kernels.cuda import reduce as R
    xd, xo, sm, sk, M, K = _rows(x2)
    if M == 0 or K == 0:
        return
    if sk != 1:
        raise RuntimeError("engine.cuda: internal error: softmax rows must be contiguous")
    _activate(x2)
    mod = R.softmax_kernels(x2._dtype.np)
    log = kind != "softmax"
    od, oo, om = out2._storage.data, int(out2._offset), int(out2._stride[0])
    if K <= KD.SMALL_K:
        launch(mod.softmax_thread, *KD.launch_1d(M), xd, xo, sm, M, K, od, oo, om, log)
    else:
        launch(mod.softmax_block, *_row_grid(M), xd, xo, sm, M, K, od, oo, om, log)


def scan(kind, x2, out2):
    from kernels.cuda import scan as SC
    xd, xo, sm, sk, M, K = _rows(x2)
    if M == 0 or K == 0:
        return
    _activate(x2)
    launch(SC.scan_rows, *KD.launch_1d(M), xd, xo, sm, sk, M, K, out2._storage.data,
           int(out2._offset), int(out2._stride[0]), kind == "cumprod")


def pair(kind, x2, vals, idx, *args):
    from kernels.cuda import scan as SC
    xd, xo, sm, sk, M, K = _rows(x2)
    if M == 0 or K == 0:
        return
    _activate(x2)
    dev = x2._storage.device
    vd, id_ = vals._storage.data, idx._storage.data
    oo, om = int(vals._offset), int(vals._stride[0])
    if kind in ("cummax", "cummin"):
        launch(SC.scan_arg_rows, *KD.launch_1d(M), xd, xo, sm, sk, M, K, vd, id_, oo, om,
               kind == "cummax")
        return
    P = 1 << max(0, (K - 1).bit_length())
    sv = empty_tensor((M * P,), x2._dtype, dev)
    si = empty_tensor((M * P,), D.int64, dev)
    svd, sid = sv._storage.data, si._storage.data
    grid = _row_grid(M)
    if kind == "sort":
        launch(SC.sort_rows, *grid, xd, xo, sm, sk, M, K, P, svd, sid, bool(args[0]), vd, id_,
               oo, om, 0, K)
    elif kind == "topk":
        k = int(vals._shape[1])
        if k:
            launch(SC.sort_rows, *grid, xd, xo, sm, sk, M, K, P, svd, sid, bool(args[0]), vd,
                   id_, oo, om, 0, k)
    elif kind == "median":
        launch(SC.sort_rows, *grid, xd, xo, sm, sk, M, K, P, svd, sid, False, vd, id_, oo, om,
               0, 0)
        launch(SC.median_pick, *KD.launch_1d(M), svd, sid, M, K, P, vd, id_)
    else:
        raise NotImplementedError(f"engine.cuda: pair kind {kind!r}")


# ---- matmul ---------------------------------------------------------------------------
_sms = [None]


def _sm_count() -> int:
    if _sms[0] is None:
        n = 1
        if not KD.SIM:
            try:
                from numba import cuda
                n = int(cuda.get_current_device().MULTIPROCESSOR_COUNT)
            except Exception:  # noqa: BLE001
                n = 80
        _sms[0] = n
    return _sms[0]


def gemm(a, b, out, use_blas: bool = False) -> None:
    """out = a @ b for 2-D (or batched 3-D) tensors of one dtype; any strides."""
    _activate(out)
    if a.ndim == 2:
        (M, K), N = a._shape, b._shape[1]
        NB, sab, sbb = 1, 0, 0
        sa0, sa1 = a._stride
        sb0, sb1 = b._stride
    else:
        NB, M, K = a._shape
        N = b._shape[2]
        sab, sa0, sa1 = a._stride
        sbb, sb0, sb1 = b._stride
    if M == 0 or N == 0 or NB == 0:
        return
    if K == 0:
        return fill(out, 0)
    gemm_raw(a._storage.data, a._offset, (sab, sa0, sa1), NB, b._storage.data, b._offset,
             (sbb, sb0, sb1), _fresh(out), NB, M, N, K)


def gemm_raw(ad, ao, sa, amod, bd, bo, sb, od, NB, M, N, K) -> None:
    """od[z] = A[z % amod] @ B[z] into the contiguous (NB, M, N) device array ``od``: A and
    B are (buffer, offset, (batch, row, col) strides); M, N, K > 0 (the caller checks)."""
    from kernels.cuda.matmul import CONFIGS, gemm_kernels
    bm, bn = CONFIGS["big"][:2]
    big_tiles = -(-M // bm) * -(-N // bn) * NB
    cfg = "big" if big_tiles >= 2 * _sm_count() else "small"
    mod = gemm_kernels(od.dtype, cfg)
    tm, tn = -(-M // mod.BM), -(-N // mod.BN)
    cap = 2 if KD.SIM else 65535
    grid = (min(tn, cap if KD.SIM else 2**31 - 1), min(tm, cap), min(NB, cap))
    launch(mod.gemm, grid, mod.NT, ad, int(ao), int(sa[0]), int(sa[1]), int(sa[2]),
           int(amod), bd, int(bo), int(sb[0]), int(sb[1]), int(sb[2]), od, int(NB), int(M),
           int(N), int(K))

