"""Constructors and random number generation."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _dtype as D
from .._device import to_device, CPU
from .._storage import Storage
from .._tensor import Tensor, make, empty_tensor, contiguous_strides
from ..random import default_generator
from ._out import factory_out

__all__ = ["tensor", "as_tensor", "from_numpy", "empty", "zeros", "ones", "full", "arange",
           "linspace", "logspace", "eye", "rand", "randn", "randint", "randperm", "empty_like",
           "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "randint_like",
           "normal", "bernoulli", "multinomial"]


def _shape_arg(size) -> tuple:
    if len(size) == 1 and not isinstance(size[0], numbers.Integral):
        size = size[0]
        if isinstance(size, numbers.Integral):
            size = (size,)
    shape = tuple(int(s) for s in size)
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: "
                               f"{list(shape)}")
    return shape


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        t.requires_grad_(True)
    return t


def _from_host(arr: np.ndarray, dt: D.dtype, device, requires_grad=False) -> Tensor:
    """Copy a host array into a new tensor of dtype ``dt`` on ``device``."""
    dev = to_device(device)
    arr = np.asarray(arr)
    t = empty_tensor(arr.shape, dt, CPU)
    if arr.size:
        np.copyto(t._np(), arr, casting="unsafe")
    if dev.type != "cpu":
        t = t.to(dev)
    return _finish(t, requires_grad)


def _infer_dtype(data) -> D.dtype:
    """PyTorch's inference: bools -> bool, ints -> int64, floats -> default dtype."""
    kinds = set()

    def walk(x):
        if isinstance(x, Tensor):
            kinds.add(x._dtype.category)
        elif isinstance(x, (list, tuple)):
            for e in x:
                walk(e)
        elif isinstance(x, (bool, np.bool_)):
            kinds.add(0)
        elif isinstance(x, (numbers.Integral,)):
            kinds.add(1)
        elif isinstance(x, numbers.Real):
            kinds.add(2)
        elif isinstance(x, str):
            raise TypeError(f"tensor(): invalid data type 'str' (got {x!r}); convert strings "
                            "to numbers first")
        else:
            raise RuntimeError(f"tensor(): Could not infer dtype of {type(x).__name__}")
    walk(data)
    if not kinds:
        return D.get_default_dtype()
    return {0: D.bool_, 1: D.int64, 2: D.get_default_dtype()}[max(kinds)]


