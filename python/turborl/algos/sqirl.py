"""SQIRL: shallow Q-iteration via reinforcement learning (Laidlaw, Zhu, Russell, Dragan, "The
Effective Horizon Explains Deep RL Performance in Stochastic Environments", ICLR 2024).

SQIRL is GORP with regression in place of exhaustive action sequences. At iteration ``i`` it runs
``m = episodes_per_timestep`` episodes that act greedily with the networks frozen at timesteps
``0..i-1`` and uniformly at random from ``i`` on; their transitions from step ``i`` on join a
replay. One network with ``k = planning_depth`` heads of ``A`` Q-values is trained on it: head 1
regresses the Monte-Carlo return-to-go (the random policy's Q), head ``j`` regresses ``r + gamma
max_a head_{j-1}(s', a)`` (0 after the episode's last step), so head ``k`` approximates ``k - 1``
steps of Q-iteration on top of the random policy's Q. Then a copy of the network is frozen as the
policy of step ``i`` (greedy on head ``k``), and the same network trains on at ``i + 1``.

Options and defaults follow the authors' SB3 implementation and train.py
(``effective_horizon/sb3/algorithms/sqirl.py``): Adam 1e-4, batch 128, 10 epochs over each
iteration's new steps, gradient-norm clip 10, each head's squared error divided by an
exponential moving average of itself (``scale_losses``, smoothing 0.99), older samples' sampling
weight multiplied by ``replay_priority_factor`` at each timestep (1: uniform over all).

    from turborl.algos.sqirl import SQIRL, SQIRLConfig
    result = SQIRL(SQIRLConfig(env_id="CombinationLock-v0", episodes_per_timestep=2048)).learn()
    result.act(t, obs)      # the learned non-stationary policy
"""

from __future__ import annotations

import copy
import dataclasses
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from turborl.algos.lockstep import LockstepEpisodes, collect_lockstep, horizon_of, uniform_actions
from turborl.nn import MLP

__all__ = ["SQIRL", "SQIRLConfig", "SQIRLResult"]


