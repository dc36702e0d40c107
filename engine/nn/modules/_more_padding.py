"""Padding modules: ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in 1, 2
and 3 dims (PyTorch's arguments and reprs), each a call to ``F.pad``.

>>> import engine
>>> engine.nn.ZeroPad2d((1, 1, 2, 0))(engine.ones(1, 1, 2, 2)).shape
torch.Size([1, 1, 4, 4])
"""

from __future__ import annotations

from ..._tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d",
           "ZeroPad3d"]


def _ntuple(v, n: int) -> tuple:
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return (v,) * n


class _PadNd(Module):
    __constants__ = ("padding",)
    _nd = 1
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _ntuple(padding, 2 * self._nd)

    def _check_input_dim(self, input: Tensor) -> None:
        nd = self._nd
        if input.dim() not in (nd + 1, nd + 2):
            raise ValueError(f"expected {nd + 1}D or {nd + 2}D input (got {input.dim()}D "
                             "input)")

    def forward(self, input: Tensor) -> Tensor:
        if self._mode != "constant":
            self._check_input_dim(input)
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    __constants__ = ("padding", "value")

    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


def _cls(name, base, nd, mode=None, doc=""):
    attrs = {"_nd": nd, "__doc__": doc, "__module__": __name__}
    if mode:
        attrs["_mode"] = mode
    return type(name, (base,), attrs)


ConstantPad1d = _cls("ConstantPad1d", _ConstantPadNd, 1, doc="Pads the last dim with `value`.")
ConstantPad2d = _cls("ConstantPad2d", _ConstantPadNd, 2, doc="Pads the last 2 dims with `value`.")
ConstantPad3d = _cls("ConstantPad3d", _ConstantPadNd, 3, doc="Pads the last 3 dims with `value`.")


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


ZeroPad1d = _cls("ZeroPad1d", _ZeroPadNd, 1, doc="Pads the last dim with zeros.")
ZeroPad2d = _cls("ZeroPad2d", _ZeroPadNd, 2, doc="Pads the last 2 dims with zeros.")
ZeroPad3d = _cls("ZeroPad3d", _ZeroPadNd, 3, doc="Pads the last 3 dims with zeros.")


class _ReflectionPadNd(_PadNd):
    _mode = "reflect"

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "reflect")


ReflectionPad1d = _cls("ReflectionPad1d", _ReflectionPadNd, 1,
                       doc="Pads the last dim with its reflection (edge not repeated).")
ReflectionPad2d = _cls("ReflectionPad2d", _ReflectionPadNd, 2,
                       doc="Pads the last 2 dims with their reflection.")
ReflectionPad3d = _cls("ReflectionPad3d", _ReflectionPadNd, 3,
                       doc="Pads the last 3 dims with their reflection.")


class _ReplicationPadNd(_PadNd):
    _mode = "replicate"

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "replicate")


ReplicationPad1d = _cls("ReplicationPad1d", _ReplicationPadNd, 1,
                        doc="Pads the last dim by repeating its edge values.")
ReplicationPad2d = _cls("ReplicationPad2d", _ReplicationPadNd, 2,
                        doc="Pads the last 2 dims by repeating their edge values.")
ReplicationPad3d = _cls("ReplicationPad3d", _ReplicationPadNd, 3,
                        doc="Pads the last 3 dims by repeating their edge values.")
CircularPad1d = _cls("CircularPad1d", _PadNd, 1, "circular",
                     doc="Pads the last dim by wrapping around (periodic).")
CircularPad2d = _cls("CircularPad2d", _PadNd, 2, "circular",
                     doc="Pads the last 2 dims by wrapping around.")
CircularPad3d = _cls("CircularPad3d", _PadNd, 3, "circular",
                     doc="Pads the last 3 dims by wrapping around.")
