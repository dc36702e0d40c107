"""The tape: one Node per recorded op, linked to its inputs' nodes in execution order.

A Node is owned by the tensors it produced (``t.grad_fn``), so records are freed with them.
Each Node is self-describing: its op name, the edges to its inputs, the saved tensors and
attributes, and the backward rule (written with engine ops, hence differentiable itself)."""

from __future__ import annotations

import itertools
import traceback
import weakref

__all__ = ["Node", "AccumulateGrad", "SavedTensor", "node_class", "record", "next_seq", "relabel",
           "named_node", "saved_tensors_hooks"]

_seq = itertools.count()
next_seq = _seq.__next__
_classes: dict[str, type] = {}
anomaly = {"enabled": False, "check_nan": True}


_saved_hooks: list = []  # stack of (pack_hook, unpack_hook): autograd.graph.saved_tensors_hooks


class saved_tensors_hooks:
    """``with saved_tensors_hooks(pack, unpack):`` ops save ``pack(t)`` for backward instead of
    ``t``, and backward uses ``unpack(packed)`` (PyTorch's hooks for saved tensors)."""

    def __init__(self, pack_hook, unpack_hook) -> None:
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        _saved_hooks.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc) -> None:
        _saved_hooks.pop()


class SavedTensor:
    """A tensor saved for backward plus the version it had, so a later in-place write is caught."""

    __slots__ = ("alias", "version", "is_output", "name", "output_nr", "unpack_hook")

    def __init__(self, t, is_output: bool = False, name: str = "") -> None:
        if t._storage.inference:
            raise RuntimeError(
                "Inference tensors cannot be saved for backward. Please do not use Tensors "
                "created in inference mode in computation tracked by autograd. To work around "
                "this, you can make a clone to get a normal tensor and use it in autograd, or "
                "use `torch.no_grad()` instead of `torch.inference_mode()`.")
        # Saving an op's own output as-is would make a reference cycle (out -> node -> out);
        # keep a detached alias and reattach the node when unpacking.
        self.alias = t._alias() if is_output else t
        self.version = t._storage.version
        self.is_output = is_output
        self.output_nr = t._output_nr if is_output else 0
        self.name = name
        self.unpack_hook = None
        if _saved_hooks:
            pack, self.unpack_hook = _saved_hooks[-1]
            self.alias = pack(t)  # what the hook returns is all that is kept

    def unpack(self, node):
        if self.unpack_hook is not None:
            t = self.unpack_hook(self.alias)
            if self.is_output and node is not None:
                t = t._alias()
                t._grad_fn, t._output_nr = node, self.output_nr
            return t
        t = self.alias
        if t._storage.version != self.version:
            from ._errors import modified_error
            raise modified_error(node, self, t)
        if self.is_output and node is not None:
            a = t._alias()
            a._grad_fn = node
            a._output_nr = self.output_nr
            return a
        return t


