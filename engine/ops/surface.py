"""The rest of torch's top-level API surface: the inverse hyperbolics, gcd/lcm, ldexp/frexp,
nextafter, igamma/igammac, the *_scatter copies, index_reduce, renorm, histogram(dd),
gradient, cumulative_trapezoid, combinations, unravel_index, binomial/poisson sampling,
svd/pca_lowrank, torch's aten aliases of nn.functional (torch.conv2d, torch.dropout(input, p,
train), torch.batch_norm(...) with aten's argument order), the in-place top-level forms
(``torch.exp_(x)`` is ``x.exp_()``) and a few global switches. Compositions of engine ops:
autograd and CUDA come with them."""

from __future__ import annotations

import builtins
import itertools
import math
import warnings
from collections import namedtuple

from .. import _dtype as D
from .._tensor import Tensor
from .elementwise import binary, cast, unary, where

_py_range = builtins.range

# ---- elementwise -------------------------------------------------------------------------


def _t(x, like=None):
    if isinstance(x, Tensor):
        return x
    from .creation import tensor
    return tensor(x, device=like.device if isinstance(like, Tensor) else None)


def asinh(input, *, out=None):
    return unary("asinh", input)


def acosh(input, *, out=None):
    return unary("acosh", input)


def atanh(input, *, out=None):
    return unary("atanh", input)


arcsinh, arccosh, arctanh = asinh, acosh, atanh


def _int_only(name, a, b):
    for v in (a, b):
        if isinstance(v, Tensor) and (v._dtype.is_floating_point):
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{v._dtype}': {name} "
                                      f"expects integer tensors; convert with .long()")
    if D.result_type(a, b) is D.bool_:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool': {name} expects "
                                  f"integer tensors; convert with .long()")


def gcd(input, other, *, out=None):
    _int_only("gcd", input, other)
    return binary("gcd", input, other)


def lcm(input, other, *, out=None):
    _int_only("lcm", input, other)
    return binary("lcm", input, other)


def _float_only(name, a, b):
    dt = D.result_type(a, b)
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{dt}': {name} expects "
                                  f"floating tensors; convert with .float()")


def igamma(input, other, *, out=None):
    _float_only("igamma", input, other)
    return binary("igamma", input, other)


def igammac(input, other, *, out=None):
    _float_only("igammac", input, other)
    return binary("igammac", input, other)


def sgn(input, *, out=None):
    return unary("sign", input)


def fix(input, *, out=None):
    return unary("trunc", input)


def ldexp(input, other, *, out=None):
    """``input * 2 ** other`` (floating result, as torch)."""
    if not isinstance(other, Tensor):
        other = _t(other, input)
    p = 2.0 ** other
    return input * p


def logaddexp2(input, other, *, out=None):
    ln2 = math.log(2.0)
    a, b = _t(input, other), _t(other, input)
    r = (a * ln2).logaddexp(b * ln2) / ln2
    return where((a == b) & a.isinf(), a, r)  # inf + inf, -inf + -inf as torch


_frexp_t = namedtuple("frexp", ["mantissa", "exponent"])


def frexp(input, *, out=None):
    """(mantissa, exponent) with ``input == mantissa * 2 ** exponent``, 0.5 <= |mantissa| < 1
    (exponent int32); the mantissa carries the gradient ``grad / 2 ** exponent``."""
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"torch.frexp() only supports floating-point dtypes (got "
                           f"{input._dtype}); convert first, e.g. x.float()")
    from ..autograd.grad_mode import no_grad
    with no_grad():
        a = input.detach().abs()
        ok = a.isfinite() & (a != 0)
        safe = where(ok, a, 1.0)
        e = unary("floor", unary("log2", safe)) + 1
        m = safe / (2.0 ** e)
        e = where(m >= 1, e + 1, where(m < 0.5, e - 1, e))
        e = where(ok, e, 0.0)
        ei = cast(e, D.int32)
    scale = 2.0 ** e
    mant = input / cast(scale, input._dtype)
    return _frexp_t(mant, ei)


