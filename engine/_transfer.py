"""Copies between devices (the only place host<->device traffic happens besides printing)."""

from __future__ import annotations

from .autograd.graph import record
from .ops._common import needs_grad


def to_device_copy(x, dev):
    if dev.type == "cuda":
        from .cuda import _memory
        out = _memory.host_to_device(x, dev)
    elif x._storage.device.type == "cuda":
        from .cuda import _memory
        out = _memory.device_to_host(x)
    else:
        raise RuntimeError(f"to(): unsupported device {dev}")
    if needs_grad(x):
        src = x._storage.device
        record("ToCopyBackward0", (x,), (out,), lambda n, g: (to_device_copy(g, src),))
    return out
