"""Fitted-Q: batched Bellman targets in C++, linear fitted-Q iteration and LSTD-Q in closed form,
and neural fitted-Q with torch on the same target kernel.

Fitted-Q iteration (Ernst, Geurts, Wehenkel, "Tree-based batch mode reinforcement learning",
JMLR 2005; Riedmiller, "Neural fitted Q iteration", ECML 2005) regresses ``Q_{k+1}(s, a)`` on
``r + gamma (1 - terminated) max_a' Q_k(s', a')`` over a fixed dataset. LSTD-Q (Lagoudakis &
Parr, "Least-squares policy iteration", JMLR 2003) solves for a policy's linear Q in one step.
The SQIRL and GORP analyses of the effective-horizon papers run these on tabular and linear
features; with one-hot features both are exact tabular methods.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from turborl import _checks

__all__ = ["FittedQResult", "bellman_targets", "linear_fitted_q_iteration", "lstd_q", "neural_fitted_q_iteration"]


def bellman_targets(rewards: Any, terminated: Any, next_q: Any, *, gamma: float = 0.99, next_q_select: Any = None,
                    discounts: Any = None, num_threads: int = 1) -> np.ndarray:
    """``r + discount * (1 - terminated) * next_q[argmax]`` for ``N`` transitions, in C++.

    Args:
        rewards: ``[N]`` (for n-step data, the discounted sum of the ``n`` rewards).
        terminated: bool ``[N]``: the episode truly ended (no bootstrap); truncations are False.
        next_q: ``[N, A]`` action values of the next states (target network).
        gamma: the discount, used when ``discounts`` is None.
        next_q_select: ``[N, A]`` values that pick the action (double Q-learning: the online
            network picks, ``next_q`` rates); default ``next_q`` itself.
        discounts: ``[N]`` per-transition discounts, ``gamma ** n`` for n-step returns.
        num_threads: threads over transitions; the result does not depend on it.

    Returns:
        ``[N]`` targets in the dtype of ``next_q`` (float32 stays float32; anything else float64).
        Torch CPU tensors are accepted (they cross without a copy through NumPy).
    """
    from turborl import _core

    next_q = _as_array("next_q", next_q)
    dtype = np.float32 if next_q.dtype == np.float32 else np.float64
    next_q = _checks.finite_array("next_q", next_q, dtype)
    if next_q.ndim != 2:
        raise ValueError(f"next_q must have shape (N, A), got {next_q.shape}")
    rewards = _checks.finite_array("rewards", _as_array("rewards", rewards), dtype)
    if rewards.shape != (next_q.shape[0],):
        raise ValueError(f"rewards must have shape ({next_q.shape[0]},), got {rewards.shape}")
    terminated = np.asarray(_as_array("terminated", terminated))
    if terminated.dtype != np.bool_:
        raise TypeError(f"terminated must be a bool array, got dtype {terminated.dtype}")
    gamma = _checks.finite_float("gamma", gamma)
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma}")
    select = None if next_q_select is None else _checks.finite_array("next_q_select", _as_array(
        "next_q_select", next_q_select), dtype)
    if discounts is not None:
        discounts = _checks.finite_array("discounts", _as_array("discounts", discounts), dtype)
    threads = _checks.num_threads(num_threads)
    return _core.bellman_targets(rewards, np.ascontiguousarray(terminated).view(np.uint8), next_q, select, discounts,
                                 gamma, threads)


def _as_array(name: str, value: Any) -> Any:
    """NumPy view of a torch CPU tensor (no copy); anything else unchanged. A GPU tensor is
    refused rather than copied: the kernel is for data already on the CPU."""
    if _checks.is_torch(value) and value.device.type != "cpu":
        raise ValueError(f"{name} must be on the CPU, got a tensor on {value.device}")
    return _checks.from_torch(value)


@dataclasses.dataclass(frozen=True)
class FittedQResult:
    """Weights of a linear Q-function ``Q(s, a) = features(s, a) @ weights``.

    Attributes:
        weights: ``[d]``.
        iterations: regressions run.
        change: ``max |w_k - w_{k-1}|`` of the last iteration.
    """

    weights: np.ndarray
    iterations: int
    change: float


def _check_dataset(features: Any, next_features: Any, rewards: Any, terminated: Any) -> tuple[np.ndarray, ...]:
    phi = _checks.finite_array("features", features, np.float64)
    if phi.ndim != 2:
        raise ValueError(f"features must have shape (N, d), got {phi.shape}")
    phi_next = _checks.finite_array("next_features", next_features, np.float64)
    if phi_next.ndim != 3 or phi_next.shape[0] != phi.shape[0] or phi_next.shape[2] != phi.shape[1]:
        raise ValueError(f"next_features must have shape (N, A, d) = ({phi.shape[0]}, A, {phi.shape[1]}), "
                         f"got {phi_next.shape}")
    rewards = _checks.finite_array("rewards", rewards, np.float64)
    if rewards.shape != (phi.shape[0],):
        raise ValueError(f"rewards must have shape ({phi.shape[0]},), got {rewards.shape}")
    terminated = np.asarray(terminated)
    if terminated.dtype != np.bool_ or terminated.shape != (phi.shape[0],):
        raise ValueError(f"terminated must be a bool array of shape ({phi.shape[0]},), got "
                         f"{terminated.dtype} {terminated.shape}")
    return phi, phi_next, rewards, terminated


def _least_squares(a: np.ndarray, b: np.ndarray, ridge: float) -> np.ndarray:
    gram = a.T @ a + ridge * np.eye(a.shape[1])
    return np.linalg.solve(gram, a.T @ b)


def linear_fitted_q_iteration(features: Any, next_features: Any, rewards: Any, terminated: Any, *,
                              gamma: float = 0.99, iterations: int = 100, tol: float = 1e-8, ridge: float = 1e-8,
                              num_threads: int = 1) -> FittedQResult:
    """Linear fitted-Q iteration on a dataset of ``N`` transitions with ``d`` features.

    Args:
        features: ``[N, d]`` features of each transition's ``(s, a)``.
        next_features: ``[N, A, d]`` features of ``(s', a')`` for every next action ``a'``.
        rewards, terminated: ``[N]``.
        gamma: discount; iterations, tol: stop after ``iterations`` regressions or when no weight
            moved more than ``tol``; ridge: Tikhonov term of each least-squares solve.

    With one-hot ``(s, a)`` features and a dataset covering every pair, each iteration is exactly
    one sweep of tabular Q-value iteration on the empirical MDP.
    """
    phi, phi_next, rewards, terminated = _check_dataset(features, next_features, rewards, terminated)
    iterations = _checks.int_at_least("iterations", iterations, 1)
    weights = np.zeros(phi.shape[1])
    change = np.inf
    done = 0
    for done in range(1, iterations + 1):
        targets = bellman_targets(rewards, terminated, phi_next @ weights, gamma=gamma, num_threads=num_threads)
        updated = _least_squares(phi, targets, ridge)
        change = float(np.max(np.abs(updated - weights)))
        weights = updated
        if change <= tol:
            break
    return FittedQResult(weights, done, change)


def lstd_q(features: Any, next_features: Any, rewards: Any, terminated: Any, next_policy: Any, *,
           gamma: float = 0.99, ridge: float = 1e-8) -> np.ndarray:
    """LSTD-Q weights of a policy's linear Q-function: solves
    ``Phi^T (Phi - gamma (1 - terminated) Phi'_pi) w = Phi^T r``, where ``Phi'_pi = sum_a'
    pi(a' | s') next_features[:, a']``; ``next_policy`` is ``[N, A]`` probabilities of the next
    action (one-hot for a deterministic policy)."""
    phi, phi_next, rewards, terminated = _check_dataset(features, next_features, rewards, terminated)
    pi = _checks.finite_array("next_policy", next_policy, np.float64)
    if pi.shape != phi_next.shape[:2]:
        raise ValueError(f"next_policy must have shape {phi_next.shape[:2]}, got {pi.shape}")
    gamma = _checks.finite_float("gamma", gamma)
    expected_next = np.einsum("na,nad->nd", pi, phi_next) * (~terminated)[:, None]
    a_matrix = phi.T @ (phi - gamma * expected_next) + ridge * np.eye(phi.shape[1])
    return np.linalg.solve(a_matrix, phi.T @ rewards)


def neural_fitted_q_iteration(q_network: Any, obs: Any, actions: Any, rewards: Any, next_obs: Any, terminated: Any,
                              *, gamma: float = 0.99, iterations: int = 20, epochs: int = 10,
                              batch_size: int = 256, learning_rate: float = 1e-3, seed: int = 0,
                              on_iteration: Callable[[int, float], None] | None = None) -> list[float]:
    """Neural fitted-Q iteration (Riedmiller 2005) with torch: each iteration freezes the targets
    ``bellman_targets(r, terminated, q_network(next_obs))`` (the C++ kernel), then fits
    ``q_network(obs)[action]`` to them with Adam for ``epochs`` passes. Returns each iteration's
    last mean squared error; ``on_iteration(k, loss)`` is called after each."""
    import torch

    obs_t = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
    next_obs_t = torch.as_tensor(np.asarray(next_obs), dtype=torch.float32)
    actions_t = torch.as_tensor(np.asarray(actions), dtype=torch.int64)
    rewards_np = np.asarray(rewards, dtype=np.float32)
    terminated_np = np.asarray(terminated, dtype=bool)
    if not (len(obs_t) == len(next_obs_t) == len(actions_t) == len(rewards_np) == len(terminated_np)):
        raise ValueError("obs, actions, rewards, next_obs and terminated must have the same length")
    iterations = _checks.int_at_least("iterations", iterations, 1)
    epochs = _checks.int_at_least("epochs", epochs, 1)
    batch_size = _checks.int_at_least("batch_size", batch_size, 1)
    generator = torch.Generator().manual_seed(_checks.seed("seed", seed))
    optimizer = torch.optim.Adam(q_network.parameters(), lr=learning_rate)
    losses = []
    for k in range(iterations):
        with torch.no_grad():
            next_q = q_network(next_obs_t)
        targets = torch.from_numpy(bellman_targets(rewards_np, terminated_np, next_q, gamma=gamma))
        loss_value = 0.0
        for _ in range(epochs):
            order = torch.randperm(len(obs_t), generator=generator)
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                predicted = q_network(obs_t[rows]).gather(1, actions_t[rows, None])[:, 0]
                loss = torch.nn.functional.mse_loss(predicted, targets[rows])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                loss_value = float(loss.detach())
        losses.append(loss_value)
        if on_iteration is not None:
            on_iteration(k, loss_value)
    return losses
