"""The Tensor: a view (shape, strides, offset, dtype) of a Storage, plus autograd state.
Ops are declared in ``engine.ops`` and bound as methods in ``engine._methods``."""

from __future__ import annotations

import numpy as np

from . import _dtype as D
from ._device import CPU
from ._size import Size
from ._storage import Storage, PooledStorage, cpu_storage, cpu_empty

__all__ = ["Tensor", "make", "empty_tensor"]


class Tensor:
    """A strided n-dimensional array with PyTorch's API.

    >>> import engine
    >>> engine.tensor([[1., 2.], [3., 4.]]).sum()
    tensor(10.)
    """

    __slots__ = ("_storage", "_shape", "_stride", "_offset", "_dtype", "_contig",
                 "_requires_grad", "_grad_fn", "_output_nr", "_grad", "_base",
                 "_accumulator", "_hooks", "_post_acc_hooks", "_retains_grad", "__weakref__",
                 "__dict__")

    # --- construction ------------------------------------------------------------------
    def __new__(cls, *args, **kwargs):
        from .ops.creation import _legacy_new
        return _legacy_new(cls, *args, **kwargs)

    # --- metadata ------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._shape)
        return self._shape[_wrap_dim(dim, len(self._shape), "size")]

    def dim(self) -> int:
        return len(self._shape)

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def ndimension(self) -> int:
        return len(self._shape)

    def numel(self) -> int:
        n = 1
        for s in self._shape:
            n *= s
        return n

    nelement = numel

    @property
    def dtype(self) -> D.dtype:
        return self._dtype

    @property
    def device(self):
        return self._storage.device

    @property
    def is_cuda(self) -> bool:
        return self._storage.device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._storage.device.type == "cpu"

    def get_device(self) -> int:
        d = self._storage.device
        return -1 if d.type == "cpu" else d.index

    def stride(self, dim: int | None = None):
        if dim is None:
            return tuple(self._stride)
        return self._stride[_wrap_dim(dim, len(self._shape), "stride")]

    def storage_offset(self) -> int:
        return self._offset

    def is_contiguous(self, memory_format=None) -> bool:
        return self._contig

    def element_size(self) -> int:
        return self._dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self._dtype.itemsize

    def is_floating_point(self) -> bool:
        return self._dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    def data_ptr(self) -> int:
        d = self._storage.data
        base = d.ctypes.data if self.is_cpu else d.device_ctypes_pointer.value
        return base + self._offset * self._dtype.itemsize

    def untyped_storage(self):
        return self._storage

    def _version_get(self) -> int:
        return self._storage.version

    _version = property(_version_get)

    # --- autograd state -----------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad or self._grad_fn is not None

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(
                    "you can only change requires_grad flags of leaf variables. If you want to "
                    "use a computed variable in a subgraph that doesn't require differentiation "
                    "use var_no_grad = var.detach().")
            return self
        if requires_grad and not self._dtype.is_floating_point:
            raise RuntimeError(
                "only Tensors of floating point dtype can require gradients "
                f"(got {self._dtype})")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got "
                                f"grad of type {type(value).__name__}")
            if value._shape != self._shape:
                raise RuntimeError(f"attempting to assign a gradient of size "
                                   f"'{list(value._shape)}' to a tensor of size "
                                   f"'{list(self._shape)}'. Please ensure that the gradient "
                                   "and the tensor are the same size")
            if value._dtype is not self._dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype "
                                   f"'{value._dtype}' to a tensor with dtype '{self._dtype}'. "
                                   "The gradient must match the tensor's dtype: convert it "
                                   f"first, e.g. grad.to({self._dtype})")
            if value._storage.device != self._storage.device:
                raise RuntimeError(f"attempting to assign a gradient located on device "
                                   f"'{value.device}' to a tensor located on device "
                                   f"'{self.device}'. Please ensure that the gradient and the "
                                   "tensor are on the same device")
        self._grad = value

    @property
    def data(self) -> "Tensor":
        return self._alias()

    @data.setter
    def data(self, other: "Tensor") -> None:
        self._storage, self._shape, self._stride = other._storage, other._shape, other._stride
        self._offset, self._dtype, self._contig = other._offset, other._dtype, other._contig

    @property
    def retains_grad(self) -> bool:
        return bool(self._retains_grad)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        import weakref
        if self._grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        node = self._grad_fn
        if node.retain_hooks is None:
            node.retain_hooks = {}
        node.retain_hooks[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    def register_hook(self, hook):
        """``hook(grad) -> Tensor | None`` runs when this tensor's gradient is computed."""
        from .autograd.graph import _Handle
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            return _Handle(self._hooks, hook)
        node = self._grad_fn
        if node.pre_hooks is None:
            node.pre_hooks = {}
        lst = node.pre_hooks.setdefault(self._output_nr, [])
        lst.append(hook)
        return _Handle(lst, hook)

    def register_post_accumulate_grad_hook(self, hook):
        from .autograd.graph import _Handle
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        if self._post_acc_hooks is None:
            self._post_acc_hooks = []
        self._post_acc_hooks.append(hook)
        return _Handle(self._post_acc_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``."""
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> "Tensor":
        return self._alias()

    def detach_(self) -> "Tensor":
        self._grad_fn = None
        self._requires_grad = False
        return self

    def _alias(self) -> "Tensor":
        """A new Tensor object over the same storage and geometry, with no history."""
        # shares storage and version counter, but is not an autograd view of self
        return make(self._storage, self._shape, self._stride, self._offset, self._dtype,
                    self._contig)

    # --- host interop ---------------------------------------------------------------------
    def _np(self) -> np.ndarray:
        """A numpy view of this tensor's elements (CPU). For a CUDA tensor: a device array
        of its shape -- a view when contiguous (so kernels can write into it), else a
        contiguous device copy."""
        data = self._storage.data
        if not isinstance(data, np.ndarray):
            from .cuda.interop import device_view
            return device_view(self)
        off = self._offset
        if self._contig:
            n = 1
            for s in self._shape:
                n *= s
            return data[off:off + n].reshape(self._shape)
        isz = self._dtype.itemsize
        return np.ndarray(self._shape, self._dtype.np, buffer=data, offset=off * isz,
                          strides=tuple(s * isz for s in self._stride))

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """A numpy array sharing memory with this (CPU) tensor."""
        if self.is_cuda:
            if not force:
                raise TypeError(
                    "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy "
                    "the tensor to host memory first.")
            return self.cpu().numpy()
        if self.requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                "instead.")
        return self._np()

    def _host(self) -> np.ndarray:
        return self._np() if self.is_cpu else self.cpu()._np()

    def __array__(self, dtype=None, copy=None):
        a = self._host()
        return a.astype(dtype) if dtype is not None else a

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to "
                               "Scalar")
        return self._host().reshape(-1)[0].item()

    def tolist(self):
        return self._host().tolist()

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    def __iter__(self):
        if not self._shape:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError(f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        self._one_element()
        return float(self.item())

    def __int__(self) -> int:
        self._one_element()
        return int(self.item())

    def _one_element(self) -> None:
        if self.numel() != 1:
            raise ValueError(f"only one element tensors can be converted to Python scalars "
                             f"(got a tensor of shape {list(self._shape)}; index it or reduce "
                             "it first)")

    def __index__(self) -> int:
        if self._dtype.is_floating_point or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        if self.dim() == 0 and type(self) is Tensor:  # f"{t}" of a 0-d tensor: its value
            return self.item().__format__(spec)
        return object.__format__(self, spec) if spec else repr(self)

    def __repr__(self, *, tensor_contents=None) -> str:
        from ._printing import format_tensor
        fn = self._grad_fn
        dev = None if self.is_cpu else str(self.device)
        return format_tensor(self._host(), dtype_name=self._dtype.name,
                             is_default_dtype=self._dtype is D.get_default_dtype(), device=dev,
                             requires_grad=self.requires_grad and fn is None,
                             grad_fn=type(fn).__name__ if fn is not None else None)

    __str__ = __repr__

    def __hash__(self) -> int:
        return id(self)

    def __reduce_ex__(self, proto):
        # pickling (DataLoader workers): rebuild from a host copy; autograd state is not kept
        return (_rebuild, (np.array(self._host()), str(self.device), self.requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        t = self.detach().clone()
        t._requires_grad = self._requires_grad
        if type(self) is not Tensor:
            t = type(self).__new__(type(self), t, self._requires_grad) \
                if hasattr(type(self), "_from_tensor") else t
        if self._grad is not None:
            t._grad = self._grad.clone()
        memo[id(self)] = t
        return t


def _rebuild(arr, dev, requires_grad):
    from .ops.creation import from_numpy
    t = from_numpy(arr)
    if dev != "cpu":
        t = t.to(dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _wrap_dim(dim: int, ndim: int, op: str = "") -> int:
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim + n if dim < 0 else dim


_new = object.__new__


def make(storage, shape, stride, offset, dtype, contig) -> Tensor:
    """Fast internal constructor (no checks)."""
    t = _new(Tensor)
    t._storage = storage
    t._shape = shape
    t._stride = stride
    t._offset = offset
    t._dtype = dtype
    t._contig = contig
    t._requires_grad = False
    t._grad_fn = None
    t._output_nr = 0
    t._grad = None
    t._base = None
    t._accumulator = None
    t._hooks = None
    t._post_acc_hooks = None
    t._retains_grad = False
    return t


_strides_cache: dict = {}


def contiguous_strides(shape) -> tuple:
    r = _strides_cache.get(shape)
    if r is not None:
        return r
    if len(_strides_cache) > 8192:
        _strides_cache.clear()
    r = _strides_cache[shape] = _contiguous_strides(shape)
    return r


def _contiguous_strides(shape) -> tuple:
    st = []
    acc = 1
    for s in reversed(shape):
        st.append(acc)
        acc *= s if s > 1 else 1
    return tuple(reversed(st))


def empty_tensor(shape: tuple, dtype: D.dtype, device=CPU) -> Tensor:
    """A fresh contiguous tensor; CPU buffers come from the caching allocator."""
    n = 1
    for s in shape:
        n *= s
    if device is CPU:
        data, raw = cpu_empty(n, dtype.np)
        st = Storage(data, CPU) if raw is None else PooledStorage(data, CPU, raw)
    else:
        from .cuda._memory import cuda_storage
        st = cuda_storage(n, dtype, device)
    return make(st, shape, contiguous_strides(shape), 0, dtype, True)
