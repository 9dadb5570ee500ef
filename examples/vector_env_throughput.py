"""Step turborl's C++ vector envs and Gymnasium's NumPy vector env on the same work; print steps/s.

    python examples/vector_env_throughput.py [--num-envs 4096] [--seconds 1.0]

A quick look; bench/bench_envs.py is the full side-by-side benchmark.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import turborl


def steps_per_second(envs, actions: np.ndarray, seconds: float) -> float:
    envs.reset(seed=0)
    for batch in actions[:10]:  # warm-up
        envs.step(batch)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for batch in actions:
            envs.step(batch)
        steps += len(actions)
    return steps * envs.num_envs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-envs", type=int, default=4096)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    actions = rng.integers(0, 2, size=(64, args.num_envs), dtype=np.int64)
    print(f"CartPole-v1, {args.num_envs} envs, random actions, one thread each\n")
    rows = []
    for dtype in ("float32", "float64"):
        envs = turborl.envs.make_vec("CartPole-v1", args.num_envs, dtype=dtype, copy=False)
        rows.append((f"turborl ({dtype})", steps_per_second(envs, actions, args.seconds)))
        envs.close()
    reference = gym.make_vec("CartPole-v1", num_envs=args.num_envs, vectorization_mode="vector_entry_point")
    rows.append(("gymnasium NumPy vector env", steps_per_second(reference, actions, args.seconds)))
    reference.close()

    baseline = rows[-1][1]
    print(f"{'implementation':<28} {'M steps/s':>10} {'vs gymnasium':>13}")
    for name, rate in rows:
        print(f"{name:<28} {rate / 1e6:>10.1f} {rate / baseline:>12.1f}x")


if __name__ == "__main__":
    main()
