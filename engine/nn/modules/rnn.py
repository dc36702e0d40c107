"""Recurrent layers (RNN, LSTM, GRU), their cells, and EmbeddingBag, with PyTorch's
constructor arguments, parameter names/shapes/init, gate order, outputs, reprs and errors.

The math lives in ``functional_rnn`` (engine ops only: autograd and CUDA come free).

>>> import engine
>>> lstm = engine.nn.LSTM(10, 20, num_layers=2, batch_first=True)
>>> lstm
LSTM(10, 20, num_layers=2, batch_first=True)
>>> out, (h, c) = lstm(engine.randn(3, 5, 10))
>>> out.shape, h.shape
(torch.Size([3, 5, 20]), torch.Size([2, 3, 20]))
"""

from __future__ import annotations

import math
import numbers
import warnings

from ..._tensor import Tensor
from .. import init
from ..functional_rnn import _run_layers
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from ._embedding_bag import EmbeddingBag
from ._rnn_cells import GRUCell, LSTMCell, RNNCell, RNNCellBase
from .module import Module

__all__ = ["GRU", "LSTM", "RNN", "EmbeddingBag", "GRUCell", "LSTMCell", "RNNBase", "RNNCell",
           "RNNCellBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _empty(*shape, device=None, dtype=None):
    from ...ops.creation import empty
    return empty(*shape, device=device, dtype=dtype)


def _zeros(*shape, like):
    from ...ops.creation import zeros
    return zeros(*shape, dtype=like.dtype, device=like.device)


def _check_type(name, value, kind):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{name} should be of type {kind.__name__}, got: "
                        f"{type(value).__name__}")


