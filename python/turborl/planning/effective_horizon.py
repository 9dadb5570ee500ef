"""The effective horizon of a finite-horizon MDP (Laidlaw, Zhu, Russell, Dragan: "Bridging RL
Theory and Practice with the Effective Horizon", NeurIPS 2023; "The Effective Horizon Explains
Deep RL Performance in Stochastic Environments", ICLR 2024).

Many MDPs are solved by a few steps of Q-value iteration on the random policy's Q-function
followed by acting greedily. With ``Q^1 = Q^rand`` and ``Q^{i+1}_t(s, a) = R(s, a) + gamma
E[max_a' Q^i_{t+1}(s', a')]`` (the last timestep keeps ``Q^i_{T-1} = R``):

- ``min_k``: the smallest ``k`` such that every action greedy with respect to ``Q^k`` (all exact
  ties included) is optimal within ``1e-4`` at every state that those greedy actions reach from
  the initial state: the MDP is then *k-QVI-solvable*;
- the *effective planning window*: the same test starting from ``Q^1 = R``;
- the bound on the effective horizon (GORP's sample complexity, Theorem 5.4 of the NeurIPS
  paper): for each k-QVI-solvable ``k``, at every state ``(t, s)`` reached by actions better than
  every suboptimal one, the gap ``Delta = max_a Q^k - max_{a suboptimal} Q^k``, a bound on the
  variance of the return ``sigma^2 = max_a (Q^rand - Q^worst)(Q* - Q^worst)`` carried back
  through the ``k - 1`` backups by a maximum over next states and actions, and ``m = ceil(16
  sigma^2 / Delta^2 ln(2 T A^k))`` episodes per action sequence; ``H_k = k + log_A max m``, and
  the effective horizon is ``min(T, min_k H_k)``.

This follows the authors' analysis code (``EffectiveHorizon.jl``: ``analyze_mdp.jl``,
``gorp_bounds.jl``) step for step, including its tolerances and tie rules; the Q-functions come
from turborl's C++ backups (``turborl.planning.value_iteration``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

from turborl import _checks
from turborl.planning.mdp import TabularMDP
from turborl.planning.value_iteration import (
    _MAX,
    policy_evaluation,
    reachable_states,
    value_iteration,
    worst_policy_values,
)

__all__ = ["EffectiveHorizonResult", "effective_horizon", "greedy_returns", "min_k"]

# The analysis code's REWARD_PRECISION: an action is optimal when its Q* is within this of V*.
OPTIMALITY_TOLERANCE = 1e-4


@dataclasses.dataclass(frozen=True)
class EffectiveHorizonResult:
    """The effective-horizon analysis of one MDP.

    Attributes:
        min_k: the smallest ``k`` for which the MDP is k-QVI-solvable (None if none up to
            ``max_k``).
        planning_window: the effective planning window (the same, starting from ``Q^1 = R``).
        bound: the effective horizon bound ``min(T, min_k H_k)``.
        ks: the k-QVI-solvable ``k`` examined for the bound, ascending.
        m: ``[len(ks)]`` episodes per action sequence GORP needs at each ``k`` (the max over states).
        gaps: ``[len(ks)]`` the gap ``Delta`` at the state that needs the most episodes
            (``inf`` where every action there is optimal).
        variances: ``[len(ks)]`` the variance bound ``sigma^2`` at that state.
        horizons: ``[len(ks)]`` ``H_k = k + log_A m_k``.
        optimal_return, random_return, worst_return: ``V*``, ``V^rand``, ``V^worst`` at the
            initial state and timestep 0.
    """

    min_k: int | None
    planning_window: int | None
    bound: float
    ks: tuple[int, ...]
    m: tuple[int, ...]
    gaps: tuple[float, ...]
    variances: tuple[float, ...]
    horizons: tuple[float, ...]
    optimal_return: float
    random_return: float
    worst_return: float


class _Analysis:
    """The Q-functions and the transition structure that the parts of the analysis read, each
    computed on first use (greedy_returns, for one, needs neither the optimal nor the worst
    policy's values)."""

    def __init__(self, mdp: TabularMDP, num_threads: int) -> None:
        if mdp.horizon is None:
            raise ValueError("the effective horizon is defined for finite-horizon MDPs: pass horizon=T")
        self.mdp, self.threads = mdp, num_threads
        self.horizon, self.num_states, self.num_actions = mdp.horizon, mdp.num_states, mdp.num_actions
        self.reachable = reachable_states(mdp, num_threads=num_threads)  # [T, S] under any actions

    @functools.cached_property
    def optimal(self) -> Any:
        return value_iteration(self.mdp, num_threads=self.threads)

    @functools.cached_property
    def random(self) -> Any:
        return policy_evaluation(self.mdp, "uniform", num_threads=self.threads)

    @functools.cached_property
    def worst(self) -> Any:
        return worst_policy_values(self.mdp, num_threads=self.threads)

    @functools.cached_property
    def suboptimal(self) -> np.ndarray:
        """[T, S, A]: the actions that are not optimal (NaN rows of unreachable states compare False)."""
        return self.optimal.q < self.optimal.v[..., None] - OPTIMALITY_TOLERANCE

    @functools.cached_property
    def _successor_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, next state) of every transition with positive probability."""
        indptr, indices, probs = self.mdp.transition_csr()
        keep = (indices >= 0) & (probs > 0)
        return np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))[keep], indices[keep].astype(np.int64)

    def successors(self, rows: np.ndarray) -> np.ndarray:
        """bool [S]: the states that the (state, action) rows marked in ``rows`` ([S, A]) can reach."""
        successor_rows, successor_states = self._successor_arrays
        out = np.zeros(self.num_states, dtype=bool)
        out[successor_states[rows.reshape(-1)[successor_rows]]] = True
        return out

    def backup(self, q: np.ndarray) -> np.ndarray:
        """One step of Q-value iteration on every timestep but the last: ``R + gamma E[max Q_{t+1}]``."""
        out = q.copy()
        for t in range(self.horizon - 1):
            active = self.reachable[t].view(np.uint8)
            v_next = np.max(np.nan_to_num(q[t + 1], nan=0.0), axis=1)
            out[t], _ = self.mdp._core.backup(v_next, self.mdp.gamma, _MAX, None, active, self.threads)
        return out

    def initial_states(self) -> np.ndarray:
        states = np.zeros(self.num_states, dtype=bool)
        states[self.mdp.initial_state] = True
        return states

    def greedy_is_optimal(self, q: np.ndarray) -> bool:
        """Whether every greedy action of ``q`` (all ties) is optimal wherever greedy actions lead."""
        current = self.initial_states()
        for t in range(self.horizon):
            rows = q[t][current]
            greedy = rows >= rows.max(axis=1, keepdims=True)
            if (greedy & self.suboptimal[t][current]).any():
                return False
            mask = np.zeros((self.num_states, self.num_actions), dtype=bool)
            mask[current] = greedy
            current = self.successors(mask)
        return True

    def first_solvable_k(self, q: np.ndarray, max_k: int) -> int | None:
        for k in range(1, max_k + 1):
            if self.greedy_is_optimal(q):
                return k
            if k < max_k:
                q = self.backup(q)
        return None

    def carry_variance(self, variance: np.ndarray) -> np.ndarray:
        """``sigma^2_{k+1}(t, s, a) = max(0, max over next states s' and actions of sigma^2_k(t+1, s',
        .))``: the largest variance the return after the next step can have."""
        out = variance.copy()
        successor_rows, successor_states = self._successor_arrays
        for t in range(self.horizon - 1):
            per_state = np.max(np.nan_to_num(variance[t + 1], nan=-np.inf), axis=1)
            rows = np.full(self.num_states * self.num_actions, -np.inf)
            np.maximum.at(rows, successor_rows, per_state[successor_states])
            live = self.reachable[t]
            out[t][live] = np.maximum(0.0, rows.reshape(self.num_states, self.num_actions)[live])
        return out

    def sample_bound(self, q: np.ndarray, variance: np.ndarray, k: int) -> tuple[int, float, float] | None:
        """(max m, gap, sigma^2 at that state) if ``q`` solves the MDP in the bound's sense, else None."""
        log_term = math.log(2 * self.horizon) + k * math.log(self.num_actions)
        current = self.initial_states()
        best = (0, 0.0, 0.0, (self.num_states, self.horizon))  # m, gap, variance, (state, t) for ties
        for t in range(self.horizon):
            states = np.flatnonzero(current)
            if len(states) == 0:
                break
            rows = q[t][states]
            best_q = rows.max(axis=1)
            best_suboptimal = np.where(self.suboptimal[t][states], rows, -np.inf).max(axis=1)
            if (best_q == best_suboptimal).any():
                return None
            gap = best_q - best_suboptimal  # inf where every action is optimal
            sigma2 = np.maximum(0.0, np.max(np.nan_to_num(variance[t][states], nan=0.0), axis=1))
            with np.errstate(divide="ignore", invalid="ignore"):
                m = np.ceil(16.0 * sigma2 / gap**2 * log_term)
            m = np.maximum(1, np.nan_to_num(m, nan=0.0, posinf=0.0)).astype(np.int64)
            top = int(np.argmax(m))  # the smallest state of the largest m at this t
            # The analysis code takes the first maximum in (state, timestep) order.
            if m[top] > best[0] or (m[top] == best[0] and (states[top], t) < best[3]):
                best = (int(m[top]), float(gap[top]), float(sigma2[top]), (int(states[top]), t))
            mask = np.zeros((self.num_states, self.num_actions), dtype=bool)
            mask[states] = rows > best_suboptimal[:, None]
            current = self.successors(mask)
        return best[0], best[1], best[2]


