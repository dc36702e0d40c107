"""3-D pooling (max, average, adaptive average/max), max unpooling and power-average (LP)
pooling, composed of engine ops.

* ``max_pool3d``: the 2-D max pool kernel over every depth slice (N, C*D, H, W), then a max
  over the depth windows (a strided ``unfold`` view); a box maximum is separable, and the
  first maximum in (d, h, w) order is the one both steps pick, so values and indices match
  PyTorch's.
* ``avg_pool3d`` / ``adaptive_avg_pool3d``: a box average (with PyTorch's divisors, which are
  products of per-dim counts) is separable too: three small (out, in) averaging matrices,
  applied by matmul.
* ``adaptive_max_pool3d``: every window element gathered once (``index_select``), then a max.
* ``max_unpool{1,2,3}d``: ``scatter`` into zeros.

Gradients (any order) and the CUDA device come from the ops used.

>>> import engine as torch
>>> import engine.nn.functional as F
>>> F.max_pool3d(torch.arange(8.).reshape(1, 1, 2, 2, 2), 2).flatten().tolist()
[7.0]
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor
from ._common import shape_str
from .pool import _out_size, avg_pool2d, max_pool2d

__all__ = [
    "adaptive_avg_pool3d",
    "adaptive_max_pool3d",
    "adaptive_max_pool3d_with_indices",
    "avg_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_pool3d",
    "max_pool3d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]


def _ntuple(v, n: int, name: str, op: str) -> tuple:
    if isinstance(v, (list, tuple)):
        t = tuple(int(e) for e in v)
        if len(t) == 1:
            t = t * n
        if len(t) != n:
            raise RuntimeError(f"{op}: {name} must either be a single int, or a tuple of "
                               f"{n} ints")
        return t
    return (int(v),) * n


def _index(vals, device) -> Tensor:
    from .creation import tensor
    return tensor(np.ascontiguousarray(vals, dtype=np.int64), device=device)


def _float_input(op: str, x, ndims=(4, 5)) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.ndim not in ndims:
        raise RuntimeError(f"{op}: non-empty {ndims[0]}D or {ndims[1]}D (batch mode) tensor "
                           f"expected for input, but got input of size {shape_str(x._shape)}")
    if not x._dtype.is_floating_point:
        raise RuntimeError(f"\"{op}\" not implemented for '{x._dtype.name}'")


def _geometry3(op, x, kernel_size, stride, padding, dilation, ceil_mode):
    _float_input(op, x)
    if any(s == 0 for s in x._shape[-4:]):
        raise RuntimeError(f"{op}: non-empty 4D or 5D (batch mode) tensor expected for input, "
                           f"but got input of size {shape_str(x._shape)}")
    k = _ntuple(kernel_size, 3, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else _ntuple(stride, 3, "stride", op)
    p, d = _ntuple(padding, 3, "padding", op), _ntuple(dilation, 3, "dilation", op)
    if min(k) <= 0:
        raise RuntimeError(f"{op}: kernel_size should be greater than zero, but got "
                           f"kT: {k[0]} kH: {k[1]} kW: {k[2]}")
    if min(s) <= 0:
        raise RuntimeError(f"{op}: stride should be greater than zero, but got "
                           f"dT: {s[0]} dH: {s[1]} dW: {s[2]}")
    if min(d) <= 0:
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got "
                           f"dilationT: {d[0]} dilationH: {d[1]} dilationW: {d[2]}")
    if min(p) < 0 or any(pp > kk // 2 for pp, kk in zip(p, k)):
        raise RuntimeError(f"{op}: pad should be smaller than or equal to half of kernel "
                           f"size, but got kT: {k[0]} kH: {k[1]} kW: {k[2]} padT: {p[0]} "
                           f"padW: {p[2]} padH: {p[1]}")
    S = x._shape[-3:]
    o = tuple(_out_size(S[i], k[i], s[i], p[i], d[i], ceil_mode) for i in range(3))
    if min(o) < 1:
        C = x._shape[-4]
        raise RuntimeError(f"{op}: Given input size: ({C}x{S[0]}x{S[1]}x{S[2]}). Calculated "
                           f"output size: ({C}x{o[0]}x{o[1]}x{o[2]}). Output size is too small")
    return k, s, p, d, o


# ------------------------------------------------------------------------------ max pooling
def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W) input; indices are flat over
    D*H*W (as ``max_unpool3d`` takes).

    >>> import engine as torch
    >>> torch.nn.functional.max_pool3d(torch.arange(8.).reshape(1, 1, 2, 2, 2), 2, return_indices=True)[1].flatten().tolist()
    [7]
    """
    x = input
    k, s, p, d, o = _geometry3("max_pool3d", x, kernel_size, stride, padding, dilation,
                               ceil_mode)
    unb = x.ndim == 4
    xb = x.unsqueeze(0) if unb else x
    N, C, Dd, H, W = xb._shape
    v2, i2 = max_pool2d(xb.reshape(N, C * Dd, H, W), k[1:], s[1:], p[1:], d[1:], ceil_mode,
                        True)
    OH, OW = v2._shape[2:]
    v2 = v2.reshape(N, C, Dd, OH, OW)
    i2 = i2.reshape(N, C, Dd, OH, OW)
    span = d[0] * (k[0] - 1) + 1
    right = max(0, (o[0] - 1) * s[0] + span - Dd - p[0])
    from ..nn._shape_fns import pad
    if p[0] or right:
        v2 = pad(v2, (0, 0, 0, 0, p[0], right), value=float("-inf"))
        i2 = pad(i2, (0, 0, 0, 0, p[0], right), value=0)
    win = v2.unfold(2, span, s[0])  # (N, C, OD, OH, OW, span)
    iwin = i2.unfold(2, span, s[0])
    if d[0] > 1:
        win, iwin = win[..., ::d[0]], iwin[..., ::d[0]]
    vals, a = win.max(-1)
    # depth of the winner: od * sd - pd + a * dd; its (h, w) index from the 2-D pool
    od = _index(np.arange(o[0]) * s[0] - p[0], x.device).reshape(1, 1, o[0], 1, 1)
    depth = od + a * d[0]
    idx = depth * (H * W) + iwin.gather(-1, a.unsqueeze(-1)).squeeze(-1)
    if unb:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = True):
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ------------------------------------------------------------------------------ avg pooling
def _avg_matrix(n_in, k, s, p, o, include_pad, override) -> np.ndarray:
    m = np.zeros((o, n_in))
    for i in range(o):
        start = i * s - p
        end = min(start + k, n_in + p)
        size = end - start
        a, b = max(start, 0), min(end, n_in)
        if b > a:
            div = 1.0 if override else (size if include_pad else b - a)
            m[i, a:b] = 1.0 / div
    return m


