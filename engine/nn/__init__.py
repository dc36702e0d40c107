"""``engine.nn``: modules, parameters, losses, ``functional`` and ``init`` (PyTorch's API).

>>> import engine
>>> net = engine.nn.Sequential(engine.nn.Linear(4, 8), engine.nn.ReLU(), engine.nn.Linear(8, 2))
>>> net(engine.randn(3, 4)).shape
torch.Size([3, 2])
"""

from __future__ import annotations

from .parameter import Parameter, Buffer
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from . import functional, init, utils  # noqa: F401
from . import modules  # noqa: F401

__all__ = ["Parameter", "Buffer", "functional", "init", "utils", "modules"] + list(_modules_all)
