"""Binds the ops to Tensor as methods and operators (one place, no logic here)."""

from __future__ import annotations

from . import _dtype as D
from ._device import to_device
from ._tensor import Tensor
from .ops import creation as C, elementwise as E, inplace as I, matmul as MM, reduce as R
from .ops import views as V
from .ops import elementwise_table  # noqa: F401  (fills the op table)
from .ops.elementwise import UNARY, binary, unary


def _invert(x):
    if x._dtype is D.bool_:
        return unary("logical_not", x)
    if x._dtype.is_floating_point:
        raise TypeError(f"~ (operator.invert) is only implemented on integer and Boolean-type "
                        f"tensors (got {x.dtype}; for a mask use ~(x != 0) or x.logical_not())")
    return unary("bitwise_not", x)


def _matrix_t(x, name: str):
    """``x.mT`` / ``x.mH`` (the last two dims swapped; >= 2-D) and ``x.H`` (2-D only), with
    torch's errors; on a 0-d tensor, the tensor itself (deprecated in torch)."""
    if x.ndim == 0:
        import warnings
        warnings.warn(f"Tensor.{name} is deprecated on 0-D tensors. This function is the "
                      "identity in these cases.", UserWarning, stacklevel=3)
        return x
    if name == "H" and x.ndim != 2:
        raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                           f"{x.ndim}-D tensor (shape {tuple(x.shape)})."
                           + (" For batches of matrices, consider using tensor.mH"
                              if x.ndim > 2 else ""))
    if x.ndim < 2:
        raise RuntimeError(f"tensor.{name} is only supported on matrices or batches of "
                           f"matrices. Got {x.ndim}-D tensor (shape {tuple(x.shape)}).")
    return V.transpose(x, -2, -1)


