"""Quadrotor (L2F) simulator throughput: turborl side by side with RLtools, in one run.

    python bench/bench_quadrotor.py [--rltools-include /tmp/rl-tools/include] [--num-envs 16384] [--steps 1000]

Measured: steps of one quadrotor per second, and simulated flight time per second of wall-clock
(months/s at dt = 0.01 s, a month being 30 days), for

- turborl ``turborl.envs.quadrotor.simulate`` (vectorised C++ over blocks of 64 envs) in float32
  with 1 and 2 threads, and float64 with 1 thread;
- turborl's vector env ``make_vec("Quadrotor-L2F-v0", num_envs, dtype="float32", copy=False)``
  stepped from Python with hover actions: the whole MDP (146-value observations with sensor noise,
  critic observations, rewards, terminations and resets), for scale;
- turborl ``turborl.cuda.quadrotor_simulate`` (one GPU thread per quadrotor) when a GPU is present;
- RLtools' L2F step (rl-tools/rl-tools headers, bench/native/bench_l2f_rltools.cpp compiled here
  with g++ -O3 -march=native -finline-limit=100000) with 1 and 2 threads, when
  ``--rltools-include`` points at RLtools' ``include`` directory (extract it with
  ``git archive`` from a clone of rl-tools/rl-tools).

Both sides run the paper's benchmark protocol: every quadrotor keeps its state local and takes
``--steps`` RK4 steps (dynamics with rotor lag and a constant disturbance, then quaternion
renormalisation and rpm clamping) with held set-points near hover. Each figure is the best of
three runs after a warm-up. The last column divides by RLtools' one-thread figure.

``--train-seeds N`` also trains the paper's TD3 hover policy (``TD3Config.env_defaults``: 300k
steps, one env, one torch thread) for seeds 0..N-1, each in a fresh subprocess one after another,
and reports per seed the wall-clock (training plus the periodic evaluations, as the CLI runs it)
and ``evaluate_hover`` over 100 episodes from random starts; then the median time and the success
rate. RLtools' own 300k-step run took 25.3 s on this machine (the issue's measurement; RLtools'
training is not rebuilt here).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import turborl
from turborl.envs import quadrotor

DT = 0.01
SECONDS_PER_MONTH = 30 * 24 * 3600
REPEATS = 3


def initial_states(num_envs: int, dtype: type) -> np.ndarray:
    """Random attitudes, velocities and disturbances near hover, like the env's resets."""
    rng = np.random.default_rng(0)
    states = np.zeros((num_envs, len(quadrotor.SIMULATE_STATE_NAMES)), dtype=dtype)
    states[:, 0:3] = rng.uniform(-0.2, 0.2, (num_envs, 3))
    q = rng.normal(size=(num_envs, 4)) * [1.0, 0.1, 0.1, 0.1]
    states[:, 3:7] = q / np.linalg.norm(q, axis=1, keepdims=True)
    states[:, 7:13] = rng.uniform(-1.0, 1.0, (num_envs, 6))
    states[:, 13:17] = 10_851.0
    states[:, 17:20] = rng.normal(0.0, 0.027 * 9.81 / 20, (num_envs, 3))
    states[:, 20:23] = rng.normal(0.0, 0.027 * 9.81 / 10_000, (num_envs, 3))
    return states


def best_of(run) -> float:
    run()  # warm-up
    return min(run() for _ in range(REPEATS))


def turborl_cpu(num_envs: int, steps: int, dtype: type, threads: int) -> float:
    states = initial_states(num_envs, dtype)
    actions = np.full((num_envs, 4), quadrotor.hover_action(), dtype=np.float32)

    def run() -> float:
        start = time.perf_counter()
        quadrotor.simulate(states, actions, steps, num_threads=threads)
        return time.perf_counter() - start

    return num_envs * steps / best_of(run)


