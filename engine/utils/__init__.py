"""``engine.utils``: data loading."""
from . import data  # noqa: F401

__all__ = ["data"]
