"""``engine.backends``: PyTorch's backend switches, as plain flags.

The engine's kernels are Numba-compiled (CPU) and numba-cuda (CUDA); there is no cuDNN, MPS,
MKL-DNN or TF32 path. The flags exist so code that sets or reads them runs unchanged; setting
one changes nothing about how ops run.

>>> import engine as torch
>>> torch.backends.cudnn.benchmark = True
>>> torch.backends.mps.is_available()
False
"""

from __future__ import annotations

from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]
