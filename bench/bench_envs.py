"""Vector-env throughput: turborl side by side with Gymnasium and EnvPool, in one run.

    python bench/bench_envs.py [--envs CartPole-v1 ...] [--num-envs 64 1024 4096] [--seconds 0.3]

For each environment and batch size, every implementation steps the same pre-drawn random
actions (64 batches, cycled) with next-step autoreset; each measurement is the best of three
runs of `--seconds` after a warm-up. Printed: steps/s and the ratio of turborl (float32, one
thread) to each row. Absolute numbers drift on shared machines; ratios taken in one run hold.

Peers: Gymnasium's SyncVectorEnv of single envs, Gymnasium's NumPy vector env where Gymnasium
has one (CartPole-v1 only), and EnvPool in sync mode (batch_size = num_envs).
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from typing import Callable

import gymnasium as gym
import numpy as np

import turborl

ENV_IDS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1")


def random_actions(env_id: str, num_envs: int, batches: int = 64) -> np.ndarray:
    spec = turborl.envs.env_spec(env_id)
    rng = np.random.default_rng(0)
    if spec.action_kind == "discrete":
        return rng.integers(0, spec.num_actions, (batches, num_envs), dtype=np.int64)
    low, high = spec.action_low[0], spec.action_high[0]
    return rng.uniform(low, high, (batches, num_envs, spec.action_dim)).astype(np.float32)


def measure(step: Callable[[np.ndarray], object], actions: np.ndarray, num_envs: int, seconds: float) -> float:
    """Best of three: steps of one env per second."""
    for batch in actions[:5]:
        step(batch)
    best = 0.0
    for _ in range(3):
        steps, start = 0, time.perf_counter()
        while True:
            for batch in actions[:16]:
                step(batch)
            steps += 16
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        best = max(best, steps * num_envs / elapsed)
    return best


def turborl_step(env_id: str, num_envs: int, dtype: str, threads: int, copy: bool):
    envs = turborl.envs.make_vec(env_id, num_envs, seed=0, dtype=dtype, num_threads=threads, copy=copy)
    envs.reset()
    return envs.step, envs.close


def gymnasium_step(env_id: str, num_envs: int, mode: str):
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    envs.reset(seed=0)
    return envs.step, envs.close


def envpool_step(env_id: str, num_envs: int, threads: int):
    import envpool

    envs = envpool.make(env_id, env_type="gymnasium", num_envs=num_envs, batch_size=num_envs,
                        num_threads=threads, seed=0)
    envs.reset()
    return envs.step, envs.close


class CudaRollout:
    """CartPole on the GPU: 500 steps per launch with actions drawn on the device; the rate
    counts kernel time only (turborl.cuda.cartpole_rollout's kernel_seconds)."""

    def __init__(self, num_envs: int, dtype: str):
        self.envs = turborl.envs.make_vec("CartPole-v1", num_envs, seed=0, dtype=dtype)
        self.envs.reset()

    def rate(self) -> float:
        run = turborl.cuda.cartpole_rollout(self.envs, None, num_steps=500, record=False)
        return 500 * self.envs.num_envs / run.kernel_seconds


def implementations(env_id: str):
    rows = [
        ("turborl float32, 1 thread", lambda n: turborl_step(env_id, n, "float32", 1, False)),
        ("turborl float32, 2 threads", lambda n: turborl_step(env_id, n, "float32", 2, False)),
        ("turborl float64, 1 thread", lambda n: turborl_step(env_id, n, "float64", 1, False)),
        ("turborl float64, 2 threads", lambda n: turborl_step(env_id, n, "float64", 2, False)),
        ("turborl float32, 1 thread, copy=True", lambda n: turborl_step(env_id, n, "float32", 1, True)),
        ("gymnasium SyncVectorEnv", lambda n: gymnasium_step(env_id, n, "sync")),
    ]
    if gym.spec(env_id).vector_entry_point is not None:
        rows.append(("gymnasium NumPy vector env", lambda n: gymnasium_step(env_id, n, "vector_entry_point")))
    rows.append(("envpool sync, 1 thread", lambda n: envpool_step(env_id, n, 1)))
    rows.append(("envpool sync, 2 threads", lambda n: envpool_step(env_id, n, 2)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(ENV_IDS))
    parser.add_argument("--num-envs", nargs="+", type=int, default=[64, 1024, 4096])
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # peers' deprecation and precision warnings

    print(f"# Vector-env throughput, M steps/s (best of 3 x {args.seconds} s), random actions, next-step autoreset")
    print(f"# {platform.processor() or platform.machine()}, {turborl._core.hardware_concurrency()} hardware threads, "
          f"turborl SIMD: {turborl._core.simd}; copy=False unless stated")
    for env_id in args.envs:
        rows = implementations(env_id)
        results: dict[str, dict[int, float | None]] = {name: {} for name, _ in rows}
        for num_envs in args.num_envs:
            actions = random_actions(env_id, num_envs)
            for name, make in rows:
                try:
                    step, close = make(num_envs)
                except Exception as error:  # a peer that cannot run this env says so in the table
                    print(f"  ({name} unavailable for {env_id}: {type(error).__name__}: {error})")
                    results[name][num_envs] = None
                    continue
                results[name][num_envs] = measure(step, actions, num_envs, args.seconds)
                close()
        if env_id == "CartPole-v1" and turborl.cuda_available():
            for dtype in ("float32", "float64"):
                name = f"turborl CUDA {dtype} (kernel time, {turborl.cuda.device_name()})"
                rows.append((name, None))
                results[name] = {n: max(CudaRollout(n, dtype).rate() for _ in range(3)) for n in args.num_envs}
        reference = results["turborl float32, 1 thread"]
        print(f"\n## {env_id}\n")
        header = "| implementation | " + " | ".join(f"{n} envs" for n in args.num_envs)
        header += " | " + " | ".join(f"turborl f32/1t ÷ this @ {n}" for n in args.num_envs) + " |"
        print(header)
        print("|" + "---|" * (1 + 2 * len(args.num_envs)))
        for name, _ in rows:
            rates = results[name]
            cells = [f"{rates[n] / 1e6:.2f}" if rates[n] else "n/a" for n in args.num_envs]
            ratios = [f"{reference[n] / rates[n]:.1f}x" if rates[n] else "n/a" for n in args.num_envs]
            print(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")


if __name__ == "__main__":
    main()
