"""Attention and Transformer layers against PyTorch: identical weights (torch's state_dict
loaded into the engine module), identical inputs, then outputs and the gradients of every
input and parameter compared; float64 finite differences on tiny sizes; torch's state_dict
keys, reprs, init and errors."""

import copy
import math
import warnings

import numpy as np
import pytest

import engine
import engine.nn.functional as F
from engine import nn
from engine.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

# both libraries warn alike (tested below); the comparisons use such masks on purpose
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")]

TOL = {np.float32: {"rtol": 1e-5, "atol": 2e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}
EDT = {np.float32: engine.float32, np.float64: engine.float64}


def _rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _pair(a, grad=True):
    """The same array as an engine tensor and a torch tensor."""
    rg = grad and a.dtype.kind == "f"
    return (engine.tensor(a, requires_grad=rg), torch.tensor(a, requires_grad=rg))


def _close(e, t, dtype=np.float64, what=""):
    assert e is not None and t is not None, what
    a = e.detach().numpy() if hasattr(e, "detach") else np.asarray(e)
    b = t.detach().numpy()
    assert a.shape == b.shape, (what, a.shape, b.shape)
    np.testing.assert_allclose(a, b, equal_nan=True, err_msg=what, **TOL[dtype])


def _backward_both(e_out, t_out, seed=99):
    """Backward of a weighted sum (non-uniform weights so every path is exercised)."""
    w = _rand(*t_out.shape, seed=seed, dtype=t_out.detach().numpy().dtype)
    (e_out * engine.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()


def _load(e_mod, t_mod):
    sd = {k: engine.tensor(v.detach().numpy().copy()) for k, v in t_mod.state_dict().items()}
    e_mod.load_state_dict(sd)
    return e_mod


def _same_param_grads(e_mod, t_mod, dtype=np.float64):
    e_params = dict(e_mod.named_parameters())
    t_params = dict(t_mod.named_parameters())
    assert list(e_params) == list(t_params)
    for name, tp in t_params.items():
        if tp.grad is None:
            assert e_params[name].grad is None, name
            continue
        _close(e_params[name].grad, tp.grad, dtype, name)


# ---- scaled_dot_product_attention -------------------------------------------------------
L_, S_ = 3, 5


def _mask(kind, dtype):
    rng = np.random.default_rng(7)
    if kind == "bool":
        m = rng.random((L_, S_)) > 0.4
        m[:, 0] = True
        return m
    if kind == "bool_batched":  # broadcast over heads
        m = rng.random((2, 1, L_, S_)) > 0.4
        m[..., 1] = True
        return m
    if kind == "bool_dead_row":  # a row where nothing takes part: zeros in torch
        m = rng.random((L_, S_)) > 0.4
        m[1] = False
        m[0, 0] = True
        return m
    if kind == "float":
        return rng.standard_normal((L_, S_)).astype(dtype)
    if kind == "float_inf":
        m = rng.standard_normal((2, 3, L_, S_)).astype(dtype)
        m[:, :, :, 2] = -np.inf
        return m
    raise AssertionError(kind)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", [None, "bool", "bool_batched", "bool_dead_row", "float",
                                  "float_inf", "causal", "causal_scale"])
def test_sdpa_masks_match_torch(kind, dtype):
    q, k, v = (_pair(_rand(2, 3, L_, 4, seed=s, dtype=dtype)) for s in (1, 2, 3))
    v = _pair(_rand(2, 3, S_, 6, seed=3, dtype=dtype))
    k = _pair(_rand(2, 3, S_, 4, seed=2, dtype=dtype))
    kw_e, kw_t = {}, {}
    if kind in ("causal", "causal_scale"):
        kw_e = kw_t = {"is_causal": True}
        if kind == "causal_scale":
            kw_e = kw_t = {"is_causal": True, "scale": 0.3}
    elif kind is not None:
        m = _mask(kind, dtype)
        kw_e, kw_t = {"attn_mask": engine.tensor(m)}, {"attn_mask": torch.tensor(m)}
    eo = F.scaled_dot_product_attention(q[0], k[0], v[0], **kw_e)
    to = torch.nn.functional.scaled_dot_product_attention(q[1], k[1], v[1], **kw_t)
    _close(eo, to, dtype, "output")
    assert np.isfinite(eo.detach().numpy()).all()
    _backward_both(eo, to)
    for (e, t), name in zip((q, k, v), "qkv"):
        _close(e.grad, t.grad, dtype, f"grad {name}")


