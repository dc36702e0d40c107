"""``nn.Parameter``: a Tensor subclass that a Module registers as a learnable weight."""

from __future__ import annotations

from .._tensor import Tensor

__all__ = ["Buffer", "Parameter", "is_lazy"]


class Parameter(Tensor):
    """A leaf tensor that :class:`~engine.nn.Module` registers when assigned as an attribute.

    >>> import engine
    >>> p = engine.nn.Parameter(engine.zeros(2))
    >>> p.requires_grad, isinstance(p, engine.Tensor)
    (True, True)
    """

    __slots__ = ()
    _from_tensor = True

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a Tensor, got {type(data).__name__}")
        t = data.detach()
        t._base = None           # a Parameter is a leaf of its own, sharing data's storage
        t.__class__ = cls
        t._requires_grad = False
        if requires_grad:
            t.requires_grad_(True)
        return t

    def __init__(self, data=None, requires_grad: bool = True) -> None:
        pass

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, proto):
        return (_rebuild_parameter, (Tensor.__reduce_ex__(self, proto), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        t = type(self)(self.detach().clone(), self.requires_grad)
        if self._grad is not None:
            t._grad = self._grad.clone()
        memo[id(self)] = t
        return t


def _rebuild_parameter(reduced, requires_grad):
    fn, args = reduced
    return Parameter(fn(*args).detach(), requires_grad)


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned to a Module (``nn.Buffer(t, persistent=True)``).
    Calling it returns a plain Tensor flagged with the persistence choice."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True):
        from ..ops.creation import empty
        t = (data if data is not None else empty(0)).detach()
        t._base = None
        t.__dict__["_buffer_persistent"] = persistent
        return t


def is_lazy(param) -> bool:
    """True for an UninitializedParameter / UninitializedBuffer (a lazy module's)."""
    from .modules.lazy import is_lazy as _is_lazy
    return _is_lazy(param)


def __getattr__(name: str):  # the uninitialised classes live with the lazy modules
    if name in ("UninitializedParameter", "UninitializedBuffer", "UninitializedTensorMixin"):
        from .modules import lazy
        return getattr(lazy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
