"""engine.func, autograd.functional.jvp, custom Function styles, engine.amp, backends, compile."""

import warnings

import numpy as np
import pytest

import engine
import engine.nn.functional as F

torch = pytest.importorskip("torch")
import torch.func as TF
import torch.nn.functional as TNF


def _pair(shape, seed=0, lo=-1.0, hi=1.0):
    a = np.random.default_rng(seed).uniform(lo, hi, shape)
    return engine.tensor(a), torch.tensor(a)


def _close(e, t, rtol=1e-10, atol=1e-12):
    if isinstance(t, (tuple, list)):
        assert isinstance(e, (tuple, list)) and len(e) == len(t)
        for a, b in zip(e, t):
            _close(a, b, rtol, atol)
        return
    assert tuple(e.shape) == tuple(t.shape), (e.shape, t.shape)
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


def f_scalar(M):
    return lambda x, y: (M.sin(x) * y.exp()).sum() + (x * x * y).sum()


def f_vec(M):
    return lambda x, y: M.tanh(x) * y + x.pow(3)


# ----------------------------------------------------------------- func
@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,)])
def test_grad_argnums(argnums):
    xe, xt = _pair((3,), 1)
    ye, yt = _pair((3,), 2)
    _close(engine.func.grad(f_scalar(engine), argnums)(xe, ye),
           TF.grad(f_scalar(torch), argnums)(xt, yt))


def test_grad_has_aux_and_value():
    def f(M):
        return lambda x: ((x ** 2).sum(), {"m": x.mean()})
    xe, xt = _pair((4,), 3)
    ge, aux_e = engine.func.grad(f(engine), has_aux=True)(xe)
    gt, aux_t = TF.grad(f(torch), has_aux=True)(xt)
    _close(ge, gt)
    _close(aux_e["m"], aux_t["m"])
    (ge, (ve, ae)) = engine.func.grad_and_value(f(engine), has_aux=True)(xe)
    (gt, (vt, at)) = TF.grad_and_value(f(torch), has_aux=True)(xt)
    _close(ge, gt), _close(ve, vt), _close(ae["m"], at["m"])
    assert not ge.requires_grad and not ve.requires_grad


def test_grad_rejects_non_scalar_and_unused_input_gives_zeros():
    with pytest.raises(RuntimeError, match="scalar Tensor"):
        engine.func.grad(lambda x: x * 2)(engine.ones(3))
    g = engine.func.grad(lambda x, y: x.sum(), argnums=1)(engine.ones(2), engine.ones(3))
    assert g.tolist() == [0.0, 0.0, 0.0]


def test_grad_of_grad_and_under_no_grad():
    xe, xt = _pair((3,), 4)
    f = lambda M: (lambda x: (M.sin(x) * x).sum())
    gg_e = engine.func.grad(lambda x: engine.func.grad(f(engine))(x).sum())(xe)
    gg_t = TF.grad(lambda x: TF.grad(f(torch))(x).sum())(xt)
    _close(gg_e, gg_t)
    with engine.no_grad():
        _close(engine.func.grad(f(engine))(xe), TF.grad(f(torch))(xt))


def test_vjp_and_jvp():
    xe, xt = _pair((3,), 5)
    ye, yt = _pair((3,), 6)
    ve, vt = _pair((3,), 7)
    oe, fe = engine.func.vjp(f_vec(engine), xe, ye)
    ot, ft = TF.vjp(f_vec(torch), xt, yt)
    _close(oe, ot)
    _close(fe(ve), ft(vt))
    _close(fe(ve * 2), ft(vt * 2))  # callable more than once
    _close(engine.func.jvp(f_vec(engine), (xe, ye), (ve, ve)),
           TF.jvp(f_vec(torch), (xt, yt), (vt, vt)))
    _close(engine.autograd.functional.jvp(f_vec(engine), (xe, ye), (ve, ve)),
           torch.autograd.functional.jvp(f_vec(torch), (xt, yt), (vt, vt)))
    _close(engine.autograd.functional.jvp(engine.sin, xe, ve),
           torch.autograd.functional.jvp(torch.sin, xt, vt))