@pytest.mark.parametrize("L,S", [(4, 2), (2, 5), (1, 1)])
def test_sdpa_causal_top_left_non_square(L, S):
    q, k, v = _pair(_rand(3, L, 4, seed=1)), _pair(_rand(3, S, 4, seed=2)), \
        _pair(_rand(3, S, 2, seed=3))
    eo = F.scaled_dot_product_attention(q[0], k[0], v[0], is_causal=True)
    to = torch.nn.functional.scaled_dot_product_attention(q[1], k[1], v[1], is_causal=True)
    _close(eo, to)
    _backward_both(eo, to)
    for (e, t), name in zip((q, k, v), "qkv"):
        _close(e.grad, t.grad, np.float64, name)


def test_sdpa_broadcast_batch_dims_and_2d():
    q = _pair(_rand(2, 1, 3, 4, seed=1))
    k, v = _pair(_rand(4, 5, 4, seed=2)), _pair(_rand(4, 5, 3, seed=3))
    eo = F.scaled_dot_product_attention(q[0], k[0], v[0])
    to = torch.nn.functional.scaled_dot_product_attention(q[1], k[1], v[1])
    assert tuple(eo.shape) == (2, 4, 3, 3)
    _close(eo, to)
    _backward_both(eo, to)
    for (e, t), name in zip((q, k, v), "qkv"):
        _close(e.grad, t.grad, np.float64, name)
    a, b, c = _rand(3, 4, seed=4), _rand(5, 4, seed=5), _rand(5, 2, seed=6)
    _close(F.scaled_dot_product_attention(*map(engine.tensor, (a, b, c))),
           torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (a, b, c))))


def test_sdpa_large_scores_stay_finite():
    a = _rand(2, 3, 4, seed=1, dtype=np.float32) * 300  # scores ~1e5: exp overflows unshifted
    e = _pair(a)
    eo = F.scaled_dot_product_attention(e[0], e[0], e[0])
    to = torch.nn.functional.scaled_dot_product_attention(e[1], e[1], e[1])
    assert np.isfinite(eo.detach().numpy()).all()
    _close(eo, to, np.float32)
    _backward_both(eo, to)
    assert np.isfinite(e[0].grad.numpy()).all()
    np.testing.assert_allclose(e[0].grad.numpy(), e[1].grad.numpy(), rtol=1e-4, atol=1e-3)


def test_sdpa_enable_gqa():
    q = _pair(_rand(1, 4, 3, 8, seed=1))
    k, v = _pair(_rand(1, 2, 5, 8, seed=2)), _pair(_rand(1, 2, 5, 8, seed=3))
    eo = F.scaled_dot_product_attention(q[0], k[0], v[0], enable_gqa=True)
    to = torch.nn.functional.scaled_dot_product_attention(q[1], k[1], v[1], enable_gqa=True)
    _close(eo, to)
    _backward_both(eo, to)
    for (e, t), name in zip((q, k, v), "qkv"):
        _close(e.grad, t.grad, np.float64, name)
    with pytest.raises(RuntimeError, match="Number of heads"):
        F.scaled_dot_product_attention(q[0], engine.zeros(1, 3, 5, 8, dtype=engine.float64),
                                       engine.zeros(1, 3, 5, 8, dtype=engine.float64),
                                       enable_gqa=True)


def test_sdpa_dropout():
    q = engine.tensor(_rand(2, 3, 4, seed=1, dtype=np.float32))
    ref = F.scaled_dot_product_attention(q, q, q)
    assert (F.scaled_dot_product_attention(q, q, q, dropout_p=1.0).numpy() == 0).all()
    engine.manual_seed(0)
    d = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5).numpy()
    assert np.isfinite(d).all() and not np.allclose(d, ref.numpy())


