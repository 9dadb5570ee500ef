"""Value iteration and policy evaluation against a dense NumPy reference on random MDPs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turborl.planning import (TabularMDP, policy_evaluation, reachable_states, value_iteration,
                              worst_policy_values)


def random_stochastic(seed, num_states, num_actions, density=0.3):
    rng = np.random.default_rng(seed)
    probs = rng.random((num_states, num_actions, num_states)) * (rng.random((num_states, num_actions, num_states)) < density)
    probs[..., rng.integers(num_states)] += 0.01  # every row has mass
    probs /= probs.sum(axis=-1, keepdims=True)
    return probs, rng.normal(size=(num_states, num_actions))


def random_csr(seed, num_states, num_actions, per_row=3):
    """CSR transitions with ``per_row`` next states per row, without a dense array."""
    rng = np.random.default_rng(seed)
    rows = num_states * num_actions
    indices = rng.integers(0, num_states, size=rows * per_row)
    data = rng.random(rows * per_row) + 0.1
    data /= np.add.reduceat(data, np.arange(0, rows * per_row, per_row)).repeat(per_row)
    indptr = np.arange(0, rows * per_row + 1, per_row)
    return (indptr, indices, data), rng.normal(size=(num_states, num_actions))


def random_deterministic(seed, num_states, num_actions):
    rng = np.random.default_rng(seed)
    return rng.integers(-1, num_states, size=(num_states, num_actions)), rng.normal(size=(num_states, num_actions))


def dense_of(next_states):
    """[S, A, S] probabilities of a deterministic table (-1: no next state)."""
    num_states, num_actions = next_states.shape
    probs = np.zeros((num_states, num_actions, num_states))
    s, a = np.nonzero(next_states >= 0)
    probs[s, a, next_states[s, a]] = 1.0
    return probs


def reduce_q(q, kind, policy=None):
    if kind == "max":
        return q.max(axis=-1)
    if kind == "min":
        return q.min(axis=-1)
    if kind == "mean":
        return q.mean(axis=-1)
    return (policy * q).sum(axis=-1)


def reference_discounted(probs, rewards, gamma, kind, policy=None, sweeps=3000):
    v = np.zeros(len(rewards))
    for _ in range(sweeps):
        v = reduce_q(rewards + gamma * probs @ v, kind, policy)
    return rewards + gamma * probs @ v, v


def reference_finite(probs, rewards, gamma, horizon, kind, policy=None):
    v = np.zeros(len(rewards))
    qs, vs = [], []
    for t in range(horizon - 1, -1, -1):
        q = rewards + gamma * probs @ v
        v = reduce_q(q, kind, policy if policy is None or policy.ndim == 2 else policy[t])
        qs.append(q)
        vs.append(v)
    return np.array(qs[::-1]), np.array(vs[::-1])


@pytest.mark.parametrize("kind", ["deterministic", "stochastic"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_discounted_value_iteration_matches_numpy(kind, seed):
    if kind == "stochastic":
        probs, rewards = random_stochastic(seed, 40, 4)
        mdp = TabularMDP(probs, rewards, gamma=0.9)
    else:
        next_states, rewards = random_deterministic(seed, 40, 4)
        probs = dense_of(next_states)
        mdp = TabularMDP(next_states, rewards, gamma=0.9)
    result = value_iteration(mdp, tol=1e-12)
    q, v = reference_discounted(probs, rewards, 0.9, "max")
    np.testing.assert_allclose(result.v, v, atol=1e-9)
    np.testing.assert_allclose(result.q, q, atol=1e-9)
    assert result.residual <= 1e-12 and result.sweeps > 10
    np.testing.assert_array_equal(result.greedy_actions(), np.argmax(result.q, axis=1))


def test_discounted_sweeps_and_residual_are_reported_when_max_sweeps_stops_early():
    probs, rewards = random_stochastic(3, 30, 3)
    mdp = TabularMDP(probs, rewards, gamma=0.99)
    result = value_iteration(mdp, max_sweeps=5)
    assert result.sweeps == 5
    v = np.zeros(30)
    for _ in range(4):
        v = (rewards + 0.99 * probs @ v).max(axis=1)
    v5 = (rewards + 0.99 * probs @ v).max(axis=1)
    assert result.residual == pytest.approx(np.abs(v5 - v).max(), rel=1e-12)
    np.testing.assert_allclose(result.v, v5, atol=1e-12)


@pytest.mark.parametrize("kind", ["deterministic", "stochastic"])
@pytest.mark.parametrize("gamma", [1.0, 0.95])
def test_finite_horizon_matches_backward_induction(kind, gamma):
    horizon = 7
    if kind == "stochastic":
        probs, rewards = random_stochastic(5, 25, 3)
        mdp = TabularMDP(probs, rewards, horizon=horizon, gamma=gamma)
    else:
        next_states, rewards = random_deterministic(5, 25, 3)
        probs = dense_of(next_states)
        mdp = TabularMDP(next_states, rewards, horizon=horizon, gamma=gamma)
    q_ref, v_ref = reference_finite(probs, rewards, gamma, horizon, "max")
    full = value_iteration(mdp, reachable_only=False)
    np.testing.assert_allclose(full.q, q_ref, atol=1e-12)
    np.testing.assert_allclose(full.v, v_ref, atol=1e-12)
    assert full.sweeps == horizon and full.residual == 0.0
    # Restricted to reachable states: equal there, NaN elsewhere.
    restricted = value_iteration(mdp)
    reach = restricted.reachable
    np.testing.assert_allclose(restricted.q[reach], q_ref[reach], atol=1e-12)
    assert np.isnan(restricted.q[~reach]).all()


def test_reachable_states_forward_pass():
    # 0 -> {1, 2}; 1 -> 3; 2 -> ends; 3 -> 3.
    next_states = np.array([[1, 2], [3, 3], [-1, -1], [3, 3]])
    mdp = TabularMDP(next_states, np.zeros((4, 2)), horizon=4)
    expected = np.array([[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1]], dtype=bool)
    np.testing.assert_array_equal(reachable_states(mdp), expected)


@pytest.mark.parametrize("horizon", [None, 6])
def test_uniform_worst_and_given_policies_match_numpy(horizon):
    probs, rewards = random_stochastic(7, 20, 3)
    mdp = TabularMDP(probs, rewards, horizon=horizon, gamma=0.9)
    policy = np.random.default_rng(0).dirichlet(np.ones(3), size=20)
    for name, result, kind, pi in [
        ("uniform", policy_evaluation(mdp, "uniform", tol=1e-12, reachable_only=False), "mean", None),
        ("worst", worst_policy_values(mdp, tol=1e-12, reachable_only=False), "min", None),
        ("given", policy_evaluation(mdp, policy, tol=1e-12, reachable_only=False), "policy", policy),
    ]:
        if horizon is None:
            q, v = reference_discounted(probs, rewards, 0.9, kind, pi)
            atol = 1e-9
        else:
            q, v = reference_finite(probs, rewards, 0.9, horizon, kind, pi)
            atol = 1e-12
        np.testing.assert_allclose(result.v, v, atol=atol, err_msg=name)
        np.testing.assert_allclose(result.q, q, atol=atol, err_msg=name)


def test_time_dependent_policy():
    probs, rewards = random_stochastic(8, 15, 2)
    mdp = TabularMDP(probs, rewards, horizon=4)
    policy = np.random.default_rng(1).dirichlet(np.ones(2), size=(4, 15))
    q, v = reference_finite(probs, rewards, 1.0, 4, "policy", policy)
    result = policy_evaluation(mdp, policy, reachable_only=False)
    np.testing.assert_allclose(result.q, q, atol=1e-12)


def test_terminal_states_are_worth_zero():
    probs, rewards = random_stochastic(9, 10, 2)
    terminal = np.zeros(10, bool)
    terminal[[2, 5]] = True
    mdp = TabularMDP(probs, rewards, gamma=0.8, terminal=terminal)
    masked = probs.copy()
    masked[:, :, terminal] = 0.0  # entering a terminal state ends the value
    result = value_iteration(mdp, tol=1e-13)
    q, _ = reference_discounted(masked, rewards, 0.8, "max")
    q[terminal] = 0.0
    np.testing.assert_allclose(result.q, q, atol=1e-9)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), threads=st.integers(2, 4), horizon=st.sampled_from([None, 5]))
def test_results_are_identical_for_any_thread_count(seed, threads, horizon):
    transitions, rewards = random_csr(seed, 9000, 2)  # above one chunk of states (4096)
    mdp = TabularMDP(transitions, rewards, horizon=horizon, gamma=0.9)
    one = value_iteration(mdp, num_threads=1, max_sweeps=30)
    many = value_iteration(mdp, num_threads=threads, max_sweeps=30)
    np.testing.assert_array_equal(one.q, many.q)
    assert one.sweeps == many.sweeps and one.residual == many.residual


def test_csr_and_scipy_inputs_equal_dense():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    probs, rewards = random_stochastic(11, 12, 3)
    flat = probs.reshape(36, 12)
    matrix = scipy_sparse.csr_matrix(flat)
    dense = value_iteration(TabularMDP(probs, rewards, gamma=0.9), tol=1e-12)
    from_scipy = value_iteration(TabularMDP(matrix, rewards, gamma=0.9), tol=1e-12)
    from_tuple = value_iteration(TabularMDP((matrix.indptr, matrix.indices, matrix.data), rewards, gamma=0.9),
                                 tol=1e-12)
    np.testing.assert_array_equal(dense.q, from_scipy.q)
    np.testing.assert_array_equal(dense.q, from_tuple.q)
