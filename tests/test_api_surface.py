"""The API-surface additions (engine/ops/surface.py, engine/_methods_surface.py) against torch."""

import numpy as np
import pytest

import engine

torch = pytest.importorskip("torch")

FN_NAMES = """abs_ acos_ acosh acosh_ adaptive_avg_pool1d adaptive_max_pool1d addmv_ adjoint
alpha_dropout alpha_dropout_ arccos_ arccosh arccosh_ arcsin_ arcsinh arcsinh_ arctan_ arctanh
arctanh_ as_strided_ as_strided_scatter asin_ asinh asinh_ atan_ atanh atanh_ avg_pool1d
batch_norm bilinear binary_cross_entropy_with_logits binomial ceil_ celu celu_ channel_shuffle
clamp_ clamp_max_ clamp_min_ clip_ combinations constant_pad_nd conv1d conv2d conv3d
conv_transpose1d conv_transpose2d conv_transpose3d convolution cos_ cosh_ cosine_embedding_loss
ctc_loss cumulative_trapezoid deg2rad_ detach detach_ diagonal_scatter dropout dropout_ embedding
embedding_bag empty_strided erf_ erfc_ exp2_ exp_ expm1_ feature_alpha_dropout feature_dropout
fill fill_ fix fix_ floor_ frac_ frexp frombuffer gcd gcd_ ger get_device gradient group_norm
hardshrink hinge_embedding_loss histogram histogramdd i0_ igamma igammac index_put_ index_reduce
instance_norm is_anomaly_enabled is_anomaly_check_nan_enabled is_inference is_neg is_same_size
is_signed is_storage kl_div layer_norm lcm lcm_ ldexp ldexp_ log10_ log1p_ log2_ log_ logaddexp2
logit_ margin_ranking_loss matrix_rank max_pool1d max_pool1d_with_indices max_pool2d max_pool3d
nan_to_num_ neg_ negative_ nextafter nuclear_norm frobenius_norm pdist pixel_shuffle
pixel_unshuffle poisson poisson_nll_loss prelu put rad2deg_ range reciprocal_ relu_ renorm
resize_as_ resolve_neg rms_norm round_ rrelu rrelu_ rsqrt_ scalar_tensor select_scatter selu
selu_ set_anomaly_enabled set_default_tensor_type set_flush_denormal set_num_interop_threads
get_num_interop_threads set_warn_always is_warn_always_enabled sgn sigmoid_ sin_ sinc_ sinh_
slice_scatter split_with_sizes sqrt_ square_ tan_ tanh_ threshold threshold_ trapz
triplet_margin_loss trunc_ typename unravel_index unsafe_chunk unsafe_split xlogy_ zero_
svd_lowrank pca_lowrank lobpcg""".split()  # noqa: SIM905

METHOD_NAMES = """absolute_ acosh acosh_ addmm_ adjoint arccos_ arccosh arccosh_ arcsin_ arcsinh
arcsinh_ arctan2_ arctan_ arctanh arctanh_ as_strided_ as_strided_scatter asinh asinh_ atanh
atanh_ baddbmm baddbmm_ bernoulli cumprod_ cumsum_ deg2rad_ diagonal_scatter divide_ fix fix_
frexp gcd gcd_ ger greater_ greater_equal_ hardshrink histogram igamma igamma_ igammac igammac_
index_reduce index_reduce_ is_same_size is_signed isreal lcm lcm_ ldexp ldexp_ less_ less_equal_
logaddexp2 multinomial multiply_ mvlgamma_ negative_ new_empty_strided nextafter nextafter_
not_equal_ output_nr polygamma_ prelu rad2deg_ renorm renorm_ resize resize_as resize_as_
select_scatter sgn sgn_ slice_scatter split_with_sizes storage subtract_ swapaxes_ swapdims_
transpose_ true_divide_ unsafe_chunk unsafe_split""".split()  # noqa: SIM905


def test_surface_names_exist():
    assert [n for n in FN_NAMES if not hasattr(engine, n)] == []
    assert [n for n in METHOD_NAMES if not hasattr(engine.Tensor, n)] == []


def _pair(a, dtype=np.float32, rg=False):
    a = np.asarray(a, dtype=dtype)
    e = engine.tensor(a.copy(), requires_grad=rg)
    t = torch.tensor(a.copy(), requires_grad=rg)
    return e, t


def _close(e, t, rtol=1e-5, atol=1e-6):
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            _close(a, b, rtol, atol)
        return
    if not isinstance(t, torch.Tensor):
        assert e == t
        return
    assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
    assert str(e.dtype) == str(t.dtype), (e.dtype, t.dtype)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(force=True), rtol=rtol, atol=atol,
                               equal_nan=True)


rng = np.random.default_rng(0)

UNARY = [("asinh", lambda: rng.normal(size=(3, 4)) * 3),
         ("acosh", lambda: 1 + rng.random((3, 4)) * 4),
         ("atanh", lambda: rng.uniform(-0.95, 0.95, (3, 4))),
         ("arcsinh", lambda: rng.normal(size=(5,))),
         ("sgn", lambda: rng.normal(size=(5,))),
         ("fix", lambda: rng.normal(size=(5,)) * 4)]


