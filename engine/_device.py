"""Device objects: ``engine.device('cpu')``, ``engine.device('cuda:1')``."""

from __future__ import annotations

__all__ = ["device", "to_device", "set_default_device", "get_default_device"]


class device:
    """Where a tensor's storage lives. Compares equal to strings like ``'cpu'``."""

    __slots__ = ("type", "index")

    def __init__(self, type: str | "device", index: int | None = None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int):
            type, index = "cuda", type
        elif ":" in type:
            type, idx = type.split(":", 1)
            if index is not None or not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}")
        self.type = type
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self):
        return (device, (str(self),))


CPU = device("cpu")
_DEFAULT = [CPU]  # torch.set_default_device: where factories put tensors when device=None


def set_default_device(d) -> None:
    """Default device of factory functions (``engine.set_default_device('cuda')``); None = cpu."""
    _DEFAULT[0] = CPU if d is None else to_device(d)


def get_default_device() -> device:
    """The device factory functions use when none is given."""
    return _DEFAULT[0]


def to_device(d) -> device:
    """Normalise ``None``/str/int/device into a concrete device (CUDA gets its index)."""
    if d is None:
        return _DEFAULT[0]
    if not isinstance(d, device):
        d = device(d)
    if d.type == "cpu":
        return CPU
    if d.index is None:
        from . import cuda
        return device("cuda", cuda.current_device())
    return d