def _bind():
    T = Tensor
    # ---- elementwise unary methods and their in-place forms
    for name in ("neg", "abs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
                 "rsqrt", "reciprocal", "square", "sin", "cos", "tan", "asin", "acos", "atan",
                 "sinh", "cosh", "tanh", "sigmoid", "logit", "erf", "relu", "sign", "floor",
                 "ceil", "trunc", "frac", "isnan", "isinf", "isfinite", "isposinf",
                 "isneginf", "logical_not", "bitwise_not"):
        setattr(T, name, _unary_method(name))
        setattr(T, name + "_", _unary_inplace(name))
    T.negative = T.neg
    T.absolute = T.abs
    T.arcsin, T.arccos, T.arctan = T.asin, T.acos, T.atan
    T.round = lambda x, decimals=0: unary("round", x) if decimals == 0 else unary(
        "round_dec", x, 10.0 ** decimals)
    T.round_ = lambda x, decimals=0: I.inplace_unary("round", x, "round_")
    T.clamp = T.clip = lambda x, min=None, max=None: E.clamp(x, min, max)
    T.clamp_ = T.clip_ = lambda x, min=None, max=None: I.apply_inplace(
        x, E.clamp(x, min, max), "clamp_") if _needs(x, min, max) else _clamp_fast(x, min, max)
    T.clamp_min = lambda x, m: E.clamp(x, m, None)
    T.clamp_max = lambda x, m: E.clamp(x, None, m)
    T.nan_to_num = lambda x, nan=0.0, posinf=None, neginf=None: _nan_to_num(x, nan, posinf,
                                                                             neginf)
    T.pow = _pow
    T.pow_ = lambda x, e: I.apply_inplace(x, _pow(x, e), "pow_")
    T.__pow__ = _pow
    T.__rpow__ = lambda x, b: unary("rpow_scalar", x, b) if not isinstance(b, Tensor) and \
        D.result_type(b, x).is_floating_point else binary("pow", b, x)  # 2 ** int_t is int
    T.__ipow__ = T.pow_
    # ---- binary operators and methods
    for name, op in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("div", "div"),
                     ("floor_divide", "floor_divide"), ("remainder", "remainder"),
                     ("fmod", "fmod"), ("maximum", "maximum"), ("minimum", "minimum"),
                     ("fmax", "fmax"), ("fmin", "fmin"), ("atan2", "atan2"),
                     ("hypot", "hypot"), ("copysign", "copysign"), ("xlogy", "xlogy"),
                     ("eq", "eq"), ("ne", "ne"), ("lt", "lt"), ("le", "le"), ("gt", "gt"),
                     ("ge", "ge"), ("logical_and", "logical_and"),
                     ("logical_or", "logical_or"), ("logical_xor", "logical_xor"),
                     ("bitwise_and", "bitwise_and"), ("bitwise_or", "bitwise_or"),
                     ("bitwise_xor", "bitwise_xor")):
        setattr(T, name, _binary_method(op))
        setattr(T, name + "_", _binary_inplace(op))
    T.add = _add
    T.sub = _sub
    T.add_ = lambda x, o, *, alpha=1: I.inplace_binary("add", x, _scaled("add", x, o, alpha),
                                                       "add_")
    T.sub_ = lambda x, o, *, alpha=1: I.inplace_binary("sub", x, _scaled("sub", x, o, alpha),
                                                       "sub_")
    T.div = T.divide = _div
    T.div_ = lambda x, o, *, rounding_mode=None: I.apply_inplace(x, _div(x, o, rounding_mode=
                                                                        rounding_mode), "div_") \
        if rounding_mode else I.inplace_binary("div", x, o, "div_")
    T.multiply, T.subtract, T.true_divide = T.mul, T.sub, T.div
    T.greater, T.less, T.greater_equal, T.less_equal, T.not_equal = T.gt, T.lt, T.ge, T.le, T.ne
    T.arctan2 = T.atan2
    ops = {"__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div",
           "__floordiv__": "floor_divide", "__mod__": "remainder", "__eq__": "eq",
           "__ne__": "ne", "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge",
           "__and__": "bitwise_and", "__or__": "bitwise_or", "__xor__": "bitwise_xor"}
    for dunder, op in ops.items():
        setattr(T, dunder, _operator(op))
    from .ops.arith_extra import rsub
    T.__rsub__ = lambda x, o: rsub(x, o)
    # made under inference_mode (its storage was): not to be saved for backward
    T.is_inference = lambda x: x._storage.inference
    for dunder, op in (("__radd__", "add"), ("__rmul__", "mul"),
                       ("__rtruediv__", "div"), ("__rfloordiv__", "floor_divide"),
                       ("__rmod__", "remainder"), ("__rand__", "bitwise_and"),
                       ("__ror__", "bitwise_or"), ("__rxor__", "bitwise_xor")):
        setattr(T, dunder, _roperator(op))
    for dunder, op in (("__iadd__", "add"), ("__isub__", "sub"), ("__imul__", "mul"),
                       ("__itruediv__", "div"), ("__ifloordiv__", "floor_divide"),
                       ("__imod__", "remainder"), ("__iand__", "bitwise_and"),
                       ("__ior__", "bitwise_or"), ("__ixor__", "bitwise_xor")):
        setattr(T, dunder, _binary_inplace(op))
    T.__neg__ = T.neg
    T.__pos__ = lambda x: x
    T.__abs__ = T.abs
    T.__invert__ = _invert
    T.__matmul__ = MM.matmul
    T.__rmatmul__ = lambda x, o: MM.matmul(o, x)
    T.matmul, T.mm, T.bmm, T.dot, T.mv, T.outer = MM.matmul, MM.mm, MM.bmm, MM.dot, MM.mv, \
        MM.outer
    T.addmm = lambda x, a, b, *, beta=1, alpha=1: MM.addmm(x, a, b, beta=beta, alpha=alpha)
    T.lerp = E.lerp
    T.lerp_ = lambda x, end, w: I.apply_inplace(x, E.lerp(x, end, w), "lerp_")
    T.where = lambda x, cond, other: E.where(cond, x, other)
    T.addcmul = lambda x, a, b, *, value=1: x + value * a * b
    T.addcdiv = lambda x, a, b, *, value=1: x + value * a / b
    T.addcmul_ = lambda x, a, b, *, value=1: I.inplace_binary("add", x, value * a * b,
                                                              "addcmul_")
    T.addcdiv_ = lambda x, a, b, *, value=1: I.inplace_binary("add", x, value * a / b,
                                                              "addcdiv_")
    # ---- reductions
    for name in ("sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "var",
                 "std", "logsumexp", "softmax", "log_softmax", "all", "any", "cumsum",
                 "cumprod", "sort", "argsort", "topk", "median", "norm", "count_nonzero",
                 "cummax", "cummin", "nansum", "aminmax", "var_mean", "std_mean"):
        setattr(T, name, getattr(R, name))
    # ---- views and copies
    for name in ("view", "reshape", "expand", "permute", "transpose", "squeeze", "unsqueeze",
                 "flatten", "unflatten", "narrow", "select", "as_strided", "contiguous",
                 "clone", "unbind", "split", "chunk", "movedim"):
        setattr(T, name, getattr(V, name))
    T.moveaxis = T.movedim
    T.swapaxes = T.swapdims = T.transpose
    T.view_as = lambda x, o: V.view(x, o._shape)
    T.reshape_as = lambda x, o: V.reshape(x, o._shape)
    T.expand_as = lambda x, o: V.expand(x, o._shape)
    T.t = _t
    T.T = property(lambda x: V.permute(x, tuple(range(x.ndim - 1, -1, -1))))
    T.mT = property(lambda x: _matrix_t(x, "mT"))
    T.mH = property(lambda x: _matrix_t(x, "mH"))
    T.H = property(lambda x: _matrix_t(x, "H"))
    T.squeeze_ = lambda x, dim=None: _meta_inplace(x, V.squeeze(x.detach(), dim))
    T.unsqueeze_ = lambda x, dim: _meta_inplace(x, V.unsqueeze(x.detach(), dim))
    T.t_ = lambda x: _meta_inplace(x, _t(x.detach()))
    T._expand_nograd = lambda x, shape: V.make_view(x, *_expand_geom(x, shape))
    T._copy_nograd = I.copy_nograd
    T._fill_nograd = I.fill_nograd
    T.copy_ = I.copy_
    T.fill_ = lambda x, v: _fill(x, v)
    T.zero_ = lambda x: _fill(x, 0)
    # ---- dtype / device conversion
    T.to = _to
    T.type = _type
    for name, dt in (("float", D.float32), ("double", D.float64), ("half", D.float16),
                     ("long", D.int64), ("int", D.int32), ("short", D.int16),
                     ("char", D.int8), ("byte", D.uint8), ("bool", D.bool_)):
        setattr(T, name, _caster(dt))
    T.cpu = lambda x, *a, **k: _to(x, "cpu")
    T.cuda = lambda x, device=None, *a, **k: _to(x, "cuda" if device is None else
                                                 (f"cuda:{device}" if isinstance(device, int)
                                                  else device))
    T.type_as = lambda x, o: _to(x, o._dtype)
    T.new_tensor = lambda x, data, dtype=None, device=None, requires_grad=False: C.tensor(
        data, dtype=dtype or x._dtype, device=device or x.device, requires_grad=requires_grad)
    for name in ("zeros", "ones", "empty"):
        setattr(T, "new_" + name, _new_factory(getattr(C, name)))
    T.new_full = lambda x, size, fill_value, dtype=None, device=None, requires_grad=False: \
        C.full(size, fill_value, dtype=dtype or x._dtype, device=device or x.device,
               requires_grad=requires_grad)
    # ---- random in-place
    T.uniform_ = lambda x, a=0.0, b=1.0, generator=None: _rand_fill(
        x, C.rand(x._shape, generator=generator, dtype=D.float64) * (b - a) + a)
    T.normal_ = lambda x, mean=0.0, std=1.0, generator=None: _rand_fill(
        x, C.randn(x._shape, generator=generator, dtype=D.float64) * std + mean)
    T.bernoulli_ = lambda x, p=0.5, generator=None: _rand_fill(
        x, C.rand(x._shape, generator=generator, dtype=D.float64) < p)
    T.random_ = lambda x, low=0, high=None, generator=None: _rand_fill(
        x, C.randint(low, high if high is not None else 2**24, x._shape, generator=generator))
    T.exponential_ = lambda x, lambd=1.0, generator=None: _rand_fill(
        x, -(1 - C.rand(x._shape, generator=generator, dtype=D.float64)).log() / lambd)
    # ---- comparisons returning Python bools / masks (torch.Tensor.equal, .allclose, ...)
    from . import _functions_ns as FN
    T.equal, T.allclose, T.isclose = FN.equal, FN.allclose, FN.isclose


