"""The native small-network engine against torch (eager and torch.compile), one torch thread.

    python bench/bench_nn.py [--no-compile] [--no-blas]

Per-update latency on the sizes the training issues use, all in one run, with the ratio:
- PPO minibatch update (CartPole: 4-64-64 actor and critic, batch 256; clipped objective, value
  loss, backward, gradient clipping, Adam): native = PpoEngine.update over 8 minibatches, divided;
  torch = the same step written as turborl's torch backend does it.
- DQN gradient step (4-256-256-2, batch 64 and 256): double-Q targets from a target network,
  Huber loss, backward, clipping, Adam: native = DqnEngine.update, torch = the same in torch.
- TD3 update (CleanRL's td3_continuous_action.py) at "Learning to Fly" sizes (actor 146-64-64-4,
  asymmetric critics on the 28-value true state + 4 actions) and Pendulum sizes (256-256), batch
  256: the critic-only update and the update with the delayed actor step and target updates.
  native = Td3Engine.update.
- a streaming update: Stream TD(lambda) on one transition (two forward passes, backward, ObGD's
  traces, bound and step; LayerNorm + LeakyReLU, 4-128-128-1): native = StreamTdEngine.step,
  torch = the authors' ObGD in torch.
- SAC gradient step at Pendulum sizes (256-256, batch 256) in SB3's order: native =
  SacEngine.update, torch = SB3's step written out (the same noise).
- single act: one CartPole observation to an action (native PpoEngine.act vs torch actor forward
  and sampling).
Then the matrix kernel against OpenBLAS's sgemm (bench/native/bench_gemm.cpp, scipy-openblas32),
when g++ and scipy-openblas32 are present. End-to-end training runs are bench/bench_train.py.
"""

from __future__ import annotations

import argparse
import copy
import glob
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from turborl._core import nn as native
from turborl.algos.ppo import clipped_surrogate_loss
from turborl.nn import MLP
from turborl.nn.native import flatten_parameters, linear_parameters

ROOT = Path(__file__).resolve().parents[1]


def per_call_seconds(work: Callable[[], object], calls_per_work: int = 1, budget: float = 0.3, rounds: int = 5) -> float:
    """Best over rounds of the mean time per call."""
    work()
    best = float("inf")
    for _ in range(rounds):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < budget:
            work()
            count += 1
        best = min(best, (time.perf_counter() - start) / (count * calls_per_work))
    return best


def engine_parameters(*mlps: nn.Sequential) -> np.ndarray:
    """The MLPs' parameters in the engine's layout (copies: torch keeps timing its own modules)."""
    return flatten_parameters(linear_parameters(*copy.deepcopy(mlps))).numpy()


# ---- PPO minibatch update --------------------------------------------------------------------------

