"""The CPU backend's elementwise entry points (the CUDA backend mirrors these names)."""

from __future__ import annotations

import numpy as np

from kernels.cpu.elementwise import map_kernels, ternary_kernels, zip_kernels
from ._cpu import run_elementwise

__all__ = ["run_map", "run_zip", "run_ternary", "copy_cast", "reduce", "arg_reduce", "softmax",
           "scan", "pair", "gemm", "conv_forward", "conv_dgrad", "conv_wgrad", "channel_sums",
           "im2col", "col2im", "maxpool2d", "maxpool2d_backward", "plane_gather", "avgpool2d",
           "avgpool2d_backward", "adaptive_avgpool2d", "adaptive_avgpool2d_backward",
           "upsample_nearest2d", "upsample_nearest2d_backward"]


def run_map(fn, out, x, params):
    run_elementwise(map_kernels(fn), out, [x], params)


def run_zip(fn, out, a, b):
    run_elementwise(zip_kernels(fn), out, [a, b])


def run_ternary(fn, out, a, b, c):
    run_elementwise(ternary_kernels(fn), out, [a, b, c])


def copy_cast(src, dst) -> None:
    """dst[...] = src (same shape after broadcast), converting dtype."""
    from kernels import scalar
    if src._dtype.name == "float16" or dst._dtype.name == "float16":
        s = src._np() if not isinstance(src, np.ndarray) else src
        np.copyto(dst._np(), np.broadcast_to(s, dst._shape), casting="unsafe")
        return
    if dst._dtype.name == "bool" and src._dtype.name != "bool":
        run_elementwise(map_kernels(scalar.is_nonzero), dst, [src], (0, 0))
        return
    run_elementwise(map_kernels(scalar.identity), dst, [src], (0, 0))


# ---- reduce family (kernels/cpu/reduce.py, softmax.py, scan.py, sort.py) ---------------
def reduce(kind, x2, out, *args):
    from kernels.cpu import reduce as R
    xa, oa = x2._np(), out._np()
    if kind == "var":
        R.var_rows(xa, oa, args[0])
    elif kind == "logsumexp":
        R.logsumexp_rows(xa, oa)
    else:
        R.reduce_rows(kind, xa, oa)


def arg_reduce(kind, x2, vals, idx):
    from kernels.cpu import reduce as R
    R.arg_reduce_rows(kind, x2._np(), None if vals is None else vals._np(), idx._np())


def softmax(kind, x2, out2):
    from kernels.cpu import softmax as SM
    (SM.softmax_rows if kind == "softmax" else SM.log_softmax_rows)(x2._np(), out2._np())


def scan(kind, x2, out2):
    from kernels.cpu import scan as SC
    SC.scan_rows(kind, x2._np(), out2._np())


def pair(kind, x2, vals, idx, *args):
    from kernels.cpu import scan as SC, sort as SO
    xa, va, ia = x2._np(), vals._np(), idx._np()
    if kind == "sort":
        SO.sort_rows(xa, va, ia, *args)
    elif kind == "topk":
        SO.topk_rows(xa, va.shape[1], args[0], args[1], va, ia)
    elif kind == "median":
        SO.median_rows(xa, va[:, 0], ia[:, 0])
    else:
        SC.scan_arg_rows(kind, xa, va, ia)


# ---- matmul family ------------------------------------------------------------------
def gemm(a, b, out, use_blas: bool, accumulate: bool = False) -> None:
    """out = a @ b (out += a @ b when ``accumulate``, 2-D only) for 2-D or batched 3-D."""
    aa, bb, oo = a._np(), b._np(), out._np()
    if use_blas:
        if accumulate:
            oo += np.matmul(aa, bb)
        else:
            np.matmul(aa, bb, out=oo)
        return
    from kernels.cpu import matmul as MM
    if aa.ndim == 2:
        MM.gemm(aa, bb, oo, accumulate)
    else:
        MM.gemm_batched(aa, bb, oo)


# ---- convolution / pooling family (kernels/cpu/conv.py, pool.py; the CUDA backend has the
# same entry points). Tensors in; outputs are fresh contiguous tensors. -------------------
def _planes(t) -> np.ndarray:
    """C-contiguous (P, H, W) numpy data of a tensor whose last two dims are spatial."""
    a = t._np()
    if not a.flags.c_contiguous:
        a = np.ascontiguousarray(a)
    return a.reshape(-1, a.shape[-2], a.shape[-1])