def nextafter(input, other, *, out=None):
    """The next representable value after ``input`` towards ``other`` (bit arithmetic on the
    integer view of the float, so it runs on every device)."""
    dt = D.result_type(input, other)
    if not dt.is_floating_point:
        raise NotImplementedError(f"\"nextafter_cpu\" not implemented for '{dt}' (nextafter "
                                  f"expects float32 or float64 inputs; convert with .float())")
    if dt is D.float16:
        raise RuntimeError(f"nextafter: expected float32 or float64 inputs, got {dt}")
    from ..autograd.grad_mode import no_grad
    with no_grad():
        a = cast(_t(input, other).detach(), dt)
        b = cast(_t(other, input).detach(), dt)
        shape = D_broadcast(a, b)
        a, b = a.broadcast_to(shape).contiguous(), b.broadcast_to(shape).contiguous()
        it = D.int32 if dt is D.float32 else D.int64
        bits = a.view(it)
        up = (b > a) == (a > 0)
        nb = where(up, bits + 1, bits - 1).view(dt) if a.numel() else a.clone()
        # the smallest subnormal with b's sign, built from its bits (scalars may flush it)
        one = cast(b > 0, it)
        sub = where(b > 0, one, one * 0 - _SIGN[it]).view(dt)
        r = where(a == 0, sub, nb)
        r = where(a == b, b, r)
        r = where(a.isnan() | b.isnan(), float("nan"), r)
    return r


_SIGN = {D.int32: 2 ** 31 - 1, D.int64: 2 ** 63 - 1}


def D_broadcast(a, b):
    from .. import _strided as S
    return tuple(S.broadcast_shapes(a._shape, b._shape))


# ---- *_scatter: an out-of-place copy of input with src written into one view -------------
def _scatter_into(input, view_fn, src, name):
    out = input.clone()
    v = view_fn(out)
    if tuple(src.shape) != tuple(v.shape):
        raise RuntimeError(f"{name}: expected src to have a size equal to the slice of self. "
                           f"src size = {list(src.shape)}, slice size = {list(v.shape)}")
    v.copy_(src)
    return out


def select_scatter(input, src, dim, index):
    return _scatter_into(input, lambda o: o.select(dim, index), src, "select_scatter")


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    d = dim % input.ndim if input.ndim else 0
    idx = (slice(None),) * d + (slice(start, end, step),)
    return _scatter_into(input, lambda o: o[idx], src, "slice_scatter")


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    return _scatter_into(input, lambda o: o.diagonal(offset, dim1, dim2), src,
                         "diagonal_scatter")


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    return _scatter_into(input, lambda o: o.as_strided(
        size, stride, o.storage_offset() + (storage_offset or 0)), src, "as_strided_scatter")


def index_reduce(input, dim, index, source, reduce, *, include_self=True, out=None):
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    if index.ndim > 1:
        raise IndexError(f"index_reduce(): Index is supposed to be a vector, got "
                         f"{index.ndim}-D index of shape {list(index.shape)}")
    nd = max(source.ndim, 1)
    d = dim % nd
    if source.ndim == 0:
        idx = index.reshape(())
    else:
        shp = [1] * source.ndim
        shp[d] = index.numel()
        idx = index.reshape(shp).expand(source.shape)
    return input.scatter_reduce(d, idx, source, reduce, include_self=include_self)


