"""Value iteration and policy evaluation on tabular MDPs, in C++ with the GIL released.

Discounted MDPs (``horizon=None``) iterate Jacobi sweeps ``V <- max_a R + gamma P V`` until the
largest change of a state's value is at most ``tol``. Finite-horizon MDPs run backward induction
``Q_t = R + gamma P V_{t+1}`` for ``t = T-1, ..., 0`` with ``V_T = 0``, over the states reachable
at each ``t`` from the initial state (a forward pass finds them); the others are NaN. Results are
identical for any ``num_threads``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from turborl import _checks
from turborl.planning.mdp import TabularMDP

__all__ = ["ValueIterationResult", "policy_evaluation", "reachable_states", "value_iteration", "worst_policy_values"]

# Kinds of state value, as the C++ StateValue enum numbers them.
_MAX, _MIN, _MEAN, _POLICY = 0, 1, 2, 3


@dataclasses.dataclass(frozen=True)
class ValueIterationResult:
    """Values of a policy (the optimal one for ``value_iteration``).

    Attributes:
        q: float64 ``[S, A]`` (discounted) or ``[T, S, A]`` (finite horizon: ``q[t]`` is the value
            of acting at timestep ``t``, then following the policy).
        v: float64 ``[S]`` or ``[T, S]``.
        sweeps: backups run (``T`` for a finite horizon).
        residual: ``max_s |V_k(s) - V_{k-1}(s)|`` of the last discounted sweep (0 for a finite
            horizon, which is exact).
        reachable: bool ``[T, S]``, the states computed at each timestep (None when discounted);
            entries of ``q`` and ``v`` outside it are NaN.
    """

    q: np.ndarray
    v: np.ndarray
    sweeps: int
    residual: float
    reachable: np.ndarray | None = None

    def greedy_actions(self) -> np.ndarray:
        """int64 ``[S]`` or ``[T, S]``: ``argmax_a q`` (the first of tied actions)."""
        return np.argmax(np.nan_to_num(self.q, nan=-np.inf), axis=-1)


def reachable_states(mdp: TabularMDP, *, num_threads: int = 1) -> np.ndarray:
    """bool ``[T, S]``: the states that some sequence of actions can reach at timestep ``t`` from
    ``mdp.initial_state``. Needs a finite horizon."""
    if mdp.horizon is None:
        raise ValueError("reachable_states needs an MDP with a horizon")
    initial = np.zeros(mdp.num_states, dtype=np.uint8)
    initial[mdp.initial_state] = 1
    return mdp._core.reachable(mdp.horizon, initial, _checks.num_threads(num_threads)).view(np.bool_)


def _solve(mdp: TabularMDP, kind: int, policy: np.ndarray | None, per_step: bool, tol: Any, max_sweeps: Any,
           num_threads: Any, reachable_only: bool, device: str = "cpu") -> ValueIterationResult:
    threads = _checks.num_threads(num_threads)
    flat_policy = None if policy is None else np.ascontiguousarray(policy, dtype=np.float64).reshape(-1)
    tol = _checks.finite_float("tol", tol)
    if tol <= 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    max_sweeps = _checks.int_at_least("max_sweeps", max_sweeps, 1)
    if device == "cuda":
        return _solve_on_gpu(mdp, kind, flat_policy, per_step, tol, max_sweeps, threads, reachable_only)
    if device != "cpu":
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if mdp.horizon is None:
        q, v, sweeps, residual = mdp._core.value_iteration(mdp.gamma, tol, max_sweeps, kind, flat_policy, None,
                                                           threads)
        return ValueIterationResult(q, v, int(sweeps), float(residual))
    reachable = reachable_states(mdp, num_threads=threads) if reachable_only else None
    q, v = mdp._core.finite_horizon(mdp.horizon, mdp.gamma, kind, flat_policy, per_step,
                                    None if reachable is None else reachable.view(np.uint8).reshape(-1), threads)
    return ValueIterationResult(q, v, mdp.horizon, 0.0, reachable)


def _solve_on_gpu(mdp: TabularMDP, kind: int, flat_policy: np.ndarray | None, per_step: bool, tol: float,
                  max_sweeps: int, threads: int, reachable_only: bool) -> ValueIterationResult:
    from turborl.cuda import value_iteration_arrays

    if per_step:
        raise ValueError("device='cuda' evaluates stationary policies only; pass policy [S, A] or use the CPU")
    q, v, sweeps, residual, _ = value_iteration_arrays(mdp, kind=kind, policy=flat_policy, tol=tol,
                                                       max_sweeps=max_sweeps)
    if mdp.horizon is None:
        return ValueIterationResult(q, v, sweeps, residual)
    reachable = reachable_states(mdp, num_threads=threads) if reachable_only else None
    if reachable is not None:  # the GPU computes every state; hide the unreachable ones as the CPU does
        q[~reachable] = np.nan
        v[~reachable] = np.nan
    return ValueIterationResult(q, v, sweeps, 0.0, reachable)


def value_iteration(mdp: TabularMDP, *, tol: float = 1e-8, max_sweeps: int = 10_000, num_threads: int = 1,
                    reachable_only: bool = True, device: str = "cpu") -> ValueIterationResult:
    """Optimal values ``Q*`` and ``V*``.

    Discounted: sweeps until the residual is at most ``tol`` or ``max_sweeps`` ran (check
    ``result.residual``; ``V`` is then within ``gamma * tol / (1 - gamma)`` of ``V*``).
    Finite horizon: exact backward induction over the reachable states (all states with
    ``reachable_only=False``).

    ``device="cuda"`` runs the sweeps on the GPU (``turborl.cuda_available()``), one thread per
    state with the same update; it equals the CPU result to rounding.
    """
    return _solve(mdp, _MAX, None, False, tol, max_sweeps, num_threads, reachable_only, device)


def worst_policy_values(mdp: TabularMDP, *, tol: float = 1e-8, max_sweeps: int = 10_000, num_threads: int = 1,
                        reachable_only: bool = True, device: str = "cpu") -> ValueIterationResult:
    """Values of the worst policy (``min`` in place of ``max``): ``Q^worst``, as the effective
    horizon's variance bound needs."""
    return _solve(mdp, _MIN, None, False, tol, max_sweeps, num_threads, reachable_only, device)