def test_sdpa_errors():
    q = engine.zeros(2, 3, 4)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=engine.ones(3, 3, dtype=engine.bool),
                                       is_causal=True)
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=engine.ones(3, 3,
                                                                      dtype=engine.int64))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, q.double(), q)
    with pytest.raises(RuntimeError, match=r"\(2, 3, 5\)"):
        F.scaled_dot_product_attention(q, engine.zeros(2, 3, 5), q)
    with pytest.raises(RuntimeError, match="at least 2"):
        F.scaled_dot_product_attention(engine.zeros(4), q, q)
    with pytest.raises(RuntimeError, match="broadcast"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=engine.zeros(4, 3))
    with pytest.raises(TypeError):  # scale and enable_gqa are keyword-only, as in torch
        F.scaled_dot_product_attention(q, q, q, None, 0.0, False, 0.5)


def test_sdpa_gradcheck():
    rng = np.random.default_rng(0)
    q, k, v = (engine.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, 3, 2), (2, 4, 2), (2, 4, 3)))
    mask = engine.tensor(np.array([[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 0, 1]], dtype=bool))
    fm = engine.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask),
                     (q, k, v))
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True),
                     (q, k, v))
    assert gradcheck(lambda a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m),
                     (q, k, v, fm))
    q2, k2, v2 = (engine.tensor(rng.standard_normal(s), requires_grad=True)
                  for s in ((1, 2, 2), (1, 3, 2), (1, 3, 2)))
    m2 = engine.tensor(np.array([[1, 0, 1], [0, 0, 0]], dtype=bool))  # with a dead row
    assert gradgradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=m2),
                         (q2, k2, v2))


# ---- MultiheadAttention -----------------------------------------------------------------
def _mha_pair(dtype=np.float64, seed=0, **kw):
    torch.manual_seed(seed)
    t_mod = torch.nn.MultiheadAttention(**kw)
    if kw.get("bias", True):  # torch zero-inits the biases: make them count
        with torch.no_grad():
            t_mod.in_proj_bias.normal_()
            t_mod.out_proj.bias.normal_()
    t_mod = t_mod.to(torch.float64 if dtype == np.float64 else torch.float32)
    e_mod = nn.MultiheadAttention(**kw, dtype=EDT[dtype])
    return _load(e_mod, t_mod), t_mod


MHA_CASES = {
    "plain": {"mk": {"embed_dim": 8, "num_heads": 2}},
    "batch_first": {"mk": {"embed_dim": 8, "num_heads": 2, "batch_first": True}},
    "kdim_vdim": {"mk": {"embed_dim": 8, "num_heads": 4, "kdim": 5, "vdim": 3}},
    "kdim_vdim_bf": {"mk": {"embed_dim": 8, "num_heads": 2, "kdim": 5, "vdim": 3, "batch_first": True}},
    "bias_kv": {"mk": {"embed_dim": 8, "num_heads": 2, "add_bias_kv": True}, "attn": "bool2",
                    "kpm": "bool"},
    "zero_attn": {"mk": {"embed_dim": 8, "num_heads": 2, "add_zero_attn": True}, "attn": "float3",
                      "kpm": "float"},
    "bias_kv_zero_attn": {"mk": {"embed_dim": 6, "num_heads": 3, "add_bias_kv": True,
                                      "add_zero_attn": True}, "kpm": "bool"},
    "no_bias": {"mk": {"embed_dim": 8, "num_heads": 2, "bias": False}, "attn": "float2"},
    "kpm_bool": {"mk": {"embed_dim": 8, "num_heads": 2}, "kpm": "bool"},
    "kpm_float_bf": {"mk": {"embed_dim": 8, "num_heads": 2, "batch_first": True}, "kpm": "float"},
    "attn2_kpm": {"mk": {"embed_dim": 8, "num_heads": 2}, "attn": "bool2", "kpm": "bool"},
    "no_weights": {"mk": {"embed_dim": 8, "num_heads": 2}, "attn": "bool2", "kpm": "bool",
                       "fw": {"need_weights": False}},
    "per_head": {"mk": {"embed_dim": 8, "num_heads": 2}, "attn": "float3",
                     "fw": {"average_attn_weights": False}},
    "causal_hint": {"mk": {"embed_dim": 8, "num_heads": 2}, "attn": "causal",
                        "fw": {"need_weights": False, "is_causal": True}},
}


