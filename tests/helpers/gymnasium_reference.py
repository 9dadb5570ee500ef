"""Step turborl's vector envs next to Gymnasium's own single environments, lane by lane.

Gymnasium's initial states come from NumPy's PCG64 and turborl's from Philox streams, so the
reference env is reset and then given turborl's initial state, exactly as Gymnasium would hold
it after reset() (float64 arrays; Acrobot's float32). From then on both run on their own and
must agree bit for bit.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

import turborl

ENV_IDS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1")


def gymnasium_initial_state(env_id: str, row: np.ndarray) -> np.ndarray:
    """turborl's state row after a reset, as Gymnasium's env.state holds it."""
    if env_id == "Acrobot-v1":
        as_float32 = row.astype(np.float32)
        assert np.array_equal(as_float32.astype(np.float64), row), "Acrobot's initial state must be float32"
        return as_float32
    if env_id == "MountainCarContinuous-v0":
        assert row[2] == 1.0, "just_reset must be set after a reset"
        return np.array(row[:2], dtype=np.float64)
    return np.array(row, dtype=np.float64)


# turborl parameter name -> Gymnasium attribute, for the parameters Gymnasium exposes as attributes.
GYMNASIUM_ATTRIBUTES = {
    "CartPole-v1": {name: name for name in ("gravity", "masscart", "masspole", "length", "force_mag", "tau",
                                            "theta_threshold_radians", "x_threshold")},
    "Acrobot-v1": {"dt": "dt", "link_length_1": "LINK_LENGTH_1", "link_mass_1": "LINK_MASS_1",
                   "link_mass_2": "LINK_MASS_2", "link_com_pos_1": "LINK_COM_POS_1",
                   "link_com_pos_2": "LINK_COM_POS_2", "link_moi": "LINK_MOI", "max_vel_1": "MAX_VEL_1",
                   "max_vel_2": "MAX_VEL_2"},
    "MountainCar-v0": {name: name for name in ("force", "gravity", "min_position", "max_position", "max_speed",
                                               "goal_position", "goal_velocity")},
    "MountainCarContinuous-v0": {name: name for name in ("power", "min_position", "max_position", "max_speed",
                                                         "goal_position", "goal_velocity")},
    "Pendulum-v1": {name: name for name in ("max_speed", "max_torque", "dt", "g", "m", "l")},
}


def apply_params(env_id: str, env: gym.Env, params: dict[str, float]) -> None:
    """Sets physical constants on a Gymnasium env, including the ones it derives at __init__."""
    unwrapped = env.unwrapped
    for name, value in params.items():
        setattr(unwrapped, GYMNASIUM_ATTRIBUTES[env_id][name], float(value))
    if env_id == "CartPole-v1":
        unwrapped.total_mass = unwrapped.masspole + unwrapped.masscart
        unwrapped.polemass_length = unwrapped.masspole * unwrapped.length


def gymnasium_observation(env_id: str, env: gym.Env) -> np.ndarray:
    """The observation Gymnasium's env returns for its current state."""
    unwrapped = env.unwrapped
    if env_id == "Acrobot-v1":
        return unwrapped._get_ob()
    if env_id == "Pendulum-v1":
        return unwrapped._get_obs()
    return np.array(unwrapped.state, dtype=np.float32)


