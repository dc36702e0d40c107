"""The ``weights_only=True`` unpickler: a small pure-Python pickle VM (after torch's
``_weights_only_unpickler``) that only ever calls the allowlisted globals.

Python's own ``Unpickler`` with a restricted ``find_class`` is not enough: its BUILD opcode
does ``setattr`` on any object on the stack (a loaded tensor's size or storage, a shared dtype
singleton), and APPENDS/SETITEMS call methods of whatever object is there. Here REDUCE and
NEWOBJ call only allowlisted objects, BUILD/APPEND/SETITEM act only on plain containers and
allowlisted classes, and a few opcodes (INST, OBJ, EXT*, out-of-band buffers) are refused."""

from __future__ import annotations

import codecs
import collections
import struct
from pickle import (
    ADDITEMS,
    APPEND,
    APPENDS,
    BINBYTES,
    BINBYTES8,
    BINFLOAT,
    BINGET,
    BININT,
    BININT1,
    BININT2,
    BINPERSID,
    BINPUT,
    BINSTRING,
    BINUNICODE,
    BINUNICODE8,
    BUILD,
    BYTEARRAY8,
    DICT,
    DUP,
    EMPTY_DICT,
    EMPTY_LIST,
    EMPTY_SET,
    EMPTY_TUPLE,
    FLOAT,
    FRAME,
    FROZENSET,
    GET,
    GLOBAL,
    INT,
    LIST,
    LONG,
    LONG1,
    LONG4,
    LONG_BINGET,
    LONG_BINPUT,
    MARK,
    MEMOIZE,
    NEWFALSE,
    NEWOBJ,
    NEWTRUE,
    NONE,
    PERSID,
    POP,
    POP_MARK,
    PROTO,
    PUT,
    REDUCE,
    SETITEM,
    SETITEMS,
    SHORT_BINBYTES,
    SHORT_BINSTRING,
    SHORT_BINUNICODE,
    STACK_GLOBAL,
    STOP,
    STRING,
    TUPLE,
    TUPLE1,
    TUPLE2,
    TUPLE3,
    UNICODE,
)

from ._serialization_common import WeightsOnlyUnpicklingError

__all__ = ["WeightsOnlyUnpickler"]

_Err = WeightsOnlyUnpicklingError