def _apply_separable(x: Tensor, mats) -> Tensor:
    """y[..., i, j, l] = sum M0[i, a] M1[j, b] M2[l, c] x[..., a, b, c] for (N, C, D, H, W)."""
    dev, dt = x.device, x.dtype
    from .creation import tensor
    m0, m1, m2 = (tensor(m, dtype=dt, device=dev) for m in mats)
    lead = x._shape[:-3]
    Dd, H, W = x._shape[-3:]
    y = x.reshape(-1, W).matmul(m2.t())                            # (.., D, H, OW)
    OW = m2._shape[0]
    y = m1.matmul(y.reshape(-1, H, OW))                            # (.., OH, OW)
    OH = m1._shape[0]
    y = m0.matmul(y.reshape(-1, Dd, OH * OW))                      # (.., OD, OH*OW)
    return y.reshape(lead + (m0._shape[0], OH, OW))


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W) input.

    >>> import engine as torch
    >>> torch.nn.functional.avg_pool3d(torch.arange(8.).reshape(1, 1, 2, 2, 2), 2).flatten().tolist()
    [3.5]
    """
    x = input
    k, s, p, _, o = _geometry3("avg_pool3d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("avg_pool3d: divisor must be not zero")
    S = x._shape[-3:]
    mats = [_avg_matrix(S[i], k[i], s[i], p[i], o[i], count_include_pad,
                        divisor_override is not None) for i in range(3)]
    y = _apply_separable(x, mats)
    return y / float(divisor_override) if divisor_override is not None else y


# ------------------------------------------------------------------------- adaptive pooling
def _out3(op, x, output_size) -> tuple:
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 3:
            raise RuntimeError(f"{op}: internal error: output_size.size() must be 3")
        osz = tuple(x._shape[-3 + i] if v is None else int(v) for i, v in enumerate(output_size))
    else:
        osz = (int(output_size),) * 3
    if min(osz) < 0:
        raise RuntimeError(f"{op}: elements of output_size must be greater than or equal to 0 "
                           f"but received {list(osz)}")
    for dd in range(x.ndim - 3, x.ndim):
        if x._shape[dd] == 0:
            raise RuntimeError(f"{op}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(x._shape)} with "
                               f"dimension {dd} being empty")
    return osz


def _bounds(n_in: int, n_out: int):
    starts = (np.arange(n_out) * n_in) // n_out
    ends = -((-(np.arange(n_out) + 1) * n_in) // n_out)
    return starts, ends


def _ada_matrix(n_in: int, n_out: int) -> np.ndarray:
    m = np.zeros((n_out, n_in))
    for i, (a, b) in enumerate(zip(*_bounds(n_in, n_out))):
        m[i, a:b] = 1.0 / (b - a)
    return m


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average over PyTorch's adaptive windows [floor(i*D/OD), ceil((i+1)*D/OD)) per dim.

    >>> import engine as torch
    >>> torch.nn.functional.adaptive_avg_pool3d(torch.ones(1, 2, 3, 4, 5), (1, 2, None)).shape
    torch.Size([1, 2, 1, 2, 5])
    """
    x = input
    _float_input("adaptive_avg_pool3d", x)
    osz = _out3("adaptive_avg_pool3d", x, output_size)
    return _apply_separable(x, [_ada_matrix(n, m) for n, m in zip(x._shape[-3:], osz)])