class Node:
    """A recorded op. ``type(node).__name__`` is PyTorch's name (``MulBackward0``...)."""

    __slots__ = ("next_functions", "ctx", "backward_fn", "seq", "out_meta", "saved",
                 "released", "pre_hooks", "post_hooks", "retain_hooks", "trace", "metadata",
                 "__weakref__")

    def __init__(self, next_functions, backward_fn, ctx, out_meta):
        self.next_functions = next_functions
        self.backward_fn = backward_fn
        self.ctx = ctx
        self.seq = next_seq()
        self.out_meta = out_meta          # [(shape, dtype, device)] per output
        self.saved = None
        self.released = False
        self.pre_hooks = None             # {output_nr: [hook]}
        self.post_hooks = None
        self.retain_hooks = None
        self.trace = traceback.extract_stack(limit=12)[:-3] if anomaly["enabled"] else None
        self.metadata = {}

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node computes its input grads."""
        if self.post_hooks is None:
            self.post_hooks = []
        self.post_hooks.append(fn)
        return _Handle(self.post_hooks, fn)

    def register_prehook(self, fn):
        if self.pre_hooks is None:
            self.pre_hooks = {}
        self.pre_hooks.setdefault(-1, []).append(fn)
        return _Handle(self.pre_hooks[-1], fn)

    def release(self) -> None:
        self.saved = None
        self.ctx = None
        self.released = True

    def apply(self, grads):
        """Input gradients for output gradients ``grads`` (a list, one per output)."""
        if self.released:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")
        return self.backward_fn(self, *grads)

    def saved_tensor(self, i: int):
        return self.saved[i].unpack(self)

    @property
    def _saved_tensors(self):
        return tuple(s.unpack(self) for s in self.saved or ())

    def __getattr__(self, name: str):
        # PyTorch exposes saved values as grad_fn._saved_self / _saved_other / _saved_result
        if name.startswith("_saved_") and name != "_saved_tensors":
            saved = object.__getattribute__(self, "saved") or ()
            if name == "_saved_result":
                hits = [s for s in saved if s.is_output]
            else:
                hits = [s for s in saved if not s.is_output]
                if name != "_saved_self":
                    hits = hits[1:]
            if hits:
                if object.__getattribute__(self, "released"):
                    self.apply(())  # raises "backward through the graph a second time"
                return hits[0].unpack(self)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")


class _Handle:
    __slots__ = ("lst", "fn")

    def __init__(self, lst, fn):
        self.lst, self.fn = lst, fn

    def remove(self) -> None:
        if self.fn in self.lst:
            self.lst.remove(self.fn)


class AccumulateGrad(Node):
    """The sink for a leaf tensor's gradient."""

    # The leaf holds its accumulator (one per leaf, as PyTorch) and the accumulator holds the
    # leaf weakly: no reference cycle, so both are freed by refcounting.
    __slots__ = ("_variable",)

    def __init__(self, variable):
        super().__init__((), None, None, [(variable._shape, variable._dtype,
                                           variable._storage.device)])
        self._variable = weakref.ref(variable)

    @property
    def variable(self):
        return self._variable()


def node_class(name: str) -> type:
    cls = _classes.get(name)
    if cls is None:
        cls = _classes[name] = type(name, (Node,), {"__slots__": ()})
    return cls


def grad_edge(t):
    """The (node, output_nr) edge for tensor ``t``; leaves get a cached AccumulateGrad."""
    fn = t._grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    if not t._requires_grad:
        return _NO_EDGE
    acc = t._accumulator
    if acc is None:
        acc = t._accumulator = AccumulateGrad(t)
    return (acc, 0)


_NO_EDGE = (None, 0)


def record(name: str, inputs, outputs, backward_fn, saved=(), ctx=None):
    """Record an op on the tape: set ``grad_fn`` on each output. ``saved`` holds
    (tensor, is_output) pairs checked against in-place modification at backward time."""
    cls = _classes.get(name) or node_class(name)
    node = cls(tuple([(t._grad_fn, t._output_nr) if t is not None and t._grad_fn is not None
                      else (grad_edge(t) if t is not None else _NO_EDGE) for t in inputs]),
               backward_fn, ctx, [(o._shape, o._dtype, o._storage.device) for o in outputs])
    for i, o in enumerate(outputs):  # number the outputs first: a saved output remembers its
        o._grad_fn = node                # (node, output_nr) edge
        o._output_nr = i
    if saved:
        node.saved = [SavedTensor(t, is_out) for t, is_out in saved]
    return node


def relabel(t, name: str):
    """Give the node that produced ``t`` PyTorch's name for a composite op (``mean`` is a sum and
    a division here; its grad_fn prints as ``MeanBackward0`` as in PyTorch). Returns ``t``."""
    fn = t._grad_fn if t is not None else None
    if fn is not None and type(fn) is not AccumulateGrad:
        fn.__class__ = node_class(name)
    return t


def named_node(name):
    """Decorator for a composite op: its result's grad_fn (when created by the call) prints as
    PyTorch's fused node ``name`` (``MseLossBackward0``, ...; or ``name(*args)`` if callable)."""
    import functools

    def deco(fn):
        @functools.wraps(fn)
        def f(*args, **kwargs):
            start = next_seq()
            r = fn(*args, **kwargs)
            g = getattr(r, "_grad_fn", None)
            if g is not None and g.seq > start and type(g) is not AccumulateGrad:
                g.__class__ = node_class(name(*args, **kwargs) if callable(name) else name)
            return r
        return f
    return deco