def _mha_mask(kind, L, S, N, H, dtype):
    rng = np.random.default_rng(3)
    if kind == "bool2":  # True = masked out (MHA's convention)
        m = rng.random((L, S)) > 0.6
        m[:, 0] = False
        return m
    if kind == "float2":
        return rng.standard_normal((L, S)).astype(dtype)
    if kind == "float3":
        return rng.standard_normal((N * H, L, S)).astype(dtype)
    if kind == "causal":
        return np.triu(np.full((L, S), -np.inf), 1).astype(dtype)
    if kind == "bool":  # key padding
        m = rng.random((N, S)) > 0.6
        m[:, 0] = False
        return m
    if kind == "float":
        m = np.zeros((N, S), dtype)
        m[:, -1] = -np.inf
        m[0, 1] = -1.5
        return m
    raise AssertionError(kind)


@pytest.mark.parametrize(("case", "self_attn"), [
    (c, s) for c in MHA_CASES for s in (True, False)
    if not (s and MHA_CASES[c]["mk"].get("kdim"))])  # kdim != embed_dim: no self-attention
def test_mha_matches_torch(case, self_attn):
    spec = MHA_CASES[case]
    mk, fw = spec["mk"], dict(spec.get("fw", {}))
    e_mod, t_mod = _mha_pair(**mk)
    E, N, L = mk["embed_dim"], 3, 4
    S = L if self_attn or spec.get("attn") == "causal" else 5
    bf = mk.get("batch_first", False)
    shape = (lambda n, s, d: (n, s, d)) if bf else (lambda n, s, d: (s, n, d))
    q = _pair(_rand(*shape(N, L, E), seed=1))
    if self_attn:
        k = v = q
    else:
        k = _pair(_rand(*shape(N, S, mk.get("kdim") or E), seed=2))
        v = _pair(_rand(*shape(N, S, mk.get("vdim") or E), seed=3))
    fe, ft = dict(fw), dict(fw)
    if spec.get("attn"):
        m = _mha_mask(spec["attn"], L, S, N, mk["num_heads"], np.float64)
        fe["attn_mask"], ft["attn_mask"] = engine.tensor(m), torch.tensor(m)
    if spec.get("kpm"):
        m = _mha_mask(spec["kpm"], L, S, N, mk["num_heads"], np.float64)
        fe["key_padding_mask"], ft["key_padding_mask"] = engine.tensor(m), torch.tensor(m)
    eo, ew = e_mod(q[0], k[0], v[0], **fe)
    to, tw = t_mod(q[1], k[1], v[1], **ft)
    _close(eo, to, what="attn_output")
    if tw is None:
        assert ew is None
    else:
        _close(ew, tw, what="attn_weights")
    _backward_both(eo, to)
    for (e, t), name in zip((q, k, v), "qkv"):
        _close(e.grad, t.grad, what=f"grad {name}")
    _same_param_grads(e_mod, t_mod)


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_unbatched_float32(need_weights):
    e_mod, t_mod = _mha_pair(np.float32, embed_dim=8, num_heads=2)
    q = _pair(_rand(4, 8, seed=1, dtype=np.float32))
    kv = _pair(_rand(5, 8, seed=2, dtype=np.float32))
    m = np.zeros((2, 4, 5), bool)
    m[:, :, 3] = True
    kpm = np.array([False, False, False, False, True])
    eo, ew = e_mod(q[0], kv[0], kv[0], attn_mask=engine.tensor(m),
                   key_padding_mask=engine.tensor(kpm), need_weights=need_weights)
    to, tw = t_mod(q[1], kv[1], kv[1], attn_mask=torch.tensor(m),
                   key_padding_mask=torch.tensor(kpm), need_weights=need_weights)
    assert tuple(eo.shape) == (4, 8)
    _close(eo, to, np.float32, "output")
    if need_weights:
        _close(ew, tw, np.float32, "weights")
    _backward_both(eo, to)
    _close(q[0].grad, q[1].grad, np.float32, "grad q")
    _close(kv[0].grad, kv[1].grad, np.float32, "grad kv")
    _same_param_grads(e_mod, t_mod, np.float32)


