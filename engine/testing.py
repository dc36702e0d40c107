"""engine.testing: PyTorch's torch.testing (assert_close, make_tensor, assert_allclose).

>>> import engine as torch
>>> torch.testing.assert_close(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0 + 1e-7]))
"""

from __future__ import annotations

import math
import warnings
from collections import abc

import numpy as np

from . import _dtype as D
from ._tensor import Tensor

__all__ = ["assert_allclose", "assert_close", "make_tensor"]

# PyTorch's default (rtol, atol) per dtype; integers and bool compare exactly
_TOLS = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
         "float64": (1e-7, 1e-7)}


class _Mismatch(AssertionError):
    pass


def _tols(dtypes, rtol, atol):
    if (rtol is None) != (atol is None):
        raise ValueError(f"Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {'rtol' if rtol is None else 'atol'}.")
    if rtol is not None:
        return rtol, atol
    r = a = 0.0
    for dt in dtypes:
        tr, ta = _TOLS.get(dt, (0.0, 0.0))
        r, a = max(r, tr), max(a, ta)
    return r, a


def _is_number(x):
    return isinstance(x, (bool, int, float, complex, np.number, np.bool_))


def _compare_scalars(a, e, rtol, atol, equal_nan, check_dtype):
    if check_dtype and type(a) is not type(e):
        raise _Mismatch(f"The (d)types do not match: {type(a)} != {type(e)}.")
    is_float = isinstance(a, float) or isinstance(e, float)
    names = ["float64"] if is_float else ["int64"]
    rtol, atol = _tols(names, rtol, atol)
    if a == e or (equal_nan and is_float and math.isnan(a) and math.isnan(e)):
        return
    diff = abs(a - e)
    if diff <= atol + rtol * abs(e):
        return
    rel = diff / abs(e) if e != 0 else math.inf
    if is_float:
        raise _Mismatch(f"Scalars are not close!\n\nExpected {e} but got {a}.\n"
                        f"Absolute difference: {diff} (up to {atol} allowed)\n"
                        f"Relative difference: {rel} (up to {rtol} allowed)")
    raise _Mismatch(f"Scalars are not equal!\n\nExpected {e} but got {a}.\n"
                    f"Absolute difference: {diff}\nRelative difference: {rel}")


def _as_tensor(x):
    if isinstance(x, np.ndarray):
        from .ops.creation import from_numpy
        return from_numpy(np.ascontiguousarray(x))
    return x


def _compare_tensors(a, e, rtol, atol, equal_nan, check_device, check_dtype, check_stride):
    if tuple(a.shape) != tuple(e.shape):
        raise _Mismatch(f"The values for attribute 'shape' do not match: {a.shape} != "
                        f"{e.shape}.")
    if check_device and a.device != e.device:
        raise _Mismatch(f"The values for attribute 'device' do not match: {a.device} != "
                        f"{e.device}.")
    if check_dtype and a.dtype is not e.dtype:
        raise _Mismatch(f"The values for attribute 'dtype' do not match: {a.dtype} != "
                        f"{e.dtype}.")
    if check_stride and a.stride() != e.stride():
        raise _Mismatch(f"The values for attribute 'stride()' do not match: {a.stride()} != "
                        f"{e.stride()}.")
    rtol, atol = _tols([a.dtype.name, e.dtype.name], rtol, atol)
    an = np.asarray(a.detach()._host())
    en = np.asarray(e.detach()._host())
    if an.dtype != en.dtype:
        ct = np.promote_types(an.dtype, en.dtype)
        an, en = an.astype(ct), en.astype(ct)
    is_float = np.issubdtype(an.dtype, np.floating)
    if an.dtype == np.bool_:
        an, en = an.astype(np.int64), en.astype(np.int64)
    with np.errstate(all="ignore"):
        if is_float:
            close = (an == en) | (np.isfinite(an) & np.isfinite(en)
                                  & (np.abs(an - en) <= atol + rtol * np.abs(en)))
            if equal_nan:
                close |= np.isnan(an) & np.isnan(en)
            diff = np.abs(an - en)
            rel = diff / np.abs(en)
        else:
            diff = np.abs(an.astype(np.int64) - en.astype(np.int64))
            close = diff <= atol + rtol * np.abs(en)
            rel = diff / np.abs(en).astype(np.float64)
    if close.all():
        return
    if a.ndim == 0:
        return _compare_scalars(an.item(), en.item(), rtol, atol, equal_nan, False)
    _raise_tensor_mismatch(close, diff, rel, is_float, rtol, atol)


def _raise_tensor_mismatch(close, diff, rel, is_float, rtol, atol):
    n_bad, n = int((~close).sum()), close.size
    diff = np.where(close, 0, diff) if not is_float else diff
    bad_diff = np.where(~close, diff, -np.inf if is_float else -1)
    bad_rel = np.where(~close, rel, -np.inf)
    ia = _argmax_nan(bad_diff, close.shape)
    ir = _argmax_nan(bad_rel, close.shape)
    da = diff[ia].item()
    dr = rel[ir].item()
    head = "Tensor-likes are not close!" if is_float else "Tensor-likes are not equal!"
    pct = 100.0 * n_bad / n
    lines = [head, "", f"Mismatched elements: {n_bad} / {n} ({pct:.1f}%)"]
    if is_float:
        lines += [f"Greatest absolute difference: {da} at index {ia} (up to {atol} allowed)",
                  f"Greatest relative difference: {dr} at index {ir} (up to {rtol} allowed)"]
    else:
        lines += [f"Greatest absolute difference: {da} at index {ia}",
                  f"Greatest relative difference: {dr} at index {ir}"]
    raise _Mismatch("\n".join(lines))


