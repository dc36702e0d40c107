"""``engine.optim``: PyTorch's optimizers and learning-rate schedulers.

>>> import engine as torch
>>> w = torch.zeros(3, requires_grad=True)
>>> opt = torch.optim.SGD([w], lr=0.1)
>>> (w - 1).pow(2).sum().backward(); opt.step(); w
tensor([0.2000, 0.2000, 0.2000], requires_grad=True)
"""

from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam, AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
from .adadelta import Adadelta
from .adamax import Adamax
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "lr_scheduler"]
