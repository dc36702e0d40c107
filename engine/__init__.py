"""engine: a JIT-compiled tensor engine with PyTorch's API (``import engine as torch``).

Numba kernels (CPU ``@njit``, CUDA ``numba.cuda``) over strided tensors, C++ view arithmetic,
a tape-based autograd, and the nn / optim / utils.data / save-load layer on top.

>>> import engine as torch
>>> x = torch.tensor([[1., 0.], [-1., 1.]], requires_grad=True)
>>> x.pow(2).sum().backward(); x.grad
tensor([[ 2.,  0.],
        [-2.,  2.]])
"""

from __future__ import annotations

import importlib

from ._dtype import (dtype, float16, float32, float64, int8, int16, int32, int64, uint8,
                     get_default_dtype, set_default_dtype, promote_types, result_type,
                     finfo, iinfo, can_cast)
from ._dtype import bool_ as bool  # noqa: A001  (torch.bool)
from ._device import device, set_default_device, get_default_device
from ._size import Size
from ._tensor import Tensor
from . import _methods  # noqa: F401  (binds methods onto Tensor)
from . import interop as _interop  # noqa: F401  (binds __dlpack__ etc.; no numba.cuda import)
from ._printing import set_printoptions, get_printoptions
from .random import Generator, manual_seed, seed, initial_seed, get_rng_state, set_rng_state
from .autograd.grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode,
                                 is_grad_enabled, is_inference_mode_enabled)
from .ops.creation import (tensor, as_tensor, from_numpy, empty, zeros, ones, full, arange,
                           linspace, logspace, eye, rand, randn, randint, randperm, empty_like,
                           zeros_like, ones_like, full_like, rand_like, randn_like,
                           randint_like, normal, bernoulli, multinomial)
from .ops.elementwise import where, lerp, clamp
from .ops.reduce import (sum, mean, prod, amax, amin, max, min, argmax, argmin, var, std,
                         var_mean, std_mean, logsumexp, softmax, log_softmax, all, any,
                         cumsum, cumprod, sort, argsort, topk, median, norm, count_nonzero,
                         cummax, cummin, nansum, aminmax)
from .ops.matmul import (matmul, mm, bmm, addmm, dot, outer, mv, einsum, baddbmm, tensordot,
                         set_matmul_backend, get_matmul_backend)
from .ops.views import (reshape, permute, transpose, squeeze, unsqueeze, flatten, unflatten,
                        narrow, select, as_strided, clone, unbind, split, chunk, movedim)
from ._functions_ns import *  # noqa: F401,F403  (engine.exp, engine.add, ... one per op)
from . import _functions_ns
from .ops.shape import *  # noqa: F401,F403
from .ops.index import *  # noqa: F401,F403
from ._legacy import *  # noqa: F401,F403  (engine.FloatTensor, ...)
from .ops.extra import *  # noqa: F401,F403  (diff, cross, kron, tensor_split, ...)
from .ops.arith_extra import *  # noqa: F401,F403  (rsub)
from .ops.more import *  # noqa: F401,F403  (quantile, cdist, cov, kthvalue, strided, ...)
from .ops.linalg_top import *  # noqa: F401,F403  (inverse, det, svd, ... over engine.linalg)
from .special import erfc, erfinv, lgamma, digamma, polygamma, mvlgamma, i0  # noqa: F401
from .ops.surface import *  # noqa: F401,F403  (asinh, gcd, conv2d, dropout, exp_, ... the rest)
from . import _methods_surface  # noqa: F401,E402  (their Tensor methods)

from .ops._out import with_out as _with_out

# PyTorch's out= keyword (compute, check dtype/device/grad, write into out, return out)
_OUT_FNS = _functions_ns.__all__ + [
    "matmul", "mm", "bmm", "addmm", "dot", "outer", "mv", "baddbmm", "tensordot", "where",
    "lerp", "clamp", "sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin",
    "var", "std", "logsumexp", "cumsum", "cumprod", "sort", "topk", "median", "norm", "nansum",
    "softmax", "log_softmax", "cat", "concat", "concatenate", "stack", "hstack", "vstack",
    "dstack", "column_stack", "gather", "index_select", "masked_select", "nonzero", "take",
    "cross", "diff", "kron", "cummax", "cummin", "aminmax", "std_mean", "var_mean", "trace",
    "tril", "triu", "flip", "roll", "bucketize", "searchsorted", "count_nonzero"]
for _n in _OUT_FNS:
    _f = globals().get(_n)
    if callable(_f) and not getattr(_f, "_with_out", False) and _n not in (
            "isclose", "allclose", "equal"):
        globals()[_n] = _with_out(_f, _n)
del _n, _f

pi, e, inf, nan = 3.141592653589793, 2.718281828459045, float("inf"), float("nan")
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
uint8 = uint8
cfloat = None
contiguous_format = preserve_format = channels_last = None

__version__ = "0.1.0"

_LAZY = {"nn", "optim", "utils", "cuda", "autograd", "backends", "testing", "linalg",
         "serialization", "jit", "distributions", "special", "fft", "accelerator",
         "amp", "profiler", "cpu"}

from . import func  # noqa: E402  (torch.func: grad, vmap, ...; definitions only)
from .amp import autocast, is_autocast_enabled, get_autocast_dtype  # noqa: E402
from ._extras import *  # noqa: E402,F401,F403  (compile, use_deterministic_algorithms, ...)
vmap = func.vmap


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    if name in ("save", "load"):
        from . import serialization
        return getattr(serialization, name)
    if name == "from_dlpack":
        from .interop import from_dlpack
        return from_dlpack
    raise AttributeError(f"module 'engine' has no attribute '{name}'")


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t) -> bool:
    return t._dtype.is_floating_point


def numel(t) -> int:
    return t.numel()


def is_grad_enabled_() -> bool:
    return is_grad_enabled()


def set_num_threads(n: int) -> None:
    import numba
    numba.set_num_threads(n)


def get_num_threads() -> int:
    import numba
    return numba.get_num_threads()
