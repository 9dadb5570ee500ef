"""Training: turborl side by side with Stable-Baselines3, same hyper-parameters, in one run.

    python bench/bench_train.py [--rows ppo-cartpole,dqn-cartpole,ppo-acrobot] [--seeds 5]
    python bench/bench_train.py --rows sac-pendulum,td3-pendulum --seeds 10
    python bench/bench_train.py --hl-gauss [--hl-seeds 10] [--hl-rows dqn-cartpole,dqn-acrobot]

Each row uses rl-baselines3-zoo's tuned hyper-parameters for both libraries. Every training
run is a fresh subprocess, one after another, on one torch thread (``--threads N``: N for both
libraries; turborl's native TD3 engine then runs its twin critics on two); both sides evaluate every
``eval_interval`` steps on a separate env (10 deterministic episodes on turborl's CartPole,
which is Gymnasium's bit for bit) and both wall-clocks include that evaluation. Reported per
library: the final evaluation return as IQM over seeds with a 95% stratified-bootstrap interval
(turborl.eval), the median wall-clock until an evaluation first reached the threshold, and the
median total wall-clock; the last column is SB3's median divided by turborl's. Where the zoo
says ``normalize`` (Acrobot) SB3 trains in VecNormalize and evaluates through its frozen
observation statistics; turborl uses ``--normalize-obs --normalize-reward``. The Acrobot row runs
200k steps (the zoo trains 1M) so that the bench stays short.

``--hl-gauss`` runs turborl alone: DQN on CartPole-v1 (50k steps, values in [0, 100]) and
Acrobot-v1 (the zoo's DQN, 100k steps, values in [-100, 0]) with the Q-values learned by HL-Gauss
classification ("Stop Regressing", Farebrother et al., 2024) against a squared error,
``--hl-seeds`` seeds each; it reports the final return's IQM with intervals and the probability
that HL-Gauss beats MSE.
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
OFF_POLICY_FLAGS = {"learning_rate": "learning_rate", "batch_size": "batch_size", "buffer_size": "buffer_size",
                    "learning_starts": "learning_starts", "gamma": "gamma", "tau": "tau", "train_freq": "train_frequency",
                    "gradient_steps": "gradient_steps"}
FLAGS = {"ppo": PPO_FLAGS, "dqn": DQN_FLAGS, "sac": OFF_POLICY_FLAGS, "td3": OFF_POLICY_FLAGS}
# RLtools' SAC protocol on Pendulum ("Learning to Fly in Seconds": 20k steps, hidden 64, batch 100, lr 1e-3), and
# the same settings for TD3 with Gaussian exploration noise 0.1. MountainCarContinuous: the zoo's SAC settings
# without gSDE (turborl has none), fixed temperature 0.1; TD3 the same schedule with noise 0.5 (the zoo's std).
PENDULUM = dict(learning_rate=1e-3, batch_size=100, buffer_size=20_000, learning_starts=100, gamma=0.99, tau=0.005,
                train_freq=1, gradient_steps=1, net_arch=[64, 64])
MOUNTAIN_CAR = dict(learning_rate=3e-4, batch_size=512, buffer_size=50_000, learning_starts=512, gamma=0.9999,
                    tau=0.01, train_freq=32, gradient_steps=32, net_arch=[64, 64])
ROWS = {
    "ppo-cartpole": ("ppo", "CartPole-v1", 100_000, 475.0,
                     dict(n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                          learning_rate=1e-3, linear_schedules=True)),
    "dqn-cartpole": ("dqn", "CartPole-v1", 50_000, 475.0,
                     dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000, gamma=0.99,
                          target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
                          exploration_final_eps=0.04, net_arch=[256, 256])),
    # The zoo's Acrobot-v1 DQN; gradient_steps -1 (one per env step) is 4 with train_freq 4 and one
    # env, and learning_starts 0 becomes 128 (turborl trains once a full batch is stored).
    "dqn-acrobot": ("dqn", "Acrobot-v1", 100_000, -100.0,
                    dict(learning_rate=6.3e-4, batch_size=128, buffer_size=50_000, learning_starts=128, gamma=0.99,
                         target_update_interval=250, train_freq=4, gradient_steps=4, exploration_fraction=0.12,
                         exploration_final_eps=0.1, net_arch=[256, 256])),
    "ppo-acrobot": ("ppo", "Acrobot-v1", 200_000, -100.0,
                    dict(n_envs=16, n_steps=256, batch_size=64, gae_lambda=0.94, gamma=0.99, n_epochs=4, ent_coef=0.0,
                         learning_rate=3e-4, normalize=True)),
    "sac-pendulum": ("sac", "Pendulum-v1", 20_000, -250.0, PENDULUM),
    "td3-pendulum": ("td3", "Pendulum-v1", 20_000, -250.0, dict(PENDULUM, action_noise=0.1)),
    "sac-mountaincar": ("sac", "MountainCarContinuous-v0", 50_000, 90.0, dict(MOUNTAIN_CAR, ent_coef=0.1)),
    "td3-mountaincar": ("td3", "MountainCarContinuous-v0", 50_000, 90.0, dict(MOUNTAIN_CAR, action_noise=0.5)),
}
EVAL_INTERVAL, EVAL_EPISODES, EVAL_SEED_OFFSET = 10_000, 10, 1_000_000


def turborl_command(row: str, seed: int, out: Path, threads: int = 1) -> list[str]:
    algorithm, env, steps, _, zoo = ROWS[row]
    names = FLAGS[algorithm]
    flags = [f"--{names[key].replace('_', '-')}={value}" for key, value in zoo.items() if key in names]
    if algorithm == "ppo":  # lin_ learning rate and clip range, or SB3's constants
        schedules = "true" if zoo.get("linear_schedules") else "false"
        flags += [f"--anneal-lr={schedules}", f"--anneal-clip={schedules}"]
        if zoo.get("normalize"):
            flags += ["--normalize-obs=true", "--normalize-reward=true"]
    if algorithm == "dqn":
        flags += ["--double-q=false"]  # SB3's DQN
    if algorithm != "ppo":
        flags += [f"--hidden-sizes={','.join(map(str, zoo['net_arch']))}"]
    if "ent_coef" in zoo and algorithm == "sac":  # a fixed temperature
        flags += ["--autotune=false", f"--ent-coef={zoo['ent_coef']}"]
    if "action_noise" in zoo:
        flags += [f"--exploration-noise={zoo['action_noise']}"]
    return [sys.executable, "-m", "turborl", "train", algorithm, "--env", env, "--total-timesteps", str(steps),
            "--seed", str(seed), "--out", str(out), f"--eval-interval={EVAL_INTERVAL}",
            f"--eval-episodes={EVAL_EPISODES}", "--progress=false", f"--torch-threads={threads}", *flags]


SB3_SCRIPT = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(int(sys.argv[2]))
from stable_baselines3 import DQN, PPO, SAC, TD3
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize
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
        normalizer = self.model.get_vec_normalize_env()  # frozen: normalize_obs does not update it
        prepare = normalizer.normalize_obs if normalizer is not None else (lambda obs: obs)
        policy = lambda obs: self.model.predict(prepare(obs), deterministic=True)[0]
        score = float(evaluate(policy, env_id, episodes, seeds=(eval_seed,)).mean())
        scores.append((self.num_timesteps, score, time.perf_counter() - start))

zoo = dict(zoo)
if algorithm == "ppo":
    if zoo.pop("linear_schedules", False):
        lr, clip = zoo.pop("learning_rate"), 0.2
        zoo["learning_rate"] = lambda remaining: remaining * lr
        zoo["clip_range"] = lambda remaining: remaining * clip
    env = make_vec_env(env_id, n_envs=zoo.pop("n_envs"), seed=seed)
    if zoo.pop("normalize", False):
        env = VecNormalize(env, gamma=zoo["gamma"])
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", **zoo)
else:
    zoo["policy_kwargs"] = dict(net_arch=zoo.pop("net_arch"))
    env = make_vec_env(env_id, n_envs=1, seed=seed)
    if "action_noise" in zoo:
        dims = env.action_space.shape[0]
        zoo["action_noise"] = NormalActionNoise(np.zeros(dims), zoo.pop("action_noise") * np.ones(dims))
    model = {"dqn": DQN, "sac": SAC, "td3": TD3}[algorithm]("MlpPolicy", env, seed=seed, device="cpu", **zoo)
callback = Evaluate()
model.learn(steps, callback=callback)
if not scores or scores[-1][0] != model.num_timesteps:
    callback._evaluate()
print(json.dumps({"scores": scores, "seconds": time.perf_counter() - start}))
"""