def renorm(input, p, dim, maxnorm, *, out=None):
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to ``maxnorm``."""
    if input.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           f"dimensions")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    d = dim % input.ndim
    dims = tuple(i for i in _py_range(input.ndim) if i != d)
    from .. import linalg
    n = linalg.vector_norm(input, p, dims, keepdim=True)
    return input * where(n > maxnorm, maxnorm / (n + 1e-7), 1.0)


# ---- numerical calculus and combinatorics -------------------------------------------------
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Second-order central differences inside, one-sided (edge_order 1 or 2) at the ends;
    ``spacing`` a scalar, a list of scalars or a list of 1-D coordinate tensors."""
    if edge_order not in (1, 2):
        raise RuntimeError(f"torch.gradient only supports edge_order=1 and edge_order=2 "
                           f"(got {edge_order}).")
    if dim is None:
        dims = list(_py_range(input.ndim))
    elif isinstance(dim, int):
        dims = [dim % input.ndim]
    else:
        dims = [d % input.ndim for d in dim]
    if isinstance(spacing, (list, tuple)):
        sp = list(spacing)
        if len(sp) == 1 and len(dims) > 1 and not isinstance(sp[0], Tensor):
            sp = sp * len(dims)
        if len(sp) != len(dims):
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or "
                               f"its length to match the number of dimensions ({len(dims)}), "
                               f"got {len(sp)}")
    else:
        sp = [spacing] * len(dims)
    outs = []
    for d, h in zip(dims, sp):
        n = input.shape[d]
        if n < edge_order + 1:
            raise RuntimeError(f"torch.gradient expected each dimension size to be at least "
                               f"edge_order+1 (dimension {d} has size {n}, edge_order "
                               f"{edge_order})")
        f = lambda a, b, d=d: input.narrow(d, a, b - a)
        shp = [1] * input.ndim
        shp[d] = -1
        if isinstance(h, Tensor):
            x = h.reshape(shp) if input.ndim else h
            dx = x.narrow(d, 1, n - 1) - x.narrow(d, 0, n - 1)
            hl, hr = dx.narrow(d, 0, n - 2), dx.narrow(d, 1, n - 2)
            mid = (hl * hl * f(2, n) - hr * hr * f(0, n - 2) + (hr * hr - hl * hl) * f(1, n - 1)) \
                / (hl * hr * (hl + hr))
            if edge_order == 1:
                left = (f(1, 2) - f(0, 1)) / dx.narrow(d, 0, 1)
                right = (f(n - 1, n) - f(n - 2, n - 1)) / dx.narrow(d, n - 2, 1)
            else:
                a1, a2 = dx.narrow(d, 0, 1), dx.narrow(d, 1, 1)
                left = (-(2 * a1 + a2) / (a1 * (a1 + a2)) * f(0, 1) + (a1 + a2) / (a1 * a2)
                        * f(1, 2) - a1 / (a2 * (a1 + a2)) * f(2, 3))
                b1, b2 = dx.narrow(d, n - 3, 1), dx.narrow(d, n - 2, 1)
                right = (b2 / (b1 * (b1 + b2)) * f(n - 3, n - 2) - (b1 + b2) / (b1 * b2)
                         * f(n - 2, n - 1) + (2 * b2 + b1) / (b2 * (b1 + b2)) * f(n - 1, n))
        else:
            mid = (f(2, n) - f(0, n - 2)) / (2.0 * h) if n > 2 else None
            if edge_order == 1:
                left = (f(1, 2) - f(0, 1)) / (h * 1.0)
                right = (f(n - 1, n) - f(n - 2, n - 1)) / (h * 1.0)
            else:
                left = (-1.5 * f(0, 1) + 2 * f(1, 2) - 0.5 * f(2, 3)) / h
                right = (0.5 * f(n - 3, n - 2) - 2 * f(n - 2, n - 1) + 1.5 * f(n - 1, n)) / h
        from .shape import cat
        parts = [left] + ([mid] if mid is not None else []) + [right]
        r = cat([cast(p, D.result_type(*parts)) for p in parts], d)
        outs.append(r)
    return tuple(outs)


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    n = y.shape[dim]
    d = dim % y.ndim
    avg = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)) / 2 if n else y.narrow(d, 0, 0) * 1.0
    if x is not None:
        if x.ndim == 1:
            shp = [1] * y.ndim
            shp[d] = -1
            x = x.reshape(shp)
        m = x.shape[d]
        avg = avg * (x.narrow(d, 1, m - 1) - x.narrow(d, 0, m - 1))
    elif dx is not None:
        avg = avg * dx
    return avg.cumsum(d)


def combinations(input, r=2, with_replacement=False):
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    n = input.shape[0]
    gen = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    combos = list(gen(_py_range(n), r))
    from .creation import empty, tensor
    if r == 0:
        return empty((0,), dtype=input.dtype, device=input.device)
    if not combos:
        return empty((0, r), dtype=input.dtype, device=input.device)
    idx = tensor(combos, dtype=D.int64, device=input.device)
    return input[idx.reshape(-1)].reshape(len(combos), r)