def tensor(data, dtype=None, device=None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new tensor copying ``data`` (nested lists, scalars, numpy arrays, tensors).

    >>> engine.tensor([[1, 2], [3, 4]]).dtype
    torch.int64
    """
    if isinstance(data, Tensor):
        import warnings
        warnings.warn("To copy construct from a tensor, it is recommended to use "
                      "sourceTensor.detach().clone() or sourceTensor.detach().clone()."
                      "requires_grad_(True), rather than engine.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
        return _copy_of(data, dtype, device, requires_grad)
    if isinstance(data, np.generic) and data.dtype in D._BY_NP:
        data = np.asarray(data)  # a numpy scalar keeps its dtype, as in PyTorch
    if isinstance(data, np.ndarray):
        dt = D.to_dtype(dtype) if dtype is not None else D.from_numpy_dtype(data.dtype)
        return _from_host(data, dt, device, requires_grad)
    if hasattr(data, "__cuda_array_interface__") or hasattr(data, "__dlpack__") and not \
            isinstance(data, (list, tuple)):
        return _copy_of(as_tensor(data), dtype, device, requires_grad)
    dt = D.to_dtype(dtype) if dtype is not None else _infer_dtype(data)
    if isinstance(data, (list, tuple)) and any(isinstance(e, Tensor) for e in _flat(data)):
        data = _nested_tolist(data)
    try:
        arr = np.array(data, dtype=np.float64 if dt.is_floating_point else None)
    except ValueError as e:
        raise ValueError(f"tensor(): {e}") from None
    if arr.dtype == object:
        raise ValueError("tensor(): expected a sequence of equal-length sequences of numbers")
    if not dt.is_floating_point and arr.dtype.kind == "f" and dtype is not None:
        arr = np.trunc(arr)
    return _from_host(arr, dt, device, requires_grad)


def _copy_of(data: Tensor, dtype, device, requires_grad) -> Tensor:
    t = data.detach().clone()
    if dtype is not None:
        t = t.to(D.to_dtype(dtype))
    if device is not None:
        t = t.to(device)
    return _finish(t, requires_grad)


def _flat(x):
    for e in x:
        if isinstance(e, (list, tuple)):
            yield from _flat(e)
        else:
            yield e


def _nested_tolist(x):
    if isinstance(x, Tensor):
        return x.tolist()
    if isinstance(x, (list, tuple)):
        return [_nested_tolist(e) for e in x]
    return x


def from_numpy(arr: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``arr`` (writes show through both ways)."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(arr).__name__})")
    dt = D.from_numpy_dtype(arr.dtype)
    isz = arr.itemsize
    if any(s % isz for s in arr.strides) or any(s < 0 for s in arr.strides):
        raise ValueError("from_numpy: arrays with negative or unaligned strides are not "
                         "supported; pass arr.copy()")
    if arr.size == 0:
        return empty_tensor(arr.shape, dt, CPU)
    strides = tuple(s // isz for s in arr.strides)
    # the flat buffer spans from the lowest to the highest element the view touches
    span = 1 + sum((n - 1) * s for n, s in zip(arr.shape, strides))
    flat = np.lib.stride_tricks.as_strided(arr, (span,), (isz,))
    flat = flat if flat.flags.writeable else flat
    st = Storage(flat, CPU)
    from .. import _strided as S
    return make(st, tuple(arr.shape), strides, 0, dt, S.is_contiguous(arr.shape, strides))


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory when possible (numpy arrays, tensors, CUDA arrays)."""
    if isinstance(data, Tensor):
        t = data
        if dtype is not None:
            t = t.to(D.to_dtype(dtype))
        if device is not None:
            t = t.to(device)
        return t
    if isinstance(data, np.ndarray) and (dtype is None or D.to_dtype(dtype).np == data.dtype) \
            and data.dtype in D._BY_NP and (device is None or to_device(device).type == "cpu"):
        try:
            return from_numpy(data)
        except ValueError:
            pass
    if hasattr(data, "__cuda_array_interface__"):
        from ..cuda.interop import from_cuda_array
        t = from_cuda_array(data)
        return as_tensor(t, dtype, device)
    return tensor(data, dtype=dtype, device=device)


@factory_out
def empty(*size, dtype=None, device=None, requires_grad=False, **_) -> Tensor:
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return _finish(empty_tensor(_shape_arg(size), dt, to_device(device)), requires_grad)


@factory_out
def full(size, fill_value, dtype=None, device=None, requires_grad=False, **_) -> Tensor:
    if dtype is None:
        dt = D.result_type(fill_value)
    else:
        dt = D.to_dtype(dtype)
    t = empty_tensor(_shape_arg((size,)), dt, to_device(device))
    t._fill_nograd(fill_value)
    return _finish(t, requires_grad)


@factory_out
def zeros(*size, dtype=None, device=None, requires_grad=False, **_) -> Tensor:
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    t = empty_tensor(_shape_arg(size), dt, to_device(device))
    t._fill_nograd(0)
    return _finish(t, requires_grad)


@factory_out
def ones(*size, dtype=None, device=None, requires_grad=False, **_) -> Tensor:
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    t = empty_tensor(_shape_arg(size), dt, to_device(device))
    t._fill_nograd(1)
    return _finish(t, requires_grad)


def _like(x, dtype, device):
    return (D.to_dtype(dtype) if dtype is not None else x._dtype,
            to_device(device) if device is not None else x.device)


def empty_like(x, dtype=None, device=None, requires_grad=False, **_):
    dt, dev = _like(x, dtype, device)
    return _finish(empty_tensor(x._shape, dt, dev), requires_grad)


def zeros_like(x, dtype=None, device=None, requires_grad=False, **_):
    dt, dev = _like(x, dtype, device)
    return zeros(x._shape, dtype=dt, device=dev, requires_grad=requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad=False, **_):
    dt, dev = _like(x, dtype, device)
    return ones(x._shape, dtype=dt, device=dev, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad=False, **_):
    dt, dev = _like(x, dtype, device)
    return full(x._shape, fill_value, dtype=dt, device=dev, requires_grad=requires_grad)


@factory_out
def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False, **_):
    """Values from start to end (exclusive) by step; ints -> int64, else default float."""
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    start, end, step = vals
    if step == 0:
        raise RuntimeError("arange: step must be nonzero")
    if not all(math.isfinite(v) for v in (start, end, step)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end} (step {step}); "
                           f"the bounds must be finite")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and larger bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        dt = D.int64 if all(isinstance(v, numbers.Integral) for v in vals) \
            else D.get_default_dtype()
    else:
        dt = D.to_dtype(dtype)
    n = max(0, math.ceil((end - start) / step))
    arr = start + np.arange(n, dtype=np.float64 if dt.is_floating_point else np.int64) * step
    return _from_host(arr, dt, device, requires_grad)


@factory_out
def linspace(start, end, steps, dtype=None, device=None, requires_grad=False, **_):
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    if int(steps) < 0:
        raise RuntimeError(f"linspace: number of steps must be non-negative, got {steps}")
    arr = np.linspace(float(start), float(end), int(steps))
    return _from_host(arr, dt, device, requires_grad)


@factory_out
def logspace(start, end, steps, base=10.0, dtype=None, device=None, requires_grad=False, **_):
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    return _from_host(np.logspace(start, end, int(steps), base=base), dt, device, requires_grad)


