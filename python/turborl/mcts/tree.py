"""The search tree, with mctx's array names and shapes (mctx/_src/tree.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Optional

import numpy as np


@dataclass(frozen=True)
class SearchSummary:
    """Statistics of the root of each tree.

    visit_counts: ``[B, A]`` float32 visits of the root's children.
    visit_probs: ``[B, A]`` the visit counts normalised to sum to one.
    value: ``[B]`` the search value of the root.
    qvalues: ``[B, A]`` Q-values of the root's children (0 for unvisited ones).
    """

    visit_counts: np.ndarray
    visit_probs: np.ndarray
    value: np.ndarray
    qvalues: np.ndarray


@dataclass(frozen=True)
class GumbelMuZeroExtraData:
    """Extra data of a Gumbel MuZero search: root_gumbel ``[B, A]``, the Gumbel noise."""

    root_gumbel: np.ndarray


@dataclass(frozen=True)
class Tree:
    """A batch of search trees. ``B`` is the batch size, ``N = num_simulations + 1`` the number
    of nodes (node ``i`` was created at simulation ``i``, node 0 is the root) and ``A`` the
    number of actions. The arrays are read-only.

    node_visits: ``[B, N]`` int32 visit counts of each node.
    raw_values: ``[B, N]`` float32 value of each node from the model.
    node_values: ``[B, N]`` float32 search value of each node.
    parents: ``[B, N]`` int32 parent of each node (-1 for the root and unused nodes).
    action_from_parent: ``[B, N]`` int32 action from the parent to each node (-1 likewise).
    children_index: ``[B, N, A]`` int32 node index of each child (-1 if unvisited).
    children_prior_logits: ``[B, N, A]`` float32 prior logits of each node.
    children_visits: ``[B, N, A]`` int32 visit counts of each child.
    children_rewards: ``[B, N, A]`` float32 reward of each edge.
    children_discounts: ``[B, N, A]`` float32 discount of each edge.
    children_values: ``[B, N, A]`` float32 search value of each child.
    embeddings: ``[B, N, ...]`` the state embedding of each node, of the root's type.
    root_invalid_actions: ``[B, A]`` bool mask of the root's invalid actions.
    extra_data: ``GumbelMuZeroExtraData`` for Gumbel MuZero, else None.
    invalid_actions: ``[B, N, A]`` bool masks of every node (beyond mctx; row 0 is the root's).
    """

    node_visits: np.ndarray
    raw_values: np.ndarray
    node_values: np.ndarray
    parents: np.ndarray
    action_from_parent: np.ndarray
    children_index: np.ndarray
    children_prior_logits: np.ndarray
    children_visits: np.ndarray
    children_rewards: np.ndarray
    children_discounts: np.ndarray
    children_values: np.ndarray
    embeddings: Any
    root_invalid_actions: np.ndarray
    extra_data: Optional[GumbelMuZeroExtraData]
    invalid_actions: np.ndarray

    ROOT_INDEX: ClassVar[int] = 0
    NO_PARENT: ClassVar[int] = -1
    UNVISITED: ClassVar[int] = -1

    @property
    def batch_size(self) -> int:
        return self.node_visits.shape[0]

    @property
    def num_actions(self) -> int:
        return self.children_index.shape[-1]

    @property
    def num_simulations(self) -> int:
        return self.node_visits.shape[-1] - 1

    def qvalues(self, indices) -> np.ndarray:
        """``[B, A]`` Q-values ``r + discount * v`` of the children of node ``indices[b]`` of each
        tree (an int applies to every tree)."""
        rows = np.arange(self.batch_size)
        index = np.broadcast_to(np.asarray(indices, dtype=np.int64), (self.batch_size,))
        return (self.children_rewards[rows, index]
                + self.children_discounts[rows, index] * self.children_values[rows, index])

    def summary(self) -> SearchSummary:
        """Visit counts, visit probabilities, value and Q-values of the roots (mctx's summary)."""
        value = self.node_values[:, Tree.ROOT_INDEX]
        visit_counts = self.children_visits[:, Tree.ROOT_INDEX].astype(value.dtype)
        total = np.sum(visit_counts, axis=-1, keepdims=True)
        visit_probs = np.where(total > 0, visit_counts / np.maximum(total, 1),
                               np.float32(1.0 / self.num_actions)).astype(value.dtype)
        return SearchSummary(visit_counts=visit_counts, visit_probs=visit_probs, value=value.copy(),
                             qvalues=self.qvalues(Tree.ROOT_INDEX))
