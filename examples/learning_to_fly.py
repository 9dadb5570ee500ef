"""Learning to fly in seconds: TD3 trains a Crazyflie hover policy on Quadrotor-L2F-v0.

    python examples/learning_to_fly.py [--seed 0] [--out runs/learning_to_fly] [--torch-threads 1]

The settings are the paper's (Eschmann, Albani & Loianno, RA-L 2024; TD3Config.env_defaults): 300k
env steps, asymmetric critic, reward curriculum. Afterwards the policy is flown for 100 episodes
from random starts (hover.json) and one trajectory is plotted (hover_trajectory.png).
"""

from __future__ import annotations

import argparse
import os
import time

from turborl.algos import TD3, TD3Config
from turborl.envs import quadrotor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/learning_to_fly")
    parser.add_argument("--total-timesteps", type=int, default=300_000)
    # Two threads run the TD3 engine's critics side by side (the same results as one thread).
    parser.add_argument("--torch-threads", type=int, default=min(2, os.cpu_count() or 1),
                        help="the learner's threads (default: 2 where there are two cores)")
    args = parser.parse_args()

    config = TD3Config.for_env(quadrotor.ENV_ID, seed=args.seed, total_timesteps=args.total_timesteps,
                               torch_threads=args.torch_threads)
    start = time.perf_counter()
    run = TD3(config, out_dir=args.out).learn()
    print(f"trained {run.global_step} steps in {time.perf_counter() - start:.1f} s")
    report = quadrotor.write_hover_report(run.policy(), args.out)
    print(f"hover over {report.episodes} episodes: mean length {report.episode_length:.0f} of 500, "
          f"{report.settled_fraction:.0%} settled within {report.settle_radius} m, final position error "
          f"{report.final_position_error:.3f} m, success: {report.success}; see {args.out}/hover_trajectory.png")


if __name__ == "__main__":
    main()
