"""Reading checkpoints written by PyTorch's ``torch.save`` (no torch needed).

Zip format: ``<archive>/data.pkl`` (a pickle whose tensors are
``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`` over
persistent ids ``("storage", torch.FloatStorage, key, location, numel)``), the storages'
raw bytes in ``<archive>/data/<key>`` and ``<archive>/byteorder``. The legacy format
(``_use_new_zipfile_serialization=False``) is a magic-number pickle, a protocol pickle, a
sys-info pickle, the object's pickle, a pickle of the storage keys and then, per key, an
int64 element count and the raw bytes. torch's globals are mapped to engine stand-ins, so a
``weights_only=True`` load accepts exactly what torch's weights-only unpickler accepts for
tensors and refuses everything else without running it."""

from __future__ import annotations

import io
import re
import sys
import zipfile

import numpy as np

from ._serialization_common import fail as _fail
from ._serialization_common import make_view, restore_storage
from ._serialization_pickle import BASE_GLOBALS, unpickle

__all__ = ["load_torch_legacy", "load_torch_zip"]

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_MAX_PKL = 1 << 30
_STORAGE_DTYPES = {
    "FloatStorage": "float32", "DoubleStorage": "float64", "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16", "LongStorage": "int64", "IntStorage": "int32",
    "ShortStorage": "int16", "CharStorage": "int8", "ByteStorage": "uint8",
    "BoolStorage": "bool", "UntypedStorage": "uint8"}


def fail(name, what):
    return _fail(name, what, "PyTorch")


class _StorageType:
    """Stands in for ``torch.FloatStorage`` & co. inside a persistent id."""

    def __init__(self, torch_name, dtype):
        self.torch_name, self.dtype = torch_name, dtype

    def __repr__(self):
        return f"torch.{self.torch_name}"


class _Loaded:
    """A storage read from the file: an engine Storage, its element count and dtype name."""

    def __init__(self, storage, numel, dtype):
        self.storage, self.numel, self.dtype = storage, numel, dtype


def _np(dt):
    return np.dtype(np.uint16) if dt == "bfloat16" else np.dtype(dt)


def _engine_dtype(dt):
    from ._dtype import from_name
    return from_name("float32" if dt == "bfloat16" else dt)


def _to_engine_buffer(raw: bytes, dt: str, big_endian: bool) -> np.ndarray:
    a = np.frombuffer(raw, _np(dt))
    if big_endian:
        a = a.byteswap()
    if dt == "bfloat16":        # engine has no bfloat16: widen exactly to float32
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.copy()


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None, _name="<file>"):
    if not isinstance(storage, _Loaded):
        raise TypeError(f"engine.load: {_name}: _rebuild_tensor_v2 got a "
                           f"{type(storage).__name__} instead of a storage")
    return make_view(_name, storage.storage, storage.numel, _ints(size), _ints(stride),
                     storage_offset, _engine_dtype(storage.dtype), requires_grad, False)


def _ints(v):
    return list(v) if isinstance(v, (tuple, list)) else v


def _rebuild_parameter(data, requires_grad, backward_hooks=None, state=None):
    from ._tensor import Tensor
    from .nn.parameter import Parameter
    if not isinstance(data, Tensor):
        raise TypeError("engine.load: _rebuild_parameter got no tensor")
    return Parameter(data, requires_grad=bool(requires_grad))


def _rebuild_from_type_v2(func, new_type, args, state):
    t = func(*args)
    from .nn.parameter import Parameter
    if new_type is _rebuild_parameter and not isinstance(t, Parameter):
        t = _rebuild_parameter(t, t.requires_grad)
    return t


def _torch_device(type_, index=None):
    from ._device import device
    return device(type_, index)


def _torch_globals(name):
    from . import _dtype as D
    from ._size import Size
    g = dict(BASE_GLOBALS)
    for k, dt in _STORAGE_DTYPES.items():
        st = _StorageType(k, dt)
        g[f"torch.{k}"] = st
        g[f"torch.storage.{k}"] = st
    rebuild = (lambda *a, **k: _rebuild_tensor_v2(*a, **k, _name=name))
    g.update({
        "torch._utils._rebuild_tensor_v2": rebuild,
        "torch._utils._rebuild_tensor": rebuild,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.nn.parameter.Parameter": _rebuild_parameter,
        "torch.Tensor": lambda *a: None,
        "torch.device": _torch_device,
        "torch.Size": Size,
    })
    for d in D.ALL:
        g[f"torch.{d.name}"] = d
    return g


def _storage_loader(name, read, map_location):
    """persistent_load for torch pickles; ``read(key, nbytes)`` returns the storage bytes."""
    cache = {}

    def pload(pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise RuntimeError(f"engine.load: {name}: unsupported persistent id "
                               f"{str(pid)[:80]} (only tensor storages can be loaded)")
        st_type, key, location, numel = pid[1:5]
        if not isinstance(st_type, _StorageType):
            raise TypeError(f"engine.load: {name}: bad storage type {st_type!r}")
        if not (isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_.]{1,64}", key)
                and isinstance(location, str) and type(numel) is int and numel >= 0):
            raise fail(name, f"bad storage record {str(pid[1:5])[:80]}")
        if len(pid) > 5 and pid[5] is not None:
            raise fail(name, "storage views (legacy view_metadata) are not supported")
        if key not in cache:
            dt = st_type.dtype
            if dt not in ("float16", "float32", "float64", "bfloat16", "int8", "int16",
                          "int32", "int64", "uint8", "bool"):
                raise RuntimeError(f"engine.load: {name}: torch.{st_type.torch_name} holds a "
                                   "dtype engine does not support")
            nb = numel * _np(dt).itemsize
            buf = _to_engine_buffer(read(key, nb), dt, _big[0])
            cache[key] = _Loaded(restore_storage(buf, _engine_dtype(dt), location, map_location),
                                 numel, dt)
        return cache[key]
    _big = [False]
    pload.big_endian = _big
    return pload