def unravel_index(indices, shape):
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(shape)
    idx = _t(indices)
    if idx._dtype.is_floating_point or idx._dtype is D.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {idx._dtype}")
    if any(s < 0 for s in shape):
        raise ValueError("'shape' cannot have negative values, but got " + str(shape))
    idx = cast(idx, D.int64)  # out-of-range and negative indices wrap (floor mod), as torch
    coords = []
    for s in reversed(shape):
        coords.append(idx.remainder(s) if s else idx * 0)
        idx = idx.floor_divide(s) if s else idx
    return tuple(reversed(coords))


# ---- histograms ---------------------------------------------------------------------------
_hist_t = namedtuple("histogram", ["hist", "bin_edges"])
_histdd_t = namedtuple("histogramdd", ["hist", "bin_edges"])


def _edges(col, bins, rng, dt, device):
    from .creation import linspace, tensor
    if isinstance(bins, Tensor):
        return bins.to(dt)
    if isinstance(bins, (list, tuple)):
        return tensor(list(bins), dtype=dt, device=device)
    if rng is not None:
        lo, hi = float(rng[0]), float(rng[1])
    elif col.size:
        lo, hi = float(col.min()), float(col.max())
    else:
        lo, hi = 0.0, 0.0
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5  # numpy's rule
    if lo > hi:
        raise ValueError(f"histogram: max must be larger than min (got range [{lo}, {hi}])")
    return linspace(lo, hi, int(bins) + 1, dtype=dt, device=device)


def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    import numpy as np
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the "
                           f"same dtype, and be floating (got {input._dtype})")
    x = input.detach().cpu().numpy().reshape(-1)
    edges = _edges(x, bins, range, input._dtype, input.device)
    w = None if weight is None else weight.detach().cpu().numpy().reshape(-1)
    h, _ = np.histogram(x, bins=edges.cpu().numpy().astype(np.float64), weights=w,
                        density=density)
    from .creation import tensor
    return _hist_t(tensor(h, dtype=input._dtype, device=input.device), edges)


def histogramdd(input, bins=10, *, range=None, weight=None, density=False):
    import numpy as np
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"torch.histogramdd: expected a floating input, got {input._dtype}")
    x = input.detach().cpu().numpy()
    k = x.shape[-1]
    x = x.reshape(-1, k)
    if isinstance(bins, int) or (isinstance(bins, Tensor) and bins.ndim == 0):
        bins = [int(bins)] * k
    edges = []
    for j in _py_range(k):
        rg = None if range is None else (range[2 * j], range[2 * j + 1])
        edges.append(_edges(x[:, j], bins[j], rg, input._dtype, input.device))
    w = None if weight is None else weight.detach().cpu().numpy().reshape(-1)
    h, _ = np.histogramdd(x, bins=[e.cpu().numpy().astype(np.float64) for e in edges],
                          weights=w, density=density)
    from .creation import tensor
    return _histdd_t(tensor(h, dtype=input._dtype, device=input.device), edges)


# ---- sampling -----------------------------------------------------------------------------
def _np_rng(generator):
    import numpy as np

    from .creation import randint
    seed = int(randint(0, 2 ** 31 - 1, (1,), generator=generator).item())
    return np.random.default_rng(seed)


def poisson(input, generator=None):
    """Poisson samples with rates ``input`` (drawn from the engine generator's stream)."""
    import numpy as np
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"poisson: expected a floating rate tensor, got {input._dtype}")
    lam = input.detach().cpu().numpy().astype(np.float64)
    if (lam < 0).any():
        raise RuntimeError("poisson: invalid Poisson rate, expected rate to be non-negative")
    s = _np_rng(generator).poisson(lam).astype(lam.dtype)
    from .creation import tensor
    return tensor(s, dtype=input._dtype, device=input.device)


