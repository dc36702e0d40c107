"""``engine.nn.utils``: gradient clipping and parameter/vector conversion."""

from __future__ import annotations

from .clip_grad import (
           clip_grad_norm,
           clip_grad_norm_,
           clip_grad_value_,
           clip_grads_with_norm_,
           get_total_norm,
)
from .convert_parameters import parameters_to_vector, vector_to_parameters
from . import parametrizations, parametrize
from .spectral_norm import remove_spectral_norm, spectral_norm
from .weight_norm import remove_weight_norm, weight_norm

__all__ = [
           "clip_grad_norm",
           "clip_grad_norm_",
           "clip_grad_value_",
           "clip_grads_with_norm_",
           "get_total_norm",
           "parameters_to_vector",
           "vector_to_parameters",
           "parametrize",
           "parametrizations",
           "weight_norm",
           "remove_weight_norm",
           "spectral_norm",
           "remove_spectral_norm",
]

try:  # pack_padded_sequence & co. (engine.nn.utils.rnn), when present
    import importlib as _il
    rnn = _il.import_module(f"{__name__}.rnn")
    __all__.append("rnn")
except ModuleNotFoundError as _e:
    if _e.name != f"{__name__}.rnn":
        raise
