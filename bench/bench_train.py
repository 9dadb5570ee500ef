"""Training: turborl side by side with Stable-Baselines3, same hyper-parameters, in one run.

    python bench/bench_train.py [--rows ppo-cartpole,dqn-cartpole] [--seeds 5]

Each row uses rl-baselines3-zoo's tuned hyper-parameters for both libraries. Every training
run is a fresh subprocess, one after another, on one torch thread; both sides evaluate every
``eval_interval`` steps on a separate env (10 deterministic episodes on turborl's CartPole,
which is Gymnasium's bit for bit) and both wall-clocks include that evaluation. Reported per
library: the final evaluation return as IQM over seeds with a 95% stratified-bootstrap interval
(turborl.eval), the median wall-clock until an evaluation first reached the threshold, and the
median total wall-clock; the last column is SB3's median divided by turborl's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from turborl.eval import get_interval_estimates, metrics

# name: (algorithm, env, steps, threshold, zoo hyper-parameters in SB3's names, SB3 name -> turborl flag)
PPO_FLAGS = {"n_envs": "num_envs", "n_steps": "num_steps", "batch_size": "minibatch_size", "n_epochs": "update_epochs",
             "gamma": "gamma", "gae_lambda": "gae_lambda", "ent_coef": "ent_coef", "learning_rate": "learning_rate"}
DQN_FLAGS = {"learning_rate": "learning_rate", "batch_size": "batch_size", "buffer_size": "buffer_size",
             "learning_starts": "learning_starts", "gamma": "gamma", "target_update_interval": "target_update_interval",
             "train_freq": "train_frequency", "gradient_steps": "gradient_steps",
             "exploration_fraction": "exploration_fraction", "exploration_final_eps": "exploration_final_eps"}
ROWS = {
    "ppo-cartpole": ("ppo", "CartPole-v1", 100_000, 475.0,
                     dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                          learning_rate=1e-3, linear_schedules=True)),
    "dqn-cartpole": ("dqn", "CartPole-v1", 50_000, 475.0,
                     dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
                          target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                          exploration_final_eps=0.04, net_arch=[256, 256])),
}
EVAL_INTERVAL, EVAL_EPISODES, EVAL_SEED_OFFSET = 10_000, 10, 1_000_000


def turborl_command(row: str, seed: int, out: Path) -> list[str]:
    algorithm, env, steps, _, zoo = ROWS[row]
    names = PPO_FLAGS if algorithm == "ppo" else DQN_FLAGS
    flags = [f"--{names[key].replace('_', '-')}={value}" for key, value in zoo.items() if key in names]
    if algorithm == "ppo" and zoo.get("linear_schedules"):
        flags += ["--anneal-lr=true", "--anneal-clip=true"]  # lin_ learning rate and clip range
    if algorithm == "dqn":
        flags += [f"--hidden-sizes={','.join(map(str, zoo['net_arch']))}", "--double-q=false"]  # SB3's DQN
    return [sys.executable, "-m", "turborl", "train", algorithm, "--env", env, "--total-timesteps", str(steps),
            "--seed", str(seed), "--out", str(out), f"--eval-interval={EVAL_INTERVAL}",
            f"--eval-episodes={EVAL_EPISODES}", "--progress=false", "--torch-threads=1", *flags]


SB3_SCRIPT = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from turborl.eval import evaluate
algorithm, env_id, steps, seed, zoo, eval_interval, episodes, eval_seed = json.loads(sys.argv[1])
start = time.perf_counter()
scores = []

class Evaluate(BaseCallback):
    def __init__(self):
        super().__init__()
        self.next = eval_interval
    def _on_step(self):
        if self.num_timesteps >= self.next:
            self.next += eval_interval
            self._evaluate()
        return True
    def _evaluate(self):
        policy = lambda obs: self.model.predict(obs, deterministic=True)[0]
        score = float(evaluate(policy, env_id, episodes, seeds=(eval_seed,)).mean())
        scores.append((self.num_timesteps, score, time.perf_counter() - start))

zoo = dict(zoo)
if algorithm == "ppo":
    if zoo.pop("linear_schedules", False):
        lr, clip = zoo.pop("learning_rate"), 0.2
        zoo["learning_rate"] = lambda remaining: remaining * lr
        zoo["clip_range"] = lambda remaining: remaining * clip
    env = make_vec_env(env_id, n_envs=zoo.pop("n_envs"), seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", **zoo)
else:
    zoo["policy_kwargs"] = dict(net_arch=zoo.pop("net_arch"))
    model = DQN("MlpPolicy", make_vec_env(env_id, n_envs=1, seed=seed), seed=seed, device="cpu", **zoo)
callback = Evaluate()
model.learn(steps, callback=callback)
if not scores or scores[-1][0] != model.num_timesteps:
    callback._evaluate()
print(json.dumps({"scores": scores, "seconds": time.perf_counter() - start}))
"""