def _argmax_nan(x, shape):
    flat = x.reshape(-1)
    nan = np.isnan(flat)
    i = int(np.argmax(nan)) if nan.any() else int(np.argmax(flat))
    return tuple(int(v) for v in np.unravel_index(i, shape))


def _compare(a, e, path, kw):
    try:
        _compare_one(a, e, path, kw)
    except _Mismatch as err:
        if path and "\n\nThe failure occurred for item" not in str(err):
            where = "".join(f"[{p!r}]" for p in path)
            raise _Mismatch(f"{err}\n\nThe failure occurred for item {where}") from None
        raise


def _compare_one(a, e, path, kw):
    a, e = _as_tensor(a), _as_tensor(e)
    if isinstance(a, Tensor) and isinstance(e, Tensor):
        return _compare_tensors(a, e, kw["rtol"], kw["atol"], kw["equal_nan"],
                                kw["check_device"], kw["check_dtype"], kw["check_stride"])
    if _is_number(a) and _is_number(e):
        return _compare_scalars(a.item() if isinstance(a, np.generic) else a,
                                e.item() if isinstance(e, np.generic) else e, kw["rtol"],
                                kw["atol"], kw["equal_nan"], kw["check_dtype"])
    if isinstance(a, abc.Mapping) and isinstance(e, abc.Mapping):
        ka, ke = list(a.keys()), list(e.keys())
        if set(ka) != set(ke):
            miss = sorted(set(ke) - set(ka), key=repr)
            extra = sorted(set(ka) - set(ke), key=repr)
            raise _Mismatch("The keys of the mappings do not match:\n"
                            f"Missing keys in the actual mapping: {miss}\n"
                            f"Additional keys in the actual mapping: {extra}")
        for k in ke:
            _compare(a[k], e[k], path + [k], kw)
        return
    seq = (abc.Sequence,)
    if isinstance(a, seq) and isinstance(e, seq) and not isinstance(a, str) \
            and not isinstance(e, str):
        if len(a) != len(e):
            raise _Mismatch(f"The length of the sequences mismatch: {len(a)} != {len(e)}")
        for i, (x, y) in enumerate(zip(a, e)):
            _compare(x, y, path + [i], kw)
        return
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(a)} and "
                    f"{type(e)}.")


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise AssertionError unless ``actual`` and ``expected`` are close:
    |actual - expected| <= atol + rtol * |expected| elementwise (defaults per dtype as
    PyTorch: float32 1.3e-6/1e-5, float64 1e-7/1e-7, integers exact). Works on tensors,
    numbers, numpy arrays and nested sequences/mappings of them."""
    if (rtol is None) != (atol is None):
        _tols([], rtol, atol)
    kw = {"rtol": rtol, "atol": atol, "equal_nan": equal_nan, "check_device": check_device,
              "check_dtype": check_dtype, "check_stride": check_stride}
    try:
        _compare(actual, expected, [], kw)
    except _Mismatch as err:
        if msg is None:
            raise AssertionError(str(err)) from None
        raise AssertionError(msg(str(err)) if callable(msg) else msg) from None


def assert_allclose(actual, expected, rtol=None, atol=None, equal_nan=True, msg=""):
    """Deprecated (PyTorch): use assert_close. Numbers and sequences are turned into tensors
    like ``expected``; dtypes are not checked."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be "
                  "removed in a future release. Please use `torch.testing.assert_close()` "
                  "instead.", FutureWarning, stacklevel=2)
    from .ops.creation import tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = _tols([actual.dtype.name, expected.dtype.name], None, None)
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan,
                 check_device=True, check_dtype=False, msg=msg or None)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None):
    """A random tensor: floats uniform in [low, high) (default [-9, 9]), integers in
    [low, high) (default [-9, 10), [0, 10) unsigned), random bools."""
    from .ops.creation import from_numpy
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    dtype = D.to_dtype(dtype) if not isinstance(dtype, D.dtype) else dtype
    if requires_grad and not dtype.is_floating_point:
        raise ValueError("`requires_grad=True` is not supported for boolean and integral "
                         f"dtypes, but got dtype={dtype}")
    rng = np.random.default_rng(np.random.randint(0, 2 ** 31))
    if dtype is D.bool_:
        arr = rng.integers(0, 2, shape).astype(bool)
    elif dtype.is_floating_point:
        lo = -9.0 if low is None else float(low)
        hi = 9.0 if high is None else float(high)
        if lo >= hi and not (low is not None and high is not None and lo == hi):
            raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
        arr = rng.uniform(lo, hi, shape).astype(dtype.np)
    else:
        info = np.iinfo(dtype.np)
        lo = (0 if info.min == 0 else -9) if low is None else math.ceil(low)
        hi = 10 if high is None else math.ceil(high)
        if lo >= hi:
            raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
        arr = rng.integers(max(lo, info.min), min(hi, info.max), shape).astype(dtype.np)
    if exclude_zero:
        repl = np.finfo(dtype.np).tiny if dtype.is_floating_point else 1
        arr = np.where(arr == 0, np.asarray(repl, dtype=arr.dtype), arr)
    if noncontiguous and arr.size > 1:
        wide = np.repeat(arr, 2, axis=-1)
        t = from_numpy(wide)[..., ::2]
    else:
        t = from_numpy(np.ascontiguousarray(arr).reshape(shape))
    if device is not None:
        t = t.to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t
