"""Zero-copy exchange with other array libraries.

* ``__cuda_array_interface__`` (v3) on CUDA tensors, and ``from_cuda_array(obj)`` for any
  object exposing it (Numba, CuPy, torch CUDA tensors); ``engine.as_tensor`` uses it.
* DLPack: ``Tensor.__dlpack__`` / ``__dlpack_device__`` (CPU through numpy's exporter, CUDA
  through capsules built here with ctypes, legacy or versioned 1.x) and
  ``engine.from_dlpack(obj)`` (CPU through ``np.from_dlpack``; CUDA through the producer's
  CUDA array interface when it has one, else its capsule).

>>> import engine, numpy as np
>>> t = engine.arange(4.)
>>> a = np.from_dlpack(t); a[0] = 7.; t[0].item()
7.0
"""

from __future__ import annotations

import ctypes

import numpy as np

__all__ = [
    "attach",
    "cuda_array_interface",
    "from_cuda_array",
    "from_dlpack",
    "to_dlpack_capsule",
]

kDLCPU, kDLCUDA = 1, 2
_CODES = {"i": 0, "u": 1, "f": 2, "b": 6}
_KINDS = {0: "i", 1: "u", 2: "f", 6: "b"}


# ---- pointers --------------------------------------------------------------------------
def _base_ptr(data) -> int:
    """Address of element 0 of a 1-D device array (simulator: the host buffer's)."""
    p = getattr(data, "device_ctypes_pointer", None)
    if p is not None:
        return int(p.value or 0)
    ary = getattr(data, "_ary", None)
    if ary is not None:
        return int(ary.ctypes.data)
    raise TypeError(f"cannot get a device pointer from {type(data).__name__}")


def _tensor_ptr(t) -> int:
    return _base_ptr(t._storage.data) + t._offset * t._dtype.itemsize


def device_view(t):
    """``t._np()`` for a CUDA tensor: its elements as a device array of its shape (a view
    when contiguous, else a contiguous copy made on the device)."""
    if not t._contig:
        from ..autograd.grad_mode import no_grad
        with no_grad():
            t = t.contiguous()
    n = t.numel()
    d = t._storage.data
    v = d if (t._offset == 0 and d.shape[0] == n) else d[t._offset:t._offset + n]
    return v.reshape(t._shape) if len(t._shape) > 1 else v


# ---- CUDA array interface ----------------------------------------------------------------
def cuda_array_interface(t) -> dict:
    if not t.is_cuda:
        raise AttributeError("Can't get __cuda_array_interface__ on non-CUDA tensor type: "
                             f"{t.device}. Use .cuda() or .numpy()/__array_interface__.")
    if t.requires_grad:
        raise RuntimeError("Can't get __cuda_array_interface__ on Variable that requires grad. "
                           "If gradients aren't required, use var.detach() to get Variable "
                           "that doesn't require grad.")
    isz = t._dtype.itemsize
    n = t.numel()
    return {"shape": tuple(t._shape), "typestr": t._dtype.np.str,
            "data": (_tensor_ptr(t) if n else 0, False), "version": 3,
            "strides": None if t._contig else tuple(s * isz for s in t._stride),
            "stream": 1}


class _Foreign:
    """Marks storage the engine does not own; keeps its owner alive."""

    __slots__ = ("owner",)

    def __init__(self, owner):
        self.owner = owner


def _wrap_pointer(ptr: int, span: int, np_dtype, owner):
    """A 1-D device array of ``span`` elements at ``ptr`` (kept alive through ``owner``)."""
    from numba import cuda

    from . import is_simulator
    if is_simulator():  # simulator "device" memory is host memory
        from numba.cuda.simulator.cudadrv.devicearray import FakeCUDAArray
        nbytes = span * np_dtype.itemsize
        buf = (ctypes.c_char * max(nbytes, 1)).from_address(ptr) if ptr else bytearray(1)
        host = np.frombuffer(buf, np.uint8, count=nbytes).view(np_dtype)
        return FakeCUDAArray(host)
    desc = {"shape": (span,), "typestr": np_dtype.str, "data": (ptr, False), "version": 3,
            "strides": None, "stream": None}
    return cuda.from_cuda_array_interface(desc, owner=owner, sync=False)


