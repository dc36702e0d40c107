"""Lazy modules: ``UninitializedParameter`` / ``UninitializedBuffer``, ``LazyModuleMixin`` and
LazyLinear, LazyConv{1,2,3}d, LazyConvTranspose{1,2,3}d, LazyBatchNorm{1,2,3}d,
LazyInstanceNorm{1,2,3}d.

As in PyTorch: the parameters hold no data until the first forward, which infers their
shapes from the input (a forward pre-hook), materialises them *in place* (same Parameter
objects), runs ``reset_parameters`` and turns the module into its regular class
(``LazyLinear`` -> ``Linear``). Create the optimizer after that dry run. A lazy module loads a
materialised state_dict (its parameters take the stored shapes) and saves its uninitialised
parameters as ``<UninitializedParameter>``.

>>> import engine
>>> m = engine.nn.LazyLinear(3)
>>> m
LazyLinear(in_features=0, out_features=3, bias=True)
>>> _ = m(engine.ones(2, 5))
>>> m, tuple(m.weight.shape)
(Linear(in_features=5, out_features=3, bias=True), (3, 5))
"""

from __future__ import annotations

import itertools

from ..._tensor import Tensor
from ...autograd.grad_mode import no_grad
from ..parameter import Parameter
from ._more_3d import BatchNorm3d, Conv3d, ConvTranspose3d
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .extra import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from .linear import Linear
from .normalization import BatchNorm1d, BatchNorm2d

__all__ = ["LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyConv1d", "LazyConv2d",
           "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
           "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LazyLinear",
           "LazyModuleMixin", "UninitializedBuffer", "UninitializedParameter", "is_lazy"]


def _empty(device, dtype):
    from ...ops.creation import empty
    return empty(0, device=device, dtype=dtype)


class UninitializedTensorMixin:
    """Shared by the uninitialised parameter and buffer: ``materialize`` swaps in real data
    in place and turns the object into its regular class."""

    __slots__ = ()
    cls_to_become: type = Tensor

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give this tensor data of ``shape`` (uninitialised values, the current device and
        dtype unless given) and make it a regular Parameter / Tensor."""
        from ...ops.creation import empty
        device = self.device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        shape = tuple(shape) if isinstance(shape, (list, tuple)) else (int(shape),)
        self.data = empty(shape, device=device, dtype=dtype)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        raise RuntimeError(
            "Can't access the shape of an uninitialized parameter or buffer. This error "
            "usually happens in `load_state_dict` when trying to load an uninitialized "
            "parameter into an initialized one. Call `forward` to initialize the parameters "
            "before accessing their attributes.")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A Parameter whose shape is not known yet (a lazy module's weight before its first
    forward); only dtype/device changes and ``materialize`` apply to it."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        t = Parameter.__new__(Parameter, _empty(device, dtype), requires_grad)
        t.__class__ = cls
        return t

    def __init__(self, requires_grad: bool = True, device=None, dtype=None) -> None:
        pass

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        r = type(self)(self.requires_grad, self.device, self.dtype)
        memo[id(self)] = r
        return r

    def __reduce_ex__(self, proto):
        return (UninitializedParameter, (self.requires_grad,))


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape is not known yet (a lazy BatchNorm's running stats)."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None,
                persistent: bool = True):
        t = _empty(device, dtype)
        t.__class__ = cls
        if requires_grad:
            t.requires_grad_(True)
        return t

    def __init__(self, requires_grad: bool = False, device=None, dtype=None,
                 persistent: bool = True) -> None:
        pass

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        r = type(self)(self.requires_grad, self.device, self.dtype)
        memo[id(self)] = r
        return r

    def __reduce_ex__(self, proto):
        return (UninitializedBuffer, (self.requires_grad,))


def is_lazy(param) -> bool:
    """True for an UninitializedParameter / UninitializedBuffer."""
    return isinstance(param, UninitializedTensorMixin)


class LazyModuleMixin:
    """Mixin for modules whose parameters' shapes come from their first input (see the
    module docstring); subclasses define ``initialize_parameters(*inputs)``."""

    cls_to_become = None

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _hook_only(self)

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if (is_lazy(p) or keep_vars) else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if (is_lazy(b) or keep_vars) else b.detach()

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        for name, p in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and p is not None and is_lazy(p):
                v = state_dict[key]
                if not is_lazy(v):
                    with no_grad():
                        p.materialize(tuple(v.shape))
        lazy_in = [k for k, v in state_dict.items() if k.startswith(prefix) and is_lazy(v)]
        sd = {k: v for k, v in state_dict.items() if k not in lazy_in}
        for k in lazy_in:  # an uninitialised entry loads nothing (the key still matches)
            name = k[len(prefix):]
            own = self._parameters.get(name, self._buffers.get(name))
            if own is None or not is_lazy(own):
                error_msgs.append(f"size mismatch for {k}: copying an uninitialized parameter "
                                  "into an initialized one; run a forward first")
        # the parent copies only initialised entries; lazy ones are present, not missing
        local_missing: list = []
        super()._load_from_state_dict(sd, prefix, local_metadata, strict, local_missing,
                                      unexpected_keys, error_msgs)
        missing_keys.extend(k for k in local_missing if k not in lazy_in)

    def _apply(self, fn, recurse: bool = True):
        lazy = {k: b for k, b in self._buffers.items() if is_lazy(b)}
        super()._apply(fn, recurse)
        for k, b in lazy.items():  # keep the same (still uninitialised) buffer objects
            new = self._buffers[k]
            if new is not b:
                b.data = new.detach()
                self._buffers[k] = b
        return self

    def initialize_parameters(self, *args, **kwargs) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{type(self).__name__}")

    def has_uninitialized_params(self) -> bool:
        """True while any parameter or buffer is still uninitialised."""
        return any(is_lazy(t) for t in itertools.chain(self._parameters.values(),
                                                       self._buffers.values()))

    def _infer_parameters(self, module, args, kwargs=None):
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {module._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        delattr(module, "_initialize_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become


# ------------------------------------------------------------------------------- linear
class LazyLinear(LazyModuleMixin, Linear):
    """Linear whose ``in_features`` is inferred from the first input (``input.shape[-1]``)."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:  # parameters came from a state_dict
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(f"The in_features inferred from input: {input.shape[-1]} "
                                     f"is not equal to in_features from self.weight: "
                                     f"{self.weight.shape[-1]}")
            self.in_features = input.shape[-1]


