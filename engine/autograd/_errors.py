"""Error messages of the autograd engine."""

from __future__ import annotations

# file:line of the latest in-place write per storage (weak keys), for the modified-error message
import weakref

last_inplace_site: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def note_inplace(storage, op_name: str) -> None:
    import sys
    f = sys._getframe(1)
    here = __file__.rsplit("/", 2)[0] + "/"
    while f is not None and f.f_code.co_filename.startswith(here):
        f = f.f_back
    if f is not None:
        last_inplace_site[storage] = f"{op_name} at {f.f_code.co_filename}:{f.f_lineno}"


def modified_error(node, saved, t) -> RuntimeError:
    shape = ", ".join(str(s) for s in t.shape)
    tname = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
             "int32": "Int", "bool": "Bool"}.get(t.dtype.name, t.dtype.name.capitalize())
    site = last_inplace_site.get(t._storage)
    where = f" It was last modified in place by {site}." if site else ""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [torch.{tname}Tensor [{shape}]], which is saved for backward by "
        f"{node.name()}, is at version {t._storage.version}; expected version {saved.version} "
        f"instead.{where} Hint: clone the tensor before modifying it in place, or avoid the "
        "in-place op.")
