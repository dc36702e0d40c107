"""Pooling and nearest upsampling over (N, C, H, W) / (C, H, W) planes: the device
backend's entry points (CPU: kernels/cpu/pool.py; CUDA: kernels/cuda/pool.py, on the device).

Every backward here is a linear map of the output gradient (scatter through the max-pool
indices, spread over average windows, sum over upsampled copies). Each is recorded as a
primitive whose own backward is the adjoint map (gather, window average, nearest copy), and
vice versa, so gradients of any order stay on the tape with PyTorch's node names."""

from __future__ import annotations

import functools

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, make
from ..autograd.graph import record
from ._common import backend, empty_tensor, needs_grad, shape_str

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "interpolate",
    "max_pool1d",
    "max_pool2d",
    "upsample",
    "upsample_nearest",
]


def _be(t: Tensor):
    """The device backend of ``t`` (entry points maxpool2d, avgpool2d, ...)."""
    return backend(t._storage.device)


def half_via_float(fn):
    """Run ``fn`` on a float16 input in float32 and cast floating outputs back (the kernels
    compile for float32 / float64)."""
    @functools.wraps(fn)
    def wrapper(input, *args, **kwargs):
        if not isinstance(input, Tensor) or input._dtype is not D.float16:
            return fn(input, *args, **kwargs)
        r = fn(input.to(D.float32), *args, **kwargs)
        if isinstance(r, tuple):
            return tuple(t.to(D.float16) if t._dtype is D.float32 else t for t in r)
        return r.to(D.float16)
    return wrapper


def _apply_linear(x: Tensor, out_shape, kern, adj, names, depth: int = 0) -> Tensor:
    """out = kern(x, out) for a linear plane map (tensors in, ``out`` fresh); records
    ``names[depth]`` whose backward is ``adj`` (recorded in turn with ``kern`` as its
    backward)."""
    out = empty_tensor(tuple(out_shape), x._dtype, x._storage.device)
    if out.numel():
        if x.numel():
            kern(x, out)
        else:
            out._fill_nograd(0)
    if needs_grad(x):
        in_shape = x._shape
        record(names[min(depth, len(names) - 1)], (x,), (out,),
               lambda n, g: (_apply_linear(g, in_shape, adj, kern, names, depth + 1),))
    return out


def _cpu_float(op: str, x) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if not x._dtype.is_floating_point:
        raise RuntimeError(f"\"{op}\" not implemented for '{x._dtype.name}'")


def _pair(v, name: str, op: str, n: int = 2) -> tuple:
    if isinstance(v, (list, tuple)):
        t = tuple(int(e) for e in v)
        if len(t) == 1:
            t = t * n
        if len(t) != n:
            raise RuntimeError(f"{op}: {name} must either be a single int, or a tuple of "
                               f"{n} ints")
        return t
    return (int(v),) * n


def _out_size(size, k, s, p, d, ceil) -> int:
    o = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= size + p:
        o -= 1
    return o


