"""Numba kernels by family (never imports ``engine``).

Numba's on-disk cache invalidates a kernel only when its own source file changes, not when a
function it calls from another file does (a stale entry can even crash). So unless the user
chose ``NUMBA_CACHE_DIR``, the cache lives in a directory keyed by a hash of every kernel
source file: editing any kernel starts a fresh cache."""

import hashlib
import os
import sys


def _source_hash() -> str:
    h = hashlib.sha1()
    root = os.path.dirname(os.path.abspath(__file__))
    for dirpath, dirnames, files in sorted(os.walk(root)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(("_generated", "__py")))
        for f in sorted(files):
            if f.endswith(".py"):
                with open(os.path.join(dirpath, f), "rb") as fh:
                    h.update(f.encode() + fh.read())
    return h.hexdigest()[:12]


def _cache_dir() -> str:
    base = os.environ.get("ENGINE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "engine")
    return os.path.join(base, "numba-" + _source_hash())


if not os.environ.get("NUMBA_CACHE_DIR"):
    try:
        _dir = _cache_dir()
        os.makedirs(_dir, exist_ok=True)
        if "numba" in sys.modules:
            import numba
            numba.config.CACHE_DIR = _dir
        else:
            os.environ["NUMBA_CACHE_DIR"] = _dir
    except OSError:  # read-only home: fall back to Numba's default (__pycache__ beside files)
        pass