def policy_evaluation(mdp: TabularMDP, policy: Any = "uniform", *, tol: float = 1e-8, max_sweeps: int = 10_000,
                      num_threads: int = 1, reachable_only: bool = True, device: str = "cpu") -> ValueIterationResult:
    """Values of a stochastic policy.

    ``policy``: ``"uniform"`` (the uniformly random policy), or probabilities ``[S, A]`` (the same
    at every timestep), or ``[T, S, A]`` for a finite horizon (one per timestep); rows must be
    distributions (nonnegative, summing to 1 within 1e-6).
    """
    if isinstance(policy, str):
        if policy not in ("uniform", "random"):
            raise ValueError(f"policy must be 'uniform' or an array of probabilities, got {policy!r}")
        return _solve(mdp, _MEAN, None, False, tol, max_sweeps, num_threads, reachable_only, device)
    probabilities = _checks.finite_array("policy", policy, np.float64)
    S, A = mdp.num_states, mdp.num_actions
    allowed = [(S, A)] + ([(mdp.horizon, S, A)] if mdp.horizon is not None else [])
    if probabilities.shape not in allowed:
        raise ValueError(f"policy must have shape {' or '.join(map(str, allowed))}, got {probabilities.shape}")
    if (probabilities < 0).any() or not np.allclose(probabilities.sum(axis=-1), 1.0, rtol=0.0, atol=1e-6):
        raise ValueError("policy rows must be probabilities: nonnegative and summing to 1 (within 1e-6)")
    return _solve(mdp, _POLICY, probabilities, probabilities.ndim == 3, tol, max_sweeps, num_threads, reachable_only,
                  device)