def _max_k(mdp: TabularMDP, max_k: Any) -> int:
    return mdp.horizon if max_k is None else _checks.int_at_least("max_k", max_k, 1)


def min_k(mdp: TabularMDP, *, max_k: int | None = None, start_with_rewards: bool = False,
          num_threads: int = 1) -> int | None:
    """The smallest ``k`` such that acting greedily on ``Q^k`` (all ties) is optimal, or None if no
    ``k <= max_k`` (default ``T``) is; ``start_with_rewards=True`` gives the effective planning
    window (``Q^1 = R``)."""
    analysis = _Analysis(mdp, _checks.num_threads(num_threads))
    start = _reward_q(analysis) if start_with_rewards else analysis.random.q
    return analysis.first_solvable_k(start, _max_k(mdp, max_k))


def _reward_q(analysis: _Analysis) -> np.ndarray:
    rewards = np.broadcast_to(analysis.mdp.rewards, analysis.optimal.q.shape).copy()
    rewards[~analysis.reachable] = np.nan
    terminal = analysis.mdp.terminal
    if terminal is not None:
        rewards[:, terminal] = 0.0
    return rewards


def effective_horizon(mdp: TabularMDP, *, max_k: int | None = None, num_threads: int = 1) -> EffectiveHorizonResult:
    """The effective-horizon analysis of a finite-horizon MDP (see the module docstring).

    Args:
        mdp: a ``TabularMDP`` with a horizon (e.g. ``TabularMDP.load_npz`` of a BRIDGE MDP).
        max_k: the largest ``k`` examined for ``min_k``, the planning window and the bound;
            default ``T``, as the authors' code (the bound's loop also stops once ``k`` reaches
            the best bound found).
        num_threads: threads of the C++ backups; results do not depend on it.

    Returns:
        An ``EffectiveHorizonResult``. Memory: five ``[T, S, A]`` float64 arrays.
    """
    analysis = _Analysis(mdp, _checks.num_threads(num_threads))
    limit = _max_k(mdp, max_k)
    window = analysis.first_solvable_k(_reward_q(analysis), limit)

    # min_k and the bound walk the same Q^1, Q^2, ... (Q^1 = Q of the random policy): one pass
    # computes each backup once, holding one Q^k at a time.
    q = analysis.random.q  # backup() returns new arrays; this one is never written
    worst = analysis.worst.q
    variance = (analysis.random.q - worst) * (analysis.optimal.q - worst)
    bound = float(mdp.horizon)
    first = None
    ks, ms, gaps, variances, horizons = [], [], [], [], []
    k = 1
    while k <= limit and (first is None or k < bound):
        if first is None and analysis.greedy_is_optimal(q):
            first = k
        if k < bound:
            found = analysis.sample_bound(q, variance, k)
            if found is not None:
                m, gap, sigma2 = found
                horizon_k = k + (math.log(m) / math.log(mdp.num_actions) if m > 1 else 0.0)
                ks.append(k)
                ms.append(m)
                gaps.append(gap)
                variances.append(sigma2)
                horizons.append(horizon_k)
                bound = min(bound, horizon_k)
        if k < limit:
            q = analysis.backup(q)
            if k + 1 < bound:  # the variance is read only while k < bound
                variance = analysis.carry_variance(variance)
        k += 1
    s0 = mdp.initial_state
    return EffectiveHorizonResult(
        min_k=first, planning_window=window, bound=bound, ks=tuple(ks), m=tuple(ms), gaps=tuple(gaps),
        variances=tuple(variances), horizons=tuple(horizons), optimal_return=float(analysis.optimal.v[0, s0]),
        random_return=float(analysis.random.v[0, s0]), worst_return=float(analysis.worst.v[0, s0]))