def _pool_geometry(op, x, kernel_size, stride, padding, dilation, ceil_mode, strict=False):
    _cpu_float(op, x)
    if x.ndim not in (3, 4) or any(s == 0 for s in x._shape[-3:]):
        raise RuntimeError(f"{op}: non-empty 3D or 4D (batch mode) tensor expected for input, "
                           f"but got input of size {shape_str(x._shape)}")
    k = _pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else _pair(stride, "stride", op)
    p, d = _pair(padding, "padding", op), _pair(dilation, "dilation", op)
    if min(k) <= 0:
        raise RuntimeError(f"{op}: kernel size should be greater than zero, but got "
                           f"kH: {k[0]} kW: {k[1]}")
    if min(s) <= 0:
        raise RuntimeError(f"{op}: stride should be greater than zero, but got "
                           f"dH: {s[0]} dW: {s[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got "
                           f"dilationH: {d[0]} dilationW: {d[1]}")
    if strict and (p[0] > k[0] // 2 or p[1] > k[1] // 2):  # PyTorch's with-indices check
        raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but "
                           f"got padW = {p[1]}, padH = {p[0]}, kW = {k[1]}, kH = {k[0]}")
    for pp, kk, dd in zip(p, k, d):
        if pp < 0 or pp > ((kk - 1) * dd + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={kk} and dilation={dd}")
    H, W = x._shape[-2:]
    oh = _out_size(H, k[0], s[0], p[0], d[0], ceil_mode)
    ow = _out_size(W, k[1], s[1], p[1], d[1], ceil_mode)
    if oh < 1 or ow < 1:
        C = x._shape[-3]
        raise RuntimeError(f"Given input size: ({C}x{H}x{W}). Calculated output size: "
                           f"({C}x{oh}x{ow}). Output size is too small")
    return k, s, p, d, x._shape[:-2] + (oh, ow)


# ---------------------------------------------------------------------------- max pooling
_MAX_NAMES = ("MaxPool2DWithIndicesBackward0", "MaxPool2DWithIndicesBackwardBackward0")


@half_via_float
def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """2-D max pooling over (N, C, H, W) or (C, H, W) input (indices flat over H*W).

    >>> import engine as torch
    >>> torch.nn.functional.max_pool2d(torch.arange(16.).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    x = input
    k, s, p, d, out_shape = _pool_geometry("max_pool2d", x, kernel_size, stride, padding,
                                           dilation, ceil_mode, bool(return_indices))
    out = empty_tensor(out_shape, x._dtype, x._storage.device)
    idx = empty_tensor(out_shape, D.int64, x._storage.device)
    oh, ow = out_shape[-2:]
    geo = (k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1])
    _be(x).maxpool2d(x, out, idx, *geo)
    if needs_grad(x):
        H, W = x._shape[-2:]
        two = (k == (2, 2) and s == (2, 2) and p == (0, 0) and d == (1, 1)
               and 2 * oh <= H and 2 * ow <= W)

        def scatter(g, gx):
            _be(g).maxpool2d_backward(g, idx, gx, geo, two)

        def gather(src, o):
            _be(src).plane_gather(src, idx, o)

        in_shape = x._shape
        record(_MAX_NAMES[0], (x,), (out,),
               lambda n, g: (_apply_linear(g, in_shape, scatter, gather, _MAX_NAMES, 1),),
               ctx=idx)
    return (out, idx) if return_indices else out


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False):
    """1-D max pooling over (N, C, L) or (C, L) input (max_pool2d over a height-1 view)."""
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise RuntimeError("max_pool1d() Expected 2D or 3D input tensor, but got "
                           f"{getattr(input, 'shape', type(input).__name__)}")
    one = lambda v: (1, _pair(v, "", "max_pool1d", 1)[0])
    st = None if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else one(stride)
    r = max_pool2d(input.unsqueeze(-2), one(kernel_size), st, (0, _pair(padding, "", "", 1)[0]),
                   one(dilation), ceil_mode, return_indices)
    if return_indices:
        return r[0].squeeze(-2), r[1].squeeze(-2)
    return r.squeeze(-2)


# ---------------------------------------------------------------------------- avg pooling
_AVG_NAMES = ("AvgPool2DBackward0", "AvgPool2DBackwardBackward0")


@half_via_float
def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-D average pooling over (N, C, H, W) or (C, H, W) input.

    >>> import engine as torch
    >>> torch.nn.functional.avg_pool2d(torch.arange(16.).reshape(1, 1, 4, 4), 2).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """
    x = input
    k, s, p, _, out_shape = _pool_geometry("avg_pool2d", x, kernel_size, stride, padding, 1,
                                           ceil_mode)
    if divisor_override is not None and int(divisor_override) == 0:
        raise RuntimeError("divisor must be not zero")
    args = (k[0], k[1], s[0], s[1], p[0], p[1], bool(count_include_pad),
            int(divisor_override or 0))

    def fwd(x, o):
        _be(x).avgpool2d(x, o, *args)

    def bwd(g, gx):
        _be(g).avgpool2d_backward(g, gx, *args)

    return _apply_linear(x, out_shape, fwd, bwd, _AVG_NAMES)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over (N, C, L) or (C, L) input."""
    one = lambda v: (1, _pair(v, "", "avg_pool1d", 1)[0])
    st = None if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else one(stride)
    return avg_pool2d(input.unsqueeze(-2), one(kernel_size), st, (0, _pair(padding, "", "", 1)[0]),
                      ceil_mode, count_include_pad).squeeze(-2)


_ADA_NAMES = ("AdaptiveAvgPool2DBackward0", "AdaptiveAvgPool2DBackwardBackward0")


@half_via_float
def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over PyTorch's adaptive windows [floor(i*H/OH), ceil((i+1)*H/OH))."""
    x = input
    _cpu_float("adaptive_avg_pool2d", x)
    if x.ndim not in (3, 4):
        raise RuntimeError("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{shape_str(x._shape)}")
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != 2:
            raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
        osz = tuple(x._shape[-2 + i] if v is None else int(v) for i, v in enumerate(output_size))
    else:
        osz = (int(output_size),) * 2
    if min(osz) < 0:
        raise RuntimeError(f"adaptive_avg_pool2d: elements of output_size must be greater "
                           f"than or equal to 0 but received {list(osz)}")
    return _apply_linear(x, x._shape[:-2] + osz,
                         lambda a, o: _be(a).adaptive_avgpool2d(a, o),
                         lambda g, gx: _be(g).adaptive_avgpool2d_backward(g, gx), _ADA_NAMES)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    o = output_size[0] if isinstance(output_size, (list, tuple)) else output_size
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, int(o))).squeeze(-2)


