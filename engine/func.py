"""``engine.func``: PyTorch's function transforms (``torch.func``) on top of the tape autograd.

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``, ``vmap``,
``functional_call`` and ``stack_module_state``.

How they are built (differences from PyTorch's functorch are in behaviour cost, not results):

- ``grad`` / ``vjp`` / ``jacrev`` run the function on fresh differentiable aliases of the inputs
  and call ``engine.autograd.grad``. When an input already carries a graph (a transform nested
  in another, e.g. ``hessian``), the inner gradients are taken with ``create_graph=True`` so the
  outer transform can differentiate them.
- ``jvp`` has no forward-mode AD under it: it uses the double-vjp trick
  (``J v = d/du <J^T u, v>``), which costs two reverse passes.
- ``jacfwd`` computes the same Jacobian as ``jacrev`` (reverse mode, one pass per output
  element); ``hessian(f) = jacfwd(jacrev(f))``.
- ``vmap`` **loops**: it calls the function once per batch element (slices along ``in_dims``)
  and stacks the results along ``out_dims``. Semantics match PyTorch's; speed is that of a
  Python loop, not of a batched kernel.

>>> import engine as torch
>>> from engine.func import grad, vmap
>>> grad(lambda x: (x ** 2).sum())(torch.tensor([1., 2.]))
tensor([2., 4.])
>>> vmap(torch.dot)(torch.ones(3, 2), torch.ones(3, 2))
tensor([2., 2., 2.])
"""

from __future__ import annotations

import contextlib
import functools

__all__ = [
    "functional_call",
    "functionalize",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "replace_all_batch_norm_modules_",
    "stack_module_state",
    "vjp",
    "vmap",
]


# --------------------------------------------------------------------------- pytrees
def _is_tensor(x) -> bool:
    from ._tensor import Tensor
    return isinstance(x, Tensor)


def _flatten(tree):
    """(leaves, spec): tuples, lists and dicts are containers; anything else is a leaf."""
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for t in tree:
            lv, sp = _flatten(t)
            leaves += lv
            specs.append(sp)
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        leaves, specs = [], []
        for k in tree:
            lv, sp = _flatten(tree[k])
            leaves += lv
            specs.append(sp)
        return leaves, (dict, (list(tree), specs))
    return [tree], None


def _unflatten(leaves, spec):
    it = iter(leaves)

    def build(sp):
        if sp is None:
            return next(it)
        kind, sub = sp
        if kind is dict:
            keys, specs = sub
            return {k: build(s) for k, s in zip(keys, specs)}
        vals = [build(s) for s in sub]
        return kind(vals) if kind in (tuple, list) else kind(*vals)

    return build(spec)


def _check_tensors(leaves, api: str, what: str):
    for x in leaves:
        if not _is_tensor(x):
            raise ValueError(f"{api}: Expected {what} to be only Tensors, got an element of "
                             f"type {type(x).__name__}. Wrap numbers with torch.tensor(...).")


# --------------------------------------------------------------------------- helpers
def _enter_differentiable(leaves):
    """Fresh differentiable stand-ins for ``leaves``; ``nested`` says whether any input already
    carried a graph (then gradients must be built with create_graph=True)."""
    nested = any(x.requires_grad for x in leaves)
    outs = []
    for x in leaves:
        if x.requires_grad:
            outs.append(x.view_as(x))  # a new node: its gradient is this level's only
        else:
            outs.append(x.detach().requires_grad_(True))
    return outs, nested


def _grads(outputs, inputs, grad_outputs, nested, retain=False):
    from .autograd import grad as agrad
    from .ops.creation import zeros_like
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not pairs:
        return [zeros_like(x) for x in inputs]
    res = agrad([o for o, _ in pairs], inputs, [g for _, g in pairs], retain_graph=retain or nested,
                create_graph=nested, allow_unused=True)
    return [r if r is not None else zeros_like(x) for r, x in zip(res, inputs)]