@factory_out
def eye(n, m=None, dtype=None, device=None, requires_grad=False, **_):
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    for v, what in ((n, "n"), (m, "m")):
        if v is not None and v < 0:
            raise RuntimeError(f"eye: {what} must be greater or equal to 0, got {v}")
    return _from_host(np.eye(n, m if m is not None else n), dt, device, requires_grad)


def _gen(generator):
    return (generator or default_generator).np


def _cuda_random(kind, shape, dt, device, generator, requires_grad):
    """rand/randn on a CUDA device: the CUDA generator fills device memory (no host copy)."""
    dev = to_device(device)
    if dev.type != "cuda" or generator is not None or not dt.is_floating_point:
        return None
    from ..cuda import random as CR
    cdt = D.float32 if dt is D.float16 else dt
    t = empty_tensor(shape, cdt, dev)
    (CR.uniform_ if kind == "rand" else CR.normal_)(t)
    if cdt is not dt:
        t = t.to(dt)
    return _finish(t, requires_grad)


@factory_out
def rand(*size, generator=None, dtype=None, device=None, requires_grad=False, **_):
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    shape = _shape_arg(size)
    if device is not None:
        t = _cuda_random("rand", shape, dt, device, generator, requires_grad)
        if t is not None:
            return t
    return _from_host(_gen(generator).random(shape, dtype=np.float64), dt, device, requires_grad)


@factory_out
def randn(*size, generator=None, dtype=None, device=None, requires_grad=False, **_):
    dt = D.to_dtype(dtype) if dtype is not None else D.get_default_dtype()
    shape = _shape_arg(size)
    if device is not None:
        t = _cuda_random("randn", shape, dt, device, generator, requires_grad)
        if t is not None:
            return t
    return _from_host(_gen(generator).standard_normal(shape), dt, device, requires_grad)


@factory_out
def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad=False, **_):
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size) positionally
        size, high = high, None
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint() missing required argument 'size' (use "
                        "randint(high, size) or randint(low, high, size))")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    dt = D.to_dtype(dtype) if dtype is not None else D.int64
    shape = _shape_arg((size,))
    return _from_host(_gen(generator).integers(low, high, shape), dt, device, requires_grad)


@factory_out
def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False, **_):
    dt = D.to_dtype(dtype) if dtype is not None else D.int64
    return _from_host(_gen(generator).permutation(int(n)), dt, device, requires_grad)


def rand_like(x, dtype=None, device=None, **kw):
    dt, dev = _like(x, dtype, device)
    return rand(x._shape, dtype=dt, device=dev, **kw)


def randn_like(x, dtype=None, device=None, **kw):
    dt, dev = _like(x, dtype, device)
    return randn(x._shape, dtype=dt, device=dev, **kw)


def randint_like(x, low, high=None, dtype=None, device=None, **kw):
    dt, dev = _like(x, dtype, device)
    return randint(low, high, x._shape, dtype=dt, device=dev, **kw)


def normal(mean, std=1.0, size=None, *, generator=None, **kw):
    low = float(std.min()) if isinstance(std, Tensor) and std.numel() else (
        std if not isinstance(std, Tensor) else 0.0)
    if low < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {low:g}")
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        shape = (mean if isinstance(mean, Tensor) else std)._shape
        return randn(shape, generator=generator) * std + mean
    return randn(_shape_arg((size,)), generator=generator, **kw) * std + mean


def bernoulli(p, generator=None, **_):
    u = rand(p._shape, generator=generator, dtype=p._dtype, device=p.device)
    return (u < p).to(p._dtype)


def multinomial(probs, num_samples, replacement=False, generator=None):
    g = _gen(generator)
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape "
                           f"{list(probs.shape)}")
    p = probs.detach().double().cpu().numpy()
    rows = p.reshape(-1, p.shape[-1])
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    if (rows.sum(-1) <= 0).any():
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities "
                           "<= 0)")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(f"multinomial: cannot sample n_sample ({num_samples}) > "
                           f"prob_dist.size(-1) ({rows.shape[1]}) samples without replacement")
    out = np.stack([g.choice(rows.shape[1], num_samples, replace=replacement, p=r / r.sum())
                    for r in rows])
    return tensor(out.reshape(p.shape[:-1] + (num_samples,)), device=probs.device)


def _legacy_new(cls, *args, **kwargs):
    """``engine.Tensor(2, 3)`` / ``engine.Tensor([1., 2.])``: float tensors, as torch."""
    if not args:
        t = empty_tensor((0,), D.get_default_dtype(), CPU)
    elif all(isinstance(a, numbers.Integral) for a in args):
        t = empty_tensor(tuple(args), D.get_default_dtype(), CPU)
        t._fill_nograd(0)
    else:
        t = tensor(args[0], dtype=D.get_default_dtype())
    if cls is not Tensor:
        t.__class__ = cls
    return t