# ------------------------------------------------------------------------- convolutions
class _LazyConvXdMixin(LazyModuleMixin):
    _spatial = 2

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _get_in_channels(self, input: Tensor) -> int:
        nb = self._spatial + 1
        if input.dim() not in (nb, nb + 1):
            raise RuntimeError(f"Expected {nb}D (unbatched) or {nb + 1}D (batched) input to "
                               f"{type(self).__name__}, but got input of size: {input.shape}")
        return input.shape[1] if input.dim() == nb + 1 else input.shape[0]

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            with no_grad():
                if self.transposed:
                    shape = (self.in_channels, self.out_channels // self.groups)
                else:
                    shape = (self.out_channels, self.in_channels // self.groups)
                self.weight.materialize(shape + tuple(self.kernel_size))
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()


def _lazy_conv(name, base, nd, transposed):
    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, *rest, **kw):
        device, dtype = kw.pop("device", None), kw.pop("dtype", None)
        names = (("output_padding", "groups", "bias", "dilation", "padding_mode")
                 if transposed else ("dilation", "groups", "bias", "padding_mode"))
        defaults = ({"output_padding": 0, "groups": 1, "bias": True, "dilation": 1,
                     "padding_mode": "zeros"} if transposed else
                    {"dilation": 1, "groups": 1, "bias": True, "padding_mode": "zeros"})
        if len(rest) > len(names):
            raise TypeError(f"{name}.__init__() takes at most {4 + len(names)} positional "
                            "arguments")
        a = dict(defaults)
        a.update(zip(names, rest))
        for k, v in kw.items():
            if k not in a:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument '{k}'")
            a[k] = v
        if transposed:
            base.__init__(self, 0, 0, kernel_size, stride, padding, a["output_padding"],
                          a["groups"], False, a["dilation"], a["padding_mode"], device, dtype)
        else:
            base.__init__(self, 0, 0, kernel_size, stride, padding, a["dilation"], a["groups"],
                          False, a["padding_mode"], device, dtype)
        _hook_only(self)
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if a["bias"]:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    doc = (f"{base.__name__} whose ``in_channels`` is inferred from the first input "
           f"(``input.shape[1]``, or ``shape[0]`` unbatched).")
    return type(name, (_LazyConvXdMixin, base), {"__init__": __init__, "__doc__": doc,
                                                  "cls_to_become": base, "_spatial": nd,
                                                  "__module__": __name__})


def _hook_only(self) -> None:
    self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                           with_kwargs=True)

LazyConv1d = _lazy_conv("LazyConv1d", Conv1d, 1, False)
LazyConv2d = _lazy_conv("LazyConv2d", Conv2d, 2, False)
LazyConv3d = _lazy_conv("LazyConv3d", Conv3d, 3, False)
LazyConvTranspose1d = _lazy_conv("LazyConvTranspose1d", ConvTranspose1d, 1, True)
LazyConvTranspose2d = _lazy_conv("LazyConvTranspose2d", ConvTranspose2d, 2, True)
LazyConvTranspose3d = _lazy_conv("LazyConvTranspose3d", ConvTranspose3d, 3, True)


# ------------------------------------------------------------------------ normalisation
class _LazyNormBase(LazyModuleMixin):
    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None, *,
                 bias: bool = True) -> None:
        super().__init__(0, eps, momentum, False, False, device, dtype, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = UninitializedParameter(device=device, dtype=dtype)
            if bias:
                self.bias = UninitializedParameter(device=device, dtype=dtype)
        if track_running_stats:
            from ... import _dtype as D
            from ...ops.creation import tensor
            self.running_mean = UninitializedBuffer(device=device, dtype=dtype)
            self.running_var = UninitializedBuffer(device=device, dtype=dtype)
            self.num_batches_tracked = tensor(0, dtype=D.int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            with no_grad():
                if self.affine:
                    self.weight.materialize((self.num_features,))
                    if self.bias is not None:
                        self.bias.materialize((self.num_features,))
                if self.track_running_stats:
                    self.running_mean.materialize((self.num_features,))
                    self.running_var.materialize((self.num_features,))
                self.reset_parameters()


def _lazy_norm(name, base):
    doc = f"{base.__name__} whose ``num_features`` is inferred from ``input.shape[1]``."
    return type(name, (_LazyNormBase, base), {"__doc__": doc, "cls_to_become": base,
                                              "__module__": __name__})


LazyBatchNorm1d = _lazy_norm("LazyBatchNorm1d", BatchNorm1d)
LazyBatchNorm2d = _lazy_norm("LazyBatchNorm2d", BatchNorm2d)
LazyBatchNorm3d = _lazy_norm("LazyBatchNorm3d", BatchNorm3d)
LazyInstanceNorm1d = _lazy_norm("LazyInstanceNorm1d", InstanceNorm1d)
LazyInstanceNorm2d = _lazy_norm("LazyInstanceNorm2d", InstanceNorm2d)
LazyInstanceNorm3d = _lazy_norm("LazyInstanceNorm3d", InstanceNorm3d)