def _strip(tree, nested):
    """Results given back to the caller: detached unless an outer transform needs the graph."""
    if nested:
        return tree
    leaves, spec = _flatten(tree)
    return _unflatten([x.detach() if _is_tensor(x) else x for x in leaves], spec)


def _argnums_tuple(argnums, nargs, api):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise RuntimeError(f"{api}: argnums must be non-empty")
    for n in nums:
        if not isinstance(n, int):
            raise RuntimeError(f"{api}: argnums must be int or Tuple[int, ...], got "
                               f"{type(n).__name__}")
        if not -nargs <= n < nargs:
            raise RuntimeError(f"{api}: Got argnums={n}, but only {nargs} positional inputs")
    nums = tuple(n % nargs for n in nums)
    if len(set(nums)) != len(nums):
        raise RuntimeError(f"{api}: argnums must be unique, got {argnums}")
    return nums, single


def _split_aux(out, has_aux, api):
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise RuntimeError(f"{api}(f, ...)(*args): output of function f should be a tuple: "
                           "(output, aux) if has_aux is True")
    return out[0], out[1]


def _prepare(args, argnums, api):
    """Replace the differentiated args by differentiable stand-ins."""
    nums, single = _argnums_tuple(argnums, len(args), api)
    args = list(args)
    diff_specs, diff_leaves = [], []
    nested = False
    for n in nums:
        leaves, spec = _flatten(args[n])
        _check_tensors(leaves, api, "the differentiated inputs")
        new, nst = _enter_differentiable(leaves)
        nested = nested or nst
        args[n] = _unflatten(new, spec)
        diff_specs.append((len(new), spec))
        diff_leaves += new
    return args, nums, single, diff_specs, diff_leaves, nested


def _regroup(flat, specs, single):
    out, i = [], 0
    for n, spec in specs:
        out.append(_unflatten(flat[i:i + n], spec))
        i += n
    return out[0] if single else tuple(out)


# --------------------------------------------------------------------------- grad
def grad_and_value(func, argnums=0, has_aux: bool = False):
    """``grad_and_value(f)(*args)`` -> ``(grad, value)`` (``((grad, value), aux)``... see
    PyTorch: with ``has_aux`` it returns ``(grad, (value, aux))``).

    >>> import engine as torch
    >>> g, v = torch.func.grad_and_value(lambda x: (x * x).sum())(torch.tensor([3.]))
    >>> g, v
    (tensor([6.]), tensor(9.))
    """
    from .autograd.grad_mode import enable_grad

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        args, nums, single, specs, leaves, nested = _prepare(args, argnums, "grad_and_value")
        with enable_grad():
            out = func(*args, **kwargs)
            out, aux = _split_aux(out, has_aux, "grad_and_value")
            if not _is_tensor(out):
                raise RuntimeError("grad_and_value(f)(*args): Expected f(*args) to return a "
                                   f"Tensor, got {type(out).__name__}")
            if out.dim() != 0:
                raise RuntimeError(
                    "grad_and_value(f)(*args): Expected f(*args) to return a scalar Tensor, got "
                    f"tensor with {out.dim()} dims (shape {list(out.shape)}). Maybe you wanted "
                    "to use the vjp or jacrev APIs instead?")
            from .ops.creation import ones_like
            gs = _grads([out], leaves, [ones_like(out)], nested)
        g = _regroup(gs, specs, single)
        value = _strip(out, nested)
        if has_aux:
            return _strip(g, nested), (value, _strip(aux, nested))
        return _strip(g, nested), value

    return wrapper


def grad(func, argnums=0, has_aux: bool = False):
    """``grad(f)(*args)``: the gradient of a scalar-valued ``f`` with respect to ``args[argnums]``
    (a tuple of gradients when ``argnums`` is a tuple; ``(grad, aux)`` with ``has_aux``).

    >>> import engine as torch
    >>> torch.func.grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(torch.ones(2), torch.ones(2))
    (tensor([1., 1.]), tensor([1., 1.]))
    """
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, v = gv(*args, **kwargs)
        return (g, v[1]) if has_aux else g

    return wrapper


