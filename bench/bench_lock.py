"""The combination lock (CombinationLock-v0, A = 2, T = 10): GORP and SQIRL against PPO and DQN.

    python bench/bench_lock.py [--seeds 3] [--ppo-steps 1000000] [--dqn-steps 300000]

A uniformly random policy opens the lock once in 2^10 = 1024 episodes, so methods that explore by
acting randomly see its reward rarely; the effective-horizon papers (Laidlaw et al. 2023, 2024)
predict that GORP and SQIRL, which plan a few steps over the random policy's Q, need about
``T * A * m`` episodes with ``m`` on the order of 2^(T-1) * 16 ln(4T) at k = 1 (the bound of
turborl.planning.effective_horizon), while PPO and DQN have no such guarantee. Each row trains one
seed to the end of its budget and reports whether the learned policy opens the lock (return 1 on
every evaluation episode), the env steps used, and the wall-clock. The analysis of the lock's MDP
(min_k, planning window, bound) is printed first.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from turborl.algos.gorp import GORP, GORPConfig, evaluate_action_sequence
from turborl.algos.lockstep import evaluate_timestep_policy
from turborl.algos.sqirl import SQIRL, SQIRLConfig
from turborl.envs import make_vec
from turborl.planning import effective_horizon, enumerate_mdp

ENV_ID = "CombinationLock-v0"


def evaluation_envs(seed: int):
    return make_vec(ENV_ID, 16, seed=10_000 + seed)


def run_gorp(seed: int, m: int) -> tuple[bool, int, float]:
    start = time.perf_counter()
    result = GORP(GORPConfig(env_id=ENV_ID, episodes_per_action_sequence=m, gamma=1.0, seed=seed)).learn()
    seconds = time.perf_counter() - start
    opened = bool(np.all(evaluate_action_sequence(evaluation_envs(seed), result.actions) == 1.0))
    return opened, result.timesteps, seconds


def run_sqirl(seed: int, m: int) -> tuple[bool, int, float]:
    start = time.perf_counter()
    config = SQIRLConfig(env_id=ENV_ID, episodes_per_timestep=m, learning_rate=1e-3, batch_size=512, n_epochs=10,
                         gamma=1.0, seed=seed)
    result = SQIRL(config).learn()
    seconds = time.perf_counter() - start
    opened = bool(np.all(evaluate_timestep_policy(evaluation_envs(seed), result.act) == 1.0))
    return opened, result.timesteps, seconds


def run_deep_rl(algorithm: str, seed: int, steps: int) -> tuple[bool, int, float]:
    from turborl.algos.registry import algorithm_class

    cls = algorithm_class(algorithm)
    extra = {"ent_coef": 0.01} if algorithm == "ppo" else {"exploration_fraction": 0.5}
    config = cls.Config(env_id=ENV_ID, total_timesteps=steps, seed=seed, eval_interval=steps // 10,
                        eval_episodes=16, progress=False, **extra)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        run = cls(config, out).learn()
        seconds = time.perf_counter() - start
        best = max(score for _, score, _ in run.log.scores) if run.log.scores else 0.0
    return best >= 1.0, run.global_step, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--gorp-m", default="512,2048,4096", help="episodes per action sequence to try")
    parser.add_argument("--sqirl-m", default="2048,4096", help="episodes per timestep to try")
    parser.add_argument("--ppo-steps", type=int, default=1_000_000)
    parser.add_argument("--dqn-steps", type=int, default=300_000)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)  # as the training CLI's default; more threads oversubscribe 2 cores

    start = time.perf_counter()
    analysis = effective_horizon(enumerate_mdp(ENV_ID))
    print(f"{ENV_ID} (T = 10, A = 2): min_k {analysis.min_k}, planning window {analysis.planning_window}, "
          f"effective horizon bound {analysis.bound:.2f} (H_1 = {analysis.horizons[0]:.2f}, m_1 = {analysis.m[0]}); "
          f"analysed in {time.perf_counter() - start:.2f} s\n")

    rows = []
    for m in [int(x) for x in args.gorp_m.split(",") if x]:
        rows.append((f"GORP k=1, m={m}", [run_gorp(seed, m) for seed in range(args.seeds)]))
    for m in [int(x) for x in args.sqirl_m.split(",") if x]:
        rows.append((f"SQIRL k=1, m={m}", [run_sqirl(seed, m) for seed in range(args.seeds)]))
    if args.ppo_steps:
        rows.append((f"PPO {args.ppo_steps} steps", [run_deep_rl("ppo", seed, args.ppo_steps)
                                                       for seed in range(args.seeds)]))
    if args.dqn_steps:
        rows.append((f"DQN {args.dqn_steps} steps", [run_deep_rl("dqn", seed, args.dqn_steps)
                                                       for seed in range(args.seeds)]))

    print("| method | seeds that open the lock | env steps used (median) | wall-clock (median) |")
    print("|---|---|---|---|")
    for name, results in rows:
        opened = sum(ok for ok, _, _ in results)
        steps = int(np.median([s for _, s, _ in results]))
        seconds = float(np.median([t for _, _, t in results]))
        print(f"| {name} | {opened}/{len(results)} | {steps:,} | {seconds:.1f} s |")


if __name__ == "__main__":
    main()
