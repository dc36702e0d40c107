"""Attention as compositions of engine ops (matmul/bmm, softmax, where, dropout, linear), so
autograd and every device come with no kernel of their own: ``scaled_dot_product_attention``
and ``multi_head_attention_forward`` with PyTorch's semantics (re-exported by
``engine.nn.functional``).

>>> import engine, engine.nn.functional as F
>>> q = k = v = engine.ones(1, 2, 3, 4)
>>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
torch.Size([1, 2, 3, 4])
"""

from __future__ import annotations

import math
import warnings

from .._tensor import Tensor

# the private helpers are exported too: code copied from PyTorch's transformer.py calls them
__all__ = ["_canonical_mask", "_in_projection", "_in_projection_packed", "_mha_shape_check",
           "_none_or_dtype", "multi_head_attention_forward", "scaled_dot_product_attention"]

_NEG_INF = float("-inf")


def _E():
    import engine
    return engine


def _F():
    from . import functional
    return functional


# ---- scaled dot-product attention ------------------------------------------------------
def _sdpa_check(query, key, value, attn_mask, is_causal, enable_gqa):
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"{op}: Expected query, key, and value to all be at least 2 "
                           f"dimensional, but got query.dim: {query.ndim} key.dim: {key.ndim} "
                           f"and value.dim: {value.ndim} instead.")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(f"{op}: Expected query, key, and value to have the same dtype, but "
                           f"got query.dtype: {query.dtype} key.dtype: {key.dtype} and "
                           f"value.dtype: {value.dtype} instead; cast them with .to(dtype).")
    if not query.dtype.is_floating_point:
        raise RuntimeError(f"{op}: expected floating-point query, key and value, got "
                           f"{query.dtype}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{op}: query (..., L, E), key (..., S, E) and value (..., S, Ev) "
                           f"must agree on E and S, got query {tuple(query.shape)}, key "
                           f"{tuple(key.shape)}, value {tuple(value.shape)}")
    if attn_mask is not None and is_causal:
        raise RuntimeError(f"{op}: Explicit attn_mask should not be set when is_causal=True; "
                           "pass either a mask or is_causal=True (fold the causal pattern "
                           "into the mask)")
    if attn_mask is not None and attn_mask.dtype != _E().bool and \
            attn_mask.dtype != query.dtype:
        raise RuntimeError(f"{op}: Expected attn_mask dtype to be bool or float or to match "
                           f"query dtype, but got attn_mask.dtype: {attn_mask.dtype} and "
                           f"query.dtype: {query.dtype} instead.")
    if enable_gqa and query.ndim >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hk != hv or hq % hk != 0:
            raise RuntimeError(f"{op}: Number of heads in key and value must divide the "
                               f"number of heads in query (enable_gqa=True), got query "
                               f"{tuple(query.shape)}, key {tuple(key.shape)}, value "
                               f"{tuple(value.shape)}")