def _windows(n_in: int, n_out: int):
    starts, ends = _bounds(n_in, n_out)
    k = int((ends - starts).max()) if n_out else 0
    return np.minimum(starts[:, None] + np.arange(k)[None, :], (ends - 1)[:, None]), k


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max over PyTorch's adaptive windows; indices are flat over D*H*W."""
    x = input
    _float_input("adaptive_max_pool3d", x)
    osz = _out3("adaptive_max_pool3d", x, output_size)
    lead = x._shape[:-3]
    Dd, H, W = x._shape[-3:]
    if 0 in osz:
        out = x.new_empty(lead + osz)
        return (out, x.new_empty(lead + osz, dtype=D.int64)) if return_indices else out
    (td, kd), (th, kh), (tw, kw) = (_windows(n, m) for n, m in zip((Dd, H, W), osz))
    flat = (td[:, None, None, :, None, None] * (H * W) + th[None, :, None, None, :, None] * W
            + tw[None, None, :, None, None, :]).reshape(osz + (kd * kh * kw,))
    dev = x.device
    g = x.reshape(lead + (Dd * H * W,)).index_select(-1, _index(flat.reshape(-1), dev))
    vals, a = g.reshape(lead + osz + (kd * kh * kw,)).max(-1)
    ft = _index(flat, dev).expand(lead + osz + (kd * kh * kw,))
    idx = ft.gather(-1, a.unsqueeze(-1)).squeeze(-1)
    return (vals, idx) if return_indices else vals


def adaptive_max_pool3d_with_indices(input: Tensor, output_size, return_indices: bool = True):
    return adaptive_max_pool3d(input, output_size, True)


