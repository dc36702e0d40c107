"""Module.train/eval, zero_grad, apply, and device/dtype conversion (``_apply``)."""

from __future__ import annotations

from ..._tensor import Tensor

__all__ = ["ConvertMixin"]


class ConvertMixin:
    """Mode and conversion methods; mixed into Module (kept apart to keep files short)."""

    # ---- modes, grads, conversion -------------------------------------------------------
    def train(self, mode: bool = True) -> ConvertMixin:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")  # noqa: TRY004
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> ConvertMixin:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> ConvertMixin:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g.requires_grad_(False)
                g._fill_nograd(0)

    def apply(self, fn) -> ConvertMixin:
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def _apply(self, fn, recurse: bool = True) -> ConvertMixin:
        from ...autograd.grad_mode import no_grad
        if recurse:
            for m in self.children():
                m._apply(fn)
        for key, p in self._parameters.items():
            if p is None:
                continue
            with no_grad():
                new = fn(p)
            if new is not p:
                p.data = new
            if p.grad is not None:
                with no_grad():
                    g = fn(p.grad)
                if g is not p.grad:
                    p._grad = g
        for key, b in self._buffers.items():
            if b is not None:
                self._buffers[key] = fn(b)
        return self

    def to(self, *args, **kwargs) -> ConvertMixin:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``; floating
        parameters/buffers take the dtype, every tensor takes the device."""
        from ... import _dtype as D
        dtype, device = kwargs.get("dtype"), kwargs.get("device")
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, D.dtype):
                dtype = a
            elif a is not None and not isinstance(a, bool):
                device = a
        if dtype is not None:
            dtype = D.to_dtype(dtype)
            if not dtype.is_floating_point:
                raise TypeError("nn.Module.to only accepts floating point or complex dtypes, "
                                f"but got desired dtype={dtype}")

        def convert(t):
            if dtype is not None and t.is_floating_point():
                return t.to(device, dtype) if device is not None else t.to(dtype)
            return t.to(device) if device is not None else t
        return self._apply(convert)

    def cpu(self) -> ConvertMixin:
        return self._apply(lambda t: t.cpu())

    def cuda(self, device=None) -> ConvertMixin:
        return self._apply(lambda t: t.cuda(device))

    def type(self, dst_type) -> ConvertMixin:
        return self._apply(lambda t: t.type(dst_type))

    def _float_cast(self, dt):
        return self._apply(lambda t: t.to(dt) if t.is_floating_point() else t)

    def float(self) -> ConvertMixin:
        from ... import _dtype as D
        return self._float_cast(D.float32)

    def double(self) -> ConvertMixin:
        from ... import _dtype as D
        return self._float_cast(D.float64)

    def half(self) -> ConvertMixin:
        from ... import _dtype as D
        return self._float_cast(D.float16)

    def share_memory(self) -> ConvertMixin:
        return self
