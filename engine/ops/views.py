"""View ops: new geometry over the same storage (no copy), computed by the C++ module.
Backward of a view scatters the gradient into zeros of the input's shape with the same view."""

from __future__ import annotations

from .. import _strided as S
from .. import _dtype as D
from .._tensor import Tensor, make, _wrap_dim
from ..autograd.graph import record
from ._common import needs_grad, empty_tensor, shape_str, sum_to

__all__ = ["view", "reshape", "expand", "permute", "transpose", "squeeze", "unsqueeze",
           "flatten", "unflatten", "narrow", "select", "as_strided", "contiguous", "clone",
           "unbind", "split", "chunk", "movedim", "make_view", "scatter_view"]


def make_view(x: Tensor, shape, stride, offset) -> Tensor:
    shape, stride = tuple(shape), tuple(stride)
    t = make(x._storage, shape, stride, offset, x._dtype, S.is_contiguous(shape, stride))
    t._base = x._base if x._base is not None else x
    return t


def scatter_view(g: Tensor, in_shape, viewfn, name="ViewScatter") -> Tensor:
    """zeros(in_shape) with ``viewfn(zeros)`` set to ``g``: the backward of a view op.
    Recorded itself (its backward applies ``viewfn`` to the incoming grad), so double
    backward works."""
    z = empty_tensor(tuple(in_shape), g._dtype, g._storage.device)
    z._fill_nograd(0)
    viewfn(z)._copy_nograd(g)
    if needs_grad(g):
        record(name + "Backward0", (g,), (z,), lambda n, gg: (viewfn(gg),))
    return z


def _record_view(name, x, out, backward):
    if needs_grad(x):
        record(name, (x,), (out,), backward)
    return out


def view(x: Tensor, *shape, dtype=None) -> Tensor:
    if dtype is not None and not shape:
        from .view_dtype import view_dtype
        return view_dtype(x, dtype)
    if len(shape) == 1 and not isinstance(shape[0], int):
        if hasattr(shape[0], "itemsize"):  # view(dtype): the same bytes as another dtype
            from .view_dtype import view_dtype
            return view_dtype(x, shape[0])
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    try:
        shape = tuple(S.infer_size(x.numel(), shape))
    except ValueError as e:
        raise RuntimeError(f"view: {e}") from None
    st = S.view_strides(x._shape, x._stride, shape)
    if st is None:
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (input size "
            f"{shape_str(x._shape)}, stride {shape_str(x._stride)}, requested "
            f"{shape_str(shape)}; at least one dimension spans across two contiguous subspaces)."
            " Use .reshape(...) instead.")
    out = make_view(x, shape, st, x._offset)
    in_shape = x._shape
    return _record_view("ViewBackward0", x, out, lambda n, g: (g.reshape(in_shape),))