def _from_pointer(ptr, shape, strides_el, np_dtype, owner, device_index=None):
    from .. import _dtype as D
    from .. import _strided as S
    from .._device import device
    from .._tensor import contiguous_strides, make
    from . import _lazy_init, current_device
    from ._memory import CudaStorage
    _lazy_init("cuda")
    shape = tuple(int(s) for s in shape)
    if strides_el is None:
        strides_el = contiguous_strides(shape)
    strides_el = tuple(int(s) for s in strides_el)
    if any(s < 0 for s in strides_el):
        raise ValueError("from_cuda_array: negative strides are not supported; copy first")
    n = 1
    for s in shape:
        n *= s
    span = 0 if n == 0 else 1 + sum((d - 1) * s for d, s in zip(shape, strides_el))
    dt = D.from_numpy_dtype(np_dtype)
    idx = current_device() if device_index is None else int(device_index)
    arr = _wrap_pointer(ptr, span, np.dtype(np_dtype), owner)
    st = CudaStorage(arr, device("cuda", idx), _Foreign(owner))
    return make(st, shape, strides_el, 0, dt, S.is_contiguous(shape, strides_el))


def from_cuda_array(obj):
    """A CUDA tensor sharing memory with ``obj`` (anything with ``__cuda_array_interface__``)."""
    desc = obj.__cuda_array_interface__
    if desc.get("mask") is not None:
        raise NotImplementedError("from_cuda_array: masked arrays are not supported")
    np_dtype = np.dtype(desc["typestr"])
    shape = tuple(desc["shape"])
    ptr = int(desc["data"][0] or 0)
    strides = desc.get("strides")
    isz = np_dtype.itemsize
    if strides is not None:
        if any(s % isz for s in strides):
            raise ValueError(f"from_cuda_array: strides {strides} are not multiples of the "
                             f"item size {isz}")
        strides = tuple(s // isz for s in strides)
    stream = desc.get("stream")
    if stream not in (None, 0, 1, 2):
        from numba import cuda

        from . import is_simulator
        if not is_simulator():
            cuda.external_stream(stream).synchronize()
    return _from_pointer(ptr, shape, strides, np_dtype, obj)


# ---- DLPack structures -------------------------------------------------------------------
class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


_DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class _DLManaged(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", _DELETER)]


class _DLVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class _DLManagedVersioned(ctypes.Structure):
    _fields_ = [("version", _DLVersion), ("manager_ctx", ctypes.c_void_p),
                ("deleter", _DELETER), ("flags", ctypes.c_uint64), ("dl_tensor", _DLTensor)]


_api = ctypes.pythonapi
_cap_new = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p,
                             ctypes.c_void_p)(("PyCapsule_New", _api))
_cap_valid_raw = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)(
    ("PyCapsule_IsValid", _api))
_cap_ptr_raw = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", _api))
_cap_valid = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_IsValid", _api))
_cap_ptr = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", _api))
_cap_rename = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_SetName", _api))

_live: dict[int, tuple] = {}


@_DELETER
def _deleter(addr):
    _live.pop(addr, None)


_CAP_DESTRUCTOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


@_CAP_DESTRUCTOR
def _capsule_destructor(cap):
    # an unconsumed capsule still has its original name: release what it holds
    for name in (b"dltensor", b"dltensor_versioned"):
        if _cap_valid_raw(cap, name):
            _live.pop(_cap_ptr_raw(cap, name), None)
            return


