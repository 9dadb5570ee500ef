"""Advantage estimation."""

from __future__ import annotations

import torch

__all__ = ["gae"]


def gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, last_values: torch.Tensor, gamma: float,
        gae_lambda: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation (Schulman et al., 2016) over a rollout ``[T, N]``.

    ``dones[t]``: the episode ended at step t (terminated or truncated); the value after it is
    then not bootstrapped -- a truncated episode's bootstrap ``gamma * V(final_obs)`` is already
    in ``rewards[t]`` (the true final observation, from ``info["final_obs"]``). ``last_values``:
    V of the observation after the rollout. Returns ``(advantages, returns)``,
    ``returns = advantages + values``.
    """
    steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    not_done = 1.0 - dones.to(rewards.dtype)
    running = torch.zeros_like(last_values)
    next_values = last_values
    for t in reversed(range(steps)):
        delta = rewards[t] + gamma * next_values * not_done[t] - values[t]
        running = delta + gamma * gae_lambda * not_done[t] * running
        advantages[t] = running
        next_values = values[t]
    return advantages, advantages + values
