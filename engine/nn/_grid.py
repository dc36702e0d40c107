"""``affine_grid`` and ``grid_sample`` (2-D and 3-D; bilinear/nearest, and bicubic in 2-D;
zeros, border and reflection padding; align_corners), composed of engine ops.

grid_sample unnormalises each grid coordinate, applies the padding rule to it (clip, or
reflect then clip, as PyTorch's ``compute_coordinates``), and sums the 2**nd corner values
(``gather`` from the flattened input) times their weights; corners outside the input count
as 0. Gradients reach the input through ``gather`` and the grid through the weights (and
the clip/reflection maps), as PyTorch's kernels compute them.

>>> import engine as torch
>>> import engine.nn.functional as F
>>> theta = torch.tensor([[[1., 0., 0.], [0., 1., 0.]]])
>>> x = torch.arange(4.).reshape(1, 1, 2, 2)
>>> F.grid_sample(x, F.affine_grid(theta, (1, 1, 2, 2), align_corners=False),
...               align_corners=False).flatten().tolist()
[0.0, 1.0, 2.0, 3.0]
"""

from __future__ import annotations

import warnings

from .._tensor import Tensor
from ..ops.elementwise import where

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARN = ("Default grid_sample and affine_grid behavior has changed to align_corners=False "
               "since 1.3.0. Please specify align_corners=True if the old behavior is desired. "
               "See the documentation of grid_sample for details.")


def _base(n: int, align: bool, like: Tensor) -> Tensor:
    from ..ops.creation import linspace
    if n <= 1:
        return like.new_zeros((max(n, 0),))
    r = linspace(-1.0, 1.0, n, dtype=like.dtype, device=like.device)
    return r if align else r * ((n - 1) / n)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """Sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of ``theta`` (N, 2, 3) (or (N, 3, 4))
    applied to the normalised output coordinates, for ``grid_sample``."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARN, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = [int(s) for s in size]
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    nd = len(spatial)
    N = size[0]
    axes = [_base(n, align_corners, theta) for n in spatial]      # (D,) H, W
    shp = tuple(spatial)
    cols = []
    for i in range(nd):  # x (W), y (H), z (D): the last spatial dim first
        d = nd - 1 - i
        view = [1] * nd
        view[d] = spatial[d]
        cols.append(axes[d].reshape(view).expand(shp))
    cols.append(theta.new_ones(shp))
    from ..ops.shape import stack
    base = stack(cols, -1).reshape(1, -1, nd + 1)                  # (1, P, nd+1)
    grid = base.matmul(theta.transpose(1, 2))                      # (N, P, nd)
    return grid.reshape((N,) + shp + (nd,))


def _reflect(c: Tensor, twice_low: int, twice_high: int) -> Tensor:
    if twice_low == twice_high:
        return c * 0.0
    lo = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = (c - lo).abs()
    extra = c.fmod(span)
    flips = (c.detach() / span).floor()
    even = flips.fmod(2.0) == 0
    return where(even, extra + lo, span - extra + lo)


def _source(g: Tensor, n: int, padding_mode: str, align: bool) -> Tensor:
    """PyTorch's grid_sampler_compute_source_index for one coordinate."""
    c = (g + 1) / 2 * (n - 1) if align else ((g + 1) * n - 1) / 2
    if padding_mode == "border":
        c = c.clamp(0, n - 1)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align else _reflect(c, -1, 2 * n - 1)
        c = c.clamp(0, n - 1)
    return c