def to_dlpack_capsule(ptr: int, shape, strides_el, np_dtype, device: tuple, owner,
                      versioned: bool = False, readonly: bool = False):
    """A DLPack capsule describing memory at ``ptr`` (``owner`` is kept alive until the
    consumer calls the deleter, or the capsule dies unconsumed)."""
    np_dtype = np.dtype(np_dtype)
    nd = len(shape)
    sh = (ctypes.c_int64 * max(nd, 1))(*shape)
    st = (ctypes.c_int64 * max(nd, 1))(*strides_el)
    m = _DLManagedVersioned() if versioned else _DLManaged()
    t = m.dl_tensor
    t.data = ptr or None
    t.device = _DLDevice(device[0], device[1])
    t.ndim = nd
    t.dtype = _DLDataType(_CODES[np_dtype.kind], np_dtype.itemsize * 8, 1)
    t.shape = ctypes.cast(sh, ctypes.POINTER(ctypes.c_int64))
    t.strides = ctypes.cast(st, ctypes.POINTER(ctypes.c_int64))
    t.byte_offset = 0
    m.deleter = _deleter
    if versioned:
        m.version = _DLVersion(1, 0)
        m.flags = 1 if readonly else 0
    addr = ctypes.addressof(m)
    _live[addr] = (owner, m, sh, st)
    name = b"dltensor_versioned" if versioned else b"dltensor"
    return _cap_new(addr, name, ctypes.cast(_capsule_destructor, ctypes.c_void_p))


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    if self.requires_grad:
        raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
    if self.is_cpu:
        a = self._np()
        kw = {}
        if max_version is not None:
            kw["max_version"] = max_version
        if dl_device is not None:
            kw["dl_device"] = dl_device
        if copy is not None:
            kw["copy"] = copy
        if stream is not None:
            raise BufferError("__dlpack__: stream must be None for CPU tensors")
        return a.__dlpack__(**kw)
    if dl_device is not None and tuple(dl_device) != self.__dlpack_device__():
        raise BufferError(f"__dlpack__: cannot export a {self.device} tensor to device "
                          f"{dl_device} without a copy; move it with .to() first")
    if copy:
        self = self.clone()
    if stream is not None and stream != -1:
        from numba import cuda
        cuda.synchronize()  # engine kernels run on the default stream
    versioned = max_version is not None and tuple(max_version) >= (1, 0)
    return to_dlpack_capsule(_tensor_ptr(self) if self.numel() else 0, self._shape,
                             self._stride, self._dtype.np, self.__dlpack_device__(), self,
                             versioned)


def _dlpack_device(self):
    d = self._storage.device
    return (kDLCPU, 0) if d.type == "cpu" else (kDLCUDA, d.index or 0)


class _DLOwner:
    """Holds a consumed DLPack tensor; calls its deleter when the last view dies."""

    def __init__(self, addr, versioned):
        self.addr, self.versioned = addr, versioned

    def __del__(self):
        cls = _DLManagedVersioned if self.versioned else _DLManaged
        m = cls.from_address(self.addr)
        if m.deleter:
            m.deleter(self.addr)


def _consume_capsule(cap):
    """(pointer, shape, strides (elements), numpy dtype, (device type, id), owner)."""
    versioned = bool(_cap_valid(cap, b"dltensor_versioned"))
    name = b"dltensor_versioned" if versioned else b"dltensor"
    if not versioned and not _cap_valid(cap, name):
        raise ValueError("from_dlpack: not a DLPack capsule (or one already consumed)")
    addr = _cap_ptr(cap, name)
    m = (_DLManagedVersioned if versioned else _DLManaged).from_address(addr)
    t = m.dl_tensor
    _cap_rename(cap, b"used_dltensor_versioned" if versioned else b"used_dltensor")
    owner = _DLOwner(addr, versioned)
    nd = t.ndim
    shape = tuple(t.shape[i] for i in range(nd))
    strides = tuple(t.strides[i] for i in range(nd)) if t.strides else None
    code, bits = t.dtype.code, t.dtype.bits
    if code not in _KINDS or t.dtype.lanes != 1:
        raise TypeError(f"from_dlpack: unsupported DLPack dtype (code {code}, bits {bits}, "
                        f"lanes {t.dtype.lanes})")
    np_dtype = np.dtype(np.bool_) if code == 6 else np.dtype(f"{_KINDS[code]}{bits // 8}")
    ptr = (t.data or 0) + t.byte_offset
    return ptr, shape, strides, np_dtype, (t.device.device_type, t.device.device_id), owner


