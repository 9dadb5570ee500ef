"""GAE against a NumPy reference written from the definition, on hand-built trajectories."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from turborl.algos.returns import gae  # noqa: E402


def reference_gae(rewards, values, dones, last_values, gamma, lam):
    """Per env, walk backwards; an episode end at t stops both bootstrapping and the trace."""
    steps, envs = rewards.shape
    advantages = np.zeros((steps, envs))
    for env in range(envs):
        trace = 0.0
        for t in reversed(range(steps)):
            following = last_values[env] if t == steps - 1 else values[t + 1, env]
            if dones[t, env]:
                delta, trace = rewards[t, env] - values[t, env], 0.0
            else:
                delta = rewards[t, env] + gamma * following - values[t, env]
            trace = delta + gamma * lam * trace
            advantages[t, env] = trace
    return advantages


def test_gae_matches_the_reference_with_episode_ends():
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=(9, 3)), rng.normal(size=(9, 3))
    dones = np.zeros((9, 3), bool)
    dones[2, 0] = dones[8, 0] = True  # terminated mid-rollout and at the last step
    dones[4, 1] = True  # a truncation: its bootstrap is already in the reward (added by the caller)
    last_values = rng.normal(size=3)
    advantages, returns = gae(torch.tensor(rewards), torch.tensor(values), torch.tensor(dones),
                              torch.tensor(last_values), 0.97, 0.9)
    expected = reference_gae(rewards, values, dones, last_values, 0.97, 0.9)
    assert np.allclose(advantages.numpy(), expected, atol=1e-12)
    assert np.allclose(returns.numpy(), expected + values, atol=1e-12)


def test_gae_with_lambda_one_is_the_discounted_return_minus_value():
    rewards = np.array([[1.0], [2.0], [3.0]])
    values = np.array([[0.5], [0.25], [0.125]])
    _, returns = gae(torch.tensor(rewards), torch.tensor(values), torch.zeros(3, 1, dtype=torch.bool),
                     torch.tensor([10.0], dtype=torch.float64), 0.5, 1.0)
    assert np.allclose(returns.numpy().ravel(), [1 + 0.5 * 2 + 0.25 * 3 + 0.125 * 10, 2 + 0.5 * 3 + 0.25 * 10,
                                                 3 + 0.5 * 10])
