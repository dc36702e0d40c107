"""``engine.save`` / ``engine.load``: a safe checkpoint format (no pickle, never runs code).

Layout: ``b"ENGINEv1"`` | 8-byte little-endian header length | UTF-8 JSON header | raw
buffers. The header describes the object tree (dicts, lists, tuples, str, int, float, bool,
None, tensors) and each storage (dtype, element count, byte offset into the data section).
Tensors that shared a storage when saved share one again when loaded. Every size and offset
is checked against the file size before any buffer is read."""

from __future__ import annotations

import io
import json
import math
import os
import tempfile

import numpy as np

__all__ = ["save", "load"]

MAGIC = b"ENGINEv1"
_MAX_HEADER = 256 << 20
_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")


class _Writer:
    def __init__(self):
        self.storages = []   # (numpy flat buffer,) in order
        self.ids = {}        # id(Storage) -> index

    def node(self, obj):
        from ._tensor import Tensor
        if isinstance(obj, Tensor):
            return self.tensor(obj)
        if obj is None or isinstance(obj, (bool, str)):
            return {"t": "v", "v": obj}
        if isinstance(obj, int):
            return {"t": "i", "v": str(obj)}
        if isinstance(obj, float):
            return {"t": "f", "v": repr(obj)}
        if isinstance(obj, (np.integer, np.floating, np.bool_)):
            return self.node(obj.item())
        if isinstance(obj, dict):
            return {"t": "d", "v": [[self.node(k), self.node(v)] for k, v in obj.items()]}
        if isinstance(obj, (list, tuple)):
            return {"t": "l" if isinstance(obj, list) else "u", "v": [self.node(v) for v in obj]}
        from ._device import device
        from ._dtype import dtype
        if isinstance(obj, (device, dtype)):
            return {"t": "s" if isinstance(obj, device) else "y", "v": str(obj).replace(
                "torch.", "")}
        from .nn.modules.module import Module
        if isinstance(obj, Module):
            raise TypeError(f"engine.save: cannot save a whole nn.Module ({type(obj).__name__}):"
                            " engine.save is pickle-free by design and stores only tensors, "
                            "numbers, strings, None, dicts, lists and tuples of them. Save "
                            "model.state_dict() instead and restore it into a new instance "
                            "with model.load_state_dict(engine.load(path))")
        raise TypeError(f"engine.save: cannot save an object of type {type(obj).__name__} (only "
                        "tensors, numbers, strings, None, dicts, lists and tuples of them)")

    def tensor(self, t):
        st = t._storage
        key = id(st)
        if key not in self.ids:
            data = st.data if t.is_cpu else t._storage_host()
            self.ids[key] = len(self.storages)
            self.storages.append((np.ascontiguousarray(data), t._dtype.name))
        return {"t": "T", "s": self.ids[key], "dtype": t._dtype.name, "shape": list(t._shape),
                "stride": list(t._stride), "offset": t._offset, "rg": bool(t.requires_grad),
                "dev": str(t.device), "param": type(t).__name__ == "Parameter"}


def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True):
    """Save ``obj`` to a path (atomically: temp file + rename) or a binary file object."""
    w = _Writer()
    tree = w.node(obj)
    metas, off = [], 0
    for arr, dt in w.storages:
        metas.append({"dtype": dt, "numel": int(arr.size), "offset": off})
        off += arr.nbytes
    header = json.dumps({"tree": tree, "storages": metas}).encode()
    parts = [MAGIC, len(header).to_bytes(8, "little"), header]
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        d = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".engine-save-", dir=d)
        try:
            with os.fdopen(fd, "wb") as out:
                _write(out, parts, w)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    else:
        _write(f, parts, w)


def _write(out, parts, w):
    for p in parts:
        out.write(p)
    for arr, _ in w.storages:
        out.write(memoryview(arr.view(np.uint8).reshape(-1)) if arr.size else b"")


