"""The GPU value-iteration sweeps against the CPU kernels (skipped without a GPU)."""

import numpy as np
import pytest

import turborl
from turborl.planning import TabularMDP, policy_evaluation, value_iteration, worst_policy_values

pytestmark = pytest.mark.skipif(not turborl.cuda_available(), reason="needs a CUDA GPU")


def random_mdps(seed):
    rng = np.random.default_rng(seed)
    num_states, num_actions = 5000, 6
    deterministic = rng.integers(-1, num_states, size=(num_states, num_actions))
    per_row = 4
    rows = num_states * num_actions
    data = rng.random(rows * per_row) + 0.05
    data /= np.add.reduceat(data, np.arange(0, rows * per_row, per_row)).repeat(per_row)
    sparse = (np.arange(0, rows * per_row + 1, per_row), rng.integers(0, num_states, rows * per_row), data)
    rewards = rng.normal(size=(num_states, num_actions))
    return [deterministic, sparse], rewards


@pytest.mark.parametrize("layout", [0, 1])
def test_gpu_discounted_value_iteration_equals_cpu(layout):
    transitions, rewards = random_mdps(0)
    mdp = TabularMDP(transitions[layout], rewards, gamma=0.95)
    cpu = value_iteration(mdp, tol=1e-10)
    gpu = value_iteration(mdp, tol=1e-10, device="cuda")
    assert gpu.sweeps == cpu.sweeps
    np.testing.assert_allclose(gpu.v, cpu.v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(gpu.q, cpu.q, rtol=0, atol=1e-12)
    assert gpu.residual == pytest.approx(cpu.residual, rel=1e-9)


@pytest.mark.parametrize("layout", [0, 1])
def test_gpu_finite_horizon_and_policies_equal_cpu(layout):
    transitions, rewards = random_mdps(1)
    mdp = TabularMDP(transitions[layout], rewards, horizon=8)
    for solve in (value_iteration, worst_policy_values, lambda m, **k: policy_evaluation(m, "uniform", **k)):
        cpu = solve(mdp)
        gpu = solve(mdp, device="cuda")
        np.testing.assert_array_equal(np.isnan(gpu.q), np.isnan(cpu.q))
        np.testing.assert_allclose(gpu.q, cpu.q, rtol=0, atol=1e-12)


def test_gpu_handles_wide_rows_and_terminal_states():
    rng = np.random.default_rng(2)
    transitions = rng.integers(-1, 300, size=(300, 40))
    terminal = rng.random(300) < 0.1
    mdp = TabularMDP(transitions, rng.normal(size=(300, 40)), gamma=0.9, terminal=terminal)
    policy = rng.dirichlet(np.ones(40), size=300)
    for cpu, gpu in [(value_iteration(mdp), value_iteration(mdp, device="cuda")),
                     (policy_evaluation(mdp, policy), policy_evaluation(mdp, policy, device="cuda"))]:
        np.testing.assert_allclose(gpu.q, cpu.q, rtol=0, atol=1e-12)
