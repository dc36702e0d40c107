"""Recurrent layers, cells, nn.utils.rnn (packed sequences) and EmbeddingBag against torch:
identical weights and inputs in both, then outputs, h_n/c_n and the gradients of every input
and parameter compared; float64 finite differences on tiny LSTM/GRU; bad input raises torch's
exception type and message."""

import warnings

import numpy as np
import pytest

import engine
import engine.nn.functional as F
from engine import nn
from engine.autograd import gradcheck
from engine.nn.utils import rnn as ernn

torch = pytest.importorskip("torch")
trnn = torch.nn.utils.rnn

TOL32 = {"rtol": 1e-5, "atol": 2e-6}
TOL64 = {"rtol": 1e-10, "atol": 1e-12}


def _rng(seed):
    return np.random.default_rng(seed)


def _copy(tm, em):
    with engine.no_grad():
        for name, p in tm.named_parameters():
            getattr(em, name).copy_(engine.tensor(p.detach().numpy()))


def _flat(out):
    """(output, h) or (output, (h, c)) -> [output, h, (c)], output unpacked if packed."""
    o, h = out
    if isinstance(o, (ernn.PackedSequence, trnn.PackedSequence)):
        o = o.data
    return [o] + (list(h) if isinstance(h, tuple) else [h])


def _np(t):
    return t.detach().numpy()


def _assert_close(e, t, tol):
    assert tuple(e.shape) == tuple(t.shape), (tuple(e.shape), tuple(t.shape))
    np.testing.assert_allclose(_np(e), _np(t), **tol)


def _same_run(tm, em, inputs, call, tol=TOL32, seed=0):
    """``call(module, *leaf_tensors)`` on both sides; outputs agree, and so do the grads of
    every input and parameter for a random weighting of all outputs."""
    _copy(tm, em)
    tin = [torch.tensor(a, requires_grad=True) for a in inputs]
    ein = [engine.tensor(a, requires_grad=True) for a in inputs]
    touts, eouts = call(tm, *tin), call(em, *ein)
    assert len(touts) == len(eouts)
    rng = _rng(seed)
    tloss, eloss = 0, 0
    for t, e in zip(touts, eouts):
        _assert_close(e, t, tol)
        g = rng.standard_normal(tuple(t.shape)).astype(str(t.dtype).split(".")[-1])
        tloss = tloss + (t * torch.tensor(g)).sum()
        eloss = eloss + (e * engine.tensor(g)).sum()
    tloss.backward()
    eloss.backward()
    for t, e in zip(tin, ein):
        _assert_close(e.grad, t.grad, tol)
    tp = dict(tm.named_parameters())
    names = [n for n, _ in em.named_parameters()]
    assert names == list(tp), (names, list(tp))
    for n, p in em.named_parameters():
        _assert_close(p.grad, tp[n].grad, tol)


def _pair(kind, *args, **kw):
    return getattr(torch.nn, kind)(*args, **kw), getattr(nn, kind)(*args, **kw)


# ---- RNN / LSTM / GRU: every layout -------------------------------------------------------
KINDS = [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {}), ("GRU", {})]


@pytest.mark.parametrize("kind,extra", KINDS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["tmajor", "bfirst"])
@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
def test_layers_match_torch(kind, extra, num_layers, bidirectional, batch_first, batched):
    I, H, T, B = 3, 4, 5, 2
    tm, em = _pair(kind, I, H, num_layers, batch_first=batch_first,
                   bidirectional=bidirectional, **extra)
    rng = _rng(num_layers + 2 * bidirectional + 4 * batch_first)
    if batched:
        x = rng.standard_normal((B, T, I) if batch_first else (T, B, I)).astype(np.float32)
    else:
        x = rng.standard_normal((T, I)).astype(np.float32)
    nd = num_layers * (2 if bidirectional else 1)
    hshape = (nd, B, H) if batched else (nd, H)
    h0 = rng.standard_normal(hshape).astype(np.float32)
    if kind == "LSTM":
        c0 = rng.standard_normal(hshape).astype(np.float32)
        _same_run(tm, em, [x, h0, c0], lambda m, x, h, c: _flat(m(x, (h, c))))
        _same_run(tm, em, [x], lambda m, x: _flat(m(x)))  # zero initial state
    else:
        _same_run(tm, em, [x, h0], lambda m, x, h: _flat(m(x, h)))
        _same_run(tm, em, [x], lambda m, x: _flat(m(x)))


