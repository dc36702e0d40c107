"""Reductions, softmax family, scans, sort/topk. Every reduction is brought to one shape:
a 2-D (M, K) view, kept dims first, reduced dims last, reduced along axis 1."""

from __future__ import annotations

import builtins
import math

from .. import _dtype as D
from .. import _strided as S
from .._tensor import Tensor, _wrap_dim
from .._device import CPU
from ..autograd.graph import record, relabel
from ._common import needs_grad, empty_tensor, normalize_dims, shape_str, backend
from .elementwise import cast, where

__all__ = ["sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "var",
           "std", "var_mean", "std_mean", "logsumexp", "softmax", "log_softmax", "all", "any",
           "cumsum", "cumprod", "sort", "argsort", "topk", "median", "norm", "count_nonzero",
           "cummax", "cummin", "nansum", "aminmax"]


def _plan(x: Tensor, dims: tuple):
    """(2-D tensor (M, K) view or copy, kept shape) for reducing ``dims`` of ``x``."""
    nd = len(x._shape)
    if x._contig and len(dims) == nd:  # all-reduce of a contiguous tensor: one row
        from .views import make_view
        n = x.numel()
        return make_view(x, (1, n), (n, 1), x._offset), ()
    kept = [d for d in range(nd) if d not in dims]
    order = kept + list(dims)
    shape = tuple(x._shape[d] for d in order)
    stride = tuple(x._stride[d] for d in order)
    M = 1
    for d in kept:
        M *= x._shape[d]
    K = 1
    for d in dims:
        K *= x._shape[d]
    st = S.view_strides(shape, stride, (M, K))
    from .views import make_view
    if st is None:
        p = make_view(x, shape, stride, x._offset).contiguous()
        return make_view(p, (M, K), (K, 1), p._offset), tuple(x._shape[d] for d in kept)
    return make_view(x, (M, K), st, x._offset), tuple(x._shape[d] for d in kept)


def _out_shape(x, dims, keepdim, kept_shape):
    if keepdim:
        return tuple(1 if d in dims else s for d, s in enumerate(x._shape))
    return kept_shape


def _run(kind, x: Tensor, dims, keepdim, out_dtype, *args):
    """Run a row reduction; returns a tensor of the reduced shape."""
    x2, kept = _plan(x, dims)
    out = empty_tensor((x2._shape[0],), out_dtype, x._storage.device)
    backend(x._storage.device).reduce(kind, x2, out, *args)
    return out.reshape(_out_shape(x, dims, keepdim, kept))


def _f16(x):
    return cast(x, D.float32) if x._dtype is D.float16 else x