def binomial(count, prob, generator=None):
    import numpy as np
    if not count._dtype.is_floating_point:
        raise RuntimeError(f"binomial: expected floating count and prob, got {count._dtype}")
    n = count.detach().cpu().numpy()
    p = prob.detach().cpu().numpy()
    n, p = np.broadcast_arrays(n, p)
    s = _np_rng(generator).binomial(n.astype(np.int64), p.astype(np.float64))
    from .creation import tensor
    return tensor(s, dtype=count._dtype, device=count.device)


# ---- low-rank linear algebra --------------------------------------------------------------
def svd_lowrank(A, q=6, niter=2, M=None):
    """(U, S, V) of the best rank-``q`` approximation (exact truncated SVD: the randomized
    range finder of torch converges to this)."""
    from .. import linalg
    X = A if M is None else A - M
    U, S, Vh = linalg.svd(X, full_matrices=False)
    q = min(q, S.shape[-1])
    return U[..., :q], S[..., :q], Vh.transpose(-2, -1)[..., :q]


def pca_lowrank(A, q=None, center=True, niter=2):
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (0 <= q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than "
                         f"min(m, n)={min(m, n)}")
    X = A - A.mean(dim=-2, keepdim=True) if center else A
    return svd_lowrank(X, q, niter)


def lobpcg(A, k=None, B=None, X=None, n=None, iK=None, niter=None, tol=None, largest=None,
           method=None, tracker=None, ortho_iparams=None, ortho_fparams=None,
           ortho_bparams=None):
    """The ``k`` largest (or smallest) eigenpairs of the symmetric ``A`` (generalized with the
    SPD ``B``): computed exactly with ``linalg.eigh`` (the LOBPCG iteration converges to it)."""
    from .. import linalg
    m = A.shape[-1]
    if k is None:
        k = X.shape[-1] if X is not None else (n if n is not None else 1)
    if m < 3 * k:
        raise ValueError(f"LPBPCG algorithm is not applicable when the number of A rows (={m}) "
                         f"is smaller than 3 x the number of requested eigenpairs (={k})")
    largest = True if largest is None else largest
    if B is None:
        w, V = linalg.eigh(A)
    else:
        L = linalg.cholesky(B)
        Li = linalg.inv(L)
        w, V = linalg.eigh(Li @ A @ Li.transpose(-2, -1))
        V = Li.transpose(-2, -1) @ V
    if largest:
        w, V = w.flip(-1), V.flip(-1)
    return w[..., :k], V[..., :k]


def matrix_rank(input, tol=None, symmetric=False, *, out=None):
    from .. import linalg
    return linalg.matrix_rank(input, atol=tol, hermitian=symmetric) if tol is not None else \
        linalg.matrix_rank(input, hermitian=symmetric)


def nuclear_norm(input, dim=None, keepdim=False, *, out=None):
    from .. import linalg
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    return linalg.matrix_norm(input, "nuc", dim=(-2, -1) if dim is None else tuple(dim),
                              keepdim=keepdim)


def frobenius_norm(input, dim=(-2, -1), keepdim=False, *, out=None):
    from .. import linalg
    return linalg.vector_norm(input, 2, dim=tuple(dim) if not isinstance(dim, int) else dim,
                              keepdim=keepdim)


# ---- creation, misc -----------------------------------------------------------------------
def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False,
                  pin_memory=False):
    from .creation import empty
    size, stride = tuple(size), tuple(stride)
    need = 0 if any(s == 0 for s in size) else 1 + sum((s - 1) * st for s, st in
                                                        zip(size, stride))
    base = empty((need,), dtype=dtype, device=device)
    r = base.as_strided(size, stride, base.storage_offset())
    r._base = None
    if requires_grad:
        r.requires_grad_(True)
    return r


def range(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None,
          requires_grad=False):
    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("range: step must be nonzero")
    n = math.floor((end - start) / step) + 1
    if n < 0:
        raise RuntimeError(f"upper bound and larger bound inconsistent with step sign (start "
                           f"{start}, end {end}, step {step})")
    from .creation import arange
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    r = arange(n, dtype=D.float64, device=device) * step + start
    r = cast(r, dt)
    if requires_grad:
        r.requires_grad_(True)
    return r


