"""The CPU backend's elementwise entry points (the CUDA backend mirrors these names)."""

from __future__ import annotations

import numpy as np

from kernels.cpu.elementwise import map_kernels, ternary_kernels, zip_kernels
from ._cpu import run_elementwise

__all__ = ["run_map", "run_zip", "run_ternary", "copy_cast"]


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
def gemm(a, b, out, use_blas: bool) -> None:
    """out = a @ b for 2-D (or batched 3-D) tensors."""
    aa, bb, oo = a._np(), b._np(), out._np()
    if use_blas:
        np.matmul(aa, bb, out=oo)
        return
    from kernels.cpu import matmul as MM
    if aa.ndim == 2:
        MM.gemm(aa, bb, oo)
    else:
        MM.gemm_batched(aa, bb, oo)
