"""Random off-policy batches for the engine's update tests (TD3, SAC)."""

import torch


def random_transitions(generator, batch, obs_dim, action_dim, dtype):
    """(obs, actions in [-1, 1], rewards, discounts of 0.99 or 0 (about 10% terminations), next_obs)."""
    return (torch.randn(batch, obs_dim, generator=generator, dtype=dtype),
            torch.rand(batch, action_dim, generator=generator, dtype=dtype) * 2 - 1,
            torch.randn(batch, generator=generator, dtype=dtype),
            0.99 * (torch.rand(batch, generator=generator, dtype=dtype) > 0.1).to(dtype),
            torch.randn(batch, obs_dim, generator=generator, dtype=dtype))
