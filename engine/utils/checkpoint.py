"""``engine.utils.checkpoint``: trade compute for memory by recomputing a block in backward.

- ``use_reentrant=False`` (recommended): ``function`` runs normally, but every tensor an op
  would save for backward is replaced by a small handle (``saved_tensors_hooks``). The first
  time backward needs one, the block is re-run (RNG state restored, so dropout draws the same
  mask) and the recomputed tensors are used. Gradients reach every leaf the block uses,
  including parameters that are not passed as arguments; ``autograd.grad`` works.
- ``use_reentrant=True``: the block runs under ``no_grad``; a custom Function re-runs it with
  grad in backward and back-propagates through the re-run (``backward()`` only, not
  ``autograd.grad``; at least one input must require grad).
- ``use_reentrant=None`` warns as PyTorch does and uses the reentrant variant (PyTorch's
  default).

>>> import engine as torch
>>> from engine.utils.checkpoint import checkpoint
>>> lin = torch.nn.Linear(3, 3)
>>> y = checkpoint(lin, torch.ones(2, 3, requires_grad=True), use_reentrant=False)
>>> y.sum().backward(); lin.weight.grad.shape
torch.Size([3, 3])
"""

from __future__ import annotations

import contextlib
import warnings

__all__ = ["checkpoint", "checkpoint_sequential", "noop_context_fn"]


def noop_context_fn():
    return contextlib.nullcontext(), contextlib.nullcontext()


def _is_tensor(x) -> bool:
    from .._tensor import Tensor
    return isinstance(x, Tensor)


def _rng_state(args, preserve: bool):
    if not preserve:
        return None
    from .. import random
    cuda_state = None
    if any(_is_tensor(a) and a.device.type == "cuda" for a in args):
        from .. import cuda
        cuda_state = cuda.get_rng_state()
    return random.get_rng_state(), cuda_state


@contextlib.contextmanager
def _fork_rng(state):
    """Run with the RNG state ``state`` and put the current state back afterwards."""
    if state is None:
        yield
        return
    from .. import random
    cpu_state, cuda_state = state
    now = random.get_rng_state()
    now_cuda = None
    if cuda_state is not None:
        from .. import cuda
        now_cuda = cuda.get_rng_state()
        cuda.set_rng_state(cuda_state)
    random.set_rng_state(cpu_state)
    try:
        yield
    finally:
        random.set_rng_state(now)
        if now_cuda is not None:
            from .. import cuda
            cuda.set_rng_state(now_cuda)


def checkpoint(function, *args, use_reentrant: bool | None = None, context_fn=noop_context_fn,
               determinism_check: str = "default", debug: bool = False,
               preserve_rng_state: bool = True, **kwargs):
    """``checkpoint(function, *args, use_reentrant=..., preserve_rng_state=True, **kwargs)``:
    ``function(*args, **kwargs)`` whose intermediate results are recomputed in backward
    instead of being kept (see the module doc)."""
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint: the use_reentrant parameter should be passed "
                      "explicitly. Starting in PyTorch 2.9, calling checkpoint without "
                      "use_reentrant will raise an exception. use_reentrant=False is "
                      "recommended, but if you need to preserve the current default behavior, "
                      "you can pass use_reentrant=True. Refer to docs for more details on the "
                      "differences between the two variants.", stacklevel=2)
        use_reentrant = True
    if use_reentrant:
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        return _reentrant(function, preserve_rng_state, args)
    return _non_reentrant(function, preserve_rng_state, context_fn, args, kwargs)


# --------------------------------------------------------------------------- non-reentrant
class _Holder:
    """Tensors recomputed for one checkpointed call, in the order the ops saved them."""

    def __init__(self, recompute) -> None:
        self.recompute = recompute
        self.tensors = None