def _expand_grad(g, x, dims, keepdim):
    if not keepdim:
        for d in dims:
            g = g.unsqueeze(d)
    return g.expand(x._shape)


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over ``dim`` (all dims when None). Integers and bools sum into int64."""
    if dim is None and dtype is None and not keepdim and isinstance(x, Tensor):
        out = _fast_sum_all(x)
        if out is not None:
            if needs_grad(x):
                shape = x._shape
                record("SumBackward0", (x,), (out,), lambda n, g: (g.expand(shape),))
            return out
    dims = normalize_dims(dim, x.ndim, "sum")
    dt = D.to_dtype(dtype) if dtype is not None else (
        x._dtype if x._dtype.is_floating_point else D.int64)
    xi = _f16(cast(x, dt) if dtype is not None else x)
    out = _run("sum", xi, dims, keepdim, D.float32 if dt is D.float16 else dt)
    if dt is D.float16:
        out = cast(out, dt)
    if needs_grad(x):
        shape = x._shape
        record("SumBackward1" if dim is not None else "SumBackward0", (x,), (out,),
               lambda n, g: (_expand_grad(g, _Shape(shape), dims, keepdim),))
    return out


def _fast_sum_all(x: Tensor):
    """Sum of a whole contiguous float CPU tensor without the general (M, K) plan (the
    per-call cost of small reductions is all Python); None when not applicable."""
    dt = x._dtype
    if not x._contig or x._storage.device is not CPU or dt.category != 2 or dt is D.float16:
        return None
    n = 1
    for s in x._shape:
        n *= s
    if n == 0:
        return None
    from kernels.cpu import reduce as R
    out = empty_tensor((), dt, CPU)
    off = x._offset
    R.reduce_rows("sum", x._storage.data[off:off + n].reshape(1, n), out._storage.data)
    return out


class _Shape:
    """Stand-in carrying only a shape (backward closures must not keep inputs alive)."""

    __slots__ = ("_shape",)

    def __init__(self, shape):
        self._shape = shape


def nansum(x, dim=None, keepdim=False, *, dtype=None):
    if not x._dtype.is_floating_point:  # no nans: integers sum to int64 as sum does
        return sum(x, dim, keepdim, dtype=dtype)
    return sum(where(x != x, 0.0, x), dim, keepdim, dtype=dtype)


def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if not x._dtype.is_floating_point and dtype is None:
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {x._dtype.name.capitalize()}")
    dims = normalize_dims(dim, x.ndim, "mean")
    n = 1
    for d in dims:
        n *= x._shape[d]
    half = dtype is None and x._dtype is D.float16  # torch accumulates float16 in float32
    s = sum(x, dims if dim is not None else None, keepdim, dtype=D.float32 if half else dtype)
    r = s / n if n else s * math.nan
    return relabel(cast(r, D.float16) if half else r,
                   "MeanBackward1" if dim is not None else "MeanBackward0")


def prod(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__} (torch's "
                        "prod reduces one dim; call it once per dim)")
    dims = normalize_dims(dim, x.ndim, "prod")
    dt = D.to_dtype(dtype) if dtype is not None else (
        x._dtype if x._dtype.is_floating_point else D.int64)
    out = _run("prod", _f16(cast(x, dt)), dims, keepdim, dt if dt is not D.float16 else
               D.float32)
    out = cast(out, dt)
    if needs_grad(x):
        def bw(n, g):
            xx = n.saved_tensor(0)
            y = n.saved_tensor(1)
            ge, ye = _expand_grad(g, xx, dims, keepdim), _expand_grad(y, xx, dims, keepdim)
            safe = where(xx == 0, 1.0, xx)
            return (where(xx == 0, _prod_zero_grad(xx, dims, ge), ge * ye / safe),)
        record("ProdBackward1" if dim is not None else "ProdBackward0", (x,), (out,), bw,
               ((x, False), (out, True)))
    return out


def _prod_zero_grad(x, dims, ge):
    # gradient at a zero entry: product of the other entries (exact when one zero per slice)
    others = where(x == 0, 1.0, x)
    p = others
    for d in dims:
        p = prod(p, d, keepdim=True)
    nz = (x == 0)
    cnt = nz
    for d in dims:
        cnt = sum(cnt, d, keepdim=True)
    return ge * where(cnt == 1, p, 0.0).expand(x._shape)


def _minmax_all(kind, x, dim, keepdim):
    if x.numel() == 0 and dim is None:
        raise RuntimeError(f"{kind}(): Expected reduction dim to be specified for input.numel() "
                           "== 0. Specify the reduction dim with the 'dim' argument.")
    dims = normalize_dims(dim, x.ndim, kind)
    for d in dims:
        if x._shape[d] == 0:
            raise IndexError(f"{kind}(): Expected reduction dim {d} to have non-zero size "
                             f"(input shape {shape_str(x._shape)})")
    xi = _f16(x)
    out = cast(_run("max" if kind == "amax" else "min", xi, dims, keepdim, xi._dtype), x._dtype)
    if needs_grad(x):
        def bw(n, g):
            xx, y = n.saved_tensor(0), n.saved_tensor(1)
            mask = xx == _expand_grad(y, xx, dims, keepdim)
            cnt = sum(mask, dims, keepdim=True)
            return (_expand_grad(g, xx, dims, keepdim) * mask / cnt,)
        record(kind.capitalize() + "Backward0", (x,), (out,), bw, ((x, False), (out, True)))
    return out


def amax(x, dim=(), keepdim=False):
    return _minmax_all("amax", x, None if dim == () else dim, keepdim)


def amin(x, dim=(), keepdim=False):
    return _minmax_all("amin", x, None if dim == () else dim, keepdim)


def _arg(kind, x, dim, keepdim, want_values):
    in_shape = x._shape
    if dim is None:
        x = x.reshape(-1)
        d = 0
    else:
        d = _wrap_dim(dim, x.ndim)
    if x.ndim and x._shape[d] == 0:
        raise IndexError(f"{kind}(): Expected reduction dim {d} to have non-zero size "
                         f"(input shape {shape_str(x._shape)})")
    xi = _f16(x)
    x2, kept = _plan(xi, (d,) if x.ndim else ())
    dev = x._storage.device
    idx = empty_tensor((x2._shape[0],), D.int64, dev)
    vals = empty_tensor((x2._shape[0],), xi._dtype, dev) if want_values else None
    backend(dev).arg_reduce(kind, x2, vals, idx)
    shape = _out_shape(x, (d,) if x.ndim else (), keepdim and dim is not None, kept)
    idx = idx.reshape(shape)
    if not want_values:
        if keepdim and dim is None:  # torch: every dim kept with size 1
            idx = idx.reshape((1,) * len(in_shape))
        return idx
    vals = cast(vals.reshape(shape), x._dtype)
    if needs_grad(x):
        record(kind.capitalize() + "Backward0", (x,), (vals,),
               _index_backward(x._shape, d, idx, keepdim), (), None)
    return vals, idx


def _index_backward(in_shape, d, idx, keepdim):
    def bw(n, g):
        from .creation import arange
        if not in_shape:  # a 0-d input: its one element is the max
            return (g.reshape(()).clone(),)
        ii = idx if keepdim else idx.unsqueeze(d)
        gg = g if keepdim else g.unsqueeze(d)
        shape = [1] * len(in_shape)
        shape[d] = in_shape[d]
        iota = arange(in_shape[d], device=g.device).reshape(shape)
        return (where(iota == ii, gg, 0.0).expand(in_shape) * 1,)
    return bw


class _MinMax(tuple):
    """The (values, indices) named tuple returned by max/min/sort/topk with a dim."""

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]


def _named(name):
    return type(name, (_MinMax,), {"__repr__": lambda s: f"torch.return_types.{name}(\n"
                                   f"values={s[0]!r},\nindices={s[1]!r})"})


return_max, return_min, return_sort, return_topk, return_median, return_kth = (
    _named(n) for n in ("max", "min", "sort", "topk", "median", "kthvalue"))
return_cummax, return_cummin = _named("cummax"), _named("cummin")


def max(x, dim=None, keepdim=False, *, out=None):
    """Whole-tensor max, ``(values, indices)`` along ``dim``, or elementwise with a tensor."""
    if isinstance(dim, Tensor):
        from .elementwise import binary
        return binary("maximum", x, dim)
    if dim is None:
        with _no_grad():
            v = _minmax_all("amax", x, None, False)
        return evenly_distribute(x, v, "MaxBackward1")
    return return_max(_arg("max", x, dim, keepdim, True))


def min(x, dim=None, keepdim=False, *, out=None):
    if isinstance(dim, Tensor):
        from .elementwise import binary
        return binary("minimum", x, dim)
    if dim is None:
        with _no_grad():
            v = _minmax_all("amin", x, None, False)
        return evenly_distribute(x, v, "MinBackward1")
    return return_min(_arg("min", x, dim, keepdim, True))


def aminmax(x, *, dim=None, keepdim=False):
    return amin(x, () if dim is None else dim, keepdim), amax(x, () if dim is None else dim,
                                                            keepdim)


def argmax(x, dim=None, keepdim=False):
    if x._dtype is D.bool_:
        raise RuntimeError("argmax(): does not support bool input")
    return _arg("max", x, dim, keepdim, False)


def argmin(x, dim=None, keepdim=False):
    if x._dtype is D.bool_:
        raise RuntimeError("argmin(): does not support bool input")
    return _arg("min", x, dim, keepdim, False)


def _float_only(x, name):
    if not x._dtype.is_floating_point:
        raise RuntimeError(f"{name} only support floating point and complex dtypes (got "
                           f"{x._dtype}; convert with .float())")


def _correction(unbiased, correction):
    if correction is not None:
        return float(correction)
    return 1.0 if unbiased is None or unbiased else 0.0


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with Bessel's correction by default (``correction=1``)."""
    if isinstance(dim, bool) and unbiased is None:
        unbiased, dim = dim, None
    _float_only(x, "std and var")
    c = _correction(unbiased, correction)
    dims = normalize_dims(dim, x.ndim, "var")
    xi = _f16(x)
    out = cast(_run("var", xi, dims, keepdim, xi._dtype, c), x._dtype)
    if needs_grad(x):
        n_el = 1
        for d in dims:
            n_el *= x._shape[d]

        scale = 2.0 / (n_el - c) if n_el != c else math.inf  # no degrees of freedom: nan

        def bw(n, g):
            xx = n.saved_tensor(0)
            m = mean(xx, dims, keepdim=True)
            return (_expand_grad(g, xx, dims, keepdim) * scale * (xx - m),)
        record("VarBackward0", (x,), (out,), bw, ((x, False),))
    return out


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool) and unbiased is None:
        unbiased, dim = dim, None
    v = var(x, dim, unbiased, keepdim, correction=correction)
    if not needs_grad(v):
        return v.sqrt()
    # torch's std backward is 0 where std is 0 (not sqrt's inf * 0 = nan)
    zero = (v == 0).detach()
    return where(zero, v * 0, where(zero, 1.0, v).sqrt())


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    _float_only(x, "var_mean")
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    _float_only(x, "std_mean")
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def logsumexp(x, dim, keepdim=False):
    dims = normalize_dims(dim, x.ndim, "logsumexp")
    xi = _f16(x if x._dtype.is_floating_point else cast(x, D.get_default_dtype()))
    out = cast(_run("logsumexp", xi, dims, keepdim, xi._dtype), x._dtype if
               x._dtype.is_floating_point else D.get_default_dtype())
    if needs_grad(x):
        def bw(n, g):
            xx, y = n.saved_tensor(0), n.saved_tensor(1)
            return (_expand_grad(g, xx, dims, keepdim) *
                    (xx - _expand_grad(y, xx, dims, keepdim)).exp(),)
        record("LogsumexpBackward0", (x,), (out,), bw, ((x, False), (out, True)))
    return out