# ------------------------------------------------------------------------- upsampling
def _src_index(n_in: int, n_out: int, scale, exact: bool, dt) -> np.ndarray:
    """PyTorch's nearest source index per output position (computed in the input's
    float type: floor(i * s) with s = 1/scale_factor or n_in/n_out)."""
    ft = np.float64 if dt is D.float64 else np.float32
    if not exact:
        if n_out == n_in:
            return np.arange(n_out, dtype=np.int64)
        if n_out == 2 * n_in:
            return np.arange(n_out, dtype=np.int64) >> 1
    s = ft(1.0 / scale) if scale is not None and scale > 0 else ft(n_in) / ft(n_out)
    pos = np.arange(n_out, dtype=ft)
    if exact:
        pos = pos + ft(0.5)
    return np.minimum(np.floor(pos * s).astype(np.int64), n_in - 1)


def _up_sizes(x, size, scale_factor, nd, recompute):
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None
                         else "either size or scale_factor should be defined")
    if size is not None:
        sz = tuple(size) if isinstance(size, (list, tuple)) else (size,) * nd
        if len(sz) != nd:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(x._shape[2:])} and output size of {list(sz)}. Please "
                             "provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                             "size in (o1, o2, ...,oK) format.")
        return tuple(int(v) for v in sz), (None,) * nd
    sf = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * nd
    if len(sf) != nd:
        raise ValueError("Input and scale_factor must have the same number of spatial "
                         f"dimensions, but got input with spatial dimensions of "
                         f"{list(x._shape[2:])} and scale_factor of shape {list(sf)}.")
    out = tuple(int(np.floor(float(s) * float(f))) for s, f in zip(x._shape[2:], sf))
    return out, ((None,) * nd if recompute else tuple(float(f) for f in sf))


@half_via_float
def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners=None, recompute_scale_factor=None, antialias: bool = False):
    """Resize (N, C, L) or (N, C, H, W) input; modes 'nearest' and 'nearest-exact'.

    >>> import engine as torch
    >>> torch.nn.functional.interpolate(torch.tensor([[[1., 2.]]]), scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    """
    x = input
    _cpu_float("interpolate", x)
    if mode not in ("nearest", "nearest-exact"):
        raise NotImplementedError(f"interpolate: unknown mode '{mode}' (modes: nearest | "
                                  "linear | bilinear | bicubic | trilinear | area | "
                                  "nearest-exact)")
    if align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if x.ndim not in (3, 4):
        raise NotImplementedError(f"interpolate: expected a 3-D or 4-D input (N, C, *spatial),"
                                  f" got {shape_str(x._shape)}")
    nd = x.ndim - 2
    osz, scales = _up_sizes(x, size, scale_factor, nd, recompute_scale_factor)
    if min(osz) <= 0:
        raise RuntimeError(f"interpolate: output size {list(osz)} must be greater than 0")
    exact = mode == "nearest-exact"
    sfx = "Exact" if exact else ""
    names = (f"Upsample{'Nearest' + sfx}{nd}DBackward0",
             f"Upsample{'Nearest' + sfx}{nd}DBackwardBackward0")
    hi = (np.zeros(1, np.int64) if nd == 1
          else _src_index(x._shape[2], osz[0], scales[0], exact, x._dtype))
    wi = _src_index(x._shape[-1], osz[-1], scales[-1], exact, x._dtype)

    def fwd(x, o):
        _be(x).upsample_nearest2d(x, o, hi, wi)

    def bwd(g, gx):
        _be(g).upsample_nearest2d_backward(g, gx, hi, wi)

    if nd == 1:  # record on the 3-D tensors themselves (node name says 1D)
        return _apply_linear(x, x._shape[:2] + osz, _as3(fwd), _as3(bwd), names)
    return _apply_linear(x, x._shape[:2] + osz, fwd, bwd, names)


def _line4(t: Tensor) -> Tensor:
    """A (N, C, 1, L) view of 3-D (N, C, L) data (no autograd): its planes are (1, L)."""
    sh, st = t._shape, t._stride
    return make(t._storage, (sh[0], sh[1], 1, sh[2]), (st[0], st[1], st[2], st[2]),
                t._offset, t._dtype, t._contig)


def _as3(f):
    """A plane map for 3-D (N, C, L) data: it runs on (N, C, 1, L) views."""
    def g(a, b):
        f(_line4(a), _line4(b))
    return g


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners=None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)
