"""Run a CPU-only op for CUDA tensors through the host: inputs go to the CPU with the
differentiable ``.cpu()``, the op runs there, outputs come back with ``.to(device)``, so
values and gradients are right (autograd sees two copies around the op). Correct but slow --
every call copies its operands both ways. No op uses it at present (convolution, pooling and
nearest upsampling run on the device: kernels/cuda/conv.py, pool.py); it stays for a new op
that needs CUDA results before its kernels exist."""

from __future__ import annotations

__all__ = ["any_cuda", "host_fallback", "via_host"]


def _tensors(x):
    from .._tensor import Tensor
    if isinstance(x, Tensor):
        yield x
    elif isinstance(x, (list, tuple)):
        for e in x:
            yield from _tensors(e)


def any_cuda(*args) -> bool:
    return any(t.is_cuda for a in args for t in _tensors(a))


def _move(x, dev):
    from .._tensor import Tensor
    if isinstance(x, Tensor):
        return x.to(dev)
    if isinstance(x, tuple) and type(x) is not tuple:  # named tuples (values, indices)
        return type(x)(tuple(_move(e, dev) for e in x))
    if isinstance(x, (list, tuple)):
        return type(x)(_move(e, dev) for e in x)
    return x


def via_host(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` computed on the CPU for CUDA operands, results on their
    device. All tensor operands must share one device (else PyTorch's mixed-device error)."""
    devs = {t.device for a in (*args, *kwargs.values()) for t in _tensors(a)}
    name = getattr(fn, "__name__", "op")
    if len(devs) > 1:
        a, b = sorted(devs, key=str)[:2]
        raise RuntimeError(f"{name}: Expected all tensors to be on the same device, but found "
                           f"at least two devices, {a} and {b}! Move them with .to(device).")
    dev = next(iter(devs))
    cpu = _move(args, "cpu")
    kw = {k: _move(v, "cpu") for k, v in kwargs.items()}
    return _move(fn(*cpu, **kw), dev)


def host_fallback(fn):
    """Decorator: CUDA operands run ``fn`` through the host (``via_host``); CPU calls go
    straight through (one scan of the arguments)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if any_cuda(*args, *kwargs.values()):
            return via_host(fn, *args, **kwargs)
        return fn(*args, **kwargs)
    wrapper.__wrapped__ = fn
    return wrapper