def run_turborl(row: str, seed: int, work: Path, threads: int) -> dict:
    out = work / f"turborl-{row}-{seed}"
    start = time.perf_counter()
    subprocess.run(turborl_command(row, seed, out, threads), check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    with open(out / "scores.csv") as handle:
        scores = [(int(r["step"]), float(r["score"]), float(r["seconds"])) for r in csv.DictReader(handle)]
    return {"scores": scores, "seconds": seconds}


def run_sb3(row: str, seed: int, threads: int) -> dict:
    algorithm, env, steps, _, zoo = ROWS[row]
    arguments = json.dumps([algorithm, env, steps, seed, zoo, EVAL_INTERVAL, EVAL_EPISODES, seed + EVAL_SEED_OFFSET])
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", SB3_SCRIPT, arguments, str(threads)], check=True,
                            capture_output=True, text=True)
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    outcome["seconds"] = time.perf_counter() - start  # the whole process, as for turborl
    return outcome


def time_to(threshold: float, scores: list) -> float:
    reached = [seconds for _, score, seconds in scores if score >= threshold]
    return reached[0] if reached else float("nan")


HL_GAUSS_SUPPORT = {"dqn-cartpole": ("0", "100"), "dqn-acrobot": ("-100", "0")}  # the returns' ranges


