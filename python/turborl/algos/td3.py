"""Twin Delayed DDPG (Fujimoto, van Hoof & Meger, 2018: "Addressing Function Approximation Error in
Actor-Critic Methods"), as Stable-Baselines3's TD3 and CleanRL's td3_continuous_action.py: a
deterministic tanh actor explored with Gaussian noise (``exploration_noise``, in units of half the
action range), twin critics regressing ``r + discount * min_k Q'_k(s', a')`` with target-policy
smoothing ``a' = clip(mu'(s') + clip(N(0, target_policy_noise), +-target_noise_clip), -1, 1)``, and
every ``policy_delay``-th update an actor step along ``Q1(s, mu(s))`` followed by Polyak updates of
the three target networks.

``backend="native"`` (what "auto" picks, except with prioritized replay) runs each whole update in
turborl's C++ engine (``turborl._core.nn.Td3Engine32``) on the same torch modules; the smoothing
noise comes from the run's generator on both backends, so they take the same steps
(tests/algos/test_continuous.py). See turborl.algos.sac for where the time of a torch step goes.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from turborl import _core
from turborl.algos.off_policy import ContinuousOffPolicy, OffPolicyConfig
from turborl.nn.actors import TanhActor, TwinQ
from turborl.nn.native import FlatAdam, flatten_parameters, linear_parameters, mlp_layout, resolve_backend
from turborl.replay import ReplayBatch

__all__ = ["TD3", "TD3Config"]


@dataclasses.dataclass
class TD3Config(OffPolicyConfig):
    algorithm: ClassVar[str] = "td3"
    learning_rate: float = 1e-3
    hidden_sizes: tuple[int, ...] = (400, 300)
    activation: str = "relu"
    policy_delay: int = 2
    exploration_noise: float = 0.1
    target_policy_noise: float = 0.2
    target_noise_clip: float = 0.5

    def validate(self) -> None:
        super().validate()
        if self.policy_delay < 1:
            raise ValueError(f"policy_delay must be >= 1, got {self.policy_delay}")
        for name in ("exploration_noise", "target_policy_noise", "target_noise_clip"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.activation not in ("relu", "tanh"):
            raise ValueError(f"activation must be 'relu' or 'tanh', got {self.activation!r}")


class TD3(ContinuousOffPolicy):
    Config = TD3Config
    checkpoint_modules = ("actor", "critics", "target_actor", "target_critics")
    metric_names = ("critic_loss", "q1_mean", "actor_loss")

    def _build_learner(self) -> None:
        config: TD3Config = self.config
        obs_dim = self.observation_space.shape[0]
        self.actor = self.policy_network(config, self.observation_space, self.action_space)
        self.critics = TwinQ(obs_dim, self.action_dim, config.hidden_sizes, config.activation)
        self.target_actor, self.target_critics = copy.deepcopy(self.actor), copy.deepcopy(self.critics)
        self.target_actor.requires_grad_(False)
        self.target_critics.requires_grad_(False)
        unsupported = "prioritized replay (weighted losses)" if config.prioritized else None
        self.backend = resolve_backend(config.backend, unsupported)
        learner = NativeTd3Learner if self.backend == "native" else TorchTd3Learner
        self.learner = learner(self.actor, self.critics, self.target_actor, self.target_critics, config)

    @classmethod
    def policy_network(cls, config: TD3Config, observation_space: Any, action_space: Any) -> TanhActor:
        return TanhActor(observation_space.shape[0], action_space.low, action_space.high, config.hidden_sizes,
                         config.activation)

    @staticmethod
    def policy_action(network: TanhActor, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return network(obs)  # TD3's policy is deterministic; exploration noise is a training device

    def _policy_parts(self) -> tuple[nn.Module, Any]:
        return self.actor, None

    def _explore(self, obs: np.ndarray) -> np.ndarray:
        noise = self.rng.normal(0.0, self.config.exploration_noise, (obs.shape[0], self.action_dim))
        return np.clip(self.learner.act(obs) + noise, -1.0, 1.0).astype(np.float32)

    def _update(self, batch: ReplayBatch) -> tuple[dict[str, float], np.ndarray]:
        noise = self.rng.standard_normal((batch.obs.shape[0], self.action_dim), dtype=np.float32)
        update_actor = (self.gradient_updates + 1) % self.config.policy_delay == 0  # SB3: updates 2, 4, ...
        return self.learner.update(batch, noise, update_actor)


class TorchTd3Learner:
    """CleanRL's TD3 update in torch (also the path for prioritized replay)."""

    def __init__(self, actor: TanhActor, critics: TwinQ, target_actor: TanhActor, target_critics: TwinQ,
                 config: TD3Config) -> None:
        self.actor, self.critics, self.target_actor, self.target_critics = actor, critics, target_actor, target_critics
        self.config = config
        self.optimizers = [torch.optim.Adam(actor.parameters(), lr=config.learning_rate),
                           torch.optim.Adam(critics.parameters(), lr=config.learning_rate)]

    def act(self, obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.actor.unit_action(torch.from_numpy(obs)).numpy()

    def update(self, batch: ReplayBatch, noise: np.ndarray, update_actor: bool) -> tuple[dict[str, float], np.ndarray]:
        config = self.config
        actor_optimizer, critic_optimizer = self.optimizers
        obs, actions, next_obs, rewards, discounts = (
            torch.as_tensor(np.asarray(x), dtype=torch.float32)
            for x in (batch.obs, batch.action, batch.next_obs, batch.reward, batch.discount))
        with torch.no_grad():
            smoothing = (torch.from_numpy(noise) * config.target_policy_noise).clamp(-config.target_noise_clip,
                                                                                     config.target_noise_clip)
            next_actions = (self.target_actor.unit_action(next_obs) + smoothing).clamp(-1.0, 1.0)
            targets = rewards + discounts * torch.min(*self.target_critics(next_obs, next_actions))
        q1, q2 = self.critics(obs, actions)
        squared1, squared2 = (q1 - targets).pow(2), (q2 - targets).pow(2)
        if batch.weights is not None:
            weights = torch.as_tensor(np.asarray(batch.weights), dtype=torch.float32)
            squared1, squared2 = squared1 * weights, squared2 * weights
        critic_loss = squared1.mean() + squared2.mean()
        critic_optimizer.zero_grad()
        critic_loss.backward()
        critic_optimizer.step()
        metrics = {"critic_loss": critic_loss.item(), "q1_mean": q1.mean().item()}
        if update_actor:
            actor_loss = -self.critics.q1(torch.cat([obs, self.actor.unit_action(obs)], -1)).mean()
            actor_optimizer.zero_grad()
            actor_loss.backward()
            actor_optimizer.step()
            metrics["actor_loss"] = actor_loss.item()
            with torch.no_grad():
                for target, online in [(self.target_actor.body, self.actor.body), (self.target_critics, self.critics)]:
                    for target_p, online_p in zip(target.parameters(), online.parameters()):
                        target_p.lerp_(online_p, config.tau)
        td_errors = 0.5 * ((q1 - targets).abs() + (q2 - targets).abs())
        return metrics, td_errors.detach().numpy()


class NativeTd3Learner:
    """The engine's TD3 update on the same modules (actor, critics and both targets in flat
    buffers; one :class:`FlatAdam` for the actor and one for the critics, as CleanRL)."""

    def __init__(self, actor: TanhActor, critics: TwinQ, target_actor: TanhActor, target_critics: TwinQ,
                 config: TD3Config) -> None:
        actor_sizes, activation, _ = mlp_layout(actor.body)
        critic_sizes = mlp_layout(critics.q1).sizes
        self.config, self.action_dim = config, actor_sizes[-1]
        self.actor_flat = flatten_parameters(linear_parameters(actor.body))
        self.critic_flat = flatten_parameters(linear_parameters(critics.q1, critics.q2))
        self._actor, self._critic = self.actor_flat.numpy(), self.critic_flat.numpy()
        self._target_actor = flatten_parameters(linear_parameters(target_actor.body)).numpy()
        self._target_critic = flatten_parameters(linear_parameters(target_critics.q1, target_critics.q2)).numpy()
        self.optimizers = [FlatAdam(self.actor_flat, actor.parameters(), config.learning_rate),
                           FlatAdam(self.critic_flat, critics.parameters(), config.learning_rate)]
        self.core = _core.nn.Td3Engine32(actor_sizes, critic_sizes, activation)

    def act(self, obs: np.ndarray) -> np.ndarray:
        actions = np.empty((obs.shape[0], self.action_dim), np.float32)
        self.core.act(self._actor, obs, actions)
        return actions

    def update(self, batch: ReplayBatch, noise: np.ndarray, update_actor: bool) -> tuple[dict[str, float], np.ndarray]:
        config = self.config
        actor_opt, critic_opt = self.optimizers
        f32 = lambda x: np.ascontiguousarray(x, dtype=np.float32)  # noqa: E731
        stats = self.core.update(
            self._actor, self._critic, self._target_actor, self._target_critic, actor_opt.grads, critic_opt.grads,
            actor_opt.exp_avg, actor_opt.exp_avg_sq, critic_opt.exp_avg, critic_opt.exp_avg_sq, actor_opt.step,
            critic_opt.step, f32(batch.obs), f32(batch.action), f32(batch.reward), f32(batch.discount),
            f32(batch.next_obs), noise, update_actor, actor_opt.lr, critic_opt.lr, config.target_policy_noise,
            config.target_noise_clip, config.tau)
        actor_opt.step, critic_opt.step = stats["actor_step"], stats["critic_step"]
        metrics = {"critic_loss": stats["critic_loss"], "q1_mean": stats["q1_mean"]}
        if update_actor:
            metrics["actor_loss"] = stats["actor_loss"]
        return metrics, np.zeros(0, np.float32)  # no prioritized replay on this path
