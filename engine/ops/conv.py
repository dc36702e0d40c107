"""Convolutions (conv1d/2d, conv_transpose1d/2d): argument checks and the autograd layer.

The numerics (im2col + per-sample GEMMs) are the device backend's ``conv_forward``,
``conv_dgrad``, ``conv_wgrad`` (CPU: ``_conv_np.py``; CUDA: ``engine/cuda/_conv_backend.py``,
all on the device). Three recorded primitives
carry autograd, each backward written with the others, so gradients of any order work:
``_conv`` and ``_conv_t`` (node ConvolutionBackward0) and ``_conv_wgrad``
(ConvolutionBackwardBackward0). A backward without ``create_graph`` takes a fused NumPy path
(the same backend calls)
that reuses the forward's im2col columns. 1-D convolutions run as 2-D ones with H = 1."""

from __future__ import annotations

from .. import _dtype as D
from .._tensor import Tensor
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.graph import record
from ._common import backend, check_same_device, empty_tensor, needs_grad, shape_str
from ._conv_np import KEEP_COLS_MAX, Geo, is_pointwise
from .pool import half_via_float

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "fold", "unfold"]


def _be(t: Tensor):
    """The device backend of ``t`` (conv entry points: conv_forward, conv_dgrad, ...)."""
    return backend(t._storage.device)


def _hw(t: Tensor) -> tuple:
    return (1, t._shape[2]) if t.ndim == 3 else t._shape[2:]


def _new(shape, like: Tensor) -> Tensor:
    return empty_tensor(tuple(shape), like._dtype, like._storage.device)


# --------------------------------------------------------------- differentiable primitives
def _conv(x: Tensor, w: Tensor, b, geo: Geo, G: int, out_hw) -> Tensor:
    """y[N, O, *out] = conv(x, w) + b; x is (N, C, L) or (N, C, H, W)."""
    OH, OW = out_hw
    N, O = x._shape[0], w._shape[0]
    out = _new((N, O, OW) if x.ndim == 3 else (N, O, OH, OW), x)
    grad = needs_grad(x, w, b)
    keep = None
    if grad and needs_grad(w) and not is_pointwise(geo, *_hw(x), OH, OW):
        nbytes = N * x._shape[1] * geo.kh * geo.kw * OH * OW * x._dtype.itemsize
        if nbytes <= KEEP_COLS_MAX:  # keep the columns for the weight gradient
            keep = _new((N, x._shape[1] * geo.kh * geo.kw, OH * OW), x)
    if out.numel():
        _be(x).conv_forward(x, w, b, geo, G, out, keep)
    if grad:
        record("ConvolutionBackward0", (x, w, b), (out,), _conv_backward,
               ((x, False), (w, False)), ctx=(geo, G, False, keep))
    return out


def _conv_t(x: Tensor, w: Tensor, b, geo: Geo, G: int, out_hw) -> Tensor:
    """Transposed conv: x (N, Cin, *S), w (Cin, Cout/G, *k) -> (N, Cout, *out_hw), the
    adjoint of ``_conv`` with the same geometry (a conv of the output gives S back)."""
    N = x._shape[0]
    Cout = w._shape[1] * G
    out = _new((N, Cout, out_hw[1]) if x.ndim == 3 else (N, Cout) + tuple(out_hw), x)
    if out.numel():
        _be(x).conv_dgrad(x, w, geo, G, out, b)
    if needs_grad(x, w, b):
        record("ConvolutionBackward0", (x, w, b), (out,), _conv_backward,
               ((x, False), (w, False)), ctx=(geo, G, True, None))
    return out


def _conv_wgrad(x: Tensor, g: Tensor, geo: Geo, G: int, w_shape) -> Tensor:
    """The weight gradient of ``_conv(x, w)`` for grad_out ``g`` (differentiable in both)."""
    gw = _new(w_shape, x)
    _be(x).conv_wgrad(g, x, geo, G, gw)
    if needs_grad(x, g):
        def bw(node, ggw):
            xs, gs = node.saved_tensor(0), node.saved_tensor(1)
            ex, eg = (e[0] is not None for e in node.next_functions)
            return (_conv_t(gs, ggw, None, geo, G, _hw(xs)) if ex else None,
                    _conv(xs, ggw, None, geo, G, _hw(gs)) if eg else None)
        record("ConvolutionBackwardBackward0", (x, g), (gw,), bw, ((x, False), (g, False)))
    return gw


def _bias_grad(g: Tensor):
    return g.sum(dim=(0, 2) if g.ndim == 3 else (0, 2, 3))


