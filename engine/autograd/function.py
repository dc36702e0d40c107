"""Custom differentiable ops: subclass ``Function`` with static forward/backward.

Both of PyTorch's styles work:

- ``forward(ctx, *args)`` saving what backward needs on ``ctx``;
- ``forward(*args)`` without ``ctx`` plus ``setup_context(ctx, inputs, output)`` (needed by
  ``torch.func`` in PyTorch; here every transform works with either style).

``ctx`` offers ``save_for_backward``/``saved_tensors``, ``needs_input_grad``, ``mark_dirty``
(in-place ops on inputs), ``mark_non_differentiable`` and ``set_materialize_grads``.
``backward`` (or its alias ``vjp``) gets one gradient per output of ``forward`` and returns one
per input (``None`` for non-tensors or inputs that need none).

>>> import engine as torch
>>> class Exp(torch.autograd.Function):
...     @staticmethod
...     def forward(x):
...         return x.exp()
...     @staticmethod
...     def setup_context(ctx, inputs, output):
...         ctx.save_for_backward(output)
...     @staticmethod
...     def backward(ctx, g):
...         (y,) = ctx.saved_tensors
...         return g * y
>>> x = torch.zeros(2, requires_grad=True)
>>> Exp.apply(x).sum().backward(); x.grad
tensor([1., 1.])
"""

from __future__ import annotations

import functools

from .grad_mode import is_grad_enabled, no_grad
from .graph import record

__all__ = [
    "Function",
    "FunctionCtx",
    "InplaceFunction",
    "NestedIOFunction",
    "once_differentiable",
]


class FunctionCtx:
    """The ``ctx`` of a custom Function: saved tensors and flags for backward."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = ()
        self._dirty = ()
        self._non_diff = ()
        self._node = None
        self.materialize_grads = True

    def save_for_backward(self, *tensors) -> None:
        """Save tensors (or ``None``) for backward; read them back with ``ctx.saved_tensors``
        (in-place changes made after saving are detected there)."""
        for t in tensors:
            if t is not None and not hasattr(t, "_shape"):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{tensors.index(t)} is of type {type(t).__name__}")
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Kept for API compatibility (forward-mode AD is not implemented)."""
        self._saved_for_forward = tensors

    @property
    def saved_tensors(self):
        node = self._node
        if node is None:
            return tuple(getattr(self, "_to_save", ()))
        if node.released:
            raise RuntimeError("Trying to backward through the graph a second time (or directly "
                               "access saved tensors after they have already been freed). "
                               "Specify retain_graph=True.")
        return tuple(s.unpack(node) if s is not None else None for s in node.saved or ())

    def mark_dirty(self, *tensors) -> None:
        """Declare inputs that forward modified in place (they must be returned as outputs)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient (they do not require grad; backward still
        receives a (zero) gradient argument for each of them)."""
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """With ``False``, backward receives ``None`` (not zeros) for outputs whose gradient was
        not computed."""
        self.materialize_grads = bool(value)


class _FunctionMeta(type):
    pass


def _is_tensor(x) -> bool:
    from .._tensor import Tensor
    return isinstance(x, Tensor)


class Function(metaclass=_FunctionMeta):
    """``class Exp(Function): forward(ctx, x) ... backward(ctx, g) ...; Exp.apply(x)``."""

    # engine.func.vmap loops over the batch, so every Function works under it as written
    generate_vmap_rule = False

    @staticmethod
    def forward(*args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("You must implement the jvp function for custom "
                                  "autograd.Function to use it with forward mode AD.")

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @classmethod
    def _backward_impl(cls):
        bw, vjp = cls.backward, cls.vjp
        if bw is not Function.backward and vjp is not Function.vjp and bw is not vjp:
            raise RuntimeError("Implementing both 'backward' and 'vjp' for a custom Function is "
                               "not allowed. You should only implement one of them.")
        return vjp if vjp is not Function.vjp else bw

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        tensors = [a if _is_tensor(a) else None for a in args]
        ctx.needs_input_grad = tuple(t is not None and t.requires_grad for t in tensors)
        new_style = cls.setup_context is not Function.setup_context
        with no_grad():
            if new_style:
                out = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, out)
            else:
                out = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        if not (is_grad_enabled() and any(ctx.needs_input_grad)):
            return out
        return _wrap_outputs(cls, ctx, args, tensors, outs, single)