@pytest.mark.parametrize("name,gen", UNARY, ids=[u[0] for u in UNARY])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unary_values_grads_inplace(name, gen, dtype):
    a = gen()
    e, t = _pair(a, dtype, rg=True)
    ye, yt = getattr(engine, name)(e), getattr(torch, name)(t)
    _close(ye, yt, 1e-5 if dtype == np.float32 else 1e-10)
    _close(getattr(e, name)(), yt)
    g = rng.normal(size=a.shape)
    ye.backward(engine.tensor(g.astype(dtype)))
    yt.backward(torch.tensor(g.astype(dtype)))
    _close(e.grad, t.grad, 1e-5 if dtype == np.float32 else 1e-10)
    # in-place method and top-level in-place form: return self, bump version, same values
    e2, t2 = _pair(a, dtype)
    v = e2._version
    r = getattr(e2, name + "_")()
    assert r is e2 and e2._version > v
    getattr(t2, name + "_")()
    _close(e2, t2)
    if hasattr(torch, name + "_"):
        e3 = engine.tensor(a.astype(dtype))
        assert getattr(engine, name + "_")(e3) is e3
        _close(e3, t2)


def test_inverse_hyperbolic_edges_and_ints():
    e, t = _pair([-2.0, -1.0, 0.0, 0.5, 1.0, 2.0])
    for n in ("acosh", "atanh", "asinh"):
        _close(getattr(engine, n)(e), getattr(torch, n)(t))
    ei, ti = engine.tensor([1, 2, 3]), torch.tensor([1, 2, 3])
    _close(engine.asinh(ei), torch.asinh(ti))


def test_inverse_hyperbolic_gradcheck():
    x = engine.tensor(rng.uniform(-0.8, 0.8, (3,)), dtype=engine.float64, requires_grad=True)
    assert engine.autograd.gradcheck(lambda v: engine.atanh(v) + engine.asinh(v), (x,))
    y = engine.tensor(1.5 + rng.random(3), dtype=engine.float64, requires_grad=True)
    assert engine.autograd.gradcheck(engine.acosh, (y,))


