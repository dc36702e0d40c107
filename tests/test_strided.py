"""Property tests of engine._strided (the C++ view arithmetic) against numpy's own views.

Every function is checked on awkward inputs: permuted, sliced with offset and step, stride-0
broadcast, 0-d, size-1 and size-0. numpy gives ground truth for shapes, strides (``arr.strides //
itemsize``) and storage offsets (data-pointer difference / itemsize). Where numpy normalises the
strides of size-0/size-1 dims differently from torch, exact strides are compared with torch when
it is installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from engine import _strided as S

try:
    import torch
except ImportError:  # parity checks with torch are skipped without it
    torch = None

ITEM = 8  # int64 elements
SETTINGS = settings(
    deadline=None, max_examples=80, database=None, suppress_health_check=[HealthCheck.too_slow]
)

shapes = st.lists(st.integers(0, 4), max_size=4).map(tuple)


@st.composite
def views(draw, min_ndim: int = 0):
    """(base, view): a numpy view of a contiguous int64 base, after random view operations."""
    sizes = st.sampled_from([1, 2, 3, 4, 5, 2, 3, 4, 1, 2, 3, 0])  # size 0 now and then
    shape = tuple(draw(st.lists(sizes, min_size=min_ndim, max_size=4)))
    base = np.arange(math.prod(shape), dtype=np.int64).reshape(shape)
    v = base
    kinds = st.sampled_from(["permute", "slice", "slice", "broadcast", "prepend"])
    for op in draw(st.lists(kinds, max_size=4)):
        if op == "permute":
            v = v.transpose(draw(st.permutations(range(v.ndim))))
        elif op == "slice" and v.ndim:
            d = draw(st.integers(0, v.ndim - 1))
            n = v.shape[d]
            start = draw(st.integers(-n - 1, n))  # out of range now and then: it clamps
            stop = draw(st.none() | st.integers(start % max(n, 1) + 1, n + 2) | st.integers(-6, 6))
            idx = [slice(None)] * v.ndim
            idx[d] = slice(start, stop, draw(st.integers(1, 3)))
            v = v[tuple(idx)]
        elif op == "broadcast" and 1 in v.shape:
            d = v.shape.index(1)
            v = np.broadcast_to(v, v.shape[:d] + (draw(st.integers(0, 3)),) + v.shape[d + 1 :])
        elif op == "prepend" and v.ndim < 4:
            v = np.broadcast_to(v, (draw(st.integers(1, 3)),) + v.shape)
    return base, v


def meta(base: np.ndarray, v: np.ndarray) -> tuple[tuple, tuple, int]:
    """(shape, strides, offset) of view v in elements of base's buffer."""
    return v.shape, tuple(s // ITEM for s in v.strides), (v.ctypes.data - base.ctypes.data) // ITEM


def tview(base: np.ndarray, shape, strides, offset: int):
    """The same view as a torch tensor (over a storage big enough for empty views' offsets)."""
    storage = torch.arange(2 * base.size + 8, dtype=torch.int64)
    return storage.as_strided(shape, strides, offset)


def big_strides_equal(shape, a, b) -> bool:
    """Strides agree on every dim that is ever stepped along (size > 1); empty: any strides."""
    return math.prod(shape) == 0 or all(x == y for n, x, y in zip(shape, a, b) if n > 1)


def element_offsets(shape, strides, offset: int = 0) -> np.ndarray:
    """Storage offset of every element, in C order."""
    idx = np.indices(shape, dtype=np.int64).reshape(len(shape), math.prod(shape))
    return offset + (np.asarray(strides, dtype=np.int64)[:, None] * idx).sum(axis=0)


@seed(1)
@SETTINGS
@given(shapes)
def test_numel_and_contiguous_strides(shape):
    assert S.numel(shape) == math.prod(shape)
    strides = S.contiguous_strides(list(shape))  # any sequence is accepted
    assert isinstance(strides, tuple)
    if math.prod(shape):
        assert strides == tuple(s // ITEM for s in np.empty(shape, np.int64).strides)
    if torch is not None:
        assert strides == torch.empty(shape).stride()
    assert S.is_contiguous(shape, strides)


@seed(2)
@SETTINGS
@given(views())
def test_is_contiguous(bv):
    shape, strides, offset = meta(*bv)
    assert S.is_contiguous(shape, strides) == bv[1].flags.c_contiguous
    if torch is not None:
        assert (
            S.is_contiguous(shape, strides) == tview(bv[0], shape, strides, offset).is_contiguous()
        )


@seed(3)
@SETTINGS
@given(st.lists(shapes, min_size=1, max_size=4))
def test_broadcast_shapes(shape_list):
    try:
        expected = np.broadcast_shapes(*shape_list)
    except ValueError:
        with pytest.raises(ValueError, match="are not broadcastable"):
            S.broadcast_shapes(*shape_list)
    else:
        assert S.broadcast_shapes(*shape_list) == expected


def test_broadcast_shapes_message_and_ints():
    with pytest.raises(ValueError, match=r"^shapes \(2, 3\) and \(4,\) are not broadcastable$"):
        S.broadcast_shapes((2, 3), (4,))
    with pytest.raises(ValueError, match=r"shapes \(2, 3\), \(1,\) and \(4,\) are not"):
        S.broadcast_shapes((2, 3), (1,), (4,))
    assert S.broadcast_shapes(3, (2, 1)) == (2, 3)
    assert S.broadcast_shapes() == ()
    assert S.broadcast_shapes((0,), (1,)) == (0,)


@seed(4)
@SETTINGS
@given(views(), st.data())
def test_expand(bv, data):
    shape, strides, offset = meta(*bv)
    lead = data.draw(st.lists(st.integers(0, 3), max_size=2))
    tail = [data.draw(st.sampled_from([n, -1, 0, 2, 3] if n == 1 else [n, -1])) for n in shape]
    target = tuple(lead + tail)
    new_shape, new_strides = S.expand(shape, strides, target)
    expected = np.broadcast_to(
        bv[1], tuple(lead) + tuple(n if t == -1 else t for n, t in zip(shape, tail))
    )
    assert new_shape == expected.shape
    assert big_strides_equal(new_shape, new_strides, meta(bv[0], expected)[1])
    if torch is not None:
        assert new_strides == tview(bv[0], shape, strides, offset).expand(target).stride()


def test_expand_errors():
    msg = (
        r"^expanded size 4 must match existing size 3 at non-singleton dimension 1; "
        r"target \(2, 4\), tensor \(2, 3\)$"
    )
    with pytest.raises(ValueError, match=msg):
        S.expand((2, 3), (3, 1), (2, 4))
    with pytest.raises(ValueError, match="-1"):
        S.expand((3,), (1,), (-1, 3))
    with pytest.raises(ValueError):
        S.expand((2, 3), (3, 1), (3,))
    assert S.expand((), (), (2, 3)) == ((2, 3), (0, 0))  # torch gives a 0-d tensor zero strides


@seed(5)
@SETTINGS
@given(shapes, st.data())
def test_infer_size(shape, data):
    numel = data.draw(st.sampled_from([math.prod(shape), math.prod(shape) * 2, 0, 7]))
    spec = list(shape)
    for _ in range(data.draw(st.integers(0, 2))):
        if spec:
            spec[data.draw(st.integers(0, len(spec) - 1))] = -1
    try:
        expected = np.empty(numel).reshape(spec).shape
    except ValueError:
        with pytest.raises(ValueError):
            S.infer_size(numel, spec)
    else:
        assert S.infer_size(numel, spec) == expected


def test_infer_size_messages():
    with pytest.raises(ValueError, match=r"^shape '\[2, 5\]' is invalid for input of size 6$"):
        S.infer_size(6, (2, 5))
    with pytest.raises(ValueError, match="only one dimension can be inferred"):
        S.infer_size(6, (-1, -1))
    with pytest.raises(ValueError, match="ambiguous"):
        S.infer_size(0, (0, -1))
    assert S.infer_size(1, ()) == ()


@st.composite
def view_targets(draw):
    """(base, view, new_shape): a new shape with the view's numel, often aligned with its dims."""
    base, v = draw(views())
    n = v.size
    if n == 0:
        new = draw(st.lists(st.integers(0, 4), min_size=1, max_size=4))
        new[draw(st.integers(0, len(new) - 1))] = 0
        return base, v, tuple(new)
    factors = [p for size in v.shape for p in _primes(size)]  # in dim order: mostly viewable
    if draw(st.booleans()):
        factors = draw(st.permutations(factors))
    cuts = sorted(draw(st.lists(st.integers(0, len(factors)), max_size=3)))
    groups = [factors[a:b] for a, b in zip([0] + cuts, cuts + [len(factors)])]
    new = [math.prod(g) for g in groups]
    for _ in range(draw(st.integers(0, 2))):
        new.insert(draw(st.integers(0, len(new))), 1)
    return base, v, tuple(new)


def _primes(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@seed(6)
@settings(SETTINGS, max_examples=150)
@given(view_targets())
def test_view_strides(bvn):
    base, v, new_shape = bvn
    shape, strides, offset = meta(base, v)
    got = S.view_strides(shape, strides, new_shape)
    if got is not None and v.size:  # a valid view must read the same values in C order
        assert len(got) == len(new_shape)
        flat = base.reshape(-1)
        assert np.array_equal(flat[element_offsets(new_shape, got, offset)], v.reshape(-1))
    if torch is not None:
        t = tview(base, shape, strides, offset)
        try:
            expected = t.view(new_shape).stride()
        except RuntimeError:
            expected = None
        assert got == expected


def test_view_strides_edges():
    assert S.view_strides((), (), (1, 1)) == (1, 1)
    assert S.view_strides((1, 1), (5, 7), ()) == ()
    assert S.view_strides((2, 3), (1, 2), (6,)) is None
    assert S.view_strides((2, 0), (9, 9), (2, 0)) == (9, 9)
    assert S.view_strides((2, 0), (9, 9), (0, 3)) == (3, 1)
    with pytest.raises(ValueError):
        S.view_strides((2, 3), (3, 1), (5,))


@seed(7)
@SETTINGS
@given(views(), st.data())
def test_permute(bv, data):
    shape, strides, _ = meta(*bv)
    perm = data.draw(st.permutations(range(len(shape))))
    dims = [d - len(shape) if data.draw(st.booleans()) else d for d in perm]
    assert S.permute(shape, strides, dims) == meta(bv[0], bv[1].transpose(perm))[:2]


def test_permute_errors():
    with pytest.raises(ValueError):
        S.permute((2, 3), (3, 1), (0,))
    with pytest.raises(ValueError):
        S.permute((2, 3), (3, 1), (1, 1))
    with pytest.raises(ValueError):  # out of range: a DimensionError, also an IndexError like torch
        S.permute((2, 3), (3, 1), (0, 2))
    with pytest.raises(
        IndexError,
        match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)",
    ):
        S.permute((2, 3), (3, 1), (0, 2))
    assert S.permute((), (), ()) == ((), ())


@seed(8)
@SETTINGS
@given(views(min_ndim=1), st.data())
def test_slice(bv, data):
    shape, strides, offset = meta(*bv)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    start, stop = (data.draw(st.none() | st.integers(-7, 7)) for _ in range(2))
    step = data.draw(st.integers(1, 3))
    idx = [slice(None)] * len(shape)
    idx[dim] = slice(start, stop, step)
    expected = meta(bv[0], bv[1][tuple(idx)])
    got = S.slice(shape, strides, offset, dim, start, stop, step)
    assert got[0] == expected[0]
    if math.prod(got[0]):  # numpy leaves the offset and strides of an empty result alone
        assert got[2] == expected[2]
        assert big_strides_equal(got[0], got[1], expected[1])
    if torch is not None:
        t = tview(bv[0], shape, strides, offset)[tuple(idx)]
        assert got == (tuple(t.shape), t.stride(), t.storage_offset())


def test_slice_errors():
    with pytest.raises(ValueError, match="step"):
        S.slice((3,), (1,), 0, 0, 0, 3, 0)
    with pytest.raises(IndexError):
        S.slice((), (), 0, 0, 0, 1, 1)
    with pytest.raises(IndexError):
        S.slice((3,), (1,), 0, 1, 0, 1, 1)
    assert S.slice((10,), (1,), 0, 0, 1, 8, 3) == ((3,), (3,), 1)


@seed(9)
@SETTINGS
@given(views(min_ndim=1), st.data())
def test_select(bv, data):
    shape, strides, offset = meta(*bv)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = shape[dim]
    index = data.draw(st.integers(-size - 2, size + 1))
    if not -size <= index < size:
        with pytest.raises(IndexError, match=f"index {index} is out of bounds for dimension"):
            S.select(shape, strides, offset, dim, index)
        return
    idx = [slice(None)] * len(shape)
    idx[dim] = index
    expected = meta(bv[0], bv[1][(*idx, ...)])  # trailing ... keeps a 0-d result a view
    assert S.select(shape, strides, offset, dim, index) == expected


def test_select_message():
    with pytest.raises(IndexError, match="^index 5 is out of bounds for dimension 0 with size 3$"):
        S.select((3,), (1,), 0, 0, 5)


@seed(10)
@SETTINGS
@given(views(), st.data())
def test_squeeze(bv, data):
    shape, strides, offset = meta(*bv)
    nd = max(len(shape), 1)
    dims = data.draw(st.none() | st.lists(st.integers(-nd, nd - 1), unique_by=lambda d: d % nd))
    got = S.squeeze(shape, strides, None if dims is None else tuple(dims))
    axes = [d % nd for d in (dims if dims is not None else range(len(shape)))]
    axes = tuple(d for d in axes if d < len(shape) and shape[d] == 1)  # torch skips the others
    assert got == meta(bv[0], np.squeeze(bv[1], axis=axes))[:2]
    if torch is not None:
        t = tview(bv[0], shape, strides, offset)
        t = t.squeeze() if dims is None else t.squeeze(tuple(dims))
        assert got == (tuple(t.shape), t.stride())


def test_squeeze_int_dim_and_errors():
    assert S.squeeze((1, 3), (3, 1), 0) == ((3,), (1,))
    assert S.squeeze((2, 3), (3, 1), 0) == ((2, 3), (3, 1))
    with pytest.raises(ValueError):
        S.squeeze((1, 1), (1, 1), (0, -2))
    with pytest.raises(IndexError):
        S.squeeze((1, 1), (1, 1), (2,))


@seed(11)
@SETTINGS
@given(views(), st.data())
def test_unsqueeze(bv, data):
    shape, strides, offset = meta(*bv)
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    got = S.unsqueeze(shape, strides, dim)
    expected = np.expand_dims(bv[1], dim)
    assert got[0] == expected.shape
    assert big_strides_equal(got[0], got[1], meta(bv[0], expected)[1])
    if torch is not None:
        assert got[1] == tview(bv[0], shape, strides, offset).unsqueeze(dim).stride()
    with pytest.raises(IndexError):
        S.unsqueeze(shape, strides, len(shape) + 1)


@st.composite
def launches(draw):
    """(shape, [strides, ...]): an output view's shape and 1-3 operands' strides for it."""
    base, out = draw(views())
    shape, first, _ = meta(base, out)
    contiguous = np.empty(shape, np.int64)
    kinds = st.sampled_from(["view", "contiguous", "broadcast", "transposed", "random"])
    operands = [first]
    for kind in draw(st.lists(kinds, max_size=2)):
        if kind == "view":
            operands.append(first)
        elif kind == "contiguous":
            operands.append(meta(contiguous, contiguous)[1])
        elif kind == "broadcast":  # some dims stride 0, like an expanded operand
            zero = draw(st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)))
            c = meta(contiguous, contiguous)[1]
            operands.append(tuple(0 if z else s for z, s in zip(zero, c)))
        elif kind == "transposed":  # an F-ordered operand
            f = np.empty(shape, np.int64, order="F")
            operands.append(meta(f, f)[1])
        else:
            operands.append(tuple(draw(st.integers(-5, 20)) for _ in shape))
    return shape, operands