def test_mha_fully_masked_row_nan_with_weights_like_torch():
    e_mod, t_mod = _mha_pair(embed_dim=4, num_heads=2)
    x = _rand(3, 1, 4, seed=1)
    m = np.zeros((3, 3), bool)
    m[1] = True
    eo, ew = e_mod(*(engine.tensor(x),) * 3, attn_mask=engine.tensor(m))
    to, tw = t_mod(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(m))
    _close(eo, to)
    _close(ew, tw)
    assert np.isnan(ew.detach().numpy()[0, 1]).all()  # plain softmax as torch's need_weights path
    eo2, _ = e_mod(*(engine.tensor(x),) * 3, attn_mask=engine.tensor(m), need_weights=False)
    to2, _ = t_mod(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(m), need_weights=False)
    _close(eo2, to2)  # sdpa path: the dead row gives the output bias, no NaN


def test_mha_dropout_train_vs_eval():
    e_mod, _ = _mha_pair(np.float32, embed_dim=8, num_heads=2, dropout=0.5)
    x = engine.tensor(_rand(4, 2, 8, seed=1, dtype=np.float32))
    e_mod.eval()
    a = e_mod(x, x, x)[0].detach().numpy()
    np.testing.assert_array_equal(a, e_mod(x, x, x)[0].detach().numpy())
    e_mod.train()
    engine.manual_seed(1)
    assert not np.allclose(a, e_mod(x, x, x)[0].detach().numpy())


def test_mha_init_state_dict_and_repr():
    t = torch.nn.MultiheadAttention(8, 2, kdim=4, vdim=3, add_bias_kv=True)
    e = nn.MultiheadAttention(8, 2, kdim=4, vdim=3, add_bias_kv=True)
    assert list(e.state_dict()) == list(t.state_dict())
    for kw in ({}, {"bias": False}, {"add_bias_kv": True, "batch_first": True}):
        e, t = nn.MultiheadAttention(8, 2, **kw), torch.nn.MultiheadAttention(8, 2, **kw)
        assert list(e.state_dict()) == list(t.state_dict())
        assert repr(e) == repr(t)
        assert [tuple(p.shape) for p in e.parameters()] == \
            [tuple(p.shape) for p in t.parameters()]
    e = nn.MultiheadAttention(8, 2)
    assert not e.in_proj_bias.detach().numpy().any() and not e.out_proj.bias.detach().numpy().any()
    bound = math.sqrt(6.0 / (8 + 24))  # xavier_uniform_ on (24, 8)
    w = e.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and w.std() > bound / 3
    assert e.head_dim == 4 and e._qkv_same_embed_dim and e.in_proj_weight.requires_grad
    assert type(e.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(e.out_proj, nn.Linear)


def test_mha_errors():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 2)
    m = nn.MultiheadAttention(8, 2)
    x = engine.zeros(4, 2, 8)
    with pytest.raises(AssertionError, match="batched 3D tensor but received 4-D"):
        m(engine.zeros(1, 4, 2, 8), x, x)
    with pytest.raises(AssertionError, match="`key` and `value` to be 3-D"):
        m(x, engine.zeros(4, 8), x)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        m(x, x, x, attn_mask=engine.zeros(3, 4))
    with pytest.raises(RuntimeError, match="3D attn_mask"):
        m(x, x, x, attn_mask=engine.zeros(2, 4, 4))
    with pytest.raises(AssertionError, match="key_padded_mask.shape"):
        m(x, x, x, key_padding_mask=engine.zeros(2, 5, dtype=engine.bool))
    with pytest.raises(AssertionError, match="only bool and floating"):
        m(x, x, x, attn_mask=engine.zeros(4, 4, dtype=engine.int64))
    with pytest.raises(AssertionError, match="embedding dimension of 8"):
        m(engine.zeros(4, 2, 6), engine.zeros(4, 2, 6), engine.zeros(4, 2, 6))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        m(x, x, x, is_causal=True)


