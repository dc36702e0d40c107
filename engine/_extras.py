"""Top-level switches from PyTorch that have nothing to switch here: ``compile`` (kernels are
already JIT-compiled by Numba; there is no graph compiler), determinism flags (the engine's
kernels are deterministic), float32 matmul precision (always full float32)."""

from __future__ import annotations

__all__ = [
    "are_deterministic_algorithms_enabled",
    "compile",
    "get_deterministic_debug_mode",
    "get_float32_matmul_precision",
    "is_deterministic_algorithms_warn_only_enabled",
    "set_deterministic_debug_mode",
    "set_float32_matmul_precision",
    "use_deterministic_algorithms",
]

_det = {"on": False, "warn_only": False}
_prec = {"value": "highest"}


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor",
            mode=None, options=None, disable: bool = False):
    """Return ``model`` unchanged (or a decorator doing so when called without it).

    PyTorch's ``torch.compile`` traces the program into a graph and generates fused kernels.
    This engine has no graph compiler: its kernels are JIT-compiled by Numba already, so the
    "compiled" callable is the original one and behaves identically.

    >>> import engine as torch
    >>> f = torch.compile(lambda x: x * 2)
    >>> f(torch.ones(2))
    tensor([2., 2.])
    """
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if model is None:
        return lambda m: m
    if not callable(model):
        raise RuntimeError(f"torch.compile: expected a callable (a function or an nn.Module), "
                           f"got {type(model).__name__}")
    return model


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record the flag (``are_deterministic_algorithms_enabled`` reads it back). The engine's
    kernels give the same result for the same input on every run, so nothing else changes."""
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms expects a bool, but got "
                        f"{type(mode).__name__}")
    _det["on"], _det["warn_only"] = mode, bool(warn_only)


def are_deterministic_algorithms_enabled() -> bool:
    return _det["on"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _det["warn_only"]


def set_deterministic_debug_mode(debug_mode) -> None:
    modes = {"default": 0, "warn": 1, "error": 2}
    if isinstance(debug_mode, str):
        if debug_mode not in modes:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = modes[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> int:
    if not _det["on"]:
        return 0
    return 1 if _det["warn_only"] else 2


def set_float32_matmul_precision(precision: str) -> None:
    """Accepts 'highest', 'high', 'medium'; float32 matmuls always run in full float32 here."""
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision {precision!r}: expected 'highest', 'high' or "
                           "'medium'")
    _prec["value"] = precision


def get_float32_matmul_precision() -> str:
    return _prec["value"]