def reshape(x: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    try:
        shape = tuple(S.infer_size(x.numel(), shape))
    except ValueError as e:
        raise RuntimeError(f"reshape: {e}") from None
    if shape == x._shape:
        return view(x, shape)
    st = S.view_strides(x._shape, x._stride, shape)
    if st is not None:
        out = make_view(x, shape, st, x._offset)
        in_shape = x._shape
        return _record_view("ViewBackward0", x, out, lambda n, g: (g.reshape(in_shape),))
    return view(contiguous(x), shape)


def expand(x: Tensor, *shape) -> Tensor:
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = tuple(shape[0])
    shape = tuple(int(s) for s in shape)
    try:
        shape, st = S.expand(x._shape, x._stride, shape)
    except ValueError as e:
        msg = str(e) if str(e).startswith("expand") else f"expand: {e}"
        raise RuntimeError(msg) from None
    out = make_view(x, shape, st, x._offset)
    in_shape = x._shape
    return _record_view("ExpandBackward0", x, out, lambda n, g: (sum_to(g, in_shape),))


def permute(x: Tensor, *dims) -> Tensor:
    if len(dims) == 1 and not isinstance(dims[0], int):
        dims = tuple(dims[0])
    try:
        shape, st = S.permute(x._shape, x._stride, tuple(int(d) for d in dims))
    except (ValueError, IndexError) as e:
        msg = str(e) if str(e).startswith("permute") else f"permute: {e}"
        raise (IndexError if isinstance(e, IndexError) else RuntimeError)(
            f"{msg} (tensor of shape {shape_str(x._shape)})") from None
    out = make_view(x, shape, st, x._offset)
    nd = len(dims)
    fwd = [d % nd for d in dims] if nd else []
    inv = [0] * nd
    for i, d in enumerate(fwd):
        inv[d] = i
    return _record_view("PermuteBackward0", x, out, lambda n, g: (g.permute(inv),))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    nd = x.ndim
    if nd == 0:
        return view(x, ())
    d0, d1 = _wrap_dim(dim0, nd), _wrap_dim(dim1, nd)
    perm = list(range(nd))
    perm[d0], perm[d1] = perm[d1], perm[d0]
    shape, st = S.permute(x._shape, x._stride, tuple(perm))
    out = make_view(x, shape, st, x._offset)
    return _record_view("TransposeBackward0", x, out, lambda n, g: (g.transpose(d0, d1),))


def squeeze(x: Tensor, dim=None) -> Tensor:
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = tuple(_wrap_dim(d, x.ndim) for d in dims)
        if len(set(dims)) != len(dims):
            dup = next(d for d in dims if dims.count(d) > 1)
            raise RuntimeError(f"squeeze: dim {dup} appears multiple times in the list of dims "
                               f"{tuple(dim)}")
    else:
        dims = None
    shape, st = S.squeeze(x._shape, x._stride, dims)
    out = make_view(x, shape, st, x._offset)
    in_shape = x._shape
    name = "SqueezeBackward0" if dim is None else "SqueezeBackward1" if isinstance(dim, int) \
        else "SqueezeBackward2"  # PyTorch's names: squeeze(), squeeze(dim), squeeze(dims)
    return _record_view(name, x, out, lambda n, g: (g.reshape(in_shape),))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    nd = x.ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-nd}, {nd - 1}]"
                         f", but got {dim})")
    shape, st = S.unsqueeze(x._shape, x._stride, dim)
    out = make_view(x, shape, st, x._offset)
    in_shape = x._shape
    return _record_view("UnsqueezeBackward0", x, out, lambda n, g: (g.reshape(in_shape),))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    nd = x.ndim
    if nd == 0:
        return reshape(x, (1,))
    s, e = _wrap_dim(start_dim, nd), _wrap_dim(end_dim, nd)
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return x
    n = 1
    for d in x._shape[s:e + 1]:
        n *= d
    return reshape(x, x._shape[:s] + (n,) + x._shape[e + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    _need_dims(x, "unflatten: Dimension specified as 0 but tensor has no dimensions")
    d = _wrap_dim(dim, x.ndim)
    try:
        sizes = tuple(S.infer_size(x._shape[d], tuple(sizes)))
    except ValueError:
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({x._shape[d]}) in the input tensor of shape "
                           f"{shape_str(x._shape)}") from None
    return view(x, x._shape[:d] + sizes + x._shape[d + 1:])


def _need_dims(x: Tensor, msg: str) -> None:
    if x.ndim == 0:
        raise RuntimeError(msg + " (got a 0-d tensor; reshape(1) it first)")


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    _need_dims(x, "narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, x.ndim)
    size = x._shape[d]
    if start < 0:
        start += size
    if not (0 <= start <= size and 0 <= length and start + length <= size):
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}) of a tensor of shape {shape_str(x._shape)}")
    return slice_dim(x, d, start, start + length, 1)


def slice_dim(x: Tensor, dim: int, start: int, stop: int, step: int) -> Tensor:
    shape, st, off = S.slice(x._shape, x._stride, x._offset, dim, start, stop, step)
    out = make_view(x, shape, st, off)
    in_shape = x._shape
    return _record_view("SliceBackward0", x, out, lambda n, g: (scatter_view(
        g, in_shape, lambda z: slice_dim(z, dim, start, stop, step), "SliceBackward"),))


def select(x: Tensor, dim: int, index: int) -> Tensor:
    if x.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, x.ndim)
    index = int(index)
    try:
        shape, st, off = S.select(x._shape, x._stride, x._offset, d, index)
    except IndexError as e:
        raise IndexError(f"select(): {e}") from None
    out = make_view(x, shape, st, off)
    in_shape = x._shape
    return _record_view("SelectBackward0", x, out, lambda n, g: (scatter_view(
        g, in_shape, lambda z: select(z, d, index), "SelectBackward"),))


def as_strided(x: Tensor, size, stride, storage_offset=None) -> Tensor:
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"as_strided: mismatch in length of strides and shape "
                           f"({len(stride)} vs {len(size)})")
    off = x._offset if storage_offset is None else int(storage_offset)
    need = off + sum((s - 1) * st for s, st in zip(size, stride)) if all(size) else 0
    if any(s < 0 for s in stride) or need >= len(x._storage.data) and all(size):
        raise RuntimeError(f"as_strided: size {shape_str(size)} and stride {shape_str(stride)} "
                           f"at offset {off} reach outside the storage of "
                           f"{len(x._storage.data)} elements")
    out = make_view(x, size, stride, off)
    in_shape, in_st, in_off = x._shape, x._stride, x._offset

    def bw(n, g):
        if S.is_contiguous(in_shape, in_st) and not _self_overlapping(size, stride):
            rel = off - in_off

            def viewfn(z):  # z: zeros (forward) or any grad view (double backward)
                z = z.contiguous()
                return as_strided(z, size, stride, z._offset + rel)
            return (scatter_view(g, in_shape, viewfn, "AsStridedBackward"),)
        return (_as_strided_grad_by_index(g, size, stride, off, in_shape, in_st, in_off),)
    return _record_view("AsStridedBackward0", x, out, bw)