def test_mha_gradcheck():
    rng = np.random.default_rng(0)

    def t(*s):
        return engine.tensor(rng.standard_normal(s), requires_grad=True)

    q, kv = t(2, 1, 4), t(3, 1, 4)
    w_in, b_in, w_out, b_out = t(12, 4), t(12), t(4, 4), t(4)
    kpm = engine.tensor(np.array([[False, True, False]]))

    def fn(q, kv, w_in, b_in, w_out, b_out):
        out, w = F.multi_head_attention_forward(q, kv, kv, 4, 2, w_in, b_in, None, None,
                                                False, 0.0, w_out, b_out,
                                                key_padding_mask=kpm)
        return out, w

    assert gradcheck(fn, (q, kv, w_in, b_in, w_out, b_out))

    def fn2(q, kv, w_out):
        return F.multi_head_attention_forward(q, kv, kv, 4, 2, w_in.detach(), None, None,
                                              None, True, 0.0, w_out, None,
                                              need_weights=False)[0]

    assert gradcheck(fn2, (q, kv, w_out))


# ---- Transformer layers -----------------------------------------------------------------
def _layer_pair(t_cls, e_cls, *args, seed=0, **kw):
    torch.manual_seed(seed)
    t_mod = t_cls(*args, **kw).double()
    with torch.no_grad():  # LayerNorm and attention biases start at 1 / 0: perturb them
        for p in t_mod.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    e_mod = e_cls(*args, **kw, dtype=engine.float64)
    return _load(e_mod, t_mod), t_mod