def _needs(*xs):
    from .ops._common import needs_grad
    return needs_grad(*(t for t in xs if isinstance(t, Tensor)))


def _clamp_fast(x, lo, hi):
    I._check_leaf(x, "clamp_")
    if isinstance(lo, Tensor) or isinstance(hi, Tensor) or D.result_type(
            x, *(v for v in (lo, hi) if v is not None)) is not x._dtype:
        return I.apply_inplace(x, E.clamp(x, lo, hi), "clamp_")
    if lo is not None and hi is not None:
        return I.inplace_unary("clamp", x, "clamp_", lo, hi)
    return I.inplace_unary("clamp_min" if lo is not None else "clamp_max", x, "clamp_",
                           lo if lo is not None else hi)


def _unary_method(name):
    from .ops.elementwise import fast_unary
    entry = UNARY[name]

    def method(self):
        r = fast_unary(entry, self) if name != "neg" else None
        return r if r is not None else unary(name, self)
    method.__name__ = name
    return method


def _unary_inplace(name):
    def method(self):
        return I.inplace_unary(name, self, name + "_")
    method.__name__ = name + "_"
    return method


def _binary_method(op):
    def method(self, other):
        return binary(op, self, other)
    method.__name__ = op
    return method


def _binary_inplace(op):
    def method(self, other):
        return I.inplace_binary(op, self, other, op + "_")
    return method


