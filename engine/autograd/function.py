"""Custom differentiable ops: subclass ``Function`` with static forward/backward."""

from __future__ import annotations

from .graph import record
from .grad_mode import no_grad, is_grad_enabled

__all__ = ["Function", "FunctionCtx", "once_differentiable"]


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
        self._to_save = tensors

    @property
    def saved_tensors(self):
        node = self._node
        if node is None:
            return tuple(self._to_save)
        if node.released:
            raise RuntimeError("Trying to backward through the graph a second time (or directly "
                               "access saved tensors after they have already been freed). "
                               "Specify retain_graph=True.")
        return tuple(s.unpack(node) if s is not None else None for s in node.saved)

    def mark_dirty(self, *tensors) -> None:
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        self._non_diff = tensors

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class _FunctionMeta(type):
    pass


class Function(metaclass=_FunctionMeta):
    """``class Exp(Function): forward(ctx, x) ... backward(ctx, g) ...; Exp.apply(x)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        from .._tensor import Tensor
        from .graph import SavedTensor
        ctx = FunctionCtx()
        tensors = [a if isinstance(a, Tensor) else None for a in args]
        ctx.needs_input_grad = tuple(t is not None and t.requires_grad for t in tensors)
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        diff = is_grad_enabled() and any(ctx.needs_input_grad)
        if not diff:
            return out
        out_ts = []
        for o in outs:
            if isinstance(o, Tensor):
                if any(o is a for a in args) and not any(o is d for d in ctx._dirty):
                    o = o._alias()  # an input returned as-is gets its own history (a view)
                out_ts.append(o)
        non_diff = set(id(t) for t in ctx._non_diff)
        diff_outs = [o for o in out_ts if id(o) not in non_diff and o._dtype.is_floating_point]

        def bw(node, *grads):
            g = cls.backward(ctx, *grads) if len(grads) > 1 else cls.backward(ctx, grads[0])
            g = g if isinstance(g, tuple) else (g,)
            if len(g) < len(args):
                g = g + (None,) * (len(args) - len(g))
            return tuple(gi if t is not None else None for gi, t in zip(g, tensors))

        for d in ctx._dirty:
            d._storage.version += 0  # the write already happened inside forward
        node = record(cls.__name__ + "Backward", tensors, diff_outs, bw)
        saved = getattr(ctx, "_to_save", ())
        node.saved = [SavedTensor(t, any(t is o for o in diff_outs)) if t is not None else None
                      for t in saved]
        ctx._node = node
        if single:
            return outs[0] if not out_ts or out_ts[0] is outs[0] else out_ts[0]
        it = iter(out_ts)
        return tuple(next(it) if isinstance(o, Tensor) else o for o in outs)


def once_differentiable(fn):
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)
    return wrapper