# --------------------------------------------------------------------------- vjp / jvp
def vjp(func, *primals, has_aux: bool = False):
    """``out, vjp_fn = vjp(f, *primals)``; ``vjp_fn(cotangents)`` returns a tuple with one
    gradient per primal (``out, vjp_fn, aux`` with ``has_aux``). ``vjp_fn`` can be called
    many times.

    >>> import engine as torch
    >>> out, fn = torch.func.vjp(torch.sin, torch.zeros(2))
    >>> fn(torch.ones(2))
    (tensor([1., 1.]),)
    """
    from .autograd.grad_mode import enable_grad
    leaves, spec = _flatten(primals)
    _check_tensors(leaves, "vjp", "primals")
    new, nested = _enter_differentiable(leaves)
    args = _unflatten(new, spec)
    with enable_grad():
        out = func(*args)
    out, aux = _split_aux(out, has_aux, "vjp")
    out_leaves, out_spec = _flatten(out)
    _check_tensors(out_leaves, "vjp", "outputs of the user-provided function")

    def vjp_fn(cotangents):
        ct, ct_spec = _flatten(cotangents)
        if len(ct) != len(out_leaves):
            raise RuntimeError(f"Expected pytree structure of cotangents to be the same as "
                               f"pytree structure of outputs to the function: got "
                               f"{len(ct)} cotangents for {len(out_leaves)} outputs")
        for c, o in zip(ct, out_leaves):
            if not _is_tensor(c) or tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(
                    "Mismatch in shape: cotangent has shape "
                    f"{list(getattr(c, 'shape', []))} and output has shape {list(o.shape)}")
        with enable_grad():
            gs = _grads(out_leaves, new, ct, nested or any(c.requires_grad for c in ct),
                        retain=True)
        return _strip(_unflatten(gs, spec), nested)

    out = _strip(out, nested)
    if has_aux:
        return out, vjp_fn, _strip(aux, nested)
    return out, vjp_fn


def _jvp_core(func, primals, tangents, has_aux, api):
    from .autograd.grad_mode import enable_grad
    from .ops.creation import zeros_like
    if not isinstance(primals, (tuple, list)):
        raise RuntimeError(f"{api}(f, primals, tangents): Expected primals to be a tuple. "
                           "E.g. it should be valid to call f(*primals).")
    if not isinstance(tangents, (tuple, list)):
        raise RuntimeError(f"{api}(f, primals, tangents): Expected tangents to be a tuple.")
    leaves, spec = _flatten(tuple(primals))
    tl, tspec = _flatten(tuple(tangents))
    _check_tensors(leaves, api, "primals")
    if len(tl) != len(leaves):
        raise RuntimeError(f"{api}(f, primals, tangents): Expected primals and tangents to have "
                           f"the same python structure (got {len(leaves)} primals and "
                           f"{len(tl)} tangents)")
    for p, t in zip(leaves, tl):
        if tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(f"{api}(f, primals, tangents): Expected primals and tangents to "
                               f"have the same shape, got {list(p.shape)} and {list(t.shape)}")
    new, nested = _enter_differentiable(leaves)
    with enable_grad():
        out = func(*_unflatten(new, spec))
        out, aux = _split_aux(out, has_aux, api)
        ol, ospec = _flatten(out)
        _check_tensors(ol, api, "outputs of the user-provided function")
        # J^T u with u a dummy cotangent (linear in u), then d<J^T u, v>/du = J v
        us = [zeros_like(o).requires_grad_(True) for o in ol]
        live = [(o, u) for o, u in zip(ol, us) if o.requires_grad]
        if live:
            from .autograd import grad as agrad
            jt = agrad([o for o, _ in live], new, [u for _, u in live], create_graph=True,
                       retain_graph=True, allow_unused=True)
            pairs = [(j, t) for j, t in zip(jt, tl) if j is not None and j.requires_grad]
        else:
            pairs = []
        if pairs:
            jv = agrad([j for j, _ in pairs], us, [t for _, t in pairs], create_graph=nested,
                       retain_graph=nested, allow_unused=True)
        else:
            jv = [None] * len(us)
        jv = [j if j is not None else zeros_like(o) for j, o in zip(jv, ol)]
    out_t = _strip(_unflatten(ol, ospec), nested)
    jv = _strip(_unflatten(jv, ospec), nested)
    return out_t, jv, _strip(aux, nested) if has_aux else None


