"""Per-env physical parameters change the dynamics exactly as Gymnasium's equations say."""

import numpy as np
import pytest

import turborl
from helpers.gymnasium_reference import ENV_IDS, GYMNASIUM_ATTRIBUTES, compare_with_gymnasium


def perturbed_params(env_id: str, num_envs: int, seed: int) -> dict[str, np.ndarray]:
    """Every parameter Gymnasium exposes, scaled by a different factor in each lane."""
    spec = turborl.envs.env_spec(env_id)
    rng = np.random.default_rng(seed)
    params = {}
    for param in spec.params:
        if param.name not in GYMNASIUM_ATTRIBUTES[env_id]:
            continue
        scale = rng.uniform(0.8, 1.25, num_envs)
        if param.name in ("min_position", "goal_position", "goal_velocity"):
            scale = np.ones(num_envs)  # keep the goal reachable and the wall where the car starts
        params[param.name] = param.default * scale
    return params


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_per_env_parameters_match_gymnasium_with_the_same_constants(env_id):
    params = perturbed_params(env_id, num_envs=4, seed=1)
    assert params, "the test must change at least one parameter"
    counts = compare_with_gymnasium(env_id, num_envs=4, seed=5, steps=2_000, lane_params=params)
    assert counts["resets"] > 0


def test_uniform_parameters_given_as_a_scalar_match_gymnasium():
    # Gymnasium's own keyword: gymnasium.make("Pendulum-v1", g=9.81).
    counts = compare_with_gymnasium("Pendulum-v1", num_envs=3, seed=2, steps=1_000,
                                    lane_params={"g": np.full(3, 9.81)})
    assert counts["resets"] > 0
    envs = turborl.envs.make_vec("Pendulum-v1", 3, g=9.81)
    assert np.array_equal(envs.get_params()["g"], np.full(3, 9.81))


def test_cartpole_parameters_follow_the_equations_of_motion():
    """One Euler step from a known state, against the cart-pole equations written out in NumPy."""
    lengths = np.array([0.25, 0.5, 1.0, 2.0])
    gravity = np.array([9.8, 1.62, 24.8, 9.8])
    envs = turborl.envs.make_vec("CartPole-v1", 4, seed=0, length=lengths, gravity=gravity)
    envs.reset()
    state = np.tile([0.0, 0.1, 0.05, -0.2], (4, 1))
    envs.set_state(state)
    obs, *_ = envs.step(np.ones(4, dtype=np.int64))

    x, x_dot, theta, theta_dot = state.T
    masspole, masscart, force, tau = 0.1, 1.0, 10.0, 0.02
    total = masspole + masscart
    temp = (force + masspole * lengths * theta_dot**2 * np.sin(theta)) / total
    theta_acc = (gravity * np.sin(theta) - np.cos(theta) * temp) / (
        lengths * (4.0 / 3.0 - masspole * np.cos(theta) ** 2 / total))
    x_acc = temp - masspole * lengths * theta_acc * np.cos(theta) / total
    expected = np.stack([x + tau * x_dot, x_dot + tau * x_acc, theta + tau * theta_dot,
                         theta_dot + tau * theta_acc], axis=1)
    np.testing.assert_allclose(envs.get_state()["state"], expected, rtol=1e-12, atol=1e-15)
    # Under the same gravity, a longer pole turns more slowly: |angular acceleration| shrinks.
    angular_acceleration = (envs.get_state()["state"][:, 3] - theta_dot) / tau
    assert np.all(np.diff(np.abs(angular_acceleration[[0, 1, 3]])) < 0)


def test_set_params_takes_effect_from_the_next_step_for_the_chosen_envs():
    envs = turborl.envs.make_vec("Pendulum-v1", 3, seed=0)
    envs.reset()
    start = envs.get_state()
    envs.set_params(env_ids=[1], g=0.0)
    assert np.array_equal(envs.get_params()["g"], [10.0, 0.0, 10.0])
    envs.step(np.zeros((3, 1), dtype=np.float32))
    after = envs.get_state()["state"]
    # Without gravity and torque the angular velocity of env 1 does not change.
    assert after[1, 1] == start["state"][1, 1]
    assert after[0, 1] != start["state"][0, 1]


def test_get_params_returns_gymnasiums_defaults():
    for env_id in ENV_IDS:
        envs = turborl.envs.make_vec(env_id, 2)
        for param in turborl.envs.env_spec(env_id).params:
            assert np.array_equal(envs.get_params()[param.name], np.full(2, param.default))
