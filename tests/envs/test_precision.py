"""dtype="float32" (the fast mode) against float64 (exact): the documented tolerance.

One step from the same state: |x32 - x64| <= 1e-5 * (1 + |x64|) for observations, rewards and
state (measured: <= 2e-6), and the same terminated/truncated flags.
"""

import numpy as np
import pytest

import turborl
from helpers.gymnasium_reference import ENV_IDS, policy_actions

TOLERANCE = 1e-5


def close(a, b):
    return np.all(np.abs(a - b) <= TOLERANCE * (1.0 + np.abs(b)))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_one_float32_step_agrees_with_float64_from_the_same_state(env_id):
    n, steps = 1000, 200
    exact = turborl.envs.make_vec(env_id, n, seed=0)
    fast = turborl.envs.make_vec(env_id, n, seed=0, dtype="float32")
    obs, _ = exact.reset()
    fast.reset()
    rng = np.random.default_rng(0)
    flag_mismatches = 0
    for _ in range(steps):
        # Both start from the float64 trajectory's state, rounded to float32.
        state = exact.get_state()
        state["state"] = state["state"].astype(np.float32).astype(np.float64)
        exact.set_state(state)
        fast.set_state({**state, "state": state["state"].astype(np.float32)})
        actions = policy_actions(env_id, obs, rng)
        obs, rewards, terminated, truncated, _ = exact.step(actions)
        obs32, rewards32, terminated32, truncated32, _ = fast.step(actions)
        assert obs32.dtype == np.float32 and rewards32.dtype == np.float64
        assert close(obs32, obs) and close(rewards32, rewards)
        assert close(fast.get_state()["state"], exact.get_state()["state"])
        flag_mismatches += np.sum(terminated != terminated32) + np.sum(truncated != truncated32)
    # A flag can only differ when the state lies within rounding of a threshold.
    assert flag_mismatches <= 1e-4 * n * steps


def test_fast_sin_cos_are_accurate_over_pendulum_angles():
    envs = turborl.envs.make_vec("Pendulum-v1", 4001, dtype="float32")
    envs.reset()
    theta = np.linspace(-100.0, 100.0, 4001).astype(np.float32)
    envs.set_state(np.stack([theta, np.zeros_like(theta)], axis=1))
    obs = envs.step(np.zeros((4001, 1), dtype=np.float32))[0]
    # After one step theta changes by theta_dot * dt; compare with the new state's exact sin/cos.
    new_theta = envs.get_state()["state"][:, 0].astype(np.float64)
    assert np.max(np.abs(obs[:, 0] - np.cos(new_theta))) < 2e-6
    assert np.max(np.abs(obs[:, 1] - np.sin(new_theta))) < 2e-6