def _softmax_like(kind, x, dim, dtype):
    if dtype is not None:
        x = cast(x, D.to_dtype(dtype))
    if not x._dtype.is_floating_point:
        raise RuntimeError(f"{kind}: expected a floating point tensor, got {x._dtype}")
    if x.ndim == 0:
        x1 = x.reshape(1)
        return _softmax_like(kind, x1, 0, None).reshape(())
    d = _wrap_dim(dim, x.ndim)
    xi = _f16(x)
    xm = xi.movedim(d, -1) if d != x.ndim - 1 else xi
    x2 = xm.reshape(-1, x._shape[d]) if xm.numel() else xm.reshape(0, x._shape[d])
    with _no_grad():
        x2 = x2.contiguous() if not x2._contig else x2
        out2 = empty_tensor(x2._shape, xi._dtype, x._storage.device)
        backend(x._storage.device).softmax(kind, x2, out2)
        out = out2.reshape(xm._shape)
        if d != x.ndim - 1:
            out = out.movedim(-1, d).contiguous()
        out = cast(out, x._dtype)
    out = out.detach()
    if needs_grad(x):
        if kind == "softmax":
            def bw(n, g):
                y = n.saved_tensor(0)
                return (y * (g - sum(g * y, d, keepdim=True)),)
            record("SoftmaxBackward0", (x,), (out,), bw, ((out, True),))
        else:
            def bw(n, g):
                y = n.saved_tensor(0)
                return (g - y.exp() * sum(g, d, keepdim=True),)
            record("LogSoftmaxBackward0", (x,), (out,), bw, ((out, True),))
    return out