def _wrap_outputs(cls, ctx, args, tensors, outs, single):
    """Give the outputs their history: one node for all differentiable outputs."""
    from .graph import SavedTensor
    dirty = ctx._dirty
    for d in dirty:
        if d._grad_fn is None and d.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place "
                               f"operation (custom Function {cls.__name__} marked it dirty).")
        if not any(d is o for o in outs):
            raise RuntimeError(f"{cls.__name__}: every tensor marked dirty with ctx.mark_dirty "
                               "must be returned as an output of forward")
    new_outs = []
    for o in outs:
        if _is_tensor(o) and any(o is a for a in args) and not any(o is d for d in dirty):
            o = o._alias()  # an input returned as-is gets its own history (a view)
        new_outs.append(o)
    non_diff = {id(t) for t in ctx._non_diff}
    diff_pos = [i for i, o in enumerate(new_outs) if _is_tensor(o) and id(o) not in non_diff
                and o._dtype.is_floating_point]
    diff_outs = [new_outs[i] for i in diff_pos]
    for o in new_outs:
        if _is_tensor(o) and id(o) in non_diff and o.requires_grad:
            o.requires_grad_(False)
    user_bw = cls._backward_impl()
    n_in = len(args)

    def bw(node, *grads):
        full = [None] * len(new_outs)
        for p, g in zip(diff_pos, grads):
            full[p] = g
        if ctx.materialize_grads:
            from ..ops.creation import zeros_like
            for i, o in enumerate(new_outs):
                if full[i] is None and _is_tensor(o):
                    full[i] = zeros_like(o)
        g = user_bw(ctx, *full)
        g = g if isinstance(g, tuple) else (g,)
        if len(g) != n_in:
            if len(g) > n_in and all(x is None for x in g[n_in:]):
                g = g[:n_in]
            else:
                raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number "
                                   f"of gradients (expected {n_in}, got {len(g)})")
        return tuple(_check_grad(cls, i, gi, t) for i, (gi, t) in enumerate(zip(g, tensors)))

    node = record(cls.__name__ + "Backward", tensors, diff_outs, bw, ctx=ctx)
    saved = getattr(ctx, "_to_save", ())
    node.saved = [SavedTensor(t, any(t is o for o in diff_outs)) if t is not None else None
                  for t in saved]
    ctx._node = node
    return new_outs[0] if single else tuple(new_outs)


def _check_grad(cls, i, g, t):
    if g is None:
        return None
    if t is None:
        raise RuntimeError(f"function {cls.__name__}Backward returned a gradient different than "
                           f"None at position {i + 1}, but the corresponding forward input was "
                           "not a Variable")
    if not _is_tensor(g):
        raise TypeError(f"function {cls.__name__}Backward returned a non-Tensor gradient "
                        f"({type(g).__name__}) at position {i + 1}; return a Tensor or None")
    if tuple(g.shape) != tuple(t.shape):
        from ..ops.shape import broadcast_shapes
        try:
            ok = tuple(broadcast_shapes(tuple(t.shape), tuple(g.shape))) == tuple(g.shape)
        except RuntimeError:
            ok = False
        if not ok:
            raise RuntimeError(f"Function {cls.__name__}Backward returned an invalid gradient at "
                               f"index {i} - got {list(g.shape)} but expected shape compatible "
                               f"with {list(t.shape)}")
        g = g.sum_to_size(tuple(t.shape))
    return g


class InplaceFunction(Function):
    """A Function with an ``inplace`` flag (kept for API compatibility)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace


class NestedIOFunction(Function):
    """Deprecated in PyTorch; present so imports work."""


def once_differentiable(fn):
    """Decorator for ``backward``: it runs without building a graph, and differentiating its
    result (double backward) raises a RuntimeError."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not is_grad_enabled():
            return outputs
        if not any(_is_tensor(a) and a.requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        guarded = []
        for o in outs:
            if _is_tensor(o) and o._dtype.is_floating_point:
                o = _GuardHelper.apply(o, *[a for a in args if _is_tensor(a) and a.requires_grad])
            guarded.append(o)
        return guarded[0] if single else tuple(guarded)

    return wrapper


class _GuardHelper(Function):
    @staticmethod
    def forward(ctx, value, *deps):
        return value.clone()

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")
