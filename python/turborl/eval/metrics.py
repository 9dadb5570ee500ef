"""Aggregate performance metrics on score matrices, with rliable's definitions.

Agarwal et al., "Deep Reinforcement Learning at the Edge of the Statistical Precipice"
(NeurIPS 2021; google-research/rliable, ``rliable/metrics.py``). Every function takes a matrix
``scores`` of shape ``(num_runs, num_tasks)`` and computes exactly what rliable computes (the
same NumPy operations, so the same bits). Each carries a tag that lets ``get_interval_estimates``
run its bootstrap in C++.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = [
    "aggregate_iqm",
    "aggregate_mean",
    "aggregate_median",
    "aggregate_optimality_gap",
    "optimality_gap",
    "probability_of_improvement",
]

# Kinds of the C++ metrics (cpp/include/turborl/stats/bootstrap.hpp, enum Metric).
IQM, MEAN, MEDIAN, OPTIMALITY_GAP, SCORE_DISTRIBUTION, AVERAGE_SCORE_DISTRIBUTION = range(6)


def _tag(kind: int, gamma: float = 1.0) -> Callable[[Callable], Callable]:
    def decorate(function: Callable) -> Callable:
        function._turborl_metric = (kind, float(gamma))
        return function

    return decorate


@_tag(MEAN)
def aggregate_mean(scores: np.ndarray) -> float:
    """Mean over tasks of the per-task mean over runs."""
    mean_task_scores = np.mean(scores, axis=0, keepdims=False)
    return np.mean(mean_task_scores, axis=0)


@_tag(MEDIAN)
def aggregate_median(scores: np.ndarray) -> float:
    """Median over tasks of the per-task mean over runs."""
    mean_task_scores = np.mean(scores, axis=0, keepdims=False)
    return np.median(mean_task_scores, axis=0)


@_tag(OPTIMALITY_GAP)
def aggregate_optimality_gap(scores: np.ndarray, gamma: float = 1) -> float:
    """``gamma`` minus the mean of all scores clipped at ``gamma``."""
    return gamma - np.mean(np.minimum(scores, gamma))


def optimality_gap(gamma: float) -> Callable[[np.ndarray], float]:
    """``aggregate_optimality_gap`` at another threshold, usable in ``get_interval_estimates``."""
    gamma = float(gamma)
    if not np.isfinite(gamma):
        raise ValueError(f"gamma must be finite, got {gamma}")

    @_tag(OPTIMALITY_GAP, gamma)
    def gap(scores: np.ndarray) -> float:
        return aggregate_optimality_gap(scores, gamma)

    gap.__name__ = f"optimality_gap_{gamma:g}"
    return gap


@_tag(IQM)
def aggregate_iqm(scores: np.ndarray) -> float:
    """Interquartile mean: the 25% trimmed mean of all scores of all runs and tasks pooled.

    Written as ``scipy.stats.trim_mean(scores, 0.25, axis=None)`` is (same partition and mean),
    so that scipy is not needed.
    """
    values = np.asarray(scores).ravel()
    lowercut = int(0.25 * values.size)
    uppercut = values.size - lowercut
    partitioned = np.partition(values, (lowercut, uppercut - 1))
    return np.mean(partitioned[lowercut:uppercut])


def probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """P(X > Y) averaged over tasks: per task the Mann-Whitney U statistic of X over Y (pairs with
    x > y, ties counted 1/2) divided by the number of pairs; 0.5 for identical samples."""
    num_tasks = scores_x.shape[1]
    probabilities = []
    for task in range(num_tasks):
        x, y = scores_x[:, task], scores_y[:, task]
        if np.array_equal(x, y):
            probabilities.append(0.5)
            continue
        greater = np.sum(x[:, None] > y[None, :])
        ties = np.sum(x[:, None] == y[None, :])
        probabilities.append((greater + 0.5 * ties) / (x.size * y.size))
    return np.mean(probabilities)


probability_of_improvement._turborl_pair_metric = True


def builtin_kind(function: Any) -> tuple[int, float] | None:
    """(kind, gamma) if `function` is one of these metrics (the C++ bootstrap runs it)."""
    return getattr(function, "_turborl_metric", None)