def _operator(op):
    from .ops.elementwise import BINARY, fast_binary
    entry = BINARY[op]

    def method(self, other):
        r = fast_binary(entry, self, other)
        if r is not None:
            return r
        if not isinstance(other, (Tensor, int, float, bool)) and not hasattr(other, "dtype"):
            return NotImplemented
        return binary(op, self, other)
    return method


def _roperator(op):
    def method(self, other):
        return binary(op, other, self)
    return method


def _scaled(name, x, other, alpha):
    """``alpha * other`` in the result dtype of ``x op other`` (PyTorch scales after
    promotion: ``int8 + bool * 3`` stays int8), with PyTorch's alpha checks."""
    if name == "sub":
        E.check_bool_arith("sub", x, other)
    if type(alpha) is not bool and alpha == 1:
        return other
    dt = D.result_type(x, other)
    if not dt.is_floating_point and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           f"point number (got alpha={alpha} for {name} of {dt} values).")
    if isinstance(alpha, bool) and dt is not D.bool_:
        raise RuntimeError("Boolean alpha only supported for Boolean results.")
    if not isinstance(other, Tensor):
        return other * alpha
    o = E.cast(other, dt)
    return binary("bitwise_and", o, bool(alpha)) if dt is D.bool_ else o * alpha


def _add(x, other, *, alpha=1):
    return binary("add", x, _scaled("add", x, other, alpha))


def _sub(x, other, *, alpha=1):
    return binary("sub", x, _scaled("sub", x, other, alpha))


def _div(x, other, *, rounding_mode=None):
    if rounding_mode is None:
        return binary("div", x, other)
    if rounding_mode == "floor":
        return binary("floor_divide", x, other)
    if rounding_mode == "trunc":
        dt = D.result_type(x, other)
        if not dt.is_floating_point:  # integers stay integers, computed in the result dtype
            E.check_bool_arith("div_trunc", x, other, dt)
            x = E.cast(x, dt) if isinstance(x, Tensor) else x
            other = E.cast(other, dt) if isinstance(other, Tensor) else other
            q = binary("floor_divide", x, other)
            fix = (binary("remainder", x, other) != 0) & ((x < 0) ^ (other < 0))
            return E.where(fix, q + 1, q)
        return unary("trunc", binary("div", x, other))
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                     f"found '{rounding_mode}'")


