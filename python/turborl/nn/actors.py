"""Actors and twin critics for continuous actions (TD3, SAC).

Both actors act in the env's bounds: the MLP's output is squashed to [-1, 1] by tanh and scaled to
``[low, high]`` (buffers ``action_scale`` and ``action_bias``, CleanRL's names), so a saved actor is
the whole policy. The algorithms train on the [-1, 1] actions (``unit_action``), as SB3 and CleanRL.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from torch import nn

from turborl.nn.networks import MLP

__all__ = ["GaussianActor", "TanhActor", "TwinQ", "squashed_gaussian_log_prob"]

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # SB3's SAC clamps log std to this range
SQUASH_EPS = 1e-6  # SB3's epsilon in log(1 - tanh(x)^2 + eps)


class _BoundedActor(nn.Module):
    def __init__(self, body: MLP, low: np.ndarray, high: np.ndarray) -> None:
        super().__init__()
        self.body = body
        low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
        if not (np.isfinite(low).all() and np.isfinite(high).all()) or (high <= low).any():
            raise ValueError(f"continuous actions need finite bounds with low < high, got low={low}, high={high}")
        self.register_buffer("action_scale", torch.as_tensor((high - low) / 2.0, dtype=torch.float32))
        self.register_buffer("action_bias", torch.as_tensor((high + low) / 2.0, dtype=torch.float32))

    def to_env(self, unit_action: torch.Tensor) -> torch.Tensor:
        """[-1, 1] -> [low, high]."""
        return unit_action * self.action_scale + self.action_bias


class TanhActor(_BoundedActor):
    """TD3's deterministic actor: ``tanh(MLP(obs))`` scaled to the bounds (SB3's default init)."""

    def __init__(self, obs_dim: int, low: np.ndarray, high: np.ndarray, hidden_sizes: Sequence[int] = (256, 256),
                 activation: str = "relu") -> None:
        super().__init__(MLP(obs_dim, len(np.atleast_1d(low)), hidden_sizes, activation, orthogonal=False), low, high)

    def unit_action(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.body(obs))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.to_env(self.unit_action(obs))


class GaussianActor(_BoundedActor):
    """SAC's tanh-squashed Gaussian actor (Haarnoja et al., 2018) as SB3's: one MLP outputs
    ``[mean, log_std]`` (SB3's two linear heads on one trunk, stacked), log std clamped to
    [-20, 2]; ``a = tanh(mean + std * eps)``."""

    def __init__(self, obs_dim: int, low: np.ndarray, high: np.ndarray, hidden_sizes: Sequence[int] = (256, 256),
                 activation: str = "relu") -> None:
        action_dim = len(np.atleast_1d(low))
        super().__init__(MLP(obs_dim, 2 * action_dim, hidden_sizes, activation, orthogonal=False), low, high)
        self.action_dim = action_dim

    def mean_log_std(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.body(obs)
        return out[:, :self.action_dim], out[:, self.action_dim:].clamp(LOG_STD_MIN, LOG_STD_MAX)

    def sample(self, obs: torch.Tensor, eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(actions in [-1, 1], their log-probabilities) for standard normal noise ``eps``."""
        mean, log_std = self.mean_log_std(obs)
        return squashed_gaussian_log_prob(mean, log_std, eps)

    def forward(self, obs: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        """Actions in the bounds: ``tanh(mean)`` (deterministic) or a sample with noise ``eps``."""
        mean, log_std = self.mean_log_std(obs)
        unit = torch.tanh(mean) if eps is None else torch.tanh(mean + log_std.exp() * eps)
        return self.to_env(unit)


def squashed_gaussian_log_prob(mean: torch.Tensor, log_std: torch.Tensor,
                               eps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``a = tanh(mean + std * eps)`` and ``log pi(a) = sum(log N(x; mean, std) - log(1 - a^2 + 1e-6))``."""
    x = mean + log_std.exp() * eps
    action = torch.tanh(x)
    gaussian = (-0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    return action, gaussian - torch.log(1 - action.pow(2) + SQUASH_EPS).sum(-1)


class TwinQ(nn.Module):
    """Two critics ``Q_k(obs, action)``, each an MLP of ``obs + action`` inputs (SB3's default init)."""

    def __init__(self, obs_dim: int, action_dim: int, hidden_sizes: Sequence[int] = (256, 256),
                 activation: str = "relu") -> None:
        super().__init__()
        self.q1 = MLP(obs_dim + action_dim, 1, hidden_sizes, activation, orthogonal=False)
        self.q2 = MLP(obs_dim + action_dim, 1, hidden_sizes, activation, orthogonal=False)

    def forward(self, obs: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q1, Q2), each [batch]."""
        inputs = torch.cat([obs, action], -1)
        return self.q1(inputs).squeeze(-1), self.q2(inputs).squeeze(-1)