@seed(12)
@SETTINGS
@given(launches())
def test_collapse(launch):
    shape, operands = launch
    new_shape, new_strides = S.collapse(shape, operands)
    assert len(new_shape) >= 1 and len(new_strides) == len(operands)
    assert all(len(s) == len(new_shape) for s in new_strides)
    if math.prod(shape) == 0:
        assert (new_shape, new_strides) == ((0,), [(1,)] * len(operands))
        return
    assert math.prod(new_shape) == math.prod(shape) and len(new_shape) <= max(len(shape), 1)
    for old, new in zip(operands, new_strides):  # every operand visits the same elements in order
        assert np.array_equal(element_offsets(shape, old), element_offsets(new_shape, new))
    if new_shape != (1,):
        assert 1 not in new_shape
    for i in range(len(new_shape) - 1):  # nothing is left to merge
        assert not all(s[i] == s[i + 1] * new_shape[i + 1] for s in new_strides)


def test_collapse_examples():
    assert S.collapse((2, 3, 4), [(12, 4, 1), (0, 0, 1)]) == ((6, 4), [(4, 1), (0, 1)])
    assert S.collapse((), [(), ()]) == ((1,), [(0,), (0,)])
    assert S.collapse((1, 1), [(5, 7)]) == ((1,), [(0,)])
    assert S.collapse((2, 0), [(1, 2)]) == ((0,), [(1,)])
    assert S.collapse((3, 1, 4), [(4, 99, 1)]) == ((12,), [(1,)])
    with pytest.raises(ValueError):
        S.collapse((2, 3), [(3, 1), (1,)])


def test_bad_input_types():
    with pytest.raises(TypeError):
        S.numel(3)
    with pytest.raises(TypeError):
        S.numel((2.5,))
    with pytest.raises(ValueError):
        S.numel((2, -1))
    with pytest.raises(ValueError):
        S.is_contiguous((2, 3), (1,))
    with pytest.raises(ValueError):
        S.contiguous_strides((1,) * 65)
    assert S.numel(np.array([2, 3])) == 6  # numpy ints work through __index__
    assert issubclass(S.DimensionError, IndexError) and issubclass(S.DimensionError, ValueError)
