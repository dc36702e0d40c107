"""Module.state_dict / load_state_dict with PyTorch's key names, metadata and errors."""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from ..._tensor import Tensor

__all__ = ["StateDictMixin", "_IncompatibleKeys"]


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class StateDictMixin:
    """state_dict machinery; mixed into Module (kept apart to keep files short)."""

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()

    def state_dict(self, *args, destination=None, prefix: str = "", keep_vars: bool = False):
        """An ordered dict of every parameter and persistent buffer, keyed by dotted name
        (``'0.weight'``, ``'fc.bias'``); values are detached unless ``keep_vars``."""
        if args:  # legacy positional (destination, prefix, keep_vars)
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        meta = getattr(destination, "_metadata", None)
        if meta is not None:
            meta[prefix[:-1]] = {"version": self._version}
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination=destination, prefix=prefix + name + ".",
                             keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            r = hook(self, destination, prefix, {})
            if r is not None:
                destination = r
        return destination

    def register_state_dict_post_hook(self, hook):
        from .module import Module
        return Module._add_hook(self._state_dict_hooks, hook, False, None)

    _register_state_dict_hook = register_state_dict_post_hook

    def register_load_state_dict_pre_hook(self, hook):
        from .module import Module
        return Module._add_hook(self._load_state_dict_pre_hooks, hook, False, None)

    def register_load_state_dict_post_hook(self, hook):
        from .module import Module
        return Module._add_hook(self._load_state_dict_post_hooks, hook, False, None)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                 error_msgs)
        local = {k: v for k, v in self._parameters.items() if v is not None}
        local.update({k: v for k, v in self._buffers.items()
                      if v is not None and k not in self._non_persistent_buffers_set})
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, param in local.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            _copy_one(self, name, key, param, state_dict[key], assign, error_msgs)
        if strict:
            for key in state_dict:
                if not key.startswith(prefix):
                    continue
                parts = key[len(prefix):].split(".", 1)
                if len(parts) > 1:
                    if parts[0] not in self._modules:
                        unexpected_keys.append(key)
                elif parts[0] not in local:
                    unexpected_keys.append(key)

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict`` into this module (in place).
        Returns ``_IncompatibleKeys(missing_keys, unexpected_keys)``; with ``strict`` any
        mismatch raises RuntimeError naming every bad key, as PyTorch does."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing, unexpected, errors = [], [], []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)

        def load(module, local_sd, prefix=""):
            local_meta = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_meta["assign_to_params_buffers"] = True
            module._load_from_state_dict(local_sd, prefix, local_meta, True, missing,
                                         unexpected, errors)
            for name, child in module._modules.items():
                if child is not None:
                    cp = prefix + name + "."
                    load(child, {k: v for k, v in local_sd.items() if k.startswith(cp)}, cp)
            keys = _IncompatibleKeys(missing, unexpected)
            for hook in module._load_state_dict_post_hooks.values():
                hook(module, keys)

        load(self, state_dict)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                type(self).__name__, "\n\t".join(errors)))
        return _IncompatibleKeys(missing, unexpected)


def _as_engine_tensor(v):
    if isinstance(v, Tensor):
        return v
    if hasattr(v, "detach") and hasattr(v, "cpu") and hasattr(v, "numpy"):
        from ...ops.creation import tensor  # a torch tensor (e.g. a torch checkpoint)
        return tensor(v.detach().cpu().numpy())
    if hasattr(v, "__array__") and hasattr(v, "shape"):
        from ...ops.creation import tensor
        return tensor(v)
    return None


def _copy_one(module, name, key, param, value, assign, error_msgs):
    from ...autograd.grad_mode import no_grad
    v = _as_engine_tensor(value)
    if v is None:
        error_msgs.append(f'While copying the parameter named "{key}", expected torch.Tensor '
                          f"or Tensor-like object from checkpoint but received {type(value)}")
        return
    if param.ndim == 0 and v.ndim == 1 and v.shape[0] == 1:
        v = v[0]
    if v.shape != param.shape:
        error_msgs.append(f"size mismatch for {key}: copying a param with shape {v.shape} from "
                          f"checkpoint, the shape in current model is {param.shape}.")
        return
    try:
        with no_grad():
            if assign:
                from ..parameter import Parameter
                if name in module._parameters:
                    module._parameters[name] = Parameter(v, param.requires_grad) \
                        if not isinstance(v, Parameter) else v
                else:
                    module._buffers[name] = v
            else:
                param.copy_(v)
    except Exception as ex:  # noqa: BLE001  (reported like PyTorch does)
        error_msgs.append(f'While copying the parameter named "{key}", whose dimensions in the '
                          f"model are {param.shape} and whose dimensions in the checkpoint are "
                          f"{v.shape}, an exception occurred : {ex.args}.")