class _CapsuleHolder:
    def __init__(self, cap, dev):
        self.cap, self.dev = cap, dev

    def __dlpack__(self, **_):
        return self.cap

    def __dlpack_device__(self):
        return self.dev


def from_dlpack(x, *, device=None, copy=None):
    """A tensor sharing memory with DLPack producer ``x`` (or a DLPack capsule).

    >>> import numpy as np, engine
    >>> engine.from_dlpack(np.arange(3.0))
    tensor([0., 1., 2.], dtype=torch.float64)
    """
    from .._tensor import Tensor
    from ..ops.creation import from_numpy
    if isinstance(x, Tensor):
        t = x.detach()
    else:
        if hasattr(x, "__dlpack_device__"):
            dev = tuple(int(v) for v in x.__dlpack_device__())
        elif type(x).__name__ == "PyCapsule":
            ptr, shape, strides, npd, dev, owner = _consume_capsule(x)
            t = _from_consumed(ptr, shape, strides, npd, dev, owner)
            return _finish(t, device, copy)
        else:
            raise TypeError(f"from_dlpack: {type(x).__name__} supports neither __dlpack__ "
                            "nor is a DLPack capsule")
        if dev[0] == kDLCPU:
            t = from_numpy(np.from_dlpack(x))
        elif dev[0] == kDLCUDA:
            if hasattr(x, "__cuda_array_interface__"):
                t = from_cuda_array(x)
            else:
                try:
                    cap = x.__dlpack__(stream=1, max_version=(1, 0))
                except TypeError:
                    cap = x.__dlpack__(stream=1)
                ptr, shape, strides, npd, dv, owner = _consume_capsule(cap)
                t = _from_consumed(ptr, shape, strides, npd, dv, owner)
        else:
            raise BufferError(f"from_dlpack: unsupported DLPack device type {dev[0]} "
                              "(engine supports CPU=1 and CUDA=2)")
    return _finish(t, device, copy)


def _from_consumed(ptr, shape, strides, npd, dev, owner):
    if dev[0] == kDLCPU:
        from ..ops.creation import from_numpy
        n = 1
        for s in shape:
            n *= s
        st = strides if strides is not None else None
        isz = npd.itemsize
        if n == 0:
            return from_numpy(np.empty(shape, npd))
        span = 1 + sum((d - 1) * s for d, s in zip(shape, st)) if st else n
        buf = (ctypes.c_char * (span * isz)).from_address(ptr)
        buf._owner = owner  # the numpy views keep buf, and buf the producer's memory
        base = np.frombuffer(buf, np.uint8).view(npd)
        arr = np.lib.stride_tricks.as_strided(
            base, shape, tuple(s * isz for s in st) if st else None)
        return from_numpy(arr)
    return _from_pointer(ptr, shape, strides, npd, owner, dev[1])


def _finish(t, device, copy):
    if copy:
        t = t.clone()
    if device is not None:
        t = t.to(device)
    return t


def attach() -> None:
    """Bind the interop attributes onto Tensor (idempotent)."""
    from .._tensor import Tensor
    if getattr(Tensor, "_interop_attached", False):
        return
    Tensor.__cuda_array_interface__ = property(cuda_array_interface)
    Tensor.__dlpack__ = _dlpack
    Tensor.__dlpack_device__ = _dlpack_device
    Tensor._storage_host = _storage_host
    Tensor._interop_attached = True


def _storage_host(self) -> np.ndarray:
    """A host copy of this tensor's whole storage buffer (engine.save of CUDA tensors)."""
    if self.is_cpu:
        return self._storage.data
    from ._memory import check_kernel_errors
    out = self._storage.data.copy_to_host()
    check_kernel_errors()
    return out
