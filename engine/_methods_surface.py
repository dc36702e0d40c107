"""Tensor methods of the API-surface additions (engine/ops/surface.py): aliases, in-place forms
and the new ops as methods. Bound once at import, after engine/_methods.py."""

from __future__ import annotations

from . import _dtype as D
from ._tensor import Tensor
from .ops import inplace as I
from .ops import surface as S
from .ops._common import needs_grad


def _inplace_of(fn, opname):
    """``x.op_(...)``: compute ``fn(x, ...)`` out of place and write it into x (version bump,
    autograd rebase; x is cloned first when it needs grad, as its old value may be saved)."""
    def method(self, *args, **kwargs):
        I._check_leaf(self, opname)
        src = self.clone() if needs_grad(self) else self
        return I.apply_inplace(self, fn(src, *args, **kwargs), opname)
    method.__name__ = opname
    return method


def _meta(x, v):
    x._shape, x._stride, x._contig, x._offset = v._shape, v._stride, v._contig, v._offset
    x._storage.version += 1
    return x


def _resize(x, *sizes, _what="resize"):
    import warnings
    warnings.warn(f"non-inplace {_what} is deprecated", UserWarning, stacklevel=2)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) or (
            len(sizes) == 1 and hasattr(sizes[0], "__len__")):
        sizes = tuple(sizes[0])
    import math
    if math.prod(sizes) == x.numel():
        return x.reshape(sizes)
    return x.detach().clone().resize_(sizes)


def _bernoulli(x, p=None, *, generator=None):
    from .ops.creation import bernoulli, rand
    if p is None:
        return bernoulli(x, generator=generator)
    return (rand(x.shape, generator=generator, device=x.device) < p).to(x._dtype)


def _bind():
    T = Tensor
    for name in ("asinh", "acosh", "atanh", "gcd", "lcm", "igamma", "igammac", "sgn", "fix",
                 "ldexp", "logaddexp2", "frexp", "nextafter", "select_scatter", "slice_scatter",
                 "diagonal_scatter", "as_strided_scatter", "index_reduce", "renorm",
                 "histogram", "hardshrink", "prelu", "ger", "adjoint", "is_same_size",
                 "is_signed", "split_with_sizes", "unsafe_split", "unsafe_chunk"):
        setattr(T, name, getattr(S, name))
    T.arcsinh, T.arccosh, T.arctanh = T.asinh, T.acosh, T.atanh
    for name in ("asinh", "acosh", "atanh", "gcd", "lcm", "igamma", "igammac", "sgn", "fix",
                 "ldexp", "nextafter", "index_reduce", "renorm"):
        setattr(T, name + "_", _inplace_of(getattr(S, name), name + "_"))
    T.arcsinh_, T.arccosh_, T.arctanh_ = T.asinh_, T.acosh_, T.atanh_
    # aliases of existing in-place forms
    T.absolute_, T.negative_ = T.abs_, T.neg_
    T.arcsin_, T.arccos_, T.arctan_, T.arctan2_ = T.asin_, T.acos_, T.atan_, T.atan2_
    T.divide_ = T.true_divide_ = T.div_
    T.multiply_, T.subtract_ = T.mul_, T.sub_
    T.greater_, T.greater_equal_, T.less_, T.less_equal_, T.not_equal_ = (
        T.gt_, T.ge_, T.lt_, T.le_, T.ne_)
    # in-place forms of existing out-of-place methods
    from .ops.matmul import baddbmm
    T.baddbmm = lambda x, b1, b2, *, beta=1, alpha=1: baddbmm(x, b1, b2, beta=beta, alpha=alpha)
    for name in ("addmm", "baddbmm", "cumsum", "cumprod", "deg2rad", "rad2deg", "mvlgamma"):
        if not hasattr(T, name + "_"):
            setattr(T, name + "_", _inplace_of(getattr(T, name), name + "_"))
    T.polygamma_ = _inplace_of(lambda x, n: x.polygamma(n), "polygamma_")
    for name in ("clamp_min", "clamp_max"):
        if not hasattr(T, name + "_"):
            setattr(T, name + "_", _inplace_of(getattr(T, name), name + "_"))
    # views and metadata
    T.swapaxes_ = T.swapdims_ = T.transpose_ = lambda x, d0, d1: _meta(
        x, x.detach().transpose(d0, d1))
    if not hasattr(T, "as_strided_"):
        T.as_strided_ = lambda x, size, stride, storage_offset=None: _meta(
            x, x.detach().as_strided(size, stride, x._offset if storage_offset is None
                                     else storage_offset))
    T.resize = _resize
    T.resize_as = lambda x, other: _resize(x, tuple(other.shape), _what="resize_as")
    T.resize_as_ = lambda x, other, memory_format=None: x.resize_(tuple(other.shape))
    T.output_nr = property(lambda x: x._output_nr)
    T.storage = lambda x: x._storage
    T.isreal = lambda x: S.fill(x.detach().to(D.bool_), True)
    T.new_empty_strided = lambda x, size, stride, *, dtype=None, device=None, \
        requires_grad=False, **_: S.empty_strided(size, stride, dtype=dtype or x._dtype,
                                                  device=device or x.device,
                                                  requires_grad=requires_grad)
    # sampling
    T.bernoulli = _bernoulli
    from .ops.creation import multinomial
    T.multinomial = lambda x, num_samples, replacement=False, *, generator=None: multinomial(
        x, num_samples, replacement, generator=generator)


_bind()
