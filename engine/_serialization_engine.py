"""engine's own checkpoint format.

Layout: ``b"ENGINEv1"`` | 8-byte little-endian header length | UTF-8 JSON header | data.
The header holds ``storages`` (dtype, element count, byte offset into the data section,
device), ``tensors`` (storage index, dtype, size, stride, offset, requires_grad, Parameter?)
and either ``tree`` -- a plain object tree (dict/OrderedDict/list/tuple/str/int/float/bool/
None/bytes/dtype/device/Size, tensors by reference) that loads without any pickle -- or
``{"t": "P"}`` plus ``pickle`` (offset and size of a pickle in the data section) for any
other object. That pickle never holds tensor bytes: each tensor is a persistent id
``("engine.tensor", i)`` naming a tensor record, so shared storages stay shared. Every size
and offset is checked against the file before anything is allocated or unpickled."""

from __future__ import annotations

import base64
import collections
import io
import json
import pickle

import numpy as np

from ._serialization_common import fail, make_view, restore_storage
from ._serialization_pickle import BASE_GLOBALS, unpickle

__all__ = ["MAGIC", "dump", "load_engine"]

MAGIC = b"ENGINEv1"
_MAX_HEADER = 256 << 20
_MAX_DEPTH = 200    # deeper plain trees are pickled (and refused when loading deeper ones)
_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")


class _NotPlain(Exception):
    pass


class _Writer:
    def __init__(self):
        self.storages = []   # (numpy flat buffer, dtype name, device str)
        self.sids = {}       # id(Storage) -> index
        self.tensors = []    # tensor records
        self.tids = {}       # id(Tensor) -> index
        self.keep = []       # keeps every recorded object alive (ids stay unique)

    def tensor(self, t) -> int:
        i = self.tids.get(id(t))
        if i is not None:
            return i
        st = t._storage
        si = self.sids.get(id(st))
        if si is None:
            data = st.data if t.is_cpu else t._storage_host()
            si = self.sids[id(st)] = len(self.storages)
            self.storages.append((np.ascontiguousarray(data).reshape(-1), t._dtype.name,
                                  str(t.device)))
        from .nn.parameter import Parameter
        i = self.tids[id(t)] = len(self.tensors)
        self.keep += [t, st]
        self.tensors.append({"s": si, "dtype": t._dtype.name, "shape": list(t._shape),
                             "stride": list(t._stride), "offset": t._offset,
                             "rg": bool(t.requires_grad), "param": isinstance(t, Parameter)})
        return i

    def node(self, obj, depth=0):
        if depth > _MAX_DEPTH:
            raise _NotPlain
        d1 = depth + 1
        from ._device import device
        from ._dtype import dtype
        from ._size import Size
        from ._tensor import Tensor
        tp = type(obj)
        if isinstance(obj, Tensor):
            return {"t": "R", "i": self.tensor(obj)}
        if obj is None or tp in (bool, str):
            return {"t": "v", "v": obj}
        if tp is int:
            return {"t": "i", "v": str(obj)}
        if tp is float:
            return {"t": "f", "v": repr(obj)}
        if tp is bytes:
            return {"t": "b", "v": base64.b64encode(obj).decode()}
        if tp is dict or tp is collections.OrderedDict:
            r = {"t": "d" if tp is dict else "o",
                 "v": [[self.node(k, d1), self.node(v, d1)] for k, v in obj.items()]}
            if tp is not dict and obj.__dict__:
                r["a"] = self.node(dict(obj.__dict__), d1)
            return r
        if tp is list or tp is tuple:
            return {"t": "l" if tp is list else "u", "v": [self.node(v, d1) for v in obj]}
        if tp is Size:
            return {"t": "z", "v": [int(v) for v in obj]}
        if tp is device:
            return {"t": "s", "v": str(obj)}
        if tp is dtype:
            return {"t": "y", "v": obj.name}
        raise _NotPlain


class _Pickler(pickle.Pickler):
    def __init__(self, file, protocol, writer):
        super().__init__(file, protocol)
        self._w = writer

    def persistent_id(self, obj):
        from ._tensor import Tensor
        if isinstance(obj, Tensor):
            return ("engine.tensor", self._w.tensor(obj))
        return None