def _check_pair(e_mod, t_mod, e_inputs, t_inputs, e_kw, t_kw):
    eo = e_mod(*e_inputs, **e_kw)
    to = t_mod(*t_inputs, **t_kw)
    _close(eo, to, what="output")
    _backward_both(eo, to)
    for i, (e, t) in enumerate(zip(e_inputs, t_inputs)):
        if t.requires_grad:
            _close(e.grad, t.grad, what=f"grad input {i}")
    _same_param_grads(e_mod, t_mod)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu_module"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first):
    act_t, act_e = activation, activation
    if activation == "gelu_module":
        act_t, act_e = torch.nn.GELU(), nn.GELU()
    kw = {"dim_feedforward": 16, "dropout": 0.0, "norm_first": norm_first, "batch_first": batch_first,
              "activation": act_t}
    torch.manual_seed(0)
    t_mod = torch.nn.TransformerEncoderLayer(8, 2, **kw).double()
    with torch.no_grad():
        for p in t_mod.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    e_mod = _load(nn.TransformerEncoderLayer(8, 2, **{**kw, "activation": act_e},
                                             dtype=engine.float64), t_mod)
    assert repr(e_mod) == repr(t_mod)
    N, L = 2, 5
    x = _pair(_rand(*((N, L, 8) if batch_first else (L, N, 8)), seed=1))
    sm = np.triu(np.full((L, L), -np.inf), 1)
    sm[3, 0] = -0.5
    kpm = np.zeros((N, L), bool)
    kpm[1, 3:] = True
    _check_pair(e_mod, t_mod, (x[0],), (x[1],),
                {"src_mask": engine.tensor(sm), "src_key_padding_mask": engine.tensor(kpm)},
                {"src_mask": torch.tensor(sm), "src_key_padding_mask": torch.tensor(kpm)})


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    kw = {"dim_feedforward": 12, "dropout": 0.0, "norm_first": norm_first}
    e_mod, t_mod = _layer_pair(torch.nn.TransformerDecoderLayer, nn.TransformerDecoderLayer,
                               6, 3, **kw)
    assert repr(e_mod) == repr(t_mod)
    tgt, mem = _pair(_rand(4, 2, 6, seed=1)), _pair(_rand(5, 2, 6, seed=2))
    tm = np.triu(np.ones((4, 4), bool), 1)
    mkpm = np.zeros((2, 5), bool)
    mkpm[0, -2:] = True
    mm = _rand(4, 5, seed=3)
    e_kw = {"tgt_mask": engine.tensor(tm), "memory_mask": engine.tensor(mm),
                "memory_key_padding_mask": engine.tensor(mkpm.astype(np.float64) * -1e9)}
    t_kw = {"tgt_mask": torch.tensor(tm), "memory_mask": torch.tensor(mm),
                "memory_key_padding_mask": torch.tensor(mkpm.astype(np.float64) * -1e9)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mismatched mask types (deprecated in torch too)
        _check_pair(e_mod, t_mod, (tgt[0], mem[0]), (tgt[1], mem[1]), e_kw, t_kw)


def test_decoder_layer_causal_hint_unbatched():
    e_mod, t_mod = _layer_pair(torch.nn.TransformerDecoderLayer, nn.TransformerDecoderLayer,
                               4, 2, dim_feedforward=8, dropout=0.0, activation="gelu")
    tgt, mem = _pair(_rand(3, 4, seed=1)), _pair(_rand(5, 4, seed=2))
    cm = np.triu(np.full((3, 3), -np.inf), 1)
    _check_pair(e_mod, t_mod, (tgt[0], mem[0]), (tgt[1], mem[1]),
                {"tgt_mask": engine.tensor(cm), "tgt_is_causal": True},
                {"tgt_mask": torch.tensor(cm), "tgt_is_causal": True})


def test_encoder_stack_matches_torch_and_copies():
    torch.manual_seed(0)
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_mod = torch.nn.TransformerEncoder(t_layer, 3, norm=torch.nn.LayerNorm(8)).double()
    with torch.no_grad():
        for p in t_mod.parameters():
            p.add_(0.1 * torch.randn_like(p))
    e_layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True,
                                         dtype=engine.float64)
    e_mod = nn.TransformerEncoder(e_layer, 3, norm=nn.LayerNorm(8, dtype=engine.float64))
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert repr(e_mod) == repr(t_mod)
    assert e_mod.layers[0] is not e_layer and e_mod.layers[0] is not e_mod.layers[1]
    assert e_mod.layers[0].linear1.weight is not e_mod.layers[1].linear1.weight
    _load(e_mod, t_mod)
    x = _pair(_rand(2, 5, 8, seed=1))
    mask = nn.Transformer.generate_square_subsequent_mask(5, dtype=engine.float64)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    kpm = np.zeros((2, 5), bool)
    kpm[0, -1] = True
    _check_pair(e_mod, t_mod, (x[0],), (x[1],),
                {"mask": mask, "src_key_padding_mask": engine.tensor(kpm)},
                {"mask": tmask, "src_key_padding_mask": torch.tensor(kpm)})
    e_mod.zero_grad()
    t_mod.zero_grad()
    x = _pair(_rand(2, 5, 8, seed=2))
    _check_pair(e_mod, t_mod, (x[0],), (x[1],), {"mask": mask, "is_causal": True},
                {"mask": tmask, "is_causal": True})


def test_encoder_nested_tensor_warning_and_causal_detection():
    with pytest.warns(UserWarning, match="enable_nested_tensor is True"):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2)
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2,
                              enable_nested_tensor=False)
    from engine.nn.modules.transformer import _detect_is_causal_mask
    m = nn.Transformer.generate_square_subsequent_mask(4)
    assert _detect_is_causal_mask(m, None, 4) is True
    assert _detect_is_causal_mask(m * 0, None, 4) is False
    assert _detect_is_causal_mask(m, False, 4) is False
    assert _detect_is_causal_mask(None, None, 4) is False


def test_generate_square_subsequent_mask():
    e = nn.Transformer.generate_square_subsequent_mask(5)
    t = torch.nn.Transformer.generate_square_subsequent_mask(5)
    assert e.dtype == engine.float32
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    e64 = nn.Transformer.generate_square_subsequent_mask(3, dtype=engine.float64)
    assert e64.dtype == engine.float64


