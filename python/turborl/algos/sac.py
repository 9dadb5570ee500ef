"""Soft Actor-Critic (Haarnoja et al., 2018: "Soft Actor-Critic: Off-Policy Maximum Entropy Deep
RL with a Stochastic Actor", and "Soft Actor-Critic Algorithms and Applications" for the automatic
temperature), as Stable-Baselines3's SAC: a tanh-squashed Gaussian actor, twin critics with Polyak
target copies, and the temperature alpha tuned towards ``target_entropy`` (-action_dim by default).

One gradient step, in SB3's order: the temperature loss ``-log_alpha * (log pi + target_entropy)``;
the critics regress ``r + discount * (min_k Q'_k(s', a') - alpha log pi(a'|s'))`` (``0.5 * sum_k``
of the squared errors); the actor minimises ``alpha log pi(a|s) - min_k Q_k(s, a)`` through the
freshly stepped critics; the targets move by ``tau``.

Where time goes, and the choice made (bench/bench_nn.py, bench/RESULTS.md): at RLtools' Pendulum
sizes (3-64-64, batch 100) a torch step is about 60 autograd and optimiser operators whose
per-operator overhead, not arithmetic, is the cost: torch eager takes 13.5x and torch.compile
11.2x the native engine's time (compile cannot fuse across the three optimiser steps and backward
passes); with 256-unit layers the arithmetic dominates and the gap falls to 1.8x. So
``backend="native"`` (what "auto" picks, except with prioritized replay, whose weighted losses the
engine does not implement) runs the whole step (forward, backward, three Adams, Polyak) in one
call into turborl's C++ engine (``turborl._core.nn.SacEngine32``) on the same torch modules, whose
parameters become views of flat buffers. Both backends draw the reparameterisation noise from the
run's generator, so they take the same steps (tests/algos/test_continuous.py).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar, Optional

import numpy as np
import torch
from torch import nn

from turborl import _core
from turborl.algos.off_policy import ContinuousOffPolicy, OffPolicyConfig
from turborl.nn.actors import GaussianActor, TwinQ
from turborl.nn.native import FlatAdam, flatten_parameters, linear_parameters, mlp_layout, resolve_backend
from turborl.replay import ReplayBatch

__all__ = ["SAC", "SACConfig"]


@dataclasses.dataclass
class SACConfig(OffPolicyConfig):
    algorithm: ClassVar[str] = "sac"
    hidden_sizes: tuple[int, ...] = (256, 256)
    activation: str = "relu"
    autotune: bool = True
    ent_coef: float = 1.0  # the temperature alpha: fixed, or where tuning starts (SB3's "auto")
    target_entropy: Optional[float] = None  # None: -action_dim

    def validate(self) -> None:
        super().validate()
        if self.ent_coef <= 0:
            raise ValueError(f"ent_coef must be > 0, got {self.ent_coef}")
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {self.activation!r}")


class Temperature(nn.Module):
    """``log_alpha`` as a parameter (its own Adam, as SB3)."""

    def __init__(self, alpha: float) -> None:
        super().__init__()
        self.log_alpha = nn.Parameter(torch.tensor([math.log(alpha)]))


class SAC(ContinuousOffPolicy):
    Config = SACConfig
    checkpoint_modules = ("actor", "critics", "target_critics", "temperature")
    metric_names = ("critic_loss", "actor_loss", "alpha", "alpha_loss")

    def _build_learner(self) -> None:
        config: SACConfig = self.config
        obs_dim = self.observation_space.shape[0]
        self.actor = self.policy_network(config, self.observation_space, self.action_space)
        self.critics = TwinQ(obs_dim, self.action_dim, config.hidden_sizes, config.activation)
        self.target_critics = TwinQ(obs_dim, self.action_dim, config.hidden_sizes, config.activation)
        self.target_critics.load_state_dict(self.critics.state_dict())
        self.target_critics.requires_grad_(False)
        self.temperature = Temperature(config.ent_coef)
        self.target_entropy = -float(self.action_dim) if config.target_entropy is None else config.target_entropy
        unsupported = "prioritized replay (weighted losses)" if config.prioritized else None
        self.backend = resolve_backend(config.backend, unsupported)
        learner = NativeSacLearner if self.backend == "native" else TorchSacLearner
        self.learner = learner(self.actor, self.critics, self.target_critics, self.temperature, config,
                               self.target_entropy)

    @classmethod
    def policy_network(cls, config: SACConfig, observation_space: Any, action_space: Any) -> GaussianActor:
        return GaussianActor(observation_space.shape[0], action_space.low, action_space.high, config.hidden_sizes,
                             config.activation)

    @staticmethod
    def policy_action(network: GaussianActor, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        if deterministic:
            return network(obs)
        return network(obs, torch.randn(obs.shape[0], network.action_dim))

    def _policy_parts(self) -> tuple[nn.Module, Any]:
        return self.actor, None

    def _noise(self, rows: int) -> np.ndarray:
        return self.rng.standard_normal((rows, self.action_dim), dtype=np.float32)

    def _exploration_noise(self, steps: int) -> np.ndarray:
        return self.rng.standard_normal((steps, self.config.num_envs, self.action_dim), dtype=np.float32)

    def _explore(self, obs: np.ndarray) -> np.ndarray:
        return self.learner.act(obs, self._exploration_noise(1)[0])

    _native_explore = _explore  # what the native learner's collect() does (ContinuousOffPolicy._native_collection)

    def _update(self, batch: ReplayBatch) -> tuple[dict[str, float], np.ndarray]:
        rows = batch.obs.shape[0]
        return self.learner.update(batch, self._noise(rows), self._noise(rows))

    def _train(self, gradient_steps: int) -> dict[str, float]:
        """Native backend: all ``gradient_steps`` updates in one engine call that samples the replay
        in C++ (the same draws and the same noise, in the same order, as the per-update path)."""
        layout = self._engine_replay_layout()
        if layout is None:
            return super()._train(gradient_steps)
        noise = self.rng.standard_normal((gradient_steps, 2, self.config.batch_size, self.action_dim),
                                         dtype=np.float32)
        metrics = self.learner.train_from_replay(layout, noise)
        self.gradient_updates += gradient_steps
        return metrics


class TorchSacLearner:
    """SB3's ``SAC.train`` step in torch (also the path for prioritized replay)."""

    def __init__(self, actor: GaussianActor, critics: TwinQ, target_critics: TwinQ, temperature: Temperature,
                 config: SACConfig, target_entropy: float) -> None:
        self.actor, self.critics, self.target_critics, self.temperature = actor, critics, target_critics, temperature
        self.config, self.target_entropy = config, target_entropy
        lr = config.learning_rate
        self.optimizers = [torch.optim.Adam(actor.parameters(), lr=lr), torch.optim.Adam(critics.parameters(), lr=lr),
                           torch.optim.Adam(temperature.parameters(), lr=lr)]

    def act(self, obs: np.ndarray, eps: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.actor.sample(torch.from_numpy(obs), torch.from_numpy(eps))[0].numpy()

    def update(self, batch: ReplayBatch, eps: np.ndarray, eps_next: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
        actor_optimizer, critic_optimizer, alpha_optimizer = self.optimizers
        obs, actions, next_obs = (torch.as_tensor(np.asarray(x), dtype=torch.float32)
                                  for x in (batch.obs, batch.action, batch.next_obs))
        rewards, discounts = (torch.as_tensor(np.asarray(x), dtype=torch.float32) for x in (batch.reward, batch.discount))
        log_alpha = self.temperature.log_alpha
        pi_actions, log_prob = self.actor.sample(obs, torch.from_numpy(eps))
        alpha = log_alpha.detach().exp()
        alpha_loss = torch.zeros(())
        if self.config.autotune:
            alpha_loss = -(log_alpha * (log_prob + self.target_entropy).detach()).mean()
            alpha_optimizer.zero_grad()
            alpha_loss.backward()
            alpha_optimizer.step()
        with torch.no_grad():
            next_actions, next_log_prob = self.actor.sample(next_obs, torch.from_numpy(eps_next))
            next_q = torch.min(*self.target_critics(next_obs, next_actions)) - alpha * next_log_prob
            targets = rewards + discounts * next_q
        q1, q2 = self.critics(obs, actions)
        squared = (q1 - targets).pow(2) + (q2 - targets).pow(2)
        if batch.weights is not None:
            squared = squared * torch.as_tensor(np.asarray(batch.weights), dtype=torch.float32)
        critic_loss = 0.5 * squared.mean()
        critic_optimizer.zero_grad()
        critic_loss.backward()
        critic_optimizer.step()
        actor_loss = (alpha * log_prob - torch.min(*self.critics(obs, pi_actions))).mean()
        actor_optimizer.zero_grad()
        actor_loss.backward()
        actor_optimizer.step()
        with torch.no_grad():
            for target, online in zip(self.target_critics.parameters(), self.critics.parameters()):
                target.lerp_(online, self.config.tau)
        td_errors = 0.5 * ((q1 - targets).abs() + (q2 - targets).abs())
        metrics = {"critic_loss": critic_loss.item(), "actor_loss": actor_loss.item(), "alpha": alpha.item(),
                   "alpha_loss": alpha_loss.item()}
        return metrics, td_errors.detach().numpy()


class NativeSacLearner:
    """The engine's SAC step on the same modules: the actor, the twin critics, their targets and
    ``log_alpha`` each move into a flat buffer stepped by a :class:`FlatAdam`."""

    def __init__(self, actor: GaussianActor, critics: TwinQ, target_critics: TwinQ, temperature: Temperature,
                 config: SACConfig, target_entropy: float) -> None:
        actor_sizes, activation, _ = mlp_layout(actor.body)
        critic_sizes = mlp_layout(critics.q1).sizes
        self.config, self.target_entropy = config, target_entropy
        self.actor_flat = flatten_parameters(linear_parameters(actor.body))
        self.critic_flat = flatten_parameters(linear_parameters(critics.q1, critics.q2))
        self.target_flat = flatten_parameters(linear_parameters(target_critics.q1, target_critics.q2))
        self.alpha_flat = flatten_parameters([(temperature, "log_alpha")])
        lr = config.learning_rate
        self.optimizers = [FlatAdam(self.actor_flat, actor.parameters(), lr),
                           FlatAdam(self.critic_flat, critics.parameters(), lr),
                           FlatAdam(self.alpha_flat, temperature.parameters(), lr)]
        self.core = _core.nn.SacEngine32(actor_sizes, critic_sizes, activation)
        self._actor, self._critic = self.actor_flat.numpy(), self.critic_flat.numpy()
        self._target, self._log_alpha = self.target_flat.numpy(), self.alpha_flat.numpy()

    def act(self, obs: np.ndarray, eps: np.ndarray) -> np.ndarray:
        actions = np.empty_like(eps)
        self.core.act(self._actor, obs, eps, actions)
        return actions

    def collect(self, env_core: Any, layout: dict[str, Any], critic_obs_dim: int, steps: int,
                uniform_actions: np.ndarray, eps: np.ndarray, action_scale: np.ndarray,
                action_bias: np.ndarray) -> np.ndarray:
        """``steps`` vector steps of exploration into the replay in C++ (nn/collect.hpp); returns
        the returns of the episodes that ended. SAC's critics see the actor's observations."""
        if critic_obs_dim:
            raise ValueError(f"SAC's engine has no asymmetric critic, got critic_obs_dim {critic_obs_dim}")
        return self.core.collect(env_core, layout["core"], layout["obs_field"], layout["action_field"], self._actor,
                                 steps, uniform_actions, eps, action_scale, action_bias)

    def update(self, batch: ReplayBatch, eps: np.ndarray, eps_next: np.ndarray) -> tuple[dict[str, float], np.ndarray]:
        actor_opt, critic_opt, alpha_opt = self.optimizers
        f32 = lambda x: np.ascontiguousarray(x, dtype=np.float32)  # noqa: E731
        stats = self.core.update(
            self._actor, self._critic, self._target, self._log_alpha, actor_opt.grads, critic_opt.grads,
            actor_opt.exp_avg, actor_opt.exp_avg_sq, critic_opt.exp_avg, critic_opt.exp_avg_sq, alpha_opt.exp_avg,
            alpha_opt.exp_avg_sq, critic_opt.step, f32(batch.obs), f32(batch.action), f32(batch.reward),
            f32(batch.discount), f32(batch.next_obs), eps, eps_next, actor_opt.lr, critic_opt.lr, alpha_opt.lr,
            self.config.tau, self.target_entropy, self.config.autotune)
        return self._metrics(stats), np.zeros(0, np.float32)  # no prioritized replay on this path

    def train_from_replay(self, layout: dict[str, Any], noise: np.ndarray) -> dict[str, float]:
        """``len(noise)`` updates sampling the replay inside the engine (float32 fields); ``noise``
        ``[steps, 2, batch, action_dim]``: eps and eps_next of each update."""
        actor_opt, critic_opt, alpha_opt = self.optimizers
        config = self.config
        with layout["lock"]:
            stats = self.core.train_from_replay(
                layout["core"], layout["obs_field"], layout["action_field"], layout["reward_is_float64"], self._actor,
                self._critic, self._target, self._log_alpha, actor_opt.grads, critic_opt.grads, actor_opt.exp_avg,
                actor_opt.exp_avg_sq, critic_opt.exp_avg, critic_opt.exp_avg_sq, alpha_opt.exp_avg,
                alpha_opt.exp_avg_sq, critic_opt.step, noise.shape[0], config.batch_size, config.n_step, config.gamma,
                noise, actor_opt.lr, critic_opt.lr, alpha_opt.lr, config.tau, self.target_entropy, config.autotune)
        return self._metrics(stats)

    def _metrics(self, stats: dict[str, float]) -> dict[str, float]:
        stepped = self.optimizers if self.config.autotune else self.optimizers[:2]
        for optimizer in stepped:  # one step count for the Adams, as SB3's
            optimizer.step = stats["step"]
        return {key: stats[key] for key in ("critic_loss", "actor_loss", "alpha", "alpha_loss")}
