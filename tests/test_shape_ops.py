"""Shape ops (cat/stack family, repeat/tile/repeat_interleave, flip/roll/rot90, pad,
triangles and diagonals, unique, searchsorted, broadcasting helpers) against torch (values
and gradients) on contiguous, permuted, sliced and expanded inputs; errors; gradcheck."""

import numpy as np
import pytest

import engine
from engine.autograd import gradcheck

torch = pytest.importorskip("torch")

from test_index_ops import LAYOUTS, F, close, run_both

A34 = np.arange(12.0).reshape(3, 4) * 0.5 - 2
A234 = np.random.default_rng(2).standard_normal((2, 3, 4))
A3 = np.array([0.5, -1.0, 2.0])

OPS = [
    ("cat0", lambda L, x: L.cat([x, x * 2, x[:1]], 0), A34),
    ("cat1", lambda L, x: L.cat((x[:, :1], x), dim=-1), A34),
    ("cat_legacy_empty", lambda L, x: L.cat([x, L.zeros(0, dtype=L.float64), x]), A34),
    ("cat_promote", lambda L, x: L.cat([x, L.ones(1, 4, dtype=L.int32)]), A34),
    ("concat", lambda L, x: L.concat([x, x], 1), A34),
    ("stack0", lambda L, x: L.stack([x, x * 3]), A34),
    ("stack_last", lambda L, x: L.stack([x, x + 1], dim=-1), A34),
    ("hstack", lambda L, x: L.hstack([x, x]), A34),
    ("hstack1d", lambda L, x: L.hstack([x[0], x[1]]), A34),
    ("vstack", lambda L, x: L.vstack([x, x[0]]), A34),
    ("dstack", lambda L, x: L.dstack([x, x]), A34),
    ("column_stack", lambda L, x: L.column_stack([x[0], x.t()]), A34),
    ("repeat", lambda L, x: x.repeat(2, 1, 3), A34),
    ("repeat_same", lambda L, x: x.repeat(1, 1), A34),
    ("tile", lambda L, x: L.tile(x, (2,)), A34),
    ("repeat_interleave", lambda L, x: x.repeat_interleave(2), A34),
    ("repeat_interleave_dim", lambda L, x: L.repeat_interleave(x, L.tensor([1, 0, 3]), 0),
     A34),
    ("repeat_interleave_dim1", lambda L, x: x.repeat_interleave(3, dim=1), A34),
    ("flip", lambda L, x: x.flip(0), A34),
    ("flip_both", lambda L, x: L.flip(x, (0, -1)), A234),
    ("fliplr", lambda L, x: L.fliplr(x), A34),
    ("flipud", lambda L, x: x.flipud(), A34),
    ("roll", lambda L, x: x.roll(1, 1), A34),
    ("roll_multi", lambda L, x: L.roll(x, (-1, 5), (0, 1)), A34),
    ("roll_flat", lambda L, x: x.roll(5), A34),
    ("rot90", lambda L, x: L.rot90(x), A34),
    ("rot90_k2", lambda L, x: x.rot90(2, [0, 1]), A34),
    ("rot90_k3", lambda L, x: L.rot90(x, -1, (1, 2)), A234),
    ("tril", lambda L, x: x.tril(), A34),
    ("tril_k", lambda L, x: L.tril(x, -1), A34),
    ("triu_k", lambda L, x: L.triu(x, 1), A234),
    ("diagonal", lambda L, x: x.diagonal(), A34),
    ("diagonal_off", lambda L, x: L.diagonal(x, 1, 0, 1), A34),
    ("diagonal_neg", lambda L, x: L.diagonal(x, -1, 2, 1), A234),
    ("diag2d", lambda L, x: L.diag(x, 1), A34),
    ("diag1d", lambda L, x: L.diag(x[0], -1), A34),
    ("diag_embed", lambda L, x: L.diag_embed(x), A34),
    ("diag_embed_off", lambda L, x: L.diag_embed(x, 1, 0, 2), A34),
    ("diagflat", lambda L, x: L.diagflat(x[:2, :2]), A34),
    ("trace", lambda L, x: L.trace(x), A34),
    ("pad_const", lambda L, x: F(L).pad(x, (1, 2)), A34),
    ("pad_const_2d", lambda L, x: F(L).pad(x, (1, 0, 0, 2), value=3.5), A34),
    ("pad_negative", lambda L, x: F(L).pad(x, (-1, 2, 1, -1)), A34),
    ("broadcast_to", lambda L, x: L.broadcast_to(x[:1], (2, 3, 4)), A34),
    ("broadcast_tensors", lambda L, x: L.broadcast_tensors(x, x[:, :1])[1] * 2, A34),
    ("atleast_3d", lambda L, x: L.atleast_3d(x), A34),
    ("meshgrid", lambda L, x: L.meshgrid(x[0], x[1, :2], indexing="ij")[1] * 1, A34),
    ("meshgrid_xy", lambda L, x: L.meshgrid(x[0], x[1, :2], indexing="xy")[0] * 1, A34),
]