def bits_equal(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal bit for bit (tells -0.0 from 0.0, and NaN payloads apart)."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def policy_actions(env_id: str, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random actions in even lanes, a goal-reaching heuristic in odd lanes.

    The heuristics make the rare events happen: CartPole balances (so episodes reach the time
    limit), the mountain cars pump energy and reach the goal (termination), Acrobot swings up.
    Continuous actions are drawn beyond the action bounds to exercise Gymnasium's clipping.
    """
    n = obs.shape[0]
    odd = (np.arange(n) % 2) == 1
    if env_id == "CartPole-v1":
        random = rng.integers(0, 2, n)
        heuristic = (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)
        return np.where(odd, heuristic, random).astype(np.int64)
    if env_id == "Acrobot-v1":
        random = rng.integers(0, 3, n)
        heuristic = np.where(obs[:, 5] > 0, 2, 0)  # torque with the second joint: pumps energy
        return np.where(odd, heuristic, random).astype(np.int64)
    if env_id == "MountainCar-v0":
        random = rng.integers(0, 3, n)
        heuristic = np.where(obs[:, 1] >= 0, 2, 0)
        return np.where(odd, heuristic, random).astype(np.int64)
    if env_id == "MountainCarContinuous-v0":
        random = rng.uniform(-1.6, 1.6, (n, 1))
        heuristic = np.where(obs[:, 1:2] >= 0, 1.3, -1.3) * rng.uniform(0.5, 1.0, (n, 1))
        return np.where(odd[:, None], heuristic, random).astype(np.float32)
    if env_id == "Pendulum-v1":
        return rng.uniform(-3.0, 3.0, (n, 1)).astype(np.float32)
    raise ValueError(env_id)


def compare_with_gymnasium(env_id: str, num_envs: int, seed: int, steps: int, autoreset_mode: str = "next_step",
                           max_episode_steps: int | None = None,
                           lane_params: dict[str, np.ndarray] | None = None) -> dict[str, int]:
    """Runs both side by side; asserts bitwise agreement; returns event counts.

    `lane_params` gives physical parameters per lane (arrays of shape (num_envs,)); each
    reference env gets its lane's values as Gymnasium attributes.
    """
    lane_params = lane_params or {}
    envs = turborl.envs.make_vec(env_id, num_envs, seed=seed, autoreset_mode=autoreset_mode,
                                 max_episode_steps=max_episode_steps, **lane_params)
    references = [gym.make(env_id, max_episode_steps=max_episode_steps, disable_env_checker=True)
                  for _ in range(num_envs)]
    for i, reference in enumerate(references):
        apply_params(env_id, reference, {name: values[i] for name, values in lane_params.items()})
    rng = np.random.default_rng(seed)
    counts = {"terminated": 0, "truncated": 0, "resets": 0}

    def sync_reference(i: int) -> None:
        references[i].reset(seed=0)
        references[i].unwrapped.state = gymnasium_initial_state(env_id, envs.get_state([i])["state"][0])

    obs, _ = envs.reset()
    for i in range(num_envs):
        sync_reference(i)
        assert bits_equal(gymnasium_observation(env_id, references[i]), obs[i])

    mode = envs.metadata["autoreset_mode"]
    pending_reset = np.zeros(num_envs, dtype=bool)
    for t in range(steps):
        actions = policy_actions(env_id, obs, rng)
        obs, rewards, terminated, truncated, info = envs.step(actions)
        assert rewards.dtype == np.float64 and terminated.dtype == np.bool_ and truncated.dtype == np.bool_
        for i in range(num_envs):
            if mode is AutoresetMode.NEXT_STEP and pending_reset[i]:
                sync_reference(i)
                counts["resets"] += 1
                assert bits_equal(gymnasium_observation(env_id, references[i]), obs[i]), (t, i)
                assert rewards[i] == 0.0 and not terminated[i] and not truncated[i], (t, i)
                pending_reset[i] = False
                continue
            ref_obs, ref_reward, ref_terminated, ref_truncated, _ = references[i].step(actions[i])
            final_obs = obs[i]
            if mode is AutoresetMode.SAME_STEP and (ref_terminated or ref_truncated):
                assert info["_final_obs"][i], (t, i)
                final_obs = info["final_obs"][i]
            assert bits_equal(ref_obs, final_obs), (env_id, t, i, ref_obs, final_obs)
            assert ref_reward == rewards[i], (env_id, t, i, ref_reward, rewards[i])
            assert ref_terminated == terminated[i] and ref_truncated == truncated[i], (env_id, t, i)
            if ref_terminated or ref_truncated:
                counts["terminated"] += int(ref_terminated)
                counts["truncated"] += int(ref_truncated)
                if mode is AutoresetMode.NEXT_STEP:
                    pending_reset[i] = True
                elif mode is AutoresetMode.SAME_STEP:
                    sync_reference(i)
                    counts["resets"] += 1
                    assert bits_equal(gymnasium_observation(env_id, references[i]), obs[i]), (t, i)
        if mode is AutoresetMode.DISABLED:
            done = terminated | truncated
            if done.any():
                obs, _ = envs.reset(options={"reset_mask": done})
                for i in np.flatnonzero(done):
                    sync_reference(i)
                    counts["resets"] += 1
                    assert bits_equal(gymnasium_observation(env_id, references[i]), obs[i])
    return counts
