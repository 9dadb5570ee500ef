#!/usr/bin/env bash
# Sets up .venv (scripts/setup.sh) and runs the test suite. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/python -m pytest -q "$@"