def _conv_backward(node, g):
    x, w = node.saved_tensor(0), node.saved_tensor(1)
    geo, G, transposed, keep = node.ctx
    ex, ew, eb = (e[0] is not None for e in node.next_functions)
    if transposed:  # y = conv_t(x, w): x's grad is a conv of g, w's is wgrad(input=g, out=x)
        return (_conv(g, w, None, geo, G, _hw(x)) if ex else None,
                _conv_wgrad(g, x, geo, G, w._shape) if ew else None,
                _bias_grad(g) if eb else None)
    if is_grad_enabled():  # create_graph: compose the recorded primitives
        return (_conv_t(g, w, None, geo, G, _hw(x)) if ex else None,
                _conv_wgrad(x, g, geo, G, w._shape) if ew else None,
                _bias_grad(g) if eb else None)
    return _conv_backward_fused(x, w, g, geo, G, ex, ew, eb, keep)


def _conv_backward_fused(x, w, g, geo, G, ex, ew, eb, keep=None):
    """All requested conv grads straight from the backend (backward without create_graph);
    ``keep``: the forward's columns, when it kept them."""
    be = _be(x)
    gx = gw = gb = None
    if ew:
        gw = _new(w._shape, w)
        be.conv_wgrad(g, x, geo, G, gw, keep)
    if ex:
        gx = _new(x._shape, x)
        be.conv_dgrad(g, w, geo, G, gx)
    if eb:
        gb = _new((w._shape[0],), w)
        be.channel_sums(g, gb)
    return gx, gw, gb


# ------------------------------------------------------------------------- argument checks
def _tuple(v, n: int, name: str, op: str) -> tuple:
    if isinstance(v, (list, tuple)):
        t = tuple(int(e) for e in v)
        if len(t) == 1 and n > 1:
            t = t * n
        if len(t) != n:
            raise RuntimeError(f"{op}: expected {name} to be a single integer value or a list "
                               f"of {n} values to match the convolution dimensions, but got "
                               f"{name}={list(t)}")
        return t
    return (int(v),) * n


