"""Tabular MDPs enumerated from deterministic turborl environments.

``enumerate_mdp`` explores an environment breadth-first from its initial state: it writes each
frontier state into a batch of native envs with ``set_state``, steps every action at once, reads
the next states back with ``get_state`` and numbers each new state by its exact bytes (a hash
map, so equal states merge). The states are the simulator's full state vectors, so the MDP is
exact for environments whose dynamics are deterministic (the combination lock, board games,
gridworlds); ``verify_determinism`` steps the first frontier twice under different random
streams to catch a stochastic one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from turborl import _checks
from turborl.planning.mdp import TabularMDP

__all__ = ["enumerate_mdp"]


def enumerate_mdp(env_id: str, horizon: int | None = None, *, gamma: float = 1.0, seed: int = 0,
                  max_states: int = 1_000_000, batch_size: int = 4096, verify_determinism: bool = True,
                  **env_params: Any) -> TabularMDP:
    """The MDP of a deterministic native env reachable within ``horizon`` steps of its reset state.

    Args:
        env_id: a native discrete-action env (``turborl.envs.registered_ids()``).
        horizon: the MDP's horizon ``T`` (default: the env's time limit). Only states reachable
            in fewer than ``T`` steps are expanded; the env's own time limit is ignored.
        gamma: the MDP's discount.
        seed: seed of the reset that gives the initial state (state 0 of the MDP).
        max_states: refuse (ValueError) MDPs with more states than this.
        batch_size: envs stepped together while exploring.
        verify_determinism: compare the first expansion under two random streams.
        **env_params: the env's physical parameters (scalars), as for ``make_vec``.

    Returns:
        A deterministic ``TabularMDP``: ``next_states[s, a]`` is ``-1`` where the step terminates
        (true terminations; truncation by the time limit is the horizon's business), rewards are
        the env's.
    """
    from turborl.envs import env_spec, make_vec

    spec = env_spec(env_id)
    if spec.action_kind != "discrete":
        raise ValueError(f"enumerate_mdp needs discrete actions; {env_id!r} has a Box action space")
    horizon = spec.max_episode_steps if horizon is None else _checks.int_at_least("horizon", horizon, 1)
    max_states = _checks.int_at_least("max_states", max_states, 1)
    batch_size = _checks.int_at_least("batch_size", batch_size, 1)
    num_actions = spec.num_actions
    states_per_batch = max(1, batch_size // num_actions)
    envs = make_vec(env_id, states_per_batch * num_actions, seed=seed, autoreset_mode="disabled",
                    max_episode_steps=horizon + 1, **env_params)
    envs.reset(seed=seed)
    initial = envs.get_state([0])["state"][0].copy()

    index = {initial.tobytes(): 0}
    states = [initial]
    next_rows: dict[int, np.ndarray] = {}    # expanded state -> [A] next indices
    reward_rows: dict[int, np.ndarray] = {}  # expanded state -> [A] rewards
    frontier = [0]
    actions = np.tile(np.arange(num_actions, dtype=np.int64), states_per_batch)
    for depth in range(horizon):
        if not frontier:
            break
        new_frontier = []
        for start in range(0, len(frontier), states_per_batch):
            chunk = frontier[start:start + states_per_batch]
            next_states, rewards, ended = _expand(envs, np.stack([states[s] for s in chunk]), actions, num_actions)
            if verify_determinism and depth == 0 and start == 0:
                again = _expand(envs, np.stack([states[s] for s in chunk]), actions, num_actions, seed_offset=1)
                if not (np.array_equal(again[0], next_states) and np.array_equal(again[1], rewards)):
                    raise ValueError(f"{env_id!r} is not deterministic: the same state and action gave different "
                                     "next states or rewards under two random streams")
            for k, s in enumerate(chunk):
                row = np.full(num_actions, -1, dtype=np.int64)
                for a in range(num_actions):
                    if ended[k, a]:
                        continue
                    key = next_states[k, a].tobytes()
                    target = index.get(key)
                    if target is None:
                        target = len(states)
                        if target >= max_states:
                            raise ValueError(f"{env_id!r} has more than max_states = {max_states} states within "
                                             f"horizon {horizon}; raise max_states or lower the horizon")
                        index[key] = target
                        states.append(next_states[k, a].copy())
                        new_frontier.append(target)
                    row[a] = target
                next_rows[s], reward_rows[s] = row, rewards[k]
        frontier = new_frontier
    envs.close()
    # States first reached at the last step are never expanded: the horizon ends there, so their
    # rows are never used by backward induction; they end the episode.
    transitions = np.full((len(states), num_actions), -1, dtype=np.int64)
    rewards = np.zeros((len(states), num_actions))
    for s, row in next_rows.items():
        transitions[s], rewards[s] = row, reward_rows[s]
    return TabularMDP(transitions, rewards, horizon=horizon, gamma=gamma)


def _expand(envs: Any, frontier_states: np.ndarray, actions: np.ndarray, num_actions: int,
            seed_offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps each of ``K`` states with every action: next states ``[K, A, state_dim]``, rewards
    ``[K, A]``, terminated ``[K, A]``."""
    count = len(frontier_states) * num_actions
    ids = np.arange(count)
    envs.set_state({
        "state": np.repeat(frontier_states, num_actions, axis=0),
        "elapsed_steps": np.zeros(count, np.int64),
        "needs_reset": np.zeros(count, bool),
        "env_seed": np.full(count, seed_offset, np.uint64),
    }, env_ids=ids)
    step_actions = actions.copy()
    step_actions[count:] = 0
    # Envs past `count` hold stale states; stepping them is harmless (their results are dropped),
    # but they must be steppable, so they get a copy of the first state.
    if count < envs.num_envs:
        rest = np.arange(count, envs.num_envs)
        envs.set_state({"state": np.repeat(frontier_states[:1], len(rest), axis=0),
                        "elapsed_steps": np.zeros(len(rest), np.int64),
                        "needs_reset": np.zeros(len(rest), bool)}, env_ids=rest)
    _, rewards, terminated, _, _ = envs.step(step_actions)
    next_states = envs.get_state(ids)["state"]
    shape = (len(frontier_states), num_actions)
    return (next_states.reshape(*shape, -1), np.asarray(rewards[:count]).reshape(shape),
            np.asarray(terminated[:count]).reshape(shape))
