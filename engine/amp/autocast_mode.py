"""``autocast``: per-region dtype policies for ops (see ``engine.amp`` for the lists)."""

from __future__ import annotations

import contextvars
import functools
import warnings

__all__ = [
    "autocast",
    "custom_bwd",
    "custom_fwd",
    "get_autocast_dtype",
    "is_autocast_available",
    "is_autocast_enabled",
]

# device type -> (enabled, dtype); one immutable dict per context
_STATE: contextvars.ContextVar = contextvars.ContextVar("engine_autocast", default={})
_BF16 = "bfloat16"  # PyTorch's CPU default; not an engine dtype
_warned: set = set()


def _default_dtype(device_type: str):
    from .. import float16
    return _BF16 if device_type == "cpu" else float16


def is_autocast_available(device_type: str) -> bool:
    """Whether ``device_type`` takes part in autocast ('cpu' and 'cuda')."""
    return device_type in ("cpu", "cuda")


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether an autocast region for ``device_type`` is active (PyTorch's no-argument form
    asks about CUDA)."""
    return _STATE.get().get(device_type, (False, None))[0]


def get_autocast_dtype(device_type: str):
    """The dtype an autocast region for ``device_type`` uses by default (CUDA float16; CPU
    bfloat16 in PyTorch, reported here as the string 'bfloat16' since the engine lacks it)."""
    st = _STATE.get().get(device_type)
    return st[1] if st is not None else _default_dtype(device_type)


def _warn_once(key: str, msg: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(msg, UserWarning, stacklevel=3)


class autocast:
    """``with autocast(device_type, dtype=None, enabled=True, cache_enabled=None):`` run the
    ops inside in mixed precision; also usable as a decorator (``@autocast('cuda')``).

    >>> import engine as torch
    >>> with torch.autocast("cpu", dtype=torch.float16):
    ...     (torch.ones(2, 3) @ torch.ones(3, 2)).dtype
    torch.float16
    """

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None) -> None:
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if not is_autocast_available(device_type):
            raise RuntimeError(f"User specified an unsupported autocast device_type "
                               f"'{device_type}'; this engine supports 'cpu' and 'cuda'")
        from .. import float16
        self.device = device_type
        self.fast_dtype = _default_dtype(device_type) if dtype is None else dtype
        self._cache_enabled = cache_enabled
        enabled = bool(enabled)
        if enabled and device_type == "cuda":
            from .. import cuda
            if not cuda.is_available():
                warnings.warn("CUDA is not available or torch_xla is imported. Disabling "
                              "autocast.", UserWarning, stacklevel=2)
                enabled = False
        if enabled and self.fast_dtype == _BF16:
            _warn_once(device_type + "-bf16",
                       f"autocast('{device_type}') defaults to bfloat16, which this engine does "
                       "not support: ops run in float32 (autocast disabled). Pass "
                       "dtype=engine.float16 for float16 matmul/linear/conv.")
            enabled = False
        elif enabled and self.fast_dtype is not float16:
            warnings.warn(f"In {device_type} autocast, but the target dtype "
                          f"{self.fast_dtype} is not supported (only float16 here). Disabling "
                          "autocast.", UserWarning, stacklevel=2)
            enabled = False
        self._enabled = enabled
        self._tokens: list = []

    def __enter__(self):
        if self._enabled:
            from . import _policy
            _policy.install()
        st = dict(_STATE.get())
        st[self.device] = (self._enabled, self.fast_dtype)
        self._tokens.append(_STATE.set(st))
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> bool:
        _STATE.reset(self._tokens.pop())
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


def _active(device_type: str):
    """The float dtype to cast to in the current region, or None."""
    st = _STATE.get()
    if not st:
        return None
    e = st.get(device_type)
    return e[1] if e is not None and e[0] else None


def custom_fwd(fwd=None, *, device_type: str = "cuda", cast_inputs=None):
    """Decorator for a custom Function's ``forward``: with ``cast_inputs`` its floating
    inputs are cast to that dtype and it runs with autocast off; otherwise it runs with the
    autocast state of the caller."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        if cast_inputs is None or _active(device_type) is None:
            return fwd(*args, **kwargs)
        from .._tensor import Tensor
        args = [a.to(cast_inputs) if isinstance(a, Tensor) and a.is_floating_point() else a
                for a in args]
        with autocast(device_type, enabled=False):
            return fwd(*args, **kwargs)
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type: str = "cuda"):
    """Decorator for a custom Function's ``backward`` (runs with the caller's autocast
    state; kept for API compatibility)."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