class RNNBase(Module):
    """Base of RNN/LSTM/GRU: holds the per-layer, per-direction weights
    (``weight_ih_l{k}[_reverse]``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``,
    ``weight_hr_l{k}`` for LSTM ``proj_size``) initialised U(-1/sqrt(hidden), 1/sqrt(hidden))."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout) if isinstance(dropout, numbers.Number) else dropout
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        self._check_args(dropout)
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        ndir = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        kw = {"device": device, "dtype": dtype}
        for layer in range(num_layers):
            for d in range(ndir):
                in_size = input_size if layer == 0 else real_hidden * ndir
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                params = [("weight_ih" + sfx, (gate, in_size)),
                          ("weight_hh" + sfx, (gate, real_hidden))]
                if bias:
                    params += [("bias_ih" + sfx, (gate,)), ("bias_hh" + sfx, (gate,))]
                if proj_size > 0:
                    params.append(("weight_hr" + sfx, (proj_size, hidden_size)))
                for name, shape in params:
                    setattr(self, name, Parameter(_empty(*shape, **kw)))
                names = [n for n, _ in params]
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def _check_args(self, dropout) -> None:
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and self.num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={self.num_layers}", stacklevel=3)
        _check_type("bias", self.bias, bool)
        _check_type("batch_first", self.batch_first, bool)
        _check_type("input_size", self.input_size, int)
        if self.input_size <= 0:
            raise ValueError("input_size must be greater than zero")
        _check_type("hidden_size", self.hidden_size, int)
        if self.hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if self.num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if self.proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if self.proj_size >= self.hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if self.mode not in _GATES:
            raise ValueError("Unrecognized RNN mode: " + self.mode)

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def _flat_weights(self) -> list:
        return [getattr(self, n, None) for n in self._flat_weights_names]

    @property
    def all_weights(self) -> list:
        return [[getattr(self, n) for n in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """No-op (kept for PyTorch compatibility: the weights are never flattened here)."""

    # ---- argument checks (PyTorch's messages) ------------------------------------------------
    def check_input(self, input: Tensor, batch_sizes) -> None:
        w = self._flat_weights[0]
        if input.dtype != w.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({w.dtype}). Convert input: input.to({w.dtype}), or convert "
                             f"model: model.to({input.dtype})")
        expected = 2 if batch_sizes is not None else 3
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def _mini_batch(self, input, batch_sizes) -> int:
        if batch_sizes is not None:
            return int(batch_sizes[0])
        return input.size(0) if self.batch_first else input.size(1)

    def get_expected_hidden_size(self, input: Tensor, batch_sizes) -> tuple:
        ndir = 2 if self.bidirectional else 1
        size = self.proj_size if self.proj_size > 0 else self.hidden_size
        return (self.num_layers * ndir, self._mini_batch(input, batch_sizes), size)

    def check_hidden_size(self, hx: Tensor, expected_hidden_size: tuple,
                          msg: str = "Expected hidden size {}, got {}") -> None:
        if tuple(hx.size()) != tuple(expected_hidden_size):
            raise RuntimeError(msg.format(expected_hidden_size, list(hx.size())))

    def check_forward_args(self, input: Tensor, hidden: Tensor, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden, self.get_expected_hidden_size(input, batch_sizes))

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx.index_select(1, permutation)

    def _check_state(self, input, states) -> None:
        """hx (and cx) must share the input's dtype and device (PyTorch: a matmul error)."""
        name = "RNN" if self.mode.startswith("RNN") else self.mode
        for k, h in enumerate(states):
            label = "hx" if len(states) == 1 else f"hx[{k}]"
            if h.dtype != input.dtype or h.device != input.device:
                raise RuntimeError(f"{name}: {label} is {h.dtype} on {h.device} but the input "
                                   f"is {input.dtype} on {input.device}; convert it with "
                                   f"{label}.to(input)")

    def extra_repr(self) -> str:
        s = "{input_size}, {hidden_size}"
        if self.proj_size != 0:
            s += ", proj_size={proj_size}"
        if self.num_layers != 1:
            s += ", num_layers={num_layers}"
        if self.bias is not True:
            s += ", bias={bias}"
        if self.batch_first is not False:
            s += ", batch_first={batch_first}"
        if self.dropout != 0:
            s += ", dropout={dropout}"
        if self.bidirectional is not False:
            s += ", bidirectional={bidirectional}"
        return s.format(**self.__dict__)

    # ---- forward ------------------------------------------------------------------------------
    def _layer_weights(self) -> list:
        out = []
        for names in self._all_weights:
            ws = {n.split("_l")[0]: getattr(self, n) for n in names}
            out.append((ws["weight_ih"], ws["weight_hh"], ws.get("bias_ih"), ws.get("bias_hh"),
                        ws.get("weight_hr")))
        return out

    def _prepare(self, input):
        """(input or packed data, batch_sizes or None, (sorted, unsorted indices) or None,
        is_batched), checking a padded input's number of dimensions."""
        if isinstance(input, PackedSequence):
            data, bs, sorted_indices, unsorted_indices = input
            return data, bs, (sorted_indices, unsorted_indices), True
        if input.dim() not in (2, 3):
            name = "RNN" if self.mode.startswith("RNN") else self.mode
            tail = " tensor instead" if name == "RNN" else " instead"
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D{tail}")
        return input, None, None, input.dim() == 3

    def _run(self, input, batch_sizes, hx, cx):
        """The layers over ``input`` (3-D padded, or packed rows); returns (output, h_n, c_n)."""
        if batch_sizes is None:
            x = input.transpose(0, 1) if self.batch_first else input
            T, B = x.shape[0], x.shape[1]
            rows, bs = x.reshape(T * B, x.shape[2]), [B] * T
        else:
            rows, bs = input, [int(b) for b in batch_sizes.tolist()]
        out, h, c = _run_layers(self.mode, rows, hx, cx, self._layer_weights(), bs,
                                self.num_layers, self.bidirectional, self.dropout,
                                self.training, relu=self.mode == "RNN_RELU")
        if batch_sizes is None:
            out = out.reshape(T, B, out.shape[-1])
            if self.batch_first:
                out = out.transpose(0, 1)
        return out, h, c

    def _single_state_forward(self, input, hx=None):
        """forward of RNN and GRU (one hidden-state tensor)."""
        input, batch_sizes, perm, is_batched = self._prepare(input)
        batch_dim = 0 if self.batch_first else 1
        if perm is None:
            if not is_batched:
                input = input.unsqueeze(batch_dim)
                if hx is not None:
                    if hx.dim() != 2:
                        raise RuntimeError("For unbatched 2-D input, hx should also be 2-D but "
                                           f"got {hx.dim()}-D tensor")
                    hx = hx.unsqueeze(1)
            elif hx is not None and hx.dim() != 3:
                raise RuntimeError("For batched 3-D input, hx should also be 3-D but got "
                                   f"{hx.dim()}-D tensor")
        if hx is None:
            ndir = 2 if self.bidirectional else 1
            hx = _zeros(self.num_layers * ndir, self._mini_batch(input, batch_sizes),
                        self.hidden_size, like=input)
        elif perm is not None:
            hx = self.permute_hidden(hx, perm[0])
        self.check_forward_args(input, hx, batch_sizes)
        self._check_state(input, (hx,))
        out, h, _ = self._run(input, batch_sizes, hx, None)
        if perm is not None:
            return PackedSequence(out, batch_sizes, perm[0], perm[1]), \
                self.permute_hidden(h, perm[1])
        if not is_batched:
            out, h = out.squeeze(batch_dim), h.squeeze(1)
        return out, h


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU).
    Arguments: (input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None).

    >>> import engine
    >>> out, h = engine.nn.RNN(10, 20, 2)(engine.randn(5, 3, 10), engine.randn(2, 3, 20))
    >>> out.shape, h.shape
    (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if len(args) > 3:
            self.nonlinearity = args[3]
            args = args[:3] + args[4:]
        else:
            self.nonlinearity = kwargs.pop("nonlinearity", "tanh")
        if self.nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif self.nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{self.nonlinearity}'. Select from 'tanh' "
                             "or 'relu'.")
        super().__init__(mode, *args, **kwargs)

    def forward(self, input, hx=None):
        return self._single_state_forward(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit (gates r, z, n in PyTorch's order). Arguments: (input_size,
    hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, bidirectional=False,
    device=None, dtype=None)."""

    def __init__(self, *args, **kwargs) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        super().__init__("GRU", *args, **kwargs)

    def forward(self, input, hx=None):
        return self._single_state_forward(input, hx)


class LSTM(RNNBase):
    """Long short-term memory (gates i, f, g, o in PyTorch's order), optionally projecting the
    hidden state to ``proj_size``. Arguments: (input_size, hidden_size, num_layers=1, bias=True,
    batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None).
    Returns ``(output, (h_n, c_n))``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__("LSTM", *args, **kwargs)

    def get_expected_cell_size(self, input: Tensor, batch_sizes) -> tuple:
        ndir = 2 if self.bidirectional else 1
        return (self.num_layers * ndir, self._mini_batch(input, batch_sizes), self.hidden_size)

    def check_forward_args(self, input, hidden, batch_sizes) -> None:
        self.check_input(input, batch_sizes)
        self.check_hidden_size(hidden[0], self.get_expected_hidden_size(input, batch_sizes),
                               "Expected hidden[0] size {}, got {}")
        self.check_hidden_size(hidden[1], self.get_expected_cell_size(input, batch_sizes),
                               "Expected hidden[1] size {}, got {}")

    def permute_hidden(self, hx, permutation):
        if permutation is None:
            return hx
        return hx[0].index_select(1, permutation), hx[1].index_select(1, permutation)

    def forward(self, input, hx=None):
        input, batch_sizes, perm, is_batched = self._prepare(input)
        batch_dim = 0 if self.batch_first else 1
        if perm is None and not is_batched:
            input = input.unsqueeze(batch_dim)
        if hx is None:
            ndir = 2 if self.bidirectional else 1
            B = self._mini_batch(input, batch_sizes)
            real = self.proj_size if self.proj_size > 0 else self.hidden_size
            hx = (_zeros(self.num_layers * ndir, B, real, like=input),
                  _zeros(self.num_layers * ndir, B, self.hidden_size, like=input))
        elif perm is not None:
            hx = self.permute_hidden(hx, perm[0])
        else:
            want = 3 if is_batched else 2
            if hx[0].dim() != want or hx[1].dim() != want:
                kind = "batched 3-D" if is_batched else "unbatched 2-D"
                raise RuntimeError(f"For {kind} input, hx and cx should also be {want}-D but "
                                   f"got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            if not is_batched:
                hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        self.check_forward_args(input, hx, batch_sizes)
        self._check_state(input, hx)
        out, h, c = self._run(input, batch_sizes, hx[0], hx[1])
        if perm is not None:
            return PackedSequence(out, batch_sizes, perm[0], perm[1]), \
                self.permute_hidden((h, c), perm[1])
        if not is_batched:
            out, h, c = out.squeeze(batch_dim), h.squeeze(1), c.squeeze(1)
        return out, (h, c)
