"""``engine.amp``: automatic mixed precision (``autocast``) and loss scaling (``GradScaler``).

What autocast does here (PyTorch's op lists, applied by wrapping the public functions the
first time an autocast region is entered):

- ``autocast('cuda')`` (float16): the inputs of matmul / mm / bmm / addmm / baddbmm / mv /
  ``@`` / linear / conv* / conv_transpose* / prelu are cast to float16; softmax, log_softmax,
  sum, prod, cumsum, cumprod, exp, log, pow, norms, logsumexp, layer/group norm and the losses
  run in float32; cat/stack/dot/addcmul/addcdiv/cross/tensordot run in the widest input type.
  ``binary_cross_entropy`` raises (unsafe in float16; use ``binary_cross_entropy_with_logits``).
- ``autocast('cpu', dtype=engine.float16)``: the same lower-precision list in float16 and
  PyTorch's CPU float32 list (the losses, prod, cdist, ...).
- ``autocast('cpu')`` with the default dtype: PyTorch uses bfloat16, which this engine does
  not have; ops run in float32 (autocast is disabled) and a warning says so once.
- ``autocast('cuda')`` without a CUDA device warns and disables itself, as PyTorch does.
- Float64 tensors are never cast; ``cache_enabled`` is accepted (casts are not cached).

>>> import engine as torch
>>> lin = torch.nn.Linear(4, 2)
>>> with torch.autocast("cpu", dtype=torch.float16):
...     y = lin(torch.randn(3, 4))
>>> y.dtype
torch.float16
"""

from __future__ import annotations

from .autocast_mode import (
                            autocast,
                            custom_bwd,
                            custom_fwd,
                            get_autocast_dtype,
                            is_autocast_available,
                            is_autocast_enabled,
)
from .grad_scaler import GradScaler, OptState

__all__ = [
                            "GradScaler",
                            "OptState",
                            "autocast",
                            "custom_bwd",
                            "custom_fwd",
                            "get_autocast_dtype",
                            "is_autocast_available",
                            "is_autocast_enabled",
]