def turborl_vector_env(num_envs: int, steps: int, threads: int) -> float:
    envs = turborl.envs.make_vec(quadrotor.ENV_ID, num_envs, seed=0, dtype="float32", num_threads=threads, copy=False)
    envs.reset()
    actions = np.full((num_envs, 4), quadrotor.hover_action(), dtype=np.float32)
    steps = max(1, steps // 10)

    def run() -> float:
        start = time.perf_counter()
        for _ in range(steps):
            envs.step(actions)
        return time.perf_counter() - start

    return num_envs * steps / best_of(run)


def turborl_cuda(num_envs: int, steps: int) -> float:
    states = initial_states(num_envs, np.float32)
    actions = np.full((num_envs, 4), quadrotor.hover_action(), dtype=np.float32)
    seconds = best_of(lambda: turborl.cuda.quadrotor_simulate(states, actions, steps).kernel_seconds)
    return num_envs * steps / seconds


def build_rltools(include: Path, work: Path) -> Path:
    binary = work / "bench_l2f_rltools"
    source = Path(__file__).parent / "native" / "bench_l2f_rltools.cpp"
    subprocess.run(
        ["g++", "-O3", "-march=native", "-std=c++17", "-finline-limit=100000", f"-I{include}", str(source),
         "-o", str(binary), "-lpthread"],
        check=True,
    )  # fmt: skip
    return binary


def rltools(binary: Path, num_envs: int, steps: int, threads: int) -> float:
    def run() -> float:
        out = subprocess.run([str(binary), str(num_envs), str(steps), str(threads)], check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
        return json.loads(out.strip().splitlines()[-1])["seconds"]

    return num_envs * steps / best_of(run)


TRAIN_SCRIPT = """
import json, sys, time
import torch
torch.set_num_threads(1)
from turborl.algos import TD3, TD3Config
from turborl.envs import quadrotor
config = TD3Config.for_env(quadrotor.ENV_ID, seed=int(sys.argv[1]), progress=False)
start = time.perf_counter()
run = TD3(config).learn()
seconds = time.perf_counter() - start
report = quadrotor.evaluate_hover(run.policy())
print(json.dumps({"seconds": seconds, **{k: v for k, v in report.to_dict().items() if k != "trajectory"}}))
"""


def train(seeds: int) -> None:
    import sys

    results = []
    for seed in range(seeds):
        out = subprocess.run([sys.executable, "-c", TRAIN_SCRIPT, str(seed)], check=True, capture_output=True,
                             text=True).stdout  # fmt: skip
        result = json.loads(out.strip().splitlines()[-1])
        results.append(result)
        print(f"  seed {seed}: {result['seconds']:.1f} s, mean length {result['episode_length']:.0f}, "
              f"{result['settled_fraction']:.0%} settled within 0.2 m, final error "
              f"{result['final_position_error']:.3f} m, hovers: {result['success']}", flush=True)
    seconds = [r["seconds"] for r in results]
    hovering = sum(r["success"] for r in results)
    print(f"TD3 L2F 300k steps, {seeds} seeds: median {np.median(seconds):.1f} s (RLtools: 25.3 s here), "
          f"hovering (>= 90% of 100 episodes settled within 0.2 m) in {hovering}/{seeds} seeds; median final "
          f"position error {np.median([r['final_position_error'] for r in results]):.3f} m, median settled "
          f"fraction {np.median([r['settled_fraction'] for r in results]):.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rltools-include", type=Path, default=None)
    parser.add_argument("--num-envs", type=int, default=16_384)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--gpu-envs", type=int, default=1 << 20)
    parser.add_argument("--train-seeds", type=int, default=0, help="also train TD3 on the hover task")
    parser.add_argument("--skip-simulator", action="store_true")
    parser.add_argument("--gpu-only", action="store_true", help="only the CUDA row (for a lent GPU machine)")
    args = parser.parse_args()
    if args.train_seeds:
        train(args.train_seeds)
    if args.skip_simulator:
        return
    print(f"# {platform.processor() or platform.machine()}, turborl {turborl.__version__}, "
          f"{args.num_envs} quadrotors x {args.steps} steps, best of {REPEATS}")  # fmt: skip

    rows: list[tuple[str, float]] = []
    if args.rltools_include is not None:
        with tempfile.TemporaryDirectory() as work:
            binary = build_rltools(args.rltools_include, Path(work))
            for threads in (1, 2):
                rows.append((f"RLtools L2F, float32, {threads} thread(s)", rltools(binary, args.num_envs, args.steps, threads)))
    if args.gpu_only and not turborl.cuda_available():
        raise SystemExit("--gpu-only: turborl sees no CUDA GPU on this machine")
    if not args.gpu_only:
        for threads in (1, 2):
            rows.append((f"turborl simulate, float32, {threads} thread(s)",
                         turborl_cpu(args.num_envs, args.steps, np.float32, threads)))
        rows.append(("turborl simulate, float64, 1 thread", turborl_cpu(args.num_envs, args.steps, np.float64, 1)))
        for threads in (1, 2):
            rows.append((f"turborl vector env (full MDP), float32, {threads} thread(s)",
                         turborl_vector_env(args.num_envs, args.steps, threads)))
    if turborl.cuda_available():
        name = turborl.cuda.device_name()
        rows.append((f"turborl CUDA, float32, {name}, {args.gpu_envs} quadrotors", turborl_cuda(args.gpu_envs, args.steps)))

    reference = rows[0][1] if args.rltools_include is not None else None
    print(f"| {'simulator':<58} | {'steps/s':>12} | {'months/s':>9} | {'vs RLtools 1 thread':>19} |")
    print(f"|{'-' * 60}|{'-' * 14}|{'-' * 11}|{'-' * 21}|")
    for name, rate in rows:
        months = rate * DT / SECONDS_PER_MONTH
        ratio = f"{rate / reference:.1f}x" if reference else "-"
        print(f"| {name:<58} | {rate:>12.3e} | {months:>9.3f} | {ratio:>19} |")


if __name__ == "__main__":
    main()
