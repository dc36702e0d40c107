#!/usr/bin/env bash
# Set up a fresh virtual environment and run the whole test suite (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[test]"
python -m engine info || true
python -m pytest -q -p no:cacheprovider "$@"
# the CUDA backend under Numba's CUDA simulator (a separate process: the variable must be set
# before numba is imported, and it would slow every CPU test down)
NUMBA_ENABLE_CUDASIM=1 python -m pytest -q -p no:cacheprovider tests/cuda
