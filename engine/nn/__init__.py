"""``engine.nn``: modules, parameters, losses, ``functional`` and ``init`` (PyTorch's API).

>>> import engine
>>> net = engine.nn.Sequential(engine.nn.Linear(4, 8), engine.nn.ReLU(), engine.nn.Linear(8, 2))
>>> net(engine.randn(3, 4)).shape
torch.Size([3, 2])
"""

from __future__ import annotations

from . import (
    functional,
    init,
    modules,
    utils,
)
from .modules import *
from .modules import __all__ as _modules_all
from .parameter import Buffer, Parameter

__all__ = ["Parameter", "Buffer", "functional", "init", "utils", "modules"] + list(_modules_all)