def _no_grad():
    from ..autograd.grad_mode import no_grad
    return no_grad()


def softmax(x, dim=None, dtype=None, **_):
    return _softmax_like("softmax", x, -1 if dim is None else dim, dtype)


def log_softmax(x, dim=None, dtype=None, **_):
    return _softmax_like("log_softmax", x, -1 if dim is None else dim, dtype)


def _all_any(kind, x, dim, keepdim):
    odt = D.uint8 if x._dtype is D.uint8 else D.bool_  # torch keeps uint8
    if isinstance(dim, (tuple, list)) and len(dim) == 0:  # dim=() reduces nothing
        return cast(x != 0, odt)
    dims = normalize_dims(dim, x.ndim, kind)
    r = _run(kind, cast(x, D.bool_), dims, keepdim, D.bool_)
    return cast(r, odt) if odt is not D.bool_ else r


def all(x, dim=None, keepdim=False):
    return _all_any("all", x, dim, keepdim)


def any(x, dim=None, keepdim=False):
    return _all_any("any", x, dim, keepdim)


def count_nonzero(x, dim=None):
    return sum(x != 0, dim)


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """Vector p-norm over ``dim`` (all elements when None); 'fro' is the 2-norm."""
    if not x._dtype.is_floating_point and dtype is None:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {x._dtype.name.capitalize()} (convert with .float())")
    if p == "nuc":  # torch.norm hands 'nuc' to the matrix norm over ``dim`` (all dims if None)
        from ..linalg import matrix_norm
        dims = tuple(range(x.ndim)) if dim is None else dim
        return matrix_norm(x, "nuc", dim=dims, keepdim=keepdim)
    if p == "fro" or p == 2 or p is None:
        return _norm2(x, dim, keepdim)
    if p == math.inf or p == "inf":
        return amax(x.abs(), () if dim is None else dim, keepdim)
    if p == -math.inf:
        return amin(x.abs(), () if dim is None else dim, keepdim)
    if p == 1:
        return sum(x.abs(), dim, keepdim)
    if p == 0:
        return sum((x != 0).to(x._dtype), dim, keepdim)
    return sum(x.abs() ** p, dim, keepdim) ** (1.0 / p)