def test_vjp_has_aux_and_cotangent_shape_error():
    xe, xt = _pair((2,), 8)
    oe, fe, ae = engine.func.vjp(lambda x: (x.exp(), x.sum()), xe, has_aux=True)
    ot, ft, at = TF.vjp(lambda x: (x.exp(), x.sum()), xt, has_aux=True)
    _close(ae, at)
    _close(fe(engine.ones(2, dtype=engine.float64)), ft(torch.ones(2, dtype=torch.float64)))
    with pytest.raises(RuntimeError, match="shape"):
        fe(engine.ones(3, dtype=engine.float64))


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
def test_jacobians(jac):
    xe, xt = _pair((3,), 9)
    ye, yt = _pair((3,), 10)
    _close(getattr(engine.func, jac)(f_vec(engine), argnums=(0, 1))(xe, ye),
           getattr(TF, jac)(f_vec(torch), argnums=(0, 1))(xt, yt))
    me, mt = _pair((2, 3), 11)
    _close(getattr(engine.func, jac)(lambda m: m @ ye)(me), getattr(TF, jac)(lambda m: m @ yt)(mt))


def test_hessian():
    xe, xt = _pair((4,), 12)
    f = lambda M: (lambda x: (M.sin(x) * x.pow(2)).sum() + x.prod())
    _close(engine.func.hessian(f(engine))(xe), TF.hessian(f(torch))(xt))


def test_vmap_in_out_dims():
    ae, at = _pair((4, 3), 13)
    be, bt = _pair((3, 4), 14)
    _close(engine.func.vmap(engine.dot, in_dims=(0, 1))(ae, be),
           TF.vmap(torch.dot, in_dims=(0, 1))(at, bt))
    ce, ct = _pair((3,), 15)
    f = lambda x, y: (x * y, x.sum())
    _close(engine.func.vmap(f, in_dims=(1, None), out_dims=(1, 0))(be, ce),
           TF.vmap(f, in_dims=(1, None), out_dims=(1, 0))(bt, ct))
    # nested tuple in_dims
    g = lambda p, z: p[0] * p[1] + z
    _close(engine.func.vmap(g, in_dims=((0, None), 0))((ae, ce), ae),
           TF.vmap(g, in_dims=((0, None), 0))((at, ct), at))
    # nested vmap = outer product
    _close(engine.func.vmap(engine.func.vmap(engine.mul, (None, 0)), (0, None))(ce, ce),
           TF.vmap(TF.vmap(torch.mul, (None, 0)), (0, None))(ct, ct))
    assert engine.vmap is engine.func.vmap


def test_vmap_errors_and_grads():
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        engine.func.vmap(engine.add)(engine.ones(2, 3), engine.ones(3, 3))
    with pytest.raises(ValueError, match="in_dim"):
        engine.func.vmap(engine.sin, in_dims=2)(engine.ones(2, 3))
    # per-sample gradients: vmap(grad)
    we, wt = _pair((3,), 16)
    xe, xt = _pair((5, 3), 17)
    loss = lambda w, x: (w * x).sum().pow(2)
    _close(engine.func.vmap(engine.func.grad(loss), in_dims=(None, 0))(we, xe),
           TF.vmap(TF.grad(loss), in_dims=(None, 0))(wt, xt))
    # gradients flow through vmap to outer autograd
    w = engine.tensor(we.numpy(), requires_grad=True)
    engine.func.vmap(lambda x: (w * x).sum())(xe).sum().backward()
    wt2 = wt.clone().requires_grad_()
    TF.vmap(lambda x: (wt2 * x).sum())(xt).sum().backward()
    _close(w.grad, wt2.grad)


def test_vmap_randomness_same():
    out = engine.func.vmap(lambda x: x + engine.rand(2), randomness="same")(engine.zeros(3, 2))
    assert np.allclose(out.numpy()[0], out.numpy()[1])
    out = engine.func.vmap(lambda x: x + engine.rand(2), randomness="different")(
        engine.zeros(3, 2))
    assert not np.allclose(out.numpy()[0], out.numpy()[1])


def _twin_linear(seed=0):
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(2).astype(
        np.float32)
    le, lt = engine.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    with engine.no_grad():
        le.weight.copy_(engine.tensor(w)), le.bias.copy_(engine.tensor(b))
    with torch.no_grad():
        lt.weight.copy_(torch.tensor(w)), lt.bias.copy_(torch.tensor(b))
    return le, lt


