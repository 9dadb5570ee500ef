#!/usr/bin/env bash
# Creates .venv (if needed) and installs turborl from this checkout in editable mode, with the
# given extras (default: test). Re-running it after a change rebuilds only what changed: the
# CMake build directory build/editable persists between runs.
#
#   bash scripts/setup.sh            # tests
#   bash scripts/setup.sh train      # training extras
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test}"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
py=.venv/bin/python

# torch: exactly the CPU build 2.13.0, installed before any extra that mentions torch, so that
# no install ever resolves a bare `torch` to a multi-GB CUDA build.
"$py" -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
# Build tools in the venv itself, so that the build needs nothing installed by hand.
"$py" -m pip install --quiet --disable-pip-version-check \
  "scikit-build-core>=0.10" "nanobind>=2.4" "cmake>=3.24" "ninja" "numpy>=1.26"
"$py" -m pip install --quiet --disable-pip-version-check --no-build-isolation \
  -Cbuild-dir=build/editable -e ".[${extras}]"