def _check_tensors(op: str, x, w, b, nd: int) -> None:
    for nm, t in (("input", x), ("weight", w)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{nm}' must be Tensor, not {type(t).__name__}")
    if b is not None and not isinstance(b, Tensor):
        raise TypeError(f"{op}(): argument 'bias' must be Tensor, not {type(b).__name__}")
    check_same_device(op, x, w, b)
    if x._dtype is not w._dtype:
        raise RuntimeError(f"expected scalar type {_tname(w)} but found {_tname(x)} "
                           f"({op}: input and weight dtypes must match; use .to(dtype))")
    if b is not None and b._dtype is not x._dtype:
        raise RuntimeError(f"Input type ({_tname(x).lower()}) and bias type "
                           f"({_tname(b).lower()}) should be the same")
    if not x._dtype.is_floating_point:
        raise RuntimeError(f"\"{op}\" not implemented for '{_tname(x)}'")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{op}, but got input of size: {shape_str(x._shape)}")
    if w.ndim != nd + 2:
        raise RuntimeError(f"{op}: expected weight to be {nd + 2}-D (out_channels, "
                           f"in_channels/groups, *kernel), but got weight of size "
                           f"{shape_str(w._shape)}")


def _tname(t: Tensor) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
            "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(t._dtype.name, t._dtype.name)


def _check_geometry(stride, padding, dilation) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")


def _check_groups(xb, w, b, groups, prefix=""):
    """Channel/group/bias agreement of a convolution (PyTorch's messages, after ``prefix``)."""
    O, Cg = w._shape[:2]
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if O % groups:
        raise RuntimeError(f"{prefix}Given groups={groups}, expected weight to be divisible by "
                           f"{groups} at dimension 0, but got weight of shape "
                           f"{shape_str(w._shape)} instead")
    if xb._shape[1] != Cg * groups:
        raise RuntimeError(f"{prefix}Given groups={groups}, weight of size "
                           f"{shape_str(w._shape)}, expected input{shape_str(xb._shape)} to "
                           f"have {Cg * groups} channels, but got {xb._shape[1]} channels "
                           "instead")
    if b is not None and (b.ndim != 1 or b._shape[0] != O):
        raise RuntimeError(f"{prefix}Given weight of size {shape_str(w._shape)}, expected bias "
                           f"to be 1-dimensional with {O} elements, but got bias of size "
                           f"{shape_str(b._shape)} instead")


def _padding(padding, k, dilation, stride, nd, op):
    """(leading pads, total pads) per spatial dim; strings 'same' / 'valid' as PyTorch."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * nd, (0,) * nd
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        tot = tuple(d * (kk - 1) for d, kk in zip(dilation, k))
        return tuple(t // 2 for t in tot), tot
    p = _tuple(padding, nd, "padding", op)
    return p, tuple(2 * e for e in p)


def _geo(nd, k, stride, lead, dilation) -> Geo:
    if nd == 1:
        return Geo(1, k[0], 1, stride[0], 0, lead[0], 1, dilation[0])
    return Geo(k[0], k[1], stride[0], stride[1], lead[0], lead[1], dilation[0], dilation[1])


def _batched(x: Tensor, nd: int):
    return (x, False) if x.ndim == nd + 2 else (x.unsqueeze(0), True)


def _cast_half(x, w, b):
    f = D.float32
    return x.to(f), w.to(f), None if b is None else b.to(f)


# ------------------------------------------------------------------------------ public API
def _convnd(nd, op, x, w, b, stride, padding, dilation, groups) -> Tensor:
    _check_tensors(op, x, w, b, nd)
    if x._dtype is D.float16:
        return _convnd(nd, op, *_cast_half(x, w, b), stride, padding, dilation,
                       groups).to(D.float16)
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    k = tuple(w._shape[2:])
    lead, tot = _padding(padding, k, dilation, stride, nd, op)
    _check_geometry(stride, lead, dilation)
    xb, unb = _batched(x, nd)
    groups = int(groups)
    _check_groups(xb, w, b, groups)
    S = xb._shape[2:]
    padded = tuple(s + t for s, t in zip(S, tot))
    eff = tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, k))
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
                           f"Kernel size: ({' x '.join(map(str, eff))}). Kernel size can't "
                           "be greater than actual input size")
    out_s = tuple((p - e) // s + 1 for p, e, s in zip(padded, eff, stride))
    out_hw = (1, out_s[0]) if nd == 1 else out_s
    y = _conv(xb, w, b, _geo(nd, k, stride, lead, dilation), groups, out_hw)
    return y.squeeze(0) if unb else y


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation) over (N, C, H, W) or (C, H, W) input.

    >>> import engine as torch
    >>> torch.nn.functional.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2)).tolist()
    [[[[4.0, 4.0], [4.0, 4.0]]]]
    """
    return _convnd(2, "conv2d", input, weight, bias, stride, padding, dilation, groups)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution over (N, C, L) or (C, L) input."""
    return _convnd(1, "conv1d", input, weight, bias, stride, padding, dilation, groups)


def _conv_transposend(nd, op, x, w, b, stride, padding, output_padding, groups, dilation):
    _check_tensors(op, x, w, b, nd)
    if x._dtype is D.float16:
        return _conv_transposend(nd, op, *_cast_half(x, w, b), stride, padding,
                                 output_padding, groups, dilation).to(D.float16)
    stride = _tuple(stride, nd, "stride", op)
    dilation = _tuple(dilation, nd, "dilation", op)
    padding = _tuple(padding, nd, "padding", op)
    opad = _tuple(output_padding, nd, "output_padding", op)
    _check_geometry(stride, padding, dilation)
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(o >= s and o >= d for o, s, d in zip(opad, stride, dilation)) or min(opad) < 0:
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           f"but got output_padding={list(opad)}, stride={list(stride)}, "
                           f"dilation={list(dilation)}")
    xb, unb = _batched(x, nd)
    Cin = w._shape[0]
    Cout = w._shape[1] * groups
    if xb._shape[1] != Cin or Cin % groups:
        raise RuntimeError(f"Given transposed=1, weight of size {shape_str(w._shape)}, "
                           f"expected input{shape_str(xb._shape)} to have {Cin} channels, "
                           f"but got {xb._shape[1]} channels instead")
    if b is not None and (b.ndim != 1 or b._shape[0] != Cout):
        raise RuntimeError(f"Given transposed=1, weight of size {shape_str(w._shape)}, "
                           f"expected bias to be 1-dimensional with {Cout} elements, but got "
                           f"bias of size {shape_str(b._shape)} instead")
    k = tuple(w._shape[2:])
    out_s = tuple((s - 1) * st - 2 * p + d * (kk - 1) + o + 1 for s, st, p, d, kk, o in
                  zip(xb._shape[2:], stride, padding, dilation, k, opad))
    if any(o <= 0 for o in out_s):
        raise RuntimeError(f"{op}: calculated output size {list(out_s)} is too small "
                           f"(input {shape_str(xb._shape)}, weight {shape_str(w._shape)})")
    out_hw = (1, out_s[0]) if nd == 1 else out_s
    y = _conv_t(xb, w, b, _geo(nd, k, stride, padding, dilation), groups, out_hw)
    return y.squeeze(0) if unb else y


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution; weight is (in_channels, out_channels/groups, kh, kw).

    >>> import engine as torch
    >>> torch.nn.functional.conv_transpose2d(torch.ones(1, 1, 1, 1), torch.ones(1, 1, 2, 2)).shape
    torch.Size([1, 1, 2, 2])
    """
    return _conv_transposend(2, "conv_transpose2d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution; weight is (in_channels, out_channels/groups, k)."""
    return _conv_transposend(1, "conv_transpose1d", input, weight, bias, stride, padding,
                             output_padding, groups, dilation)


# ------------------------------------------------------------------------ unfold / fold
def _im2col_t(x: Tensor, geo: Geo, OH: int, OW: int) -> Tensor:
    N, C = x._shape[:2]
    out = _new((N, C * geo.kh * geo.kw, OH * OW), x)
    if out.numel():
        _be(x).im2col(x, out, geo, OH, OW)
    if needs_grad(x):
        shape = x._shape
        record("Im2ColBackward0", (x,), (out,),
               lambda n, g: (_col2im_t(g, geo, OH, OW, shape),))
    return out


def _col2im_t(c: Tensor, geo: Geo, OH: int, OW: int, shape) -> Tensor:
    out = _new(shape, c)
    if out.numel():
        _be(c).col2im(c, out, geo, OH, OW)
    if needs_grad(c):
        record("Col2ImBackward0", (c,), (out,), lambda n, g: (_im2col_t(g, geo, OH, OW),))
    return out


def _fold_geometry(op, kernel_size, dilation, padding, stride, hw):
    k, d, p, s = (_tuple(v, 2, n, op) for v, n in ((kernel_size, "kernel_size"),
                  (dilation, "dilation"), (padding, "padding"), (stride, "stride")))
    if min(k) <= 0 or min(s) <= 0 or min(d) <= 0 or min(p) < 0:
        raise RuntimeError(f"{op}: kernel_size, stride and dilation must be positive and "
                           f"padding non-negative, got kernel_size={list(k)}, stride="
                           f"{list(s)}, dilation={list(d)}, padding={list(p)}")
    o = tuple((hw[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))
    return Geo(k[0], k[1], s[0], s[1], p[0], p[1], d[0], d[1]), o


@half_via_float
def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sliding local blocks (N, C, H, W) -> (N, C*kh*kw, L), PyTorch's F.unfold (im2col).

    >>> import engine as torch
    >>> torch.nn.functional.unfold(torch.arange(9.).reshape(1, 1, 3, 3), 2).shape
    torch.Size([1, 4, 4])
    """
    x = input
    if not isinstance(x, Tensor) or x.ndim not in (3, 4):
        raise RuntimeError("unfold: Expected 3D or 4D (batch mode) tensor for input, got "
                           f"{getattr(x, 'shape', type(x).__name__)}")
    xb, unb = _batched(x, 2)
    geo, (oh, ow) = _fold_geometry("unfold", kernel_size, dilation, padding, stride,
                                   xb._shape[2:])
    if oh < 1 or ow < 1:
        raise RuntimeError(f"unfold: calculated shape of the array of sliding blocks as "
                           f"({oh}, {ow}), which is too small (non-positive) for input "
                           f"{shape_str(x._shape)}")
    y = _im2col_t(xb, geo, oh, ow)
    return y.squeeze(0) if unb else y


@half_via_float
def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sums sliding blocks back: (N, C*kh*kw, L) -> (N, C, *output_size), F.fold (col2im)."""
    x = input
    if not isinstance(x, Tensor) or x.ndim not in (2, 3):
        raise RuntimeError("fold: Expected 2D or 3D (batch mode) tensor for input, got "
                           f"{getattr(x, 'shape', type(x).__name__)}")
    xb, unb = (x, False) if x.ndim == 3 else (x.unsqueeze(0), True)
    hw = _tuple(output_size, 2, "output_size", "fold")
    geo, (oh, ow) = _fold_geometry("fold", kernel_size, dilation, padding, stride, hw)
    kk = geo.kh * geo.kw
    if xb._shape[1] % kk or xb._shape[2] != oh * ow:
        raise RuntimeError(f"fold: expected input of size (N, C*{kk}, {oh * ow}) for "
                           f"output_size={list(hw)} and kernel_size={[geo.kh, geo.kw]}, but "
                           f"got input of size {shape_str(x._shape)}")
    y = _col2im_t(xb, geo, oh, ow, (xb._shape[0], xb._shape[1] // kk) + hw)
    return y.squeeze(0) if unb else y
