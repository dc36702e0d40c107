"""Writing PyTorch's zip checkpoint format (``engine.save(obj, f, format="torch")``), so that
``torch.load(f)`` -- weights_only=True included -- reads an engine checkpoint. Only plain
trees are supported (tensors, Parameters, dict, OrderedDict, list, tuple, str, int, float,
bool, None, bytes, dtype, device, Size): the pickle is written opcode by opcode with torch's
global names, so torch need not be installed."""

from __future__ import annotations

import collections
import struct
import zipfile

import numpy as np

__all__ = ["torch_zip_parts", "write_torch_zip"]

_STORAGE = {"float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
            "int64": "LongStorage", "int32": "IntStorage", "int16": "ShortStorage",
            "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage"}


def _g(module, name):
    return f"c{module}\n{name}\n".encode()


_ORDERED_DICT = _g("collections", "OrderedDict") + b")R"


class _TorchPickler:
    def __init__(self):
        self.out = [b"\x80\x02"]
        self.memo = {}          # id(tensor) -> memo index
        self.keep = []
        self.storages = {}      # id(Storage) -> (key, numpy flat buffer, location)

    def dumps(self, obj) -> bytes:
        self.save(obj, 0)
        self.out.append(b".")
        return b"".join(self.out)

    def save(self, obj, depth):
        from ._device import device
        from ._dtype import dtype
        from ._size import Size
        from ._tensor import Tensor
        if depth > 500:
            raise ValueError("engine.save(format='torch'): object nested too deeply")
        w, tp = self.out.append, type(obj)
        if isinstance(obj, Tensor):
            self.tensor(obj)
        elif obj is None:
            w(b"N")
        elif tp is bool:
            w(b"\x88" if obj else b"\x89")
        elif tp is int:
            self.int(obj)
        elif tp is float:
            w(b"G" + struct.pack(">d", obj))
        elif tp is str:
            self.str(obj)
        elif tp is bytes:
            w(_g("_codecs", "encode"))
            self.str(obj.decode("latin1"))
            self.str("latin1")
            w(b"\x86R")
        elif tp is tuple or tp is Size:
            if tp is Size:
                w(_g("torch", "Size"))
            self.tuple(obj, depth)
            if tp is Size:
                w(b"\x85R")
        elif tp is list:
            w(b"]")
            if obj:
                w(b"(")
                for v in obj:
                    self.save(v, depth + 1)
                w(b"e")
        elif tp is dict or tp is collections.OrderedDict:
            w(b"}" if tp is dict else _ORDERED_DICT)
            if obj:
                w(b"(")
                for k, v in obj.items():
                    self.save(k, depth + 1)
                    self.save(v, depth + 1)
                w(b"u")
            if tp is not dict and obj.__dict__:
                self.save(dict(obj.__dict__), depth + 1)
                w(b"b")
        elif tp is dtype:
            w(_g("torch", obj.name))
        elif tp is device:
            w(_g("torch", "device"))
            self.str(str(obj))
            w(b"\x85R")
        else:
            raise TypeError(f"engine.save(format='torch'): cannot write an object of type "
                            f"{tp.__name__}; only tensors, numbers, strings, None, bytes, "
                            "dtypes, devices and dicts/lists/tuples of them (a state_dict) can "
                            "be written in PyTorch's format")

    def int(self, v):
        w = self.out.append
        if 0 <= v < 256:
            w(b"K" + bytes([v]))
        elif -(1 << 31) <= v < (1 << 31):
            w(b"J" + struct.pack("<i", v))
        else:
            b = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            w((b"\x8a" + bytes([len(b)]) if len(b) < 256 else b"\x8b" +
               struct.pack("<i", len(b))) + b)

    def str(self, s):
        b = s.encode("utf-8", "surrogatepass")
        self.out.append(b"X" + struct.pack("<I", len(b)) + b)

    def tuple(self, t, depth):
        w = self.out.append
        if not t:
            w(b")")
            return
        if len(t) > 3:
            w(b"(")
        for v in t:
            self.save(v, depth + 1)
        w(b"t" if len(t) > 3 else b"\x85\x86\x87"[len(t) - 1:len(t)])

    def tensor(self, t):
        from .nn.parameter import Parameter
        w = self.out.append
        i = self.memo.get(id(t))
        if i is not None:
            w(b"j" + struct.pack("<I", i))          # LONG_BINGET: the same tensor object
            return
        param = isinstance(t, Parameter)
        if param:
            w(_g("torch._utils", "_rebuild_parameter") + b"(")
        w(_g("torch._utils", "_rebuild_tensor_v2") + b"(")
        st = t._storage
        if id(st) not in self.storages:
            data = st.data if t.is_cpu else t._storage_host()
            self.storages[id(st)] = (str(len(self.storages)),
                                     np.ascontiguousarray(data).reshape(-1), str(t.device))
            self.keep.append(st)
        key, buf, loc = self.storages[id(st)]
        w(b"(")
        self.str("storage")
        w(_g("torch", _STORAGE[t._dtype.name]))
        self.str(key)
        self.str(loc)
        self.int(buf.size)
        w(b"tQ")
        self.int(t._offset)
        self.tuple(tuple(t._shape), 0)
        self.tuple(tuple(t._stride), 0)
        w(b"\x88" if t.requires_grad and not param else b"\x89")
        w(_ORDERED_DICT + b"tR")
        if param:
            w(b"\x88" if t.requires_grad else b"\x89")
            w(_ORDERED_DICT + b"tR")
        i = self.memo[id(t)] = len(self.memo)
        self.keep.append(t)
        w(b"r" + struct.pack("<I", i))              # LONG_BINPUT


def torch_zip_parts(obj):
    """(data.pkl bytes, [(key, flat array)]): everything that can fail, before writing."""
    p = _TorchPickler()
    pkl = p.dumps(obj)
    return pkl, [(k, buf) for k, buf, _ in p.storages.values()]


def write_torch_zip(out, pkl, storages, archive="archive"):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{archive}/data.pkl", pkl)
        z.writestr(f"{archive}/byteorder", "little")
        for key, buf in storages:
            z.writestr(f"{archive}/data/{key}", memoryview(buf.view(np.uint8)))
        z.writestr(f"{archive}/version", "3\n")