def test_lstm_proj_size_and_no_bias():
    I, H, P, T, B = 3, 5, 2, 4, 3
    rng = _rng(1)
    for kw in ({"num_layers": 2, "bidirectional": True}, {"bias": False, "batch_first": True}):
        tm, em = _pair("LSTM", I, H, proj_size=P, **kw)
        nd = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        x = rng.standard_normal((B, T, I) if kw.get("batch_first") else (T, B, I))
        x = x.astype(np.float32)
        h0 = rng.standard_normal((nd, B, P)).astype(np.float32)
        c0 = rng.standard_normal((nd, B, H)).astype(np.float32)
        _same_run(tm, em, [x, h0, c0], lambda m, x, h, c: _flat(m(x, (h, c))))
        out, (h, c) = em(engine.tensor(x))
        assert out.shape[-1] == P * (2 if kw.get("bidirectional") else 1)
        assert h.shape == (nd, B, P) and c.shape == (nd, B, H)


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
def test_no_bias_float64(kind):
    tm = getattr(torch.nn, kind)(3, 4, 2, bias=False, dtype=torch.float64)
    em = getattr(nn, kind)(3, 4, 2, bias=False, dtype=engine.float64)
    x = _rng(3).standard_normal((4, 2, 3))
    _same_run(tm, em, [x], lambda m, x: _flat(m(x)), tol=TOL64)


def test_dropout_between_layers():
    tm, em = _pair("LSTM", 3, 4, 3, dropout=0.5)
    x = _rng(4).standard_normal((5, 2, 3)).astype(np.float32)
    tm.eval()
    em.eval()  # eval: no dropout, same as torch
    _same_run(tm, em, [x], lambda m, x: _flat(m(x)))
    em.train()
    engine.manual_seed(0)
    a = em(engine.tensor(x))[0]
    b = em(engine.tensor(x))[0]
    assert not np.allclose(_np(a), _np(b))  # train mode drops between layers
    tz, ez = _pair("GRU", 3, 4, 2, dropout=0.0)
    _same_run(tz, ez, [x], lambda m, x: _flat(m(x)))  # dropout=0 in train mode is a no-op


# ---- packed sequences --------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_unsorted_lengths(kind, batch_first):
    I, H, T, B = 3, 4, 5, 4
    lengths = [2, 5, 1, 3]
    tm, em = _pair(kind, I, H, 2, bidirectional=True, batch_first=batch_first)
    rng = _rng(5)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I)).astype(np.float32)
    h0 = rng.standard_normal((4, B, H)).astype(np.float32)

    def call(m, x, h):
        mod = trnn if isinstance(x, torch.Tensor) else ernn
        p = mod.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
        if kind == "LSTM":
            out, hid = m(p, (h, h * 0.5))
        else:
            out, hid = m(p, h)
        padded, lens = mod.pad_packed_sequence(out, batch_first=batch_first)
        assert list(lens.tolist()) == lengths
        return [padded, out.data] + (list(hid) if isinstance(hid, tuple) else [hid])

    _same_run(tm, em, [x, h0], call)

    # h_n is each sequence's state at its own last step: same as running it alone
    seq = 0
    xs = x[seq] if batch_first else x[:, seq]
    alone = em(engine.tensor(xs[:lengths[seq]]).unsqueeze(0 if batch_first else 1))
    packed = em(ernn.pack_padded_sequence(engine.tensor(x), lengths, batch_first=batch_first,
                                          enforce_sorted=False))
    ha = alone[1][0] if kind == "LSTM" else alone[1]
    hp = packed[1][0] if kind == "LSTM" else packed[1]
    np.testing.assert_allclose(_np(hp)[:, seq], _np(ha)[:, 0], **TOL32)


