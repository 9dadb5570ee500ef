"""Deep Q-Networks (Mnih et al., 2015) with the usual improvements, on turborl's replay buffers.

SB3's DQN loop and option names: ``train_frequency`` env steps of epsilon-greedy collection, then
``gradient_steps`` updates of ``batch_size``; the target network is updated every
``target_update_interval`` env steps (Polyak ``tau``, 1 = copy); epsilon decays linearly over
``exploration_fraction`` of training. On top: double Q-learning (van Hasselt et al., 2016),
n-step returns and prioritized replay (Schaul et al., 2016; beta annealed to 1) from
``turborl.replay``, and Q-values trained by HL-Gauss or two-hot classification ("Stop
Regressing", Farebrother et al., 2024) instead of a Huber or squared error.

``backend="native"`` (what "auto" picks for the Huber, squared-error and HL-Gauss losses) runs greedy
acting and all of an iteration's gradient steps (sampling the replay, targets, loss, backward,
clipping, Adam, new priorities) in one call into turborl's C++ engine, on the same torch modules,
whose parameters become views of flat buffers. The engine samples the same replay core that
``ReplayBuffer.sample`` calls, so both backends draw the same batches
(tests/algos/test_dqn_native.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from turborl.algos.base import Algorithm
from turborl.algos.checkpoint import module_state
from turborl.algos.off_policy import OffPolicyConfig, make_replay, per_beta, sample_replay
from turborl.algos.schedules import linear
from turborl.algos.value_heads import ValueHead, make_value_head
from turborl import _core
from turborl.nn import MLP
from turborl.nn.native import FlatAdam, flatten_parameters, linear_parameters, mlp_layout, resolve_backend

__all__ = ["DQN", "DQNConfig"]

LOSSES = ("huber", "mse", "hl_gauss", "two_hot")


@dataclasses.dataclass
class DQNConfig(OffPolicyConfig):
    algorithm: ClassVar[str] = "dqn"
    learning_rate: float = 1e-4
    batch_size: int = 32
    tau: float = 1.0
    target_update_interval: int = 10_000
    train_frequency: int = 4
    exploration_fraction: float = 0.1
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.05
    max_grad_norm: float = 10.0
    double_q: bool = True
    loss: str = "huber"
    value_bins: int = 51
    v_min: float = 0.0
    v_max: float = 100.0
    hl_gauss_sigma: float = 0.75  # in bin widths

    def validate(self) -> None:
        super().validate()
        if self.target_update_interval < 1:
            raise ValueError(f"target_update_interval must be >= 1, got {self.target_update_interval}")
        for name in ("exploration_fraction", "exploration_initial_eps", "exploration_final_eps"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {list(LOSSES)}, got {self.loss!r}")


class QNetwork(nn.Module):
    """An MLP with ``actions x head.outputs`` outputs (SB3's default init, ReLU)."""

    def __init__(self, config: DQNConfig, obs_dim: int, num_actions: int) -> None:
        super().__init__()
        critic = "mse" if config.loss in ("huber", "mse") else config.loss
        self.head: ValueHead = make_value_head(critic, config.v_min, config.v_max, config.value_bins,
                                               config.hl_gauss_sigma)
        self.num_actions = num_actions
        self.body = MLP(obs_dim, num_actions * self.head.outputs, config.hidden_sizes, "relu", orthogonal=False)

    def outputs(self, obs: torch.Tensor) -> torch.Tensor:
        """[batch, actions, head outputs]."""
        return self.body(obs).view(obs.shape[0], self.num_actions, self.head.outputs)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Q-values [batch, actions]."""
        return self.head.value(self.outputs(obs))


class DQN(Algorithm):
    Config = DQNConfig
    autoreset_mode = "next_step"  # the replay buffer recognises reset steps itself

    def _build(self) -> None:
        config: DQNConfig = self.config
        if not hasattr(self.action_space, "n"):
            raise ValueError(f"DQN needs a Discrete action space; {config.env_id} has {self.action_space} "
                             "(use PPO for continuous actions)")
        if len(self.observation_space.shape) != 1:
            raise ValueError(f"DQN here takes flat (1-D) observations, got shape {self.observation_space.shape}")
        self.q_network = self.policy_network(config, self.observation_space, self.action_space)
        self.target_network = self.policy_network(config, self.observation_space, self.action_space)
        self.target_network.load_state_dict(self.q_network.state_dict())
        self.target_network.requires_grad_(False)
        unsupported = None if config.loss != "two_hot" else "loss='two_hot' (native: huber, mse or hl_gauss)"
        self.backend = resolve_backend(config.backend, unsupported)
        if self.backend == "native":
            self.engine = NativeQLearner(self.q_network, self.target_network, config)
            self.optimizer = self.engine.optimizer
        else:
            self.optimizer = torch.optim.Adam(self.q_network.parameters(), lr=config.learning_rate, fused=True)
        self.replay = make_replay(config, self.envs)
        self.vector_steps = 0  # for the target update, counted per vector step as SB3
        self.gradient_updates = 0

    @classmethod
    def policy_network(cls, config: DQNConfig, observation_space: Any, action_space: Any) -> QNetwork:
        return QNetwork(config, int(np.prod(observation_space.shape)), int(action_space.n))

    @staticmethod
    def policy_action(network: QNetwork, obs: torch.Tensor, deterministic: bool) -> torch.Tensor:
        return network(obs).argmax(-1)

    def _policy_parts(self) -> tuple[nn.Module, Any]:
        return self.q_network, None

    def epsilon(self) -> float:
        config: DQNConfig = self.config
        return linear(config.exploration_initial_eps, config.exploration_final_eps, config.exploration_fraction,
                      self.progress())

    # ---- one iteration: train_frequency env steps, then gradient_steps updates -----------------

    def _iteration(self) -> dict[str, float]:
        config: DQNConfig = self.config
        vector_steps = max(1, -(-config.train_frequency // config.num_envs))
        target_every = max(config.target_update_interval // config.num_envs, 1)
        for _ in range(vector_steps):
            self._collect_step()
            self.vector_steps += 1
            if self.vector_steps % target_every == 0:
                self._update_target()
            if self.global_step >= config.total_timesteps:
                break
        metrics = {"epsilon": self.epsilon(), "loss": float("nan"), "q_mean": float("nan")}
        # SB3 samples with replacement and can start with fewer stored transitions than a batch;
        # turborl's buffers sample without replacement, so training waits for one full batch.
        if (self.global_step > config.learning_starts and config.gradient_steps > 0
                and self.replay.num_sampleable >= config.batch_size):
            metrics.update(self._train(config.gradient_steps))
        return metrics

    def _collect_step(self) -> None:
        config: DQNConfig = self.config
        num_envs = config.num_envs
        explore = self.rng.random(num_envs) < self.epsilon()
        if self.global_step < config.learning_starts:
            explore[:] = True  # SB3: uniform random actions before learning starts
        actions = self.rng.integers(0, self.action_space.n, num_envs)
        if not explore.all():
            obs = np.ascontiguousarray(self.obs, dtype=np.float32)
            if self.backend == "native":
                greedy = self.engine.greedy(obs)
            else:
                with torch.no_grad():
                    greedy = self.q_network(torch.from_numpy(obs)).argmax(-1).numpy()
            actions = np.where(explore, actions, greedy)
        next_obs, reward, terminated, truncated, info = self.envs.step(actions)
        self.replay.add(obs=self.obs, action=actions, reward=reward, terminated=terminated, truncated=truncated)
        self.obs = next_obs
        self.global_step += num_envs
        self.log.episodes(info)

    def _update_target(self) -> None:
        tau = self.config.tau
        if self.backend == "native":
            _core.nn.polyak_update(self.engine.params, self.engine.target_params, tau)
            return
        with torch.no_grad():
            if tau == 1.0:
                for target, online in zip(self.target_network.parameters(), self.q_network.parameters()):
                    target.copy_(online)
            else:
                for target, online in zip(self.target_network.parameters(), self.q_network.parameters()):
                    target.lerp_(online, tau)

    def td_targets(self, rewards: torch.Tensor, discounts: torch.Tensor, next_obs: torch.Tensor) -> torch.Tensor:
        """``R + discount * Q_target(s', a')``: R the n-step return, discount ``gamma^k`` (0 after a
        termination), a' the online network's greedy action (double Q) or the target's."""
        with torch.no_grad():
            target_q = self.target_network(next_obs)
            source = self.q_network(next_obs) if self.config.double_q else target_q
            next_actions = source.argmax(-1, keepdim=True)
            return rewards + discounts * target_q.gather(-1, next_actions).squeeze(-1)

    def _sample(self, as_torch: bool) -> Any:
        return sample_replay(self.replay, self.config, self.progress(), as_torch)

    def _train(self, gradient_steps: int) -> dict[str, float]:
        if self.backend == "native":
            return self._train_native(gradient_steps)
        config: DQNConfig = self.config
        total_loss = total_q = 0.0
        for _ in range(gradient_steps):
            batch = self._sample(as_torch=True)
            obs, actions = batch.obs.float(), batch.action.long()
            targets = self.td_targets(batch.reward.float(), batch.discount.float(), batch.next_obs.float())
            outputs = self.q_network.outputs(obs)
            chosen = outputs[torch.arange(actions.shape[0]), actions]  # [batch, head outputs]
            q_values = self.q_network.head.value(chosen)
            if config.loss == "huber":
                losses = nn.functional.smooth_l1_loss(q_values, targets, reduction="none")
            else:
                losses = self.q_network.head.loss(chosen, targets)
            if config.prioritized:
                loss = (torch.as_tensor(batch.weights, dtype=losses.dtype) * losses).mean()
            else:
                loss = losses.mean()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(self.q_network.parameters(), config.max_grad_norm)
            self.optimizer.step()
            if config.prioritized:
                self.replay.update_priorities(batch.indices, (q_values.detach() - targets).abs().numpy())
            total_loss += loss.item()
            total_q += q_values.detach().mean().item()
            self.gradient_updates += 1
        return {"loss": total_loss / gradient_steps, "q_mean": total_q / gradient_steps}

    def _train_native(self, gradient_steps: int) -> dict[str, float]:
        """``_train`` in the engine: every gradient step, sampling included, in one call (one call
        per step, sampled here, for a replay whose dtypes the engine does not convert)."""
        config: DQNConfig = self.config
        self.gradient_updates += gradient_steps
        beta = per_beta(config, self.progress()) if config.prioritized else 0.0
        layout = self.replay.native_layout()
        if layout is not None:
            loss, q_mean = self.engine.train_from_replay(layout, gradient_steps, config, beta)
            return {"loss": loss, "q_mean": q_mean}
        total_loss = total_q = 0.0
        for _ in range(gradient_steps):
            batch = self._sample(as_torch=False)
            loss, q_mean, td_errors = self.engine.update(batch, config)
            if config.prioritized:
                self.replay.update_priorities(batch.indices, td_errors)
            total_loss += loss
            total_q += q_mean
        return {"loss": total_loss / gradient_steps, "q_mean": total_q / gradient_steps}

    # ---- checkpoints ---------------------------------------------------------------------------

    def _state(self) -> dict[str, Any]:
        return {"q_network": module_state(self.q_network), "target_network": module_state(self.target_network),
                "optimizer": self.optimizer.state_dict(), "vector_steps": self.vector_steps,
                "gradient_updates": self.gradient_updates}

    def _write_extra(self, directory: Path) -> None:
        self.replay.save(directory / "replay")

    def _load_state(self, state: dict[str, Any], directory: Path) -> None:
        self.q_network.load_state_dict(state["q_network"])
        self.target_network.load_state_dict(state["target_network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.vector_steps, self.gradient_updates = int(state["vector_steps"]), int(state["gradient_updates"])
        self.replay = type(self.replay).load(directory / "replay")


class NativeQLearner:
    """The engine's DQN step for a :class:`QNetwork` and its target: each network's MLP moves into
    a flat buffer (the target's is what Polyak updates write), stepped by a :class:`FlatAdam`."""

    def __init__(self, q_network: QNetwork, target_network: QNetwork, config: DQNConfig) -> None:
        sizes, activation, _ = mlp_layout(q_network.body)
        self.flat = flatten_parameters(linear_parameters(q_network.body))
        self.target_flat = flatten_parameters(linear_parameters(target_network.body))
        self.params, self.target_params = self.flat.numpy(), self.target_flat.numpy()
        head = {}
        if config.loss == "hl_gauss":  # the engine's HL-Gauss head is turborl.nn.HLGauss's
            bin_width = (config.v_max - config.v_min) / config.value_bins
            head = dict(value_bins=config.value_bins, v_min=config.v_min, v_max=config.v_max,
                        sigma=config.hl_gauss_sigma * bin_width)
        self.core = _core.nn.DqnEngine32(sizes, activation, **head)
        self.optimizer = FlatAdam(self.flat, q_network.parameters(), config.learning_rate)
        self._td_errors = np.zeros(0, dtype=np.float32)

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        actions = np.empty(obs.shape[0], dtype=np.int64)
        self.core.greedy(self.params, obs, actions)
        return actions

    def train_from_replay(self, layout: dict[str, Any], steps: int, config: DQNConfig,
                          beta: float) -> tuple[float, float]:
        """``steps`` gradient steps sampling the replay inside the engine; (mean loss, mean Q)."""
        opt = self.optimizer
        with layout["lock"]:
            loss, q_mean, opt.step = self.core.train_from_replay(
                layout["core"], layout["obs_field"], layout["action_field"], layout["obs_type"], layout["action_type"],
                layout["reward_is_float64"], self.params, self.target_params, opt.grads, opt.exp_avg, opt.exp_avg_sq,
                opt.step, steps, config.batch_size, config.n_step, config.gamma, beta, config.prioritized, opt.lr,
                opt.eps, config.max_grad_norm, config.double_q, config.loss == "huber")
        return loss, q_mean

    def update(self, batch: Any, config: DQNConfig) -> tuple[float, float, np.ndarray]:
        """One gradient step on a replay sample; (loss, mean chosen Q, |TD errors|)."""
        def f32(array: Any) -> np.ndarray:
            return np.ascontiguousarray(array, dtype=np.float32)

        size = len(batch.indices)
        if self._td_errors.shape[0] != size:
            self._td_errors = np.zeros(size, dtype=np.float32)
        opt = self.optimizer
        opt.step += 1
        weights = f32(batch.weights) if config.prioritized else None
        obs, next_obs = f32(batch.obs).reshape(size, -1), f32(batch.next_obs).reshape(size, -1)
        loss, q_mean = self.core.update(
            self.params, self.target_params, opt.grads, opt.exp_avg, opt.exp_avg_sq, opt.step, obs,
            np.ascontiguousarray(batch.action, dtype=np.int64), f32(batch.reward), f32(batch.discount), next_obs,
            weights, self._td_errors, opt.lr, opt.eps, config.max_grad_norm, config.double_q, config.loss == "huber")
        return loss, q_mean, self._td_errors.copy()
