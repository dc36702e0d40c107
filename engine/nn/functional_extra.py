"""``engine.nn.functional`` additions: adaptive max pooling, instance norm, interpolation
(``_interpolate``) and pixel (un)shuffle.

Each is composed of engine ops (index_select, max, index_add, reshape/permute), so it runs on
any device; each records one node under PyTorch's name (``AdaptiveMaxPool2DBackward0``,
``UpsampleBilinear2DBackward0``, ``PixelShuffleBackward0``, ...) whose backward is written
with engine ops too (differentiable again for double backward).

>>> import engine as torch
>>> import engine.nn.functional as F
>>> F.pixel_shuffle(torch.arange(8.).reshape(1, 4, 1, 2), 2).shape
torch.Size([1, 1, 2, 4])
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..autograd.graph import record
from ..ops._common import needs_grad

__all__ = ["adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "instance_norm", "interpolate", "upsample",
           "upsample_bilinear", "pixel_shuffle", "pixel_unshuffle"]


def _tensor_arg(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")


def _index(vals, device) -> Tensor:
    from ..ops.creation import tensor
    return tensor(np.ascontiguousarray(vals, dtype=np.int64), device=device)


# ------------------------------------------------------------------ adaptive max pooling
def _windows(n_in: int, n_out: int):
    """PyTorch's adaptive windows [floor(i*n/o), ceil((i+1)*n/o)) as a padded (o, k) index
    table: short windows repeat their last index (a repeat never wins a first-max)."""
    starts = (np.arange(n_out) * n_in) // n_out
    ends = -((-(np.arange(n_out) + 1) * n_in) // n_out)
    k = int((ends - starts).max()) if n_out else 0
    tab = np.minimum(starts[:, None] + np.arange(k)[None, :], (ends - 1)[:, None])
    return tab, k


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over PyTorch's adaptive windows; ``return_indices`` also gives each maximum's
    flat position ``h * W + w`` in its input plane (int64), as ``max_unpool2d`` takes.

    >>> import engine as torch
    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
    >>> torch.nn.functional.adaptive_max_pool2d(x, 2).flatten().tolist()
    [5.0, 7.0, 13.0, 15.0]
    """
    x = input
    _tensor_arg("adaptive_max_pool2d", x)
    if x.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: "
                           f"{list(x._shape)}")
    if not x._dtype.is_floating_point:
        raise NotImplementedError(f"\"adaptive_max_pool2d\" not implemented for "
                                  f"'{_legacy_name(x._dtype)}'")
    for d in range(x.ndim - 2, x.ndim):
        if x._shape[d] == 0:
            raise RuntimeError(f"adaptive_max_pool2d(): Expected input to have non-zero size "
                               f"for non-batch dimensions, but input has sizes "
                               f"{list(x._shape)} with dimension {d} being empty")
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise RuntimeError("adaptive_max_pool2d(): internal error: output_size.size() "
                               "must be 2")
        osz = tuple(x._shape[-2 + i] if v is None else int(v)
                    for i, v in enumerate(output_size))
    else:
        osz = (int(output_size),) * 2
    if min(osz) < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(osz)}: "
                           f"{list(x._shape[:-2] + osz)}")
    H, W = x._shape[-2:]
    OH, OW = osz
    lead = x._shape[:-2]
    if OH == 0 or OW == 0:
        out = x.new_empty(lead + osz)
        idx = x.new_empty(lead + osz, dtype=D.int64)
        return (out, idx) if return_indices else out
    rt, kh = _windows(H, OH)
    ct, kw = _windows(W, OW)
    # flat input positions of every (padded) window element: (OH, OW, kh * kw)
    flat = (rt[:, None, :, None] * W + ct[None, :, None, :]).reshape(OH, OW, kh * kw)
    dev = x._storage.device
    with no_grad():
        g = x.reshape(lead + (H * W,)).index_select(-1, _index(flat.reshape(-1), dev))
        vals, k = g.reshape(lead + (OH, OW, kh * kw)).max(-1)
        ft = _index(flat, dev).expand(lead + (OH, OW, kh * kw))
        idx = ft.gather(-1, k.unsqueeze(-1)).squeeze(-1)
    if needs_grad(x):
        xshape = x._shape

        def bw(node, gout):
            fi = node.saved_tensor(0).reshape(lead + (OH * OW,))
            gx = gout.new_zeros(lead + (H * W,)).scatter_add(
                -1, fi, gout.reshape(lead + (OH * OW,)))
            return (gx.reshape(xshape),)
        record("AdaptiveMaxPool2DBackward0", (x,), (vals,), bw, ((idx, False),))
    return (vals, idx) if return_indices else vals


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive windows of (N, C, L) or (C, L) input."""
    _tensor_arg("adaptive_max_pool1d", input)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d(): Expected 2D or 3D tensor, but got: "
                           f"{list(input._shape)}")
    o = output_size[0] if isinstance(output_size, (list, tuple)) else output_size
    r = adaptive_max_pool2d(input.unsqueeze(-2), (1, int(o)), True)
    vals, idx = r[0].squeeze(-2), r[1].squeeze(-2)
    return (vals, idx) if return_indices else vals


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    return adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    return adaptive_max_pool1d(input, output_size, True)


def _legacy_name(dt) -> str:
    return {"float16": "Half", "float32": "Float", "float64": "Double", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(dt.name, dt.name)


# ------------------------------------------------------------------------ instance norm
def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) plane of (N, C, *) input over its spatial dims.

    With ``use_input_stats`` the plane's own mean and biased variance normalise, and given
    ``running_mean`` / ``running_var`` are updated in place with ``momentum`` (the batch
    average of the planes' means and unbiased variances), as PyTorch. Otherwise the running
    statistics normalise.
    """
    x = input
    _tensor_arg("instance_norm", x)
    if x.ndim < 2:
        raise ValueError(f"instance_norm: expected 2D or more input (N, C, ...), got "
                         f"{x.ndim}D input of size {tuple(x.shape)}")
    N, C = x._shape[:2]
    spatial = 1
    for s in x._shape[2:]:
        spatial *= s
    if use_input_stats and spatial <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{x.shape}")
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t.numel() != C:
            raise RuntimeError(f"{name} should contain {N * C} elements not {t.numel() * N} "
                               f"(instance_norm: {name} has {t.numel()} elements for {C} "
                               "channels)")
    if not use_input_stats and (running_mean is None or running_var is None):
        raise RuntimeError("Expected running_mean and running_var to be defined when "
                           "use_input_stats is false")
    # as PyTorch: batch norm of the (1, N * C, *) view, viewed back (grad_fn ViewBackward0)
    xr = x.reshape((1, N * C) + x._shape[2:])
    shape = (1, N * C) + (1,) * (x.ndim - 2)
    dims = tuple(range(2, x.ndim))
    if use_input_stats:
        mean = xr.mean(dim=dims, keepdim=True)
        var = xr.var(dim=dims, keepdim=True, correction=0)
        if running_mean is not None or running_var is not None:
            m = float(momentum)
            with no_grad():
                if running_mean is not None:
                    bm = mean.detach().reshape(N, C).mean(0)
                    running_mean.mul_(1 - m).add_(bm.to(running_mean.dtype) * m)
                if running_var is not None:
                    bv = (var.detach() * (spatial / (spatial - 1))).reshape(N, C).mean(0)
                    running_var.mul_(1 - m).add_(bv.to(running_var.dtype) * m)
    else:
        mean = running_mean.repeat(N).reshape(shape)
        var = running_var.repeat(N).reshape(shape)
    y = (xr - mean) * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight.repeat(N).reshape(shape)
    if bias is not None:
        y = y + bias.repeat(N).reshape(shape)
    return y.view(x._shape)


