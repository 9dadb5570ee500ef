"""Bellman targets against NumPy; linear fitted-Q and LSTD-Q against tabular value iteration."""

import numpy as np
import pytest

from turborl.planning import TabularMDP, policy_evaluation, value_iteration
from turborl.planning.fitted_q import (bellman_targets, linear_fitted_q_iteration, lstd_q,
                                       neural_fitted_q_iteration)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bellman_targets_match_numpy(dtype):
    rng = np.random.default_rng(0)
    n, num_actions = 1000, 5
    rewards = rng.normal(size=n).astype(dtype)
    terminated = rng.random(n) < 0.2
    next_q = rng.normal(size=(n, num_actions)).astype(dtype)
    select = rng.normal(size=(n, num_actions)).astype(dtype)
    discounts = (0.99 ** rng.integers(1, 4, size=n)).astype(dtype)
    plain = bellman_targets(rewards, terminated, next_q, gamma=0.9)
    assert plain.dtype == dtype
    np.testing.assert_allclose(plain, rewards + 0.9 * ~terminated * next_q.max(axis=1), rtol=1e-6, atol=1e-6)
    double = bellman_targets(rewards, terminated, next_q, next_q_select=select, discounts=discounts)
    chosen = next_q[np.arange(n), select.argmax(axis=1)]
    np.testing.assert_allclose(double, rewards + discounts * ~terminated * chosen, rtol=1e-6, atol=1e-6)
    threaded = bellman_targets(rewards, terminated, next_q, next_q_select=select, discounts=discounts, num_threads=3)
    np.testing.assert_array_equal(threaded, double)


def test_bellman_targets_break_ties_to_the_first_action_and_take_torch_tensors():
    torch = pytest.importorskip("torch")
    next_q = torch.tensor([[1.0, 5.0, 5.0]])
    value = torch.tensor([[10.0, 20.0, 30.0]])
    out = bellman_targets(torch.tensor([0.0]), torch.tensor([False]), value, next_q_select=next_q, gamma=1.0)
    assert out.tolist() == [20.0]


def one_hot_dataset(mdp):
    """Every (s, a) once: features [S*A, S*A] one-hot, next features [S*A, A, S*A]."""
    num_states, num_actions = mdp.num_states, mdp.num_actions
    pairs = num_states * num_actions
    features = np.eye(pairs)
    next_states = mdp.next_states.reshape(-1)
    terminated = next_states < 0
    next_features = np.zeros((pairs, num_actions, pairs))
    for row, nxt in enumerate(next_states):
        if nxt >= 0:
            next_features[row, np.arange(num_actions), nxt * num_actions + np.arange(num_actions)] = 1.0
    return features, next_features, mdp.rewards.reshape(-1), terminated


def test_linear_fitted_q_with_one_hot_features_is_value_iteration():
    rng = np.random.default_rng(1)
    mdp = TabularMDP(rng.integers(-1, 12, size=(12, 3)), rng.normal(size=(12, 3)), gamma=0.9)
    features, next_features, rewards, terminated = one_hot_dataset(mdp)
    result = linear_fitted_q_iteration(features, next_features, rewards, terminated, gamma=0.9, iterations=500,
                                       tol=1e-11, ridge=0.0)
    np.testing.assert_allclose(result.weights.reshape(12, 3), value_iteration(mdp, tol=1e-12).q, atol=1e-8)
    assert result.change <= 1e-11 and result.iterations < 500


def test_lstd_q_with_one_hot_features_is_policy_evaluation():
    rng = np.random.default_rng(2)
    mdp = TabularMDP(rng.integers(-1, 10, size=(10, 2)), rng.normal(size=(10, 2)), gamma=0.8)
    features, next_features, rewards, terminated = one_hot_dataset(mdp)
    uniform = np.full((20, 2), 0.5)
    weights = lstd_q(features, next_features, rewards, terminated, uniform, gamma=0.8, ridge=0.0)
    np.testing.assert_allclose(weights.reshape(10, 2), policy_evaluation(mdp, "uniform", tol=1e-13).q, atol=1e-9)


def test_neural_fitted_q_learns_a_two_state_chain():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    # State 0: action 1 pays 1 and moves to state 1; state 1 ends with reward 2 for action 0.
    obs = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], np.float32)
    actions = np.array([0, 1, 0, 1])
    rewards = np.array([0.0, 1.0, 2.0, 0.0], np.float32)
    next_obs = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]], np.float32)
    terminated = np.array([False, False, True, True])
    network = torch.nn.Linear(2, 2, bias=False)
    losses = neural_fitted_q_iteration(network, obs, actions, rewards, next_obs, terminated, gamma=0.5,
                                       iterations=30, epochs=200, batch_size=4, learning_rate=0.05)
    q = network(torch.eye(2)).detach().numpy()
    np.testing.assert_allclose(q, [[1.0, 2.0], [2.0, 0.0]], atol=2e-2)
    assert losses[-1] < 1e-3
