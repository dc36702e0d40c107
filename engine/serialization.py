"""``engine.save`` / ``engine.load`` with ``torch.save`` / ``torch.load`` semantics, safely.

``save`` writes engine's format (``engine/_serialization_engine.py``): a JSON header and raw
tensor bytes; a plain tree of tensors, numbers, strings, None, dicts (OrderedDict too),
lists and tuples needs no pickle at all, and any other object (a whole ``nn.Module``, an
optimizer, a custom class) is stored as a pickle whose tensors are references to the
tensor records, never pickled bytes.

``load`` defaults to ``weights_only=True`` as torch >= 2.6 does: the plain tree loads, and a
pickle is only unpickled with a restricted unpickler that hands out an allowlist
(``add_safe_globals``, ``safe_globals``) and refuses everything else with
``pickle.UnpicklingError`` before running anything. ``weights_only=False`` unpickles (trusted
files only). Files written by PyTorch's ``torch.save`` (zip and legacy formats) load without
torch installed, as engine tensors."""

from __future__ import annotations

import io
import os
import tempfile

from ._serialization_common import WeightsOnlyUnpicklingError
from ._serialization_engine import MAGIC, dump, load_engine
from ._serialization_pickle import (
    UNSAFE_MESSAGE,
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
    scan_globals,
)

__all__ = [
    "DEFAULT_PROTOCOL",
    "add_safe_globals",
    "clear_safe_globals",
    "get_safe_globals",
    "get_unsafe_globals_in_checkpoint",
    "load",
    "safe_globals",
    "save",
]

DEFAULT_PROTOCOL = 2


def save(obj, f, pickle_module=None, pickle_protocol=DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization=True, _disable_byteorder_record=False, *,
         format: str = "engine") -> None:
    """Save ``obj`` to a path (atomically: temp file + rename) or a binary file object.

    ``format="torch"`` writes PyTorch's zip format instead (plain trees such as a
    ``state_dict`` only), which ``torch.load`` reads.

    >>> import engine, io
    >>> buf = io.BytesIO()
    >>> engine.save({"w": engine.ones(2)}, buf)
    >>> _ = buf.seek(0)
    >>> engine.load(buf)["w"]
    tensor([1., 1.])
    """
    if format == "engine":
        parts, arrays = dump(obj, pickle_module, max(pickle_protocol or 2, 4))
        write = lambda out: _write(out, parts, arrays)
    elif format == "torch":
        from ._serialization_torch_write import torch_zip_parts, write_torch_zip
        pkl, storages = torch_zip_parts(obj)
        write = lambda out: write_torch_zip(out, pkl, storages)
    else:
        raise ValueError(f"engine.save: format must be 'engine' or 'torch', got {format!r}")
    if not isinstance(f, (str, os.PathLike)):
        write(f)
        return
    path = os.fspath(f)
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise RuntimeError(f"Parent directory {parent} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=".engine-save-", dir=parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write(out, parts, arrays):
    for p in parts:
        out.write(p)
    for a in arrays:
        out.write(memoryview(a) if not isinstance(a, bytes) else a)


def _read(f) -> tuple[bytes, str]:
    if isinstance(f, (str, os.PathLike)):
        with open(f, "rb") as fh:
            return fh.read(), repr(os.fspath(f))
    name = getattr(f, "name", None)
    return f.read(), repr(name) if isinstance(name, str) else "<file object>"


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):
    """Load what ``save`` (or PyTorch's ``torch.save``) wrote.

    ``weights_only`` (default True, as torch >= 2.6) refuses any object outside the
    allowlist with ``pickle.UnpicklingError`` and never runs code from the file;
    ``weights_only=False`` unpickles arbitrary objects (only for files you trust).
    ``map_location``: a device/str, a dict from saved location to location, or a callable
    ``(storage, location) -> storage or None``.

    >>> import engine, io
    >>> buf = io.BytesIO()
    >>> engine.save([engine.arange(3)], buf)
    >>> _ = buf.seek(0)
    >>> engine.load(buf, map_location="cpu")
    [tensor([0, 1, 2])]
    """
    weights_only = True if weights_only is None else bool(weights_only)
    if weights_only and pickle_module is not None:
        raise RuntimeError("Can not safely load weights when explicit pickle_module is "
                           "specified. " + UNSAFE_MESSAGE)
    blob, name = _read(f)
    args = (blob, name, map_location, weights_only, pickle_module)
    if blob[:8] == MAGIC:
        return load_engine(*args, **pickle_load_args)
    from . import _serialization_torch as T
    if blob[:4] == b"PK\x03\x04":
        return T.load_torch_zip(*args, **pickle_load_args)
    if blob[:1] == b"\x80" or blob[:1] in (b"(", b"}", b"]", b"c", b"I", b"L"):
        return T.load_torch_legacy(*args, **pickle_load_args)
    from ._serialization_common import fail
    if not blob:
        raise fail(name, "the file is empty")
    raise fail(name, "not an engine checkpoint (missing the ENGINEv1 magic bytes), nor a "
               "PyTorch zip or legacy checkpoint; the file is corrupted or of another format")


def get_unsafe_globals_in_checkpoint(f) -> list[str]:
    """The globals a checkpoint's pickle needs that ``weights_only=True`` would refuse
    (a static scan; nothing is unpickled), as ``torch.serialization``'s function."""
    import zipfile

    from . import _serialization_engine as E
    from . import _serialization_pickle as P
    from . import _serialization_torch as T
    blob, name = _read(f)
    if blob[:8] == MAGIC:
        import json
        h = json.loads(blob[16:16 + int.from_bytes(blob[8:16], "little")])
        if "pickle" not in h:
            return []
        off = 16 + int.from_bytes(blob[8:16], "little") + h["pickle"]["offset"]
        data, table = blob[off:off + h["pickle"]["nbytes"]], E._engine_globals()
    elif blob[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(blob)) as zf:
            prefix = T._check_names(name, zf)
            data = T._read_entry(name, zf, f"{prefix}data.pkl", None, len(blob))
        table = T._torch_globals(name)
    else:
        data, table = blob, T._torch_globals(name)
    return [g for g in scan_globals(io.BytesIO(data), name) if P._resolve(g, table) is None]


UnpicklingError = WeightsOnlyUnpicklingError