def run_turborl(row: str, seed: int, work: Path) -> dict:
    out = work / f"turborl-{row}-{seed}"
    start = time.perf_counter()
    subprocess.run(turborl_command(row, seed, out), check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    with open(out / "scores.csv") as handle:
        scores = [(int(r["step"]), float(r["score"]), float(r["seconds"])) for r in csv.DictReader(handle)]
    return {"scores": scores, "seconds": seconds}


def run_sb3(row: str, seed: int) -> dict:
    algorithm, env, steps, _, zoo = ROWS[row]
    arguments = json.dumps([algorithm, env, steps, seed, zoo, EVAL_INTERVAL, EVAL_EPISODES, seed + EVAL_SEED_OFFSET])
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", SB3_SCRIPT, arguments], check=True, capture_output=True, text=True)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    outcome["seconds"] = time.perf_counter() - start  # the whole process, as for turborl
    return outcome


def time_to(threshold: float, scores: list) -> float:
    reached = [seconds for _, score, seconds in scores if score >= threshold]
    return reached[0] if reached else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_train_"))
    results: dict[tuple[str, str], list[dict]] = {}
    for row in args.rows.split(","):
        for seed in range(args.seeds):
            for library, run in (("turborl", lambda: run_turborl(row, seed, work)), ("SB3", lambda: run_sb3(row, seed))):
                outcome = run()
                results.setdefault((row, library), []).append(outcome)
                print(f"  {row} {library} seed {seed}: final {outcome['scores'][-1][1]:.1f}, "
                      f"{outcome['seconds']:.1f} s", flush=True)
    print(f"\n{platform.machine()}, {os.cpu_count()} CPUs, one torch thread; {args.seeds} seeds; evaluation every "
          f"{EVAL_INTERVAL} steps ({EVAL_EPISODES} episodes), included in the wall-clock\n")
    print("| row | library | final return, IQM [95% CI] | time to threshold (median) | wall-clock (median) "
          "| SB3 ÷ turborl |")
    print("|---|---|---|---|---|---|")
    for row in args.rows.split(","):
        threshold = ROWS[row][3]
        finals = {lib: np.array([[r["scores"][-1][1]] for r in results[(row, lib)]]) for lib in ("turborl", "SB3")}
        points, intervals = get_interval_estimates(finals, metrics.aggregate_iqm, reps=2000, random_state=0)
        medians = {lib: np.median([r["seconds"] for r in results[(row, lib)]]) for lib in finals}
        for lib in ("turborl", "SB3"):
            reach = [time_to(threshold, r["scores"]) for r in results[(row, lib)]]
            reached = [t for t in reach if t == t]
            reach_text = (f"{np.median(reached):.1f} s ({len(reached)}/{len(reach)} reached {threshold:g})"
                          if reached else f"not reached ({threshold:g})")
            ratio = "1.0x" if lib == "turborl" else f"{medians['SB3'] / medians['turborl']:.1f}x"
            low, high = intervals[lib][:, 0]
            print(f"| {row} | {lib} | {points[lib]:.1f} [{low:.1f}, {high:.1f}] | {reach_text} | "
                  f"{medians[lib]:.1f} s | {ratio} |")


if __name__ == "__main__":
    main()
