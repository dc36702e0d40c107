"""nn.Module API: registration, traversal, state_dict, modes, conversion, hooks, reprs and
containers (reprs and error texts compared with torch's when torch is installed)."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import engine
from engine import nn
from engine.nn.parameter import Parameter


class Net(nn.Module):
    def __init__(self, lib=nn):
        super().__init__()
        self.fc1 = lib.Linear(4, 3)
        self.act = lib.ReLU()
        self.block = lib.Sequential(lib.Linear(3, 3), lib.Tanh())
        self.register_buffer("steps", engine.zeros(1) if lib is nn else None)
        self.register_buffer("scratch", engine.ones(2) if lib is nn else None, persistent=False)

    def forward(self, x):
        return self.block(self.act(self.fc1(x)))


def test_parameter_basics():
    p = Parameter(engine.randn(2, 3))
    assert isinstance(p, engine.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not Parameter(engine.zeros(2), requires_grad=False).requires_grad
    q = copy.deepcopy(p)
    assert type(q) is Parameter and q is not p and np.array_equal(q.detach().numpy(),
                                                                  p.detach().numpy())
    r = pickle.loads(pickle.dumps(p))
    assert type(r) is Parameter and r.requires_grad
    t = engine.ones(3)
    assert Parameter(t).data_ptr() == t.data_ptr()  # shares storage, like torch
    assert Parameter().shape == (0,)


def test_registration_and_traversal():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "block.0.weight", "block.0.bias"]
    assert [n for n, _ in net.named_buffers()] == ["steps", "scratch"]
    assert [n for n, _ in net.named_children()] == ["fc1", "act", "block"]
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "block", "block.0",
                                                   "block.1"]
    assert [n for n, _ in net.named_parameters(prefix="m", recurse=False)] == []
    assert [n for n, _ in net.fc1.named_parameters(prefix="m")] == ["m.weight", "m.bias"]
    assert len(list(net.parameters())) == 4 and len(list(net.buffers(recurse=False))) == 2
    assert len(list(net.modules())) == 6 and len(list(net.children())) == 3
    net.extra = nn.Parameter(engine.zeros(1))
    assert "extra" in dict(net.named_parameters())
    net.extra = None
    assert net.extra is None and "extra" not in dict(net.named_parameters())
    del net.extra
    net.register_parameter("p2", None)
    net.add_module("head", nn.Linear(3, 1))
    net.register_module("head2", None)
    assert [n for n, _ in net.named_children()][-1] == "head"
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' as parameter 'weight'"):
        net.fc1.weight = engine.zeros(3, 4)
    with pytest.raises(TypeError, match="as child module 'act'"):
        net.act = 3
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        net.register_buffer("training", engine.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        net.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="is not a Module subclass"):
        net.add_module("x", 3)


def test_shared_modules_and_remove_duplicate():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in seq.named_modules(remove_duplicate=False)] == ["", "0", "1"]
    assert [n for n, _ in seq.named_modules()] == ["", "0"]


def test_getattr_setattr_delattr_dir():
    net = Net()
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'foo'"):
        _ = net.foo
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'foo'"):
        _ = nn.Linear(1, 1).foo
    net.steps = engine.full((1,), 5.0)  # buffer reassignment stays a buffer
    assert net.state_dict()["steps"].item() == 5.0
    d = dir(net)
    assert "fc1" in d and "steps" in d and "forward" in d
    del net.steps
    assert "steps" not in net.state_dict()
    with pytest.raises(AttributeError):
        del net.nothing_here
    assert net.get_submodule("block.0") is net.block[0]
    assert net.get_parameter("block.0.bias") is net.block[0].bias
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        net.get_submodule("block.nope")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        net.get_parameter("fc1.in_features")


def test_forward_missing():
    class Foo(nn.Module):
        pass
    with pytest.raises(NotImplementedError, match=r'Module \[Foo\] is missing the required '
                                                  r'"forward" function'):
        Foo()(engine.zeros(1))


def test_state_dict_round_trip_and_metadata():
    a, b = Net(), Net()
    sd = a.state_dict()
    assert list(sd) == ["steps", "fc1.weight", "fc1.bias", "block.0.weight", "block.0.bias"]
    assert not sd["fc1.weight"].requires_grad and type(sd["fc1.weight"]) is engine.Tensor
    assert sd._metadata[""] == {"version": 1} and "block.0" in sd._metadata
    assert a.state_dict(keep_vars=True)["fc1.weight"] is a.fc1.weight
    res = b.load_state_dict(sd)
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), sd[k].numpy())
    w = b.fc1.weight
    b.load_state_dict(Net().state_dict())
    assert b.fc1.weight is w  # loaded in place


def test_load_state_dict_errors_match_torch_text():
    lin = nn.Linear(3, 2)
    sd = OrderedDict(weight=engine.zeros(2, 2), foo=engine.zeros(1))
    with pytest.raises(RuntimeError) as ei:
        lin.load_state_dict(sd)
    msg = str(ei.value)
    expected = ('Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: '
                '"bias". \n\tUnexpected key(s) in state_dict: "foo". \n\tsize mismatch for '
                'weight: copying a param with shape torch.Size([2, 2]) from checkpoint, the '
                'shape in current model is torch.Size([2, 3]).')
    assert msg == expected
    res = lin.load_state_dict({"weight": engine.ones(2, 3), "foo": engine.ones(1)}, strict=False)
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["foo"]
    assert repr(res) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['foo'])"
    assert lin.weight.detach().numpy().sum() == 6
    torch = pytest.importorskip("torch")
    tl = torch.nn.Linear(3, 2)
    with pytest.raises(RuntimeError) as et:
        tl.load_state_dict({"weight": torch.zeros(2, 2), "foo": torch.zeros(1)})
    assert str(et.value) == expected
    tres = tl.load_state_dict({"weight": torch.ones(2, 3), "foo": torch.ones(1)}, strict=False)
    assert repr(tres) == repr(res)


def test_load_from_torch_state_dict():
    torch = pytest.importorskip("torch")
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    enet = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    enet.load_state_dict({k: engine.tensor(v.detach().numpy()) for k, v in
                          tnet.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(enet(engine.tensor(x)).detach().numpy(),
                               tnet(torch.tensor(x)).detach().numpy(), atol=1e-6)
    enet.load_state_dict(tnet.state_dict())  # torch tensors are converted too


def test_train_eval_zero_grad_requires_grad_apply():
    net = Net()
    assert net.training and net.block[1].training
    assert net.eval() is net and not net.block[1].training
    net.train()
    assert net.block[0].training
    with pytest.raises(ValueError):
        net.train("yes")
    net(engine.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Linear", "Tanh", "Sequential", "Net"]


def test_to_dtype_and_conversions():
    net = Net()
    w = net.fc1.weight
    net.double()
    assert net.fc1.weight is w and w.dtype == engine.float64 and w.requires_grad
    assert net.steps.dtype == engine.float64
    net.to(engine.float32)
    assert w.dtype == engine.float32
    net.to("cpu").cpu().float()
    net.to(dtype=engine.float64)
    assert w.dtype == engine.float64
    net.half()
    assert w.dtype == engine.float16
    net.float()
    with pytest.raises(TypeError, match="floating point"):
        net.to(engine.int64)
    y = net(engine.randn(2, 4))
    assert y.dtype == engine.float32


def test_forward_hooks():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append("post") or out + 1)
    out = lin(engine.ones(1, 2))
    assert calls == ["pre", "post"]
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None] + 1,
                               rtol=1e-6)
    h1.remove()
    h2.remove()
    out = lin(engine.zeros(1, 2))
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None])
    h = lin.register_forward_hook(lambda m, a, kw, o: o * 2, with_kwargs=True)
    np.testing.assert_allclose(lin(engine.zeros(1, 2)).detach().numpy(),
                               2 * lin.bias.detach().numpy()[None])
    h.remove()


def test_full_backward_hook_vs_torch():
    torch = pytest.importorskip("torch")

    def run(lib, mk):
        lin = lib.Linear(3, 2)
        lin.load_state_dict({"weight": mk(np.arange(6.0).reshape(2, 3) / 7),
                             "bias": mk(np.array([0.1, 0.2]))})
        seen = []
        h = lin.register_full_backward_hook(
            lambda m, gi, go: seen.append((gi[0].tolist(), go[0].tolist())) or (gi[0] * 2,))
        x = mk(np.ones((2, 3))).requires_grad_(True)
        (lin(x) ** 2).sum().backward()
        h.remove()
        lin(x).sum().backward()  # removed: no call
        return seen, x.grad.tolist()
    e = run(nn, lambda v: engine.tensor(v, dtype=engine.float32))
    t = run(torch.nn, lambda v: torch.tensor(v, dtype=torch.float32))
    assert len(e[0]) == len(t[0]) == 1
    np.testing.assert_allclose(e[0][0][0], t[0][0][0], rtol=1e-6)
    np.testing.assert_allclose(e[0][0][1], t[0][0][1], rtol=1e-6)
    np.testing.assert_allclose(e[1], t[1], rtol=1e-6)


def _torch_lib():
    torch = pytest.importorskip("torch")
    return torch, torch.nn


def _repr_pairs(lib):
    return [
        lib.Linear(784, 256),
        lib.Linear(3, 2, bias=False),
        lib.Sequential(lib.Linear(784, 256), lib.ReLU(), lib.Dropout(0.2),
                       lib.Sequential(lib.Linear(256, 10), lib.LogSoftmax(dim=1))),
        lib.Sequential(OrderedDict([("fc", lib.Linear(2, 2)), ("act", lib.GELU("tanh"))])),
        lib.ModuleList([lib.Linear(2, 2), lib.Linear(2, 2), lib.ReLU(), lib.Linear(2, 2)]),
        lib.ModuleDict({"a": lib.ReLU(inplace=True), "b": lib.LeakyReLU(0.2, inplace=True)}),
        lib.ModuleList(),
        lib.Embedding(10, 3, padding_idx=0, max_norm=1.0),
        lib.LayerNorm(8), lib.LayerNorm((4, 5), elementwise_affine=False), lib.GroupNorm(2, 4),
        lib.Flatten(), lib.Unflatten(1, (2, 5)), lib.Identity(), lib.Bilinear(2, 3, 4),
        lib.ELU(alpha=0.5), lib.CELU(), lib.SELU(), lib.Hardtanh(-2.0, 2.0), lib.ReLU6(),
        lib.Softplus(beta=2.0), lib.Softmax(dim=-1), lib.Softmin(1), lib.Threshold(0.1, 20),
        lib.PReLU(3), lib.Hardswish(), lib.Hardsigmoid(), lib.SiLU(), lib.Mish(),
        lib.Sigmoid(), lib.Tanh(), lib.Dropout2d(), lib.CrossEntropyLoss(), lib.MSELoss(),
        lib.Hardshrink(), lib.GLU(), lib.RMSNorm(4),
    ]


def _custom(lib):
    class Custom(lib.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = lib.Linear(4, 3)
            self.block = lib.Sequential(lib.Linear(3, 3), lib.Tanh())
            self.heads = lib.ModuleList([lib.Linear(3, 1) for _ in range(3)])

        def extra_repr(self):
            return "custom=1\nsecond line"
    return Custom()


def test_reprs_match_torch():
    _, tnn = _torch_lib()
    for e, t in zip(_repr_pairs(nn), _repr_pairs(tnn)):
        assert repr(e) == repr(t)
    assert repr(_custom(nn)) == repr(_custom(tnn))
    assert repr(nn.Linear(2, 2).extra_repr()) == repr(tnn.Linear(2, 2).extra_repr())


def test_param_containers_repr_and_api():
    torch, tnn = _torch_lib()
    pl = nn.ParameterList([nn.Parameter(engine.zeros(2, 3)), engine.ones(4)])
    tpl = tnn.ParameterList([tnn.Parameter(torch.zeros(2, 3)), torch.ones(4)])
    assert repr(pl) == repr(tpl)
    assert isinstance(pl[1], Parameter) and len(pl) == 2
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"a": engine.zeros(2), "b": nn.Parameter(engine.ones(1, 2))})
    tpd = tnn.ParameterDict({"a": torch.zeros(2), "b": tnn.Parameter(torch.ones(1, 2))})
    assert repr(pd) == repr(tpd)
    assert list(pd.keys()) == ["a", "b"] and "a" in pd and isinstance(pd["a"], Parameter)
    del pd["a"]
    assert list(dict(pd.named_parameters())) == ["b"]


def test_sequential_api():
    a, b, c, d = nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 3), nn.Tanh()
    s = nn.Sequential(a, b, c)
    assert s[0] is a and s[-1] is c and len(s) == 3 and list(s) == [a, b, c]
    sl = s[1:]
    assert isinstance(sl, nn.Sequential) and list(sl) == [b, c]
    assert list(sl._modules) == ["1", "2"]  # torch keeps keys when slicing
    s.append(d)
    assert s[3] is d
    s.insert(0, nn.Identity())
    assert isinstance(s[0], nn.Identity) and s[1] is a
    assert s.pop(0).__class__ is nn.Identity
    del s[1]
    assert list(s) == [a, c, d] and list(s._modules) == ["0", "1", "2"]
    s.extend([nn.Sigmoid()])
    s[0] = nn.Linear(1, 2)
    assert len(s) == 4 and s[0] is not a
    with pytest.raises(IndexError):
        s[10]
    y = nn.Sequential(nn.Linear(1, 2), nn.ReLU())(engine.ones(3, 1))
    assert y.shape == (3, 2)
    assert len(s + nn.Sequential(b)) == 5


def test_modulelist_moduledict_api():
    ml = nn.ModuleList([nn.ReLU(), nn.Tanh()])
    ml.append(nn.Sigmoid())
    ml.extend([nn.Identity()])
    ml.insert(1, nn.SiLU())
    assert [type(m).__name__ for m in ml] == ["ReLU", "SiLU", "Tanh", "Sigmoid", "Identity"]
    assert isinstance(ml[-1], nn.Identity) and isinstance(ml[1:3], nn.ModuleList)
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2", "3"]
    md = nn.ModuleDict({"x": nn.ReLU()})
    md["y"] = nn.Tanh()
    md.update([("z", nn.Sigmoid())])
    assert list(md.keys()) == ["x", "y", "z"] and "y" in md and len(md) == 3
    assert isinstance(md.pop("x"), nn.ReLU) and list(md) == ["y", "z"]


def test_deepcopy_module():
    net = Net()
    c = copy.deepcopy(net)
    assert c.fc1.weight is not net.fc1.weight and type(c.fc1.weight) is Parameter
    np.testing.assert_array_equal(c.fc1.weight.detach().numpy(), net.fc1.weight.detach().numpy())
    with engine.no_grad():
        c.fc1.weight.fill_(0.0)
    assert float(net.fc1.weight.detach().abs().sum()) > 0