# ------------------------------------------------------------------------------ unpooling
def _unpool(op, nd, x, indices, kernel_size, stride, padding, output_size):
    if not isinstance(x, Tensor) or not isinstance(indices, Tensor):
        raise TypeError(f"{op}(): arguments 'input' and 'indices' must be Tensors")
    if indices._dtype is not D.int64:
        raise RuntimeError(f"{op}: elements in indices should be type int64 but got: "
                           f"{indices._dtype}")
    if tuple(x._shape) != tuple(indices._shape):
        raise RuntimeError(f"{op}: Expected shape of indices to be same as that of the input "
                           f"tensor ({shape_str(x._shape)}) but got indices tensor with shape: "
                           f"{shape_str(indices._shape)}")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: Expected {nd + 1}D or {nd + 2}D tensor for input, but got "
                           f"{shape_str(x._shape)}")
    k = _ntuple(kernel_size, nd, "kernel_size", op)
    s = k if stride is None else _ntuple(stride, nd, "stride", op)
    p = _ntuple(padding, nd, "padding", op)
    S = x._shape[-nd:]
    default = tuple((S[i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nd))
    if output_size is None:
        out = default
    else:
        out = tuple(int(v) for v in output_size)
        if len(out) == nd + 2 or (len(out) == nd + 1 and x.ndim == nd + 1):
            out = out[-nd:]
        if len(out) != nd:
            raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} "
                             f"elements, but it has a length of '{len(out)}'")
        for i in range(nd):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < out[i] < hi:
                raise ValueError(f'invalid output_size "{list(out)}" (dim {i} must be between '
                                 f"{lo} and {hi})")
    lead = x._shape[:-nd]
    n = int(np.prod(out))
    xf = x.reshape(lead + (-1,))
    fi = indices.reshape(lead + (-1,))
    if fi.numel() and fi.is_cpu:
        lo, hi = int(fi.min()), int(fi.max())
        if lo < 0 or hi >= n:
            bad = lo if lo < 0 else hi
            raise RuntimeError(f"{op}: Found an invalid max index: {bad} (output volumes are "
                               f"of size {'x'.join(map(str, out))})")
    y = x.new_zeros(lead + (n,)).scatter(-1, fi, xf)
    return y.reshape(lead + out)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool1d``: each value goes to its index, the rest are 0."""
    return _unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding,
                   output_size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool2d`` (indices flat over H*W).

    >>> import engine as torch
    >>> import engine.nn.functional as F
    >>> v, i = F.max_pool2d(torch.arange(16.).reshape(1, 1, 4, 4), 2, return_indices=True)
    >>> F.max_unpool2d(v, i, 2)[0, 0, 1].tolist()
    [0.0, 5.0, 0.0, 7.0]
    """
    return _unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding,
                   output_size)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """Partial inverse of ``max_pool3d`` (indices flat over D*H*W)."""
    return _unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding,
                   output_size)


# ------------------------------------------------------------------------------ LP pooling
def _lp(out: Tensor, norm_type, ksize) -> Tensor:
    from ..nn.functional import relu
    return (out.sign() * relu(out.abs())).mul(ksize).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: (sum over the window of x**p) ** (1/p)."""
    from .pool import avg_pool1d
    k = kernel_size[0] if isinstance(kernel_size, (list, tuple)) else kernel_size
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp(out, norm_type, int(k))


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, H, W) or (C, H, W) input."""
    kh, kw = _ntuple(kernel_size, 2, "kernel_size", "lp_pool2d")
    out = avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return _lp(out, norm_type, kh * kw)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, D, H, W) or (C, D, H, W) input."""
    k = _ntuple(kernel_size, 3, "kernel_size", "lp_pool3d")
    out = avg_pool3d(input.pow(norm_type), k, stride, 0, ceil_mode)
    return _lp(out, norm_type, k[0] * k[1] * k[2])