def _scan(kind, x, dim, dtype=None):
    if dtype is not None:
        x = cast(x, D.to_dtype(dtype))
    elif not x._dtype.is_floating_point:
        x = cast(x, D.int64)
    if x.ndim == 0:
        _wrap_dim(dim, 1)
        out, _ = _scan(kind, x.reshape(1), 0, x._dtype)
        return out.reshape(()), 0
    d = _wrap_dim(dim, x.ndim)
    if x.numel() == 0:
        return empty_tensor(x._shape, x._dtype, x._storage.device), d
    xi = _f16(x)
    with _no_grad():
        xm = xi.movedim(d, -1).contiguous()
        x2 = xm.reshape(-1, x._shape[d])
        out2 = empty_tensor(x2._shape, xi._dtype, x._storage.device)
        backend(x._storage.device).scan(kind, x2, out2)
        out = cast(out2.reshape(xm._shape).movedim(-1, d).contiguous(), x._dtype)
    return out.detach(), d


def cumsum(x, dim, dtype=None):
    out, d = _scan("cumsum", x, dim, dtype)
    if needs_grad(x):
        def bw(n, g):
            return (sum(g, d, keepdim=True) - cumsum(g, d) + g,)
        record("CumsumBackward0", (x,), (out,), bw)
    return out


