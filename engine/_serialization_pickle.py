"""The pickle side of ``engine.load``: the allowlist (``add_safe_globals`` and friends), the
restricted unpickler used when ``weights_only=True``, the full one used when it is False, and
a static scan that names every global a pickle would import (without running any of it)."""

from __future__ import annotations

import _compat_pickle
import collections
import pickle
import pickletools

from ._serialization_common import WeightsOnlyUnpicklingError

__all__ = [
    "BASE_GLOBALS",
    "UNSAFE_MESSAGE",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "safe_globals",
    "scan_globals",
    "unpickle",
]

UNSAFE_MESSAGE = (
    "In PyTorch 2.6, we changed the default value of the `weights_only` argument in `torch.load` "
    "from `False` to `True` (engine.load does the same). Re-running `engine.load` with "
    "`weights_only` set to `False` will likely succeed, but it can result in arbitrary code "
    "execution. Do it only if you got the file from a trusted source.")

# modules never allowed under weights_only=True, even when the user allowlists from them
_BLOCKED = ("sys", "os", "posix", "nt", "subprocess")

_user: set = set()


def _encode(s, encoding="latin1"):
    # protocol-2 pickles write bytes as _codecs.encode(str, 'latin1'); nothing else is allowed
    if not isinstance(s, str) or encoding.replace("-", "").lower() not in ("latin1", "utf8"):
        raise pickle.UnpicklingError("_codecs.encode: only str -> bytes with latin1 is allowed")
    return s.encode(encoding)


def _bytearray(src=b"", *args):
    # bytearray(n) would allocate n zero bytes: only copies of existing data are allowed
    if isinstance(src, int):
        raise pickle.UnpicklingError("bytearray(int) is not allowed when weights_only=True")
    return bytearray(src, *args)


BASE_GLOBALS = {
    "collections.OrderedDict": collections.OrderedDict,
    "collections.Counter": collections.Counter,
    "builtins.set": set,
    "builtins.frozenset": frozenset,
    "builtins.bytearray": _bytearray,
    "builtins.complex": complex,
    "builtins.slice": slice,
    "_codecs.encode": _encode,
}


def add_safe_globals(safe_globals: list) -> None:
    """Allow these classes/functions (or ``(obj, "module.name")`` pairs) when loading with
    ``weights_only=True``, as ``torch.serialization.add_safe_globals``.

    >>> import engine, collections
    >>> engine.serialization.add_safe_globals([collections.namedtuple])
    >>> engine.serialization.clear_safe_globals()
    """
    _user.update(safe_globals)


def get_safe_globals() -> list:
    """The user allowlist (what ``add_safe_globals`` added)."""
    return list(_user)


def clear_safe_globals() -> None:
    """Empty the user allowlist."""
    _user.clear()


class safe_globals:
    """Context manager: allowlist ``safe_globals`` for ``weights_only=True`` loads inside it.

    >>> import engine
    >>> with engine.serialization.safe_globals([complex]):
    ...     pass
    >>> engine.serialization.get_safe_globals()
    []
    """

    def __init__(self, safe_globals: list):
        self.safe_globals = safe_globals

    def __enter__(self):
        self._added = [g for g in self.safe_globals if g not in _user]
        _user.update(self._added)

    def __exit__(self, *exc):
        _user.difference_update(self._added)


def _user_globals() -> dict:
    rc = {}
    for f in _user:
        if isinstance(f, tuple):
            if len(f) != 2 or not isinstance(f[1], str):
                raise ValueError("add_safe_globals: a tuple entry must be (global, 'module.name'),"
                                 f" got {f!r}")
            rc[f[1]] = f[0]
        else:
            rc[f"{f.__module__}.{f.__qualname__}"] = f
    return rc


def _user_types() -> set:
    return {v for v in _user_globals().values() if isinstance(v, type)}


