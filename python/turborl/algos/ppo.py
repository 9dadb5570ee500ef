"""Proximal Policy Optimisation (Schulman et al., 2017), as CleanRL's ppo.py and SB3's PPO.

Clipped surrogate objective, optional value clipping, GAE, per-minibatch advantage
normalisation, minibatch epochs, entropy bonus, linear learning-rate (and clip-range) annealing,
gradient-norm clipping, optional early stop on approximate KL. Discrete (categorical) and
continuous (diagonal Gaussian, state-independent log std) actions. Truncated episodes bootstrap
from the true final observation: the envs run in ``same_step`` autoreset mode and
``gamma * V(info["final_obs"])`` is added to the reward of the truncating step, as SB3 does.
The critic regresses returns (``critic="mse"``) or classifies them with HL-Gauss or two-hot
targets ("Stop Regressing", Farebrother et al., 2024).

``backend="native"`` (what "auto" picks for MLPs with the MSE critic) runs acting, GAE and each
whole update (all epochs x minibatches) in turborl's C++ engine on the same torch module, whose
parameters become views of one flat buffer; the minibatch order still comes from
``torch.randperm``, so on fixed data both backends take the same steps (tests/algos/test_ppo.py).
Actions are sampled from turborl's counter-based generator (seed, global step) instead of torch's.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Callable, ClassVar, Optional

import numpy as np
import torch
from torch import nn

from turborl import _core

from turborl.algos.base import Algorithm
from turborl.algos.checkpoint import module_state
from turborl.algos.config import Config
from turborl.algos.returns import gae
from turborl.algos.value_heads import ValueHead, make_value_head
from turborl.nn import MLP, ObservationNormalizer, RewardNormalizer
from turborl.nn.native import FlatAdam, flatten_parameters, linear_parameters, mlp_layout, resolve_backend

__all__ = ["PPO", "PPOConfig", "clipped_surrogate_loss"]


@dataclasses.dataclass
class PPOConfig(Config):
    algorithm: ClassVar[str] = "ppo"
    num_envs: int = 8
    num_steps: int = 128
    learning_rate: float = 2.5e-4
    anneal_lr: bool = True
    gamma: float = 0.99
    gae_lambda: float = 0.95
    minibatch_size: int = 256
    update_epochs: int = 4
    norm_adv: bool = True
    clip_coef: float = 0.2
    anneal_clip: bool = False
    clip_vloss: bool = False
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    target_kl: Optional[float] = None
    activation: str = "tanh"
    normalize_obs: bool = False
    normalize_reward: bool = False
    critic: str = "mse"
    value_bins: int = 51
    v_min: float = -10.0
    v_max: float = 10.0
    hl_gauss_sigma: float = 0.75  # in bin widths

    def validate(self) -> None:
        super().validate()
        for name in ("num_steps", "minibatch_size", "update_epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("gamma", "gae_lambda"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.learning_rate <= 0 or self.clip_coef <= 0 or self.max_grad_norm <= 0:
            raise ValueError("learning_rate, clip_coef and max_grad_norm must be > 0, got "
                             f"{self.learning_rate}, {self.clip_coef}, {self.max_grad_norm}")
        if self.minibatch_size > self.num_envs * self.num_steps:
            raise ValueError(f"minibatch_size ({self.minibatch_size}) exceeds the rollout's "
                             f"num_envs * num_steps = {self.num_envs * self.num_steps} transitions")


def clipped_surrogate_loss(advantages: torch.Tensor, ratio: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO's objective, negated: mean of max(-A r, -A clip(r, 1 - eps, 1 + eps))."""
    return torch.max(-advantages * ratio, -advantages * ratio.clamp(1 - clip, 1 + clip)).mean()


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs (CleanRL's Agent, SB3's default MlpPolicy for PPO)."""

    def __init__(self, config: PPOConfig, obs_dim: int, action_space: Any) -> None:
        super().__init__()
        self.discrete = hasattr(action_space, "n")
        action_dim = int(action_space.n) if self.discrete else int(np.prod(action_space.shape))
        self.value_head: ValueHead = make_value_head(config.critic, config.v_min, config.v_max, config.value_bins,
                                                     config.hl_gauss_sigma)
        self.actor = MLP(obs_dim, action_dim, config.hidden_sizes, config.activation, output_gain=0.01)
        self.critic = MLP(obs_dim, self.value_head.outputs, config.hidden_sizes, config.activation, output_gain=1.0)
        if not self.discrete:
            self.log_std = nn.Parameter(torch.zeros(action_dim))

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.value_head.value(self.critic(obs))

    def sample(self, obs: torch.Tensor, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(action, log-probability) without gradients."""
        out = self.actor(obs)
        if self.discrete:
            log_probs = out.log_softmax(-1)
            action = log_probs.argmax(-1) if deterministic else torch.multinomial(log_probs.exp(), 1).squeeze(-1)
            return action, log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1)
        action = out if deterministic else out + self.log_std.exp() * torch.randn_like(out)
        return action, self._gaussian_log_prob(out, action)

    def evaluate(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-probability of ``action``, entropy) with gradients."""
        out = self.actor(obs)
        if self.discrete:
            log_probs = out.log_softmax(-1)
            entropy = -(log_probs.exp() * log_probs).sum(-1)
            return log_probs.gather(-1, action.long().unsqueeze(-1)).squeeze(-1), entropy
        entropy = (0.5 + 0.5 * math.log(2 * math.pi) + self.log_std).sum().expand(obs.shape[0])
        return self._gaussian_log_prob(out, action), entropy

    def _gaussian_log_prob(self, mean: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        z = (action - mean) * torch.exp(-self.log_std)
        return (-0.5 * z * z - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


class PPO(Algorithm):
    Config = PPOConfig
    autoreset_mode = "same_step"

    def _build(self) -> None:
        config: PPOConfig = self.config
        if len(self.observation_space.shape) != 1:
            raise ValueError(f"PPO here takes flat (1-D) observations, got shape {self.observation_space.shape}")
        obs_dim = self.observation_space.shape[0]
        self.agent = self.policy_network(config, self.observation_space, self.action_space)
        self.backend = resolve_backend(config.backend, self._native_unsupported())
        if self.backend == "native":
            self.engine = NativeActorCritic(self.agent, config.learning_rate)
            self.optimizer = self.engine.optimizer
        else:
            self.optimizer = torch.optim.Adam(self.agent.parameters(), lr=config.learning_rate, eps=1e-5, fused=True)
        self.obs_normalizer = ObservationNormalizer((obs_dim,)) if config.normalize_obs else None
        self.reward_normalizer = RewardNormalizer(config.num_envs, config.gamma) if config.normalize_reward else None
        steps, envs = config.num_steps, config.num_envs
        action_shape = () if self.agent.discrete else self.action_space.shape
        self.buffer = {
            "obs": torch.zeros(steps, envs, obs_dim), "actions": torch.zeros(steps, envs, *action_shape),
            "log_probs": torch.zeros(steps, envs), "rewards": torch.zeros(steps, envs),
            "dones": torch.zeros(steps, envs), "values": torch.zeros(steps, envs),
        }
        self._normalized_obs = self._normalize(self.obs, update=True)

    def _native_unsupported(self) -> Optional[str]:
        if self.config.critic != "mse":
            return f"critic={self.config.critic!r} (the native PPO update regresses values with the MSE critic)"
        return None

    @classmethod
    def policy_network(cls, config: PPOConfig, observation_space: Any, action_space: Any) -> ActorCritic:
        if not (hasattr(action_space, "n") or len(action_space.shape) == 1):
            raise ValueError(f"PPO takes Discrete or 1-D Box action spaces, got {action_space}")
        return ActorCritic(config, int(np.prod(observation_space.shape)), action_space)

    @staticmethod
    def policy_action(network: ActorCritic, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return network.sample(obs, deterministic)[0]

    def _policy_parts(self) -> tuple[nn.Module, Any]:
        return self.agent, self.obs_normalizer

    def _normalize(self, obs: np.ndarray, update: bool) -> np.ndarray:
        if self.obs_normalizer is None:
            return np.asarray(obs, dtype=np.float32)
        return self.obs_normalizer(obs, update=update)

    # ---- one iteration: a rollout, then minibatch epochs ----------------------------------------

    def _iteration(self) -> dict[str, float]:
        config: PPOConfig = self.config
        fraction_left = 1.0 - self.progress()
        if config.anneal_lr:
            self.optimizer.param_groups[0]["lr"] = fraction_left * config.learning_rate
        clip = config.clip_coef * fraction_left if config.anneal_clip else config.clip_coef
        advantages, returns = self._collect_native() if self.backend == "native" else self._collect()
        update = self._update_native if self.backend == "native" else self._update
        return update(advantages, returns, clip)

    def _collect(self) -> tuple[torch.Tensor, torch.Tensor]:
        config: PPOConfig = self.config
        b = self.buffer
        with torch.no_grad():
            for t in range(config.num_steps):
                obs_tensor = torch.from_numpy(self._normalized_obs)
                action, log_prob = self.agent.sample(obs_tensor)
                b["obs"][t], b["actions"][t], b["log_probs"][t] = obs_tensor, action, log_prob
                b["values"][t] = self.agent.value(obs_tensor)
                reward, done = self._step_envs(action.numpy(),
                                               lambda obs: self.agent.value(torch.from_numpy(obs)).numpy())
                b["rewards"][t], b["dones"][t] = torch.from_numpy(reward), torch.from_numpy(done)
            last_values = self.agent.value(torch.from_numpy(self._normalized_obs))
            return gae(b["rewards"], b["values"], b["dones"], last_values, config.gamma, config.gae_lambda)

    def _step_envs(self, action: np.ndarray,
                   value: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Steps the envs with the policy's action (clipped to a Box's bounds) and returns
        ``(reward, done)``: the reward normalised if configured, as float32, plus
        ``gamma * value(final obs)`` where an episode was truncated (the true final observation);
        advances the step count, the episode log and the normalised observations."""
        config: PPOConfig = self.config
        if not self.agent.discrete:
            action = np.clip(action, self.action_space.low, self.action_space.high)
        self.obs, reward, terminated, truncated, info = self.envs.step(action)
        self.global_step += config.num_envs
        self.log.episodes(info)
        done = terminated | truncated
        if self.reward_normalizer is not None:
            reward = self.reward_normalizer(reward, done)
        reward = np.array(reward, dtype=np.float32)  # a copy: the bootstrap below writes into it
        cut_short = truncated & ~terminated
        if cut_short.any():  # bootstrap from the true final observation
            final_obs = self._normalize(np.asarray(info["final_obs"])[cut_short], update=False)
            reward[cut_short] += np.float32(config.gamma) * value(final_obs)
        self._normalized_obs = self._normalize(self.obs, update=True)
        return reward, np.asarray(done)

    def _collect_native(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``_collect`` with acting, values and GAE in the engine; writes the same buffers."""
        config: PPOConfig = self.config
        b = {key: value.numpy() for key, value in self.buffer.items()}
        engine = self.engine
        for t in range(config.num_steps):
            obs = self._normalized_obs
            b["obs"][t] = obs
            action = engine.act(obs, config.seed, self.global_step, b["log_probs"][t], b["values"][t])
            b["actions"][t] = action
            b["rewards"][t], b["dones"][t] = self._step_envs(action, engine.value)
        last_values = engine.value(self._normalized_obs)
        return engine.gae(b["rewards"], b["values"], b["dones"], last_values, config.gamma, config.gae_lambda)

    def _update_native(self, advantages: torch.Tensor, returns: torch.Tensor, clip: float) -> dict[str, float]:
        """``_update`` as one engine call: every epoch's permutation is drawn first (torch.randperm,
        as ``_update``), then all minibatch steps run in C++."""
        config: PPOConfig = self.config
        batch = config.num_steps * config.num_envs
        order = np.stack([torch.randperm(batch).numpy() for _ in range(config.update_epochs)])
        b = {key: value.numpy().reshape(batch, -1) for key, value in self.buffer.items()}
        return self.engine.update(b["obs"], b["actions"], b["log_probs"], b["values"], advantages.numpy(),
                                  returns.numpy(), order, config, clip)

    def _update(self, advantages: torch.Tensor, returns: torch.Tensor, clip: float) -> dict[str, float]:
        config: PPOConfig = self.config
        b = self.buffer
        batch = config.num_steps * config.num_envs
        obs, actions = b["obs"].reshape(batch, -1), b["actions"].reshape(batch, *b["actions"].shape[2:])
        old_log_probs, old_values = b["log_probs"].reshape(batch), b["values"].reshape(batch)
        advantages, returns = advantages.reshape(batch), returns.reshape(batch)
        stats = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "approx_kl": 0.0, "clip_fraction": 0.0}
        updates = 0
        for _ in range(config.update_epochs):
            order = torch.randperm(batch)
            for start in range(0, batch - config.minibatch_size + 1, config.minibatch_size):
                index = order[start:start + config.minibatch_size]
                log_prob, entropy = self.agent.evaluate(obs[index], actions[index])
                log_ratio = log_prob - old_log_probs[index]
                ratio = log_ratio.exp()
                advantage = advantages[index]
                if config.norm_adv and advantage.numel() > 1:
                    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                policy_loss = clipped_surrogate_loss(advantage, ratio, clip)
                value_loss = self._value_loss(obs[index], returns[index], old_values[index], clip)
                entropy_mean = entropy.mean()
                loss = policy_loss - config.ent_coef * entropy_mean + config.vf_coef * value_loss
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(self.agent.parameters(), config.max_grad_norm)
                self.optimizer.step()
                with torch.no_grad():
                    approx_kl = ((ratio - 1) - log_ratio).mean().item()
                    stats["clip_fraction"] += ((ratio - 1.0).abs() > clip).float().mean().item()
                stats["policy_loss"] += policy_loss.item()
                stats["value_loss"] += value_loss.item()
                stats["entropy"] += entropy_mean.item()
                stats["approx_kl"] += approx_kl
                updates += 1
            if config.target_kl is not None and approx_kl > config.target_kl:
                break
        return {key: value / max(updates, 1) for key, value in stats.items()}

    def _value_loss(self, obs: torch.Tensor, returns: torch.Tensor, old_values: torch.Tensor,
                    clip: float) -> torch.Tensor:
        """SB3's convention: mean squared error (no 1/2), optionally clipped around the old values."""
        head = self.agent.value_head
        outputs = self.agent.critic(obs)
        if head.outputs > 1:  # classification: cross-entropy against the return's distribution
            return head.loss(outputs, returns).mean()
        values = outputs.squeeze(-1)
        if not self.config.clip_vloss:
            return ((values - returns) ** 2).mean()
        clipped = old_values + (values - old_values).clamp(-clip, clip)
        return torch.max((values - returns) ** 2, (clipped - returns) ** 2).mean()

    # ---- checkpoints ---------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {"agent": module_state(self.agent), "optimizer": self.optimizer.state_dict(),
                "obs_normalizer": None if self.obs_normalizer is None else self.obs_normalizer.state_dict(),
                "reward_normalizer": None if self.reward_normalizer is None else self.reward_normalizer.state_dict()}

    def _load_state(self, state: dict[str, Any], directory: Path) -> None:
        self.agent.load_state_dict(state["agent"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.obs_normalizer is not None:
            self.obs_normalizer.load_state_dict(state["obs_normalizer"])
        if self.reward_normalizer is not None:
            self.reward_normalizer.load_state_dict(state["reward_normalizer"])
        self._normalized_obs = self._normalize(self.obs, update=False)


class NativeActorCritic:
    """The engine's PPO for an :class:`ActorCritic`: its parameters move into one flat buffer
    (actor, critic, then log std), stepped by a :class:`FlatAdam`
    whose ``param_groups`` let PPO anneal the learning rate as with torch's Adam."""

    def __init__(self, agent: ActorCritic, learning_rate: float) -> None:
        actor_sizes, activation, _ = mlp_layout(agent.actor)
        critic_sizes, critic_activation, _ = mlp_layout(agent.critic)
        if critic_activation != activation:
            raise ValueError(f"actor and critic activations differ: {activation} vs {critic_activation}")
        layout: list[Any] = linear_parameters(agent.actor, agent.critic)
        if not agent.discrete:
            layout.append((agent, "log_std"))
        self.flat = flatten_parameters(layout)
        self.params = self.flat.numpy()
        self.discrete = agent.discrete
        self.action_dim = actor_sizes[-1]
        self.core = _core.nn.PpoEngine32(actor_sizes, critic_sizes, activation, agent.discrete)
        # FlatAdam refuses any parameter of the agent that the layout left outside the buffer
        self.optimizer = FlatAdam(self.flat, agent.parameters(), learning_rate, eps=1e-5)
        self._index_actions = np.zeros(0, dtype=np.int64)
        self._actions = np.zeros(0, dtype=np.float32)

    def act(self, obs: np.ndarray, seed: int, counter: int, log_probs: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Sampled actions for a batch of observations; fills their log-probabilities and values."""
        n = obs.shape[0]
        if self.discrete:
            out, dummy = np.empty(n, dtype=np.int64), self._actions
            self.core.act(self.params, obs, seed, counter, False, out, dummy, log_probs, values)
        else:
            out, dummy = np.empty((n, self.action_dim), dtype=np.float32), self._index_actions
            self.core.act(self.params, obs, seed, counter, False, dummy, out, log_probs, values)
        return out

    def value(self, obs: np.ndarray) -> np.ndarray:
        values = np.empty(obs.shape[0], dtype=np.float32)
        self.core.value(self.params, np.ascontiguousarray(obs, dtype=np.float32), values)
        return values

    def gae(self, rewards: np.ndarray, values: np.ndarray, dones: np.ndarray, last_values: np.ndarray, gamma: float,
            gae_lambda: float) -> tuple[torch.Tensor, torch.Tensor]:
        advantages, returns = np.empty_like(rewards), np.empty_like(rewards)
        _core.nn.gae(rewards, values, dones, last_values, gamma, gae_lambda, advantages, returns)
        return torch.from_numpy(advantages), torch.from_numpy(returns)

    def update(self, obs: np.ndarray, actions: np.ndarray, old_log_probs: np.ndarray, old_values: np.ndarray,
               advantages: np.ndarray, returns: np.ndarray, order: np.ndarray, config: PPOConfig,
               clip: float) -> dict[str, float]:
        opt = self.optimizer
        stats = self.core.update(
            self.params, opt.grads, opt.exp_avg, opt.exp_avg_sq, opt.step, obs, actions, old_log_probs, old_values,
            advantages.reshape(-1), returns.reshape(-1), order, config.minibatch_size, opt.lr, opt.eps, clip,
            config.ent_coef, config.vf_coef, config.max_grad_norm, config.norm_adv, config.clip_vloss,
            math.nan if config.target_kl is None else config.target_kl)
        opt.step = int(stats.pop("step"))
        stats.pop("updates")
        return stats
