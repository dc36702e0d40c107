"""PyTorch's legacy typed-tensor constructors: ``engine.FloatTensor([1, 2])``,
``engine.LongTensor(2, 3)``, ``isinstance(t, engine.FloatTensor)``, ``t.type(engine.FloatTensor)``.

>>> import engine
>>> engine.LongTensor([1, 2]).dtype
torch.int64
"""

from __future__ import annotations

import numbers

from . import _dtype as D

__all__ = [
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
]


class _LegacyMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        from ._tensor import Tensor
        return isinstance(obj, Tensor) and obj._dtype is cls._dtype and obj.is_cpu

    def __call__(cls, *args, device=None):
        from .ops.creation import empty, tensor
        if not args:
            return empty(0, dtype=cls._dtype, device=device)
        if all(isinstance(a, numbers.Integral) for a in args) or (
                len(args) == 1 and type(args[0]).__name__ == "Size"):
            t = empty(*args, dtype=cls._dtype, device=device)
            t._fill_nograd(0)
            return t
        if len(args) == 1:
            return tensor(args[0], dtype=cls._dtype, device=device)
        raise TypeError(f"{cls.__name__}(): expected sizes or one sequence of data, got {args}")

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"


def _make(name, dt):
    return _LegacyMeta(name, (), {"_dtype": dt, "dtype": dt, "is_cuda": False})


FloatTensor = _make("FloatTensor", D.float32)
DoubleTensor = _make("DoubleTensor", D.float64)
HalfTensor = _make("HalfTensor", D.float16)
LongTensor = _make("LongTensor", D.int64)
IntTensor = _make("IntTensor", D.int32)
ShortTensor = _make("ShortTensor", D.int16)
CharTensor = _make("CharTensor", D.int8)
ByteTensor = _make("ByteTensor", D.uint8)
BoolTensor = _make("BoolTensor", D.bool_)