def _fail(name, what):
    return RuntimeError(f"engine.load: {name} is not a valid engine checkpoint: {what}")


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None, **_):
    """Load what ``save`` wrote. Never executes code; checks every offset first."""
    name = repr(os.fspath(f)) if isinstance(f, (str, os.PathLike)) else "<file object>"
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            blob = fh.read()
    else:
        blob = f.read()
    if blob[:8] != MAGIC:
        if blob[:4] == b"PK\x03\x04" or blob[:1] == b"\x80":
            raise RuntimeError(
                f"engine.load: {name} is a PyTorch/pickle checkpoint. engine refuses pickle "
                "files because loading them can execute arbitrary code. Convert it with torch: "
                "`engine.save({k: engine.tensor(v.numpy()) for k, v in torch.load(p).items()}, "
                "new_path)`.")
        raise _fail(name, "missing the ENGINEv1 magic bytes (not an engine file or corrupted)")
    if len(blob) < 16:
        raise _fail(name, "truncated header")
    hlen = int.from_bytes(blob[8:16], "little")
    if hlen > _MAX_HEADER or 16 + hlen > len(blob):
        raise _fail(name, f"header length {hlen} exceeds the file size {len(blob)} (truncated or "
                    "corrupted)")
    try:
        header = json.loads(blob[16:16 + hlen].decode())
        metas, tree = header["storages"], header["tree"]
    except Exception as e:  # noqa: BLE001
        raise _fail(name, f"unreadable header ({e})") from None
    data = memoryview(blob)[16 + hlen:]
    storages = [_storage(name, m, data) for m in metas]
    return _build(name, tree, storages, map_location)


def _storage(name, m, data):
    try:
        dt, n, off = m["dtype"], int(m["numel"]), int(m["offset"])
    except Exception:  # noqa: BLE001
        raise _fail(name, "bad storage record") from None
    if dt not in _DTYPES:
        raise _fail(name, f"unknown dtype {dt!r}")
    nbytes = n * np.dtype(dt if dt != "bool" else np.bool_).itemsize
    if n < 0 or off < 0 or off + nbytes > len(data):
        raise _fail(name, f"a {dt} storage of {n} elements at byte {off} runs past the end of "
                    f"the data ({len(data)} bytes): the file is truncated")
    return np.frombuffer(data[off:off + nbytes], dtype=dt).copy(), {}


def _build(name, node, storages, map_location):
    t = node.get("t") if isinstance(node, dict) else None
    rec = lambda n: _build(name, n, storages, map_location)  # noqa: E731
    if t == "v":
        return node["v"]
    if t == "i":
        return int(node["v"])
    if t == "f":
        return float(node["v"]) if node["v"] not in ("nan", "inf", "-inf") else float(node["v"])
    if t == "d":
        return {_key(rec(k)): rec(v) for k, v in node["v"]}
    if t == "l":
        return [rec(v) for v in node["v"]]
    if t == "u":
        return tuple(rec(v) for v in node["v"])
    if t == "s":
        from ._device import device
        return device(node["v"])
    if t == "y":
        from ._dtype import from_name
        return from_name(node["v"])
    if t == "T":
        return _tensor(name, node, storages, map_location)
    raise _fail(name, f"unknown node {str(node)[:60]}")


def _key(k):
    return tuple(k) if isinstance(k, list) else k


def _tensor(name, node, storages, map_location):
    from ._storage import Storage
    from ._device import CPU
    from ._tensor import make
    from . import _strided as S
    from ._dtype import from_name
    si = node["s"]
    if not 0 <= si < len(storages):
        raise _fail(name, f"tensor refers to storage {si} of {len(storages)}")
    buf, cache = storages[si]
    shape = tuple(int(s) for s in node["shape"])
    stride = tuple(int(s) for s in node["stride"])
    off = int(node["offset"])
    if node["dtype"] != str(buf.dtype) and not (node["dtype"] == "bool" and buf.dtype == bool):
        raise _fail(name, "tensor dtype differs from its storage's")
    if len(shape) != len(stride) or any(s < 0 for s in shape + stride) or off < 0:
        raise _fail(name, f"bad tensor geometry {shape} / {stride}")
    if all(shape) and off + sum((n - 1) * s for n, s in zip(shape, stride)) >= max(buf.size, 1):
        raise _fail(name, f"tensor of shape {list(shape)} reaches past its storage")
    if "st" not in cache:
        cache["st"] = Storage(buf, CPU)
    t = make(cache["st"], shape, stride, off, from_name(node["dtype"]),
             S.is_contiguous(shape, stride))
    dev = node.get("dev", "cpu")
    if map_location is not None:
        if callable(map_location):
            r = map_location(t, dev)
            t = r if r is not None else t
        elif isinstance(map_location, dict):
            t = t.to(map_location.get(dev, dev))
        else:
            t = t.to(map_location)
    elif dev != "cpu":
        t = t.to(dev)
    if node.get("param"):
        from .nn.parameter import Parameter
        t = Parameter(t, requires_grad=node["rg"])
    elif node["rg"]:
        t.requires_grad_(True)
    return t