# ------------------------------------------------------------------------------- zip format

def _check_names(name, zf):
    for info in zf.infolist():
        n = info.filename
        if (n.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", n) or "\x00" in n
                or ".." in re.split(r"[/\\]", n)):
            raise fail(name, f"unsafe path {n!r} in the zip archive (path traversal)")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise fail(name, f"zip entry {n!r} uses an unsupported compression")
        if info.compress_type == zipfile.ZIP_DEFLATED and \
                info.file_size > 64 << 20 and info.file_size > 10 * max(info.compress_size, 1):
            raise fail(name, f"zip entry {n!r} expands {info.compress_size} bytes to "
                       f"{info.file_size} (a zip bomb?)")
    pkls = [n for n in zf.namelist() if re.fullmatch(r"[^/]+/data\.pkl", n)]
    if len(pkls) != 1:
        raise fail(name, f"a PyTorch zip checkpoint has one <archive>/data.pkl; found "
                   f"{len(pkls)}")
    return pkls[0][:-len("data.pkl")]


def _read_entry(name, zf, entry, nbytes, size):
    try:
        info = zf.getinfo(entry)
    except KeyError:
        raise fail(name, f"missing zip entry {entry!r}") from None
    if nbytes is not None and info.file_size < nbytes:
        raise fail(name, f"zip entry {entry!r} holds {info.file_size} bytes but its storage "
                   f"needs {nbytes}: the file is truncated or corrupted")
    want = info.file_size if nbytes is None else nbytes
    if want > _MAX_PKL and nbytes is None or (info.compress_type == zipfile.ZIP_STORED
                                               and info.compress_size > size):
        raise fail(name, f"zip entry {entry!r} declares {info.file_size} bytes, more than the "
                   f"file holds ({size})")
    try:
        with zf.open(info) as fh:
            data = fh.read(want)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise fail(name, f"zip entry {entry!r} is corrupted ({e})") from None
    if len(data) != want:
        raise fail(name, f"zip entry {entry!r} is truncated")
    return data


def load_torch_zip(blob, name, map_location, weights_only, pickle_module=None, **kw):
    try:
        zf = zipfile.ZipFile(io.BytesIO(blob))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise fail(name, f"corrupted zip archive ({e})") from None
    with zf:
        prefix = _check_names(name, zf)
        pload = _storage_loader(
            name, lambda key, nb: _read_entry(name, zf, f"{prefix}data/{key}", nb, len(blob)),
            map_location)
        if f"{prefix}byteorder" in zf.namelist():
            order = _read_entry(name, zf, f"{prefix}byteorder", None, len(blob))[:16]
            if order not in (b"little", b"big"):
                raise fail(name, f"bad byteorder record {order!r}")
            pload.big_endian[0] = order == b"big" and sys.byteorder == "little"
        data = _read_entry(name, zf, f"{prefix}data.pkl", None, len(blob))
        f = io.BytesIO(data)
        obj = unpickle(f, name, _torch_globals(name), pload, weights_only, pickle_module, **kw)
    return obj


# ------------------------------------------------------------------------------ legacy format

def load_torch_legacy(blob, name, map_location, weights_only, pickle_module=None, **kw):
    """``torch.save(..., _use_new_zipfile_serialization=False)`` files."""
    f = io.BytesIO(blob)
    g = _torch_globals(name)

    def nopid(pid):
        raise fail(name, "unexpected persistent id in a legacy header")

    def small(what):
        return unpickle(f, name, g, nopid, weights_only, pickle_module, **kw)

    magic = small("magic number")
    if magic != _LEGACY_MAGIC:
        raise fail(name, "a pickle that is not a PyTorch checkpoint (no legacy magic number)")
    if small("protocol") != 1001:
        raise fail(name, "unsupported legacy protocol version")
    info = small("sys info")
    if not isinstance(info, dict) or not info.get("little_endian", True):
        raise fail(name, "big-endian legacy checkpoints are not supported")
    pending = {}

    def read_later(key, nb):  # storage bytes come after the object's pickle: fill in later
        if nb > len(blob) - f.tell():
            raise fail(name, f"storage {key!r} declares {nb} bytes, more than the file holds")
        pending[key] = nb
        return bytes(nb)

    holders = {}
    base = _storage_loader(name, read_later, lambda s, loc: s)  # CPU placeholders

    def pload(pid):
        r = base(pid)
        holders[pid[2]] = (r, pid[3])
        return r
    obj = unpickle(f, name, g, pload, weights_only, pickle_module, **kw)
    keys = small("storage keys")
    if not isinstance(keys, list) or set(keys) != set(pending):
        raise fail(name, "storage key list does not match the storages the object uses")
    for key in keys:
        head = f.read(8)
        if len(head) != 8:
            raise fail(name, f"storage {key!r} is truncated")
        ld, loc = holders[key]
        n = int.from_bytes(head, "little", signed=True)
        nb = pending[key]
        if n != ld.numel:
            raise fail(name, f"storage {key!r} declares {n} elements, expected {ld.numel}")
        raw = f.read(nb)
        if len(raw) != nb:
            raise fail(name, f"storage {key!r} is truncated")
        buf = _to_engine_buffer(raw, ld.dtype, False)
        st = restore_storage(buf, _engine_dtype(ld.dtype), loc, map_location)
        ld.storage.data, ld.storage.device = st.data, st.device
    return obj