def ppo_rows(compile_torch: bool) -> list[tuple[str, float, float, float]]:
    torch.manual_seed(0)
    batch, minibatches = 256, 8
    actor, critic = MLP(4, 2, (64, 64), "tanh", 0.01), MLP(4, 1, (64, 64), "tanh", 1.0)
    params = list(actor.parameters()) + list(critic.parameters())
    optimizer = torch.optim.Adam(params, lr=3e-4, eps=1e-5, fused=True)
    rng = np.random.default_rng(0)
    obs = torch.from_numpy(rng.normal(size=(batch, 4)).astype(np.float32))
    actions = torch.from_numpy(rng.integers(0, 2, batch))
    old_log_probs = torch.full((batch,), -0.69)
    advantages, returns = torch.randn(batch), torch.randn(batch)

    def loss_fn(obs, actions, old_log_probs, advantages, returns):
        log_probs = actor(obs).log_softmax(-1)
        log_prob = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
        ratio = (log_prob - old_log_probs).exp()
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        value_loss = ((critic(obs).squeeze(-1) - returns) ** 2).mean()
        return clipped_surrogate_loss(advantages, ratio, 0.2) - 0.0 * entropy + 0.5 * value_loss

    def step(fn):
        def run():
            loss = fn(obs, actions, old_log_probs, advantages, returns)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, 0.5)
            optimizer.step()
        return run

    eager = per_call_seconds(step(loss_fn))
    compiled = per_call_seconds(step(torch.compile(loss_fn))) if compile_torch else float("nan")

    engine = native.PpoEngine32([4, 64, 64, 2], [4, 64, 64, 1], "tanh", True)
    flat = engine_parameters(actor, critic)
    grads, exp_avg, exp_avg_sq = (np.zeros_like(flat) for _ in range(3))
    n = batch * minibatches
    rollout = dict(obs=rng.normal(size=(n, 4)).astype(np.float32),
                   actions=rng.integers(0, 2, n).astype(np.float32), old_log_probs=np.full(n, -0.69, np.float32),
                   old_values=np.zeros(n, np.float32), advantages=rng.normal(size=n).astype(np.float32),
                   returns=rng.normal(size=n).astype(np.float32))
    order = np.arange(n, dtype=np.int64)[None]
    state = {"step": 0}

    def native_update():
        stats = engine.update(flat, grads, exp_avg, exp_avg_sq, state["step"], **rollout, order=order,
                              minibatch_size=batch, lr=3e-4, eps=1e-5, clip=0.2, ent_coef=0.0, vf_coef=0.5,
                              max_grad_norm=0.5, norm_adv=True, clip_vloss=False, target_kl=float("nan"))
        state["step"] = stats["step"]

    fast = per_call_seconds(native_update, minibatches)
    return [("PPO minibatch update, CartPole 4-64-64 actor + critic, batch 256", fast, eager, compiled)]


# ---- DQN gradient step: double-Q targets, Huber loss, backward, clipping, Adam -------------------

def dqn_row(batch: int, compile_torch: bool):
    torch.manual_seed(0)
    online, target = (MLP(4, 2, (256, 256), "relu", orthogonal=False) for _ in range(2))
    optimizer = torch.optim.Adam(online.parameters(), lr=1e-4)
    rng = np.random.default_rng(0)
    obs, next_obs = (torch.from_numpy(rng.normal(size=(batch, 4)).astype(np.float32)) for _ in range(2))
    actions = torch.from_numpy(rng.integers(0, 2, batch))
    rewards, discounts = torch.ones(batch), torch.full((batch,), 0.99)

    def loss_fn(obs, actions, rewards, discounts, next_obs):
        with torch.no_grad():
            next_actions = online(next_obs).argmax(-1, keepdim=True)
            targets = rewards + discounts * target(next_obs).gather(-1, next_actions).squeeze(-1)
        q = online(obs).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        return nn.functional.smooth_l1_loss(q, targets)

    def step(fn):
        def run():
            loss = fn(obs, actions, rewards, discounts, next_obs)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(online.parameters(), 10.0)
            optimizer.step()
        return run

    eager = per_call_seconds(step(loss_fn))
    compiled = per_call_seconds(step(torch.compile(loss_fn))) if compile_torch else float("nan")

    engine = native.DqnEngine32([4, 256, 256, 2], "relu")
    params, target_params = engine_parameters(online), engine_parameters(target)
    grads, exp_avg, exp_avg_sq = (np.zeros_like(params) for _ in range(3))
    td_errors = np.zeros(batch, np.float32)
    arrays = dict(obs=obs.numpy(), actions=actions.numpy(), rewards=rewards.numpy(), discounts=discounts.numpy(),
                  next_obs=next_obs.numpy())
    state = {"step": 0}

    def native_step():
        state["step"] += 1
        engine.update(params, target_params, grads, exp_avg, exp_avg_sq, state["step"], **arrays, weights=None,
                      td_errors=td_errors, lr=1e-4, eps=1e-8, max_grad_norm=10.0, double_q=True, huber=True)

    fast = per_call_seconds(native_step)
    return (f"DQN gradient step (double Q, target net, Huber, clip, Adam), 4-256-256-2, batch {batch}", fast, eager,
            compiled)


# ---- TD3 update: twin critics with target-policy smoothing; the delayed actor step and targets ----

