"""``engine.from_dlpack`` and the DLPack / CUDA-array-interface methods of Tensor.

This module is cheap to import (no ``numba.cuda``): the CUDA parts load on first use.
Importing it binds ``Tensor.__dlpack__``, ``__dlpack_device__`` and (for CUDA tensors)
``__cuda_array_interface__``."""

from __future__ import annotations

from .cuda.interop import attach, from_cuda_array, from_dlpack, to_dlpack_capsule

__all__ = ["from_cuda_array", "from_dlpack", "to_dlpack_capsule"]

attach()
