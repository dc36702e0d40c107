"""``engine.nn.utils.rnn``: packed sequences (variable-length batches for RNN/LSTM/GRU) and
padding helpers, as PyTorch's.

Packing and padding are one ``index_select`` each (row indices computed on the host from the
lengths, which PyTorch also keeps on the CPU), so they are differentiable and run on any device.

>>> import engine
>>> from engine.nn.utils.rnn import pack_sequence, pad_packed_sequence
>>> p = pack_sequence([engine.tensor([1, 2, 3]), engine.tensor([4, 5])])
>>> p.data, p.batch_sizes
(tensor([1, 4, 2, 5, 3]), tensor([2, 2, 1]))
>>> pad_packed_sequence(p, batch_first=True)
(tensor([[1, 2, 3],
        [4, 5, 0]]), tensor([3, 2]))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from ... import _dtype as D
from ..._tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpack_sequence",
    "unpad_sequence",
]


def _tensor(a, device=None):
    from ...ops.creation import tensor
    return tensor(np.ascontiguousarray(a, dtype=np.int64), device=device)


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


def _bind(t, fn):
    return None if t is None else fn(t)


class PackedSequence(PackedSequence_):
    """Holds the data and ``batch_sizes`` of a packed batch of sequences (sorted by length,
    longest first): ``data`` stacks, time step by time step, the rows of the sequences still
    running. Build it with :func:`pack_padded_sequence` or :func:`pack_sequence`, never by hand;
    ``sorted_indices``/``unsorted_indices`` undo a sort done by ``enforce_sorted=False``."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError(
                    "batch_sizes should always be on CPU. Instances of PackedSequence should "
                    "never be created manually. They should be instantiated by functions like "
                    "pack_sequence and pack_padded_sequences in nn.utils.rnn. "
                    "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
        else:
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> PackedSequence:
        """``data`` converted like ``Tensor.to``; the indices follow it to its device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        def move(t):
            return t.to(data.device)
        return type(self)(data, self.batch_sizes, _bind(self.sorted_indices, move),
                          _bind(self.unsorted_indices, move))

    def cuda(self, device=None, non_blocking: bool = False) -> PackedSequence:
        return self.to(device if device is not None else "cuda")

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def pin_memory(self) -> PackedSequence:
        return type(self)(self.data.pin_memory(), self.batch_sizes,
                          _bind(self.sorted_indices, lambda t: t.pin_memory()),
                          _bind(self.unsorted_indices, lambda t: t.pin_memory()))

    def double(self):
        return self.to(dtype=D.float64)

    def float(self):
        return self.to(dtype=D.float32)

    def half(self):
        return self.to(dtype=D.float16)

    def long(self):
        return self.to(dtype=D.int64)

    def int(self):
        return self.to(dtype=D.int32)

    def short(self):
        return self.to(dtype=D.int16)

    def char(self):
        return self.to(dtype=D.int8)

    def byte(self):
        return self.to(dtype=D.uint8)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return self.data.is_pinned()


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of ``0..n-1`` (``None`` stays ``None``)."""
    if permutation is None:
        return None
    from ...ops.creation import arange, zeros_like
    return zeros_like(permutation).scatter(
        0, permutation, arange(permutation.numel(), device=permutation.device,
                               dtype=permutation.dtype))