def td3_rows(obs_dim: int, action_dim: int, hidden: tuple[int, ...], batch: int, label: str, compile_torch: bool,
             critic_obs_dim: int | None = None, threads: int = 1):
    torch.manual_seed(0)
    c_dim = critic_obs_dim or obs_dim
    actor = nn.Sequential(*MLP(obs_dim, action_dim, hidden, "relu", orthogonal=False), nn.Tanh())
    critics = [MLP(c_dim + action_dim, 1, hidden, "relu", orthogonal=False) for _ in range(2)]
    target_actor, target_critics = copy.deepcopy(actor), [copy.deepcopy(c) for c in critics]
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=3e-4)
    critic_optimizer = torch.optim.Adam([p for c in critics for p in c.parameters()], lr=1e-3)
    rng = np.random.default_rng(0)
    arrays = dict(obs=rng.normal(size=(batch, obs_dim)), actions=rng.uniform(-1, 1, (batch, action_dim)),
                  rewards=rng.normal(size=batch), discounts=np.full(batch, 0.99), next_obs=rng.normal(size=(batch, obs_dim)),
                  noise=rng.normal(size=(batch, action_dim)))
    if critic_obs_dim is not None:
        arrays.update(critic_obs=rng.normal(size=(batch, c_dim)), next_critic_obs=rng.normal(size=(batch, c_dim)))
    arrays = {key: value.astype(np.float32) for key, value in arrays.items()}
    t = {key: torch.from_numpy(value) for key, value in arrays.items()}
    critic_obs = t.get("critic_obs", t["obs"])
    next_critic_obs = t.get("next_critic_obs", t["next_obs"])

    def critic_loss_fn(critic_obs, actions, rewards, discounts, next_obs, next_critic_obs, noise):
        with torch.no_grad():
            next_actions = (target_actor(next_obs) + (0.2 * noise).clamp(-0.5, 0.5)).clamp(-1, 1)
            next_input = torch.cat([next_critic_obs, next_actions], 1)
            y = rewards + discounts * torch.min(target_critics[0](next_input), target_critics[1](next_input)).view(-1)
        q_input = torch.cat([critic_obs, actions], 1)
        return sum(((c(q_input).view(-1) - y) ** 2).mean() for c in critics)

    def actor_loss_fn(obs, critic_obs):
        return -critics[0](torch.cat([critic_obs, actor(obs)], 1)).mean()

    def step(critic_fn, actor_fn, with_actor):
        def run():
            loss = critic_fn(critic_obs, t["actions"], t["rewards"], t["discounts"], t["next_obs"], next_critic_obs,
                             t["noise"])
            critic_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            critic_optimizer.step()
            if with_actor:
                actor_loss = actor_fn(t["obs"], critic_obs)
                actor_optimizer.zero_grad(set_to_none=True)
                actor_loss.backward()
                actor_optimizer.step()
                with torch.no_grad():
                    for net, target in zip([actor, *critics], [target_actor, *target_critics]):
                        torch._foreach_lerp_(list(target.parameters()), list(net.parameters()), 0.005)
        return run

    compiled_fns = (torch.compile(critic_loss_fn), torch.compile(actor_loss_fn)) if compile_torch else None
    engine = native.Td3Engine32([obs_dim, *hidden, action_dim], [c_dim + action_dim, *hidden, 1], "relu",
                                num_threads=threads)
    flat = {"actor": engine_parameters(actor[:-1]), "critic": engine_parameters(*critics),
            "target_actor": engine_parameters(actor[:-1]), "target_critic": engine_parameters(*critics)}
    moments = {name: np.zeros_like(flat["actor"]) for name in ("actor_grads", "actor_exp_avg", "actor_exp_avg_sq")}
    moments.update({name: np.zeros_like(flat["critic"]) for name in ("critic_grads", "critic_exp_avg",
                                                                     "critic_exp_avg_sq")})
    steps = {"actor_step": 0, "critic_step": 0}
    rows = []
    for with_actor in (False, True):
        def native_update():
            stats = engine.update(**flat, **moments, **steps, **arrays, update_actor=with_actor, actor_lr=3e-4,
                                  critic_lr=1e-3)
            steps.update(actor_step=stats["actor_step"], critic_step=stats["critic_step"])

        eager = per_call_seconds(step(critic_loss_fn, actor_loss_fn, with_actor))
        compiled = per_call_seconds(step(*compiled_fns, with_actor)) if compiled_fns else float("nan")
        what = "critic update (twin critics, smoothing)" if not with_actor else "critic + actor + targets update"
        rows.append((f"TD3 {what}, {label}, batch {batch}", per_call_seconds(native_update), eager, compiled))
    return rows


# ---- SAC gradient step (SB3's order: temperature, critics, actor, targets) ------------------------

def sac_row(obs_dim: int, action_dim: int, hidden: tuple[int, ...], batch: int, compile_torch: bool):
    torch.manual_seed(0)
    actor = MLP(obs_dim, 2 * action_dim, hidden, "relu", orthogonal=False)
    critics = [MLP(obs_dim + action_dim, 1, hidden, "relu", orthogonal=False) for _ in range(2)]
    targets = [copy.deepcopy(c) for c in critics]
    log_alpha = torch.zeros(1, requires_grad=True)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=3e-4)
    critic_optimizer = torch.optim.Adam([p for c in critics for p in c.parameters()], lr=3e-4)
    alpha_optimizer = torch.optim.Adam([log_alpha], lr=3e-4)
    rng = np.random.default_rng(0)
    arrays = dict(obs=rng.normal(size=(batch, obs_dim)), actions=rng.uniform(-1, 1, (batch, action_dim)),
                  rewards=rng.normal(size=batch), discounts=np.full(batch, 0.99), next_obs=rng.normal(size=(batch, obs_dim)),
                  eps=rng.normal(size=(batch, action_dim)), eps_next=rng.normal(size=(batch, action_dim)))
    arrays = {key: value.astype(np.float32) for key, value in arrays.items()}
    t = {key: torch.from_numpy(value) for key, value in arrays.items()}

    def sample(obs, eps):
        out = actor(obs)
        mean, log_std = out[:, :action_dim], out[:, action_dim:].clamp(-20, 2)
        x = mean + log_std.exp() * eps
        y = torch.tanh(x)
        log_prob = (-0.5 * eps ** 2 - log_std - 0.9189385332).sum(-1) - torch.log(1 - y ** 2 + 1e-6).sum(-1)
        return y, log_prob

    def losses(obs, actions, rewards, discounts, next_obs, eps, eps_next):
        actions_pi, log_prob = sample(obs, eps)
        alpha = log_alpha.detach().exp()
        alpha_loss = -(log_alpha * (log_prob - action_dim).detach()).mean()
        with torch.no_grad():
            next_actions, next_log_prob = sample(next_obs, eps_next)
            next_input = torch.cat([next_obs, next_actions], 1)
            next_q = torch.min(targets[0](next_input), targets[1](next_input)).view(-1) - alpha * next_log_prob
            y = rewards + discounts * next_q
        q_input = torch.cat([obs, actions], 1)
        critic_loss = 0.5 * sum(((q(q_input).view(-1) - y) ** 2).mean() for q in critics)
        return actions_pi, log_prob, alpha, alpha_loss, critic_loss

    def actor_loss_fn(obs, actions_pi, log_prob, alpha):
        pi_input = torch.cat([obs, actions_pi], 1)
        return (alpha * log_prob - torch.min(critics[0](pi_input), critics[1](pi_input)).view(-1)).mean()

    def step(losses_fn, actor_fn, resample_for_actor=False):
        def run():
            actions_pi, log_prob, alpha, alpha_loss, critic_loss = losses_fn(
                t["obs"], t["actions"], t["rewards"], t["discounts"], t["next_obs"], t["eps"], t["eps_next"])
            alpha_optimizer.zero_grad(set_to_none=True)
            critic_optimizer.zero_grad(set_to_none=True)
            if resample_for_actor:  # one compiled graph: one backward (the parameters are disjoint)
                (alpha_loss + critic_loss).backward()
            else:
                alpha_loss.backward()
                critic_loss.backward()
            alpha_optimizer.step()
            critic_optimizer.step()
            if resample_for_actor:
                actor_loss = actor_fn(t["obs"], t["eps"], alpha)
            else:
                actor_loss = actor_fn(t["obs"], actions_pi, log_prob, alpha)
            actor_optimizer.zero_grad(set_to_none=True)
            actor_loss.backward()
            actor_optimizer.step()
            with torch.no_grad():
                for q, target in zip(critics, targets):
                    torch._foreach_lerp_(list(target.parameters()), list(q.parameters()), 0.005)
        return run

    def detached_losses(*batch):  # for torch.compile: no graph shared with the actor's loss
        actions_pi, log_prob, alpha, alpha_loss, critic_loss = losses(*batch)
        return actions_pi.detach(), log_prob.detach(), alpha, alpha_loss, critic_loss

    def resampled_actor_loss(obs, eps, alpha):
        actions_pi, log_prob = sample(obs, eps)
        return actor_loss_fn(obs, actions_pi, log_prob, alpha)

    eager = per_call_seconds(step(losses, actor_loss_fn))
    # Compiled, the actor's sample cannot come from the graph that the critic step's in-place
    # update invalidates, so the compiled step samples the actor once more (an extra forward).
    compiled = (per_call_seconds(step(torch.compile(detached_losses), torch.compile(resampled_actor_loss), True))
                if compile_torch else float("nan"))
    engine = native.SacEngine32([obs_dim, *hidden, 2 * action_dim], [obs_dim + action_dim, *hidden, 1], "relu")
    flat = {"actor": engine_parameters(actor), "critic": engine_parameters(*critics),
            "target_critic": engine_parameters(*critics), "log_alpha": np.zeros(1, np.float32),
            "alpha_exp_avg": np.zeros(1, np.float32), "alpha_exp_avg_sq": np.zeros(1, np.float32)}
    flat.update({name: np.zeros_like(flat["actor"]) for name in ("actor_grads", "actor_exp_avg", "actor_exp_avg_sq")})
    flat.update({name: np.zeros_like(flat["critic"]) for name in ("critic_grads", "critic_exp_avg",
                                                                  "critic_exp_avg_sq")})
    state = {"step": 0}

    def native_step():
        state["step"] = engine.update(**flat, step=state["step"], **arrays)["step"]

    label = f"SAC gradient step (temperature, twin critics, actor, targets), {obs_dim}-{'-'.join(map(str, hidden))}"
    return (f"{label}, batch {batch}", per_call_seconds(native_step), eager, compiled)


# ---- a streaming update: Stream TD(lambda) with ObGD on one transition --------------------------

def stream_row():
    torch.manual_seed(0)
    layers = []
    for width_in, width_out in ((4, 128), (128, 128)):
        layers += [nn.Linear(width_in, width_out), nn.LayerNorm(width_out, elementwise_affine=False), nn.LeakyReLU()]
    net = nn.Sequential(*layers, nn.Linear(128, 1))
    params = list(net.parameters())
    traces = [torch.zeros_like(p) for p in params]
    obs, next_obs = torch.randn(4), torch.randn(4)

    def torch_step():  # as the authors' ObGD: traces, the bound over all parameters, the update
        with torch.no_grad():
            delta = 1.0 + 0.99 * net(next_obs).item() - net(obs).item()
        for p in params:
            p.grad = None
        net(obs).sum().backward()
        with torch.no_grad():
            total = 0.0
            for e, p in zip(traces, params):
                e.mul_(0.99 * 0.8).add_(p.grad)
                total += e.abs().sum().item()
            step = 1.0 / max(2.0 * max(abs(delta), 1.0) * total, 1.0)
            for e, p in zip(traces, params):
                p.add_(e, alpha=step * delta)

    eager = per_call_seconds(torch_step)
    engine = native.StreamTdEngine32([4, 128, 128, 1], "leaky_relu", True)
    flat = engine_parameters(net)
    flat_traces = np.zeros_like(flat)
    o, o2 = obs.numpy(), next_obs.numpy()
    fast = per_call_seconds(lambda: engine.step(flat, flat_traces, None, 1, o, 1.0, o2, False, False))
    return ("Stream TD(lambda) step, ObGD, 4-128-128-1 with LayerNorm + LeakyReLU, one transition", fast, eager,
            float("nan"))


# ---- single act ------------------------------------------------------------------------------------

