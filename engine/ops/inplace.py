"""In-place ops: write through views, bump the storage's version counter, and rebase the
autograd history (PyTorch's rules, including in-place writes into views of non-leaves)."""

from __future__ import annotations

from .. import _dtype as D
from .. import _strided as S
from .._tensor import Tensor
from .views import MULTI_VIEW_NODES
from ..autograd._errors import note_inplace
from ..autograd.graph import record
from ..autograd.grad_mode import _enabled
from ._common import needs_grad, backend, scalar_array, shape_str
from .elementwise import binary, unary, cast

__all__ = ["apply_inplace", "copy_", "inplace_binary", "inplace_unary", "fill_nograd",
           "copy_nograd"]


def copy_nograd(dst: Tensor, src) -> None:
    """dst[...] = src with broadcasting and dtype conversion; no autograd."""
    if isinstance(src, Tensor):
        if src._storage.device != dst._storage.device:
            src = src.to(dst._storage.device)
        if src._shape != dst._shape:
            src = src._expand_nograd(dst._shape)
        backend(dst._storage.device).copy_cast(src, dst)
    else:
        fill_nograd(dst, src)


def _check_fits(dt: D.dtype, value) -> None:
    """torch's checked conversion of a fill value into an integer dtype (c10::overflows:
    unsigned types also take negatives down to -max, which wrap)."""
    import math
    import numbers

    import numpy as np
    if dt.is_floating_point or dt is D.bool_ or isinstance(value, (bool, np.bool_)) or \
            not isinstance(value, numbers.Real) or not math.isfinite(value):
        return
    info = np.iinfo(dt.np)
    lo = info.min if info.min < 0 else -int(info.max)
    if value > info.max or value < lo:
        raise RuntimeError(f"value cannot be converted to type {dt.name}_t without "
                           f"overflow (value {value} outside [{lo}, {info.max}] for "
                           f"{dt}; cast the tensor to a wider dtype first)")


def fill_nograd(dst: Tensor, value) -> None:
    if dst.numel() == 0:
        return
    _check_fits(dst._dtype, value)
    arr = scalar_array(value, dst._dtype if dst._dtype is not D.float16 else D.float32)
    if dst._dtype is D.float16:
        import numpy as np
        dst._np()[...] = np.float16(value)
        return
    from kernels import scalar as F
    backend(dst._storage.device).run_zip(F.second, dst, arr, arr)


def _check_overlap(x: Tensor, op: str) -> None:
    for n, st in zip(x._shape, x._stride):
        if st == 0 and n > 1:
            raise RuntimeError(
                f"{op}: unsupported operation: more than one element of the written-to tensor "
                f"refers to a single memory location (shape {shape_str(x._shape)}, stride "
                f"{shape_str(x._stride)}, e.g. an expand()ed view). Please clone() the tensor "
                "before performing the operation.")


def _check_leaf(x: Tensor, op: str) -> None:
    """May ``op`` write into ``x`` in place? (autograd leaves, overlapping memory)"""
    _check_overlap(x, op)
    if _enabled.get():
        if x._grad_fn is None and x._requires_grad:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place "
                "operation. Wrap the update in `with engine.no_grad():` or use an out-of-place "
                "op.")
        b = x._base
        fn = x._grad_fn
        if b is not None and fn is not None:
            what = MULTI_VIEW_NODES.get(type(fn).__name__)
            if what is not None:
                raise RuntimeError(
                    f"Output {x._output_nr} of {what} is a view and is being modified "
                    "inplace. This view is the output of a function that returns multiple "
                    "views. Such functions do not allow the output views to be modified "
                    "inplace. You should replace the inplace operation by an out-of-place one"
                    f" (e.g. clone() the output of {what.lower()} first).")
        if b is not None and b._grad_fn is None and b._requires_grad:
            raise RuntimeError(
                f"{op}: a view of a leaf Variable that requires grad is being used in an "
                "in-place operation.")


def apply_inplace(x: Tensor, r: Tensor, op: str) -> Tensor:
    """Make ``x`` hold ``r`` (computed out of place): copy, bump version, rebase history."""
    if r._shape != x._shape:
        raise RuntimeError(f"{op}: output with shape {shape_str(x._shape)} doesn't match the "
                           f"broadcast shape {shape_str(r._shape)}")
    if r._dtype is not x._dtype and r._dtype.category > x._dtype.category:
        from ._out import _scalar_name
        raise RuntimeError(f"{op}: result type {_scalar_name(r._dtype)} can't be cast to the "
                           f"desired output type {_scalar_name(x._dtype)} (use an out-of-place "
                           f"op, or convert the tensor first, e.g. x.to({r._dtype}))")
    if r is not x:
        backend(x._storage.device).copy_cast(r, x)
    _bump(x, op)
    if r._grad_fn is not None and _enabled.get():
        _rebase(x, r if r._dtype is x._dtype else cast(r, x._dtype))
    return x


