"""nn.functional helpers built from views and cat: pad, one_hot, embedding, and a p-norm whose
gradient is 0 (not NaN) at the zero vector, as PyTorch's."""

from __future__ import annotations

from ..autograd.graph import named_node

import math

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.elementwise import where
from ..ops.shape import cat

__all__ = ["_safe_norm", "embedding", "one_hot", "pad", "take_rows"]


def _safe_norm(x: Tensor, p, dim, keepdim: bool = False) -> Tensor:
    if p == math.inf or p == "inf":
        return x.abs().amax(dim, keepdim=keepdim)
    if p == -math.inf:
        return x.abs().amin(dim, keepdim=keepdim)
    if p == 1:
        return x.abs().sum(dim, keepdim=keepdim)
    s = (x * x).sum(dim, keepdim=keepdim) if p == 2 else (x.abs() ** p).sum(dim, keepdim=keepdim)
    pos = s > 0
    safe = where(pos, s, 1.0)
    r = safe.sqrt() if p == 2 else safe ** (1.0 / p)
    return where(pos, r, 0.0)


# ---- pad --------------------------------------------------------------------------------
def _pad_dim(x, d, left, right, mode, value):
    n = x.shape[d]
    if left < 0:
        x, n, left = x.narrow(d, -left, n + left), n + left, 0
    if right < 0:
        x, n, right = x.narrow(d, 0, n + right), n + right, 0
    if not left and not right:
        return x
    if mode == "reflect" and (left >= n or right >= n):
        raise RuntimeError(f"pad: Padding size should be less than the corresponding input "
                           f"dimension, but got: padding ({left}, {right}) at dimension {d} of "
                           f"input {list(x.shape)}")
    if mode == "circular" and (left > n or right > n):
        raise RuntimeError("pad: Padding value causes wrapping around more than once.")

    def block(k, side):
        shape = list(x.shape)
        shape[d] = k
        if mode == "constant":
            from ..ops.creation import full
            return full(tuple(shape), value, dtype=x.dtype, device=x.device)
        if mode == "replicate":
            return x.narrow(d, 0 if side == "l" else n - 1, 1).expand(tuple(shape))
        if mode == "circular":
            return x.narrow(d, n - k, k) if side == "l" else x.narrow(d, 0, k)
        idx = range(k, 0, -1) if side == "l" else range(n - 2, n - 2 - k, -1)
        return cat([x.narrow(d, i, 1) for i in idx], d)

    parts = ([block(left, "l")] if left else []) + [x] + ([block(right, "r")] if right else [])
    return cat(parts, d)


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left_last, right_last, left_prev, ...)``.
    Modes: constant (``value``, default 0), reflect, replicate, circular; negative pads crop.

    >>> import engine, engine.nn.functional as F
    >>> F.pad(engine.ones(2), (1, 2)).tolist()
    [0.0, 1.0, 1.0, 0.0, 0.0]
    """
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"pad: Padding length must be divisible by 2, got {len(pad)}")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError(f"pad: Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: unsupported padding mode '{mode}' (expected "
                                  "'constant', 'reflect', 'replicate' or 'circular')")
    k = len(pad) // 2  # torch's non-constant modes pad the last k dims of a batched or
    if mode != "constant" and not k + 1 <= input.ndim <= k + 2:  # unbatched (N, C, ...) input
        raise NotImplementedError(
            f"pad: Padding size {len(pad)} is not supported for {input.ndim}D input tensor "
            f"(mode '{mode}', input shape {tuple(input.shape)}). Supported combinations for "
            "non-constant padding: 2D or 3D input with padding size 2 (pads the last dim), 3D "
            "or 4D input with size 4 (last 2 dims), 4D or 5D input with size 6 (last 3 dims)")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"Padding mode \"{mode}\" doesn't take in value argument.")
    if mode in ("reflect", "replicate"):
        for i in range(k):
            n = input.shape[input.ndim - 1 - i]
            if n + pad[2 * i] + pad[2 * i + 1] < 1:
                raise RuntimeError(f"pad: input (size {n} in dim {input.ndim - 1 - i}) is too "
                                   f"small. Calculated output size: "
                                   f"{n + pad[2 * i] + pad[2 * i + 1]} (mode '{mode}', pad "
                                   f"{pad}); negative padding must leave at least 1 element")
    out = input
    for i in range(len(pad) // 2):
        out = _pad_dim(out, input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1], mode,
                       0 if value is None else value)
    return out if out is not input else input.view(tuple(input.shape))


# ---- one_hot / embedding ----------------------------------------------------------------
def _check_index(op, idx: Tensor, n: int, what="index"):
    if not isinstance(idx, Tensor):
        raise TypeError(f"{op}(): argument 'indices' must be Tensor, not {type(idx).__name__}")
    if idx.dtype not in (D.int64, D.int32, D.int16, D.int8, D.uint8):
        raise RuntimeError(f"{op}: Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {idx.dtype} instead")
    if idx.numel() and not idx.is_cpu:  # CUDA: checked in a kernel (deferred IndexError)
        from ..cuda.indexing import check_range
        check_range(idx, 0, n, None, IndexError,
                    f"{op}: {what} {{v}} is out of range for a table of {n} rows (indices must "
                    f"be in [0, {n - 1}]); index tensor shape {tuple(idx.shape)}. index out of "
                    "range in self", op)
    elif idx.numel():
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise IndexError(f"{op}: {what} {bad} is out of range for a table of {n} rows "
                             f"(indices must be in [0, {n - 1}]); index tensor shape "
                             f"{tuple(idx.shape)}. index out of range in self")


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dim of size ``num_classes`` (max + 1 if -1)."""
    if not isinstance(tensor, Tensor) or tensor.dtype is not D.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel():
        lo, hi = int(tensor.min()), int(tensor.max())
        if lo < 0:
            raise RuntimeError("Class values must be non-negative.")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes == -1:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    from ..ops.creation import arange
    return (tensor.unsqueeze(-1) == arange(num_classes, device=tensor.device)).to(D.int64)


