#!/usr/bin/env bash
# Set up a fresh virtual environment and run the main job: train the digits MLP (example 2).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[examples]"
python examples/digits_mlp.py "$@"
