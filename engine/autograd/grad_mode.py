"""Grad mode: a ContextVar, so it is local to each thread and asyncio task."""

from __future__ import annotations

import contextvars
import functools

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]

_enabled = contextvars.ContextVar("engine_grad_enabled", default=True)
from .._storage import _inference  # noqa: E402  (storages made under it are inference)


def is_grad_enabled() -> bool:
    return _enabled.get()


def is_inference_mode_enabled() -> bool:
    return _inference.get()


class _Mode:
    """Base for the grad-mode context managers; each instance also works as a decorator."""

    _value = True

    def __enter__(self):
        self._token = _enabled.set(self._value)
        return self

    def __exit__(self, *exc):
        _enabled.reset(self._token)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)() if type(self) is not set_grad_enabled else set_grad_enabled(
                    self._value):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_Mode):
    """Disable gradient recording: ``with engine.no_grad(): ...`` or ``@engine.no_grad()``."""

    _value = False


class enable_grad(_Mode):
    """Re-enable gradient recording inside a ``no_grad`` block."""

    _value = True


class set_grad_enabled(_Mode):
    """``set_grad_enabled(False)`` works as a call, a context manager and a decorator."""

    def __init__(self, mode: bool):
        self._value = bool(mode)
        self._prev = _enabled.get()
        _enabled.set(self._value)  # takes effect even when used as a plain function call

    def __enter__(self):
        self._token = None
        return self

    def __exit__(self, *exc):
        _enabled.set(self._prev)
        return False


class inference_mode(_Mode):
    """Like ``no_grad`` (tensors made inside never record history)."""

    def __init__(self, mode: bool = True):
        self._value = not mode
        self._mode = mode

    def __enter__(self):
        self._token = _enabled.set(self._value)
        self._itoken = _inference.set(self._mode)
        return self

    def __exit__(self, *exc):
        _inference.reset(self._itoken)
        _enabled.reset(self._token)
        return False

    def __call__(self, fn):
        mode = self._mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper
