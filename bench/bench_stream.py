"""Streaming deep RL: turborl's stream-x agents side by side with the authors' agents, in one run.

    python bench/bench_stream.py --reference PATH [--rows stream_q-cartpole,...] [--seeds 5] [--steps N]

PATH is a checkout of mohmdelsayed/streaming-drl (the authors' code for "Streaming Deep
Reinforcement Learning Finally Works", Elsayed, Vasan & Mahmood, 2024). Their agent classes
(StreamQ, StreamAC) and wrappers (NormalizeObservation, ScaleReward, AddTimeInfo, with ClipAction
for continuous actions) run in a driver loop written here, because their scripts' own loops expect
Gymnasium 0.29 and lengthen CartPole's episodes to 10,000 steps; here both sides see each env's own
time limit, the same hyper-parameters (the authors' defaults) and one torch thread. Every run is a
fresh subprocess. Reported per side: the mean training return of the episodes that ended in the last
10% of steps (IQM over seeds with a 95% bootstrap interval), and the wall-clock per env step
(acting, env step, wrappers and update: everything the loop does).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys

import numpy as np

from turborl.eval import get_interval_estimates, metrics

# row: (turborl algorithm, env id, steps, the authors' module and class)
ROWS = {
    "stream_q-cartpole": ("stream_q", "CartPole-v1", 50_000, "stream_q", "StreamQ"),
    "stream_q-acrobot": ("stream_q", "Acrobot-v1", 50_000, "stream_q", "StreamQ"),
    "stream_ac-pendulum": ("stream_ac", "Pendulum-v1", 50_000, "stream_ac_continuous", "StreamAC"),
}

TURBORL_SCRIPT = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from turborl.algos.registry import algorithm_class
algorithm, env_id, steps, seed = json.loads(sys.argv[1])
cls = algorithm_class(algorithm)
run = cls(cls.Config(env_id=env_id, total_timesteps=steps, seed=seed, eval_interval=10**9, progress=False))
episodes = []
record = run.log.episodes
def episodes_with_steps(info):
    if "episode" in info:
        for value in np.asarray(info["episode"]["r"])[info["_episode"]]:
            episodes.append((run.global_step, float(value)))
    record(info)
run.log.episodes = episodes_with_steps
start = time.perf_counter()
while run.global_step < steps:
    run._iteration()
print(json.dumps({"episodes": episodes, "seconds": time.perf_counter() - start}))
"""

REFERENCE_SCRIPT = r"""
import importlib, json, sys, time
reference, module_name, class_name, env_id, steps, seed = json.loads(sys.argv[1])
sys.path.insert(0, reference)
import gymnasium as gym, numpy as np, torch
torch.set_num_threads(1)
from normalization_wrappers import NormalizeObservation, ScaleReward
from time_wrapper import AddTimeInfo

class RawReturns(gym.Wrapper):  # the unscaled episode return, under ScaleReward
    def __init__(self, env):
        super().__init__(env)
        self.total, self.num_envs = 0.0, 1
    def step(self, action):
        result = self.env.step(action)
        self.total += float(result[1])
        return result

torch.manual_seed(seed); np.random.seed(seed)
raw = RawReturns(gym.wrappers.FlattenObservation(gym.make(env_id)))
env = raw
continuous = isinstance(env.action_space, gym.spaces.Box)
if continuous:
    env = gym.wrappers.ClipAction(env)
env = AddTimeInfo(NormalizeObservation(ScaleReward(env, gamma=0.99)))
agent_class = getattr(importlib.import_module(module_name), class_name)
n_obs = env.observation_space.shape[0]
if class_name == "StreamQ":
    agent = agent_class(n_obs=n_obs, n_actions=env.action_space.n, lr=1.0, gamma=0.99, lamda=0.8,
                        epsilon_target=0.01, epsilon_start=1.0, exploration_fraction=0.05, total_steps=steps,
                        kappa_value=2.0)
else:
    agent = agent_class(n_obs=n_obs, n_actions=env.action_space.shape[0], lr=1.0, gamma=0.99, lamda=0.8,
                        kappa_policy=3.0, kappa_value=2.0)
episodes = []
s, _ = env.reset(seed=seed)
start = time.perf_counter()
for t in range(1, steps + 1):
    if class_name == "StreamQ":
        a, non_greedy = agent.sample_action(s)
        s2, r, terminated, truncated, _ = env.step(a)
        agent.update_params(s, a, r, s2, terminated or truncated, non_greedy)
    else:
        a = agent.sample_action(s)
        s2, r, terminated, truncated, _ = env.step(a)
        agent.update_params(s, a, r, s2, terminated or truncated, 0.01)
    s = s2
    if terminated or truncated:
        episodes.append((t, raw.total))
        raw.total = 0.0
        s, _ = env.reset()
print(json.dumps({"episodes": episodes, "seconds": time.perf_counter() - start}))
"""


def run(script: str, arguments: list) -> dict:
    result = subprocess.run([sys.executable, "-c", script, json.dumps(arguments)], check=True, capture_output=True,
                            text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def late_return(outcome: dict, steps: int) -> float:
    """Mean return of the training episodes that ended in the last 10% of steps."""
    late = [value for step, value in outcome["episodes"] if step > 0.9 * steps]
    return float(np.mean(late)) if late else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="a checkout of mohmdelsayed/streaming-drl")
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None, help="env steps per run (default: per row)")
    args = parser.parse_args()
    results: dict[tuple[str, str], list[dict]] = {}
    for row in args.rows.split(","):
        algorithm, env_id, steps, module, class_name = ROWS[row]
        steps = args.steps or steps
        for seed in range(args.seeds):
            sides = {"turborl": lambda: run(TURBORL_SCRIPT, [algorithm, env_id, steps, seed]),
                     "authors": lambda: run(REFERENCE_SCRIPT, [args.reference, module, class_name, env_id, steps,
                                                               seed])}
            for side, call in sides.items():
                outcome = call()
                outcome["late"] = late_return(outcome, steps)
                results.setdefault((row, side), []).append(outcome)
                print(f"  {row} {side} seed {seed}: late return {outcome['late']:.1f}, "
                      f"{1e6 * outcome['seconds'] / steps:.0f} us/step", flush=True)
    print(f"\n{platform.machine()}, {os.cpu_count()} CPUs, one torch thread; {args.seeds} seeds\n")
    print("| row | steps | side | return, last 10% of steps (IQM [95% CI]) | us per step (median) | authors ÷ turborl |")
    print("|---|---|---|---|---|---|")
    for row in args.rows.split(","):
        steps = args.steps or ROWS[row][2]
        finals = {side: np.array([[r["late"]] for r in results[(row, side)]]) for side in ("turborl", "authors")}
        points, intervals = get_interval_estimates(finals, metrics.aggregate_iqm, reps=2000, random_state=0)
        per_step = {side: 1e6 * np.median([r["seconds"] for r in results[(row, side)]]) / steps for side in finals}
        for side in ("turborl", "authors"):
            low, high = intervals[side][:, 0]
            ratio = "1.0x" if side == "turborl" else f"{per_step['authors'] / per_step['turborl']:.1f}x"
            print(f"| {row} | {steps // 1000}k | {side} | {points[side]:.1f} [{low:.1f}, {high:.1f}] | "
                  f"{per_step[side]:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