def _safe_softmax(scores: Tensor) -> Tensor:
    """softmax over the last dim; rows whose every score is -inf give 0 (PyTorch's
    ``_safe_softmax``), with zero gradient into them instead of NaN."""
    E = _E()
    dead = E.isneginf(scores).all(-1, keepdim=True)
    p = E.softmax(E.where(dead, 0.0, scores), -1)
    return E.where(dead, 0.0, p)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, *, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(Q K^T * scale + bias) V`` over the last two dims; leading dims broadcast.

    A bool ``attn_mask`` marks with True the positions that take part; a float one is added
    to the scores. ``is_causal`` applies a top-left aligned lower-triangular mask. Rows with
    no position taking part give zeros (as PyTorch).

    >>> import engine, engine.nn.functional as F
    >>> q = engine.randn(2, 3, 4)
    >>> F.scaled_dot_product_attention(q, q, q).shape
    torch.Size([2, 3, 4])
    """
    E = _E()
    _sdpa_check(query, key, value, attn_mask, is_causal, enable_gqa)
    L, S = query.shape[-2], key.shape[-2]
    scale_factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        rep = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(rep, -3)
        value = value.repeat_interleave(rep, -3)
    scores = E.matmul(query, key.transpose(-2, -1)) * scale_factor
    masked = is_causal or attn_mask is not None
    if is_causal:
        keep = E.ones(L, S, dtype=E.bool, device=query.device).tril(0)
        scores = E.where(keep, scores, _NEG_INF)
    elif attn_mask is not None:
        _check_mask_broadcast(attn_mask, scores)
        if attn_mask.dtype == E.bool:
            scores = E.where(attn_mask, scores, _NEG_INF)
        else:
            scores = scores + attn_mask
    attn = _safe_softmax(scores) if masked else E.softmax(scores, -1)
    if dropout_p > 0.0:
        attn = _F().dropout(attn, dropout_p, training=True)
    return E.matmul(attn, value)


def _check_mask_broadcast(mask, scores):
    ms, ss = tuple(mask.shape), tuple(scores.shape)
    ok = len(ms) <= len(ss) and all(m in (1, s) for m, s in zip(ms[::-1], ss[::-1]))
    if not ok:
        raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {ms} must "
                           f"broadcast to the attention weights' shape {ss} (N, ..., L, S)")


# ---- multi-head attention ----------------------------------------------------------------
def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads) -> bool:
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be "
                                 f"3-D but found {key.ndim}-D and {value.ndim}-D tensors "
                                 "respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 2-D but found {key_padding_mask.ndim}-D tensor "
                                 "instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`,"
                                 f" 2-D or 3-D but found {attn_mask.ndim}-D tensor instead")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be "
                                 f"2-D but found {key.ndim}-D and {value.ndim}-D tensors "
                                 "respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to "
                                 f"be `None` or 1-D but found {key_padding_mask.ndim}-D tensor "
                                 "instead")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be "
                                     f"`None`, 2-D or 3-D but found {attn_mask.ndim}-D tensor "
                                     "instead")
            want = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.ndim == 3 and tuple(attn_mask.shape) != want:
                raise AssertionError(f"Expected `attn_mask` shape to be {want} but got "
                                     f"{tuple(attn_mask.shape)}")
        return False
    raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor")


def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """Bool masks (True = masked out) become float masks of ``target_type`` with -inf."""
    if mask is None:
        return None
    E = _E()
    if mask.dtype != E.bool and not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      "Use same type for both instead.", stacklevel=3)
    if not mask.dtype.is_floating_point:
        mask = E.zeros(mask.shape, dtype=target_type, device=mask.device).masked_fill(
            mask, _NEG_INF)
    return mask


def _none_or_dtype(t):
    if t is None:
        return None
    if isinstance(t, Tensor):
        return t.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _in_projection_packed(q, k, v, w, b=None):
    F = _F()
    E = q.shape[-1]
    if k is v and q is k:  # self-attention: one GEMM
        proj = F.linear(q, w, b)
        return tuple(proj.unflatten(-1, (3, E)).unbind(-2))
    if k is v:  # encoder-decoder attention
        w_q, w_kv = w.split([E, 2 * E])
        b_q, b_kv = (None, None) if b is None else b.split([E, 2 * E])
        kv = F.linear(k, w_kv, b_kv)
        return (F.linear(q, w_q, b_q),) + tuple(kv.unflatten(-1, (2, E)).unbind(-2))
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)


def _in_projection(q, k, v, w_q, w_k, w_v, b_q=None, b_k=None, b_v=None):
    F = _F()
    Eq, Ek, Ev = q.shape[-1], k.shape[-1], v.shape[-1]
    for name, t, want in (("query weights", w_q, (Eq, Eq)), ("key weights", w_k, (Eq, Ek)),
                          ("value weights", w_v, (Eq, Ev)), ("query bias", b_q, (Eq,)),
                          ("key bias", b_k, (Eq,)), ("value bias", b_v, (Eq,))):
        if t is not None and tuple(t.shape) != want:
            raise AssertionError(f"expecting {name} shape of {want}, but got {tuple(t.shape)}")
    return F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)


def _prep_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads):
    if attn_mask.ndim == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                               f"but should be {(tgt_len, src_len)}.")
        return attn_mask.unsqueeze(0)
    if attn_mask.ndim == 3:
        want = (bsz * num_heads, tgt_len, src_len)
        if tuple(attn_mask.shape) != want:
            raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, "
                               f"but should be {want}.")
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")


def _merge_masks(query, attn_mask, key_padding_mask, is_causal, need_weights):
    """PyTorch's mask canonicalisation: both masks become float; ``is_causal`` survives only
    as a hint to sdpa when no key padding mask is merged and no weights are returned."""
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       _none_or_dtype(attn_mask), "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        if key_padding_mask is not None:
            is_causal = False
    return attn_mask, key_padding_mask, is_causal


def _project(query, key, value, in_proj_weight, in_proj_bias, use_separate_proj_weight,
             q_proj_weight, k_proj_weight, v_proj_weight):
    if not use_separate_proj_weight:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        return _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    if tuple(key.shape[:2]) != tuple(value.shape[:2]):
        raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not "
                             f"match value's {tuple(value.shape[:2])}")
    for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
        if w is None:
            raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is "
                                 "None")
    b = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
    return _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, *b)


def _heads(t, static, bsz, num_heads, head_dim, name):
    """(len, bsz, E) -> (bsz * num_heads, len, head_dim), or the given static tensor."""
    if static is None:
        return t.reshape(t.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    if static.shape[0] != bsz * num_heads or static.shape[2] != head_dim:
        raise AssertionError(f"expecting static_{name} of shape ({bsz * num_heads}, *, "
                             f"{head_dim}), but got {tuple(static.shape)}")
    return static


def _weights_path(q, k, v, attn_mask, dropout_p, is_causal):
    """softmax(q k^T / sqrt(E) + mask) v with the weights returned (plain softmax as PyTorch:
    fully masked rows give NaN here)."""
    E = _E()
    if is_causal and attn_mask is None:
        raise AssertionError("FIXME: is_causal not implemented for need_weights")
    q_scaled = q * math.sqrt(1.0 / float(q.shape[-1]))
    w = E.bmm(q_scaled, k.transpose(-2, -1))
    if attn_mask is not None:
        w = w + attn_mask
    w = E.softmax(w, -1)
    if dropout_p > 0.0:
        w = _F().dropout(w, p=dropout_p)
    return E.bmm(w, v), w


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, training: bool = True,
        key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """PyTorch's functional multi-head attention on (L, N, E) inputs (or unbatched (L, E)).

    Returns ``(attn_output, attn_weights)``; the weights are ``None`` unless
    ``need_weights``, averaged over heads when ``average_attn_weights``.
    """
    E = _E()
    F = _F()
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    attn_mask, key_padding_mask, is_causal = _merge_masks(query, attn_mask, key_padding_mask,
                                                          is_causal, need_weights)
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    q, k, v = _project(query, key, value, in_proj_weight, in_proj_bias,
                       use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight)
    if attn_mask is not None:
        attn_mask = _prep_attn_mask(attn_mask, tgt_len, src_len, bsz, num_heads)
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = E.cat([k, bias_k.repeat(1, bsz, 1)])
        v = E.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else F.pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k is set but bias_v is None" if bias_k is not None else
                             "bias_v is set but bias_k is None")
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = _heads(k, static_k, bsz, num_heads, head_dim, "k")
    v = _heads(v, static_v, bsz, num_heads, head_dim, "v")
    if add_zero_attn:
        z = E.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)
        k, v = E.cat([k, z], dim=1), E.cat([v, z], dim=1)
        attn_mask = None if attn_mask is None else F.pad(attn_mask, (0, 1))
        key_padding_mask = None if key_padding_mask is None else F.pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        for d, want in ((0, bsz), (1, src_len)):
            if key_padding_mask.shape[d] != want:
                raise AssertionError(f"Expected key_padded_mask.shape[{d}] to be {want}, but "
                                     f"got {key_padding_mask.shape[d]} (key_padding_mask is "
                                     "(batch, source length))")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1) \
            .reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        out, w = _weights_path(q, k, v, attn_mask, dropout_p, is_causal)
    else:
        if attn_mask is not None:
            attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else \
                attn_mask.reshape(bsz, num_heads, -1, src_len)
        out = scaled_dot_product_attention(
            q.reshape(bsz, num_heads, tgt_len, head_dim),
            k.reshape(bsz, num_heads, src_len, head_dim),
            v.reshape(bsz, num_heads, src_len, head_dim), attn_mask, dropout_p, is_causal)
        out, w = out.permute(2, 0, 1, 3), None
    out = out.transpose(0, 1) if need_weights else out
    out = F.linear(out.reshape(tgt_len * bsz, embed_dim), out_proj_weight, out_proj_bias)
    out = out.reshape(tgt_len, bsz, out.shape[1])
    if w is not None:
        w = w.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            w = w.mean(dim=1)
    if not is_batched:
        out = out.squeeze(1)
        w = None if w is None else w.squeeze(0)
    return out, w
