"""The native small-network engine against torch (eager and torch.compile), one torch thread.

    python bench/bench_nn.py [--no-compile] [--no-blas]

Per-update latency on the sizes the training issues use, all in one run, with the ratio:
- PPO minibatch update (CartPole: 4-64-64 actor and critic, batch 256; clipped objective, value
  loss, backward, gradient clipping, Adam): native = PpoEngine.update over 8 minibatches, divided;
  torch = the same step written as turborl's torch backend does it.
- network steps (forward, backward of a squared error, Adam) at DQN sizes (4-256-256-2, batch 64
  and 256), at "Learning to Fly" TD3 critic sizes (32-64-64-1 twin critics, batch 256) and batch 1
  (a streaming update's network, 4-128-128-2, without ObGD's traces): native = the engine's MLP
  gradient + Adam called from Python, torch = the usual zero_grad / backward / step. The fused
  DQN, TD3, SAC and stream-x updates are not built yet; these rows measure the engine under them.
- single act: one CartPole observation to an action (native PpoEngine.act vs torch actor forward
  and sampling).
Then the matrix kernel against OpenBLAS's sgemm (bench/native/bench_gemm.cpp, scipy-openblas32),
when g++ and scipy-openblas32 are present. End-to-end training runs are bench/bench_train.py.
"""

from __future__ import annotations

import argparse
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
    flat = torch.cat([p.detach().flatten() for p in params]).numpy().copy()
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


# ---- network steps: forward, backward of a squared error, Adam -------------------------------------

def network_step_row(label: str, sizes: list[int], batch: int, twin: bool, compile_torch: bool):
    torch.manual_seed(0)
    copies = 2 if twin else 1
    nets = [MLP(sizes[0], sizes[-1], tuple(sizes[1:-1]), "relu", orthogonal=False) for _ in range(copies)]
    params = [p for net in nets for p in net.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    x, target = torch.randn(batch, sizes[0]), torch.randn(batch, sizes[-1])

    def loss_fn(x, target):
        return sum(((net(x) - target) ** 2).mean() for net in nets)

    def step(fn):
        def run():
            loss = fn(x, target)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        return run

    eager = per_call_seconds(step(loss_fn))
    compiled = per_call_seconds(step(torch.compile(loss_fn))) if compile_torch else float("nan")

    mlp = native.Mlp32(sizes, "relu")
    flats = [torch.cat([p.detach().flatten() for p in net.parameters()]).numpy().copy() for net in nets]
    buffers = [tuple(np.zeros_like(f) for _ in range(3)) for f in flats]
    xs, targets = x.numpy(), target.numpy()
    state = {"step": 0}

    def native_step():
        state["step"] += 1
        for flat, (grads, m, v) in zip(flats, buffers):
            out = mlp.forward(flat, xs)
            grads[:] = 0.0
            mlp.gradient(flat, xs, (2.0 / out.size) * (out - targets), grads)
            native.adam_step(flat, grads, m, v, state["step"], 1e-3)

    fast = per_call_seconds(native_step)
    return (label, fast, eager, compiled)


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
    flat = torch.cat([p.detach().flatten() for p in list(actor.parameters()) + list(critic.parameters())]).numpy()
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
    args = parser.parse_args()
    torch.set_num_threads(1)
    compile_torch = not args.no_compile
    rows = ppo_rows(compile_torch)
    rows.append(network_step_row("network step, DQN 4-256-256-2, batch 64", [4, 256, 256, 2], 64, False, compile_torch))
    rows.append(network_step_row("network step, DQN 4-256-256-2, batch 256", [4, 256, 256, 2], 256, False,
                                 compile_torch))
    rows.append(network_step_row("network step, L2F TD3 twin critics 32-64-64-1, batch 256", [32, 64, 64, 1], 256,
                                 True, compile_torch))
    rows.append(network_step_row("network step, batch 1 (streaming size 4-128-128-2)", [4, 128, 128, 2], 1, False,
                                 compile_torch))
    rows.append(act_row())
    print(f"\n{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, one thread\n")
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