def dump(obj, pickle_module=None, pickle_protocol=None) -> tuple[list, list]:
    """Everything to write, as (small byte strings, storage arrays); runs every step that can
    fail (pickling included) before the caller writes a byte."""
    w = _Writer()
    pkl = b""
    try:
        tree = w.node(obj)
    except (_NotPlain, RecursionError):
        w = _Writer()
        buf = io.BytesIO()
        proto = pickle_protocol or 4
        if pickle_module is not None and pickle_module is not pickle:
            p = pickle_module.Pickler(buf, proto)
            p.persistent_id = _Pickler(io.BytesIO(), proto, w).persistent_id
        else:
            p = _Pickler(buf, proto, w)
        p.dump(obj)
        pkl, tree = buf.getvalue(), {"t": "P"}
    metas, off = [], 0
    for arr, dt, dev in w.storages:
        metas.append({"dtype": dt, "numel": int(arr.size), "offset": off, "dev": dev})
        off += arr.nbytes
    header = {"tree": tree, "storages": metas, "tensors": w.tensors}
    if pkl:
        header["pickle"] = {"offset": off, "nbytes": len(pkl)}
    hb = json.dumps(header, separators=(",", ":")).encode()
    arrays = [a.view(np.uint8) for a, _, _ in w.storages if a.size]
    return [MAGIC, len(hb).to_bytes(8, "little"), hb], arrays + ([pkl] if pkl else [])


class _Reader:
    def __init__(self, name, data, metas, records, map_location):
        self.name, self.data, self.map_location = name, data, map_location
        self.metas, self.records = metas, records
        self.storages, self.tensors = {}, {}

    def storage(self, si, dev_hint):
        if type(si) is not int or not 0 <= si < len(self.metas):
            raise fail(self.name, f"a tensor refers to storage {si!r} of {len(self.metas)}")
        if si not in self.storages:
            m = self.metas[si]
            dt, n, off = _storage_meta(self.name, m, len(self.data))
            buf = np.frombuffer(self.data[off:off + n * np.dtype(dt).itemsize], dt).copy()
            from ._dtype import from_name
            dev = m.get("dev", dev_hint)
            if not isinstance(dev, str):
                raise fail(self.name, f"bad storage location {dev!r}")
            self.storages[si] = (restore_storage(buf, from_name(dt), dev, self.map_location), n,
                                 dt)
        return self.storages[si]

    def tensor(self, rec):
        if not isinstance(rec, dict):
            raise fail(self.name, f"bad tensor record {str(rec)[:60]}")
        st, n, dt = self.storage(rec.get("s"), rec.get("dev", "cpu"))
        if rec.get("dtype") != dt:
            raise fail(self.name, f"tensor dtype {rec.get('dtype')!r} differs from its "
                       f"storage's ({dt})")
        from ._dtype import from_name
        return make_view(self.name, st, n, rec.get("shape"), rec.get("stride"),
                         rec.get("offset"), from_name(dt), bool(rec.get("rg")),
                         bool(rec.get("param")))

    def ref(self, i):
        if type(i) is not int or not 0 <= i < len(self.records):
            raise fail(self.name, f"reference to tensor {i!r} of {len(self.records)}")
        if i not in self.tensors:
            self.tensors[i] = self.tensor(self.records[i])
        return self.tensors[i]

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 2 and pid[0] == "engine.tensor"):
            raise pickle.UnpicklingError(f"engine.load: {self.name}: unknown persistent id "
                                         f"{str(pid)[:60]}")
        return self.ref(pid[1])


def _storage_meta(name, m, size):
    try:
        dt, n, off = m["dtype"], m["numel"], m["offset"]
    except (TypeError, KeyError):
        raise fail(name, "bad storage record") from None
    if dt not in _DTYPES or type(n) is not int or type(off) is not int:
        raise fail(name, f"bad storage record (dtype {dt!r}, numel {n!r}, offset {off!r})")
    nbytes = n * np.dtype(dt).itemsize
    if n < 0 or off < 0 or off + nbytes > size:
        raise fail(name, f"a {dt} storage of {n} elements at byte {off} runs past the end of "
                   f"the data ({size} bytes): the file is truncated or corrupted")
    return dt, n, off