class WeightsOnlyUnpickler:
    """``WeightsOnlyUnpickler(f, resolve, user_types, pload, name).load()``: ``resolve(full)``
    returns the allowed object for ``module.name`` (or raises); ``user_types()`` the classes
    the user allowlisted (BUILD/APPEND/SETITEM may act on their instances)."""

    def __init__(self, f, resolve, user_types, pload, name):
        self.f, self.resolve, self.pload, self.name = f, resolve, pload, name
        self.user_types = user_types()
        self.allowed = {}         # id -> every object resolve handed out (REDUCE/NEWOBJ targets)
        self.stack, self.marks, self.memo = [], [], {}

    # -- helpers -------------------------------------------------------------------------
    def read(self, n):
        b = self.f.read(n)
        if len(b) != n:
            raise _Err(f"engine.load: {self.name}: pickle data was truncated")
        return b

    def line(self):
        b = self.f.readline()
        if not b.endswith(b"\n"):
            raise _Err(f"engine.load: {self.name}: pickle data was truncated")
        return b[:-1]

    def pop_mark(self):
        if not self.marks:
            raise _Err(f"engine.load: {self.name}: corrupted pickle (no MARK)")
        k = self.marks.pop()
        items = self.stack[k:]
        del self.stack[k:]
        return items

    def pop(self):
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise _Err(f"engine.load: {self.name}: corrupted pickle (stack underflow)")
        return self.stack.pop()

    def top(self):
        if not self.stack:
            raise _Err(f"engine.load: {self.name}: corrupted pickle (empty stack)")
        return self.stack[-1]

    def is_allowed(self, obj):
        return self.allowed.get(id(obj)) is obj

    def global_(self, module, name):
        if not isinstance(module, str) or not isinstance(name, str):
            raise _Err(f"engine.load: {self.name}: corrupted pickle (bad STACK_GLOBAL)")
        obj = self.resolve(f"{module}.{name}")
        self.allowed[id(obj)] = obj
        self.stack.append(obj)

    def refuse(self, what, obj):
        raise _Err(f"engine.load: {self.name}: Weights only load failed: can only {what} "
                   "plain containers, OrderedDict or types allowlisted via "
                   f"`engine.serialization.add_safe_globals`, but got {type(obj).__name__}")

    # -- container opcodes ----------------------------------------------------------------
    def build(self):
        state = self.pop()
        inst = self.top()
        tp = type(inst)
        if tp in (collections.OrderedDict, collections.Counter) or tp in self.user_types:
            setstate = getattr(inst, "__setstate__", None) if tp in self.user_types else None
            if setstate is not None and not _is_default_setstate(setstate):
                setstate(state)
                return
            slots = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slots = state
            if state:
                if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
                    raise _Err(f"engine.load: {self.name}: corrupted pickle (bad BUILD state)")
                inst.__dict__.update(state)
            if slots:
                if tp not in self.user_types or not isinstance(slots, dict):
                    self.refuse("set slots of", inst)
                for k, v in slots.items():
                    setattr(inst, k, v)
            return
        self.refuse("BUILD", inst)

    def appends(self, items):
        lst = self.top()
        if type(lst) is list:
            lst.extend(items)
        elif type(lst) in self.user_types:
            for v in items:
                lst.append(v)
        else:
            self.refuse("append to", lst)

    def setitems(self, items):
        if len(items) % 2:
            raise _Err(f"engine.load: {self.name}: corrupted pickle (odd SETITEMS)")
        d = self.top()
        if not isinstance(d, dict) and type(d) not in self.user_types:
            self.refuse("set items of", d)
        for i in range(0, len(items), 2):
            d[items[i]] = items[i + 1]

    def load(self):
        try:
            return self._run()
        except (WeightsOnlyUnpicklingError, RuntimeError, MemoryError):
            raise
        except Exception as e:  # noqa: BLE001  (a hostile pickle provokes anything)
            raise _Err(f"engine.load: {self.name}: corrupted pickle data "
                       f"({type(e).__name__}: {e})") from None

    def _run(self):
        s, read, push = self.stack, self.read, self.stack.append
        while True:
            key = read(1)
            if key == STOP:
                return self.pop()
            if key == PROTO:
                if read(1)[0] > 5:
                    raise _Err(f"engine.load: {self.name}: unsupported pickle protocol")
            elif key == FRAME:
                read(8)
            elif key == MARK:
                self.marks.append(len(s))
            elif key == POP:
                if self.marks and self.marks[-1] == len(s):
                    self.marks.pop()
                else:
                    self.pop()
            elif key == POP_MARK:
                self.pop_mark()
            elif key == DUP:
                push(self.top())
            elif key == NONE:
                push(None)
            elif key == NEWTRUE:
                push(True)
            elif key == NEWFALSE:
                push(False)
            elif key == BININT:
                push(struct.unpack("<i", read(4))[0])
            elif key == BININT1:
                push(read(1)[0])
            elif key == BININT2:
                push(struct.unpack("<H", read(2))[0])
            elif key == INT:
                v = self.line()
                push(True if v == b"01" else False if v == b"00" else int(v))
            elif key == LONG:
                push(int(self.line().rstrip(b"L")))
            elif key == LONG1:
                push(int.from_bytes(read(read(1)[0]), "little", signed=True))
            elif key == LONG4:
                n = struct.unpack("<i", read(4))[0]
                if n < 0:
                    raise _Err(f"engine.load: {self.name}: corrupted pickle (LONG4 size)")
                push(int.from_bytes(read(n), "little", signed=True))
            elif key == FLOAT:
                push(float(self.line()))
            elif key == BINFLOAT:
                push(struct.unpack(">d", read(8))[0])
            elif key == SHORT_BINUNICODE:
                push(read(read(1)[0]).decode("utf-8", "surrogatepass"))
            elif key == BINUNICODE:
                push(read(struct.unpack("<I", read(4))[0]).decode("utf-8", "surrogatepass"))
            elif key == BINUNICODE8:
                push(read(struct.unpack("<Q", read(8))[0]).decode("utf-8", "surrogatepass"))
            elif key == UNICODE:
                push(self.line().decode("raw-unicode-escape"))
            elif key == SHORT_BINSTRING:
                push(read(read(1)[0]).decode("ascii"))
            elif key == BINSTRING:
                n = struct.unpack("<i", read(4))[0]
                if n < 0:
                    raise _Err(f"engine.load: {self.name}: corrupted pickle (BINSTRING size)")
                push(read(n).decode("ascii"))
            elif key == STRING:
                v = self.line()
                if len(v) < 2 or v[0] != v[-1] or v[:1] not in (b'"', b"'"):
                    raise _Err(f"engine.load: {self.name}: corrupted pickle (STRING)")
                push(codecs.escape_decode(v[1:-1])[0].decode("ascii"))
            elif key == SHORT_BINBYTES:
                push(read(read(1)[0]))
            elif key == BINBYTES:
                push(read(struct.unpack("<I", read(4))[0]))
            elif key == BINBYTES8:
                push(read(struct.unpack("<Q", read(8))[0]))
            elif key == BYTEARRAY8:
                push(bytearray(read(struct.unpack("<Q", read(8))[0])))
            elif key == EMPTY_LIST:
                push([])
            elif key == EMPTY_TUPLE:
                push(())
            elif key == EMPTY_DICT:
                push({})
            elif key == EMPTY_SET:
                push(set())
            elif key == LIST:
                push(self.pop_mark())
            elif key == TUPLE:
                push(tuple(self.pop_mark()))
            elif key == TUPLE1:
                push((self.pop(),))
            elif key == TUPLE2:
                b, a = self.pop(), self.pop()
                push((a, b))
            elif key == TUPLE3:
                c, b, a = self.pop(), self.pop(), self.pop()
                push((a, b, c))
            elif key == DICT:
                items = self.pop_mark()
                d = {}
                push(d)
                self.setitems(items)
            elif key == FROZENSET:
                push(frozenset(self.pop_mark()))
            elif key == APPEND:
                self.appends([self.pop()])
            elif key == APPENDS:
                self.appends(self.pop_mark())
            elif key == SETITEM:
                v, k = self.pop(), self.pop()
                self.setitems([k, v])
            elif key == SETITEMS:
                self.setitems(self.pop_mark())
            elif key == ADDITEMS:
                items = self.pop_mark()
                st = self.top()
                if type(st) is not set:
                    self.refuse("add items to", st)
                st.update(items)
            elif key == GLOBAL:
                module = self.line().decode("utf-8")
                self.global_(*_py3(module, self.line().decode("utf-8")))
            elif key == STACK_GLOBAL:
                name, module = self.pop(), self.pop()
                self.global_(module, name)
            elif key == REDUCE:
                args, fn = self.pop(), self.pop()
                if not self.is_allowed(fn) or not isinstance(args, tuple):
                    raise _Err(f"engine.load: {self.name}: Weights only load failed: REDUCE "
                               f"may only call an allowlisted global, got {type(fn).__name__}")
                push(fn(*args))
            elif key == NEWOBJ:
                args, cls = self.pop(), self.pop()
                if not (isinstance(cls, type) and self.is_allowed(cls)
                        and isinstance(args, tuple)):
                    raise _Err(f"engine.load: {self.name}: Weights only load failed: NEWOBJ "
                               f"may only create an allowlisted class, got {cls!r:.80}")
                push(cls.__new__(cls, *args))
            elif key == BUILD:
                self.build()
            elif key in (PUT, BINPUT, LONG_BINPUT, MEMOIZE):
                i = (int(self.line()) if key == PUT else read(1)[0] if key == BINPUT else
                     struct.unpack("<I", read(4))[0] if key == LONG_BINPUT else len(self.memo))
                self.memo[i] = self.top()
            elif key in (GET, BINGET, LONG_BINGET):
                i = (int(self.line()) if key == GET else read(1)[0] if key == BINGET else
                     struct.unpack("<I", read(4))[0])
                if i not in self.memo:
                    raise _Err(f"engine.load: {self.name}: corrupted pickle (memo {i})")
                push(self.memo[i])
            elif key == BINPERSID:
                push(self.pload(self.pop()))
            elif key == PERSID:
                push(self.pload(self.line().decode("ascii")))
            else:
                raise _Err(f"engine.load: {self.name}: Weights only load failed: unsupported "
                           f"pickle opcode {key!r} (INST/OBJ/EXT/buffers are refused)")


def _is_default_setstate(fn) -> bool:
    return getattr(fn, "__func__", fn) is getattr(object, "__setstate__", None)


def _py3(module, name):
    import _compat_pickle
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name