def cumprod(x, dim, dtype=None):
    out, d = _scan("cumprod", x, dim, dtype)
    if needs_grad(x):
        def bw(n, g):
            xx, y = n.saved_tensor(0), n.saved_tensor(1)
            if bool((xx == 0).any()):
                return (_cumprod_grad_with_zeros(xx, g, d),)
            gy = g * y
            rev = sum(gy, d, keepdim=True) - cumsum(gy, d) + gy
            return (rev / xx,)
        record("CumprodBackward0", (x,), (out,), bw, ((x, False), (out, True)))
    return out


def _cumprod_grad_with_zeros(x, g, d):
    """d/dx_i of sum_j g_j prod_{k<=j} x_k without dividing by x (which has zeros):
    prod_{k<i} x_k * sum_{j>=i} g_j prod_{i<k<=j} x_k, with an (n, n) table per row."""
    from .creation import arange, ones
    if x.ndim == 0:
        return g.clone()
    xt, gt = x.movedim(d, -1), g.movedim(d, -1)
    n = xt.shape[-1]
    i = ones(n, n, dtype=D.bool_, device=x.device)
    strict, upper = i.triu(1), i.triu(0)
    table = where(strict, xt.unsqueeze(-2), 1.0).cumprod(-1)      # [i, j] = prod_{i<k<=j}
    tail = (where(upper, table, 0.0) * gt.unsqueeze(-2)).sum(-1)  # sum over j >= i
    first = arange(n, device=x.device) == 0
    head = where(first, 1.0, xt.roll(1, -1)).cumprod(-1)          # prod_{k<i} x_k
    return (head * tail).movedim(-1, d)


def _rowwise_pair(kind, x, d, *args, k=None):
    """Run a (values, indices) row kernel along dim ``d``; returns tensors shaped like x."""
    xi = _f16(x)
    kk = x._shape[d] if k is None else k
    if x.numel() == 0:
        shape = x._shape[:d] + (kk,) + x._shape[d + 1:]
        return (empty_tensor(shape, x._dtype, x._storage.device),
                empty_tensor(shape, D.int64, x._storage.device))
    with _no_grad():
        xm = xi.movedim(d, -1).contiguous()
        x2 = xm.reshape(-1, x._shape[d])
        vals = empty_tensor((x2._shape[0], kk), xi._dtype, x._storage.device)
        idx = empty_tensor((x2._shape[0], kk), D.int64, x._storage.device)
        backend(x._storage.device).pair(kind, x2, vals, idx, *args)
        shape = xm._shape[:-1] + (kk,)
        vals = cast(vals.reshape(shape).movedim(-1, d).contiguous(), x._dtype)
        idx = idx.reshape(shape).movedim(-1, d).contiguous()
    return vals.detach(), idx.detach()


def _gather_backward(in_shape, d, idx, name, vals, x):
    if needs_grad(x):
        def bw(n, g):
            from .index import scatter_add
            from .creation import zeros
            z = zeros(in_shape, dtype=g._dtype, device=g.device)
            return (scatter_add(z, d, idx, g),)
        record(name, (x,), (vals,), bw)


def sort(x, dim=-1, descending=False, stable=False):
    if x.ndim == 0:
        return return_sort((x.clone(), x.new_zeros((), dtype=D.int64)))
    d = _wrap_dim(dim, x.ndim)
    vals, idx = _rowwise_pair("sort", x, d, bool(descending), bool(stable))
    _gather_backward(x._shape, d, idx, "SortBackward0", vals, x)
    return return_sort((vals, idx))


def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending, stable)[1]


