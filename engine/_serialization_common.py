"""Shared pieces of ``engine.save``/``engine.load``: errors, geometry checks, and PyTorch's
``map_location`` rules (a storage is restored to a device once; every view of it is built on
the restored storage, so views keep sharing memory after loading)."""

from __future__ import annotations

import pickle

import numpy as np

__all__ = ["WeightsOnlyUnpicklingError", "fail", "make_view", "restore_storage"]

_MAX_DIMS = 64


class WeightsOnlyUnpicklingError(pickle.UnpicklingError, RuntimeError):
    """``pickle.UnpicklingError`` (what torch raises) that is also a ``RuntimeError``."""


def fail(name: str, what: str, kind: str = "engine") -> RuntimeError:
    return RuntimeError(f"engine.load: {name} is not a valid {kind} checkpoint: {what}")


def _as_location(loc) -> str:
    from ._device import device
    if isinstance(loc, device):
        return str(loc)
    if isinstance(loc, str):
        return loc
    if isinstance(loc, int):
        return f"cuda:{loc}"
    raise TypeError(f"engine.load: map_location must be a str, engine.device, dict or callable, "
                    f"got {type(loc).__name__}")


def _to_location(flat, loc: str):
    """``default_restore_location``: the flat tensor's Storage on device ``loc``."""
    from ._device import device
    try:
        dev = device(loc)
    except RuntimeError as e:
        raise RuntimeError(f"engine.load: don't know how to restore data location {loc!r} "
                           f"({e}); pass map_location='cpu' to load it on the CPU") from None
    if dev.type == "cpu":
        return flat._storage if flat.is_cpu else flat.cpu()._storage
    from . import cuda
    if not cuda.is_available():
        raise RuntimeError(
            "Attempting to deserialize object on a CUDA device but engine.cuda.is_available() "
            "is False. If you are running on a CPU-only machine, please use engine.load with "
            "map_location=engine.device('cpu') to map your storages to the CPU.")
    n = cuda.device_count()
    if dev.index is not None and dev.index >= n:
        raise RuntimeError(
            f"Attempting to deserialize object on CUDA device {dev.index} but "
            f"engine.cuda.device_count() is {n}. Please use engine.load with map_location to "
            "map your storages to an existing device.")
    return flat.to(dev)._storage


def restore_storage(buf: np.ndarray, dtype, location: str, map_location):
    """A Storage holding ``buf`` (a fresh CPU array) on the device ``map_location`` picks for a
    storage saved at ``location``. A callable gets ``(storage, location)`` where the storage is
    a flat 1-D CPU tensor over the whole buffer; it returns a tensor (kept as is) or None."""
    from ._device import CPU
    from ._storage import Storage
    from ._tensor import Tensor, make
    flat = make(Storage(buf, CPU), (buf.size,), (1,), 0, dtype, True)
    if map_location is None:
        return _to_location(flat, location)
    if callable(map_location) and not isinstance(map_location, (str, dict)):
        r = map_location(flat, location)
        if r is None:
            return _to_location(flat, location)
        if isinstance(r, Storage):
            return r
        if not isinstance(r, Tensor):
            raise TypeError(f"engine.load: map_location returned {type(r).__name__}; it must "
                            "return the storage (a tensor) it was given, moved, or None")
        if r.numel() != buf.size or r._offset != 0 or not r._contig or r._dtype is not dtype:
            r = r.reshape(-1).contiguous()
        return r._storage
    if isinstance(map_location, dict):
        loc = map_location.get(location, location)
        return _to_location(flat, _as_location(loc))
    return _to_location(flat, _as_location(map_location))


def check_geometry(name, shape, stride, offset, numel):
    """Validate a view of a storage of ``numel`` elements (all plain non-negative ints)."""
    ok = (isinstance(shape, (list, tuple)) and isinstance(stride, (list, tuple))
          and len(shape) == len(stride) <= _MAX_DIMS
          and all(type(v) is int and v >= 0 for v in (*shape, *stride))
          and type(offset) is int and offset >= 0)
    if not ok:
        raise fail(name, f"bad tensor geometry: size {shape}, stride {stride}, offset {offset}")
    shape, stride = tuple(shape), tuple(stride)
    if all(shape):
        last = offset + sum((n - 1) * s for n, s in zip(shape, stride))
        if last >= numel:
            raise fail(name, f"a tensor of size {list(shape)}, stride {list(stride)} and offset "
                       f"{offset} reaches element {last} of a storage of {numel} elements")
    elif offset > numel:
        raise fail(name, f"tensor offset {offset} is past its storage of {numel} elements")
    return shape, stride


def make_view(name, storage, numel, shape, stride, offset, dtype, requires_grad, param):
    """A tensor (or Parameter) viewing ``storage`` after the geometry is checked."""
    from . import _strided as S
    from ._tensor import make
    shape, stride = check_geometry(name, shape, stride, offset, numel)
    t = make(storage, shape, stride, offset, dtype, S.is_contiguous(shape, stride))
    if param:
        from .nn.parameter import Parameter
        return Parameter(t, requires_grad=bool(requires_grad))
    if requires_grad:
        if not dtype.is_floating_point:
            raise fail(name, f"a {dtype} tensor cannot require grad")
        t.requires_grad_(True)
    return t
