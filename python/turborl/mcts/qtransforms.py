"""Monotonic transformations of Q-values, with mctx's names and parameters
(mctx/_src/qtransforms.py).

Each is ``qtransform(tree, node_index, **params) -> [B, A]`` float32 on a batched ``Tree`` and
a node index (an int, or ``[B]`` indices). The search evaluates the same formulas in C++: pass
one of these functions, or ``functools.partial`` of one with keyword arguments, as the
``qtransform`` of a policy.
"""

from __future__ import annotations

import numpy as np

_TINY = np.finfo(np.float32).tiny


def _node_rows(tree, node_index):
    rows = np.arange(tree.batch_size)
    index = np.broadcast_to(np.asarray(node_index, dtype=np.int64), (tree.batch_size,))
    return rows, index


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return shifted / np.sum(shifted, axis=-1, keepdims=True)


def qtransform_by_min_max(tree, node_index, *, min_value: float, max_value: float) -> np.ndarray:
    """Q-values normalised by the given bounds: ``(q - min_value) / (max_value - min_value)``;
    unvisited actions get 0."""
    rows, index = _node_rows(tree, node_index)
    qvalues = tree.qvalues(index)
    visited = tree.children_visits[rows, index] > 0
    lo, hi = np.float32(min_value), np.float32(max_value)
    return (np.where(visited, qvalues, lo) - lo) / (hi - lo)


def qtransform_by_parent_and_siblings(tree, node_index, *, epsilon: float = 1e-8) -> np.ndarray:
    """Q-values normalised to [0, 1] by the min and max over the node's value and its visited
    children's Q-values; unvisited actions get 0 (MuZero's normalisation, Schrittwieser et al.
    2020, Appendix B)."""
    rows, index = _node_rows(tree, node_index)
    qvalues = tree.qvalues(index)
    visited = tree.children_visits[rows, index] > 0
    node_value = tree.node_values[rows, index][:, None]
    safe = np.where(visited, qvalues, node_value)
    lo = np.minimum(node_value, np.min(safe, axis=-1, keepdims=True))
    hi = np.maximum(node_value, np.max(safe, axis=-1, keepdims=True))
    completed_by_min = np.where(visited, qvalues, lo)
    return (completed_by_min - lo) / np.maximum(hi - lo, np.float32(epsilon))


def qtransform_completed_by_mix_value(tree, node_index, *, value_scale: float = 0.1, maxvisit_init: float = 50.0,
                                      rescale_values: bool = True, use_mixed_value: bool = True,
                                      epsilon: float = 1e-8) -> np.ndarray:
    """Q-values completed by the mixed value for unvisited actions, optionally rescaled to
    [0, 1], then scaled by ``(maxvisit_init + max visits) * value_scale`` (Danihelka et al.
    2022, "Policy improvement by planning with Gumbel", Appendix D)."""
    rows, index = _node_rows(tree, node_index)
    qvalues = tree.qvalues(index)
    visit_counts = tree.children_visits[rows, index]
    visited = visit_counts > 0
    value = tree.raw_values[rows, index]
    if use_mixed_value:
        probs = np.maximum(_TINY, _softmax(tree.children_prior_logits[rows, index]))
        sum_visits = np.sum(visit_counts, axis=-1).astype(np.float32)
        sum_probs = np.sum(np.where(visited, probs, 0.0), axis=-1, keepdims=True).astype(np.float32)
        safe_sum = np.where(visited, sum_probs, np.float32(1.0))
        weighted_q = np.sum(np.where(visited, probs * qvalues / safe_sum, 0.0), axis=-1).astype(np.float32)
        value = (value + sum_visits * weighted_q) / (sum_visits + np.float32(1.0))
    completed = np.where(visited, qvalues, value[:, None])
    if rescale_values:
        lo = np.min(completed, axis=-1, keepdims=True)
        hi = np.max(completed, axis=-1, keepdims=True)
        completed = (completed - lo) / np.maximum(hi - lo, np.float32(epsilon))
    visit_scale = np.float32(maxvisit_init) + np.max(visit_counts, axis=-1, keepdims=True).astype(np.float32)
    return (visit_scale * np.float32(value_scale) * completed).astype(np.float32)


# The C++ search's codes for the transforms above (mcts/tree.hpp, QTransformKind).
KINDS = {
    qtransform_by_min_max: 0,
    qtransform_by_parent_and_siblings: 1,
    qtransform_completed_by_mix_value: 2,
}
