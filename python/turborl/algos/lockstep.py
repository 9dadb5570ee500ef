"""Episodes that start together and are indexed by their timestep: what GORP and SQIRL collect.

Both algorithms of "The Effective Horizon Explains Deep RL Performance in Stochastic
Environments" (Laidlaw, Zhu, Russell, Dragan; ICLR 2024) learn a non-stationary policy one
timestep at a time: at iteration ``i`` every episode follows the policy learned so far for
``t < i`` and explores from ``i`` on. So a batch of ``N`` episodes is run in lockstep on a vector
env of ``N`` copies, all reset at once, and each env's first episode is kept; whatever an env does
after its episode ended (its autoreset) is ignored. The env's time limit is the horizon ``T``:
an episode ends when it terminates or is truncated, and both end the finite-horizon problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["LockstepEpisodes", "collect_lockstep", "evaluate_timestep_policy", "horizon_of", "uniform_actions"]

# ``choose(t, obs, active) -> actions [N]``: the actions of all N envs at timestep t, given their
# observations [N, ...] and which of them are still in their first episode.
ActionChooser = Callable[[int, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class LockstepEpisodes:
    """N episodes started together; arrays indexed [t, episode].

    Attributes:
        obs: [L + 1, N, *obs_shape] the observation at each timestep (row L holds the last
            episode's final observation; rows past an episode's end are meaningless).
        actions: [L, N] int64.
        rewards: [L, N] float64.
        terminated: [L, N] bool: the episode terminated (not truncated) at step t.
        active: [L, N] bool: step t belongs to the episode (t < its length).
        lengths: [N] steps of each episode.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    active: np.ndarray
    lengths: np.ndarray

    @property
    def steps(self) -> int:
        """Environment steps these episodes took."""
        return int(self.lengths.sum())

    def returns_to_go(self, gamma: float) -> np.ndarray:
        """[L, N] the discounted return from step t to the episode's end (0 past it)."""
        rewards = np.where(self.active, self.rewards, 0.0)
        out = np.zeros_like(rewards)
        following = np.zeros(rewards.shape[1])
        for t in range(rewards.shape[0] - 1, -1, -1):
            following = rewards[t] + gamma * following
            out[t] = following
        return out


def horizon_of(envs: Any) -> int:
    """The envs' time limit, which GORP and SQIRL need as their horizon."""
    from turborl.algos.environments import episode_limit

    limit = episode_limit(envs)
    if limit is None:
        raise ValueError("GORP and SQIRL need envs with a time limit (the horizon T); these have none")
    return limit


def uniform_actions(rng: np.random.Generator, num_actions: int, count: int) -> np.ndarray:
    return rng.integers(0, num_actions, size=count, dtype=np.int64)


def collect_lockstep(envs: Any, seed: int, choose: ActionChooser, horizon: int) -> LockstepEpisodes:
    """Resets ``envs`` with ``seed`` and steps all of them until each has ended its first episode
    (at most ``horizon`` steps), with the actions ``choose`` gives."""
    num_envs = envs.num_envs
    obs, _ = envs.reset(seed=seed)
    obs_rows = [np.asarray(obs)]
    actions, rewards, terminated, active = [], [], [], []
    running = np.ones(num_envs, dtype=bool)
    lengths = np.zeros(num_envs, dtype=np.int64)
    for t in range(horizon):
        if not running.any():
            break
        step_actions = np.asarray(choose(t, obs_rows[-1], running.copy()), dtype=np.int64)
        obs, reward, term, trunc, _ = envs.step(step_actions)
        actions.append(step_actions)
        rewards.append(np.where(running, np.asarray(reward, np.float64), 0.0))
        terminated.append(running & np.asarray(term, bool))
        active.append(running.copy())
        lengths += running
        obs_rows.append(np.asarray(obs))
        running = running & ~(np.asarray(term, bool) | np.asarray(trunc, bool))
    # An episode still running at the horizon ends there (the env's limit was larger).
    return LockstepEpisodes(np.stack(obs_rows), np.stack(actions), np.stack(rewards), np.stack(terminated),
                            np.stack(active), lengths)


def evaluate_timestep_policy(envs: Any, act: Callable[[int, np.ndarray], np.ndarray], seed: int = 0) -> np.ndarray:
    """[num_envs] undiscounted returns of one episode per env of the non-stationary policy ``act(t,
    obs) -> actions``."""
    episodes = collect_lockstep(envs, seed, lambda t, obs, active: act(t, obs), horizon_of(envs))
    return episodes.returns_to_go(1.0)[0]