def test_full_transformer_matches_torch():
    torch.manual_seed(0)
    t_mod = torch.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2,
                                 num_decoder_layers=2, dim_feedforward=16, dropout=0.0).double()
    e_mod = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                           dim_feedforward=16, dropout=0.0, dtype=engine.float64)
    assert list(e_mod.state_dict()) == list(t_mod.state_dict())
    assert repr(e_mod) == repr(t_mod)
    with torch.no_grad():
        for p in t_mod.parameters():
            if p.dim() == 1:
                p.add_(0.1 * torch.randn_like(p))
    _load(e_mod, t_mod)
    src, tgt = _pair(_rand(5, 2, 8, seed=1)), _pair(_rand(4, 2, 8, seed=2))
    tm = nn.Transformer.generate_square_subsequent_mask(4, dtype=engine.float64)
    ttm = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    skpm = np.zeros((2, 5), bool)
    skpm[1, -2:] = True
    _check_pair(e_mod, t_mod, (src[0], tgt[0]), (src[1], tgt[1]),
                {"tgt_mask": tm, "src_key_padding_mask": engine.tensor(skpm),
                     "memory_key_padding_mask": engine.tensor(skpm)},
                {"tgt_mask": ttm, "src_key_padding_mask": torch.tensor(skpm),
                     "memory_key_padding_mask": torch.tensor(skpm)})
    with pytest.raises(RuntimeError, match="batch number of src and tgt"):
        e_mod(engine.zeros(5, 2, 8), engine.zeros(4, 3, 8))
    with pytest.raises(RuntimeError, match="feature number"):
        e_mod(engine.zeros(5, 2, 8), engine.zeros(4, 2, 6))


def test_transformer_init_and_activation_errors():
    m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                       dim_feedforward=16)
    w = m.encoder.layers[0].linear1.weight.detach().numpy()  # xavier_uniform_ on (16, 8)
    assert np.abs(w).max() <= math.sqrt(6.0 / 24)
    assert m.d_model == 8 and m.nhead == 2 and m.batch_first is False
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    assert layer.activation is F.relu and layer.activation_relu_or_gelu == 1
    assert nn.TransformerEncoderLayer(8, 2, 16, activation="gelu").activation_relu_or_gelu == 2
    c = copy.deepcopy(layer)
    assert c.self_attn.in_proj_weight is not layer.self_attn.in_proj_weight
    assert "activation" not in dict(layer.named_children())


def test_encoder_inference_nested_tensor_path_zeroes_padding_like_torch():
    torch.manual_seed(0)
    t_layer = torch.nn.TransformerEncoderLayer(8, 2, 16, batch_first=True)
    t_mod = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(8)).eval()
    with torch.no_grad():
        t_mod.norm.bias.normal_()
    e_mod = _load(nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True),
                                        2, norm=nn.LayerNorm(8)), t_mod).eval()
    x = _rand(2, 4, 8, seed=1, dtype=np.float32)
    for kpm in ([[False, False, True, True], [False] * 4],  # left-aligned: nested path
                [[False, True, False, True], [False] * 4]):  # not left-aligned: dense path
        kpm = np.array(kpm)
        with torch.no_grad():
            to = t_mod(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm))
        with engine.no_grad():
            eo = e_mod(engine.tensor(x), src_key_padding_mask=engine.tensor(kpm))
        np.testing.assert_allclose(eo.numpy(), to.numpy(), rtol=1e-4, atol=1e-5)
    # with grad enabled (training-style call) the padded positions are computed, as torch
    kpm = np.array([[False, False, True, True], [False] * 4])
    eo = e_mod(engine.tensor(x), src_key_padding_mask=engine.tensor(kpm))
    to = t_mod(torch.tensor(x), src_key_padding_mask=torch.tensor(kpm))
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_mismatched_mask_types_warn_like_torch():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)
    x = engine.zeros(3, 2, 8)
    with pytest.warns(UserWarning, match="Support for mismatched src_key_padding_mask and "
                                         "src_mask is deprecated"):
        layer(x, src_mask=engine.zeros(3, 3),
              src_key_padding_mask=engine.zeros(2, 3, dtype=engine.bool))
