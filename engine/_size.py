"""``engine.Size``: a tuple subclass, printed as PyTorch does."""

__all__ = ["Size"]


class Size(tuple):
    """The shape of a tensor. ``repr`` is ``torch.Size([2, 3])``, matching PyTorch's output."""

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(str(int(s)) for s in self)}])"

    __str__ = __repr__

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, i):
        r = tuple.__getitem__(self, i)
        return Size(r) if isinstance(i, slice) else r

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __reduce__(self):
        return (Size, (tuple(self),))