def _oplanes(t) -> np.ndarray:
    o = t._np()
    return o.reshape(-1, o.shape[-2], o.shape[-1])


def conv_forward(x, w, b, geo, G, out, keep=None) -> None:
    """out (N, O, *out_hw) = conv(x, w) + b; the im2col columns go to ``keep`` when given."""
    from .ops._conv_np import fwd_np, np4, out4
    o4 = out4(out)
    ba = None if b is None else np.ascontiguousarray(b._np())
    fwd_np(np4(x), np4(w), ba, geo, G, o4.shape[2], o4.shape[3], o4, x._dtype,
           None if keep is None else keep._np())


def conv_dgrad(g, w, geo, G, gx, b=None) -> None:
    """gx = col2im(W^T @ g) (+ b): a conv's input gradient / a transposed conv's forward."""
    from .ops._conv_np import dgrad_np, np4, out4
    o4 = out4(gx)
    if g.numel():
        dgrad_np(np4(g), np4(w), geo, G, o4, g._dtype)
    else:
        o4[...] = 0
    if b is not None:
        o4 += b._np().reshape(1, -1, 1, 1)


def conv_wgrad(g, x, geo, G, gw, keep=None) -> None:
    """gw = sum_n g[n] @ cols(x)[n]^T per group (``keep``: the forward's columns)."""
    from .ops._conv_np import np4, out4, wgrad_np
    if x.numel() and g.numel():
        wgrad_np(np4(g), np4(x), geo, G, out4(gw), x._dtype, None if keep is None
                 else keep._np())
    else:
        gw._np()[...] = 0


def channel_sums(g, out) -> None:
    from kernels.cpu import conv as KC

    from .ops._conv_np import np4
    ga = np4(g)
    KC.channel_sums(ga.reshape(ga.shape[0], ga.shape[1], -1), out._np())


def im2col(x, cols, geo, OH, OW) -> None:
    from kernels.cpu import conv as KC

    from .ops._conv_np import np4
    KC.im2col(np4(x), cols._np(), *geo, OH, OW)


def col2im(c, gx, geo, OH, OW) -> None:
    from kernels.cpu import conv as KC
    ca = c._np() if c._contig else np.ascontiguousarray(c._np())
    KC.col2im(ca, gx._np(), *geo, OH, OW)


def maxpool2d(x, out, idx, kh, kw, sh, sw, ph, pw, dh, dw) -> None:
    from kernels.cpu import pool as KP
    KP.maxpool2d(_planes(x), _oplanes(out), _oplanes(idx), kh, kw, sh, sw, ph, pw, dh, dw)


def maxpool2d_backward(g, idx, gx, geo, two_by_two: bool = False) -> None:
    from kernels.cpu import pool as KP
    KP.maxpool2d_backward(_planes(g), _oplanes(idx), _oplanes(gx), two_by_two)


def plane_gather(src, idx, out) -> None:
    from kernels.cpu import pool as KP
    KP.plane_gather(_planes(src), _oplanes(idx), _oplanes(out))


def avgpool2d(x, out, *args) -> None:
    from kernels.cpu import pool as KP
    KP.avgpool2d(_planes(x), _oplanes(out), *args)


def avgpool2d_backward(g, gx, *args) -> None:
    from kernels.cpu import pool as KP
    KP.avgpool2d_backward(_planes(g), _oplanes(gx), *args)


def adaptive_avgpool2d(x, out) -> None:
    from kernels.cpu import pool as KP
    KP.adaptive_avgpool2d(_planes(x), _oplanes(out))


def adaptive_avgpool2d_backward(g, gx) -> None:
    from kernels.cpu import pool as KP
    KP.adaptive_avgpool2d_backward(_planes(g), _oplanes(gx))


def upsample_nearest2d(x, out, hi, wi) -> None:
    from kernels.cpu import pool as KP
    KP.upsample_nearest2d(_planes(x), _oplanes(out), hi, wi)


def upsample_nearest2d_backward(g, gx, hi, wi) -> None:
    from kernels.cpu import pool as KP
    KP.upsample_nearest2d_backward(_planes(g), _oplanes(gx), hi, wi)
