"""Elementwise ops: each declared once (name, scalar function, dtype rule, backward).

Backward rules are engine ops, so they run on any device and are differentiable."""

from __future__ import annotations

from .. import _dtype as D
from .. import _strided as S
from .._strided import broadcast_shapes
from ..autograd.graph import record
from kernels.cpu.elementwise import map_kernels, zip_kernels, PARALLEL_MIN
from .._device import CPU
from .._tensor import contiguous_strides
from ..autograd.grad_mode import _enabled
from ._common import (Tensor, empty_tensor, needs_grad, backend, scalar_array,
                      check_same_device, sum_to, shape_str)

__all__ = ["UNARY", "BINARY", "unary", "binary", "cast", "where", "lerp", "clamp",
           "check_bool_arith"]


class _Ref:
    """A scalar function named now and imported on first use, so ``import engine`` does not
    import Numba (it costs ~0.25 s)."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def resolve(self):
        from kernels import scalar
        return getattr(scalar, self.name)


class _LazyScalars:
    def __getattr__(self, name):
        return _Ref(name)


LAZY_SCALARS = _LazyScalars()


class Op:
    __slots__ = ("name", "_fn", "kind", "bw", "save", "node")

    def __init__(self, name, fn, kind, bw, save, node):
        self.name, self._fn, self.kind, self.bw, self.save = name, fn, kind, bw, save
        self.node = node or "".join(p.capitalize() for p in name.split("_")) + "Backward0"

    @property
    def fn(self):
        f = self._fn
        if isinstance(f, _Ref):
            f = self._fn = f.resolve()
        elif isinstance(f, tuple) and isinstance(f[0], _Ref):
            f = self._fn = tuple(r.resolve() for r in f)
        return f


UNARY: dict[str, Op] = {}
BINARY: dict[str, Op] = {}


def _u(name, fn, kind="float", bw=None, save="x", node=None):
    UNARY[name] = Op(name, fn, kind, bw, save, node)


def _b(name, fn, kind="promote", bw=None, save="ab", node=None):
    BINARY[name] = Op(name, fn, kind, bw, save, node)


# ---- casting -------------------------------------------------------------------------
def cast(x: Tensor, dt: D.dtype) -> Tensor:
    """Copy of ``x`` converted to ``dt`` (differentiable between float types)."""
    if x._dtype is dt:
        return x
    out = empty_tensor(x._shape, dt, x._storage.device)
    backend(x._storage.device).copy_cast(x, out)
    if dt.is_floating_point and needs_grad(x):
        src = x._dtype
        record("ToCopyBackward0", (x,), (out,), lambda n, g: (cast(g, src),))
    return out


def _compute_dtype(dt: D.dtype):
    # float16 has storage and conversion; arithmetic runs in float32 (Numba has no f16 math)
    return D.float32 if dt is D.float16 else dt


# ---- unary ---------------------------------------------------------------------------
_MK: dict = {}  # op name -> map KernelSet


def _fast_unary(op, x, p, q):
    dt = x._dtype
    st = x._storage
    if st.device is not CPU or not x._contig or dt.category != 2 or dt is D.float16 \
            or op.kind not in ("float", "same"):
        return None
    k = _MK.get(op.name)
    if k is None:
        k = _MK[op.name] = map_kernels(op.fn)
    out = empty_tensor(x._shape, dt, CPU)
    data = out._storage.data
    n = data.shape[0]
    if n:
        off = x._offset
        xv = st.data
        if off or xv.shape[0] != n:
            xv = xv[off:off + n]
        np_t = dt.np.type
        (k.flat_par if n >= PARALLEL_MIN else k.flat)(xv, data, np_t(p), np_t(q))
    return out


def fast_unary(op: Op, x: Tensor, p=0, q=0):
    """``op(x)`` by the fast path, recorded for autograd when needed; None if not applicable."""
    r = _fast_unary(op, x, p, q)
    if r is not None and op.bw is not None and (x._requires_grad or x._grad_fn is not None) \
            and _enabled.get():
        _record_unary(op, x, r, p, q)
    return r


# activations PyTorch computes only for floating types (its kernel names, as in its errors)
_FLOAT_ONLY = {"hypot": "hypot_cpu", "elu": "elu_cpu", "selu": "elu_cpu", "celu": "elu_cpu", "gelu": "GeluKernelImpl",
               "gelu_tanh": "GeluKernelImpl", "silu": "silu_cpu", "mish": "mish_cpu",
               "softplus": "softplus_cpu", "hardswish": "hardswish_cpu",
               "hardsigmoid": "hardsigmoid_cpu", "leaky_relu": "leaky_relu_cpu",
               "round_dec": "round_cpu"}


def unary(name: str, x: Tensor, p=0, q=0, out=None) -> Tensor:
    op = UNARY[name]
    if name == "neg" and isinstance(x, Tensor) and x._dtype is D.bool_:
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    if out is None and isinstance(x, Tensor):
        r = fast_unary(op, x, p, q)
        if r is not None:
            return r
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    dt = x._dtype
    if dt is D.bool_:  # PyTorch refuses bool for some ops (abs, floor, relu, ...)
        from .arith_extra import bool_unary
        r = bool_unary(name, x, p, q, out)
        if r is not None:
            return r
    if not dt.is_floating_point and name in _FLOAT_ONLY:
        from ._out import _scalar_name
        raise NotImplementedError(f'"{_FLOAT_ONLY[name]}" not implemented for '
                                  f"'{_scalar_name(dt)}' ({name} needs a floating-point "
                                  "tensor: convert with .float())")
    if op.kind == "float" and not dt.is_floating_point:
        dt = D.get_default_dtype()
    elif op.kind == "int" and dt.is_floating_point:  # NotImplementedError, as PyTorch
        raise NotImplementedError(f"{name}: not implemented for '{dt}' (expected an integer or "
                                  "bool tensor)")
    odt = D.bool_ if op.kind == "bool" else dt
    cdt = _compute_dtype(dt)
    xin = cast(x, cdt) if x._dtype is not cdt else x
    if out is None or out._dtype is not odt or odt is D.float16:
        out = empty_tensor(x._shape, _compute_dtype(odt), x._storage.device)
    np_t = cdt.np.type
    backend(x._storage.device).run_map(op.fn, out, xin, (np_t(p), np_t(q)))
    if odt is not out._dtype:
        out = cast(out, odt)
    if op.bw is not None and needs_grad(x):
        _record_unary(op, x, out, p, q)
    return out


def _record_unary(op, x, out, p, q):
    saved = ((x, False),) if op.save == "x" else ((out, True),)
    record(op.node, (x,), (out,), _unary_backward, saved, (op, p, q))


def _unary_backward(node, g):
    op, p, q = node.ctx
    t = node.saved[0].unpack(node)
    return (op.bw(g, t, p, q),)


# ---- binary --------------------------------------------------------------------------
def _operand(v, dt, dev):
    if isinstance(v, Tensor):
        if v._dtype is not dt:
            v = cast(v, dt)
        if v._storage.device != dev:  # 0-d CPU tensor used as a scalar
            v = scalar_array(v.item(), dt)
        return v
    return scalar_array(v, dt)


_ZK: dict = {}  # (op name, float?) -> zip KernelSet: skips the fn / cache lookups per call


def _fast_binary(op, a, b):
    """The common case without the general machinery: CPU tensors of one dtype (any shapes:
    broadcast strides go straight to the strided kernel, no view Tensors), or a contiguous
    tensor with a Python scalar of its own category. None otherwise (the general path then
    promotes, checks and raises)."""
    dt = a._dtype
    st = a._storage
    kind = op.kind
    if st.device is not CPU or dt is D.float16 or kind == "int":
        return None
    cat = dt.category
    if (kind == "float" and cat != 2) or (cat == 0 and kind == "promote"):
        return None  # bool arithmetic: the general path raises or promotes as PyTorch
    tb = type(b)
    geo = None
    if tb is float or tb is int:
        if not a._contig or cat < (2 if tb is float else 1):
            return None
        bv = scalar_array(b, dt)
        shape = a._shape
    elif isinstance(b, Tensor):
        if b._dtype is not dt or b._storage.device is not CPU:
            return None
        bv = None
        shape = a._shape
        if shape != b._shape or not b._contig or not a._contig:
            geo = _broadcast_geometry(a, b)
            if geo is None:
                return None
            shape = geo[0]
    else:
        return None
    k = _ZK.get((op.name, cat == 2)) or _zip_set(op, cat)
    out = empty_tensor(shape, D.bool_ if kind == "bool" else dt, CPU)
    data = out._storage.data
    n = data.shape[0]
    if n and cat != 2 and op.name in ("floor_divide", "remainder", "fmod"):
        _check_int_divisor(op.name, b)
    if n == 0:
        return out
    if geo is not None:
        _, sa, sb, so, cshape = geo
        (k.strided_par if n >= PARALLEL_MIN else k.strided)(
            st.data, a._offset, sa, b._storage.data, b._offset, sb, data, 0, so, cshape)
        return out
    off = a._offset
    av = st.data
    if off or av.shape[0] != n:
        av = av[off:off + n]
    if bv is None:
        off = b._offset
        bv = b._storage.data
        if off or bv.shape[0] != n:
            bv = bv[off:off + n]
    (k.flat_par if n >= PARALLEL_MIN else k.flat)(av, bv, data)
    return out


def _zip_set(op, cat):
    fn = op.fn
    if isinstance(fn, tuple):
        fn = fn[0] if cat == 2 else fn[1]
    k = _ZK[(op.name, cat == 2)] = zip_kernels(fn)
    return k


def _broadcast_geometry(a, b):
    """(shape, a strides, b strides, out strides, shape) of ``a op b`` collapsed and padded to
    the strided kernels' 4 dims; None when the general path must handle it (shapes that do
    not broadcast: it raises the error; more than 4 dims left after collapsing)."""
    try:
        shape = tuple(broadcast_shapes(a._shape, b._shape))
        sa = S.expand(a._shape, a._stride, shape)[1]
        sb = S.expand(b._shape, b._stride, shape)[1]
    except ValueError:
        return None
    cshape, (so, sa, sb) = S.collapse(shape, [contiguous_strides(shape), sa, sb])
    nd = len(cshape)
    if nd > 4:
        return None
    pad = (0,) * (4 - nd)
    return (shape, pad + tuple(sa), pad + tuple(sb), pad + tuple(so),
            (1,) * (4 - nd) + tuple(cshape))


def fast_binary(op: Op, a: Tensor, b):
    """``op(a, b)`` by the fast path, recorded for autograd when needed; None when the fast
    path does not apply (the operators try this before ``binary``)."""
    r = _fast_binary(op, a, b)
    if r is not None and op.bw is not None:
        tb = isinstance(b, Tensor)
        if (a._requires_grad or a._grad_fn is not None or (
                tb and (b._requires_grad or b._grad_fn is not None))) and _enabled.get():
            _record_binary(op, op.name, a, b, r, True, tb, a._shape, b._shape if tb else ())
    return r


def binary(name: str, a, b, out=None) -> Tensor:
    op = BINARY[name]
    if out is None and isinstance(a, Tensor):
        r = fast_binary(op, a, b)
        if r is not None:
            return r
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if not (ta or tb):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    for v in (a, b):
        if not isinstance(v, (Tensor, int, float, bool)) and not hasattr(v, "dtype"):
            raise TypeError(f"{name}(): unsupported operand type {type(v).__name__}")
    if ta and tb:
        check_same_device(name, a, b)
    dt = D.result_type(a, b)
    if dt is D.bool_ or name == "sub":
        check_bool_arith(name, a, b, dt)
    if not dt.is_floating_point and name in _FLOAT_ONLY:  # (hypot: ints are refused)
        from ._out import _scalar_name
        raise NotImplementedError(f'"{_FLOAT_ONLY[name]}" not implemented for '
                                  f"'{_scalar_name(dt)}' ({name} needs floating-point "
                                  "tensors: convert with .float())")
    if op.kind == "float" and not dt.is_floating_point:
        dt = D.get_default_dtype()
    elif op.kind == "int" and dt.is_floating_point:  # NotImplementedError, as PyTorch
        raise NotImplementedError(f"{name}: not implemented for '{dt}' (expected integer or "
                                  "bool tensors)")
    odt = D.bool_ if op.kind == "bool" else dt
    cdt = _compute_dtype(dt)
    dev = (a if ta and (a._shape or not tb) else b)._storage.device
    sa = a._shape if ta else ()
    sb = b._shape if tb else ()
    if sa == sb:
        shape = sa
    else:
        try:
            shape = tuple(broadcast_shapes(sa, sb))
        except ValueError:
            raise RuntimeError(
                f"{name}: The size of tensor a {shape_str(sa)} must match the size of tensor b "
                f"{shape_str(sb)} (shapes are not broadcastable; reshape or unsqueeze one "
                "operand)") from None
    fn = op.fn
    if isinstance(fn, tuple):  # (float version, integer version)
        fn = fn[0] if cdt.is_floating_point else fn[1]
        if not cdt.is_floating_point and name in ("floor_divide", "remainder", "fmod") \
                and 0 not in shape:
            _check_int_divisor(name, b)
    xa = _operand(a, cdt, dev)
    xb = _operand(b, cdt, dev)
    if isinstance(xa, Tensor) and xa._shape != shape:
        xa = xa._expand_nograd(shape)
    if isinstance(xb, Tensor) and xb._shape != shape:
        xb = xb._expand_nograd(shape)
    if out is None or out._dtype is not odt or out._shape != shape or odt is D.float16:
        out = empty_tensor(shape, _compute_dtype(odt), dev)
    backend(dev).run_zip(fn, out, xa, xb)
    if odt is not out._dtype:
        out = cast(out, odt)
    if op.bw is not None and needs_grad(a if ta else None, b if tb else None):
        _record_binary(op, name, a, b, out, ta, tb, sa, sb)
    return out


def _record_binary(op, name, a, b, out, ta, tb, sa, sb):
    saved = []
    keep_a, keep_b = "a" in op.save, "b" in op.save
    if name in ("mul", "div"):  # d/da needs only b; d/db needs a (as PyTorch saves)
        keep_a = tb and (b._requires_grad or b._grad_fn is not None)
        keep_b = True
    if keep_a:
        saved.append((a, False) if ta else None)
    if keep_b:
        saved.append((b, False) if tb else None)
    if "y" in op.save:
        saved.append((out, True))
    record(op.node, (a if ta else None, b if tb else None), (out,), _binary_backward,
           [s for s in saved if s is not None], (op, a if not ta else None,
                                                 b if not tb else None, sa, sb, keep_a and ta))


# ops PyTorch's CPU kernels refuse for bool inputs: its kernel name, as in its message
_NO_BOOL_KERNEL = {"floor_divide": "div_floor_cpu", "remainder": "remainder_cpu",
                   "fmod": "fmod_cpu", "div_trunc": "div_trunc_cpu", "lshift": "lshift_cpu",
                   "rshift": "rshift_cpu", "pow": "pow"}


def check_bool_arith(name: str, a, b, dt=None) -> None:
    """PyTorch's refusals of bool operands: ``-`` with any bool operand (RuntimeError) and
    integer-division kernels on bool results (NotImplementedError)."""
    def isbool(v):
        return v._dtype is D.bool_ if isinstance(v, Tensor) else isinstance(v, bool)
    if name == "sub":
        if isbool(a) and isbool(b):
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                               "supported. Use the `^` or `logical_xor()` operator instead.")
        if isbool(a) or isbool(b):
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not "
                               "supported. If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        return
    if (dt or D.result_type(a, b)) is D.bool_ and name in _NO_BOOL_KERNEL:
        raise NotImplementedError(f'"{_NO_BOOL_KERNEL[name]}" not implemented for \'Bool\' '
                                  f"({name} of bool tensors: convert them with .long() first)")


def _check_int_divisor(name: str, b) -> None:
    """Integer division by zero raises, as in PyTorch (the kernels would return 0)."""
    zero = (b == 0) if not isinstance(b, Tensor) else bool((b == 0).any())
    if zero:
        raise RuntimeError(f"{name}: ZeroDivisionError (integer division by zero; divide "
                           "float tensors to get inf/nan instead)")


def _binary_backward(node, g):
    op, sa_val, sb_val, sa, sb = node.ctx[:5]
    it = iter(node.saved or ())
    keep_a = "a" in op.save if op.name not in ("mul", "div") else node.ctx[5]
    a = sa_val if sa_val is not None else (next(it).unpack(node) if keep_a else None)
    b = sb_val if sb_val is not None else (next(it).unpack(node) if "b" in op.save else None)
    y = next(it).unpack(node) if "y" in op.save else None
    ga, gb = op.bw(g, a, b, y)
    need_a, need_b = (e[0] is not None for e in node.next_functions)
    ga = sum_to(ga, sa) if (need_a and ga is not None) else None
    gb = sum_to(gb, sb) if (need_b and gb is not None) else None
    return ga, gb


def where(cond, a, b) -> Tensor:
    """Elements of ``a`` where ``cond`` else of ``b`` (broadcasting; scalars allowed)."""
    from .creation import tensor
    if not isinstance(cond, Tensor):
        cond = tensor(cond)
    elif cond._dtype is D.uint8:
        import warnings
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated; "
                      "use a boolean condition instead.", UserWarning, stacklevel=2)
    elif cond._dtype is not D.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {cond._dtype} (use a comparison such as `x > 0`, or "
                           "cond.bool())")
    if cond._dtype is not D.bool_:
        cond = cast(cond, D.bool_)
    dev = cond._storage.device
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if ref is not None:
        dev = ref._storage.device
    check_same_device("where", cond, a, b)
    dt = D.result_type(*(x for x in (a, b)))
    shapes = [cond._shape] + [x._shape for x in (a, b) if isinstance(x, Tensor)]
    try:
        shape = tuple(broadcast_shapes(*shapes))
    except ValueError:
        raise RuntimeError(f"where: shapes {', '.join(shape_str(s) for s in shapes)} are not "
                           "broadcastable") from None
    cdt = _compute_dtype(dt)
    ops = [cond._expand_nograd(shape)]
    for x in (a, b):
        v = _operand(x, cdt, dev)
        ops.append(v._expand_nograd(shape) if isinstance(v, Tensor) else v)
    out = empty_tensor(shape, cdt, dev)
    from kernels import scalar as F
    backend(dev).run_ternary(F.where, out, *ops)
    if cdt is not dt:
        out = cast(out, dt)
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if needs_grad(a if ta else None, b if tb else None):
        sa, sb = (a._shape if ta else ()), (b._shape if tb else ())

        def bw(node, g):
            c = node.ctx
            z = g.new_zeros(())
            return (sum_to(where(c, g, z), sa) if ta else None,
                    sum_to(where(c, z, g), sb) if tb else None)
        record("WhereBackward0", (a if ta else None, b if tb else None), (out,), bw, (), cond)
    return out


def lerp(start: Tensor, end: Tensor, weight) -> Tensor:
    """``start + weight * (end - start)`` where ``|weight| < 0.5``, else
    ``end - (end - start) * (1 - weight)`` (torch's formula: exact at weight 1, and
    ``lerp(-inf, -3, 0.9)`` is -inf, not nan)."""
    for t, what in ((end, "end"), (weight, "weight")):
        if isinstance(t, Tensor) and isinstance(start, Tensor) and t._dtype is not start._dtype:
            raise RuntimeError(f"lerp: expected dtype {start._dtype} for `{what}` but got "
                               f"dtype {t._dtype}")
    diff = end - start
    near_start = start + weight * diff
    near_end = end - diff * (1 - weight)
    small = (weight.abs() if isinstance(weight, Tensor) else abs(weight)) < 0.5
    if not isinstance(small, Tensor):
        return near_start if small else near_end
    return where(small, near_start, near_end)


def clamp(x: Tensor, min=None, max=None) -> Tensor:
    """Clamp into [min, max]; tensors bounds broadcast. Gradient passes where not clamped
    (PyTorch's convention at the bounds: inside counts)."""
    if min is None and max is None:
        raise RuntimeError("clamp: At least one of 'min' or 'max' must not be None")
    dt = D.result_type(x, *(v for v in (min, max) if v is not None))
    if dt is not x._dtype:  # PyTorch promotes: int tensor with float bounds -> float result
        x = cast(x, dt)
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # torch's rule: a bound wins only where it is strictly beyond x (or nan), so at ties
        # the whole gradient goes to x (maximum/minimum would split it)
        r = x
        for b, is_min in ((min, True), (max, False)):
            if b is None:
                continue
            r = where((r < b) if is_min else (r > b), b, r)
            if isinstance(b, Tensor) and b._dtype.is_floating_point:  # nan bound: nan, no grad
                r = where(b != b, b.detach(), r)
            elif isinstance(b, float) and b != b:
                r = where(True, b, r)
        if r._shape != x._shape or r._dtype is not dt:
            r = cast(r, dt)._expand_nograd(r._shape) if r._dtype is not dt else r
        return r
    if min is not None and max is not None:
        return unary("clamp", x, min, max)
    if min is not None:
        return unary("clamp_min", x, min)
    return unary("clamp_max", x, max)