def test_packed_sorted_returns_packed_sequence():
    tm, em = _pair("GRU", 2, 3)
    seqs = [_rng(i).standard_normal((n, 2)).astype(np.float32) for i, n in enumerate((4, 3, 1))]
    te = em(ernn.pack_sequence([engine.tensor(s) for s in seqs]))
    assert isinstance(te[0], ernn.PackedSequence)
    assert te[0].sorted_indices is None and te[0].unsorted_indices is None
    _same_run(tm, em, seqs, lambda m, *s: _flat(
        m((trnn if isinstance(s[0], torch.Tensor) else ernn).pack_sequence(list(s)))))


# ---- cells -------------------------------------------------------------------------------
CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}),
         ("GRUCell", {}), ("GRUCell", {"bias": False})]


@pytest.mark.parametrize("kind,kw", CELLS, ids=["rnn", "rnn_relu", "lstm", "gru", "gru_nobias"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_torch(kind, kw, batched):
    tm, em = _pair(kind, 3, 4, **kw)
    rng = _rng(6)
    x = rng.standard_normal((2, 3) if batched else (3,)).astype(np.float32)
    h = rng.standard_normal((2, 4) if batched else (4,)).astype(np.float32)

    def call(m, x, h=None):
        # two steps so the state is fed back
        if kind == "LSTMCell":
            s = m(x, None if h is None else (h, h * 0.3))
            s = m(x * 0.5, s)
            return list(s)
        s = m(x, h)
        return [m(x * 0.5, s)]

    _same_run(tm, em, [x, h], call)
    _same_run(tm, em, [x], call)


# ---- gradcheck -----------------------------------------------------------------------------
def test_gradcheck_lstm_float64():
    engine.manual_seed(1)
    m = nn.LSTM(2, 3, bidirectional=True, proj_size=2, dtype=engine.float64)
    rng = _rng(7)
    x = engine.tensor(rng.standard_normal((3, 1, 2)), requires_grad=True)
    h0 = engine.tensor(rng.standard_normal((2, 1, 2)), requires_grad=True)
    c0 = engine.tensor(rng.standard_normal((2, 1, 3)), requires_grad=True)
    params = list(m.parameters())

    def f(x, h0, c0, *ps):
        out, (h, c) = m(x, (h0, c0))
        return out, h, c

    assert gradcheck(f, (x, h0, c0, *params), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_gradcheck_gru_packed_float64():
    engine.manual_seed(2)
    m = nn.GRU(2, 2, num_layers=2, dtype=engine.float64)
    rng = _rng(8)
    x = engine.tensor(rng.standard_normal((3, 3, 2)), requires_grad=True)
    h0 = engine.tensor(rng.standard_normal((2, 3, 2)), requires_grad=True)

    def f(x, h0, *ps):
        p = ernn.pack_padded_sequence(x, [2, 3, 1], enforce_sorted=False)
        out, h = m(p, h0)
        return out.data, h

    assert gradcheck(f, (x, h0, *m.parameters()), eps=1e-6, atol=1e-7, rtol=1e-5)


# ---- module surface ----------------------------------------------------------------------
@pytest.mark.parametrize("args,kw", [
    ((10, 20), {}), ((10, 20, 2), {"batch_first": True}),
    ((10, 20), {"num_layers": 3, "dropout": 0.25, "bidirectional": True, "bias": False}),
    ((10, 20), {"proj_size": 5, "num_layers": 2}),
])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_repr_names_shapes_init(kind, args, kw):
    if "proj_size" in kw and kind != "LSTM":
        with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
            getattr(nn, kind)(*args, **kw)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm, em = _pair(kind, *args, **kw)
    assert repr(em) == repr(tm)
    tshapes = [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert [(n, tuple(p.shape)) for n, p in em.named_parameters()] == tshapes
    assert list(em.state_dict()) == list(tm.state_dict())
    assert em._flat_weights_names == tm._flat_weights_names
    assert [[tuple(w.shape) for w in ws] for ws in em.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in tm.all_weights]
    em.flatten_parameters()
    bound = 1 / np.sqrt(args[1])
    allw = np.concatenate([_np(p).ravel() for p in em.parameters()])
    assert np.abs(allw).max() <= bound and allw.std() > bound / 4  # U(-1/sqrt(H), 1/sqrt(H))


def test_cell_reprs_and_params():
    for kind, kw in CELLS + [("LSTMCell", {"bias": False})]:
        tm, em = _pair(kind, 3, 4, **kw)
        assert repr(em) == repr(tm)
        assert [(n, tuple(p.shape)) for n, p in em.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert repr(nn.RNN(10, 20, 2, "relu")) == repr(torch.nn.RNN(10, 20, 2, "relu"))
    assert nn.RNN(10, 20, 2, "relu").nonlinearity == "relu"


def test_to_double_and_state_dict_roundtrip():
    em = nn.LSTM(3, 4)
    em2 = nn.LSTM(3, 4)
    em2.load_state_dict(em.state_dict())
    x = engine.randn(2, 1, 3)
    np.testing.assert_allclose(_np(em(x)[0]), _np(em2(x)[0]))
    em.double()
    out, (h, c) = em(x.double())
    assert out.dtype == h.dtype == c.dtype == engine.float64


# ---- errors: torch's type and message ----------------------------------------------------
def _same_error(make_t, make_e, prefix=None):
    """Same exception type and message (or its first ``prefix`` characters) as torch."""
    with pytest.raises(Exception) as te:
        make_t()
    with pytest.raises(Exception) as ee:
        make_e()
    assert type(ee.value) is type(te.value), (ee.value, te.value)
    assert str(ee.value)[:prefix] == str(te.value)[:prefix]


def _lib(m):
    return torch if isinstance(m, torch.nn.Module) else engine


ERRORS = [
    ("LSTM", (10, 20), lambda L, m: m(L.randn(5, 3, 7))),
    ("LSTM", (10, 20), lambda L, m: m(L.randn(5, 3, 10), (L.randn(1, 2, 20), L.randn(1, 3, 20)))),
    ("LSTM", (10, 20), lambda L, m: m(L.randn(5, 3, 10), (L.randn(1, 3, 20), L.randn(1, 3, 9)))),
    ("LSTM", (10, 20), lambda L, m: m(L.randn(5, 3, 10), (L.randn(3, 20), L.randn(1, 3, 20)))),
    ("LSTM", (10, 20), lambda L, m: m(L.randn(5, 10), (L.randn(1, 3, 20), L.randn(1, 3, 20)))),
    ("LSTM", (10, 20), lambda L, m: m(L.randn(5, 1, 3, 10))),
    ("GRU", (10, 20), lambda L, m: m(L.randn(5, 3, 10).double())),
    ("GRU", (10, 20), lambda L, m: m(L.randn(5, 3, 10, 1))),
    ("GRU", (10, 20, 2), lambda L, m: m(L.randn(5, 3, 10), L.randn(1, 3, 20))),
    ("RNN", (10, 20), lambda L, m: m(L.randn(5, 3, 10), L.randn(3, 20))),
    ("RNN", (10, 20), lambda L, m: m(L.randn(5, 10), L.randn(1, 3, 20))),
    ("RNN", (10, 20), lambda L, m: m(L.randn(5, 3, 10), L.randn(1, 2, 20))),
    ("RNNCell", (10, 20), lambda L, m: m(L.randn(3, 7))),
    ("RNNCell", (10, 20), lambda L, m: m(L.randn(3, 10), L.randn(2, 20))),
    ("RNNCell", (10, 20), lambda L, m: m(L.randn(3, 10), L.randn(3, 21))),
    ("RNNCell", (10, 20), lambda L, m: m(L.randn(3, 1, 10))),
    ("LSTMCell", (10, 20), lambda L, m: m(L.randn(3, 10), (L.randn(3, 20), L.randn(3, 21)))),
    ("LSTMCell", (10, 20), lambda L, m: m(L.randn(3, 10), (L.randn(3, 20), L.randn(1, 3, 2)))),
    ("GRUCell", (10, 20), lambda L, m: m(L.randn(3, 10), L.randn(3, 21))),
    ("GRUCell", (10, 20), lambda L, m: m(L.randn(3, 10), L.randn(1, 3, 21))),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_bad_input_errors_as_torch(case):
    kind, args, bad = ERRORS[case]
    tm, em = _pair(kind, *args)
    _same_error(lambda: bad(torch, tm), lambda: bad(engine, em))


@pytest.mark.parametrize("kind,args,kw", [
    ("RNN", (10, 20), {"nonlinearity": "foo"}), ("GRU", (10, 20), {"proj_size": 3}),
    ("LSTM", (10, 20), {"proj_size": 20}), ("LSTM", (10, 20), {"proj_size": -1}),
    ("LSTM", (10, 20), {"dropout": 1.5}), ("LSTM", (10, 20), {"dropout": True}),
    ("LSTM", (10, 0), {}), ("LSTM", (0, 3), {}), ("LSTM", (10, 2.0), {}),
    ("LSTM", (10, 20), {"num_layers": 0}), ("GRU", (10, 20), {"bias": 1}),
    ("GRU", (10, 20), {"batch_first": None}),
])
def test_bad_constructor_args_as_torch(kind, args, kw):
    _same_error(lambda: getattr(torch.nn, kind)(*args, **kw),
                lambda: getattr(nn, kind)(*args, **kw))


@pytest.mark.parametrize("make,call", [
    (lambda L: L.nn.GRU(3, 4), lambda L, m: m(L.randn(5, 2, 3), L.randn(1, 2, 4).double())),
    (lambda L: L.nn.LSTM(3, 4), lambda L, m: m(L.randn(5, 2, 3),
                                               (L.randn(1, 2, 4), L.randn(1, 2, 4).double()))),
    (lambda L: L.nn.GRUCell(3, 4), lambda L, m: m(L.randn(2, 3), L.randn(2, 4).double())),
])
def test_hidden_dtype_mismatch_raises_runtime_error(make, call):
    with pytest.raises(RuntimeError):
        call(torch, make(torch))
    with pytest.raises(RuntimeError, match="convert it with"):
        call(engine, make(engine))


def test_dropout_single_layer_warns_and_unknown_cell_nonlinearity():
    with pytest.warns(UserWarning, match="dropout option adds dropout after all but last"):
        nn.GRU(3, 4, dropout=0.2)
    tm, em = _pair("RNNCell", 3, 4, nonlinearity="foo")
    _same_error(lambda: tm(torch.randn(2, 3)), lambda: em(engine.randn(2, 3)))


# ---- nn.utils.rnn --------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [5, 3, 3, 1]), (False, [2, 5, 1, 4])])
def test_pack_pad_roundtrip_and_grads(batch_first, enforce_sorted, lengths):
    x = _rng(9).standard_normal((4, 6, 2) if batch_first else (6, 4, 2))

    def call(x):
        mod = trnn if isinstance(x, torch.Tensor) else ernn
        lens = torch.tensor(lengths) if mod is trnn else engine.tensor(lengths)
        p = mod.pack_padded_sequence(x, lens, batch_first, enforce_sorted)
        padded, out_lens = mod.pad_packed_sequence(p, batch_first, padding_value=-2.0,
                                                   total_length=7)
        bs = p.batch_sizes
        assert bs.dtype == (torch.int64 if mod is trnn else engine.int64)
        extras = [bs.double()] + ([] if p.sorted_indices is None else
                                  [p.sorted_indices.double(), p.unsorted_indices.double()])
        return [p.data, padded, out_lens.double()] + extras

    tx, ex = torch.tensor(x, requires_grad=True), engine.tensor(x, requires_grad=True)
    touts, eouts = call(tx), call(ex)
    for t, e in zip(touts, eouts):
        _assert_close(e, t, TOL64)
    (touts[0] * torch.arange(touts[0].numel()).reshape(touts[0].shape)).sum().backward()
    (eouts[0] * engine.arange(eouts[0].numel()).reshape(eouts[0].shape)).sum().backward()
    _assert_close(ex.grad, tx.grad, TOL64)
    assert isinstance(ernn.pack_padded_sequence(ex, lengths, batch_first, enforce_sorted),
                      tuple)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_unpad_pack_unpack(batch_first, side):
    seqs = [_rng(i).standard_normal((n, 2, 3)) for i, n in enumerate((2, 5, 1))]
    t = trnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, 1.5, side)
    es = [engine.tensor(s, requires_grad=True) for s in seqs]
    e = ernn.pad_sequence(es, batch_first, 1.5, side)
    _assert_close(e, t, TOL64)
    (e * e).sum().backward()
    for s, leaf in zip(seqs, es):
        np.testing.assert_allclose(_np(leaf.grad), 2 * s)
    if side == "right":
        lens = engine.tensor([2, 5, 1])
        back = ernn.unpad_sequence(e, lens, batch_first)
        for s, b in zip(seqs, back):
            np.testing.assert_array_equal(_np(b), s)
    p = ernn.pack_sequence([engine.tensor(s) for s in seqs], enforce_sorted=False)
    tp = trnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    _assert_close(p.data, tp.data, TOL64)
    assert p.batch_sizes.tolist() == tp.batch_sizes.tolist()
    assert p.sorted_indices.tolist() == tp.sorted_indices.tolist()
    for s, b in zip(seqs, ernn.unpack_sequence(p)):
        np.testing.assert_array_equal(_np(b), s)


def test_packed_sequence_namedtuple_and_to():
    p = ernn.pack_sequence([engine.tensor([1.0, 2.0]), engine.tensor([3.0])])
    _, bs, si, ui = p
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert bs.tolist() == [2, 1] and si is None and ui is None
    assert p.double().data.dtype == engine.float64 and not p.is_cuda
    q = ernn.PackedSequence(p.data, p.batch_sizes, engine.tensor([1, 0]))
    assert q.unsorted_indices.tolist() == [1, 0]
    assert ernn.invert_permutation(engine.tensor([2, 0, 1])).tolist() == [1, 2, 0]


UTIL_ERRORS = [
    lambda L, R: R.pack_padded_sequence(L.randn(5, 3, 2), [5, 4]),
    lambda L, R: R.pack_padded_sequence(L.randn(5, 3, 2), [5, 4, 0]),
    lambda L, R: R.pack_padded_sequence(L.randn(5, 3, 2), [4, 5, 3]),
    lambda L, R: R.pack_padded_sequence(L.randn(5, 3, 2), L.tensor([[5, 4, 3]])),
    lambda L, R: R.pack_padded_sequence(L.randn(0, 3, 2), [5, 4, 3]),
    lambda L, R: R.pad_packed_sequence(R.pack_padded_sequence(L.randn(5, 3, 2), [5, 4, 3]),
                                       total_length=3),
    lambda L, R: R.pad_sequence([]),
    lambda L, R: R.pad_sequence([L.randn(3, 2)], padding_side="middle"),
    lambda L, R: R.pad_sequence(5),
    lambda L, R: R.pack_sequence([L.randn(2, 2), L.randn(3, 2)]),
]


@pytest.mark.parametrize("case", range(len(UTIL_ERRORS)))
def test_utils_errors_as_torch(case):
    bad = UTIL_ERRORS[case]
    _same_error(lambda: bad(torch, trnn), lambda: bad(engine, ernn))


def test_utils_error_types_with_clearer_messages():
    with pytest.raises(RuntimeError, match="trailing dimensions"):  # torch: a broadcast error
        ernn.pad_sequence([engine.randn(3, 2), engine.randn(2, 3)])
    with pytest.raises(RuntimeError, match="larger than the padded input's time dimension"):
        ernn.pack_padded_sequence(engine.randn(5, 3, 2), [6, 5, 3])


# ---- EmbeddingBag --------------------------------------------------------------------------
BAG_CASES = [
    {"mode": "sum"}, {"mode": "mean"}, {"mode": "max"},
    {"mode": "sum", "psw": True}, {"mode": "mean", "padding_idx": 2},
    {"mode": "max", "padding_idx": 1}, {"mode": "sum", "include_last_offset": True},
    {"mode": "mean", "include_last_offset": True, "padding_idx": 0},
    {"mode": "sum", "psw": True, "padding_idx": 3},
]


@pytest.mark.parametrize("case", BAG_CASES, ids=lambda c: "-".join(f"{k}{v}" for k, v in
                                                                   c.items()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_embedding_bag_offsets(case, dtype):
    case = dict(case)
    psw = case.pop("psw", False)
    rng = _rng(10)
    w = rng.standard_normal((6, 3)).astype(dtype)
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 2, 0, 1], dtype=np.int64)
    # bags [1 2 4] [] [5 4 3] [2 2 0] [1] (a row repeated in a bag: max's tie goes to it)
    offs = np.array([0, 3, 3, 6, 10] if case.get("include_last_offset") else [0, 3, 3, 6, 9])
    pw = rng.standard_normal(idx.shape).astype(dtype) if psw else None
    tol = TOL64 if dtype == np.float64 else TOL32

    def run(L, F_):
        wt = L.tensor(w, requires_grad=True)
        pt = L.tensor(pw, requires_grad=True) if psw else None
        out = F_.embedding_bag(L.tensor(idx), wt, L.tensor(offs), per_sample_weights=pt,
                               **case)
        (out * L.tensor(np.arange(out.numel(), dtype=dtype).reshape(tuple(out.shape)))).sum() \
            .backward()
        return [out, wt.grad] + ([pt.grad] if psw else [])

    for t, e in zip(run(torch, torch.nn.functional), run(engine, F)):
        _assert_close(e, t, tol)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_module_2d_input(mode):
    tm, em = _pair("EmbeddingBag", 7, 4, mode=mode, padding_idx=0)
    assert repr(em) == repr(tm)
    idx = np.array([[1, 0, 3], [6, 6, 2]])
    _same_run(tm, em, [], lambda m: [m((torch if isinstance(m, torch.nn.Module)
                                        else engine).tensor(idx))])
    assert list(em.state_dict()) == ["weight"]
    assert float(em.weight[0].abs().sum()) == 0.0  # padding row starts at zero
    with pytest.warns(UserWarning, match="Argument order of nn.functional.embedding_bag"):
        old = F.embedding_bag(em.weight, engine.tensor(idx), mode=mode, padding_idx=0)
    np.testing.assert_allclose(_np(old), _np(em(engine.tensor(idx))))
    pre = nn.EmbeddingBag.from_pretrained(engine.ones(3, 2), mode="sum")
    assert not pre.weight.requires_grad
    np.testing.assert_allclose(_np(pre(engine.tensor([[0, 1]]))), [[2.0, 2.0]])


BAG_ERRORS = [
    lambda L, F_: F_.embedding_bag(L.tensor([[1, 2]]), L.randn(5, 2), L.tensor([0])),
    lambda L, F_: F_.embedding_bag(L.tensor([1, 2]), L.randn(5, 2)),
    lambda L, F_: F_.embedding_bag(L.tensor([1, 2]), L.randn(5, 2), L.tensor([[0]])),
    lambda L, F_: F_.embedding_bag(L.tensor([1, 2]), L.randn(5, 2, 1), L.tensor([0])),
    lambda L, F_: F_.embedding_bag(L.tensor([1, 2]), L.randn(5, 2), L.tensor([0]), mode="min"),
    lambda L, F_: F_.embedding_bag(L.tensor([1, 2]), L.randn(5, 2), L.tensor([0]),
                                   per_sample_weights=L.randn(2), mode="mean"),
    lambda L, F_: F_.embedding_bag(L.tensor([1, 2]), L.randn(5, 2), L.tensor([0]),
                                   per_sample_weights=L.randn(3), mode="sum"),
    lambda L, F_: F_.embedding_bag(L.tensor([[[1]]]), L.randn(5, 2)),
    lambda L, F_: F_.embedding_bag(L.tensor([1, 2]), L.randn(5, 2), L.tensor([1])),
]


@pytest.mark.parametrize("case", range(len(BAG_ERRORS)))
def test_embedding_bag_errors_as_torch(case):
    bad = BAG_ERRORS[case]
    _same_error(lambda: bad(torch, torch.nn.functional), lambda: bad(engine, F), prefix=60)


# ---- the whole-layer CPU node (engine/nn/_rnn_sequence.py) ---------------------------------
def _node_names(t):
    seen, stack, names = set(), [t.grad_fn], set()
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        names.add(type(n).__name__)
        stack.extend(f for f, _ in n.next_functions)
    return names


FUSED_KINDS = ["LSTM", "GRU", "RNN", "RNN_RELU"]


def _fused_module(M, kind, *args, **kw):
    if kind == "RNN_RELU":
        return M.nn.RNN(*args, nonlinearity="relu", **kw)
    return getattr(M.nn, kind)(*args, **kw)


def _fused_node(kind):
    return {"LSTM": "FusedLstmLayerBackward0", "GRU": "FusedGruLayerBackward0"}.get(
        kind, "FusedRnnLayerBackward0")


@pytest.mark.parametrize("kind", FUSED_KINDS)
@pytest.mark.parametrize("bias", [True, False])
def test_fused_layer_gradcheck_float64(kind, bias):
    engine.manual_seed(3)
    m = _fused_module(engine, kind, 2, 3, num_layers=2, bidirectional=True, bias=bias,
                      dtype=engine.float64)
    rng = _rng(9)
    x = engine.tensor(rng.standard_normal((4, 2, 2)), requires_grad=True)
    h0 = engine.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    c0 = engine.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    lstm = kind == "LSTM"

    def f(x, h0, c0, *ps):
        out, h = m(x, (h0, c0) if lstm else h0)
        return (out, *h) if lstm else (out, h)

    out = f(x, h0, c0)[0]
    assert _fused_node(kind) in _node_names(out)
    assert gradcheck(f, (x, h0, c0, *m.parameters()), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize("kind", FUSED_KINDS)
def test_fused_layer_double_backward(kind):
    from engine.autograd import gradgradcheck
    engine.manual_seed(4)
    m = _fused_module(engine, kind, 2, 2, bidirectional=True, dtype=engine.float64)
    rng = _rng(10)
    x = engine.tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    h0 = engine.tensor(rng.standard_normal((2, 2, 2)), requires_grad=True)
    w = m.weight_hh_l0

    def f(x, h0, w):
        hx = (h0, engine.zeros_like(h0)) if kind == "LSTM" else h0
        return m(x, hx)[0]

    assert gradgradcheck(f, (x, h0, w), eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("kind", FUSED_KINDS)
def test_fused_layer_matches_torch_float32(kind):
    torch = pytest.importorskip("torch")
    kw = {"bidirectional": True, "batch_first": True}
    tm, em = (_fused_module(M, kind, 5, 7, 2, **kw) for M in (torch, engine))
    _copy(tm, em)
    rng = _rng(11)
    xs = rng.standard_normal((3, 6, 5)).astype(np.float32)
    tx, ex = torch.tensor(xs, requires_grad=True), engine.tensor(xs, requires_grad=True)
    to, th = tm(tx)
    eo, eh = em(ex)
    assert _fused_node(kind) in _node_names(eo)
    tl = to.pow(2).sum() + (th[0].sum() + th[1].sum() if kind == "LSTM" else th.sum())
    el = eo.pow(2).sum() + (eh[0].sum() + eh[1].sum() if kind == "LSTM" else eh.sum())
    tl.backward()
    el.backward()
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    for (n, tp), ep in zip(tm.named_parameters(), em.parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-4,
                                   err_msg=n)
