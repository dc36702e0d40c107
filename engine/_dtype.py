"""dtypes and PyTorch's type-promotion rules."""

from __future__ import annotations

import numpy as np

__all__ = [
    "dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
    "bool_", "get_default_dtype", "set_default_dtype", "promote_types", "result_type",
    "to_dtype", "from_numpy_dtype", "finfo", "iinfo", "can_cast",
]


class dtype:
    """A tensor element type. ``repr`` is PyTorch's (``torch.float32``) so printed output matches."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "category")

    def __init__(self, name: str, np_dtype, category: int):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        self.category = category  # 0 bool, 1 integer, 2 floating: promotion works per category
        self.is_floating_point = category == 2
        self.is_signed = name not in ("uint8", "bool")

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):  # pickles as a lookup by name, so unpickling gives the singleton
        return (from_name, (self.name,))


bool_ = dtype("bool", np.bool_, 0)
uint8 = dtype("uint8", np.uint8, 1)
int8 = dtype("int8", np.int8, 1)
int16 = dtype("int16", np.int16, 1)
int32 = dtype("int32", np.int32, 1)
int64 = dtype("int64", np.int64, 1)
float16 = dtype("float16", np.float16, 2)
float32 = dtype("float32", np.float32, 2)
float64 = dtype("float64", np.float64, 2)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, float32, float64)
_BY_NP = {d.np: d for d in ALL}
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, long=int64, int=int32,
                short=int16)

_default = [float32]


def get_default_dtype() -> dtype:
    """The dtype of float tensors made from Python floats (float32 unless changed)."""
    return _default[0]


def set_default_dtype(d: dtype) -> None:
    """Set the default floating dtype (float32 or float64), as ``torch.set_default_dtype``."""
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating-point types are supported, got {d}")
    _default[0] = d


def from_name(name: str) -> dtype:
    """The dtype called ``name`` ('float32', 'torch.float32', 'float', ...); for files and
    internal tables, not user arguments (torch refuses a str dtype)."""
    name = name[6:] if name.startswith("torch.") else name
    if name in _BY_NAME:
        return _BY_NAME[name]
    raise TypeError(f"unsupported dtype {name!r}; supported: {', '.join(x.name for x in ALL)}")


def to_dtype(d) -> dtype:
    """Accept an engine dtype, a numpy dtype/type, or Python's float/int/bool (float64,
    int64, bool as torch). A str is refused with torch's TypeError."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str):
        raise TypeError(f"argument 'dtype' must be torch.dtype, not str (got {d!r}; use "
                        f"engine.{d[6:] if d.startswith('torch.') else d} rather than a string)")
    else:
        try:
            nd = np.dtype(d)
        except TypeError:
            nd = None
        if nd is not None and nd in _BY_NP:
            return _BY_NP[nd]
    raise TypeError(f"unsupported dtype {d!r}; supported: {', '.join(x.name for x in ALL)}")


def from_numpy_dtype(nd) -> dtype:
    nd = np.dtype(nd)
    if nd not in _BY_NP:
        raise TypeError(
            f"can't convert np.ndarray of type {nd}. The only supported types are: "
            + ", ".join(x.np.name for x in ALL))
    return _BY_NP[nd]


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's promote_types: the smallest dtype both can be cast to safely."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    return _BY_NP[np.promote_types(a.np, b.np)]


def _scalar_category(v) -> int:
    if isinstance(v, (bool, np.bool_)):
        return 0
    if isinstance(v, (int, np.integer)):
        return 1
    if isinstance(v, (float, np.floating)):
        return 2
    raise TypeError(f"unsupported scalar type {type(v).__name__}")


_CAT_DEFAULT = {0: bool_, 1: int64}


def result_type(*operands) -> dtype:
    """PyTorch's result_type: dimensioned tensors outrank 0-d tensors, which outrank Python
    scalars, but only within the highest category present (bool < integer < floating)."""
    tiers = ([], [], [])  # dims, zero-dim, scalars
    for x in operands:
        dt = getattr(x, "_dtype", None)
        if dt is not None:
            tiers[0 if x.ndim else 1].append(dt)
        else:
            c = _scalar_category(x)
            tiers[2].append(get_default_dtype() if c == 2 else _CAT_DEFAULT[c])
    out = None
    for tier in tiers:
        t = None
        for d in tier:
            t = d if t is None else promote_types(t, d)
        if t is None:
            continue
        if out is None or t.category > out.category:
            out = t
    return out


class finfo:
    """Machine limits of a floating dtype (``engine.finfo(engine.float32).eps``)."""

    def __init__(self, type: dtype | None = None):
        t = get_default_dtype() if type is None else type
        if not isinstance(t, dtype) or not t.is_floating_point:
            raise TypeError(f"finfo(): argument 'type' must be a floating point dtype, not {t}")
        f = np.finfo(t.np)
        self.bits, self.dtype = int(f.bits), t.name
        self.eps, self.max, self.min = float(f.eps), float(f.max), float(f.min)
        self.tiny = self.smallest_normal = float(f.tiny)
        self.resolution = 10.0 ** -int(f.precision)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``engine.iinfo(engine.int32).max``)."""

    def __init__(self, type: dtype):
        if not isinstance(type, dtype) or type.is_floating_point:
            raise TypeError(f"iinfo(): argument 'type' must be an integer dtype, not {type}")
        i = np.iinfo(type.np) if type is not bool_ else None
        self.bits = type.itemsize * 8
        self.max, self.min = (int(i.max), int(i.min)) if i is not None else (1, 0)
        self.dtype = type.name

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


def can_cast(from_: dtype, to: dtype) -> bool:
    """PyTorch's casting rule for in-place/out= results: no float -> integer, no -> bool."""
    if from_.is_floating_point and not to.is_floating_point:
        return False
    return not (from_ is not bool_ and to is bool_)