def _dtype_by_name(name):
    # what engine's dtype.__reduce__ names: from_name now, to_dtype in older files (it refuses
    # a str argument)
    from ._dtype import from_name, to_dtype
    return from_name(name) if isinstance(name, str) else to_dtype(name)


def _engine_globals():
    from ._device import device
    from ._size import Size
    return dict(BASE_GLOBALS, **{"engine._dtype.to_dtype": _dtype_by_name,
                                 "engine._dtype.from_name": _dtype_by_name,
                                 "engine._device.device": device, "engine._size.Size": Size})


def load_engine(blob, name, map_location, weights_only, pickle_module=None, **kw):
    if len(blob) < 16:
        raise fail(name, "truncated header")
    hlen = int.from_bytes(blob[8:16], "little")
    if hlen > _MAX_HEADER or 16 + hlen > len(blob):
        raise fail(name, f"header length {hlen} exceeds the file size {len(blob)} (truncated or "
                   "corrupted)")
    try:
        header = json.loads(bytes(blob[16:16 + hlen]).decode())
        metas, tree = header["storages"], header["tree"]
        records = header.get("tensors", [])
        if not (isinstance(metas, list) and isinstance(records, list)):
            raise TypeError("storages/tensors must be lists")
    except (ValueError, TypeError, KeyError, RecursionError, AttributeError) as e:
        raise fail(name, f"unreadable header ({type(e).__name__}: {str(e)[:200]})") from None
    data = memoryview(blob)[16 + hlen:]
    for m in metas:
        _storage_meta(name, m, len(data))
    r = _Reader(name, data, metas, records, map_location)
    if isinstance(tree, dict) and tree.get("t") == "P":
        p = header.get("pickle")
        off, n = (p.get("offset"), p.get("nbytes")) if isinstance(p, dict) else (None, None)
        if type(off) is not int or type(n) is not int or off < 0 or n < 0 or off + n > len(data):
            raise fail(name, f"bad pickle record {str(p)[:80]} (data section of {len(data)} "
                       "bytes)")
        return unpickle(io.BytesIO(data[off:off + n]), name, _engine_globals(),
                        r.persistent_load, weights_only, pickle_module, **kw)
    try:
        return _build(r, tree)
    except RecursionError:
        raise fail(name, "object tree nested too deeply") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
        raise fail(name, f"malformed object tree ({type(e).__name__}: {str(e)[:200]})") from None


def _build(r, node, depth=0):
    if depth > _MAX_DEPTH:
        raise RecursionError
    t = node.get("t") if isinstance(node, dict) else None
    d1 = depth + 1
    if t == "v":
        v = node["v"]
        if v is not None and type(v) not in (bool, str):
            raise TypeError(f"bad value {v!r}")
        return v
    if t == "i":
        return int(node["v"])
    if t == "f":
        return float(node["v"])
    if t in ("d", "o"):
        d = (dict if t == "d" else collections.OrderedDict)(
            (_key(_build(r, k, d1)), _build(r, v, d1)) for k, v in node["v"])
        if t == "o" and "a" in node:
            d.__dict__.update({str(k): v for k, v in _build(r, node["a"], d1).items()})
        return d
    if t == "l":
        return [_build(r, v, d1) for v in node["v"]]
    if t == "u":
        return tuple(_build(r, v, d1) for v in node["v"])
    if t == "b":
        return base64.b64decode(node["v"], validate=True)
    if t == "z":
        from ._size import Size
        return Size(int(v) for v in node["v"])
    if t == "s":
        from ._device import device
        return device(node["v"])
    if t == "y":
        from ._dtype import from_name
        return from_name(node["v"])
    if t == "R":
        return r.ref(node["i"])
    if t == "T":       # files written before tensor records existed: the record is inline
        return r.tensor(node)
    raise fail(r.name, f"unknown node {str(node)[:60]}")


def _key(k):
    return tuple(k) if isinstance(k, list) else k
