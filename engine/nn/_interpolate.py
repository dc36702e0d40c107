"""``F.interpolate``'s separable modes: 'linear', 'bilinear', 'trilinear', 'bicubic', and
'nearest' / 'nearest-exact' on 5-D input, plus 'area' (adaptive average pooling, as PyTorch).

Each spatial dim is resized in turn by a table of taps: per output position, a few source
indices and weights computed as PyTorch does (``area_pixel_compute_source_index``, cubic
coefficients with A = -0.75, border indices clamped). The forward is index_select and
multiply-add; one node records it under PyTorch's name, and its backward, the adjoint
(index_add of the weighted grads), is written with engine ops (differentiable again).

>>> import engine as torch
>>> x = torch.tensor([[[[1., 2.], [3., 4.]]]])
>>> torch.nn.functional.interpolate(x, size=3, mode='bilinear',
...                                 align_corners=True)[0, 0, 1].tolist()
[2.0, 2.5, 3.0]
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..autograd.graph import record
from ..ops._common import needs_grad

__all__ = ["interpolate"]

_NEED_DIMS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
_NODE = {"linear": "UpsampleLinear1DBackward0", "bilinear": "UpsampleBilinear2DBackward0",
         "bicubic": "UpsampleBicubic2DBackward0", "trilinear": "UpsampleTrilinear3DBackward0",
         "nearest": "UpsampleNearest3DBackward0",
         "nearest-exact": "UpsampleNearestExact3DBackward0"}


def _source(n_in: int, n_out: int, align_corners: bool, scale, ft, cubic: bool):
    """PyTorch's real-valued source position of each output index (in the input's float
    type; negative positions are kept for the cubic taps, clamped to 0 for linear)."""
    pos = np.arange(n_out, dtype=ft)
    if align_corners:
        s = ft((n_in - 1) / (n_out - 1)) if n_out > 1 else ft(0)
        return (pos * s).astype(ft)
    s = ft(1.0 / scale) if scale is not None and scale > 0 else ft(n_in) / ft(n_out)
    src = (s * (pos + ft(0.5)) - ft(0.5)).astype(ft)
    return src if cubic else np.maximum(src, ft(0))


def _cubic_weights(t, ft):
    """Keys' cubic convolution coefficients (A = -0.75) of the 4 taps around fraction t."""
    a = ft(-0.75)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _taps(n_in: int, n_out: int, mode: str, align_corners: bool, scale, ft):
    """[(source indices, weights or None)] per output position of one spatial dim."""
    if mode in ("nearest", "nearest-exact"):
        from ..ops.pool import _src_index
        return [(_src_index(n_in, n_out, scale, mode == "nearest-exact",
                            D.float64 if ft is np.float64 else D.float32), None)]
    if mode == "bicubic":
        src = _source(n_in, n_out, align_corners, scale, ft, True)
        i = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        t = np.clip(src - i.astype(ft), 0, 1).astype(ft)
        return [(np.clip(i - 1 + k, 0, n_in - 1), w.astype(ft))
                for k, w in enumerate(_cubic_weights(t, ft))]
    src = _source(n_in, n_out, align_corners, scale, ft, False)
    i0 = np.minimum(src.astype(np.int64), n_in - 1)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    l1 = (src - i0.astype(ft)).astype(ft)
    return [(i0, (ft(1) - l1).astype(ft)), (i1, l1)]


def _apply(x: Tensor, d: int, taps) -> Tensor:
    """Resize dim ``d``: the weighted sum of the taps' index_selects."""
    bshape = (-1,) + (1,) * (x.ndim - 1 - d)
    y = None
    for idx, w in taps:
        t = x.index_select(d, idx)
        t = t if w is None else t * w.reshape(bshape)
        y = t if y is None else y + t
    return y


def _adjoint(g: Tensor, d: int, n_in: int, taps) -> Tensor:
    """The backward of ``_apply``: each output's grad added back to its sources."""
    bshape = (-1,) + (1,) * (g.ndim - 1 - d)
    z = g.new_zeros(g._shape[:d] + (n_in,) + g._shape[d + 1:])
    for idx, w in taps:
        z = z.index_add(d, idx, g if w is None else g * w.reshape(bshape))
    return z


def _separable(x: Tensor, osz, scales, mode: str, align_corners: bool) -> Tensor:
    from ..ops.creation import tensor
    nd = x.ndim - 2
    ft = np.float64 if x._dtype is D.float64 else np.float32
    dev = x._storage.device
    tabs = []
    for k in range(nd):
        tabs.append([(tensor(np.ascontiguousarray(i, dtype=np.int64), device=dev),
                      None if w is None else tensor(w, dtype=x._dtype, device=dev))
                     for i, w in _taps(x._shape[2 + k], osz[k], mode, align_corners,
                                       scales[k], ft)])
    with no_grad():
        y = x
        for k in range(nd):
            y = _apply(y, 2 + k, tabs[k])
        y = y.contiguous()
    if needs_grad(x):
        sizes = x._shape[2:]

        def bw(node, g):
            for k in reversed(range(nd)):
                g = _adjoint(g, 2 + k, sizes[k], tabs[k])
            return (g,)
        record(_NODE[mode], (x,), (y,), bw)
    return y


def _area(x: Tensor, osz) -> Tensor:
    from . import functional as F
    pool = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}
    return pool[x.ndim - 2](x, osz if len(osz) > 1 else osz[0])


def _check(x: Tensor, mode: str, align_corners, antialias: bool) -> None:
    from .functional_extra import _legacy_name, _tensor_arg
    _tensor_arg("interpolate", x)
    want = _NEED_DIMS.get(mode)
    if want is not None and x.ndim != want:
        raise NotImplementedError(f"Got {x.ndim}D input, but {mode} mode needs {want}D input "
                                  f"(input shape {tuple(x.shape)})")
    if want is None and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not implemented")
    if not x._dtype.is_floating_point:
        raise NotImplementedError(f"\"upsample_{mode}{x.ndim - 2}d\" not implemented for "
                                  f"'{_legacy_name(x._dtype)}'")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None, antialias: bool = False):
    """Resize (N, C, *spatial) input by ``size`` or ``scale_factor`` (PyTorch's modes and
    source positions; see the module docstring)."""
    from ..ops import pool
    x = input
    separable = mode in _NEED_DIMS or mode in ("nearest", "nearest-exact") and \
        isinstance(x, Tensor) and x.ndim == 5
    if not separable and mode != "area":
        return pool.interpolate(input, size, scale_factor, mode, align_corners,
                                recompute_scale_factor, antialias)
    _check(x, mode, align_corners, antialias)
    if x.ndim < 3:
        raise ValueError(f"interpolate: expected (N, C, *spatial) input, got shape "
                         f"{tuple(x.shape)}")
    osz, scales = pool._up_sizes(x, size, scale_factor, x.ndim - 2, recompute_scale_factor)
    if min(osz) <= 0:
        raise RuntimeError(f"interpolate: output size {list(osz)} must be greater than 0")
    if mode == "area":
        return _area(x, osz)
    if x._dtype is D.float16:
        return _separable(x.to(D.float32), osz, scales, mode, bool(align_corners)).to(
            D.float16)
    return _separable(x, osz, scales, mode, bool(align_corners))
