"""``engine.utils``: data loading."""
from . import data  # noqa: F401

__all__ = ["data"]


def __getattr__(name):  # engine.utils.checkpoint without an explicit import, as torch.utils
    if name == "checkpoint":
        import importlib
        return importlib.import_module(".checkpoint", __name__)
    raise AttributeError(f"module 'engine.utils' has no attribute '{name}'")
