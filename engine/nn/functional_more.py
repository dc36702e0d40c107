"""``engine.nn.functional``: the remaining functions — 3-D convolution and pooling, LP pooling,
max unpooling, channel shuffle, local response norm, ``pdist``, ``gumbel_softmax``,
``affine_grid`` / ``grid_sample``, feature alpha dropout, ``rrelu_`` and the multilabel,
distance-triplet and CTC losses. All are compositions of engine ops (so autograd and the CUDA
device come from those ops); ``engine.nn.functional`` re-exports ``__all__``.

>>> import engine as torch
>>> import engine.nn.functional as F
>>> F.channel_shuffle(torch.arange(4.).reshape(1, 4, 1), 2).flatten().tolist()
[0.0, 2.0, 1.0, 3.0]
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..ops.conv3d import conv3d, conv_transpose3d
from ..ops.elementwise import where
from ..ops.pool3d import (
    adaptive_avg_pool3d,
    adaptive_max_pool3d,
    adaptive_max_pool3d_with_indices,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    lp_pool3d,
    max_pool3d,
    max_pool3d_with_indices,
    max_unpool1d,
    max_unpool2d,
    max_unpool3d,
)
from ._ctc import ctc_loss
from ._fractional import (
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
from ._grid import affine_grid, grid_sample

__all__ = ["adaptive_avg_pool3d", "adaptive_max_pool3d", "adaptive_max_pool3d_with_indices",
           "affine_grid", "avg_pool3d", "channel_shuffle", "conv3d", "conv_transpose3d",
           "ctc_loss", "feature_alpha_dropout", "fractional_max_pool2d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
           "fractional_max_pool3d_with_indices", "grid_sample", "gumbel_softmax",
           "local_response_norm", "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_pool3d",
           "max_pool3d_with_indices", "max_unpool1d", "max_unpool2d", "max_unpool3d",
           "multilabel_margin_loss", "multilabel_soft_margin_loss", "pdist", "rrelu_",
           "triplet_margin_with_distance_loss"]


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """Rearrange (N, C, *) channels as (N, g, C/g, *) -> (N, C/g, g, *) (ShuffleNet)."""
    x = input
    if x.ndim <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(x.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    C = x.shape[1]
    if C % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {C} channels "
                           f"and {groups} groups.")
    rest = tuple(x.shape[2:])
    y = x.reshape((x.shape[0], groups, C // groups) + rest).transpose(1, 2)
    return y.reshape(tuple(x.shape))


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """``x / (k + alpha/size * sum of x**2 over ``size`` neighbouring channels) ** beta``."""
    from .functional import avg_pool2d, pad
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = input.mul(input)
    if dim == 3:
        div = pad(div.unsqueeze(1), (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = tuple(input.shape)
        div = div.reshape(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1).reshape(sizes)
    div = div.mul(alpha).add(k).pow(beta)
    return input / div


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """p-norm distances between every pair of rows i < j of an (N, M) input, as a 1-D tensor
    of N*(N-1)/2 values in row-major upper-triangle order."""
    from ._shape_fns import _safe_norm
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    i, j = np.triu_indices(n, 1)
    from ..ops.creation import tensor
    ii, jj = (tensor(a.astype(np.int64), device=input.device) for a in (i, j))
    d = input.index_select(0, ii) - input.index_select(0, jj)
    if p == 0:
        return (d != 0).sum(1).to(input.dtype) + d.sum(1) * 0  # zero gradient, as PyTorch
    return _safe_norm(d, p, 1)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """Sample from the Gumbel-Softmax distribution; ``hard`` gives one-hot samples with the
    soft sample's gradient (straight-through)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -logits.new_empty(tuple(logits.shape)).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = logits.new_zeros(tuple(logits.shape)).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels: each (n, c) feature map is kept or set to SELU's
    negative saturation value together, then the affine fix keeps mean 0 and variance 1."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if p == 1.0:
        r = input * 0.0
        return input.copy_(r) if inplace else r
    from ..ops.creation import rand
    alpha = 1.7580993408473766
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    keep = rand(shape, device=input.device) >= p
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    r = where(keep, input, -alpha) * a + a * alpha * p
    return input.copy_(r) if inplace else r


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    """In-place ``rrelu``."""
    from .functional import rrelu
    return rrelu(input, lower, upper, training, inplace=True)


# ---- losses -----------------------------------------------------------------------------
def _reduction(size_average, reduce, reduction):
    from .functional_loss import _legacy_reduction
    return _legacy_reduction(size_average, reduce, reduction)


def _reduce(loss, reduction, name):
    from .functional_loss import _reduce as r
    return r(loss, reduction, name)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-class multi-label hinge loss: for each sample, the sum over its target classes j
    (``target`` row up to the first -1) and non-target classes i of max(0, 1 - (x[j] - x[i])),
    divided by C."""
    reduction = _reduction(size_average, reduce, reduction)
    if target.dtype != D.int64:
        raise RuntimeError(f"expected scalar type Long but found {target.dtype} "
                           "(multilabel_margin_loss: target must be int64 class indices)")
    x = input
    if x.ndim > 2 or tuple(target.shape) != tuple(x.shape) and not (
            x.ndim <= 1 and target.numel() == x.numel()):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(x.shape)}")
    unb = x.ndim <= 1
    x2 = x.reshape(1, -1) if unb else x
    N, C = x2.shape
    t = target.detach().cpu().numpy().reshape(N, C)
    if t.size and (t.min() < -1 or t.max() >= C):
        raise RuntimeError("argument #2 'target' is out of range")
    valid = np.zeros((N, C), dtype=bool)
    is_t = np.zeros((N, C), dtype=bool)
    for n in range(N):
        for j in range(C):
            if t[n, j] < 0:
                break
            valid[n, j] = True
            is_t[n, t[n, j]] = True
    from ..ops.creation import tensor
    dev = x.device
    tidx = tensor(np.where(valid, t, 0).astype(np.int64), device=dev)
    xt = x2.gather(1, tidx)                                         # (N, C) target scores
    z = (1 - xt.unsqueeze(2) + x2.unsqueeze(1)).clamp_min(0)         # (N, j, i)
    mask = tensor(valid[:, :, None] & ~is_t[:, None, :], device=dev)
    loss = where(mask, z, 0.0).sum((1, 2)) / C
    if unb:
        loss = loss.reshape(()) if reduction == "none" else loss
    return _reduce(loss, reduction, "multilabel_margin_loss")


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """One-vs-all logistic loss averaged over the C classes of each sample."""
    from .functional import logsigmoid
    reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    cdim = input.dim() - 1
    loss = loss.sum(dim=cdim) / input.shape[cdim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction, "multilabel_soft_margin_loss")


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """max(d(a, p) - d(a, n) + margin, 0) with any distance function (default: pairwise
    L2 distance); ``swap`` uses min(d(a, n), d(p, n))."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not (a == p and p == n):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {a}D, positive "
                           f"{p}D, and negative {n}D inputs")
    if distance_function is None:
        from .functional import pairwise_distance as distance_function
    dp = distance_function(anchor, positive)
    dn = distance_function(anchor, negative)
    if swap:
        dn = dn.minimum(distance_function(positive, negative))
    loss = (margin + dp - dn).clamp_min(0)
    return _reduce(loss, reduction, "triplet_margin_with_distance_loss")