def test_gcd_lcm():
    a = rng.integers(-50, 50, (4, 5))
    b = rng.integers(-50, 50, (5,))
    for n in ("gcd", "lcm"):
        e, t = getattr(engine, n)(engine.tensor(a), engine.tensor(b)), getattr(torch, n)(
            torch.tensor(a), torch.tensor(b))
        _close(e, t)
        x = engine.tensor(a)
        v = x._version
        assert getattr(x, n + "_")(engine.tensor(b)) is x and x._version > v
        _close(x, t)
        _close(getattr(engine, n)(engine.tensor(a, dtype=engine.int32), engine.tensor(b, dtype=engine.int32)),
               getattr(torch, n)(torch.tensor(a, dtype=torch.int32), torch.tensor(b, dtype=torch.int32)))
    with pytest.raises(RuntimeError, match="gcd"):
        engine.gcd(engine.tensor([1.0]), engine.tensor([2.0]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_igamma(dtype):
    a = rng.uniform(0.1, 8, (20,))
    x = rng.uniform(0.01, 12, (20,))
    rt = 1e-5 if dtype == np.float32 else 1e-10
    ea, ta = _pair(a, dtype)
    ex, tx = _pair(x, dtype, rg=True)
    for n in ("igamma", "igammac"):
        ye, yt = getattr(engine, n)(ea, ex), getattr(torch, n)(ta, tx)
        _close(ye, yt, rt, 1e-7)
        _close(getattr(ea, n)(ex), yt, rt, 1e-7)
        ge, = engine.autograd.grad(ye.sum(), ex)
        gt, = torch.autograd.grad(yt.sum(), tx)
        _close(ge, gt, rt * 10, 1e-7)
    ea2 = engine.tensor(a.astype(dtype))
    assert ea2.igamma_(ex.detach()) is ea2
    _close(ea2, torch.igamma(ta, tx.detach()), rt, 1e-7)
    # edges: x = 0, a = 0, inf, nan, negative
    ee, te = _pair([0.0, 1.0, 2.0, -1.0, 1.0, 3.0], dtype)
    fe, fte = _pair([1.0, 0.0, np.inf, 1.0, -1.0, np.nan], dtype)
    for n in ("igamma", "igammac"):
        _close(getattr(engine, n)(ee, fe), getattr(torch, n)(te, fte))


def test_ldexp_frexp_logaddexp2_nextafter():
    a = rng.normal(size=(3, 4)) * 10
    b = rng.integers(-4, 5, (4,))
    e, t = _pair(a, rg=True)
    ye, yt = engine.ldexp(e, engine.tensor(b)), torch.ldexp(t, torch.tensor(b))
    _close(ye, yt)
    # (torch's ldexp backward computes pow(2, other) in other's dtype: 2 ** -1 == 0 for int64
    # exponents; compare the gradient with float exponents, where torch is right)
    bf = b.astype(np.float32)
    ye, yt = engine.ldexp(e, engine.tensor(bf)), torch.ldexp(t, torch.tensor(bf))
    ye.sum().backward(); yt.sum().backward()
    _close(e.grad, t.grad)
    _close(engine.ldexp(engine.tensor([1, 2]), engine.tensor([3, 1])),
           torch.ldexp(torch.tensor([1, 2]), torch.tensor([3, 1])))
    x = engine.tensor(a.astype(np.float32))
    assert x.ldexp_(engine.tensor(b)) is x
    _close(x, yt)
    for dt in (np.float32, np.float64):
        v = np.concatenate([rng.normal(size=8) * 100, [0.0, -0.0, 1.0, 0.5, -4.0, np.inf,
                                                       -np.inf, np.nan, 1e-40]])
        e, t = _pair(v, dt, rg=True)
        me, te = engine.frexp(e), torch.frexp(t)
        _close(me.mantissa, te.mantissa)
        _close(me.exponent, te.exponent)
        _close(e.frexp()[1], te[1])
        me.mantissa.sum().backward(); te.mantissa.sum().backward()
        _close(e.grad, t.grad)
        o = rng.normal(size=v.shape)
        o[8], o[10] = 0.0, 1.0
        _close(engine.nextafter(e.detach(), engine.tensor(o.astype(dt))),
               torch.nextafter(t.detach(), torch.tensor(o.astype(dt))), 0, 0)
    with pytest.raises(RuntimeError, match="frexp"):
        engine.frexp(engine.tensor([1, 2]))
    p, q = rng.normal(size=(4, 3)), rng.normal(size=(3,))
    (e, t), (e2, t2) = _pair(p, rg=True), _pair(q, rg=True)
    inf = [float("-inf"), float("inf"), 1.0, float("-inf")]
    _close(engine.logaddexp2(engine.tensor(inf), engine.tensor(inf[:3] + [2.0])),
           torch.logaddexp2(torch.tensor(inf), torch.tensor(inf[:3] + [2.0])))
    ye, yt = engine.logaddexp2(e, e2), torch.logaddexp2(t, t2)
    _close(ye, yt)
    ye.sum().backward(); yt.sum().backward()
    _close(e.grad, t.grad); _close(e2.grad, t2.grad)


def test_scatter_copies():
    a = rng.normal(size=(4, 5, 6))
    cases = [("select_scatter", (rng.normal(size=(4, 6)),), (1, 2)),
             ("slice_scatter", (rng.normal(size=(4, 2, 6)),), (1, 1, 5, 2)),
             ("diagonal_scatter", (rng.normal(size=(6, 4)),), (0, 0, 1)),
             ("diagonal_scatter", (rng.normal(size=(6, 4)),), (1, 0, 1)),
             ("as_strided_scatter", (rng.normal(size=(3, 3)),), ((3, 3), (7, 2), 4))]
    for name, (src,), args in cases:
        e, t = _pair(a, rg=True)
        se, st = _pair(src, rg=True)
        ye, yt = getattr(engine, name)(e, se, *args), getattr(torch, name)(t, st, *args)
        _close(ye, yt)
        assert e._version == 0
        g = rng.normal(size=ye.shape).astype(np.float32)
        ye.backward(engine.tensor(g)); yt.backward(torch.tensor(g))
        _close(se.grad, st.grad)
        if name != "as_strided_scatter":  # torch 2.13 returns grad *inside* the written region
            _close(e.grad, t.grad)        # for input (the overwritten part): gradcheck below
        _close(getattr(e.detach(), name)(se.detach(), *args), yt)
    x = engine.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    s = engine.tensor(rng.normal(size=(2, 2)), requires_grad=True)
    assert engine.autograd.gradcheck(
        lambda a, b: engine.as_strided_scatter(a, b, (2, 2), (4, 1), 1), (x, s))
    assert engine.autograd.gradcheck(lambda a, b: engine.slice_scatter(a, b[:, :1], 1, 2, 3),
                                     (x, s[:1].expand(3, 2).contiguous().detach().requires_grad_()))
    with pytest.raises(RuntimeError, match="select_scatter"):
        engine.select_scatter(engine.zeros(3, 4), engine.zeros(3), 0, 0)


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_index_reduce(reduce, include_self):
    a = rng.normal(size=(5, 3))
    s = rng.normal(size=(4, 3))
    idx = np.array([0, 4, 0, 2])
    e, t = _pair(a, rg=True)
    se, st = _pair(s, rg=True)
    ye = engine.index_reduce(e, 0, engine.tensor(idx), se, reduce, include_self=include_self)
    yt = torch.index_reduce(t, 0, torch.tensor(idx), st, reduce, include_self=include_self)
    _close(ye, yt)
    ye.sum().backward(); yt.sum().backward()
    _close(e.grad, t.grad); _close(se.grad, st.grad)
    x = engine.tensor(a.astype(np.float32))
    assert x.index_reduce_(0, engine.tensor(idx), se.detach(), reduce,
                           include_self=include_self) is x
    _close(x, yt)
    # along dim 1
    s2 = rng.normal(size=(5, 2))
    _close(engine.tensor(a.astype(np.float32)).index_reduce(1, engine.tensor([2, 2]),
                                                            engine.tensor(s2.astype(np.float32)),
                                                            reduce, include_self=include_self),
           torch.tensor(a.astype(np.float32)).index_reduce(1, torch.tensor([2, 2]),
                                                           torch.tensor(s2.astype(np.float32)),
                                                           reduce, include_self=include_self))


def test_renorm():
    a = rng.normal(size=(3, 4, 2)) * 2
    for p, dim, mx in ((2, 0, 1.5), (1, 1, 2.0), (3.0, -1, 1.0)):
        e, t = _pair(a, np.float64, rg=True)
        ye, yt = engine.renorm(e, p, dim, mx), torch.renorm(t, p, dim, mx)
        _close(ye, yt, 1e-10)
        ye.sum().backward(); yt.sum().backward()
        _close(e.grad, t.grad, 1e-9)
        x = e.detach().clone()
        assert x.renorm_(p, dim, mx) is x
        _close(x, yt, 1e-10)


def test_gradient_and_cumulative_trapezoid():
    a = rng.normal(size=(5, 6))
    e, t = _pair(a, np.float64)
    for kw in ({}, {"spacing": 2.0}, {"dim": 1}, {"edge_order": 2}, {"spacing": [0.5, 2.0]},
               {"spacing": 2.0, "dim": 0, "edge_order": 2}):
        _close(engine.gradient(e, **kw), torch.gradient(t, **kw), 1e-10)
    cx = np.cumsum(rng.random(6) + 0.1)
    for eo in (1, 2):
        _close(engine.gradient(e, spacing=(engine.tensor(cx),), dim=1, edge_order=eo),
               torch.gradient(t, spacing=(torch.tensor(cx),), dim=1, edge_order=eo), 1e-10)
    _close(engine.gradient(engine.tensor([1, 2, 4, 8])), torch.gradient(torch.tensor([1, 2, 4, 8])))
    e, t = _pair(a, np.float32, rg=True)
    _close(engine.cumulative_trapezoid(e), torch.cumulative_trapezoid(t))
    _close(engine.cumulative_trapezoid(e, dx=0.5, dim=0),
           torch.cumulative_trapezoid(t, dx=0.5, dim=0))
    xs = np.sort(rng.random(6)).astype(np.float32)
    ye = engine.cumulative_trapezoid(e, engine.tensor(xs))
    yt = torch.cumulative_trapezoid(t, torch.tensor(xs))
    _close(ye, yt)
    ye.sum().backward(); yt.sum().backward()
    _close(e.grad, t.grad)
    _close(engine.trapz(e.detach(), dim=0), torch.trapz(t.detach(), dim=0))


def test_combinations_unravel_index():
    a = rng.normal(size=(5,))
    e, t = _pair(a, rg=True)
    for r, wr in ((2, False), (3, False), (2, True), (1, False)):
        ye, yt = engine.combinations(e, r, wr), torch.combinations(t, r, wr)
        _close(ye, yt)
    ye.sum().backward(); yt.sum().backward()
    _close(e.grad, t.grad)
    idx = rng.integers(0, 60, (2, 3))
    _close(engine.unravel_index(engine.tensor(idx), (3, 4, 5)),
           torch.unravel_index(torch.tensor(idx), (3, 4, 5)))
    _close(engine.unravel_index(engine.tensor(7), (4, 5)), torch.unravel_index(torch.tensor(7), (4, 5)))


def test_histograms():
    a = rng.normal(size=(50,)).astype(np.float32)
    e, t = engine.tensor(a), torch.tensor(a)
    for kw in ({"bins": 7}, {"bins": 5, "range": (-1.0, 1.0)}, {"bins": 6, "density": True}):
        _close(engine.histogram(e, **kw), torch.histogram(t, **kw))
    w = rng.random(50).astype(np.float32)
    _close(engine.histogram(e, 4, weight=engine.tensor(w)), torch.histogram(t, 4, weight=torch.tensor(w)))
    edges = np.array([-2.0, -0.5, 0.0, 3.0], dtype=np.float32)
    _close(e.histogram(engine.tensor(edges)), t.histogram(torch.tensor(edges)))
    b = rng.normal(size=(40, 2)).astype(np.float32)
    he, ht = engine.histogramdd(engine.tensor(b), [3, 4]), torch.histogramdd(torch.tensor(b), [3, 4])
    _close(he.hist, ht.hist)
    _close(he.bin_edges, ht.bin_edges)


def test_sampling():
    engine.manual_seed(0)
    lam = engine.full((20000,), 3.0)
    s = engine.poisson(lam)
    assert s.dtype == engine.float32 and abs(float(s.mean()) - 3.0) < 0.1
    assert bool((s == s.round()).all())
    b = engine.binomial(engine.full((20000,), 10.0), engine.full((20000,), 0.3))
    assert b.dtype == engine.float32 and abs(float(b.mean()) - 3.0) < 0.1 and float(b.max()) <= 10
    p = engine.full((4000,), 0.25)
    assert abs(float(p.bernoulli().mean()) - 0.25) < 0.05
    m = engine.tensor([0.0, 1.0, 3.0]).multinomial(2000, replacement=True)
    assert abs(float((m == 2).float().mean()) - 0.75) < 0.05 and not bool((m == 0).any())


def test_lowrank():
    a = rng.normal(size=(8, 5)) @ rng.normal(size=(5, 6))
    e = engine.tensor(a)
    U, S, V = engine.svd_lowrank(e, q=5)
    assert tuple(U.shape) == (8, 5) and tuple(S.shape) == (5,) and tuple(V.shape) == (6, 5)
    np.testing.assert_allclose((U * S) @ V.T.numpy() if False else ((U * S) @ V.T).numpy(), a,
                               atol=1e-8)
    St = torch.linalg.svdvals(torch.tensor(a))[:5]
    np.testing.assert_allclose(S.numpy(), St.numpy(), rtol=1e-10)
    U, S, V = engine.pca_lowrank(e, q=3)
    s = rng.normal(size=(9, 9))
    s = s @ s.T + np.eye(9)
    w, V = engine.lobpcg(engine.tensor(s), k=2)
    torch.manual_seed(0)
    wt, Vt = torch.lobpcg(torch.tensor(s), k=2, niter=200, tol=1e-12)
    np.testing.assert_allclose(w.numpy(), wt.numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.abs(V.numpy()), np.abs(Vt.numpy()), atol=1e-4)
    w, _ = engine.lobpcg(engine.tensor(s), k=2, largest=False)
    np.testing.assert_allclose(w.numpy(), np.linalg.eigvalsh(s)[:2], rtol=1e-10)
    torch.manual_seed(0)
    _, St, _ = torch.pca_lowrank(torch.tensor(a), q=3, niter=10)
    np.testing.assert_allclose(S.numpy(), St.numpy(), rtol=1e-5)


def test_misc_functions():
    a = rng.normal(size=(3, 4)).astype(np.float32)
    e, t = engine.tensor(a), torch.tensor(a)
    _close(engine.fill(e, 2.5), torch.fill(t, 2.5))
    _close(engine.adjoint(e), torch.adjoint(t))
    _close(engine.ger(e[0], e[1]), torch.ger(t[0], t[1]))
    _close(engine.resolve_neg(e), torch.resolve_neg(t))
    assert engine.is_neg(e) is torch.is_neg(t)
    assert engine.is_same_size(e, e[0:3]) and not engine.is_same_size(e, e[0])
    for dt in ("float32", "int64", "uint8", "bool", "int8"):
        assert engine.is_signed(engine.zeros(1, dtype=getattr(engine, dt))) == torch.is_signed(
            torch.zeros(1, dtype=getattr(torch, dt)))
    assert engine.get_device(e) == torch.get_device(t) == -1
    assert engine.typename(e) == torch.typename(t)
    assert engine.typename(1) == torch.typename(1)
    _close(engine.split_with_sizes(e, [1, 3], 1), torch.split_with_sizes(t, [1, 3], 1))
    _close(engine.unsafe_split(e, 2, 1), torch.unsafe_split(t, 2, 1))
    _close(engine.unsafe_chunk(e, 2, 0), torch.unsafe_chunk(t, 2, 0))
    with pytest.warns(UserWarning):
        r = engine.range(1, 4)
    with pytest.warns(UserWarning):
        rt = torch.range(1, 4)
    _close(r, rt)
    _close(engine.scalar_tensor(3), torch.scalar_tensor(3))
    buf = bytearray(np.arange(6, dtype=np.int32).tobytes())
    fe, ft = engine.frombuffer(buf, dtype=engine.int32, offset=4, count=3), torch.frombuffer(
        buf, dtype=torch.int32, offset=4, count=3)
    _close(fe, ft)
    es = engine.empty_strided((2, 3), (1, 2))
    assert tuple(es.stride()) == (1, 2) and tuple(es.shape) == (2, 3)
    _close(engine.put(e, engine.tensor([0, 5]), engine.tensor([9.0, 8.0])),
           torch.put(t, torch.tensor([0, 5]), torch.tensor([9.0, 8.0])))
    _close(engine.nuclear_norm(e), torch.nuclear_norm(t))
    _close(engine.frobenius_norm(e, (0, 1)), torch.frobenius_norm(t, (0, 1)))
    assert engine.is_anomaly_enabled() is False
    engine.set_anomaly_enabled(True, False)
    assert engine.is_anomaly_enabled() and not engine.is_anomaly_check_nan_enabled()
    engine.set_anomaly_enabled(False)
    engine.set_warn_always(True)
    assert engine.is_warn_always_enabled()
    engine.set_warn_always(False)
    assert engine.get_num_interop_threads() >= 1
    assert isinstance(engine.set_flush_denormal(False), bool)
    assert engine.is_storage(e.untyped_storage()) and not engine.is_storage(e)
    x = engine.ones(3)
    assert engine.detach(x) is not x
    assert engine.is_inference(x) is False


def test_inplace_top_level_forms():
    a = rng.uniform(0.2, 0.9, (3, 4)).astype(np.float32)
    for name in ("abs_", "acos_", "arccos_", "arcsin_", "asin_", "atan_", "arctan_", "ceil_",
                 "cos_", "cosh_", "deg2rad_", "erf_", "erfc_", "exp2_", "exp_", "expm1_",
                 "fix_", "floor_", "frac_", "i0_", "log10_", "log1p_", "log2_", "log_", "logit_",
                 "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_",
                 "round_", "rsqrt_", "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_",
                 "tan_", "tanh_", "trunc_", "zero_", "detach_", "selu_", "celu_"):
        e, t = engine.tensor(a), torch.tensor(a)
        v = e._version
        r = getattr(engine, name)(e)
        getattr(torch, name)(t)
        assert r is e, name
        if name != "detach_":
            assert e._version > v, name
        _close(e, t)
    for name, args in (("clamp_", (0.3, 0.6)), ("clip_", (0.3, 0.6)), ("clamp_min_", (0.5,)),
                       ("clamp_max_", (0.5,)), ("fill_", (2.0,)), ("threshold_", (0.5, -1.0)),
                       ("xlogy_", (2.0,))):
        e, t = engine.tensor(a), torch.tensor(a)
        assert getattr(engine, name)(e, *args) is e
        getattr(torch, name)(t, *args)
        _close(e, t)


def test_inplace_methods():
    a = rng.uniform(0.2, 0.9, (3, 4)).astype(np.float32)
    b = rng.uniform(0.2, 0.9, (3, 4)).astype(np.float32)
    for name, args in (("absolute_", ()), ("arctan2_", (b,)), ("divide_", (b,)),
                       ("true_divide_", (b,)), ("multiply_", (b,)), ("subtract_", (b,)),
                       ("greater_", (b,)), ("greater_equal_", (b,)), ("less_", (b,)),
                       ("less_equal_", (b,)), ("not_equal_", (b,)), ("cumsum_", (1,)),
                       ("cumprod_", (0,)), ("polygamma_", (1,)), ("mvlgamma_", (1,)),
                       ("sgn_", ()), ("nextafter_", (b,)), ("igammac_", (b,))):
        e, t = engine.tensor(a), torch.tensor(a)
        ea = [engine.tensor(x) if isinstance(x, np.ndarray) else x for x in args]
        ta = [torch.tensor(x) if isinstance(x, np.ndarray) else x for x in args]
        v = e._version
        assert getattr(e, name)(*ea) is e, name
        assert e._version > v
        getattr(t, name)(*ta)
        _close(e, t)
    # autograd through an in-place form on a non-leaf
    e, t = _pair(a, rg=True)
    ye, yt = e * 1, t * 1
    ye.asinh_(); yt = yt.asinh()  # (torch has no derivative for the in-place asinh_)
    ye.cumsum_(0); yt.cumsum_(0)
    ye.renorm_(2, 0, 1.0); yt.renorm_(2, 0, 1.0)
    ye.sum().backward(); yt.sum().backward()
    _close(e.grad, t.grad)
    with pytest.raises(RuntimeError, match="leaf"):
        engine.ones(2, requires_grad=True).asinh_()
    with pytest.raises(RuntimeError):
        engine.tensor([1, 2]).asinh_()  # float result into an int tensor


def test_matmul_inplace_and_baddbmm():
    x, m1, m2 = (rng.normal(size=s).astype(np.float32) for s in ((2, 3), (2, 4), (4, 3)))
    e, t = engine.tensor(x), torch.tensor(x)
    assert e.addmm_(engine.tensor(m1), engine.tensor(m2), beta=0.5, alpha=2) is e
    t.addmm_(torch.tensor(m1), torch.tensor(m2), beta=0.5, alpha=2)
    _close(e, t)
    i, b1, b2 = (rng.normal(size=s).astype(np.float32) for s in ((2, 2, 3), (2, 2, 4), (2, 4, 3)))
    (ei, ti), (eb1, tb1), (eb2, tb2) = _pair(i, rg=True), _pair(b1, rg=True), _pair(b2, rg=True)
    ye, yt = ei.baddbmm(eb1, eb2, alpha=0.5), ti.baddbmm(tb1, tb2, alpha=0.5)
    _close(ye, yt)
    ye.sum().backward(); yt.sum().backward()
    _close(eb1.grad, tb1.grad)
    e, t = engine.tensor(i), torch.tensor(i)
    assert e.baddbmm_(engine.tensor(b1), engine.tensor(b2)) is e
    t.baddbmm_(torch.tensor(b1), torch.tensor(b2))
    _close(e, t)
    y, mv, v = (rng.normal(size=s).astype(np.float32) for s in ((2,), (2, 3), (3,)))
    e, t = engine.tensor(y), torch.tensor(y)
    assert engine.addmv_(e, engine.tensor(mv), engine.tensor(v)) is e
    torch.addmv_(t, torch.tensor(mv), torch.tensor(v))
    _close(e, t)


def test_view_metadata_methods():
    a = rng.normal(size=(2, 3, 4)).astype(np.float32)
    for name in ("transpose_", "swapaxes_", "swapdims_"):
        e, t = engine.tensor(a), torch.tensor(a)
        assert getattr(e, name)(0, 2) is e
        getattr(t, name)(0, 2)
        _close(e, t)
        assert tuple(e.stride()) == tuple(t.stride())
    e, t = engine.tensor(a), torch.tensor(a)
    assert engine.as_strided_(e, (3, 2), (1, 3), 2) is e
    torch.as_strided_(t, (3, 2), (1, 3), 2)
    _close(e, t)
    e, t = engine.tensor(a), torch.tensor(a)
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        _close(e.resize(6, 4), t.resize(6, 4))
    with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
        _close(e.resize_as(engine.zeros(4, 6)), t.resize_as(torch.zeros(4, 6)))
    e2, t2 = engine.tensor(a), torch.tensor(a)
    assert engine.resize_as_(e2, engine.zeros(24)) is e2
    torch.resize_as_(t2, torch.zeros(24))
    _close(e2, t2)
    _close(e.isreal(), t.isreal())
    _close(e.new_empty_strided((2, 2), (2, 1)).fill_(1), t.new_empty_strided((2, 2), (2, 1)).fill_(1))
    x = engine.ones(3, requires_grad=True)
    assert x.output_nr == 0
    y = engine.linalg.svd(x.reshape(1, 3) * 2)
    yt = torch.linalg.svd(torch.ones(1, 3, requires_grad=True) * 2)
    assert [v.output_nr for v in y] == [v.output_nr for v in yt] == [0, 1, 2]
    assert e.storage() is e.untyped_storage()


def test_nn_aliases():
    x = rng.normal(size=(2, 4, 9)).astype(np.float32)
    w = rng.normal(size=(6, 4, 3)).astype(np.float32)
    bb = rng.normal(size=(6,)).astype(np.float32)
    E, Tt = engine, torch
    e, t = engine.tensor(x), torch.tensor(x)
    ew, tw, eb, tb = engine.tensor(w), torch.tensor(w), engine.tensor(bb), torch.tensor(bb)
    _close(E.conv1d(e, ew, eb, 2, 1), Tt.conv1d(t, tw, tb, 2, 1))
    _close(E.convolution(e, ew, eb, [1], [1], [1], False, [0], 1),
           Tt.convolution(t, tw, tb, [1], [1], [1], False, [0], 1))
    wt = rng.normal(size=(4, 5, 3)).astype(np.float32)
    _close(E.convolution(e, E.tensor(wt), None, [2], [1], [1], True, [1], 1),
           Tt.convolution(t, Tt.tensor(wt), None, [2], [1], [1], True, [1], 1))
    _close(E.conv_transpose1d(e, E.tensor(wt), None, 2), Tt.conv_transpose1d(t, Tt.tensor(wt), None, 2))
    x2 = rng.normal(size=(1, 4, 6, 6)).astype(np.float32)
    e2, t2 = E.tensor(x2), Tt.tensor(x2)
    w2 = rng.normal(size=(3, 4, 3, 3)).astype(np.float32)
    _close(E.conv2d(e2, E.tensor(w2), padding=1), Tt.conv2d(t2, Tt.tensor(w2), padding=1), 1e-4, 1e-5)
    _close(E.max_pool2d(e2, 2), Tt.max_pool2d(t2, 2))
    _close(E.max_pool1d(e, 3), Tt.max_pool1d(t, 3))
    _close(E.max_pool1d_with_indices(e, 3, 2), Tt.max_pool1d_with_indices(t, 3, 2))
    _close(E.avg_pool1d(e, 3), Tt.avg_pool1d(t, 3))
    _close(E.adaptive_avg_pool1d(e, 4), Tt.adaptive_avg_pool1d(t, 4))
    _close(E.adaptive_max_pool1d(e, 4), Tt.adaptive_max_pool1d(t, 4))
    _close(E.constant_pad_nd(e, (1, 2), 3.0), Tt.constant_pad_nd(t, (1, 2), 3.0))
    _close(E.pixel_shuffle(e2, 2), Tt.pixel_shuffle(t2, 2))
    _close(E.pixel_unshuffle(e2, 2), Tt.pixel_unshuffle(t2, 2))
    _close(E.channel_shuffle(e2, 2), Tt.channel_shuffle(t2, 2))
    _close(E.pdist(e[0]), Tt.pdist(t[0]))
    _close(E.prelu(e, E.tensor([0.25])), Tt.prelu(t, Tt.tensor([0.25])))
    _close(e.prelu(E.tensor([0.25])), t.prelu(Tt.tensor([0.25])))
    _close(E.hardshrink(e, 0.7), Tt.hardshrink(t, 0.7))
    _close(e.hardshrink(), t.hardshrink())
    _close(E.celu(e, 0.5), Tt.celu(t, 0.5))
    _close(E.selu(e), Tt.selu(t))
    _close(E.threshold(e, 0.1, 2.0), Tt.threshold(t, 0.1, 2.0))
    _close(E.rrelu(e), Tt.rrelu(t))
    _close(E.dropout(e, 0.3, False), Tt.dropout(t, 0.3, False))
    _close(E.alpha_dropout(e, 0.3, False), Tt.alpha_dropout(t, 0.3, False))
    _close(E.feature_dropout(e, 0.3, False), Tt.feature_dropout(t, 0.3, False))
    _close(E.feature_alpha_dropout(e, 0.3, False), Tt.feature_alpha_dropout(t, 0.3, False))
    d = E.feature_dropout(E.ones(20, 30, 4), 0.5, True)
    assert bool(((d == 0) | (d == 2)).all()) and bool((d.amax(-1) == d.amin(-1)).all())
    g, bi = rng.normal(size=(4,)).astype(np.float32), rng.normal(size=(4,)).astype(np.float32)
    rm, rv = E.zeros(4), E.ones(4)
    trm, trv = Tt.zeros(4), Tt.ones(4)
    _close(E.batch_norm(e, E.tensor(g), E.tensor(bi), rm, rv, True, 0.1, 1e-5, False),
           Tt.batch_norm(t, Tt.tensor(g), Tt.tensor(bi), trm, trv, True, 0.1, 1e-5, False), 1e-4, 1e-5)
    _close(rm, trm); _close(rv, trv)
    _close(E.instance_norm(e, E.tensor(g), E.tensor(bi), None, None, True, 0.1, 1e-5, False),
           Tt.instance_norm(t, Tt.tensor(g), Tt.tensor(bi), None, None, True, 0.1, 1e-5, False), 1e-4, 1e-5)
    _close(E.layer_norm(e, (9,)), Tt.layer_norm(t, (9,)), 1e-4, 1e-5)
    _close(E.group_norm(e, 2, E.tensor(g), E.tensor(bi)), Tt.group_norm(t, 2, Tt.tensor(g), Tt.tensor(bi)), 1e-4, 1e-5)
    _close(E.rms_norm(e, (9,)), Tt.rms_norm(t, (9,)), 1e-4, 1e-5)
    emb = rng.normal(size=(10, 3)).astype(np.float32)
    ix = np.array([[1, 2], [0, 9]])
    _close(E.embedding(E.tensor(emb), E.tensor(ix)), Tt.embedding(Tt.tensor(emb), Tt.tensor(ix)))
    ix1, off = np.array([1, 2, 4, 5, 4]), np.array([0, 2])
    for mode in (0, 1, 2):
        _close(E.embedding_bag(E.tensor(emb), E.tensor(ix1), E.tensor(off), False, mode)[0],
               Tt.embedding_bag(Tt.tensor(emb), Tt.tensor(ix1), Tt.tensor(off), False, mode)[0])
    bw = rng.normal(size=(5, 3, 4)).astype(np.float32)
    i1, i2 = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=(2, 4)).astype(np.float32)
    _close(E.bilinear(E.tensor(i1), E.tensor(i2), E.tensor(bw)),
           Tt.bilinear(Tt.tensor(i1), Tt.tensor(i2), Tt.tensor(bw)), 1e-5, 1e-5)
    p = rng.normal(size=(6, 5)).astype(np.float32)
    q = rng.normal(size=(6, 5)).astype(np.float32)
    y = np.sign(rng.normal(size=(6,))).astype(np.float32)
    ep, tp, eq, tq, ey, ty = E.tensor(p), Tt.tensor(p), E.tensor(q), Tt.tensor(q), E.tensor(y), Tt.tensor(y)
    for red in (0, 1, 2):
        _close(E.kl_div(ep, eq.softmax(-1), red), Tt.kl_div(tp, tq.softmax(-1), red))
        _close(E.binary_cross_entropy_with_logits(ep, eq.sigmoid(), None, None, red),
               Tt.binary_cross_entropy_with_logits(tp, tq.sigmoid(), None, None, red))
        _close(E.cosine_embedding_loss(ep, eq, ey, 0.1, red), Tt.cosine_embedding_loss(tp, tq, ty, 0.1, red))
        _close(E.margin_ranking_loss(ep[:, 0], eq[:, 0], ey, 0.2, red),
               Tt.margin_ranking_loss(tp[:, 0], tq[:, 0], ty, 0.2, red))
        _close(E.hinge_embedding_loss(ep, (eq > 0) * 2.0 - 1, 1.0, red),
               Tt.hinge_embedding_loss(tp, (tq > 0) * 2.0 - 1, 1.0, red))
        _close(E.triplet_margin_loss(ep, eq, ep * 0.5, 1.0, 2, 1e-6, False, red),
               Tt.triplet_margin_loss(tp, tq, tp * 0.5, 1.0, 2, 1e-6, False, red), 1e-5, 1e-5)
        _close(E.poisson_nll_loss(ep, eq.abs(), True, False, 1e-8, red),
               Tt.poisson_nll_loss(tp, tq.abs(), True, False, 1e-8, red), 1e-5, 1e-5)
    # the aten bindings default to reduction 0 ('none')
    _close(E.kl_div(ep, eq.softmax(-1)), Tt.kl_div(tp, tq.softmax(-1)))
    _close(E.cosine_embedding_loss(ep, eq, ey), Tt.cosine_embedding_loss(tp, tq, ty))
    _close(E.triplet_margin_loss(ep, eq, ep * 0.5), Tt.triplet_margin_loss(tp, tq, tp * 0.5),
           1e-5, 1e-5)
    lp = rng.normal(size=(6, 2, 4)).astype(np.float32)
    tg = np.array([[1, 2, 1], [3, 1, 0]])
    for red in ((), (0, 1), (0, 2)):
        _close(E.ctc_loss(E.tensor(lp).log_softmax(-1), E.tensor(tg), [6, 5], [3, 2], *red),
               Tt.ctc_loss(Tt.tensor(lp).log_softmax(-1), Tt.tensor(tg), [6, 5], [3, 2], *red),
               1e-5, 1e-5)


def _raises_like(fe, ft, match):
    """engine raises the exception type torch raises, with a message naming the op."""
    with pytest.raises(Exception) as et:
        ft()
    with pytest.raises(type(et.value), match=match):
        fe()


def test_bad_input():
    e, t = engine.ones(3, 4), torch.ones(3, 4)
    _raises_like(lambda: engine.index_reduce(e, 0, engine.tensor([0]), e[:1], "sum"),
                 lambda: torch.index_reduce(t, 0, torch.tensor([0]), t[:1], "sum"), "index_reduce")
    _raises_like(lambda: engine.renorm(e[0], 2, 0, 1.0), lambda: torch.renorm(t[0], 2, 0, 1.0),
                 "renorm")
    _raises_like(lambda: engine.combinations(e), lambda: torch.combinations(t), "1D")
    _raises_like(lambda: engine.unravel_index(engine.tensor([1.0]), (2, 2)),
                 lambda: torch.unravel_index(torch.tensor([1.0]), (2, 2)), "integer")
    _close(engine.unravel_index(engine.tensor([9, -1, -7, 4]), (2, 2)),
           torch.unravel_index(torch.tensor([9, -1, -7, 4]), (2, 2)))
    _raises_like(lambda: engine.gcd(e, e), lambda: torch.gcd(t, t), "gcd")
    _raises_like(lambda: engine.igamma(engine.tensor([1]), engine.tensor([1])),
                 lambda: torch.igamma(torch.tensor([1]), torch.tensor([1])), "igamma")
    _raises_like(lambda: engine.frexp(engine.tensor([1])), lambda: torch.frexp(torch.tensor([1])),
                 "frexp")
    _raises_like(lambda: engine.split_with_sizes(e, [1, 1]),
                 lambda: torch.split_with_sizes(t, [1, 1]), "split_with_sizes")
    _raises_like(lambda: engine.slice_scatter(e, engine.ones(3, 2), 1, 0, 3),
                 lambda: torch.slice_scatter(t, torch.ones(3, 2), 1, 0, 3), "slice_scatter")
    _raises_like(lambda: engine.gradient(engine.ones(1)), lambda: torch.gradient(torch.ones(1)),
                 "gradient")
    _raises_like(lambda: engine.ones(2, requires_grad=True).atanh_(),
                 lambda: torch.ones(2, requires_grad=True).atanh_(), "leaf")


def test_out_keyword():
    a = rng.normal(size=(3,)).astype(np.float32)
    o = engine.empty(3)
    assert engine.asinh(engine.tensor(a), out=o) is o
    _close(o, torch.asinh(torch.tensor(a)))
    oi = engine.empty(2, dtype=engine.int64)
    assert engine.gcd(engine.tensor([4, 9]), engine.tensor([6, 6]), out=oi) is oi
    _close(oi, torch.gcd(torch.tensor([4, 9]), torch.tensor([6, 6])))
    m, e = engine.empty(3), engine.empty(3, dtype=engine.int32)
    r = engine.frexp(engine.tensor(a), out=(m, e))
    assert r[0] is m and r[1] is e
    _close(r, torch.frexp(torch.tensor(a)))
    with pytest.raises(RuntimeError, match="can't be cast"):
        engine.igamma(engine.tensor([1.0]), engine.tensor([1.0]), out=engine.empty(1, dtype=engine.int64))