def take_rows(weight: Tensor, idx: Tensor) -> Tensor:
    """``weight[idx]`` for a 1-D int index (differentiable, already validated)."""
    if hasattr(Tensor, "index_select"):
        return weight.index_select(0, idx)
    from ..ops.creation import arange  # fallback until the index ops land: one-hot matmul
    oh = (idx.unsqueeze(1) == arange(weight.shape[0], device=weight.device)).to(weight.dtype)
    return oh.matmul(weight)


def _renorm_(weight, idx, max_norm, norm_type):
    with no_grad():
        from ..ops.creation import zeros
        used = zeros(weight.shape[0], dtype=D.bool_, device=weight.device)
        flat = idx.reshape(-1)
        if hasattr(Tensor, "index_fill_"):
            used.index_fill_(0, flat, True)
        else:
            u = used.numpy() if used.is_cpu else None
            if u is not None:
                u[flat.numpy()] = True
            else:
                used = take_rows(zeros(weight.shape[0], 1, device=weight.device) + 1, flat) \
                    .sum(0) > 0
        norms = _safe_norm(weight, norm_type, 1, keepdim=True)
        scale = where(used.unsqueeze(1) & (norms > max_norm), max_norm / (norms + 1e-7), 1.0)
        weight.mul_(scale.to(weight.dtype))


@named_node("EmbeddingBackward0")
def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer tensor ``input``: output shape
    ``input.shape + (embedding_dim,)``. Rows at ``padding_idx`` get no gradient."""
    V = weight.shape[0]
    if padding_idx is not None:
        if padding_idx < 0:
            if padding_idx < -V:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx += V
        elif padding_idx >= V:
            raise AssertionError("Padding_idx must be within num_embeddings")
    _check_index("embedding", input, V)
    if max_norm is not None:
        _renorm_(weight, input, max_norm, norm_type)
    flat = input.reshape(-1)
    rows = take_rows(weight, flat)
    if scale_grad_by_freq and flat.numel() and not flat.is_cpu:  # counts on the device
        from ..ops.creation import ones, zeros
        with no_grad():
            counts = zeros(V, dtype=weight.dtype, device=weight.device).index_add(
                0, flat, ones(flat.shape, dtype=weight.dtype, device=weight.device))
            inv = (1.0 / counts.index_select(0, flat)).unsqueeze(1)
        rows = rows.detach() + (rows - rows.detach()) * inv
    elif scale_grad_by_freq and flat.numel():
        import numpy as np
        f = flat.cpu().numpy()
        counts = np.bincount(f, minlength=V)[f].astype(weight.dtype.np)
        from ..ops.creation import tensor
        inv = tensor(1.0 / counts, device=weight.device).unsqueeze(1)
        rows = rows.detach() + (rows - rows.detach()) * inv
    if padding_idx is not None:
        rows = where((flat == padding_idx).unsqueeze(1), weight[padding_idx].detach(), rows)
    return rows.reshape(tuple(input.shape) + (weight.shape[1],))
