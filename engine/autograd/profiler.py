"""``engine.autograd.profiler``: the legacy spelling of ``engine.profiler``.

>>> import engine as torch
>>> with torch.autograd.profiler.profile() as prof:
...     with torch.autograd.profiler.record_function("step"):
...         _ = torch.ones(2) + 1
>>> "step" in prof.key_averages().table()
True
"""

from __future__ import annotations

from ..profiler import EventList, FunctionEvent, FunctionEventAvg, record_function
from ..profiler import profile as _profile

__all__ = [
    "EventList",
    "FunctionEvent",
    "FunctionEventAvg",
    "emit_nvtx",
    "profile",
    "record_function",
]


class profile(_profile):
    """``profile(enabled=True, *, use_cuda=False, record_shapes=False, ...)`` (legacy API)."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False, use_cpu: bool = True,
                 experimental_config=None, acc_events: bool = False,
                 custom_trace_id_callback=None) -> None:
        super().__init__(record_shapes=record_shapes, profile_memory=profile_memory,
                         with_stack=with_stack, with_flops=with_flops, enabled=enabled)

    def __str__(self) -> str:
        return self.key_averages().table()


class emit_nvtx:
    """No NVTX ranges here; a do-nothing context manager."""

    def __init__(self, enabled: bool = True, record_shapes: bool = False) -> None:
        self.enabled = enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False