def _check(input, grid, mode, padding_mode):
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if mode == "bicubic" and isinstance(input, Tensor) and input.ndim == 5:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    for nm, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(f"grid_sample(): argument '{nm}' must be Tensor, not "
                            f"{type(t).__name__}")
    if input.device != grid.device:
        raise RuntimeError(f"grid_sampler(): expected input and grid to be on same device, "
                           f"but input is on {input.device} and grid is on {grid.device}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected input and grid to have same dtype, but "
                           f"input has {input.dtype} and grid has {grid.dtype}")
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {list(input.shape)} and "
                           f"grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    nd = input.ndim - 2
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last dimension, "
                           f"but got grid with sizes {list(grid.shape)}")
    for i in range(2, input.ndim):
        if input.shape[i] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i} being empty")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` (N, C, H, W) / (N, C, D, H, W) at ``grid`` (N, Ho, Wo, 2) /
    (N, Do, Ho, Wo, 3) normalised coordinates in [-1, 1] (x indexes W, y H, z D)."""
    _check(input, grid, mode, padding_mode)
    if align_corners is None:
        warnings.warn(_ALIGN_WARN, stacklevel=2)
        align_corners = False
    if mode == "bicubic":
        return _bicubic(input, grid, padding_mode, align_corners)
    nd = input.ndim - 2
    N, C = input.shape[:2]
    S = tuple(input.shape[2:])                      # (D,) H, W
    out_sp = tuple(grid.shape[1:-1])
    P = 1
    for s in out_sp:
        P *= s
    g = grid.reshape(N, P, nd)
    # coords[d] for spatial dim d (0 = D or H, last = W); grid's last axis is reversed
    coords = [_source(g[..., nd - 1 - d], S[d], padding_mode, align_corners)
              for d in range(nd)]
    flat_in = input.reshape(N, C, -1)
    strides = [1] * nd
    for d in range(nd - 2, -1, -1):
        strides[d] = strides[d + 1] * S[d + 1]
    if mode == "nearest":
        corners = [[(c.detach().round(), None) for c in coords]]
    else:
        lows = [c.detach().floor() for c in coords]
        fr = [c - lo for c, lo in zip(coords, lows)]
        corners = []
        for bits in range(1 << nd):
            corner = []
            for d in range(nd):
                up = (bits >> (nd - 1 - d)) & 1
                corner.append((lows[d] + up, fr[d] if up else 1 - fr[d]))
            corners.append(corner)
    out = None
    for corner in corners:
        valid, flat, wgt = None, None, None
        for d, (idx, w) in enumerate(corner):
            ok = (idx >= 0) & (idx <= S[d] - 1)
            valid = ok if valid is None else valid & ok
            ii = idx.clamp(0, S[d] - 1).long() * strides[d]
            flat = ii if flat is None else flat + ii
            if w is not None:
                wgt = w if wgt is None else wgt * w
        vals = flat_in.gather(2, flat.unsqueeze(1).expand(N, C, P))
        term = valid.to(input.dtype) if wgt is None else where(valid, wgt, 0.0)
        term = vals * term.unsqueeze(1)
        out = term if out is None else out + term
    if mode == "nearest" and grid.requires_grad:  # PyTorch gives the grid a zero gradient
        out = out + grid.sum() * 0
    return out.reshape((N, C) + out_sp)


def _cubic_weights(t: Tensor, A: float = -0.75):
    """PyTorch's cubic convolution coefficients for taps -1, 0, 1, 2 at fraction t."""
    def c1(x):
        return ((A + 2) * x - (A + 3)) * x * x + 1

    def c2(x):
        return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A
    return [c2(t + 1.0), c1(t), c1(1.0 - t), c2(2.0 - t)]


def _bicubic(input: Tensor, grid: Tensor, padding_mode: str, align: bool) -> Tensor:
    """4x4 cubic convolution (A = -0.75) around each unnormalised point; every tap index goes
    through the padding rule (PyTorch's get_value_bounded)."""
    N, C, H, W = input.shape
    out_sp = tuple(grid.shape[1:-1])
    P = out_sp[0] * out_sp[1]
    g = grid.reshape(N, P, 2)
    ix = (g[..., 0] + 1) / 2 * (W - 1) if align else ((g[..., 0] + 1) * W - 1) / 2
    iy = (g[..., 1] + 1) / 2 * (H - 1) if align else ((g[..., 1] + 1) * H - 1) / 2
    x0, y0 = ix.detach().floor(), iy.detach().floor()
    wx, wy = _cubic_weights(ix - x0), _cubic_weights(iy - y0)
    flat_in = input.reshape(N, C, H * W)

    def tap(c: Tensor, n: int):
        c = _source_index(c, n, padding_mode, align)
        ok = (c >= 0) & (c <= n - 1)
        return c.clamp(0, n - 1).long(), ok

    out = None
    for i in range(4):
        yi, oky = tap(y0 + (i - 1), H)
        for j in range(4):
            xj, okx = tap(x0 + (j - 1), W)
            vals = flat_in.gather(2, (yi * W + xj).unsqueeze(1).expand(N, C, P))
            term = vals * where(oky & okx, wy[i] * wx[j], 0.0).unsqueeze(1)
            out = term if out is None else out + term
    return out.reshape((N, C) + out_sp)


def _source_index(c: Tensor, n: int, padding_mode: str, align: bool) -> Tensor:
    """compute_coordinates on an integer tap position (a float tensor), then truncation."""
    if padding_mode == "border":
        c = c.clamp(0, n - 1)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align else _reflect(c, -1, 2 * n - 1)
        c = c.clamp(0, n - 1)
    return c.trunc() if padding_mode != "zeros" else c
