"""Fractional max pooling (Graham, 2014), 2-D and 3-D, composed of engine ops.

Each (sample, channel) plane draws its own pseudo-random window starts from
``_random_samples`` (N, C, nd) in [0, 1), with PyTorch's interval rule computed in the
input's float type; the windows' flat positions index the flattened plane (``gather``), and a
max over each window gives the values and the indices (flat over the plane, first maximum).

>>> import engine as torch
>>> import engine.nn.functional as F
>>> F.fractional_max_pool2d(torch.randn(1, 2, 8, 8), 2, output_size=5).shape
torch.Size([1, 2, 5, 5])
"""

from __future__ import annotations

import numpy as np

from .._tensor import Tensor

__all__ = ["fractional_max_pool2d", "fractional_max_pool2d_with_indices",
           "fractional_max_pool3d", "fractional_max_pool3d_with_indices"]


def _tuple(v, n):
    return tuple(int(e) for e in v) if isinstance(v, (list, tuple)) else (int(v),) * n


def _intervals(u: np.ndarray, n_in: int, n_out: int, k: int, ft) -> np.ndarray:
    """PyTorch's generate_intervals for every sample ``u`` (any shape) -> (..., n_out)."""
    u = u.astype(ft)
    seq = np.empty(u.shape + (n_out,), dtype=np.int64)
    if n_out > 1:
        alpha = ft(n_in - k) / ft(n_out - 1)
        i = np.arange(n_out - 1, dtype=ft)
        a = ((i + u[..., None]).astype(ft) * alpha).astype(ft)
        seq[..., :-1] = a.astype(np.int64) - (u * alpha).astype(ft).astype(np.int64)[..., None]
    if n_out > 0:
        seq[..., -1] = n_in - k
    return seq


def _fractional(op, nd, x, kernel_size, output_size, output_ratio, samples, order):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: "
                           f"{list(x.shape)}")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    S = tuple(x.shape[-nd:])
    if output_size is None:
        r = output_ratio if isinstance(output_ratio, (list, tuple)) else (output_ratio,) * nd
        if len(r) != nd:
            raise ValueError(f"{op} requires output_ratio to either be a single Int or tuple "
                             "of Ints.")
        output_size = [int(S[i] * r[i]) for i in range(nd)]
    k, o = _tuple(kernel_size, nd), _tuple(output_size, nd)
    names = ("height", "width") if nd == 2 else ("time", "height", "width")
    for i in range(nd):  # PyTorch allows a window touching the end in 2-D, not in 3-D
        if o[i] + k[i] - 1 > S[i] - (nd == 3):
            raise RuntimeError(f"{op}(): pool {names[i]} {k[i]} too large relative to input "
                               f"{names[i]} {S[i]} (output {names[i]} {o[i]})")
    batched = x.ndim == nd + 2
    xb = x if batched else x.unsqueeze(0)
    N, C = xb.shape[:2]
    if samples is None:
        from ..ops.creation import rand
        samples = rand((N, C, nd), dtype=x.dtype, device=x.device)
    u = samples.detach().cpu().numpy().reshape(N, C, nd)
    ft = np.float64 if str(x.dtype) == "torch.float64" else np.float32
    starts = [_intervals(u[..., order[i]], S[i], o[i], k[i], ft) for i in range(nd)]
    strides = [int(np.prod(S[i + 1:])) for i in range(nd)]
    flat = np.zeros((N, C) + o + (1,) * nd, dtype=np.int64)   # (N, C, *o, *k) positions
    for i in range(nd):
        st = starts[i].reshape((N, C) + tuple(o[i] if j == i else 1 for j in range(nd))
                               + (1,) * nd)
        off = np.arange(k[i]).reshape(tuple(k[i] if j == i else 1 for j in range(nd)))
        flat = flat + (st + off) * strides[i]
    K, P = int(np.prod(k)), int(np.prod(o))
    flat = np.broadcast_to(flat, (N, C) + o + k).reshape(N, C, P, K)
    from ..ops.creation import tensor
    ft_idx = tensor(np.ascontiguousarray(flat), device=x.device)
    g = xb.reshape(N, C, -1).gather(2, ft_idx.reshape(N, C, P * K)).reshape(N, C, P, K)
    vals, a = g.max(-1)
    idx = ft_idx.gather(3, a.unsqueeze(-1)).squeeze(-1)
    vals, idx = vals.reshape((N, C) + o), idx.reshape((N, C) + o)
    if not batched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return vals, idx


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """2-D fractional max pooling over (N, C, H, W) or (C, H, W) input."""
    r = _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size, output_ratio,
                    _random_samples, (1, 0))
    return r if return_indices else r[0]


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples=None):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """3-D fractional max pooling over (N, C, D, H, W) or (C, D, H, W) input."""
    r = _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size, output_ratio,
                    _random_samples, (0, 1, 2))
    return r if return_indices else r[0]


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples=None):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True,
                                 _random_samples)
