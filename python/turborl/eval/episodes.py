"""Evaluation episodes of a policy, as a score matrix for the interval estimates."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from turborl import _checks

__all__ = ["evaluate"]


def _make_envs(env_id: str, num_envs: int, seed: int, max_episode_steps: int | None):
    import turborl

    if env_id in turborl.envs.registered_ids():
        return turborl.envs.make_vec(env_id, num_envs, seed=seed, max_episode_steps=max_episode_steps, copy=False)
    import gymnasium as gym

    kwargs = {} if max_episode_steps is None else {"max_episode_steps": max_episode_steps}
    try:
        envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync", **kwargs)
    except gym.error.Error as error:
        raise ValueError(f"env_id {env_id!r} is neither a turborl env nor a Gymnasium env: {error}") from error
    return envs


def _act_function(policy: Any) -> Callable[[np.ndarray, int], Any]:
    if hasattr(policy, "act"):
        if getattr(policy, "time_limit", None) is not None:  # a time feature: the step within the episode
            return lambda obs, step: policy.act(obs, deterministic=True, episode_step=step)
        return lambda obs, step: policy.act(obs, deterministic=True)
    if callable(policy):
        return lambda obs, step: policy(obs)
    raise TypeError(f"policy must be callable on a batch of observations or have .act(obs), got {type(policy).__name__}")


def evaluate(policy: Any, env_id: str, episodes: int = 10, seeds: Sequence[int] = (0,), *,
             max_episode_steps: int | None = None, max_steps: int = 1_000_000) -> np.ndarray:
    """Runs ``episodes`` evaluation episodes per seed and returns their undiscounted returns.

    Args:
        policy: a function from a batch of observations to a batch of actions, or an object
            with ``act(obs, deterministic=True)`` (what ``turborl.load_policy`` returns).
        env_id: a turborl env (``turborl.envs.registered_ids()``) or any Gymnasium id.
        episodes: episodes per seed, run side by side in one vector env.
        seeds: one vector env per seed, env ``i`` seeded ``seed + i``.
        max_steps: a bound on the steps of one vector env, against policies that never finish.

    Returns:
        float64 ``[len(seeds), episodes]``: the return of each seed's first ``episodes`` episodes
        (rows are runs, columns samples; transpose or average as the analysis needs).
    """
    episodes = _checks.int_at_least("episodes", episodes, 1)
    seeds = [_checks.seed(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    act = _act_function(policy)
    scores = np.zeros((len(seeds), episodes))
    for row, seed in enumerate(seeds):
        envs = _make_envs(env_id, episodes, seed, max_episode_steps)
        try:
            obs, _ = envs.reset(seed=seed)
            finished = np.zeros(episodes, dtype=bool)
            for step in range(max_steps):  # every env is in its first episode until it finishes
                obs, reward, terminated, truncated, _ = envs.step(np.asarray(act(obs, step)))
                scores[row] += np.where(finished, 0.0, reward)
                finished |= np.asarray(terminated) | np.asarray(truncated)
                if finished.all():
                    break
            else:
                raise RuntimeError(f"{int((~finished).sum())} evaluation episodes of {env_id} did not end within "
                                   f"{max_steps} steps")
        finally:
            envs.close()
    return scores