def scalar_tensor(s, *, dtype=None, layout=None, device=None, pin_memory=False,
                  requires_grad=False):
    from .creation import tensor
    return tensor(float(s) if not isinstance(s, bool) else s,
                  dtype=dtype or D.get_default_dtype(), device=device,
                  requires_grad=requires_grad)


def frombuffer(buffer, *, dtype, count=-1, offset=0, requires_grad=False):
    import numpy as np
    dt = D.to_dtype(dtype)
    mv = memoryview(buffer)
    nbytes = mv.nbytes - offset
    if count == 0 or nbytes <= 0:
        raise ValueError(f"both buffer length ({mv.nbytes}) and count ({count}) must not be 0")
    if count < 0 and nbytes % dt.itemsize:
        raise ValueError(f"buffer length ({nbytes} bytes) after offset ({offset} bytes) must be "
                         f"a multiple of element size ({dt.itemsize})")
    arr = np.frombuffer(buffer, dtype=dt.np, count=count, offset=offset)
    if not arr.flags.writeable:
        warnings.warn("The given buffer is not writable, and PyTorch does not support "
                      "non-writable tensors.", UserWarning, stacklevel=2)
        arr = arr.copy()
    from .creation import from_numpy
    r = from_numpy(arr)
    if requires_grad:
        r.requires_grad_(True)
    return r


def fill(input, value):
    from .creation import full_like, zeros_like
    if isinstance(value, Tensor):
        return zeros_like(input) + cast(value, input._dtype)
    return full_like(input, value)


def detach(input):
    return input.detach()


def get_device(input):
    return -1 if input.is_cpu else (input.device.index or 0)


def is_inference(input):
    return input.is_inference()


def is_neg(input):
    return False


def resolve_neg(input):
    return input


def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input):
    return input._dtype not in (D.bool_, D.uint8)


def is_storage(obj):
    from .._storage import Storage
    return isinstance(obj, Storage)


def adjoint(input):
    return input.transpose(-2, -1)


def ger(input, vec2, *, out=None):
    return input.outer(vec2)


def put(input, index, source, accumulate=False):
    return input.put(index, source, accumulate)


def trapz(y, x=None, *, dx=None, dim=-1):
    import engine
    return engine.trapezoid(y, x, dx=dx, dim=dim)


def split_with_sizes(input, split_sizes, dim=0):
    if sum(split_sizes) != input.shape[dim]:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                           f"{input.shape[dim]} (input tensor's size at dimension {dim}), but "
                           f"got split_sizes={list(split_sizes)}")
    return input.split(list(split_sizes), dim)


def unsafe_split(input, split_size, dim=0):
    return input.split(split_size, dim)


def unsafe_chunk(input, chunks, dim=0):
    return input.chunk(chunks, dim)


def typename(obj):
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    if module in {"", "builtins"}:
        return qualname
    return f"{module}.{qualname}"


# ---- global switches ----------------------------------------------------------------------
_state = {"interop": None, "warn_always": False}


def is_anomaly_enabled():
    from ..autograd import graph
    return bool(graph.anomaly["enabled"])


def is_anomaly_check_nan_enabled():
    from ..autograd import graph
    return bool(graph.anomaly.get("check_nan", True))


def set_anomaly_enabled(enabled, check_nan=True):
    from ..autograd import graph
    graph.anomaly["enabled"] = bool(enabled)
    graph.anomaly["check_nan"] = bool(check_nan)


def set_default_tensor_type(t):
    warnings.warn("torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
                  UserWarning, stacklevel=2)
    if isinstance(t, str):
        names = {"FloatTensor": D.float32, "DoubleTensor": D.float64, "HalfTensor": D.float16}
        key = t.split(".")[-1]
        if key not in names:
            raise TypeError(f"invalid type: '{t}' (only floating point types can be the "
                            "default)")
        dt = names[key]
    else:
        dt = getattr(t, "_dtype", None)
        if dt is None:
            raise TypeError(f"invalid type: {t!r}")
    D.set_default_dtype(dt)


def set_flush_denormal(mode):
    return False  # numpy/numba kernels keep IEEE denormals: not supported