def test_functional_call_swaps_and_restores():
    le, lt = _twin_linear()
    w0 = le.weight
    pe = {"weight": engine.ones(2, 3), "bias": engine.zeros(2)}
    pt = {"weight": torch.ones(2, 3), "bias": torch.zeros(2)}
    xe, xt = engine.ones(4, 3), torch.ones(4, 3)
    _close(engine.func.functional_call(le, pe, (xe,)), TF.functional_call(lt, pt, (xt,)),
           1e-6, 1e-6)
    _close(engine.func.functional_call(le, pe, xe), TF.functional_call(lt, pt, xt), 1e-6, 1e-6)
    assert le.weight is w0
    with pytest.raises(RuntimeError):
        engine.func.functional_call(le, pe, (engine.ones(4, 5),))
    assert le.weight is w0 and isinstance(le.weight, engine.nn.Parameter)
    # gradient w.r.t. the passed parameters (the model-ensembling recipe)
    ge = engine.func.grad(lambda p: engine.func.functional_call(le, p, (xe,)).sum())(pe)
    gt = TF.grad(lambda p: TF.functional_call(lt, p, (xt,)).sum())(pt)
    _close(ge["weight"], gt["weight"], 1e-6, 1e-6)
    _close(ge["bias"], gt["bias"], 1e-6, 1e-6)


def test_stack_module_state_and_ensemble():
    pairs = [_twin_linear(s) for s in range(3)]
    pe, be = engine.func.stack_module_state([p[0] for p in pairs])
    pt, bt = TF.stack_module_state([p[1] for p in pairs])
    assert set(pe) == set(pt) and be == {} and bt == {}
    for k in pe:
        _close(pe[k], pt[k], 1e-6, 1e-6)
        assert pe[k].requires_grad and pe[k].is_leaf
    xe, xt = engine.ones(5, 3), torch.ones(5, 3)
    base_e, base_t = pairs[0][0], pairs[0][1]
    oe = engine.func.vmap(lambda p: engine.func.functional_call(base_e, p, (xe,)))(pe)
    ot = TF.vmap(lambda p: TF.functional_call(base_t.to("meta"), p, (xt,)))(pt)
    _close(oe, ot, 1e-5, 1e-5)


# ----------------------------------------------------------------- custom Function
def test_function_setup_context_style_and_gradcheck():
    class Cube(engine.autograd.Function):
        @staticmethod
        def forward(x, k):
            return x ** 3 * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.save_for_backward(x)
            ctx.k = k

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return 3 * x * x * g * ctx.k, None

    x = engine.tensor([0.5, -1.5], dtype=engine.float64, requires_grad=True)
    assert engine.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), (x,))
    assert engine.autograd.gradgradcheck(lambda t: Cube.apply(t, 2.0), (x,))
    # works under engine.func too
    g = engine.func.grad(lambda t: Cube.apply(t, 2.0).sum())(x.detach())
    assert np.allclose(g.numpy(), 6 * x.detach().numpy() ** 2)


