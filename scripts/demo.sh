#!/usr/bin/env bash
# Sets up .venv (scripts/setup.sh) and runs the main job: for now, a demo that steps turborl's
# vector envs next to Gymnasium's and prints throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh train
.venv/bin/python examples/vector_env_throughput.py "$@"
