"""``engine.cuda.amp``: PyTorch's deprecated spellings of ``engine.amp`` for CUDA."""

from __future__ import annotations

import functools
import warnings

from ..amp import GradScaler as _GradScaler
from ..amp import autocast as _autocast
from ..amp.autocast_mode import custom_bwd as _custom_bwd
from ..amp.autocast_mode import custom_fwd as _custom_fwd

__all__ = ["GradScaler", "autocast", "custom_bwd", "custom_fwd"]


class autocast(_autocast):
    """Deprecated: ``engine.amp.autocast('cuda', ...)``."""

    def __init__(self, enabled: bool = True, dtype=None, cache_enabled: bool = True) -> None:
        from .. import float16
        warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", dtype=float16 if dtype is None else dtype, enabled=enabled,
                         cache_enabled=cache_enabled)


class GradScaler(_GradScaler):
    """Deprecated: ``engine.amp.GradScaler('cuda', ...)``."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


def custom_fwd(fwd=None, *, cast_inputs=None):
    """Deprecated: ``engine.amp.custom_fwd(device_type='cuda')``."""
    return _custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


@functools.wraps(_custom_bwd)
def custom_bwd(bwd=None):
    """Deprecated: ``engine.amp.custom_bwd(device_type='cuda')``."""
    return _custom_bwd(bwd, device_type="cuda")