def jvp(func, primals, tangents, *, strict: bool = False, has_aux: bool = False):
    """``out, jvp_out = jvp(f, primals, tangents)``: ``f(*primals)`` and the Jacobian of ``f``
    times ``tangents`` (computed with two reverse passes: the double-vjp trick).

    >>> import engine as torch
    >>> torch.func.jvp(torch.sin, (torch.zeros(2),), (torch.ones(2),))
    (tensor([0., 0.]), tensor([1., 1.]))
    """
    out, jv, aux = _jvp_core(func, primals, tangents, has_aux, "jvp")
    return (out, jv, aux) if has_aux else (out, jv)


# --------------------------------------------------------------------------- jacobians
def _jac(func, argnums, has_aux, api):
    from .autograd.grad_mode import enable_grad

    def wrapper(*args, **kwargs):
        args, nums, single, specs, leaves, nested = _prepare(args, argnums, api)
        with enable_grad():
            out = func(*args, **kwargs)
            out, aux = _split_aux(out, has_aux, api)
            ol, ospec = _flatten(out)
            _check_tensors(ol, api, "outputs of the user-provided function")
            per_out = [_jac_one(o, leaves, nested) for o in ol]
        res = [_regroup(j, specs, single) for j in per_out]
        jac = _strip(_unflatten(res, ospec), nested)
        return (jac, _strip(aux, nested)) if has_aux else jac

    return functools.wraps(func)(wrapper)


def _jac_one(out, leaves, nested):
    """Jacobian blocks d out / d leaf, each of shape out.shape + leaf.shape."""
    from .autograd import grad as agrad
    from .ops.creation import zeros
    from .ops.shape import stack
    n = out.numel()
    if not out.requires_grad or n == 0:
        return [zeros(tuple(out.shape) + tuple(x.shape), dtype=x.dtype, device=x.device)
                for x in leaves]
    flat = out.reshape(-1)
    rows = [[] for _ in leaves]
    for k in range(n):
        gs = agrad(flat[k], leaves, retain_graph=True, create_graph=nested, allow_unused=True)
        for r, g, x in zip(rows, gs, leaves):
            r.append(g if g is not None else zeros(tuple(x.shape), dtype=x.dtype,
                                                   device=x.device))
    return [stack(r).reshape(tuple(out.shape) + tuple(x.shape)) for r, x in zip(rows, leaves)]


