#!/usr/bin/env bash
# The checks that need a GPU, as one prepared script for a lent GPU machine (the `device` tool,
# which copies the working tree there; its image has python3 with PyTorch, nanobind,
# scikit-build-core, CMake, ninja, pytest and nvcc, but no Gymnasium and no network):
#
#   bash scripts/gpu_check.sh prepare    # here: the wheels the GPU image lacks, into .gpu/wheels
#   bash scripts/gpu_check.sh run        # there (carry [".gpu"]); logs into $OUT (else .gpu/out)
#
# `run` builds and installs turborl with that python3 (CUDA module included), then runs the CUDA
# tests (they must pass, none skipped), bench/bench_quadrotor.py's GPU rows (the quadrotor issue's
# goal: >= 1.3e9 steps/s on an H100-class GPU) and bench/bench_planning.py's CUDA sweep. PYTHON
# overrides the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-python3}"

case "${1:-}" in
  prepare)
    rm -rf .gpu/wheels
    "$py" -m pip download --quiet --no-deps -d .gpu/wheels "gymnasium==1.4.0" "farama-notifications"
    ls .gpu/wheels
    ;;
  run)
    out="${OUT:-.gpu/out}"
    mkdir -p "$out"
    { nvidia-smi || true; "$py" --version; } > "$out/machine.txt" 2>&1
    "$py" -m pip install --quiet --no-index --no-deps .gpu/wheels/*.whl
    echo "building (log: $out/build.log)"
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" "$py" -m pip install --no-index --no-deps --no-build-isolation \
      -Cbuild-dir=build/gpu . > "$out/build.log" 2>&1 || {
      tail -40 "$out/build.log"
      exit 1
    }
    # Imported from site-packages (tests/ does not shadow the package; python/ is not on the path).
    "$py" -c "import turborl; assert turborl.cuda_available(), 'turborl._cuda sees no GPU'; \
print('GPU:', turborl.cuda.device_name())" | tee "$out/cuda.txt"
    # Every CUDA test, none skipped: -rs lists skips and the grep fails the run on any.
    "$py" -m pytest -q -p no:cacheprovider -rs tests/cuda tests/envs/test_quadrotor.py -k "cuda or gpu" \
      2>&1 | tee "$out/tests.txt"
    if grep -q "SKIPPED" "$out/tests.txt"; then
      echo "CUDA tests were skipped on a GPU machine" >&2
      exit 1
    fi
    # The CPU rows once (16 threads there), then the GPU at two batch sizes.
    "$py" bench/bench_quadrotor.py 2>&1 | tee "$out/bench_quadrotor.txt"
    "$py" bench/bench_quadrotor.py --gpu-only --gpu-envs 4194304 2>&1 | tee -a "$out/bench_quadrotor.txt"
    # The value-iteration sweep on the GPU beside the CPU's (the planning issue's bandwidth goal).
    "$py" bench/bench_planning.py --sizes 1000000,10000000 --actions 4 --next 1,4 --seconds 0.3 --repeats 2 \
      --cuda 2>&1 | tee "$out/bench_planning.txt"
    # The CUDA argument checks (some skip on a GPU machine: they test the no-GPU message).
    "$py" -m pytest -q -p no:cacheprovider tests/test_errors.py -k cuda 2>&1 | tail -3 | tee -a "$out/tests.txt"
    ;;
  *)
    echo "usage: bash scripts/gpu_check.sh prepare|run" >&2
    exit 2
    ;;
esac
