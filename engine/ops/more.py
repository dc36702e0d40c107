"""More of PyTorch's API, composed from existing engine ops (so autograd comes for free):
statistics (quantile, cov, kthvalue, mode, ...), distances (cdist, dist), small matrix
helpers (addmv, addr, block_diag, vander, ...), and a few legacy / no-op Tensor methods."""

from __future__ import annotations

import math
import weakref

import numpy as np

from .. import _dtype as D
from .._tensor import Tensor, contiguous_strides
from ._common import needs_grad, shape_str

__all__ = [
    "addbmm",
    "addmv",
    "addr",
    "asarray",
    "block_diag",
    "cartesian_prod",
    "cdist",
    "chain_matmul",
    "clamp_max",
    "clamp_min",
    "corrcoef",
    "cosine_similarity",
    "cov",
    "dist",
    "float_power",
    "heaviside",
    "histc",
    "isin",
    "kthvalue",
    "layout",
    "logcumsumexp",
    "mode",
    "msort",
    "nanmedian",
    "nanquantile",
    "narrow_copy",
    "pairwise_distance",
    "quantile",
    "signbit",
    "sinc",
    "strided",
    "trapezoid",
    "vander",
]


class layout:
    """``engine.strided`` (the only layout): prints as ``torch.strided``."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"

    __str__ = __repr__

    def __reduce__(self):
        return (layout, (self.name,))


strided = layout("strided")


def _E():
    import engine
    return engine


def _check_tensor(x, op, arg="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{arg}' must be Tensor, not {type(x).__name__}")


def _floatify(x: Tensor) -> Tensor:
    return x if x._dtype.is_floating_point else x.to(D.get_default_dtype())


def _wrap(dim, ndim, op):
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"{op}(): Dimension out of range (expected to be in range of "
                         f"[{-n}, {n - 1}], but got {dim})")
    return dim % n


# ---------------------------------------------------------------- elementwise-ish
def clamp_min(input: Tensor, min) -> Tensor:
    from .elementwise import clamp
    return clamp(input, min, None)


def clamp_max(input: Tensor, max) -> Tensor:
    from .elementwise import clamp
    return clamp(input, None, max)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """``torch.asarray``: shares memory with tensors / numpy arrays when it can."""
    E = _E()
    if isinstance(obj, Tensor):
        r = obj
        if dtype is not None and dtype is not obj._dtype:
            if copy is False:
                raise ValueError("asarray(): can't alias the input with copy=False: "
                                 f"it has dtype {obj._dtype}, {dtype} was requested")
            r = r.to(dtype)
        if device is not None and E.device(device) != obj.device:
            if copy is False:
                raise ValueError("asarray(): can't alias the input with copy=False across "
                                 "devices")
            r = r.to(device)
        if copy and r is obj:
            r = obj.clone()
        if requires_grad:
            r = r.detach() if r is obj else r
            r.requires_grad_(True)
        return r
    if copy:
        r = E.tensor(obj, dtype=dtype, device=device)
    else:
        if copy is False and not isinstance(obj, np.ndarray):
            try:
                memoryview(obj)
            except TypeError:
                raise ValueError(f"asarray(): can't alias a {type(obj).__name__} with "
                                 "copy=False") from None
        r = E.as_tensor(obj, dtype=dtype, device=device)
    if requires_grad:
        r.requires_grad_(True)
    return r


def isin(elements, test_elements, *, assume_unique=False, invert=False) -> Tensor:
    E = _E()
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin() received an invalid combination of arguments: at least one of "
                        "'elements' and 'test_elements' must be a Tensor")
    like = elements if isinstance(elements, Tensor) else test_elements
    el = elements if isinstance(elements, Tensor) else E.tensor(elements, device=like.device)
    te = test_elements if isinstance(test_elements, Tensor) else E.tensor(
        test_elements, device=like.device)
    shape = el._shape
    with E.no_grad():
        if el.device.type == "cpu" and te.device.type == "cpu":
            r = E.from_numpy(np.isin(el.cpu()._np(), te.cpu()._np(),
                                     assume_unique=assume_unique, invert=invert))
            return r.reshape(shape)
        if te.numel() == 0:
            r = E.zeros(shape, dtype=D.bool_, device=el.device)
        else:
            r = (el.reshape(-1, 1) == te.reshape(1, -1)).any(1).reshape(shape)
    return r.logical_not() if invert else r


def heaviside(input: Tensor, values) -> Tensor:
    _check_tensor(input, "heaviside")
    E = _E()
    if not isinstance(values, Tensor):
        raise TypeError(f"heaviside(): argument 'values' must be Tensor, not "
                        f"{type(values).__name__}")
    if input._dtype is not values._dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different "
                           f"dtypes ({input._dtype} and {values._dtype}); convert one first")
    if input._dtype is D.bool_:
        pass
    with E.no_grad():
        pos = (input > 0).to(input._dtype)
        return E.where(input == 0, values, pos)


def signbit(input: Tensor) -> Tensor:
    _check_tensor(input, "signbit")
    E = _E()
    with E.no_grad():
        if input._dtype is D.bool_:
            return E.zeros(input._shape, dtype=D.bool_, device=input.device)
        if input._dtype.is_floating_point:
            return E.copysign(E.ones((), dtype=input._dtype, device=input.device), input) < 0
        return input < 0


def sinc(input: Tensor) -> Tensor:
    _check_tensor(input, "sinc")
    E = _E()
    x = _floatify(input)
    z = x == 0
    xs = E.where(z, 1.0, x) * math.pi
    return E.where(z, 1.0, xs.sin() / xs)


def float_power(input, exponent) -> Tensor:
    E = _E()
    if not isinstance(input, Tensor):
        if not isinstance(exponent, Tensor):
            raise TypeError("float_power(): at least one argument must be a Tensor")
        return E.pow(float(input), exponent.to(D.float64))
    b = input.to(D.float64)
    e = exponent.to(D.float64) if isinstance(exponent, Tensor) else float(exponent)
    return b.pow(e)


# ---------------------------------------------------------------- distances
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    E = _E()
    _check_tensor(x1, "cdist", "x1")
    _check_tensor(x2, "cdist", "x2")
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D, "
                           f"X2 got: {x2.ndim}D")
    if not x1._dtype.is_floating_point or not x2._dtype.is_floating_point:
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1._dtype}, "
                           f"X2 got: {x2._dtype}")
    if x1._shape[-1] != x2._shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1._shape[-1]} X2: {x2._shape[-1]}")
    if p < 0:
        raise RuntimeError(f"cdist only supports non-negative p values, got {p}")
    if compute_mode not in (None, "use_mm_for_euclid_dist_if_necessary",
                            "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    P, Rr = x1._shape[-2], x2._shape[-2]
    if p == 2 and P and Rr and x1._shape[-1] and (
            compute_mode == "use_mm_for_euclid_dist" or (
                compute_mode in (None, "use_mm_for_euclid_dist_if_necessary")
                and (P > 25 or Rr > 25))):
        # as PyTorch's _euclidean_dist: |a|^2 + |b|^2 - 2 a.b (no (P, R, M) intermediate)
        n1 = (x1 * x1).sum(-1, keepdim=True)
        n2 = (x2 * x2).sum(-1, keepdim=True)
        sq = n1 + n2.transpose(-1, -2) - 2 * E.matmul(x1, x2.transpose(-1, -2))
        return sq.clamp(1e-30, None).sqrt()
    d = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == 0:
        return (d != 0).to(d._dtype).sum(-1)
    if p == 1:
        return d.abs().sum(-1)
    if p == float("inf"):
        return d.abs().amax(-1)
    if d.numel() == 0:
        return d.abs().sum(-1)
    return E.norm(d, p, -1)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    from ..nn import functional as F
    return F.cosine_similarity(x1, x2, dim=dim, eps=eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    from ..nn import functional as F
    return F.pairwise_distance(x1, x2, p=p, eps=eps, keepdim=keepdim)


def dist(input: Tensor, other: Tensor, p=2) -> Tensor:
    _check_tensor(input, "dist")
    _check_tensor(other, "dist", "other")
    E = _E()
    if not input._dtype.is_floating_point:
        raise RuntimeError(f"dist(): expected a floating point input, got {input._dtype}")
    return E.norm(input - other, p)


# ---------------------------------------------------------------- order statistics
def _ret(name):
    from .reduce import _named
    return _named(name)


return_kthvalue, return_mode, return_nanmedian = (
    _ret("kthvalue"), _ret("mode"), _ret("nanmedian"))


def _pick(input, dim, idx_np, keepdim, cls):
    """values = input.gather(dim, idx) (differentiable), indices = idx."""
    E = _E()
    idx = E.from_numpy(np.ascontiguousarray(idx_np, dtype=np.int64)).to(input.device)
    if input.ndim == 0:
        v = input.clone()
        i = idx.reshape(())
        return cls((v, i))
    v = input.gather(dim, idx)
    if not keepdim:
        v, idx = v.squeeze(dim), idx.squeeze(dim)
    return cls((v, idx))


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    _check_tensor(input, "kthvalue")
    dim = _wrap(dim, input.ndim, "kthvalue")
    n = input._shape[dim] if input.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {dim} "
                         f"(k={k}, size {n})")
    a = input.detach().cpu()._np() if input.ndim else input.detach().cpu()._np().reshape(1)
    order = np.argsort(a, axis=dim, kind="stable")
    idx = np.take(order, [k - 1], axis=dim)
    return _pick(input, dim, idx, keepdim, return_kthvalue)


def _mode_1d(v):
    _, inv, cnt = np.unique(v, return_inverse=True, return_counts=True)
    j = int(np.argmax(cnt))  # smallest value among the most frequent (u is sorted)
    return int(np.nonzero(inv.reshape(-1) == j)[0][-1])


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    _check_tensor(input, "mode")
    dim = _wrap(dim, input.ndim, "mode")
    a = input.detach().cpu()._np() if input.ndim else input.detach().cpu()._np().reshape(1)
    if a.shape[dim] == 0:
        raise IndexError(f"mode(): Expected reduction dim {dim} to have non-zero size.")
    m = np.moveaxis(a, dim, -1)
    flat = m.reshape(-1, m.shape[-1])
    idx = np.array([_mode_1d(r) for r in flat], dtype=np.int64).reshape(m.shape[:-1] + (1,))
    return _pick(input, dim, np.moveaxis(idx, -1, dim), keepdim, return_mode)


def msort(input: Tensor) -> Tensor:
    _check_tensor(input, "msort")
    E = _E()
    return E.sort(input, dim=0)[0]


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    _check_tensor(input, "nanmedian")
    if dim is None:
        from .reduce import evenly_distribute, nan_scalar
        with _E().no_grad():
            v = nanmedian(input.reshape(-1), 0)[0] if input.numel() else nan_scalar(input)
        return evenly_distribute(input, v, "NanmedianBackward0")
    dim = _wrap(dim, input.ndim, "nanmedian")
    a = input.detach().cpu()._np() if input.ndim else input.detach().cpu()._np().reshape(1)
    if a.shape[dim] == 0:
        raise IndexError(f"nanmedian(): Expected reduction dim {dim} to have non-zero size.")
    order = np.argsort(a, axis=dim, kind="stable")  # NaNs last
    nn = np.sum(~np.isnan(a), axis=dim, keepdims=True) if a.dtype.kind == "f" else \
        np.full(np.sum(a, axis=dim, keepdims=True).shape, a.shape[dim])
    k = np.maximum((nn - 1) // 2, 0)
    idx = np.take_along_axis(order, k, axis=dim)
    return _pick(input, dim, idx, keepdim, return_nanmedian)


_INTERP = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(op, input, q, dim, keepdim, interpolation, ignore_nan):
    E = _E()
    _check_tensor(input, op)
    if input._dtype not in (D.float32, D.float64):
        raise RuntimeError(f"{op}() input tensor must be either float or double dtype, got "
                           f"{input._dtype}")
    if interpolation not in _INTERP:
        raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, "
                         f"midpoint or nearest. Got {interpolation}")
    if input.numel() == 0:
        raise RuntimeError(f"{op}() input tensor must be non-empty")
    scalar_q = not isinstance(q, Tensor)
    if scalar_q:
        qv = np.array([float(q)])
    else:
        if q.ndim > 1:
            raise RuntimeError(f"{op}() q must be a scalar or 1D tensor, got {q.ndim}D")
        if q._dtype is not input._dtype:
            raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor "
                               f"({q._dtype} vs {input._dtype})")
        scalar_q = q.ndim == 0
        qv = q.detach().cpu()._np().reshape(-1).astype(np.float64)
    if qv.size and (np.any(qv < 0) or np.any(qv > 1) or np.any(np.isnan(qv))):
        raise RuntimeError(f"{op}() q values must be in the range [0, 1]")
    if dim is None:
        x = input.reshape(-1)
        d = 0
        out_shape = (1,) * input.ndim if keepdim else ()
    else:
        d = _wrap(dim, input.ndim, op)
        x = input if input.ndim else input.reshape(1)
        out_shape = list(input._shape)
        if keepdim:
            if out_shape:
                out_shape[d] = 1
        elif out_shape:
            del out_shape[d]
        out_shape = tuple(out_shape)
    x = x.movedim(d, -1)  # (..., N)
    N = x._shape[-1]
    if N == 0:
        res_q = E.full(tuple(x._shape[:-1]) + (len(qv),), float("nan"), dtype=input._dtype,
                       device=input.device)
    else:
        s = E.sort(x, dim=-1)[0]
        isn = x.isnan()
        with E.no_grad():
            if ignore_nan:
                n = (~isn).sum(-1, keepdim=True).to(D.float64)
            else:
                n = E.full(tuple(x._shape[:-1]) + (1,), float(N), dtype=D.float64,
                           device=input.device)
            qt = E.tensor(qv, dtype=D.float64, device=input.device)
            pos = (qt * (n - 1)).clamp(0, None)  # (..., Q)
            if interpolation == "nearest":
                pos = pos.round()
            lo = pos.floor()
            hi = pos.ceil()
            frac = (pos - lo).to(input._dtype)
            lo = lo.to(D.int64).clamp(0, N - 1)
            hi = hi.to(D.int64).clamp(0, N - 1)
        vlo = s.gather(-1, lo)
        vhi = s.gather(-1, hi)
        if interpolation in ("linear",):  # torch's lerp: -inf..-3 at 0.9 is -inf, not nan
            res_q = E.lerp(vlo, vhi, frac)
        elif interpolation in ("lower", "nearest"):
            res_q = vlo
        elif interpolation == "higher":
            res_q = vhi
        else:
            res_q = E.lerp(vlo, vhi, 0.5)
        with E.no_grad():
            bad = (n < 1) if ignore_nan else isn.any(-1, keepdim=True)
        if bool(bad.any()):
            res_q = E.where(bad, float("nan"), res_q)
    # (..., Q) -> (Q, *out_shape)
    res_q = res_q.movedim(-1, 0)
    if scalar_q:
        return res_q.reshape(out_shape)
    return res_q.reshape((len(qv),) + out_shape)


def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    r = _quantile("quantile", input, q, dim, keepdim, interpolation, False)
    return _out(r, out)


def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    r = _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)
    return _out(r, out)


def _out(r, out):
    if out is None:
        return r
    from ..autograd.grad_mode import no_grad
    with no_grad():
        if out._shape != r._shape:
            out.resize_(r._shape)
        out.copy_(r)
    return out


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """A log-space Hillis-Steele scan (log2(N) logaddexp steps: no underflow of small
    prefixes, differentiable)."""
    _check_tensor(input, "logcumsumexp")
    E = _E()
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f"\"logcumsumexp_out_cpu\" not implemented for "
                                  f"'{_scalar_name(input._dtype)}'")
    d = _wrap(dim, input.ndim, "logcumsumexp")
    if input.ndim == 0:
        return input.clone()
    y = input
    n = y._shape[d]
    shift = 1
    while shift < n:
        pad_shape = list(y._shape)
        pad_shape[d] = shift
        pad = E.full(tuple(pad_shape), float("-inf"), dtype=y._dtype, device=y.device)
        prev = E.cat([pad, y.narrow(d, 0, n - shift)], d)
        m = E.maximum(y, prev)
        mm = E.where(m.isinf(), 0.0, m)  # (an inf running max: inf - inf would be nan)
        y = mm + ((y - mm).exp() + (prev - mm).exp()).log()
        shift *= 2
    return y if y is not input else y.clone()


# ---------------------------------------------------------------- construction
def cartesian_prod(*tensors) -> Tensor:
    E = _E()
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for t in tensors:
        _check_tensor(t, "cartesian_prod", "tensors")
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._shape)}")
    if len({t._dtype for t in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype (cartesian_prod"
                           f" got {', '.join(str(t._dtype) for t in tensors)}); convert them "
                           "first")
    if len(tensors) == 1:
        return tensors[0]
    grids = E.meshgrid(*tensors, indexing="ij")
    return E.stack([g.reshape(-1) for g in grids], dim=1)


def block_diag(*tensors) -> Tensor:
    E = _E()
    if len(tensors) == 0:
        return E.empty((1, 0))
    mats = []
    for i, t in enumerate(tensors):
        _check_tensor(t, "block_diag", "tensors")
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {i} has {t.ndim} dimensions")
        mats.append(t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1
                    else t)
    dt = mats[0]._dtype
    for m in mats[1:]:
        dt = D.promote_types(dt, m._dtype)
    dev = mats[0].device
    total = sum(m._shape[1] for m in mats)
    rows, col = [], 0
    for m in mats:
        r, c = m._shape
        parts = []
        if col:
            parts.append(E.zeros((r, col), dtype=dt, device=dev))
        parts.append(m.to(dt))
        if total - col - c:
            parts.append(E.zeros((r, total - col - c), dtype=dt, device=dev))
        rows.append(E.cat(parts, 1) if len(parts) > 1 else parts[0])
        col += c
    return E.cat(rows, 0)


def vander(x: Tensor, N=None, increasing: bool = False) -> Tensor:
    E = _E()
    _check_tensor(x, "vander", "x")
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    if N is None:
        N = x._shape[0]
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    dt = x._dtype
    if not dt.is_floating_point:
        dt = D.int64
    xx = x.to(dt)
    n = x._shape[0]
    if N == 0:
        return E.empty((n, 0), dtype=dt, device=x.device)
    ones = E.ones((n, 1), dtype=dt, device=x.device)
    if N > 1:
        r = E.cat([ones, xx.unsqueeze(1).expand(n, N - 1)], 1).cumprod(1)
    else:
        r = ones
    return r if increasing else r.flip(1)


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    return input.narrow(dim, start, length).clone()


# ---------------------------------------------------------------- statistics
def cov(input: Tensor, *, correction: int = 1, fweights=None, aweights=None) -> Tensor:
    E = _E()
    _check_tensor(input, "cov")
    if input.ndim > 2:
        raise RuntimeError(f"cov(): expected input to have two or fewer dimensions but got an "
                           f"input with {input.ndim} dimensions")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    x = _floatify(x)
    nobs = x._shape[1]
    w = None
    if fweights is not None:
        if fweights.ndim > 1:
            raise RuntimeError("cov(): expected fweights to have one or fewer dimensions")
        if fweights._dtype.is_floating_point:
            raise RuntimeError("cov(): expected fweights to have integral dtype")
        if fweights.numel() != nobs:
            raise RuntimeError(f"cov(): expected fweights to have the same numel as there are "
                               f"observations in the input but got {fweights.numel()} != {nobs}")
        if bool((fweights < 0).any()):
            raise RuntimeError("cov(): fweights cannot be negative")
        w = fweights.to(x._dtype)
    if aweights is not None:
        if aweights.ndim > 1:
            raise RuntimeError("cov(): expected aweights to have one or fewer dimensions")
        if not aweights._dtype.is_floating_point:
            raise RuntimeError("cov(): expected aweights to have floating point dtype")
        if aweights.numel() != nobs:
            raise RuntimeError(f"cov(): expected aweights to have the same numel as there are "
                               f"observations in the input but got {aweights.numel()} != {nobs}")
        if bool((aweights < 0).any()):
            raise RuntimeError("cov(): aweights cannot be negative")
        aw = aweights.to(x._dtype)
        w = aw if w is None else w * aw
    if w is None:
        avg = x.mean(1)
        norm = float(nobs - correction)
        wsum = None
    else:
        wsum = w.sum()
        avg = (x * w).sum(1) / wsum
        if correction == 0:
            norm = wsum
        elif aweights is None:
            norm = wsum - correction
        else:
            norm = wsum - correction * (w * aweights.to(x._dtype)).sum() / wsum
    if isinstance(norm, Tensor):
        norm = norm.clamp(0, None)
    elif norm <= 0:
        import warnings
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", RuntimeWarning)
        norm = 0.0
    xm = x - avg.unsqueeze(1)
    xw = xm if w is None else xm * w
    c = E.mm(xw, xm.t())
    c = c / norm if not isinstance(norm, float) or norm != 0 else c / E.zeros(
        (), dtype=c._dtype, device=c.device)
    return c.squeeze() if input.ndim < 2 or c._shape == (1, 1) else c


def corrcoef(input: Tensor) -> Tensor:
    c = cov(input)
    if c.ndim == 0:
        return c / c
    d = c.diagonal()
    sd = d.sqrt()
    c = c / sd.unsqueeze(1)
    c = c / sd.unsqueeze(0)
    return c.clamp(-1, 1)


def trapezoid(y: Tensor, x=None, *, dx=None, dim: int = -1) -> Tensor:
    _check_tensor(y, "trapezoid", "y")
    if y.ndim == 0:
        raise IndexError("trapezoid(): Dimension out of range (expected to be in range of "
                         f"[-1, 0], but got {dim})")
    d = _wrap(dim, y.ndim, "trapezoid")
    n = y._shape[d]
    if isinstance(x, Tensor) and dx is not None:
        raise TypeError("trapezoid() received an invalid combination of arguments: x and dx "
                        "can't both be given")
    if n == 0:
        return _floatify(y).sum(d) if y._dtype.is_floating_point else y.sum(d)
    mid = (y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1))
    if isinstance(x, Tensor):
        if x.ndim == 1:
            if x._shape[0] != n:
                raise RuntimeError(f"trapezoid: There must be one `x` value for each sample "
                                   f"point, got {x._shape[0]} and {n}")
            dxs = x[1:] - x[:-1]
            shp = [1] * y.ndim
            shp[d] = n - 1
            dxs = dxs.reshape(shp)
        else:
            xd = _wrap(dim, x.ndim, "trapezoid")
            dxs = x.narrow(xd, 1, n - 1) - x.narrow(xd, 0, n - 1)
        return (mid * dxs).sum(d) / 2
    if x is not None and dx is None:
        dx = x
    if dx is None:
        dx = 1
    return mid.sum(d) * (dx / 2) if dx != 2 else mid.sum(d)


# ---------------------------------------------------------------- matrix helpers
def _addx(input, prod, beta, alpha):
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        E = _E()
        return E.zeros((), dtype=prod._dtype, device=prod.device).expand(
            *E.broadcast_shapes(input._shape, prod._shape)) + prod
    return (input if beta == 1 else input * beta) + prod


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    E = _E()
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, "
                           f"{vec.ndim}")
    r = _addx(input, E.mv(mat, vec), beta, alpha)
    if r._shape != (mat._shape[0],):
        raise RuntimeError(f"addmv: input of shape {shape_str(input._shape)} can't broadcast "
                           f"to {shape_str((mat._shape[0],))}")
    return _out(r, out)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1, out=None) -> Tensor:
    E = _E()
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.ndim}-D"
                           if vec1.ndim != 1 else
                           f"addr: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    if input._dtype is D.bool_ and vec1._dtype is D.bool_:
        return _out(E.outer(vec1, vec2).logical_and(alpha) | input.logical_and(beta), out)
    r = _addx(input, E.outer(vec1, vec2), beta, alpha)
    if r._shape != (vec1._shape[0], vec2._shape[0]):
        raise RuntimeError(f"addr: input of shape {shape_str(input._shape)} can't broadcast to "
                           f"{shape_str((vec1._shape[0], vec2._shape[0]))}")
    return _out(r, out)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1, out=None):
    E = _E()
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (got {batch1.ndim}D and {batch2.ndim}D)")
    if batch1._shape[0] != batch2._shape[0]:
        raise RuntimeError(f"batch1 and batch2 must have same number of batches, got "
                           f"{batch1._shape[0]} and {batch2._shape[0]}")
    r = _addx(input, E.bmm(batch1, batch2).sum(0), beta, alpha)
    shp = (batch1._shape[1], batch2._shape[2])
    if r._shape != shp:
        raise RuntimeError(f"addbmm: input of shape {shape_str(input._shape)} can't broadcast "
                           f"to {shape_str(shp)}")
    return _out(r, out)


def chain_matmul(*matrices, out=None) -> Tensor:
    E = _E()
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for m in matrices:
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    r = matrices[0]
    if len(matrices) == 1:
        return _out(r.clone(), out)
    for m in matrices[1:]:
        r = E.mm(r, m)
    return _out(r, out)


def histc(input: Tensor, bins: int = 100, min=0, max=0, *, out=None) -> Tensor:
    E = _E()
    _check_tensor(input, "histc")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f"\"histogram_cpu\" not implemented for "
                                  f"'{_scalar_name(input._dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"histc(): bins must be > 0, but got {bins} for dimension 0")
    a = input.detach().cpu()._np().reshape(-1).astype(np.float64)
    lo, hi = float(min), float(max)
    if lo > hi:
        raise RuntimeError(f"histc(): max must be larger than min, got min={lo} max={hi}")
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    a = a[(a >= lo) & (a <= hi)]
    b = ((a - lo) * bins / (hi - lo)).astype(np.int64)
    b[b == bins] = bins - 1
    h = np.bincount(b, minlength=bins)[:bins].astype(input._dtype.np)
    return _out(E.from_numpy(h).to(input.device), out)


def _scalar_name(dt):
    from ._out import _scalar_name as s
    return s(dt)


# ---------------------------------------------------------------- Tensor methods
_shared = weakref.WeakSet()


def _fill_diagonal_(x: Tensor, fill_value, wrap: bool = False) -> Tensor:
    from .inplace import _check_leaf, apply_inplace
    E = _E()
    if x.ndim < 2:
        raise RuntimeError("fill_diagonal_(): dimensions must larger than 1")
    if x.ndim > 2 and len(set(x._shape)) != 1:
        raise RuntimeError("fill_diagonal_(): all dimensions of input must be of equal length")
    mask = np.zeros(x._shape, dtype=bool)
    if x.ndim == 2:
        R, C = x._shape
        flat = mask.reshape(-1)
        end = R * C if (wrap and R > C) else min(R, C) * C
        flat[0:end:C + 1] = True
    else:
        n = x._shape[0]
        for i in range(n):
            mask[(i,) * x.ndim] = True
    m = E.from_numpy(mask).to(x.device)
    _check_leaf(x, "fill_diagonal_")
    if needs_grad(x) or isinstance(fill_value, Tensor):
        return apply_inplace(x, E.where(m, fill_value, x), "fill_diagonal_")
    _check_leaf(x, "fill_diagonal_")
    with E.no_grad():
        return apply_inplace(x, E.where(m, fill_value, x).to(x._dtype), "fill_diagonal_")


def _sum_to_size(x: Tensor, *size) -> Tensor:
    if len(size) == 1 and isinstance(size[0], (list, tuple)):
        size = tuple(size[0])
    size = tuple(int(s) for s in size)
    xs = x._shape
    ok = len(size) <= len(xs)
    if ok:
        for s, t in zip(reversed(size), reversed(xs)):
            if s != t and s != 1:
                ok = False
    if not ok:
        raise RuntimeError(f"size {list(size)} is not expandable to size {list(xs)}")
    if size == xs:
        return x
    lead = len(xs) - len(size)
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and xs[lead + i] != 1)
    r = x.sum(dim=dims, keepdim=True) if dims else x
    return r.reshape(size)


def _new(x: Tensor, *args, **kwargs):
    E = _E()
    dtype = kwargs.pop("dtype", None) or x._dtype
    device = kwargs.pop("device", None) or x.device
    if kwargs:
        raise TypeError(f"new() got an unexpected keyword argument '{next(iter(kwargs))}'")
    if not args:
        return E.empty((0,), dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], Tensor):
        if args[0]._dtype is not x._dtype:
            raise TypeError(f"expected {x._dtype} (got {args[0]._dtype})")
        return args[0].detach()
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return E.empty(tuple(args), dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], E.Size):
        return E.empty(tuple(args[0]), dtype=dtype, device=device)
    if len(args) == 1 and isinstance(args[0], (list, tuple, np.ndarray)):
        return E.tensor(args[0], dtype=dtype, device=device)
    raise TypeError(f"new() received an invalid combination of arguments: "
                    f"{tuple(type(a).__name__ for a in args)}")


def _resize_(x: Tensor, *sizes, memory_format=None) -> Tensor:
    if len(sizes) == 1 and isinstance(sizes[0], (list, tuple)):
        sizes = tuple(sizes[0])
    sizes = tuple(int(s) for s in sizes)
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(sizes)}")
    if x._requires_grad or x._grad_fn is not None:
        raise RuntimeError("cannot resize variables that require grad")
    n = 1
    for s in sizes:
        n *= s
    st = x._storage
    need = x._offset + n
    if st.data.size < need:
        if x._base is not None:
            raise RuntimeError(
                f"resize_(): can't grow a view: this tensor (shape {list(x._shape)}) views "
                f"another tensor's storage; call .clone() first, then resize_ the copy")
        if st.device.type != "cpu":
            raise RuntimeError("resize_(): growing a CUDA tensor's storage is not supported; "
                               "allocate a new tensor instead")
        new = np.zeros(need, dtype=st.data.dtype)
        new[:st.data.size] = st.data
        st.data = new
        if getattr(st, "raw", None) is not None:
            st.raw = None  # the old pooled block may still be viewed: never hand it back
    x._shape = sizes
    x._stride = contiguous_strides(sizes)
    x._contig = True
    st.version += 1
    return x


def _apply_(x: Tensor, fn) -> Tensor:
    if x.device.type != "cpu":
        raise TypeError("apply_ is only implemented on CPU tensors")
    if not callable(fn):
        raise TypeError(f"apply_(): argument 'callable' must be callable, not "
                        f"{type(fn).__name__}")
    from .inplace import _bump, _check_leaf
    _check_leaf(x, "apply_")
    a = x._np()
    for idx in np.ndindex(a.shape):
        a[idx] = fn(a[idx].item())
    _bump(x, "apply_")
    return x


def _map_(x: Tensor, other: Tensor, fn) -> Tensor:
    if x.device.type != "cpu":
        raise TypeError("map_ is only implemented on CPU tensors")
    if not callable(fn):
        raise TypeError("map_(): argument 'callable' must be callable")
    from .inplace import _bump, _check_leaf
    _check_leaf(x, "map_")
    a = x._np()
    b = np.broadcast_to(other.detach().cpu()._np(), a.shape)
    for idx in np.ndindex(a.shape):
        a[idx] = fn(a[idx].item(), b[idx].item())
    _bump(x, "map_")
    return x


def _rand(x, generator):
    from . import creation as C
    return C.rand(x._shape, generator=generator, dtype=D.float64)


def _fill_random(x, src):
    from .._methods import _rand_fill
    return _rand_fill(x, src)


def _check_float(x, op):
    if not x._dtype.is_floating_point:
        raise RuntimeError(f"{op} expects floating point tensors, got {x._dtype}")


def _log_normal_(x, mean=1.0, std=2.0, *, generator=None):
    _check_float(x, "log_normal_")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    from . import creation as C
    z = C.randn(x._shape, generator=generator, dtype=D.float64)
    return _fill_random(x, (z * std + mean).exp())


def _cauchy_(x, median=0.0, sigma=1.0, *, generator=None):
    _check_float(x, "cauchy_")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    u = _rand(x, generator)
    return _fill_random(x, ((u - 0.5) * math.pi).tan() * sigma + median)


def _geometric_(x, p, *, generator=None):
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    u = 1 - _rand(x, generator)  # (0, 1]
    return _fill_random(x, (u.log() / math.log1p(-p)).floor() + 1)


def _float_power_(x, exponent):
    if x._dtype is not D.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_scalar_name(x._dtype)}"
                           " but the operation's result requires dtype Double")
    return _inplace(float_power, "float_power_")(x, exponent)


def _inplace(fn, name):
    def method(x, *args, **kwargs):
        from .inplace import _check_leaf, apply_inplace
        _check_leaf(x, name)
        # compute from a clone when recording: the op may save its input, which we overwrite
        src = x.clone() if needs_grad(x) else x
        return apply_inplace(x, fn(src, *args, **kwargs), name)
    method.__name__ = name
    return method


def _nan_to_num_(x, nan=0.0, posinf=None, neginf=None):
    from .inplace import apply_inplace
    return apply_inplace(x, x.nan_to_num(nan, posinf, neginf), "nan_to_num_")


def _share_memory_(x):
    _shared.add(x._storage)
    return x


def _bind():
    T = Tensor
    for name in ("dist", "float_power", "kthvalue", "mode", "msort", "nanmedian", "quantile",
                 "nanquantile", "logcumsumexp", "cov", "corrcoef", "heaviside", "signbit",
                 "sinc", "addmv", "addr", "addbmm", "histc", "narrow_copy"):
        setattr(T, name, globals()[name])
    T.float_power_ = _float_power_
    T.heaviside_ = _inplace(heaviside, "heaviside_")
    T.sinc_ = _inplace(sinc, "sinc_")
    T.addmv_ = _inplace(addmv, "addmv_")
    T.addr_ = _inplace(addr, "addr_")
    T.addbmm_ = _inplace(addbmm, "addbmm_")
    T.clamp_min_ = lambda x, m: _inplace(clamp_min, "clamp_min_")(x, m) if needs_grad(x) \
        else x.clamp_(m, None)
    T.clamp_max_ = lambda x, m: _inplace(clamp_max, "clamp_max_")(x, m) if needs_grad(x) \
        else x.clamp_(None, m)
    T.fill_diagonal_ = _fill_diagonal_
    T.nan_to_num_ = _nan_to_num_
    T.sum_to_size = _sum_to_size
    T.new = _new
    T.pin_memory = lambda x, device=None: x
    T.is_pinned = lambda x, device=None: False
    T.share_memory_ = _share_memory_
    T.is_shared = lambda x: x._storage in _shared
    T.resize_ = _resize_
    T.real = property(lambda x: x)
    T.is_sparse = property(lambda x: False)
    T.layout = property(lambda x: strided)
    T.apply_ = _apply_
    T.map_ = _map_
    T.log_normal_ = _log_normal_
    T.cauchy_ = _cauchy_
    T.geometric_ = _geometric_


_bind()