def jacrev(func, argnums=0, *, has_aux: bool = False, chunk_size=None,
           _preallocate_and_copy: bool = False):
    """The Jacobian of ``func`` with respect to ``args[argnums]`` by reverse mode: for an input
    of shape ``I`` and an output of shape ``O`` the result has shape ``O + I``.

    >>> import engine as torch
    >>> torch.func.jacrev(torch.sin)(torch.zeros(2))
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _jac(func, argnums, has_aux, "jacrev")


def jacfwd(func, argnums=0, has_aux: bool = False, *, randomness: str = "error"):
    """The Jacobian of ``func`` (same result as ``jacrev``; computed here by reverse mode too,
    there is no forward-mode AD underneath)."""
    return _jac(func, argnums, has_aux, "jacfwd")


def hessian(func, argnums=0):
    """``hessian(f) = jacfwd(jacrev(f))``: shape ``I + I`` for a scalar ``f`` of an input of
    shape ``I``.

    >>> import engine as torch
    >>> torch.func.hessian(lambda x: (x ** 3).sum())(torch.tensor([1., 2.]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    return jacfwd(jacrev(func, argnums), argnums)


# --------------------------------------------------------------------------- vmap
def _broadcast_dims(dims, tree, api, what):
    """``dims`` (int/None or a tree prefix of ``tree``) expanded to one entry per leaf."""
    if dims is None or isinstance(dims, int):
        leaves, _ = _flatten(tree)
        return [dims] * len(leaves)
    if isinstance(dims, (tuple, list)):
        if not isinstance(tree, (tuple, list)) or len(tree) != len(dims):
            raise ValueError(f"{api}: {what} is not compatible with the structure of the inputs "
                             f"({what}={dims!r} has {len(dims)} elements, the inputs "
                             f"{'have ' + str(len(tree)) if isinstance(tree, (tuple, list)) else 'are not a sequence'}). "
                             f"{what} must be a tree prefix of the inputs.")
        out = []
        for d, t in zip(dims, tree):
            out += _broadcast_dims(d, t, api, what)
        return out
    if isinstance(dims, dict):
        if not isinstance(tree, dict) or set(tree) != set(dims):
            raise ValueError(f"{api}: {what} keys {sorted(dims)} do not match the inputs")
        out = []
        for k in tree:
            out += _broadcast_dims(dims[k], tree[k], api, what)
        return out
    raise ValueError(f"{api}: expected {what} to be int or a (potentially nested) tuple matching "
                     f"the structure of inputs, got: {type(dims).__name__}.")


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """Vectorise ``func`` over a batch dimension: ``vmap(f)(x)[i] == f(x[i])``.

    This implementation **loops**: it calls ``func`` once per batch element (the inputs sliced
    along ``in_dims``; ``None`` means not mapped) and stacks the outputs along ``out_dims``.
    Results (values and gradients) are those of PyTorch's vmap; the cost is a Python loop.
    ``randomness='same'`` replays one RNG state for every element; ``'different'`` and
    ``'error'`` let random ops draw fresh numbers per element (``'error'`` does not raise).

    >>> import engine as torch
    >>> torch.func.vmap(lambda x, y: x * y, in_dims=(0, None))(torch.ones(3, 2), torch.arange(2.))
    tensor([[0., 1.],
            [0., 1.],
            [0., 1.]])
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if not (in_dims is None or isinstance(in_dims, (int, tuple, list, dict))):
        raise ValueError(f"vmap(f, in_dims={in_dims!r}, ...): expected `in_dims` to be int or a "
                         f"(potentially nested) tuple matching the structure of inputs, got: "
                         f"{type(in_dims).__name__}.")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _vmap_call(func, in_dims, out_dims, randomness, args, kwargs)

    return wrapper


def _vmap_call(func, in_dims, out_dims, randomness, args, kwargs):
    api = f"vmap({getattr(func, '__name__', 'f')}, in_dims={in_dims!r}, ...)(<inputs>)"
    if not args:
        raise ValueError(f"{api}: got no inputs. Maybe you forgot to add inputs, or you are "
                         "trying to vmap over a function with no inputs.")
    dims_tree = in_dims
    if isinstance(dims_tree, list):
        dims_tree = tuple(dims_tree)
    if isinstance(dims_tree, tuple) and len(dims_tree) != len(args):
        raise ValueError(f"{api}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure of {len(dims_tree)} elements but inputs has "
                         f"{len(args)} elements.")
    leaves, spec = _flatten(tuple(args))
    dims = _broadcast_dims(dims_tree, tuple(args), api, "in_dims")
    size = None
    norm = []
    for x, d in zip(leaves, dims):
        if d is None:
            norm.append(None)
            continue
        if not _is_tensor(x):
            raise ValueError(f"{api}: Got in_dim={d} for an input but the input is of type "
                             f"{type(x).__name__}. We cannot vmap over non-Tensor arguments, "
                             "please use None as the respective in_dim")
        if not -x.dim() <= d < max(x.dim(), 1) or x.dim() == 0:
            raise ValueError(f"{api}: Got in_dim={d} for some input, but that input is a Tensor "
                             f"of dimensionality {x.dim()} so expected in_dim to satisfy "
                             f"-{x.dim()} <= in_dim < {x.dim()}.")
        d = d % x.dim()
        n = x.shape[d]
        if size is None:
            size = n
        elif n != size:
            sizes = [x.shape[dd % x.dim()] for x, dd in zip(leaves, dims) if dd is not None]
            raise ValueError(f"{api}: Expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sizes} for the mapped dimension")
        norm.append(d)
    if size is None:
        raise ValueError(f"{api}: at least one input must be mapped over (got in_dims={in_dims!r}"
                         " with no Tensor mapped)")
    from .random import get_rng_state, set_rng_state
    state = get_rng_state() if randomness == "same" else None
    results = []
    for i in range(size):
        if state is not None:
            set_rng_state(state)
        sl = [x.select(d, i) if d is not None else x for x, d in zip(leaves, norm)]
        results.append(func(*_unflatten(sl, spec), **kwargs))
    return _stack_outputs(results, out_dims, api, size)


def _stack_outputs(results, out_dims, api, size):
    from .ops.shape import stack
    if size == 0:
        raise ValueError(f"{api}: the mapped dimension has size 0; vmap needs at least one "
                         "element to find the output structure")
    first_leaves, ospec = _flatten(results[0])
    per = [_flatten(r)[0] for r in results]
    odims = _broadcast_dims(out_dims if not isinstance(out_dims, list) else tuple(out_dims),
                            results[0], api, "out_dims")
    outs = []
    for j, d in enumerate(odims):
        col = [p[j] for p in per]
        if not _is_tensor(col[0]):
            raise ValueError(f"{api}: `{getattr(col[0], '__name__', 'f')}` must only return "
                             f"Tensors, got type {type(col[0]).__name__}. Did you mean to set "
                             "out_dims= to None for output?")
        if d is None:
            outs.append(col[0])
            continue
        nd = col[0].dim() + 1
        if not -nd <= d < nd:
            raise ValueError(f"{api}: Got out_dim={d} for an output of dimensionality "
                             f"{nd - 1}; expected -{nd} <= out_dim < {nd}")
        outs.append(stack(col, dim=d % nd))
    return _unflatten(outs, ospec)


# --------------------------------------------------------------------------- modules
@contextlib.contextmanager
def _swapped(module, tensors: dict, strict: bool):
    if strict:
        expected = set(n for n, _ in module.named_parameters()) | set(
            n for n, _ in module.named_buffers())
        missing, unexpected = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        if missing or unexpected:
            raise RuntimeError("Error(s) in reparametrizing for functional_call: "
                               f"Missing key(s): {missing}. Unexpected key(s): {unexpected}.")
    saved = []
    try:
        for name, value in tensors.items():
            *path, leaf = name.split(".")
            owner = module
            for p in path:
                owner = getattr(owner, p)
            d = owner.__dict__
            for store in ("_parameters", "_buffers"):
                if leaf in d.get(store, {}):
                    saved.append((d[store], leaf, d[store][leaf]))
                    d[store][leaf] = value
                    break
            else:
                if leaf in d:
                    saved.append((d, leaf, d[leaf]))
                    d[leaf] = value
                else:
                    raise AttributeError(f"functional_call: the module has no parameter, buffer "
                                         f"or attribute '{name}'")
        yield
    finally:
        for store, leaf, old in reversed(saved):
            store[leaf] = old


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """Call ``module`` with its parameters and buffers replaced by the tensors in
    ``parameter_and_buffer_dicts`` (a dict name -> tensor, or a tuple of dicts). The module's
    own tensors are put back afterwards, also when the call raises.

    >>> import engine as torch
    >>> lin = torch.nn.Linear(2, 1)
    >>> p = {"weight": torch.ones(1, 2), "bias": torch.zeros(1)}
    >>> torch.func.functional_call(lin, p, (torch.ones(1, 2),))
    tensor([[2.]])
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = dict(parameter_and_buffer_dicts)
    elif isinstance(parameter_and_buffer_dicts, (tuple, list)):
        tensors = {}
        for d in parameter_and_buffer_dicts:
            dup = set(d) & set(tensors)
            if dup:
                raise ValueError(f"{sorted(dup)} appeared in multiple dictionaries; behavior of "
                                 "functional call is ambiguous")
            tensors.update(d)
    else:
        raise ValueError(f"Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(parameter_and_buffer_dicts).__name__}")
    if tie_weights:
        tensors = _tie(module, tensors)
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, tensors, strict):
        return module(*args, **(kwargs or {}))


def _tie(module, tensors):
    """A tensor given for one name of a tied parameter is used for all its names."""
    by_id: dict = {}
    for n, p in module.named_parameters(remove_duplicate=False):
        by_id.setdefault(id(p), []).append(n)
    for n, b in module.named_buffers(remove_duplicate=False):
        by_id.setdefault(id(b), []).append(n)
    out = dict(tensors)
    for names in by_id.values():
        given = [n for n in names if n in tensors]
        if given:
            for n in names:
                out.setdefault(n, tensors[given[0]])
    return out


def stack_module_state(models):
    """``params, buffers = stack_module_state(models)``: each parameter and buffer of the
    (identically structured) models stacked along a new dim 0, for ``vmap`` over
    ``functional_call``. Stacked parameters are new leaves that require grad.

    >>> import engine as torch
    >>> ms = [torch.nn.Linear(2, 3) for _ in range(4)]
    >>> p, b = torch.func.stack_module_state(ms)
    >>> p["weight"].shape
    torch.Size([4, 3, 2])
    """
    from .ops.shape import stack
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    kinds = {(type(m).__name__, m.training) for m in models}
    if len({k[1] for k in kinds}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same training/"
                           "eval mode.")
    if len({k[0] for k in kinds}) > 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def grab(kind):
        names = [n for n, _ in getattr(models[0], kind)()]
        out = {}
        for n in names:
            vals = [dict(getattr(m, kind)())[n] for m in models]
            out[n] = stack([v.detach() for v in vals])
        return out

    params = grab("named_parameters")
    for n, p0 in models[0].named_parameters():
        if p0.requires_grad:
            params[n].requires_grad_(True)
    return params, grab("named_buffers")


def linearize(func, *primals):
    """``out, jvp_fn = linearize(f, *primals)``: ``jvp_fn(*tangents)`` is the Jacobian of ``f`` at
    ``primals`` applied to ``tangents`` (each call re-runs ``jvp``; nothing is traced).

    >>> import engine as torch
    >>> out, jfn = torch.func.linearize(torch.sin, torch.zeros(2))
    >>> jfn(torch.ones(2))
    tensor([1., 1.])
    """
    out, _ = jvp(func, primals, tuple(_zeros_like_tree(p) for p in primals))

    def jvp_fn(*tangents):
        return jvp(func, primals, tangents)[1]

    return out, jvp_fn


def _zeros_like_tree(tree):
    from .ops.creation import zeros_like
    leaves, spec = _flatten(tree)
    return _unflatten([zeros_like(x) for x in leaves], spec)


def functionalize(func, *, remove: str = "mutations"):
    """Returns ``func``: the engine runs in-place ops eagerly and has no graph to rewrite, so
    the functionalized program is the program itself."""
    return func


def replace_all_batch_norm_modules_(root):
    """Make every BatchNorm in ``root`` use batch statistics only (no running stats), as
    PyTorch does before ``vmap`` over a model in training mode. Returns ``root``."""
    for m in root.modules():
        if type(m).__name__.startswith(("BatchNorm", "SyncBatchNorm")) and hasattr(
                m, "track_running_stats"):
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root