@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("name,fn,a", OPS, ids=[o[0] for o in OPS])
def test_shape_ops_vs_torch(name, fn, a, kind):
    a = a if kind != "expand" else a + np.arange(a.shape[-1]) * 0.25
    run_both(fn, a, kind)


PADS = [("reflect", (1, 2)), ("replicate", (2, 1)), ("circular", (1, 3)),
        ("reflect", (1, 1, 2, 0)), ("replicate", (0, 2, 1, 1))]


@pytest.mark.parametrize("kind", ["contig", "perm"])
@pytest.mark.parametrize("mode,p", PADS)
def test_pad_modes_vs_torch(mode, p, kind):
    a = np.random.default_rng(4).standard_normal((1, 2, 3, 4)[4 - len(p) // 2 - 2:])
    run_both(lambda L, x: F(L).pad(x, p, mode=mode), a, kind)


def test_0d_and_empty():
    for L in (engine, torch):
        s = L.tensor(2.0)
        e = L.zeros(0, 3)
        r = (L.stack([s, s]), L.cat([e, e]), L.cat([e, L.ones(1, 3)]), e.flip(0), e.roll(1, 0),
             e.repeat(2, 1), s.repeat(3), s.flip(()), L.atleast_1d(s), L.atleast_2d(s),
             L.tril(L.zeros(0, 0)), L.hstack([s, s]), s.repeat_interleave(2),
             L.unique(L.tensor([], dtype=L.int64)))
        if L is engine:
            er = r
        else:
            close(er, r)


def test_int_bool_dtypes():
    for L in (engine, torch):
        i = L.tensor([[1, 2, 3], [4, 5, 6]], dtype=L.int32)
        b = L.tensor([[True, False, True], [False, False, True]])
        r = (L.cat([i, i]), i.flip(1), i.roll(1), b.tril(), i.triu(1), b.repeat(1, 2),
             L.stack([b, b], 1), i.diagonal(), L.trace(i), i.diag(), L.cat([b, i]),
             F(L).pad(i, (1, 1), value=7))
        if L is engine:
            er = r
        else:
            close(er, r)


def test_unique_family():
    a = np.array([[3, 1, 3], [2, 1, 1], [3, 1, 3]])
    f = np.array([2.0, np.nan, 1.0, 2.0, np.nan])
    for L in (engine, torch):
        x = L.tensor(a)
        r = (L.unique(x), L.unique(x, return_inverse=True, return_counts=True),
             x.unique(return_counts=True), L.unique(x, dim=0, return_inverse=True,
                                                     return_counts=True),
             L.unique(x, dim=1), L.unique_consecutive(L.tensor([1, 1, 2, 2, 2, 1]),
                                                      return_inverse=True,
                                                      return_counts=True),
             L.unique_consecutive(x, dim=0), L.unique(L.tensor(f)),
             L.unique(L.tensor([True, False, True])))
        if L is engine:
            er = r
        else:
            close(er, r)


def test_searchsorted_bucketize():
    s = np.array([1.0, 3.0, 5.0, 7.0])
    s2 = np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]])
    for L in (engine, torch):
        v = L.tensor([[3.0, 6.0, 9.0], [0.0, 4.0, 1.0]])
        r = (L.searchsorted(L.tensor(s), v), L.searchsorted(L.tensor(s), v, right=True),
             L.searchsorted(L.tensor(s2), v, side="right"),
             L.searchsorted(L.tensor(s), 5.0), L.bucketize(v, L.tensor(s)),
             L.bucketize(v, L.tensor(s), right=True, out_int32=True),
             L.searchsorted(L.tensor([3, 1, 2]), L.tensor([2]), sorter=L.tensor([1, 2, 0])),
             L.searchsorted(L.tensor([1, 2, 3]), L.tensor([2.5])))
        if L is engine:
            er = r
        else:
            close(er, r)


def test_tri_indices_and_broadcast_shapes():
    for L in (engine, torch):
        r = (L.tril_indices(3, 4, 1), L.triu_indices(4, 3, -1))
        if L is engine:
            er = r
            assert tuple(L.broadcast_shapes((2, 1), (3,), 1)) == (2, 3)
        else:
            close(er, r)


