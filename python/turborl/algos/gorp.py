"""GORP: greedy over random policy (Laidlaw, Zhu, Russell, Dragan, "The Effective Horizon Explains
Deep RL Performance in Stochastic Environments", ICLR 2024; and "Bridging RL Theory and Practice
with the Effective Horizon", NeurIPS 2023).

GORP learns an open-loop action sequence, one timestep per iteration. At iteration ``i`` it tries
each of the ``A^k`` action sequences of length ``k = planning_depth``: ``m =
episodes_per_action_sequence`` episodes each play the ``i`` actions learned so far, then the
sequence, then uniformly random actions to the end; the first action of the sequence with the
highest mean discounted return from step ``i`` on becomes action ``i``. Its sample complexity is
exponential only in the effective horizon, not in ``T``. The option names and defaults are those of
the authors' SB3 implementation (``effective_horizon/sb3/algorithms/gorp.py``); turborl runs all
``A^k m`` episodes of an iteration as one batch on a vector env.

    from turborl.algos.gorp import GORP, GORPConfig
    result = GORP(GORPConfig(env_id="CombinationLock-v0", episodes_per_action_sequence=2048)).learn()
    result.actions, result.timesteps
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np

from turborl.algos.lockstep import collect_lockstep, evaluate_timestep_policy, horizon_of, uniform_actions

__all__ = ["GORP", "GORPConfig", "GORPResult", "evaluate_action_sequence"]


@dataclasses.dataclass(frozen=True)
class GORPConfig:
    """GORP's options (the authors' names and defaults).

    Attributes:
        env_id: a turborl env or a registered Gymnasium id with discrete actions and a time limit.
        planning_depth: ``k``, the length of the action sequences tried at each timestep.
        episodes_per_action_sequence: ``m``, episodes averaged per sequence.
        gamma: discount of the return from the current timestep on.
        total_timesteps: env-step budget; learning stops at the horizon or when it is spent.
        seed: seeds the envs and the random actions.
    """

    env_id: str = "CombinationLock-v0"
    planning_depth: int = 1
    episodes_per_action_sequence: int = 1
    gamma: float = 0.99
    total_timesteps: int = 10_000_000
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("planning_depth", "episodes_per_action_sequence", "total_timesteps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")


@dataclasses.dataclass(frozen=True)
class GORPResult:
    """What GORP learned.

    Attributes:
        actions: the open-loop action for each timestep learned, ``len(actions) <= T``.
        timesteps: env steps used.
        mean_returns: [len(actions), A^k] the mean return-to-go of each sequence at each timestep.
    """

    actions: tuple[int, ...]
    timesteps: int
    mean_returns: np.ndarray


class GORP:
    """``GORP(config).learn()``; ``envs`` (a Gymnasium VectorEnv of ``A^k m`` copies) replaces the
    envs made from ``config.env_id``, for environments turborl cannot make by id."""

    def __init__(self, config: GORPConfig, envs: Any = None) -> None:
        self.config = config
        made = envs is None
        if made:
            from turborl.algos.environments import make_envs

            envs = make_envs(config.env_id, 1, config.seed)
        num_actions = getattr(envs.single_action_space, "n", None)
        if num_actions is None:
            raise ValueError(f"GORP needs discrete actions, {config.env_id!r} has {envs.single_action_space}")
        self.num_actions = int(num_actions)
        self.sequences = np.array(list(itertools.product(range(self.num_actions), repeat=config.planning_depth)),
                                  dtype=np.int64)  # [A^k, k], lexicographic: ties go to the first, as the authors'
        num_episodes = len(self.sequences) * config.episodes_per_action_sequence
        if made:
            envs.close()
            envs = make_envs(config.env_id, num_episodes, config.seed)
        elif envs.num_envs != num_episodes:
            raise ValueError(f"envs must hold A^k * m = {num_episodes} envs, got num_envs={envs.num_envs}")
        self.envs = envs
        self.horizon = horizon_of(envs)
        self.rng = np.random.default_rng(config.seed)

    def learn(self) -> GORPResult:
        config = self.config
        m = config.episodes_per_action_sequence
        # Episode j plays sequence j // m (the m episodes of a sequence are adjacent).
        plan = np.repeat(self.sequences, m, axis=0)  # [N, k]
        learned: list[int] = []
        mean_returns = []
        timesteps = 0
        reset_seed = config.seed
        while len(learned) < self.horizon and timesteps < config.total_timesteps:
            prefix = len(learned)

            def choose(t: int, obs: np.ndarray, active: np.ndarray) -> np.ndarray:
                if t < prefix:
                    return np.full(len(active), learned[t], dtype=np.int64)
                if t < prefix + config.planning_depth:
                    return plan[:, t - prefix]
                return uniform_actions(self.rng, self.num_actions, len(active))

            episodes = collect_lockstep(self.envs, reset_seed, choose, self.horizon)
            reset_seed += self.envs.num_envs  # fresh start states every iteration
            timesteps += episodes.steps
            if episodes.active.shape[0] <= prefix:
                break  # every episode ended inside the learned prefix: nothing left to choose
            returns = episodes.returns_to_go(config.gamma)[prefix]  # [N]
            per_sequence = returns.reshape(len(self.sequences), m).mean(axis=1)
            mean_returns.append(per_sequence)
            learned.append(int(self.sequences[int(np.argmax(per_sequence)), 0]))
        self.envs.close()
        return GORPResult(tuple(learned), timesteps, np.array(mean_returns).reshape(len(mean_returns), -1))


def evaluate_action_sequence(envs: Any, actions: tuple[int, ...] | list[int], seed: int = 0) -> np.ndarray:
    """[num_envs] undiscounted returns of one episode per env that plays ``actions`` open-loop,
    then uniformly random actions (drawn from ``seed``)."""
    rng = np.random.default_rng(seed)
    num_actions = int(envs.single_action_space.n)
    sequence = list(actions)

    def act(t: int, obs: np.ndarray) -> np.ndarray:
        if t < len(sequence):
            return np.full(len(obs), sequence[t], dtype=np.int64)
        return uniform_actions(rng, num_actions, len(obs))

    return evaluate_timestep_policy(envs, act, seed)
