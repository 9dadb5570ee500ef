"""Training environments: turborl's C++ vector envs, or any Gymnasium id.

Both come behind Gymnasium's VectorEnv API, seeded env ``i`` = ``seed + i``. Algorithms choose
the autoreset mode: PPO uses ``same_step`` (every collected step is a real transition; the true
final observation is in ``info["final_obs"]`` for bootstrapping truncated episodes), DQN
``next_step`` (what the replay buffer stores natively).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["add_time_feature", "describe_space", "episode_limit", "make_envs", "space_from_description"]


def make_envs(env_id: str, num_envs: int, seed: int, *, backend: str = "auto",
              autoreset_mode: str = "next_step") -> gym.vector.VectorEnv:
    import turborl

    native = env_id in turborl.envs.registered_ids()
    if backend == "turborl" and not native:
        raise ValueError(f"env_id {env_id!r} is not a turborl env; turborl envs: {turborl.envs.registered_ids()}")
    if native and backend != "gymnasium":
        # float64 simulates exactly what Gymnasium does; the envs are never the bottleneck here.
        return turborl.envs.make_vec(env_id, num_envs, seed=seed, autoreset_mode=autoreset_mode)
    mode = {"next_step": gym.vector.AutoresetMode.NEXT_STEP, "same_step": gym.vector.AutoresetMode.SAME_STEP}
    try:
        envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync",
                            vector_kwargs={"autoreset_mode": mode[autoreset_mode]})
    except gym.error.Error as error:
        raise ValueError(f"env_id {env_id!r} is neither a turborl env nor a registered Gymnasium env "
                         f"({type(error).__name__}: {error})") from None
    return envs


def describe_space(space: gym.Space) -> dict[str, Any]:
    """A JSON-able description of a Discrete or Box space (saved with policies)."""
    if isinstance(space, gym.spaces.Discrete):
        return {"kind": "discrete", "n": int(space.n)}
    if isinstance(space, gym.spaces.Box):
        return {"kind": "box", "shape": list(space.shape), "low": space.low.tolist(), "high": space.high.tolist(),
                "dtype": str(space.dtype)}
    raise ValueError(f"turborl's algorithms take Discrete or Box spaces, got {space}")


def space_from_description(description: dict[str, Any]) -> gym.Space:
    if description["kind"] == "discrete":
        return gym.spaces.Discrete(int(description["n"]))
    return gym.spaces.Box(np.asarray(description["low"], dtype=description["dtype"]),
                          np.asarray(description["high"], dtype=description["dtype"]),
                          dtype=description["dtype"])


def episode_limit(envs: Any) -> int | None:
    """The envs' time limit (steps per episode), or None where they have none."""
    limit = getattr(envs, "max_episode_steps", None)  # turborl's envs
    if limit is None:
        spec = getattr(envs, "spec", None)
        limit = getattr(spec, "max_episode_steps", None)
    return None if limit is None else int(limit)


def add_time_feature(obs: np.ndarray, episode_step: Any, time_limit: int) -> np.ndarray:
    """``obs`` [N, D] with a last column ``-0.5 + t / time_limit`` for each row's step ``t`` within
    its episode (stream-x's AddTimeInfo, Pardo et al.'s time feature: -0.5 at a reset)."""
    steps = np.broadcast_to(np.asarray(episode_step, np.float64), (obs.shape[0],))
    feature = (-0.5 + steps / time_limit).astype(obs.dtype)
    return np.concatenate([obs, feature[:, None]], axis=1)
