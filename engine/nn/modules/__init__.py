"""All nn modules. Convolution, pooling, BatchNorm and upsampling come from their own files
(written separately) and are re-exported when present."""

from __future__ import annotations

import importlib

from .activation import *
from .activation import __all__ as _act_all
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .dropout import AlphaDropout, Dropout, Dropout1d, Dropout2d, Dropout3d
from .flatten import Flatten, Unflatten
from .layernorm import GroupNorm, LayerNorm, RMSNorm
from .linear import Bilinear, Identity, Linear
from .loss import *
from .loss import __all__ as _loss_all
from .module import Module
from .sparse import Embedding

__all__ = (["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
            "ParameterDict", "Identity", "Linear", "Bilinear", "Dropout", "Dropout1d",
            "Dropout2d", "Dropout3d", "AlphaDropout", "Embedding", "Flatten", "Unflatten",
            "LayerNorm", "GroupNorm", "RMSNorm"] + list(_act_all) + list(_loss_all))

for _mod in ("conv", "pooling", "normalization", "upsampling", "padding", "pixelshuffle",
             "extra", "rnn", "transformer", "more"):
    try:
        _m = importlib.import_module(f".{_mod}", __name__)
    except ModuleNotFoundError as _e:  # only a file that is absent is skipped, not a broken one
        if _e.name != f"{__name__}.{_mod}":
            raise
        continue
    for _name in getattr(_m, "__all__", ()):
        if _name not in globals():
            globals()[_name] = getattr(_m, _name)
            __all__.append(_name)