@dataclasses.dataclass(frozen=True)
class SQIRLConfig:
    """SQIRL's options (the authors' names and defaults).

    Attributes:
        env_id: a turborl env or registered Gymnasium id: discrete actions, a time limit, flat
            observations.
        planning_depth: ``k``, the number of Q heads (1: greedy on the random policy's Q).
        episodes_per_timestep: ``m``, episodes collected per timestep (run as one batch).
        learning_rate, batch_size, n_epochs, max_grad_norm: Adam's step, minibatch, passes over each
            iteration's new steps (``ceil(steps * n_epochs / batch_size)`` gradient steps).
        intra_step_lr_decay: the learning rate falls geometrically to this fraction of
            ``learning_rate`` over each timestep's gradient steps (and starts again at the next):
            late in a timestep small steps let the heads settle on small returns.
        gamma: discount.
        scale_losses, loss_scale_smoothing: divide each head's loss by its moving average.
        replay_priority_factor: sampling weight of a stored step is this to the power of its age
            in timesteps.
        hidden_sizes: the MLP's hidden layers (ReLU, as SB3's Q-networks).
        total_timesteps: env-step budget; learning stops at the horizon or when it is spent.
        seed: seeds the envs, the random actions, the network and the minibatches.
    """

    env_id: str = "CombinationLock-v0"
    planning_depth: int = 1
    episodes_per_timestep: int = 1
    learning_rate: float = 1e-4
    intra_step_lr_decay: float = 1.0
    batch_size: int = 128
    n_epochs: int = 10
    max_grad_norm: float = 10.0
    gamma: float = 0.99
    scale_losses: bool = True
    loss_scale_smoothing: float = 0.99
    replay_priority_factor: float = 1.0
    hidden_sizes: tuple[int, ...] = (64, 64)
    total_timesteps: int = 10_000_000
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("planning_depth", "episodes_per_timestep", "batch_size", "n_epochs", "total_timesteps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0.0 < self.intra_step_lr_decay <= 1.0:
            raise ValueError(f"intra_step_lr_decay must be in (0, 1], got {self.intra_step_lr_decay}")
        for name in ("gamma", "loss_scale_smoothing", "replay_priority_factor"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise ValueError(f"hidden_sizes must be positive layer widths, got {self.hidden_sizes}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")


@dataclasses.dataclass(frozen=True)
class SQIRLResult:
    """The learned non-stationary policy.

    Attributes:
        networks: one frozen Q-network per timestep learned, each mapping obs [N, D] to
            [N, planning_depth, A].
        timesteps: env steps used.
        losses: [len(networks), planning_depth] mean unscaled loss of each head per iteration.
    """

    networks: tuple[nn.Module, ...]
    timesteps: int
    losses: np.ndarray
    num_actions: int

    def act(self, t: int, obs: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """[N] actions at timestep ``t``: greedy on the last head of step ``t``'s network, uniformly
        random (from ``rng``) after the learned steps."""
        obs = np.asarray(obs)
        if t >= len(self.networks):
            rng = np.random.default_rng() if rng is None else rng
            return uniform_actions(rng, self.num_actions, len(obs))
        return greedy(self.networks[t], obs)


def greedy(network: nn.Module, obs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        q = network(torch.as_tensor(obs, dtype=torch.float32).reshape(len(obs), -1))
    return q[:, -1, :].argmax(dim=1).numpy().astype(np.int64)


class _QHeads(nn.Module):
    """An MLP whose outputs are ``planning_depth`` heads of A Q-values: [N, k, A]."""

    def __init__(self, obs_dim: int, num_actions: int, planning_depth: int, hidden_sizes: tuple[int, ...]) -> None:
        super().__init__()
        self.planning_depth, self.num_actions = planning_depth, num_actions
        self.mlp = MLP(obs_dim, planning_depth * num_actions, hidden_sizes, activation="relu", orthogonal=False)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.mlp(obs).reshape(-1, self.planning_depth, self.num_actions)


class _Replay:
    """The steps SQIRL trains on, with the timestep at which each was stored (for its weight)."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, episodes: LockstepEpisodes, first_step: int, gamma: float, iteration: int) -> None:
        steps = np.arange(episodes.active.shape[0])[:, None]
        keep = episodes.active & (steps >= first_step)  # only steps after which actions were random
        t, n = np.nonzero(keep)
        last = t == episodes.lengths[n] - 1
        self.parts.append({
            "obs": episodes.obs[t, n].reshape(len(t), -1).astype(np.float32),
            "next_obs": episodes.obs[t + 1, n].reshape(len(t), -1).astype(np.float32),
            "action": episodes.actions[t, n],
            "reward": episodes.rewards[t, n].astype(np.float32),
            "done": last.astype(np.float32),
            "value_target": episodes.returns_to_go(gamma)[t, n].astype(np.float32),
            "iteration": np.full(len(t), iteration, np.int64),
        })

    def tensors(self, iteration: int, priority_factor: float) -> tuple[dict[str, torch.Tensor], np.ndarray]:
        data = {key: np.concatenate([part[key] for part in self.parts]) for key in self.parts[0]}
        weights = priority_factor ** (iteration - data.pop("iteration")).astype(np.float64)
        return {key: torch.from_numpy(value) for key, value in data.items()}, weights / weights.sum()


class SQIRL:
    """``SQIRL(config).learn()``; ``envs`` (a Gymnasium VectorEnv of ``episodes_per_timestep``
    copies) replaces the envs made from ``config.env_id``."""

    def __init__(self, config: SQIRLConfig, envs: Any = None) -> None:
        self.config = config
        if envs is None:
            from turborl.algos.environments import make_envs

            envs = make_envs(config.env_id, config.episodes_per_timestep, config.seed)
        elif envs.num_envs != config.episodes_per_timestep:
            raise ValueError(f"envs must hold episodes_per_timestep = {config.episodes_per_timestep} envs, "
                             f"got num_envs={envs.num_envs}")
        num_actions = getattr(envs.single_action_space, "n", None)
        if num_actions is None:
            raise ValueError(f"SQIRL needs discrete actions, {config.env_id!r} has {envs.single_action_space}")
        self.envs, self.num_actions = envs, int(num_actions)
        self.horizon = horizon_of(envs)
        self.rng = np.random.default_rng(config.seed)
        torch.manual_seed(config.seed)  # the network's initialisation
        obs_dim = int(np.prod(envs.single_observation_space.shape))
        self.network = _QHeads(obs_dim, self.num_actions, config.planning_depth, config.hidden_sizes)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=config.learning_rate)
        self.loss_scale = np.full(config.planning_depth, np.nan)

    def learn(self) -> SQIRLResult:
        config = self.config
        frozen: list[nn.Module] = []
        losses = []
        replay = _Replay()
        timesteps, reset_seed = 0, config.seed
        while len(frozen) < self.horizon and timesteps < config.total_timesteps:
            current = len(frozen)

            def choose(t: int, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
                if t < current:
                    return greedy(frozen[t], obs)
                return uniform_actions(self.rng, self.num_actions, len(active))

            episodes = collect_lockstep(self.envs, reset_seed, choose, self.horizon)
            reset_seed += self.envs.num_envs
            timesteps += episodes.steps
            if episodes.active.shape[0] <= current:
                break  # every episode ended inside the learned prefix
            replay.add(episodes, current, config.gamma, current)
            gradient_steps = math.ceil(episodes.steps * config.n_epochs / config.batch_size)
            losses.append(self._train(replay, current, gradient_steps))
            snapshot = copy.deepcopy(self.network).eval()
            for parameter in snapshot.parameters():
                parameter.requires_grad_(False)
            frozen.append(snapshot)
        self.envs.close()
        return SQIRLResult(tuple(frozen), timesteps, np.array(losses).reshape(len(losses), -1), self.num_actions)

    def _train(self, replay: _Replay, iteration: int, gradient_steps: int) -> np.ndarray:
        config = self.config
        data, weights = replay.tensors(iteration, config.replay_priority_factor)
        head_losses = np.zeros(config.planning_depth)
        for step in range(gradient_steps):
            for group in self.optimizer.param_groups:
                group["lr"] = config.learning_rate * config.intra_step_lr_decay ** (step / gradient_steps)
            index = torch.from_numpy(self.rng.choice(len(weights), size=config.batch_size, p=weights))
            batch = {key: value[index] for key, value in data.items()}
            targets = [batch["value_target"]]
            if config.planning_depth > 1:
                with torch.no_grad():
                    next_max = self.network(batch["next_obs"]).max(dim=2).values  # [B, k]
                bootstrap = config.gamma * (1.0 - batch["done"])[:, None] * next_max[:, :-1]
                targets.append(batch["reward"][:, None] + bootstrap)
            target = torch.cat([targets[0][:, None], *targets[1:]], dim=1)  # [B, k]
            q = self.network(batch["obs"])[torch.arange(config.batch_size), :, batch["action"]]  # [B, k]
            per_head = ((q - target) ** 2).mean(dim=0)
            observed = per_head.detach().numpy().astype(np.float64)
            head_losses += observed / gradient_steps
            if config.scale_losses:
                # Each head's loss over its moving average, so heads of different scales (and
                # tiny early returns) all train: the authors' scale_losses.
                first = np.isnan(self.loss_scale)
                self.loss_scale = np.where(first, observed, config.loss_scale_smoothing * self.loss_scale
                                           + (1 - config.loss_scale_smoothing) * observed)
                loss = (per_head / torch.as_tensor(np.maximum(self.loss_scale, 1e-12), dtype=torch.float32)).mean()
            else:
                loss = per_head.mean()
            self.optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(self.network.parameters(), config.max_grad_norm)
            self.optimizer.step()
        return head_losses