def _pow(x, e):
    if isinstance(e, Tensor):
        return binary("pow", x, e)
    if not isinstance(e, (int, float)):
        return NotImplemented
    if isinstance(e, float) and not x._dtype.is_floating_point:
        x = E.cast(x, D.get_default_dtype())
    elif type(e) is int and x._dtype is D.bool_ and e >= 0:  # bool ** int -> int64, as torch
        x = E.cast(x, D.int64)
    elif isinstance(e, int) and e < 0 and not x._dtype.is_floating_point:
        raise RuntimeError(f"pow: Integers to negative integer powers are not allowed (got "
                           f"{x._dtype} ** {e}); use a float tensor, e.g. x.float() ** {e}")
    if e == 2:
        return unary("square", x)
    if e == 1:
        return unary("identity", x)
    return unary("pow_scalar", x, e)


def _nan_to_num(x, nan, posinf, neginf):
    import numpy as np
    if not x._dtype.is_floating_point:
        return x.clone()
    fi = np.finfo(x._dtype.np)
    r = unary("nan_to_num", x, fi.max if posinf is None else posinf,
              fi.min if neginf is None else neginf)
    return r if nan == 0 else E.where(x != x, nan, r)


def _t(x):
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    if x.ndim < 2:
        return x
    from .autograd.graph import relabel
    return relabel(V.transpose(x, 0, 1), "TBackward0")


def _meta_inplace(x, v):
    x._shape, x._stride, x._contig = v._shape, v._stride, v._contig
    x._storage.version += 1  # PyTorch bumps the version on in-place metadata ops too
    return x


def _expand_geom(x, shape):
    from . import _strided as S
    s, st = S.expand(x._shape, x._stride, tuple(shape))
    return s, st, x._offset


def _fill(x, v):
    if isinstance(v, Tensor):
        if v.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {v.ndim} dimensions.")
        return I.copy_(x, v)
    I._check_leaf(x, "fill_")
    I.fill_nograd(x, v)
    I._bump(x, "fill_")
    return x


def _rand_fill(x, src):
    from .autograd.grad_mode import no_grad
    with no_grad():
        I.copy_nograd(x, src.to(x.device))
    I._bump(x, "random_")
    return x


def _caster(dt):
    def method(self, memory_format=None):
        return E.cast(self, dt)
    return method


def _to(x, *args, **kwargs):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; copy=False."""
    dtype = kwargs.get("dtype")
    device = kwargs.get("device")
    copy = kwargs.get("copy", False)
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a._dtype, a.device
        elif isinstance(a, D.dtype) or a in (float, int, bool):
            dtype = a
        elif a is not None and not isinstance(a, bool):
            device = a
    out = x
    if device is not None:
        dev = to_device(device)
        if dev != x._storage.device:
            from ._transfer import to_device_copy
            out = to_device_copy(x, dev)
    if dtype is not None:
        out = E.cast(out, D.to_dtype(dtype))
    if copy and out is x:
        out = x.clone()
    return out


def _type(x, dtype=None, **_):
    names = {D.float32: "torch.FloatTensor", D.float64: "torch.DoubleTensor",
             D.float16: "torch.HalfTensor", D.int64: "torch.LongTensor",
             D.int32: "torch.IntTensor", D.int16: "torch.ShortTensor",
             D.int8: "torch.CharTensor", D.uint8: "torch.ByteTensor",
             D.bool_: "torch.BoolTensor"}
    if dtype is None:
        n = names[x._dtype]
        return n if x.is_cpu else n.replace("torch.", "torch.cuda.")
    if isinstance(dtype, type) and isinstance(getattr(dtype, "_dtype", None), D.dtype):
        dtype = dtype._dtype  # engine.FloatTensor and friends
    if isinstance(dtype, str):
        inv = {v.split(".")[-1]: k for k, v in names.items()}
        if dtype.split(".")[-1] not in inv:
            raise ValueError(f"invalid type: '{dtype}' (Tensor.type takes e.g. "
                             f"'torch.FloatTensor' or a dtype)")
        dtype = inv[dtype.split(".")[-1]]
    return E.cast(x, D.to_dtype(dtype))


def _new_factory(fn):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **_):
        return fn(*size, dtype=dtype or self._dtype, device=device or self.device,
                  requires_grad=requires_grad)
    return method


_bind()