def _self_overlapping(size, stride) -> bool:
    """Whether two elements of the (size, stride) geometry share a storage position."""
    dims = sorted((st, s) for s, st in zip(size, stride) if s > 1)
    reach = 0  # the largest offset reachable with the dims seen so far
    for st, s in dims:
        if st <= reach:
            return True
        reach += (s - 1) * st
    return False


def _storage_positions(shape, stride, offset, device) -> Tensor:
    from .creation import arange, full
    idx = full(tuple(1 for _ in shape), offset, dtype=D.int64, device=device)
    for k, (s, st) in enumerate(zip(shape, stride)):
        idx = idx + (arange(s, device=device) * st).reshape(
            tuple(s if j == k else 1 for j in range(len(shape))))
    return idx.expand(tuple(shape)).reshape(-1)


def _as_strided_grad_by_index(g, size, stride, off, in_shape, in_st, in_off) -> Tensor:
    """as_strided's backward through storage positions: the grads of elements that share a
    position (an overlapping view) add up, as in torch; any input geometry works."""
    dev = g.device
    out_pos = _storage_positions(size, stride, off, dev)
    in_pos = _storage_positions(in_shape, in_st, in_off, dev)
    n = 1 + max([int(out_pos.max()) if out_pos.numel() else 0,
                 int(in_pos.max()) if in_pos.numel() else 0])
    from .creation import zeros
    store = zeros(n, dtype=g.dtype, device=dev).index_add(0, out_pos, g.reshape(-1))
    return store[in_pos].reshape(tuple(in_shape))


def contiguous(x: Tensor, memory_format=None) -> Tensor:
    return x if x._contig else clone(x)


def clone(x: Tensor, memory_format=None) -> Tensor:
    out = empty_tensor(x._shape, x._dtype, x._storage.device)
    out._copy_nograd(x)
    if needs_grad(x):
        record("CloneBackward0", (x,), (out,), lambda n, g: (g,))
    return out


# Multi-output views (split, chunk, unbind): one node numbers its outputs 0, 1, ... as in
# torch, and its backward is cat / stack of the outputs' grads (differentiable again). As in
# torch, such views may not be modified in place while autograd records (inplace.py).
MULTI_VIEW_NODES = {"SplitBackward0": "Split", "SplitWithSizesBackward0": "SplitWithSizes",
                    "UnbindBackward0": "Unbind"}


def _multi_view(name, x, outs, backward):
    if needs_grad(x):
        record(name, (x,), outs, lambda n, *gs: (backward(list(gs)),))
    return outs


def unbind(x: Tensor, dim: int = 0):
    if x.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = _wrap_dim(dim, x.ndim)
    outs = tuple(make_view(x, *S.select(x._shape, x._stride, x._offset, d, i))
                 for i in range(x._shape[d]))
    from .shape import stack
    return _multi_view("UnbindBackward0", x, outs, lambda gs: stack(gs, d))


def split(x: Tensor, split_size_or_sections, dim: int = 0):
    _need_dims(x, "split expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, x.ndim)
    size = x._shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0 and size:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        bounds = [(i, min(i + step, size)) for i in range(0, size, step)] or [(0, 0)]
    else:
        secs = list(split_size_or_sections)
        if sum(secs) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{secs}")
        bounds, s = [], 0
        for n in secs:
            bounds.append((s, s + n))
            s += n
    return _split_views(x, d, bounds, isinstance(split_size_or_sections, int))


def _split_views(x, d, bounds, even: bool):
    outs = tuple(make_view(x, *S.slice(x._shape, x._stride, x._offset, d, a, b, 1))
                 for a, b in bounds)
    if not needs_grad(x):
        return outs
    from .shape import cat
    return _multi_view("SplitBackward0" if even else "SplitWithSizesBackward0", x, outs,
                       lambda gs: gs[0] if len(gs) == 1 else cat(gs, d))


def chunk(x: Tensor, chunks: int, dim: int = 0):
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    _need_dims(x, "chunk expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, x.ndim)
    size = x._shape[d]
    if size == 0:  # torch: `chunks` empty pieces
        return _split_views(x, d, [(0, 0)] * chunks, True)
    step = max(1, -(-size // chunks))
    return split(x, step, d)


def movedim(x: Tensor, source, destination) -> Tensor:
    nd = x.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({src} dims) "
                           f"should contain the same number of dims as destination ({dst} dims)")
    src = [_wrap_dim(s, nd) for s in src]
    dst = [_wrap_dim(s, nd) for s in dst]
    if nd == 0:
        return permute(x, ())
    order = [None] * nd
    for s, t in zip(src, dst):
        order[t] = s
    rest = iter(i for i in range(nd) if i not in src)
    order = [o if o is not None else next(rest) for o in order]
    return permute(x, order)
