"""``engine.backends.cuda``: ``matmul.allow_tf32`` & co. as plain flags (numba-cuda kernels
compute in the tensor's dtype; there is no TF32 or reduced-precision reduction path)."""

from __future__ import annotations

__all__ = [
    "cufft_plan_cache",
    "enable_flash_sdp",
    "enable_math_sdp",
    "enable_mem_efficient_sdp",
    "flash_sdp_enabled",
    "is_built",
    "math_sdp_enabled",
    "matmul",
    "mem_efficient_sdp_enabled",
    "preferred_linalg_library",
    "sdp_kernel",
]


class _MatmulFlags:
    """``allow_tf32``, ``allow_fp16_reduced_precision_reduction``,
    ``allow_bf16_reduced_precision_reduction``: settable, no effect."""

    def __init__(self) -> None:
        self.allow_tf32 = False
        self.allow_fp16_reduced_precision_reduction = True
        self.allow_bf16_reduced_precision_reduction = True


matmul = _MatmulFlags()
_sdp = {"flash": True, "mem_efficient": True, "math": True}


def is_built() -> bool:
    """True: the engine's CUDA support (numba-cuda kernels) is part of the package."""
    return True


def preferred_linalg_library(backend=None):
    return "default"


def flash_sdp_enabled() -> bool:
    return _sdp["flash"]


def enable_flash_sdp(enabled: bool) -> None:
    _sdp["flash"] = bool(enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _sdp["mem_efficient"]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _sdp["mem_efficient"] = bool(enabled)


def math_sdp_enabled() -> bool:
    return _sdp["math"]


def enable_math_sdp(enabled: bool) -> None:
    _sdp["math"] = bool(enabled)


class sdp_kernel:
    """Context manager selecting attention kernels (flags only)."""

    def __init__(self, enable_flash=True, enable_math=True, enable_mem_efficient=True,
                 enable_cudnn=True):
        self._new = {"flash": enable_flash, "math": enable_math,
                     "mem_efficient": enable_mem_efficient}

    def __enter__(self):
        self._old = dict(_sdp)
        _sdp.update(self._new)
        return self

    def __exit__(self, *exc):
        _sdp.update(self._old)
        return False


class _PlanCache:
    size = 0
    max_size = 0

    def clear(self) -> None:
        pass


cufft_plan_cache = _PlanCache()