def topk(x, k, dim=-1, largest=True, sorted=True):
    if x._dtype is D.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    d = _wrap_dim(dim, x.ndim) if x.ndim else 0
    if x.ndim == 0:  # as a 1-element row, results 0-d again
        if k not in (0, 1):
            raise RuntimeError(f"topk: k ({k}) is out of range for a 0-d tensor")
        v, i = topk(x.reshape(1), k, 0, largest, sorted)
        return return_topk((v.reshape(()) if k else v, i.reshape(()) if k else i))
    if not 0 <= k <= x._shape[d]:
        raise RuntimeError(f"topk: k ({k}) is out of range for dimension {d} of size "
                           f"{x._shape[d]}")
    vals, idx = _rowwise_pair("topk", x, d, bool(largest), bool(sorted), k=k)
    _gather_backward(x._shape, d, idx, "TopkBackward0", vals, x)
    return return_topk((vals, idx))


def median(x, dim=None, keepdim=False):
    """Lower median (PyTorch's definition); with ``dim``, (values, indices)."""
    if x._dtype is D.bool_:
        raise NotImplementedError(f"\"{'median_cpu' if dim is None else 'median_out'}\" not "
                                  "implemented for 'Bool'")
    if dim is None:
        with _no_grad():
            v = median(x.reshape(-1), 0)[0] if x.numel() else nan_scalar(x)
        return evenly_distribute(x, v, "MedianBackward0")
    if x.ndim == 0:  # one element: itself at index 0
        _wrap_dim(dim, 1)
        return return_median((x.clone(), x.new_zeros((), dtype=D.int64)))
    d = _wrap_dim(dim, x.ndim)
    if x._shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size "
                         f"(input shape {shape_str(x._shape)})")
    vals, idx = _rowwise_pair("median", x, d, k=1)
    _gather_backward(x._shape, d, idx, "MedianBackward1", vals, x)  # on the keepdim values
    if not keepdim:
        vals, idx = relabel(vals.squeeze(d), "MedianBackward1"), idx.squeeze(d)
    return return_median((vals, idx))


def nan_scalar(x: Tensor) -> Tensor:
    """A 0-d nan of x's dtype (the median of nothing; integers get nan's cast, as in torch)."""
    from .creation import full
    return cast(full((), float("nan"), dtype=D.float64, device=x.device), x._dtype)


def evenly_distribute(x: Tensor, v: Tensor, name: str) -> Tensor:
    """Record ``v`` (0-d, picked from x's elements) as a whole-tensor reduction of ``x`` whose
    gradient is shared evenly by every element equal to ``v`` (by every nan when ``v`` is nan),
    torch's backward of max(), min(), median() and nanmedian() without a dim."""
    out = v.detach()  # (v itself, made without grad, is what backward holds: no cycle)
    if needs_grad(x):
        def bw(n, g):
            xx = n.saved_tensor(0)
            mask = where(v.isnan(), xx.isnan(), xx == v)
            return (where(mask, g / sum(mask), 0.0),)
        record(name, (x,), (out,), bw, ((x, False),))
    return out


def _cumext(kind, x, dim):
    if x.ndim == 0:  # one element: itself at index 0
        _wrap_dim(dim, 1)
        return x.clone(), x.new_zeros((), dtype=D.int64)
    d = _wrap_dim(dim, x.ndim)
    vals, idx = _rowwise_pair(kind, x, d)
    _gather_backward(x._shape, d, idx, kind.capitalize() + "Backward0", vals, x)
    return vals, idx


def cummax(x, dim):
    return return_cummax(_cumext("cummax", x, dim))


def cummin(x, dim):
    return return_cummin(_cumext("cummin", x, dim))


def _norm2(x, dim, keepdim):
    """2-norm with PyTorch's subgradient 0 at the zero vector (sqrt's gradient is inf there)."""
    with _no_grad():
        out = sum(x * x, dim, keepdim).sqrt()
    if needs_grad(x):
        dims = normalize_dims(dim, x.ndim, "norm")

        def bw(n, g):
            xx, y = n.saved_tensor(0), n.saved_tensor(1)
            scale = where(y == 0, 0.0, g / where(y == 0, 1.0, y))
            return (_expand_grad(scale, xx, dims, keepdim) * xx,)
        record("NormBackward1" if dim is not None else "NormBackward0", (x,), (out,), bw,
               ((x, False), (out, True)))
    return out