def _refusal(full: str, name: str) -> WeightsOnlyUnpicklingError:
    module = full.rsplit(".", 1)[0] if "." in full else full
    if module.split(".")[0] in _BLOCKED:
        msg = (f"Trying to load unsupported GLOBAL {full} whose module {module} is blocked.")
        return WeightsOnlyUnpicklingError(
            f"Weights only load failed ({name}). {UNSAFE_MESSAGE}\n\nWeightsUnpickler error: {msg}")
    short = full.removeprefix("builtins.")
    msg = (f"Unsupported global: GLOBAL {full} was not an allowed global by default. Please use "
           f"`engine.serialization.add_safe_globals([{short}])` or the "
           f"`engine.serialization.safe_globals([{short}])` context manager to allowlist this "
           "global if you trust this class/function.")
    return WeightsOnlyUnpicklingError(
        f"Weights only load failed. This file ({name}) can still be loaded, to do so you have two "
        f"options, do those steps only if you trust the source of the checkpoint.\n\t(1) "
        f"{UNSAFE_MESSAGE}\n\t(2) Alternatively, to load with `weights_only=True` please check "
        f"the recommended steps in the following error message.\n\tWeightsUnpickler error: "
        f"{msg}")


def _resolve(full: str, table: dict):
    """The object ``full`` stands for under weights_only, or None when it is not allowed."""
    module = full.rsplit(".", 1)[0]
    if module.split(".")[0] in _BLOCKED:
        return None
    if full in table:
        return table[full]
    return _user_globals().get(full)


class _Full(pickle.Unpickler):
    def __init__(self, file, table, pload, **kw):
        super().__init__(file, **kw)
        self._table, self._pload = table, pload

    def find_class(self, module, name):
        obj = self._table.get(f"{module}.{name}")
        return obj if obj is not None else super().find_class(module, name)

    def persistent_load(self, pid):
        return self._pload(pid)


def unpickle(f, name: str, table: dict, pload, weights_only: bool, pickle_module=None, **kw):
    """Unpickle one pickle from the file object ``f``. Under weights_only first scan it (a
    static parse: no code runs) and refuse any global that is neither in ``table`` nor
    allowlisted, then unpickle with a pickle VM that only ever calls those objects."""
    if weights_only:
        pos = f.tell()
        bad = [g for g in scan_globals(f, name) if _resolve(g, table) is None]
        if bad:
            raise _refusal(bad[0], name)
        f.seek(pos)
        from ._serialization_unpickler import WeightsOnlyUnpickler

        def resolve(full):
            obj = _resolve(full, table)
            if obj is None:
                raise _refusal(full, name)
            return obj
        return WeightsOnlyUnpickler(f, resolve, _user_types, pload, name).load()
    elif pickle_module is not None and pickle_module is not pickle:
        up = pickle_module.Unpickler(f, **kw)
        up.persistent_load = pload
    else:
        up = _Full(f, table, pload, **kw)
    return up.load()


def _py3_name(module: str, name: str) -> str:
    """Python 2 names in protocol < 3 pickles, as the unpickler's fix_imports maps them."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return f"{module}.{name}"


_STR_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING",
            "BINSTRING", "STRING"}


def scan_globals(f, name: str) -> list:
    """Every ``module.name`` the pickle at ``f``'s position would import, in order (a static
    parse that stops at the pickle's STOP)."""
    out, recent, memo = [], [], {}
    try:
        for op, arg, _ in pickletools.genops(f):
            n = op.name
            if n in ("GLOBAL", "INST"):
                out.append(_py3_name(*arg.split(" ", 1)))
            elif n == "STACK_GLOBAL":
                m, g = (recent[-2:] + [None, None])[:2] if len(recent) >= 2 else (None, None)
                out.append(f"{m}.{g}" if isinstance(m, str) and isinstance(g, str)
                           else "<unresolvable STACK_GLOBAL>")
            elif n.startswith("EXT"):
                out.append(f"<copyreg extension {arg}>")
            elif n in _STR_OPS:
                recent.append(arg)
            elif n == "MEMOIZE":
                memo[len(memo)] = recent[-1] if recent else None
            elif n in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = recent[-1] if recent else None
            elif n in ("GET", "BINGET", "LONG_BINGET"):
                recent.append(memo.get(arg))
            elif n in ("FRAME", "PROTO"):
                pass
            else:
                recent.append(None)
            if n == "STOP":
                break
    except (ValueError, EOFError) as e:
        raise WeightsOnlyUnpicklingError(
            f"engine.load: {name}: corrupted or truncated pickle data ({e})") from None
    seen = set()
    return [g for g in out if not (g in seen or seen.add(g))]