def test_function_non_differentiable_and_materialize():
    seen = {}

    class SortLike(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            ctx.set_materialize_grads(False)
            return x * 2, idx, x * 3

        @staticmethod
        def backward(ctx, ga, gi, gb):
            seen["args"] = (ga is None, gi is None, gb is None)
            out = 0
            if ga is not None:
                out = out + 2 * ga
            if gb is not None:
                out = out + 3 * gb
            return out

    x = engine.ones(3, requires_grad=True)
    a, i, b = SortLike.apply(x)
    assert not i.requires_grad and a.requires_grad
    a.sum().backward()
    assert seen["args"] == (False, True, True)
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_function_mark_dirty_and_vjp_alias_and_once_differentiable():
    class Double_(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def vjp(ctx, g):
            return g * 2

    x = engine.ones(2, requires_grad=True)
    y = x * 1
    z = Double_.apply(y)
    assert z is y and type(z.grad_fn).__name__ == "Double_Backward"
    z.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="leaf Variable"):
        Double_.apply(engine.ones(2, requires_grad=True))

    class Sq(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @engine.autograd.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = engine.tensor([3.0], requires_grad=True)
    (g,) = engine.autograd.grad(Sq.apply(x), x, engine.ones(1, requires_grad=True),
                                create_graph=True)
    assert g.tolist() == [6.0]
    with pytest.raises(RuntimeError, match="once_differentiable"):
        g.sum().backward()


def test_function_wrong_grad_count_and_shape():
    class Bad(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    x = engine.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(x, x).sum().backward()

    class BadShape(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return engine.ones(5)

    with pytest.raises(RuntimeError, match="invalid gradient at index 0"):
        BadShape.apply(engine.ones(2, requires_grad=True)).sum().backward()


# ----------------------------------------------------------------- amp
def test_autocast_cpu_float16_matches_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3)).astype(np.float32)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    res = {}
    for M, FF in ((engine, F), (torch, TNF)):
        A, W = M.tensor(a), M.tensor(w, requires_grad=True)
        with M.autocast("cpu", dtype=M.float16):
            y = FF.linear(A, W)
            z = A @ W.t()
            loss = FF.mse_loss(y, M.zeros(4, 5))
            ce = FF.cross_entropy(y, M.tensor([0, 1, 2, 3]))
            cat = M.cat([y, A[:, :1].repeat(1, 5)])
            assert M.is_autocast_enabled("cpu")
        loss.backward()
        res[M.__name__] = (y, z, loss, ce, cat, W.grad)
    for e, t in zip(res["engine"], res["torch"]):
        assert str(e.dtype) == str(t.dtype), (e.dtype, t.dtype)
        np.testing.assert_allclose(e.detach().float().numpy(), t.detach().float().numpy(),
                                   rtol=2e-3, atol=2e-3)
    assert not engine.is_autocast_enabled("cpu")


def test_autocast_decorator_disabled_region_and_float64():
    @engine.autocast("cpu", dtype=engine.float16)
    def f(x):
        with engine.autocast("cpu", enabled=False):
            inner = (x @ x).dtype
        return (x @ x).dtype, inner, (x.double() @ x.double()).dtype

    assert f(engine.ones(2, 2)) == (engine.float16, engine.float32, engine.float64)


def test_autocast_cpu_default_warns_once_and_cuda_without_gpu():
    import engine.amp.autocast_mode as am
    am._warned.clear()
    with pytest.warns(UserWarning, match="bfloat16"), engine.autocast("cpu"):
        assert (engine.ones(2, 2) @ engine.ones(2, 2)).dtype == engine.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with engine.amp.autocast("cpu"):  # second time: silent
            pass
    if not engine.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            with engine.autocast("cuda"):
                pass
    with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
        engine.autocast("tpu")
    with pytest.warns(FutureWarning):
        engine.cpu.amp.autocast(dtype=engine.float16)
    with pytest.warns(FutureWarning):
        engine.cuda.amp.autocast(enabled=False)


def _scaler_loop(M, steps, init_scale, growth_interval, inf_at):
    rng = np.random.default_rng(1)
    w1 = rng.standard_normal((4, 3)).astype(np.float32) * 0.5
    w2 = rng.standard_normal((1, 4)).astype(np.float32) * 0.5
    model = M.nn.Sequential(M.nn.Linear(3, 4), M.nn.Tanh(), M.nn.Linear(4, 1))
    with M.no_grad():
        model[0].weight.copy_(M.tensor(w1)), model[0].bias.zero_()
        model[2].weight.copy_(M.tensor(w2)), model[2].bias.zero_()
    opt = M.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = M.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=growth_interval)
    x = M.tensor(rng.standard_normal((8, 3)).astype(np.float32))
    y = M.tensor(rng.standard_normal((8, 1)).astype(np.float32))
    scales, skipped = [], []
    for i in range(steps):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        if i in inf_at:
            loss = loss * float("inf")
        scaler.scale(loss).backward()
        if i % 3 == 0:
            scaler.unscale_(opt)
            M.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        before = model[0].weight.detach().clone()
        scaler.step(opt)
        skipped.append(bool((model[0].weight == before).all()))
        scaler.update()
        scales.append(scaler.get_scale())
    return [p.detach().numpy() for p in model.parameters()], scales, skipped, scaler.state_dict()


def test_grad_scaler_loop_matches_torch():
    pe, se, ke, de = _scaler_loop(engine, 12, 2.0 ** 10, 3, {2, 7})
    pt, st, kt, dt = _scaler_loop(torch, 12, 2.0 ** 10, 3, {2, 7})
    assert se == st and ke == kt and de == dt
    assert ke[2] and ke[7] and not ke[3]
    for a, b in zip(pe, pt):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_grad_scaler_api():
    s = engine.amp.GradScaler("cpu", init_scale=8.0)
    assert s.is_enabled() and s.get_scale() == 8.0
    opt = engine.optim.SGD([engine.nn.Parameter(engine.ones(2))], lr=0.1)
    with pytest.raises(AssertionError, match="_scale is None"):
        s.step(opt)
    s.scale(engine.ones(1))
    s.update(new_scale=4.0)
    assert s.get_scale() == 4.0
    s2 = engine.amp.GradScaler("cpu")
    s2.load_state_dict(s.state_dict())
    assert s2.state_dict() == s.state_dict()
    off = engine.amp.GradScaler("cpu", enabled=False)
    assert off.state_dict() == {} and off.get_scale() == 1.0
    x = engine.ones(2)
    assert off.scale(x) is x
    with pytest.raises(RuntimeError, match="empty"):
        s2.load_state_dict({})
    if not engine.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            assert not engine.amp.GradScaler().is_enabled()
    p = engine.nn.Parameter(engine.ones(2))
    p.grad = engine.ones(2)
    opt = engine.optim.SGD([p], lr=0.1)
    s.scale(engine.ones(1))
    s.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called"):
        s.unscale_(opt)


# ----------------------------------------------------------------- backends & co
def test_backends_flags_compile_deterministic():
    b = engine.backends
    assert b.mps.is_available() is False and b.mps.is_built() is False
    assert b.mkldnn.is_available() is False and isinstance(b.cudnn.is_available(), bool)
    b.cudnn.benchmark = True
    assert engine.backends.cudnn.benchmark is True
    b.cudnn.benchmark = False
    b.cuda.matmul.allow_tf32 = True
    assert engine.backends.cuda.matmul.allow_tf32
    b.cuda.matmul.allow_tf32 = False
    assert b.opt_einsum.enabled in (True, False)
    m = engine.nn.Linear(2, 2)
    assert engine.compile(m) is m
    assert engine.compile(mode="max-autotune")(m) is m
    engine.use_deterministic_algorithms(True)
    assert engine.are_deterministic_algorithms_enabled()
    engine.use_deterministic_algorithms(False)
    assert not engine.are_deterministic_algorithms_enabled()


def test_profiler_records_blocks_and_ops(tmp_path):
    from engine.profiler import ProfilerActivity, profile, record_function
    m = engine.nn.Linear(3, 2)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("model_inference"):
            m(engine.ones(4, 3))
            m(engine.ones(4, 3))
    ka = {e.key: e for e in prof.key_averages()}
    assert ka["model_inference"].count == 1 and ka["aten::linear"].count == 2
    assert ka["model_inference"].cpu_time_total >= ka["aten::linear"].cpu_time_total
    assert ka["model_inference"].self_cpu_time_total <= ka["model_inference"].cpu_time_total
    table = prof.key_averages().table(sort_by="cpu_time_total", row_limit=1)
    assert "model_inference" in table and "aten::linear" not in table and "# of Calls" in table
    shaped = prof.key_averages(group_by_input_shape=True).table(sort_by="self_cpu_time_total")
    assert "[[4, 3], [2, 3], [2]]" in shaped
    prof.export_chrome_trace(str(tmp_path / "t.json"))
    assert (tmp_path / "t.json").read_text().startswith("{")
    with engine.autograd.profiler.profile() as p2:
        with engine.autograd.profiler.record_function("blk"):
            engine.ones(2) + 1
    assert "blk" in str(p2)
    with record_function("outside"):  # no active profile: a no-op
        pass


def test_profiler_schedule_calls_trace_handler_per_cycle():
    from engine.profiler import ProfilerActivity, profile, schedule
    tp = torch.profiler
    seen = {}
    for M, P in ((engine, engine.profiler), (torch, tp)):
        calls = []
        m = M.nn.Linear(3, 2)
        with P.profile(activities=[P.ProfilerActivity.CPU],
                       schedule=P.schedule(wait=1, warmup=1, active=2, repeat=2),
                       on_trace_ready=lambda p: calls.append(p.step_num)) as prof:
            for _ in range(10):
                m(M.ones(1, 3))
                prof.step()
        seen[M.__name__] = calls
    assert seen["engine"] == seen["torch"] == [4, 8]
    assert profile is engine.profiler.profile and schedule and ProfilerActivity


def test_linearize_functionalize_replace_bn():
    xe, xt = _pair((3,), 21)
    ve, vt = _pair((3,), 22)
    oe, fe = engine.func.linearize(f_vec(engine), xe, xe)
    ot, ft = TF.linearize(f_vec(torch), xt, xt)
    _close(oe, ot)
    _close(fe(ve, ve), ft(vt, vt))
    f = lambda x: x * 2  # noqa: E731
    assert engine.func.functionalize(f) is f
    m = engine.nn.Sequential(engine.nn.Linear(3, 3), engine.nn.BatchNorm1d(3))
    engine.func.replace_all_batch_norm_modules_(m)
    assert m[1].running_mean is None and not m[1].track_running_stats
    assert m(engine.randn(4, 3)).shape == (4, 3)