def _bump(x: Tensor, op: str) -> None:
    x._storage.version += 1
    note_inplace(x._storage, op)


def _rebase(x: Tensor, r: Tensor) -> None:
    base = x._base
    if base is None:
        # x takes over r's history: its grad_fn is the in-place op's node (AddBackward0...)
        x._grad_fn, x._output_nr = r._grad_fn, r._output_nr
        return
    if not base._contig:
        raise RuntimeError("in-place op on a view of a non-contiguous base is not supported "
                           "with autograd; clone() the base first")
    shape, stride, rel = x._shape, x._stride, x._offset - base._offset
    from .views import as_strided

    def viewfn(t):
        t = t.contiguous()  # a grad may be any view (double backward): rel is for contiguous
        return as_strided(t, shape, stride, t._offset + rel)

    def cs_bw(n, g):
        # written with recorded ops (where, as_strided, clone) so double backward works
        gr = viewfn(g).clone()  # g itself may be a stride-0 expand: view a contiguous copy
        from .creation import zeros
        from .elementwise import where
        m = zeros(g._shape, dtype=D.bool_, device=g.device)
        viewfn(m)._fill_nograd(True)
        return where(m, 0.0, g), gr
    record("CopySlices", (base, r), (base,), cs_bw)
    # the view now reads from the rebased base
    from .views import scatter_view
    bshape = base._shape
    record("AsStridedBackward0", (base,), (x,),
           lambda n, g: (scatter_view(g, bshape, viewfn, "AsStridedBackward"),))


def inplace_binary(name: str, x: Tensor, other, op: str) -> Tensor:
    _check_leaf(x, op)
    if not needs_grad(x, other if isinstance(other, Tensor) else None):
        r = binary(name, x, other, out=x if _aliasing_safe(x, other) else None)
        if r is x:
            _bump(x, op)
            return x
        return apply_inplace(x, r, op)
    # the out-of-place op may save x for backward; x is about to be overwritten, so give it
    # a clone (recorded, so gradients still reach x's old history)
    return apply_inplace(x, binary(name, x.clone(), other), op)


def inplace_unary(name: str, x: Tensor, op: str, p=0, q=0) -> Tensor:
    _check_leaf(x, op)
    if not needs_grad(x):
        r = unary(name, x, p, q, out=x if x._contig else None)
        if r is x:
            _bump(x, op)
            return x
        return apply_inplace(x, r, op)
    return apply_inplace(x, unary(name, x.clone(), p, q), op)


def _aliasing_safe(x: Tensor, other) -> bool:
    # writing the result straight into x is safe when x is contiguous (elementwise kernels
    # read index i before writing it) and `other` does not overlap x's memory differently
    if not x._contig:
        return False
    if isinstance(other, Tensor) and other._storage is x._storage:
        return other._offset == x._offset and other._stride == x._stride
    return True


def copy_(x: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` into ``x`` (broadcasting, converting dtype and device)."""
    _check_leaf(x, "copy_")
    if not isinstance(src, Tensor):
        fill_nograd(x, src)
        _bump(x, "copy_")
        return x
    if src._storage.device != x._storage.device:
        src = src.to(x._storage.device)
    try:
        shape = tuple(S.broadcast_shapes(x._shape, src._shape))
    except ValueError:
        shape = None
    if shape != x._shape:
        raise RuntimeError(f"copy_: the source of shape {shape_str(src._shape)} cannot be "
                           f"broadcast to the destination shape {shape_str(x._shape)}")
    if needs_grad(src):
        r = src.expand(x._shape) if src._shape != x._shape else src
        if r._dtype is not x._dtype:
            r = cast(r, x._dtype)
        if r is src:
            r = r.clone()
        return apply_inplace(x, r, "copy_")
    copy_nograd(x, src)
    _bump(x, "copy_")
    if x._grad_fn is not None and _enabled.get():
        record("CopyBackwards", (None,), (x,), lambda n, g: (None,))
    return x
