"""Anomaly detection: record where each op was created; name it when backward makes NaN."""

from __future__ import annotations

from . import graph

__all__ = ["set_detect_anomaly", "detect_anomaly", "is_anomaly_enabled"]


def is_anomaly_enabled() -> bool:
    return graph.anomaly["enabled"]


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` as a call or a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = graph.anomaly["enabled"]
        graph.anomaly["enabled"] = bool(mode)
        graph.anomaly["check_nan"] = check_nan

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        graph.anomaly["enabled"] = self.prev
        return False


class detect_anomaly(set_detect_anomaly):
    def __init__(self, check_nan: bool = True):
        self._check = check_nan
        self.prev = graph.anomaly["enabled"]

    def __enter__(self):
        graph.anomaly["enabled"] = True
        return self