def _non_reentrant(function, preserve, context_fn, args, kwargs):
    from ..autograd.grad_mode import enable_grad, is_grad_enabled
    from ..autograd.graph import saved_tensors_hooks
    if not is_grad_enabled():
        return function(*args, **kwargs)
    state = _rng_state(args, preserve)
    fwd_ctx, rec_ctx = context_fn()
    counter = [0]

    def recompute():
        captured = []

        def cap_pack(t):
            captured.append(t.detach())
            return len(captured) - 1

        with _fork_rng(state), enable_grad(), rec_ctx, saved_tensors_hooks(cap_pack,
                                                                            lambda i: i):
            function(*args, **kwargs)
        return captured

    holder = _Holder(recompute)

    def pack(t):
        i = counter[0]
        counter[0] += 1
        return (holder, i)

    def unpack(handle):
        h, i = handle
        if h.tensors is None:
            h.tensors = h.recompute()
        if i >= len(h.tensors):
            raise RuntimeError("torch.utils.checkpoint: the recomputed forward saved fewer "
                               f"tensors ({len(h.tensors)}) than the original forward "
                               f"({counter[0]}); the checkpointed function must be "
                               "deterministic (same ops, same shapes) between the two runs")
        return h.tensors[i]

    with saved_tensors_hooks(pack, unpack), fwd_ctx:
        return function(*args, **kwargs)


# --------------------------------------------------------------------------- reentrant
def _reentrant(function, preserve, args):
    from ..autograd import Function
    from ..autograd.grad_mode import is_grad_enabled

    class CheckpointFunction(Function):
        @staticmethod
        def forward(ctx, *inputs):
            ctx.state = _rng_state(inputs, preserve)
            ctx.inputs = [a if not _is_tensor(a) else None for a in inputs]
            ctx.tensor_idx = [i for i, a in enumerate(inputs) if _is_tensor(a)]
            ctx.save_for_backward(*[a for a in inputs if _is_tensor(a)])
            return function(*inputs)

        @staticmethod
        def backward(ctx, *grads):
            from ..autograd import backward as run_backward
            from ..autograd.grad_mode import enable_grad
            inputs = list(ctx.inputs)
            for i, t in zip(ctx.tensor_idx, ctx.saved_tensors):
                d = t.detach()
                d.requires_grad_(t.requires_grad)
                inputs[i] = d
            with _fork_rng(ctx.state), enable_grad():
                outs = function(*inputs)
            outs = (outs,) if _is_tensor(outs) else tuple(outs)
            pairs = [(o, g) for o, g in zip(outs, grads)
                     if _is_tensor(o) and o.requires_grad and g is not None]
            if not pairs:
                raise RuntimeError("none of output has requires_grad=True, this checkpoint() "
                                   "is not necessary")
            run_backward([o for o, _ in pairs], [g for _, g in pairs])
            return tuple(inp.grad if _is_tensor(inp) else None for inp in inputs)

    if is_grad_enabled() and not any(_is_tensor(a) and a.requires_grad for a in args):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=3)
    return CheckpointFunction.apply(*args)


# --------------------------------------------------------------------------- sequential
def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Run a ``Sequential`` (or list of modules) in ``segments`` chunks, checkpointing all but
    the last chunk.

    >>> import engine as torch
    >>> from engine.utils.checkpoint import checkpoint_sequential
    >>> seq = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    >>> checkpoint_sequential(seq, 2, torch.ones(3, 2), use_reentrant=False).shape
    torch.Size([3, 1])
    """
    if use_reentrant is None:
        warnings.warn("torch.utils.checkpoint.checkpoint_sequential: the use_reentrant "
                      "parameter should be passed explicitly. use_reentrant=False is "
                      "recommended.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    from ..nn import Sequential
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be >= 1, got {segments}")
    size = len(functions) // segments
    end = -1

    def run(start, stop):
        def forward(x):
            for j in range(start, stop + 1):
                x = functions[j](x)
            return x
        return forward

    for start in range(0, size * (segments - 1), size):
        end = start + size - 1
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run(end + 1, len(functions) - 1)(input)