def set_num_interop_threads(n):
    if not isinstance(n, int) or n <= 0:
        raise RuntimeError(f"Expected positive number of threads, got {n}")
    _state["interop"] = n


def get_num_interop_threads():
    if _state["interop"] is None:
        import numba
        return numba.config.NUMBA_NUM_THREADS
    return _state["interop"]


def set_warn_always(b):
    _state["warn_always"] = bool(b)


def is_warn_always_enabled():
    return _state["warn_always"]


# ---- torch's aten aliases of nn.functional (aten argument orders) -------------------------
def _F():
    from ..nn import functional
    return functional


# aten's reduction enum; torch's Python bindings of these aten losses default to 0 ('none')
_RED = {0: "none", 1: "mean", 2: "sum"}


def _red(r):
    return _RED[r] if isinstance(r, int) else r


def _stride(s):
    return None if s is None or (isinstance(s, (list, tuple)) and len(s) == 0) else s


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _F().conv1d(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _F().conv2d(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _F().conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _F().conv_transpose1d(input, weight, bias, stride, padding, output_padding, groups,
                                 dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _F().conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups,
                                 dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _F().conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups,
                                 dilation)


def convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
                groups):
    k = weight.ndim - 2
    if k not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-D, 4-D or 5-D weight, got "
                           f"{weight.ndim}-D of shape {list(weight.shape)}")
    if transposed:
        return globals()[f"conv_transpose{k}d"](input, weight, bias, stride, padding,
                                                output_padding, groups, dilation)
    return globals()[f"conv{k}d"](input, weight, bias, stride, padding, dilation, groups)


def avg_pool1d(input, kernel_size, stride=(), padding=0, ceil_mode=False,
               count_include_pad=True):
    return _F().avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode,
                           count_include_pad)


def max_pool1d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return _F().max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode=False):
    return _F().max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode,
                           return_indices=True)


def max_pool2d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return _F().max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    return _F().max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def adaptive_avg_pool1d(input, output_size):
    return _F().adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input, output_size):
    return _F().adaptive_max_pool1d(input, output_size, return_indices=True)


def constant_pad_nd(input, pad, value=0):
    return _F().pad(input, list(pad), "constant", value)


def pixel_shuffle(input, upscale_factor):
    return _F().pixel_shuffle(input, upscale_factor)


def pixel_unshuffle(input, downscale_factor):
    return _F().pixel_unshuffle(input, downscale_factor)


def channel_shuffle(input, groups):
    return _F().channel_shuffle(input, groups)


def pdist(input, p=2):
    return _F().pdist(input, p)


def prelu(input, weight):
    return _F().prelu(input, weight)


def bilinear(input1, input2, weight, bias=None):
    return _F().bilinear(input1, input2, weight, bias)


def hardshrink(input, lambd=0.5, *, out=None):
    return _F().hardshrink(input, lambd)


def celu(input, alpha=1.0):
    return _F().celu(input, alpha)


def celu_(input, alpha=1.0):
    return _F().celu(input, alpha, inplace=True)


def selu(input):
    return _F().selu(input)


def selu_(input):
    return _F().selu(input, inplace=True)


def threshold(input, threshold, value, *, out=None):
    return _F().threshold(input, threshold, value)


