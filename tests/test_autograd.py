"""Autograd semantics, one test per bullet of PyTorch's documented behaviour."""

import gc

import numpy as np
import pytest

import engine
from engine.autograd import Function, grad, gradcheck, gradgradcheck


def test_seed_example():
    x = engine.tensor([[1.0, 0.0], [-1.0, 1.0]], requires_grad=True)
    z = x.pow(2).sum()
    z.backward()
    assert x.grad.tolist() == [[2, 0], [-2, 2]]
    assert x.is_leaf and not z.is_leaf
    assert type(z.grad_fn).__name__ == "SumBackward0"
    assert z.grad_fn.name() == "SumBackward0"
    assert type(z.grad_fn.next_functions[0][0]).__name__ == "PowBackward0"
    assert repr(z) == "tensor(3., grad_fn=<SumBackward0>)"


def test_grads_accumulate_and_nonleaf_grad_is_none():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    (y.sum()).backward(retain_graph=True)
    (y.sum()).backward()
    assert x.grad.tolist() == [6.0, 6.0]
    assert y.grad is None


def test_retain_grad():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0]


def test_nonscalar_backward_needs_gradient():
    x = engine.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar"):
        (x * 2).backward()
    (x * 2).backward(engine.tensor([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_second_backward_through_freed_graph_raises():
    x = engine.ones(2, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_no_grad_and_friends():
    x = engine.ones(2, requires_grad=True)
    with engine.no_grad():
        assert not (x * 2).requires_grad
        with engine.enable_grad():
            assert (x * 2).requires_grad
    with engine.inference_mode():
        assert not (x * 2).requires_grad
    engine.set_grad_enabled(False)
    assert not (x * 2).requires_grad
    engine.set_grad_enabled(True)

    @engine.no_grad()
    def f(t):
        return t * 2
    assert not f(x).requires_grad


def test_grad_mode_is_thread_local():
    import threading
    seen = []
    with engine.no_grad():
        th = threading.Thread(target=lambda: seen.append(engine.is_grad_enabled()))
        th.start()
        th.join()
    assert seen == [True]


def test_autograd_grad_and_create_graph():
    x = engine.tensor([1.0, 2.0, 3.0], dtype=engine.float64, requires_grad=True)
    y = (x ** 3).sum()
    (g,) = grad(y, x, create_graph=True)
    assert np.allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2)
    (h,) = grad(g.sum(), x)
    assert np.allclose(h.numpy(), 6 * x.detach().numpy())
    assert x.grad is None


def test_allow_unused():
    x = engine.ones(2, requires_grad=True)
    z = engine.ones(2, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        grad(y, [x, z], retain_graph=True)
    gx, gz = grad(y, [x, z], allow_unused=True)
    assert gz is None and gx.tolist() == [2.0, 2.0]


def test_inplace_on_leaf_raises_and_version_check():
    w = engine.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w.add_(1)
    with engine.no_grad():
        w.add_(1)
    a = engine.ones(3, requires_grad=True)
    b = a.exp()
    c = b * b
    b.add_(1)  # b was saved by MulBackward0
    with pytest.raises(RuntimeError, match="MulBackward0.*version 1; expected version 0"):
        c.sum().backward()


def test_inplace_on_nonleaf_is_differentiated():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.mul_(3)
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_inplace_on_view_of_nonleaf():
    x = engine.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y[1:].mul_(10)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 10.0, 10.0]


def test_setitem_gradient_flows_to_value():
    v = engine.tensor([5.0], requires_grad=True)
    buf = engine.zeros(3)
    buf[1:2] = v * 2
    buf.sum().backward()
    assert v.grad.tolist() == [2.0]


def test_hooks():
    x = engine.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * 2
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert seen == [[20.0, 20.0]]
    assert x.grad.tolist() == [20.0, 20.0]
    calls = []
    p = engine.ones(2, requires_grad=True)
    p.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
    (p * 3).sum().backward()
    assert calls == [[3.0, 3.0]]


def test_custom_function():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    x = engine.tensor([2.0], dtype=engine.float64, requires_grad=True)
    y = Cube.apply(x)
    assert type(y.grad_fn).__name__ == "CubeBackward"
    y.backward()
    assert x.grad.tolist() == [12.0]
    assert gradcheck(Cube.apply, (x,))


def test_gradcheck_reports_mismatch():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = engine.tensor([1.0, 2.0], dtype=engine.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="input 0.*numerical 2.*analytical 3"):
        gradcheck(Wrong.apply, (x,))


@pytest.mark.parametrize("fn", [lambda t: (t * t).exp().sum(), lambda t: t.tanh() * t.sigmoid(),
                                lambda t: (t @ t.t()).log_softmax(-1),
                                lambda t: t.softmax(0) * t])
def test_gradgradcheck(fn):
    x = engine.tensor(np.random.default_rng(0).uniform(0.1, 1, (2, 3)), requires_grad=True)
    assert gradgradcheck(fn, (x,))


def test_views_grads():
    x = engine.arange(12.0).reshape(3, 4).requires_grad_()
    y = x.t()[1:, ::2].reshape(-1) * engine.arange(6.0)
    y.sum().backward()
    expected = np.zeros((3, 4))
    e = expected.T[1:, ::2]
    e[...] = np.arange(6.0).reshape(e.shape)
    assert np.array_equal(x.grad.numpy(), expected)


def test_detect_anomaly_names_forward_op():
    x = engine.tensor([0.0], requires_grad=True)
    with engine.autograd.set_detect_anomaly(True):
        y = x.sqrt() * 0
        with pytest.raises(RuntimeError, match="returned nan"):
            y.backward()


def test_memory_flat_over_long_loop():
    import engine.autograd.graph as G
    w = engine.randn(8, 8, requires_grad=True)

    def live_nodes():
        gc.collect()
        # type() rather than isinstance: dead weakproxies (torch keeps some) raise on isinstance
        return sum(1 for o in gc.get_objects() if issubclass(type(o), G.Node))

    def loop(n):
        for _ in range(n):
            loss = ((engine.randn(4, 8) @ w).relu() ** 2).mean()
            loss.backward()
            w.grad = None
    loop(10)
    before = live_nodes()   # other tests may hold graphs; only growth matters here
    loop(300)
    assert live_nodes() - before < 5


def test_gradcheck_of_view_outputs():
    # outputs that are views of the perturbed input must be copied between perturbations
    x = engine.randn(2, 3, dtype=engine.float64, requires_grad=True)
    assert gradcheck(lambda t: t.t(), (x,))
    assert gradcheck(lambda t: t[1:, ::2], (x,))
    assert gradgradcheck(lambda t: (t * t).t(), (x,))


def test_wrong_backward_of_a_view_is_caught():
    class BadT(Function):
        @staticmethod
        def forward(ctx, x):
            return x.t()

        @staticmethod
        def backward(ctx, g):
            return g.t() * 2

    x = engine.randn(2, 3, dtype=engine.float64, requires_grad=True)
    assert not gradcheck(BadT.apply, (x,), raise_exception=False)


@pytest.mark.parametrize("name", ["elu", "selu", "gelu", "silu", "mish", "softplus",
                                  "hardswish", "hardsigmoid", "leaky_relu"])
def test_float_only_activations_refuse_integers(name):
    fn = getattr(engine.nn.functional, name)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        fn(engine.tensor([1, 2]))
    assert fn(engine.tensor([1.0, 2.0])).dtype == engine.float32


# ---- multi-output views: split / chunk / unbind (one node, outputs numbered as in torch) ----
def test_split_unbind_are_one_multi_output_node():
    import pytest as _pt
    x = engine.randn(4, 3, dtype=engine.float64, requires_grad=True)
    a, b = x.split(2)
    assert type(a.grad_fn).__name__ == "SplitBackward0" and a.grad_fn is b.grad_fn
    assert (a.output_nr, b.output_nr) == (0, 1)
    assert type(x.split([1, 3])[1].grad_fn).__name__ == "SplitWithSizesBackward0"
    assert type(x.chunk(3, 1)[2].grad_fn).__name__ == "SplitBackward0"
    u = x.unbind(1)
    assert type(u[2].grad_fn).__name__ == "UnbindBackward0" and u[2].output_nr == 2
    (b * 3).sum().backward()                 # only one output used: the others' grads are 0
    np.testing.assert_array_equal(x.grad.numpy(), np.r_[np.zeros((2, 3)), 3 * np.ones((2, 3))])
    f = lambda t: t.split([1, 3])[1].exp().sum() * t.unbind(1)[0].sin().prod()  # noqa: E731
    assert engine.autograd.gradcheck(f, (x,)) and engine.autograd.gradgradcheck(f, (x,))
    y = x * 1
    with _pt.raises(RuntimeError, match="Output 0 of Split is a view and is being modified "
                                        "inplace"):
        y.split(2)[0].mul_(2)
    with _pt.raises(RuntimeError, match="Output 1 of Unbind"):
        y.unbind(0)[1].add_(1)
    with engine.no_grad():                   # no autograd: in place is fine
        y.split(2)[0].mul_(2)
    z = x.detach().clone()
    z.unbind(0)[0].fill_(5)
    assert z[0].tolist() == [5.0, 5.0, 5.0]


def test_grad_assignment_checks_size_dtype_type():
    import pytest as _pt
    x = engine.zeros(3, requires_grad=True)
    with _pt.raises(RuntimeError, match="gradient with dtype 'torch.float64' to a tensor with "
                                        "dtype 'torch.float32'"):
        x.grad = engine.zeros(3, dtype=engine.float64)
    with _pt.raises(RuntimeError, match="gradient of size '\\[4\\]' to a tensor of size"):
        x.grad = engine.zeros(4)
    with _pt.raises(TypeError, match="expected to be a Tensor or None"):
        x.grad = [1.0, 2.0, 3.0]
    assert x.grad is None                    # nothing half-assigned
    x.grad = engine.ones(3)
    x.grad = None
    assert x.grad is None
