"""Replay buffers: turborl side by side with cpprb and TorchRL, in one run.

    python bench/bench_replay.py [--capacity 1000000] [--batch 256] [--seconds 0.5]

Every implementation stores the same transitions (obs float32[8], action int64, reward float32,
next_obs float32[8], done) at capacity 1,000,000 and is measured on:
  - add 1: one transition per call, into a full buffer (transitions/s)
  - add 64: 64 transitions per call, a vector env's step (transitions/s)
  - sample: uniform batch of 256 (samples/s, and microseconds per call)
  - PER: prioritized sample of 256 plus update_priorities of 256 (microseconds per pair)
Each figure is the best of three timed runs; all inputs are drawn before timing. The last
column is turborl's rate divided by the row's.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from typing import Callable

import numpy as np

import turborl
from turborl.replay import PrioritizedReplayBuffer, ReplayBuffer

OBS_DIM = 8


def best_rate(run: Callable[[], None], items_per_call: int, seconds: float) -> float:
    """Items per second, best of three runs of `seconds`."""
    for _ in range(3):
        run()
    best = 0.0
    for _ in range(3):
        calls, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for _ in range(10):
                run()
            calls += 10
        best = max(best, calls * items_per_call / (time.perf_counter() - start))
    return best


def data(rows: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "obs": rng.standard_normal((rows, OBS_DIM)).astype(np.float32),
        "action": rng.integers(0, 4, rows),
        "reward": rng.standard_normal(rows).astype(np.float32),
        "next_obs": rng.standard_normal((rows, OBS_DIM)).astype(np.float32),
        "done": rng.random(rows) < 0.01,
    }


# ---- turborl --------------------------------------------------------------------------------------

def turborl_spec(explicit_next_obs: bool) -> dict:
    spec = {"obs": ((OBS_DIM,), np.float32), "action": ((), np.int64), "reward": ((), np.float32),
            "terminated": ((), bool), "truncated": ((), bool)}
    if explicit_next_obs:
        spec["next_obs"] = ((OBS_DIM,), np.float32)
    return spec


def turborl_fields(d: dict, explicit_next_obs: bool, num_envs: int = 1, one_step: bool = False) -> dict:
    """Steps [rows // num_envs, num_envs, ...], or one vector-env step [num_envs, ...]."""
    rows = len(d["reward"])
    leading = (num_envs,) if one_step else (rows // num_envs, num_envs)
    shaped = lambda a: a.reshape(*leading, *a.shape[1:])  # noqa: E731
    fields = {"obs": shaped(d["obs"]), "action": shaped(d["action"]), "reward": shaped(d["reward"]),
              "terminated": shaped(d["done"]), "truncated": shaped(np.zeros_like(d["done"]))}
    if explicit_next_obs:
        fields["next_obs"] = shaped(d["next_obs"])
    return fields


def bench_turborl(args, fill, step1, step64, explicit_next_obs=True):
    mode = "same_step" if explicit_next_obs else "next_step"
    results = {}
    for prioritized in (False, True):
        cls = PrioritizedReplayBuffer if prioritized else ReplayBuffer
        buffer = cls(args.capacity, turborl_spec(explicit_next_obs), seed=0, autoreset_mode=mode)
        buffer.add(**turborl_fields(fill, explicit_next_obs))
        if not prioritized:
            one = turborl_fields(step1, explicit_next_obs, one_step=True)
            results["add 1"] = best_rate(lambda: buffer.add(**one), 1, args.seconds)
            vector = cls(args.capacity, turborl_spec(explicit_next_obs), num_envs=64, seed=0, autoreset_mode=mode)
            vector.add(**turborl_fields(fill, explicit_next_obs, num_envs=64))
            row = turborl_fields(step64, explicit_next_obs, num_envs=64, one_step=True)
            results["add 64"] = best_rate(lambda: vector.add(**row), 64, args.seconds)
            results["sample"] = best_rate(lambda: buffer.sample(args.batch), args.batch, args.seconds)
            results["sample n=3"] = best_rate(lambda: buffer.sample(args.batch, n_step=3), args.batch, args.seconds)
        else:
            priorities = np.random.default_rng(1).random(args.batch)

            def per():
                batch = buffer.sample(args.batch)
                buffer.update_priorities(batch.indices, priorities)

            results["PER"] = best_rate(per, 1, args.seconds)
    return results


# ---- cpprb ----------------------------------------------------------------------------------------

def bench_cpprb(args, fill, step1, step64):
    import cpprb

    env_dict = {"obs": {"shape": OBS_DIM}, "act": {"dtype": np.int64}, "rew": {}, "next_obs": {"shape": OBS_DIM},
                "done": {}}
    as_cpprb = lambda d: {"obs": d["obs"], "act": d["action"], "rew": d["reward"],  # noqa: E731
                          "next_obs": d["next_obs"], "done": d["done"].astype(np.float32)}
    results = {}
    buffer = cpprb.ReplayBuffer(args.capacity, env_dict)
    buffer.add(**as_cpprb(fill))
    one, many = as_cpprb(step1), as_cpprb(step64)
    results["add 1"] = best_rate(lambda: buffer.add(**one), 1, args.seconds)
    results["add 64"] = best_rate(lambda: buffer.add(**many), 64, args.seconds)
    results["sample"] = best_rate(lambda: buffer.sample(args.batch), args.batch, args.seconds)
    per_buffer = cpprb.PrioritizedReplayBuffer(args.capacity, env_dict, alpha=0.6, eps=1e-6)
    per_buffer.add(**as_cpprb(fill))
    priorities = np.random.default_rng(1).random(args.batch)

    def per():
        batch = per_buffer.sample(args.batch, beta=0.4)
        per_buffer.update_priorities(batch["indexes"], priorities)

    results["PER"] = best_rate(per, 1, args.seconds)
    return results


# ---- TorchRL -------------------------------------------------------------------------------------

def bench_torchrl(args, fill, step1, step64):
    import torch
    from tensordict import TensorDict
    from torchrl.data import LazyTensorStorage, PrioritizedSampler, RandomSampler, TensorDictReplayBuffer

    torch.set_num_threads(1)
    as_td = lambda d: TensorDict({k: torch.from_numpy(np.asarray(v)) for k, v in d.items()},  # noqa: E731
                                 batch_size=[len(d["reward"])])
    results = {}
    buffer = TensorDictReplayBuffer(storage=LazyTensorStorage(args.capacity), sampler=RandomSampler(),
                                    batch_size=args.batch)
    buffer.extend(as_td(fill))
    one, many = as_td(step1), as_td(step64)
    results["add 1"] = best_rate(lambda: buffer.extend(one), 1, args.seconds)
    results["add 64"] = best_rate(lambda: buffer.extend(many), 64, args.seconds)
    results["sample"] = best_rate(lambda: buffer.sample(), args.batch, args.seconds)
    try:
        per_buffer = TensorDictReplayBuffer(
            storage=LazyTensorStorage(args.capacity),
            sampler=PrioritizedSampler(args.capacity, alpha=0.6, beta=0.4, eps=1e-6), batch_size=args.batch)
        per_buffer.extend(as_td(fill))
        priorities = torch.from_numpy(np.random.default_rng(1).random(args.batch))

        def per():
            batch = per_buffer.sample()
            per_buffer.update_priority(batch["index"], priorities)

        results["PER"] = best_rate(per, 1, args.seconds)
    except RuntimeError as error:
        results["PER"] = f"n/a: {str(error).splitlines()[0]}"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capacity", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=0.5)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    rng = np.random.default_rng(0)
    fill, step1, step64 = data(args.capacity, rng), data(1, rng), data(64, rng)
    rows = {"turborl": bench_turborl(args, fill, step1, step64),
            "turborl, next_obs from the next row": bench_turborl(args, fill, step1, step64, explicit_next_obs=False)}
    for name, bench in (("cpprb", bench_cpprb), ("TorchRL", bench_torchrl)):
        try:
            rows[name] = bench(args, fill, step1, step64)
        except ImportError as error:
            rows[name] = {"add 1": f"n/a: {error}"}

    print(f"# Replay buffers: capacity {args.capacity:,}, batch {args.batch}, obs float32[{OBS_DIM}]; "
          f"{platform.machine()}, best of 3 x {args.seconds} s")
    print("\n| implementation | add 1 (K/s) | add 64 (M/s) | sample (M samples/s) | sample (us/call) | "
          "PER sample+update (us) | turborl ÷ this: add 1 / add 64 / sample / PER |")
    print("|---|---|---|---|---|---|---|")
    reference = rows["turborl"]
    for name, result in rows.items():
        def cell(key, scale, fmt="{:.2f}"):
            value = result.get(key)
            return fmt.format(value / scale) if isinstance(value, float) else (value or "n/a")

        ratios = []
        for key in ("add 1", "add 64", "sample"):
            value = result.get(key)
            ratios.append(f"{reference[key] / value:.1f}x" if isinstance(value, float) else "n/a")
        value = result.get("PER")
        ratios.append(f"{reference['PER'] / value:.1f}x" if isinstance(value, float) else "n/a")
        per_us = f"{1e6 / result['PER']:.1f}" if isinstance(result.get("PER"), float) else (result.get("PER") or "n/a")
        sample_us = f"{1e6 * args.batch / result['sample']:.1f}" if isinstance(result.get("sample"), float) else "n/a"
        print(f"| {name} | {cell('add 1', 1e3, '{:.0f}')} | {cell('add 64', 1e6)} | {cell('sample', 1e6)} | "
              f"{sample_us} | {per_us} | {' / '.join(ratios)} |")
    if "sample n=3" in reference:
        print(f"\nturborl with 3-step targets: {1e6 * args.batch / reference['sample n=3']:.1f} us per sample of "
              f"{args.batch} (1-step: {1e6 * args.batch / reference['sample']:.1f} us)")


if __name__ == "__main__":
    main()