def _host_lengths(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1 or lengths.device.type != "cpu":
            kind = {D.int64: "Long", D.int32: "Int", D.float32: "Float",
                    D.float64: "Double"}.get(lengths.dtype, str(lengths.dtype))
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D {lengths.device} {kind} tensor")
        return lengths.numpy().astype(np.int64)
    arr = np.asarray(list(lengths) if not isinstance(lengths, np.ndarray) else lengths)
    return arr.astype(np.int64).reshape(-1)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Packs a padded batch ``input`` (T, B, *) (or (B, T, *) with ``batch_first``) of sequences
    of the given ``lengths`` (a list or a 1-D CPU int64 tensor). With ``enforce_sorted=True`` the
    lengths must be in decreasing order; otherwise the batch is sorted here and the returned
    ``PackedSequence`` remembers the permutation."""
    lens = _host_lengths(lengths)
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = _tensor(order, device=input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if input.numel() == 0:
        raise RuntimeError("Cannot pack empty tensors.")
    if input.dim() < 2:
        raise RuntimeError(f"pack_padded_sequence: input must have at least 2 dimensions "
                           f"(time and batch), got shape {tuple(input.shape)}")
    T, B = (input.shape[1], input.shape[0]) if batch_first else (input.shape[0], input.shape[1])
    if lens.shape[0] != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.shape[0]} (batch_size={B})")
    if lens[-1] <= 0 or lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if enforce_sorted and np.any(np.diff(lens) > 0):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
            "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence "
            "to sidestep this requirement if you do not need ONNX exportability.")
    if lens[0] > T:
        raise RuntimeError(f"pack_padded_sequence: a length ({int(lens[0])}) is larger than the "
                           f"padded input's time dimension ({T}; input shape "
                           f"{tuple(input.shape)}, batch_first={batch_first}); check the "
                           f"lengths or the batch_first flag")
    steps = np.arange(int(lens[0]))
    tt, bb = np.nonzero(lens[None, :] > steps[:, None])  # in time-then-batch order
    rows = bb * T + tt if batch_first else tt * B + bb
    flat = input.reshape((T * B,) + tuple(input.shape[2:]))
    data = flat.index_select(0, _tensor(rows, device=input.device))
    batch_sizes = _tensor((lens[None, :] > steps[:, None]).sum(1))
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None):
    """Inverse of :func:`pack_padded_sequence`: returns (padded (T, B, *) or (B, T, *),
    lengths as a CPU int64 tensor), in the batch order before any sort; ``total_length`` pads
    the time dimension further."""
    bs = sequence.batch_sizes.numpy().astype(np.int64)
    T = bs.shape[0]
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being {T}")
        T = total_length
    data = sequence.data
    B = int(bs[0])
    N = data.shape[0]
    offsets = np.concatenate([[0], np.cumsum(bs)[:-1]])
    idx = np.full((T, B), N, dtype=np.int64)
    for t in range(bs.shape[0]):
        idx[t, :bs[t]] = offsets[t] + np.arange(bs[t])
    if batch_first:
        idx = idx.T
    from ...ops.creation import full
    from ...ops.shape import cat
    pad_row = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                   device=data.device)
    out = cat([data, pad_row]).index_select(0, _tensor(idx.reshape(-1), device=data.device))
    out = out.reshape(idx.shape + tuple(data.shape[1:]))
    lengths = (bs[None, :] > np.arange(B)[:, None]).sum(1)
    if sequence.unsorted_indices is not None:
        out = out.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.cpu().numpy()]
    return out, _tensor(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stacks sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *) with
    ``batch_first``), filling with ``padding_value`` on the ``padding_side``."""
    if not isinstance(sequences, Iterable):  # RuntimeError, as PyTorch raises
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg "  # noqa: TRY004
                           f"of type: {type(sequences)}")
    seqs = list(sequences)
    if not seqs:
        raise RuntimeError("received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    first = seqs[0]
    trail = tuple(first.shape[1:])
    for i, s in enumerate(seqs):
        if s.dim() == 0 or tuple(s.shape[1:]) != trail:
            raise RuntimeError(f"pad_sequence: every sequence must be (length, *) with the same "
                               f"trailing dimensions; sequence 0 has shape {tuple(first.shape)} "
                               f"but sequence {i} has shape {tuple(s.shape)}")
    lens = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    B, L, N = len(seqs), int(lens.max()), int(lens.sum())
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    steps = np.arange(L)[None, :]
    shift = (L - lens)[:, None] if padding_side == "left" else np.zeros((B, 1), np.int64)
    pos = steps - shift  # position within sequence b at padded step t, (B, L)
    idx = np.where((pos >= 0) & (pos < lens[:, None]), starts[:, None] + pos, N)
    if not batch_first:
        idx = idx.T
    from ...ops.creation import full
    from ...ops.shape import cat
    pad_row = full((1,) + trail, padding_value, dtype=first.dtype, device=first.device)
    parts = [s if s.dtype == first.dtype else s.to(first.dtype) for s in seqs]
    out = cat(parts + [pad_row]).index_select(0, _tensor(idx.reshape(-1), device=first.device))
    return out.reshape(idx.shape + trail)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor, batch_first: bool = False):
    """Inverse of :func:`pad_sequence` (right padding): a list of the B unpadded sequences.
    Unlike PyTorch, the input is not transposed in place."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    if len(lens) != padded_sequences.shape[0]:
        raise ValueError(f"unpad_sequence: got {len(lens)} lengths for a batch of "
                         f"{padded_sequences.shape[0]} padded sequences")
    return [seq[:int(n)] for seq, n in zip(padded_sequences, lens)]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of sequences (L_i, *); with ``enforce_sorted=True`` they must be sorted by
    decreasing length."""
    lengths = [v.size(0) for v in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """Inverse of :func:`pack_sequence`: the list of sequences in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