def threshold_(input, threshold, value):
    return _F().threshold(input, threshold, value, inplace=True)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return _F().rrelu(input, lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    return _F().rrelu(input, lower, upper, training, inplace=True)


def dropout(input, p, train):
    return _F().dropout(input, p, train)


def dropout_(input, p, train):
    return _F().dropout(input, p, train, inplace=True)


def alpha_dropout(input, p, train):
    return _F().alpha_dropout(input, p, train)


def alpha_dropout_(input, p, train):
    return _F().alpha_dropout(input, p, train, inplace=True)


def _channel_mask(input, p, train):
    from .creation import rand
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return (rand(shape, device=input.device) >= p)


def feature_dropout(input, p, train):
    if p < 0 or p > 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not train or p == 0:
        return input
    if p == 1:
        return input * 0
    return input * cast(_channel_mask(input, p, train), input._dtype) / (1 - p)


def feature_alpha_dropout(input, p, train):
    return _F().feature_alpha_dropout(input, p, train)


def batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps,
               cudnn_enabled=True):
    return _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                           eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum,
                  eps, cudnn_enabled=True):
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                              momentum, eps)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05, cudnn_enable=True):
    return _F().layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-05, cudnn_enabled=True):
    return _F().group_norm(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return _F().rms_norm(input, normalized_shape, weight, eps)


def embedding(weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False):
    return _F().embedding(indices, weight, padding_idx if padding_idx >= 0 else None,
                          scale_grad_by_freq=scale_grad_by_freq)


def embedding_bag(weight, indices, offsets, scale_grad_by_freq=False, mode=0, sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """aten's 4-tuple; only the first (the bags) is computed, the other three are empty int64
    placeholders (torch's offset2bag/bag_size/max_indices bookkeeping)."""
    modes = {0: "sum", 1: "mean", 2: "max"}
    out = _F().embedding_bag(indices, weight, offsets, mode=modes.get(mode, mode),
                             scale_grad_by_freq=scale_grad_by_freq,
                             per_sample_weights=per_sample_weights,
                             include_last_offset=include_last_offset, padding_idx=padding_idx)
    from .creation import zeros
    z = zeros((0,), dtype=D.int64, device=weight.device)
    return out, z, z, z


def kl_div(input, target, reduction=0, log_target=False):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _F().kl_div(input, target, reduction=_red(reduction), log_target=log_target)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction=0):
    return _F().binary_cross_entropy_with_logits(input, target, weight,
                                                 reduction=_red(reduction),
                                                 pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction=0):
    return _F().cosine_embedding_loss(input1, input2, target, margin, reduction=_red(reduction))


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction=0):
    return _F().margin_ranking_loss(input1, input2, target, margin, reduction=_red(reduction))


def hinge_embedding_loss(input, target, margin=1.0, reduction=0):
    return _F().hinge_embedding_loss(input, target, margin, reduction=_red(reduction))


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False,
                        reduction=0):
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                    reduction=_red(reduction))


def poisson_nll_loss(input, target, log_input, full, eps, reduction):
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps,
                                 reduction=_red(reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=0,
             zero_infinity=False):
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                         _red(reduction), zero_infinity)


# ---- in-place top-level forms: torch.exp_(x) is x.exp_() ----------------------------------
_INPLACE = (  # noqa: SIM905
    "abs_ acos_ acosh_ addmv_ arccos_ arccosh_ arcsin_ arcsinh_ arctan_ arctanh_ as_strided_ "
    "asin_ asinh_ atan_ atanh_ ceil_ clamp_ clamp_max_ clamp_min_ clip_ cos_ cosh_ deg2rad_ "
    "detach_ erf_ erfc_ exp2_ exp_ expm1_ fill_ fix_ floor_ frac_ gcd_ i0_ index_put_ lcm_ "
    "ldexp_ log10_ log1p_ log2_ log_ logit_ nan_to_num_ neg_ negative_ rad2deg_ reciprocal_ "
    "relu_ resize_as_ round_ rsqrt_ sigmoid_ sin_ sinc_ sinh_ sqrt_ square_ tan_ tanh_ trunc_ "
    "xlogy_ zero_").split()


def _mk_inplace(name):
    def f(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``torch.{name}(x, ...)`` is ``x.{name}(...)`` (in place, returns x)."
    return f


for _n in _INPLACE:
    globals()[_n] = _mk_inplace(_n)
del _n

def _wrap_out():
    """torch's out= for every function here that takes it (compute, check, write, return)."""
    import inspect

    from ._out import with_out
    g = globals()
    for name, f in list(g.items()):
        if name.startswith("_") or not inspect.isfunction(f) or f.__module__ != __name__:
            continue
        if "out" in inspect.signature(f).parameters:
            g[name] = with_out(f, name)


_wrap_out()

__all__ = [n for n in list(globals()) if not n.startswith("_") and n not in (
    "annotations", "builtins", "itertools", "math", "warnings", "namedtuple", "D", "Tensor",
    "binary", "unary", "where", "cast", "D_broadcast")]
