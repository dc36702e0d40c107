"""softmax / log_softmax / softmin / logsumexp for nn.functional: the engine's fused kernels
when present, else a numerically stable composition (max-shifted exp/sum/log)."""

from __future__ import annotations

import warnings

from .. import _dtype as D
from .._tensor import Tensor
from ..ops import reduce as R
from ..ops.elementwise import where

__all__ = ["log_softmax", "logsumexp", "softmax", "softmin"]

_fused = {"softmax": True, "log_softmax": True, "logsumexp": True}


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _prep(input, dtype):
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    return input


def _shifted(x, dim):
    m = x.detach().amax(dim, keepdim=True)
    return x - where(m.isfinite(), m, 0.0)


def _lse_keep(x, dim):
    """log(sum(exp(x), dim, keepdim=True)), stable; differentiable through x."""
    z = _shifted(x, dim)
    return z.exp().sum(dim, keepdim=True).log() + (x - z).detach()


def _try(kind, fn, *args):
    if _fused[kind]:
        try:
            return fn(*args)
        except (ImportError, AttributeError, NotImplementedError):
            _fused[kind] = False
    return None


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``."""
    if dim is None:
        dim = _softmax_dim("softmax", input.ndim)
    x = _prep(input, dtype)
    r = _try("softmax", R.softmax, x, dim)
    if r is not None:
        return r
    if x.ndim == 0:
        return (x - x).exp()
    e = _shifted(x, dim).exp()
    return e / e.sum(dim, keepdim=True)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (stable for large logits)."""
    if dim is None:
        dim = _softmax_dim("log_softmax", input.ndim)
    x = _prep(input, dtype)
    r = _try("log_softmax", R.log_softmax, x, dim)
    if r is not None:
        return r
    if x.ndim == 0:
        return x - x
    z = _shifted(x, dim)
    return z - z.exp().sum(dim, keepdim=True).log()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    return softmax(-_prep(input, dtype), dim)


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    r = _try("logsumexp", R.logsumexp, input, dim, keepdim)
    if r is not None:
        return r
    n = max(input.ndim, 1)
    dims = tuple(sorted({d % n for d in ((dim,) if isinstance(dim, int) else dim)}))
    out = _lse_keep(input, dims)
    if keepdim:
        return out
    return out.reshape(tuple(s for i, s in enumerate(input.shape) if i not in dims))