def hl_gauss_comparison(row: str, seeds: int, work: Path) -> None:
    """turborl's DQN: HL-Gauss classification against a squared error, same everything else."""
    v_min, v_max = HL_GAUSS_SUPPORT[row]
    _, env_id, steps, threshold, _ = ROWS[row]
    variants = {"HL-Gauss": ["--loss=hl_gauss", f"--v-min={v_min}", f"--v-max={v_max}"], "MSE": ["--loss=mse"]}
    results: dict[str, list[dict]] = {name: [] for name in variants}
    for seed in range(seeds):
        for name, flags in variants.items():
            out = work / f"hl-{row}-{name}-{seed}"
            command = turborl_command(row, seed, out) + flags
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            with open(out / "scores.csv") as handle:
                scores = [(int(r["step"]), float(r["score"]), float(r["seconds"])) for r in csv.DictReader(handle)]
            results[name].append({"scores": scores, "seconds": seconds})
            print(f"  {row} {name} seed {seed}: final {scores[-1][1]:.1f}, {seconds:.1f} s", flush=True)
    finals = {name: np.array([[r["scores"][-1][1]] for r in runs]) for name, runs in results.items()}
    points, intervals = get_interval_estimates(finals, metrics.aggregate_iqm, reps=2000, random_state=0)
    improvement, improvement_ci = get_interval_estimates(
        {"HL-Gauss vs MSE": (finals["HL-Gauss"], finals["MSE"])}, metrics.probability_of_improvement, reps=2000,
        random_state=0)
    print(f"\nturborl DQN {env_id} {steps // 1000}k, {seeds} seeds, zoo hyper-parameters, SB3's DQN (no double Q), "
          f"HL-Gauss support [{v_min}, {v_max}]\n")
    print(f"| loss | final return, IQM [95% CI] | reached {threshold:g} | wall-clock (median) |")
    print("|---|---|---|---|")
    for name, runs in results.items():
        low, high = intervals[name][:, 0]
        reached = sum(time_to(threshold, r["scores"]) == time_to(threshold, r["scores"]) for r in runs)
        print(f"| {name} | {points[name]:.1f} [{low:.1f}, {high:.1f}] | {reached}/{len(runs)} | "
              f"{np.median([r['seconds'] for r in runs]):.1f} s |")
    low, high = improvement_ci["HL-Gauss vs MSE"][:, 0]
    print(f"\nP(HL-Gauss > MSE) = {improvement['HL-Gauss vs MSE']:.2f} [{low:.2f}, {high:.2f}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hl-gauss", action="store_true", help="only the HL-Gauss vs MSE comparison")
    parser.add_argument("--hl-seeds", type=int, default=10)
    parser.add_argument("--hl-rows", default="dqn-cartpole,dqn-acrobot")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for both libraries (turborl's --torch-threads: its TD3 engine uses two)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_train_"))
    if args.hl_gauss:
        for row in args.hl_rows.split(","):
            hl_gauss_comparison(row, args.hl_seeds, work)
        return
    results: dict[tuple[str, str], list[dict]] = {}
    for row in args.rows.split(","):
        for seed in range(args.seeds):
            for library, run in (("turborl", lambda: run_turborl(row, seed, work, args.threads)),
                                 ("SB3", lambda: run_sb3(row, seed, args.threads))):
                outcome = run()
                results.setdefault((row, library), []).append(outcome)
                print(f"  {row} {library} seed {seed}: final {outcome['scores'][-1][1]:.1f}, "
                      f"{outcome['seconds']:.1f} s", flush=True)
    threads = "one torch thread" if args.threads == 1 else f"{args.threads} torch threads"
    print(f"\n{platform.machine()}, {os.cpu_count()} CPUs, {threads} each; {args.seeds} seeds; evaluation every "
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
