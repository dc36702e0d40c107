"""engine's benchmark suite: ``python -m benchmarks`` (console script ``engine-bench``).

Modules: ``harness`` (timing), ``ceilings`` (STREAM bandwidth, peak FLOP/s), ``rows_kernels``,
``rows_training``, ``rows_startup`` (the rows), ``spec`` (rows, targets, evaluation),
``report`` (table, JSON, PNG). Results and how to read them: BENCHMARKS.md at the repo root.

>>> from benchmarks import main  # main(["--quick", "--json", "out.json"])
"""

__all__ = ["main"]


def main(argv=None) -> int:
    """Run the suite (see ``python -m benchmarks --help``); returns the exit code."""
    from .__main__ import main as _main
    return _main(argv)
