"""RNNCell, LSTMCell, GRUCell (one time step; PyTorch's parameters, init, reprs, errors)."""

from __future__ import annotations

import math

from ..._tensor import Tensor
from .. import init
from ..functional_rnn import _cell_forward
from ..parameter import Parameter
from .module import Module

__all__ = ["GRUCell", "LSTMCell", "RNNCell", "RNNCellBase"]


def _empty(*shape, device=None, dtype=None):
    from ...ops.creation import empty
    return empty(*shape, device=device, dtype=dtype)


def _zeros(*shape, like):
    from ...ops.creation import zeros
    return zeros(*shape, dtype=like.dtype, device=like.device)


class RNNCellBase(Module):
    """Base of the cells: ``weight_ih`` (chunks * hidden, input), ``weight_hh`` (chunks * hidden,
    hidden), ``bias_ih``/``bias_hh``, initialised U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = Parameter(_empty(num_chunks * hidden_size, input_size, **kw))
        self.weight_hh = Parameter(_empty(num_chunks * hidden_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(_empty(num_chunks * hidden_size, **kw))
            self.bias_hh = Parameter(_empty(num_chunks * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if "bias" in self.__dict__ and self.bias is not True:
            s += ", bias={bias}"
        if "nonlinearity" in self.__dict__ and self.nonlinearity != "tanh":
            s += ", nonlinearity={nonlinearity}"
        return s.format(**self.__dict__)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _batched(self, name, input, hx, hname="hidden"):
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D "
                             "instead")
        for i, h in enumerate(hx):
            if h is not None and h.dim() not in (1, 2):
                label = hname if len(hx) == 1 else f"hx[{i}]"
                raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {h.dim()}D "
                                 "instead")
        return input.dim() == 2

    def _check_step(self, input, hs):
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"{type(self).__name__}: input dtype ({input.dtype}) does not "
                               f"match weight dtype ({self.weight_ih.dtype}); convert the input "
                               f"with input.to({self.weight_ih.dtype})")
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} "
                               f"expected {self.input_size}")
        for k, h in enumerate(hs):
            if h.dtype != input.dtype or h.device != input.device:
                raise RuntimeError(f"{type(self).__name__}: hidden{k} is {h.dtype} on "
                                   f"{h.device} but the input is {input.dtype} on "
                                   f"{input.device}; convert it with .to(input)")
            if input.size(0) != h.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{k} "
                                   f"batch size {h.size(0)}")
            if h.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{k} has inconsistent hidden_size: got {h.size(1)}, "
                                   f"expected {self.hidden_size}")

    def _step(self, mode, input, hx, cx=None, relu=False):
        return _cell_forward(mode, input, hx, cx, self.weight_ih, self.weight_hh, self.bias_ih,
                             self.bias_hh, relu)


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._batched("RNNCell", input, (hx,))
        if not batched:
            input = input.unsqueeze(0)
        hx = _zeros(input.size(0), self.hidden_size, like=input) if hx is None else (
            hx if batched else hx.unsqueeze(0))
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        self._check_step(input, (hx,))
        h, _ = self._step("RNN", input, hx, relu=self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx=None):
        batched = self._batched("LSTMCell", input, tuple(hx) if hx is not None else ())
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            z = _zeros(input.size(0), self.hidden_size, like=input)
            hx = (z, z)
        elif not batched:
            hx = (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        self._check_step(input, hx)
        h, c = self._step("LSTM", input, hx[0], hx[1])
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        batched = self._batched("GRUCell", input, (hx,))
        if not batched:
            input = input.unsqueeze(0)
        hx = _zeros(input.size(0), self.hidden_size, like=input) if hx is None else (
            hx if batched else hx.unsqueeze(0))
        self._check_step(input, (hx,))
        h, _ = self._step("GRU", input, hx)
        return h if batched else h.squeeze(0)