def act_row():
    torch.manual_seed(0)
    actor, critic = MLP(4, 2, (64, 64), "tanh", 0.01), MLP(4, 1, (64, 64), "tanh", 1.0)
    obs = np.zeros((1, 4), np.float32)

    def torch_act():
        with torch.no_grad():
            logits = actor(torch.from_numpy(obs))
            return torch.multinomial(logits.softmax(-1), 1).numpy()

    eager = per_call_seconds(torch_act)
    engine = native.PpoEngine32([4, 64, 64, 2], [4, 64, 64, 1], "tanh", True)
    flat = engine_parameters(actor, critic)
    out, unused = np.zeros(1, np.int64), np.zeros(1, np.float32)
    log_prob, value = np.zeros(1, np.float32), np.zeros(1, np.float32)
    counter = iter(range(10**9))
    fast = per_call_seconds(lambda: engine.act(flat, obs, 0, next(counter), False, out, unused, log_prob, value))
    return ("single act, CartPole 4-64-64 (native also computes V)", fast, eager, float("nan"))


def blas_table() -> str:
    try:
        import scipy_openblas32
    except ImportError:
        return "(scipy-openblas32 not installed: pip install scipy-openblas32)"
    libraries = glob.glob(os.path.join(scipy_openblas32.get_lib_dir(), "*.so"))
    with tempfile.TemporaryDirectory() as work:
        binary = os.path.join(work, "bench_gemm")
        subprocess.run(["g++", "-O3", "-march=native", "-ffp-contract=fast", "-std=c++20", "-I", str(ROOT / "cpp/include"),
                        str(ROOT / "bench/native/bench_gemm.cpp"), "-ldl", "-o", binary], check=True)
        return subprocess.run([binary, libraries[0]], check=True, capture_output=True, text=True).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile column")
    parser.add_argument("--no-blas", action="store_true", help="skip the OpenBLAS kernel comparison")
    parser.add_argument("--sections", default="ppo,dqn,td3,sac,stream,act", help="which rows to run")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch's threads, and the native TD3 engine's (the other engines use one)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    compile_torch = not args.no_compile
    sections = set(args.sections.split(","))
    rows = ppo_rows(compile_torch) if "ppo" in sections else []
    if "dqn" in sections:
        rows += [dqn_row(64, compile_torch), dqn_row(256, compile_torch)]
    if "td3" in sections:
        rows += td3_rows(146, 4, (64, 64), 256, "L2F sizes (actor 146-64-64-4, asymmetric critics 28+4-64-64-1)",
                         compile_torch, critic_obs_dim=28, threads=args.threads)
        rows += td3_rows(3, 1, (64, 64), 100, "RLtools' Pendulum sizes (64-64)", compile_torch, threads=args.threads)
        rows += td3_rows(3, 1, (256, 256), 256, "Pendulum sizes (256-256)", compile_torch, threads=args.threads)
        rows += td3_rows(2, 1, (64, 64), 512, "MountainCarContinuous zoo sizes (64-64)", compile_torch,
                         threads=args.threads)
    if "sac" in sections:
        rows.append(sac_row(3, 1, (64, 64), 100, compile_torch))  # RLtools' SAC Pendulum protocol
        rows.append(sac_row(3, 1, (256, 256), 256, compile_torch))
    if "stream" in sections:
        rows.append(stream_row())
    if "act" in sections:
        rows.append(act_row())
    threads = "one thread" if args.threads == 1 else f"{args.threads} threads (torch and the TD3 engine)"
    print(f"\n{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {threads}\n")
    print("| work | native | torch eager | torch.compile | eager ÷ native | compile ÷ native |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, fast, eager, compiled in rows:
        compiled_text = "n/a" if compiled != compiled else f"{compiled * 1e6:.1f} us"
        compiled_ratio = "n/a" if compiled != compiled else f"{compiled / fast:.1f}x"
        print(f"| {label} | {fast * 1e6:.1f} us | {eager * 1e6:.1f} us | {compiled_text} | {eager / fast:.1f}x | "
              f"{compiled_ratio} |")
    if not args.no_blas:
        print("\nMatrix kernel vs OpenBLAS sgemm, one thread (bench/native/bench_gemm.cpp):\n")
        print(blas_table())


if __name__ == "__main__":
    main()