ERRORS = [
    (lambda L, x: L.cat([x, L.ones(2, 3, dtype=L.float64)]), RuntimeError,
     ("Sizes of tensors must match except in dimension 0. Expected size 4 but got size 3 "
      "for tensor number 1 in the list.")),
    (lambda L, x: L.cat([x, L.ones(4, dtype=L.float64)]), RuntimeError,
     "Tensors must have same number of dimensions: got 2 and 1"),
    (lambda L, x: L.cat([x, x], 2), IndexError, "Dimension out of range"),
    (lambda L, x: L.cat([L.tensor(1.0)]), RuntimeError, "zero-dimensional tensor (at position 0)"),
    (lambda L, x: L.cat([]), ValueError, "expected a non-empty list of Tensors"),
    (lambda L, x: L.cat(x), TypeError, "must be tuple of Tensors"),
    (lambda L, x: L.stack([x, x[:2]]), RuntimeError,
     ("stack expects each tensor to be equal size, but got [3, 4] at entry 0 and [2, 4] at "
      "entry 1")),
    (lambda L, x: L.stack([]), RuntimeError, "stack expects a non-empty TensorList"),
    (lambda L, x: x.repeat(2), RuntimeError, "Number of dimensions of repeat dims"),
    (lambda L, x: x.flip(0, 0), RuntimeError, "dim 0 appears multiple times"),
    (lambda L, x: L.tril(L.ones(3)), RuntimeError, "tril: input tensor must have at least 2"),
    (lambda L, x: L.diagonal(x, 0, 1, 1), RuntimeError, "diagonal dimensions cannot be identical"),
    (lambda L, x: L.diag(L.ones(2, 2, 2)), RuntimeError, "diag(): Supports 1D or 2D tensors"),
    (lambda L, x: L.trace(L.ones(2)), RuntimeError, "trace: expected a matrix"),
    (lambda L, x: x.roll((1, 2), 0), RuntimeError, "shifts and dimensions must align"),
    (lambda L, x: x.repeat_interleave(L.tensor([1, 2]), 0), RuntimeError, "repeats must have"),
    (lambda L, x: F(L).pad(x, (4, 0), mode="reflect"), RuntimeError,
     "Padding size should be less than the corresponding input dimension"),
    (lambda L, x: L.searchsorted(L.ones(2, 3), L.ones(3, 1)), RuntimeError,
     "boundaries tensor should be 1 dimension or the first N-1 dimensions"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    fn, exc, msg = ERRORS[i]
    for L in (torch, engine):
        x = L.tensor(A34)
        with pytest.raises(exc) as info:
            fn(L, x)
        if L is engine:
            assert msg in str(info.value), str(info.value)


GRADCHECK = [
    lambda x: engine.cat([x, x[:, :2] * 2], 1),
    lambda x: engine.stack([x, x * x], 1),
    lambda x: x.repeat(2, 1, 2),
    lambda x: x.repeat_interleave(engine.tensor([2, 0, 1]), 0),
    lambda x: x.flip(0, 1),
    lambda x: x.roll(2, 1) * x,
    lambda x: x.tril(1) + x.triu(),
    lambda x: x.diagonal(1) * 3,
    lambda x: engine.diag_embed(x[0]),
    lambda x: engine.trace(x) * x,
    lambda x: engine.ops.shape.pad(x, (1, -1, 2, 0), value=1.0),
    lambda x: engine.ops.shape.pad(x[None, None], (2, 1, 1, 1), mode="reflect"),
    lambda x: engine.ops.shape.pad(x[None], (2, 1), mode="circular") ** 2,
    lambda x: engine.rot90(x, 3),
]


@pytest.mark.parametrize("i", range(len(GRADCHECK)))
def test_gradcheck(i):
    x = engine.tensor(A34 + 0.1, requires_grad=True)
    assert gradcheck(GRADCHECK[i], (x,))


def test_double_backward_remap():
    x = engine.tensor(A34, requires_grad=True)
    (g,) = engine.autograd.grad((x.repeat(2, 1) ** 2).sum(), x, create_graph=True)
    g.flip(1).roll(1, 0).sum().backward()
    xt = torch.tensor(A34, requires_grad=True)
    (gt,) = torch.autograd.grad((xt.repeat(2, 1) ** 2).sum(), xt, create_graph=True)
    gt.flip(1).roll(1, 0).sum().backward()
    close(x.grad, xt.grad)


def test_cat_grad_dtype_and_views_share_memory():
    a = engine.ones(2, dtype=engine.float32, requires_grad=True)
    b = engine.ones(2, dtype=engine.float64, requires_grad=True)
    engine.cat([a, b]).sum().backward()
    assert a.grad.dtype == engine.float32 and b.grad.dtype == engine.float64
    x = engine.zeros(3, 3)
    x.diagonal().fill_(1.0)
    np.testing.assert_array_equal(x.numpy(), np.eye(3))
    y = engine.zeros(2)
    engine.broadcast_to(y, (3, 2))  # a view, no copy
    assert engine.broadcast_to(y, (3, 2)).stride() == (0, 1)