# ------------------------------------------------------------------ interpolation
from ._interpolate import interpolate  # noqa: E402  (the separable modes and 'area')


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ------------------------------------------------------------------------ pixel shuffle
def _shuffle(x: Tensor, r: int) -> Tensor:
    lead, (c, h, w) = x._shape[:-3], x._shape[-3:]
    n = len(lead)
    y = x.reshape(lead + (c // (r * r), r, r, h, w))
    p = list(range(n)) + [n, n + 3, n + 1, n + 4, n + 2]
    return y.permute(p).reshape(lead + (c // (r * r), h * r, w * r))


def _unshuffle(x: Tensor, r: int) -> Tensor:
    lead, (c, h, w) = x._shape[:-3], x._shape[-3:]
    n = len(lead)
    y = x.reshape(lead + (c, h // r, r, w // r, r))
    p = list(range(n)) + [n, n + 2, n + 4, n + 1, n + 3]
    return y.permute(p).reshape(lead + (c * r * r, h // r, w // r))


def _fresh(y: Tensor, x: Tensor) -> Tensor:
    """``y`` as a contiguous tensor with its own storage (never a view of ``x``)."""
    y = y.contiguous()
    return y.clone() if y._storage is x._storage else y


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r * r, H, W) -> (*, C, H * r, W * r).

    >>> import engine as torch
    >>> torch.nn.functional.pixel_shuffle(torch.arange(4.).reshape(1, 4, 1, 1), 2).tolist()
    [[[[0.0, 1.0], [2.0, 3.0]]]]
    """
    x, r = input, int(upscale_factor)
    _tensor_arg("pixel_shuffle", x)
    if x.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {x.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    if x._shape[-3] % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)="
                           f"{x._shape[-3]} is not divisible by {r * r}")
    with no_grad():
        y = _fresh(_shuffle(x, r), x)
    if needs_grad(x):
        record("PixelShuffleBackward0", (x,), (y,), lambda node, g: (pixel_unshuffle(g, r),))
    return y


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r * r, H, W), the inverse of ``pixel_shuffle``."""
    x, r = input, int(downscale_factor)
    _tensor_arg("pixel_unshuffle", x)
    if x.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, "
                           f"but got input with {x.ndim} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    for d, what in ((-2, "height"), (-1, "width")):
        if x._shape[d] % r:
            raise RuntimeError(f"pixel_unshuffle expects {what} to be divisible by "
                               f"downscale_factor, but input.size({d})={x._shape[d]} is not "
                               f"divisible by {r}")
    with no_grad():
        y = _fresh(_unshuffle(x, r), x)
    if needs_grad(x):
        record("PixelUnshuffleBackward0", (x,), (y,), lambda node, g: (pixel_shuffle(g, r),))
    return y

