"""3-D convolutions (conv3d, conv_transpose3d) as compositions of the 2-D ones.

conv3d folds the depth taps into channels: the depth windows of the (zero-padded) input are
a strided view (``unfold``), laid out as (N*OD, C*kd, H, W) with each group's channels kept
together, and one ``conv2d`` with the weight viewed as (O, C/g*kd, kh, kw) computes every
output depth slice at once. conv_transpose3d runs one ``conv_transpose2d`` per input depth
slice (all slices as one batch, the kd depth taps as extra output channels) and scatters the
taps to their output depths with ``index_add``. Both are engine ops end to end, so autograd
(any order) and the CUDA device come from the 2-D convolutions' own rules.

>>> import engine as torch
>>> import engine.nn.functional as F
>>> F.conv3d(torch.ones(1, 1, 3, 3, 3), torch.ones(1, 1, 2, 2, 2)).shape
torch.Size([1, 1, 2, 2, 2])
"""

from __future__ import annotations

from .._tensor import Tensor
from ._common import shape_str
from .conv import (
    _check_geometry,
    _check_groups,
    _check_tensors,
    _padding,
    _tuple,
    conv2d,
    conv_transpose2d,
)

__all__ = ["conv3d", "conv_transpose3d"]


def _pad_depth(x: Tensor, left: int, right: int) -> Tensor:
    if not left and not right:
        return x
    from ..nn._shape_fns import pad
    return pad(x, (0, 0, 0, 0, left, right))


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D convolution (cross-correlation) over (N, C, D, H, W) or (C, D, H, W) input;
    weight is (out_channels, in_channels/groups, kd, kh, kw).

    >>> import engine as torch
    >>> torch.nn.functional.conv3d(torch.ones(1, 2, 2, 2, 2), torch.ones(3, 2, 2, 2, 2)).flatten().tolist()
    [16.0, 16.0, 16.0]
    """
    op = "conv3d"
    x, w, b = input, weight, bias
    _check_tensors(op, x, w, b, 3)
    stride = _tuple(stride, 3, "stride", op)
    dilation = _tuple(dilation, 3, "dilation", op)
    k = tuple(w._shape[2:])
    lead, tot = _padding(padding, k, dilation, stride, 3, op)
    _check_geometry(stride, lead, dilation)
    unb = x.ndim == 4
    xb = x.unsqueeze(0) if unb else x
    groups = int(groups)
    O, Cg = w._shape[:2]
    _check_groups(xb, w, b, groups, f"{op}: ")
    padded = tuple(s + t for s, t in zip(xb._shape[2:], tot))
    eff = tuple(d * (kk - 1) + 1 for d, kk in zip(dilation, k))
    if any(p < e for p, e in zip(padded, eff)):
        raise RuntimeError(f"{op}: Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater "
                           "than actual input size")
    N, C, _, H, W = xb._shape
    kd, sd, dd = k[0], stride[0], dilation[0]
    xp = _pad_depth(xb, lead[0], tot[0] - lead[0])
    OD = (padded[0] - eff[0]) // sd + 1
    # (N, C, OD, H, W, span) -> taps every dd -> (N, OD, C, kd, H, W) -> (N*OD, C*kd, H, W)
    win = xp.unfold(2, eff[0], sd)
    if dd > 1:
        win = win[..., ::dd]
    cols = win.permute(0, 2, 1, 5, 3, 4).reshape(N * OD, C * kd, H, W)
    if isinstance(padding, str):
        pad2 = padding
    else:
        pad2 = lead[1:]
    y = conv2d(cols, w.reshape(O, Cg * kd, k[1], k[2]), b, stride[1:], pad2, dilation[1:],
               groups)
    y = y.reshape(N, OD, O, y._shape[2], y._shape[3]).permute(0, 2, 1, 3, 4).contiguous()
    return y.squeeze(0) if unb else y


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution over (N, C_in, D, H, W) or (C_in, D, H, W) input; weight
    is (in_channels, out_channels/groups, kd, kh, kw).

    >>> import engine as torch
    >>> torch.nn.functional.conv_transpose3d(torch.ones(1, 1, 2, 2, 2), torch.ones(1, 1, 2, 2, 2), stride=2).shape
    torch.Size([1, 1, 4, 4, 4])
    """
    op = "conv_transpose3d"
    x, w, b = input, weight, bias
    _check_tensors(op, x, w, b, 3)
    stride = _tuple(stride, 3, "stride", op)
    dilation = _tuple(dilation, 3, "dilation", op)
    padding = _tuple(padding, 3, "padding", op)
    opad = _tuple(output_padding, 3, "output_padding", op)
    _check_geometry(stride, padding, dilation)
    groups = int(groups)
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if any(o >= s and o >= d for o, s, d in zip(opad, stride, dilation)) or min(opad) < 0:
        raise RuntimeError("output padding must be smaller than either stride or dilation, "
                           f"but got output_padding={list(opad)}, stride={list(stride)}, "
                           f"dilation={list(dilation)}")
    unb = x.ndim == 4
    xb = x.unsqueeze(0) if unb else x
    Cin, Cog = w._shape[:2]
    Cout = Cog * groups
    if xb._shape[1] != Cin or Cin % groups:
        raise RuntimeError(f"{op}: Given transposed=1, weight of size {shape_str(w._shape)}, "
                           f"expected input{shape_str(xb._shape)} to have {Cin} channels, "
                           f"but got {xb._shape[1]} channels instead")
    if b is not None and (b.ndim != 1 or b._shape[0] != Cout):
        raise RuntimeError(f"{op}: Given transposed=1, weight of size {shape_str(w._shape)}, "
                           f"expected bias to be 1-dimensional with {Cout} elements, but got "
                           f"bias of size {shape_str(b._shape)} instead")
    k = tuple(w._shape[2:])
    out_s = tuple((s - 1) * st - 2 * p + d * (kk - 1) + o + 1 for s, st, p, d, kk, o in
                  zip(xb._shape[2:], stride, padding, dilation, k, opad))
    if any(o <= 0 for o in out_s):
        raise RuntimeError(f"{op}: calculated output size {list(out_s)} is too small "
                           f"(input {shape_str(xb._shape)}, weight {shape_str(w._shape)})")
    N, _, D, H, W = xb._shape
    kd, sd, dd, pd = k[0], stride[0], dilation[0], padding[0]
    # every input depth slice through a 2-D transposed conv, the kd taps as channels (c, j)
    x2 = xb.permute(0, 2, 1, 3, 4).reshape(N * D, Cin, H, W)
    y = conv_transpose2d(x2, w.reshape(Cin, Cog * kd, k[1], k[2]), None, stride[1:],
                         padding[1:], opad[1:], groups, dilation[1:])
    OH, OW = y._shape[2:]
    y = y.reshape(N, D, Cout, kd, OH, OW).permute(0, 1, 3, 2, 4, 5).reshape(
        N, D * kd, Cout, OH, OW)
    full = (D - 1) * sd + dd * (kd - 1) + 1
    import numpy as np

    from .creation import tensor
    pos = (np.arange(D)[:, None] * sd + np.arange(kd)[None, :] * dd).reshape(-1)
    idx = tensor(pos.astype(np.int64), device=x.device)
    out = y.new_zeros((N, full, Cout, OH, OW)).index_add(1, idx, y)
    OD = out_s[0]
    out = out.narrow(1, pd, min(OD, full - pd))
    if out._shape[1] < OD:  # output_padding past the last tap: zeros
        from ..nn._shape_fns import pad
        out = pad(out, (0, 0, 0, 0, 0, 0, 0, OD - out._shape[1]))
    out = out.permute(0, 2, 1, 3, 4)
    if b is not None:
        out = out + b.reshape(1, Cout, 1, 1, 1)
    out = out.contiguous()
    return out.squeeze(0) if unb else out