def greedy_returns(mdp: TabularMDP, max_k: int = 5, *, num_threads: int = 1) -> tuple[float, ...]:
    """For ``k = 1..max_k``, the return from the initial state of acting greedily on ``Q^k`` with the
    worst tie-breaking among greedy actions (the authors' ``greedy_returns``)."""
    analysis = _Analysis(mdp, _checks.num_threads(num_threads))
    max_k = _checks.int_at_least("max_k", max_k, 1)
    q = analysis.random.q
    returns = []
    for k in range(1, max_k + 1):
        greedy = q >= np.max(np.nan_to_num(q, nan=-np.inf), axis=2, keepdims=True)
        # The worst greedy action at every timestep: a time-dependent deterministic policy.
        masked = np.where(greedy, 0.0, np.inf)
        values = np.zeros(mdp.num_states)
        for t in range(mdp.horizon - 1, -1, -1):
            step_q, _ = mdp._core.backup(values, mdp.gamma, _MAX, None, None, analysis.threads)
            choice = np.argmin(np.nan_to_num(step_q + masked[t], nan=np.inf), axis=1)
            values = step_q[np.arange(mdp.num_states), choice]
        returns.append(float(values[mdp.initial_state]))
        if k < max_k:
            q = analysis.backup(q)
    return tuple(returns)
