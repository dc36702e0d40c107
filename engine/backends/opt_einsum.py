"""``engine.backends.opt_einsum``: flags only (einsum contracts in the order given)."""

from __future__ import annotations

__all__ = ["enabled", "get_opt_einsum", "is_available", "strategy"]

enabled = True
strategy = "auto"


def is_available() -> bool:
    """Whether the ``opt_einsum`` package can be imported (the engine does not use it)."""
    import importlib.util
    return importlib.util.find_spec("opt_einsum") is not None


def get_opt_einsum():
    if not is_available():
        return None
    import opt_einsum
    return opt_einsum
