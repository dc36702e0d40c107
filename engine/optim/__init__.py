"""``engine.optim``: PyTorch's optimizers and learning-rate schedulers.

>>> import engine as torch
>>> w = torch.zeros(3, requires_grad=True)
>>> opt = torch.optim.SGD([w], lr=0.1)
>>> (w - 1).pow(2).sum().backward(); opt.step(); w
tensor([0.2000, 0.2000, 0.2000], requires_grad=True)
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Optimizer", "RMSprop",
           "lr_scheduler"]

# NAdam, RAdam, ASGD, Rprop, LBFGS and swa_utils, when present
try:
    import importlib as _il
    _more = _il.import_module(f"{__name__}.more")
    for _name in _more.__all__:
        globals()[_name] = getattr(_more, _name)
        __all__.append(_name)
except ModuleNotFoundError as _e:
    if _e.name != f"{__name__}.more":
        raise
try:
    swa_utils = _il.import_module(f"{__name__}.swa_utils")
    __all__.append("swa_utils")
except ModuleNotFoundError as _e:
    if _e.name != f"{__name__}.swa_utils":
        raise
