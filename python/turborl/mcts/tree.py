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

    def subtree(self, action) -> "Tree":
        """The subtree below the root's child for ``action[b]`` in each tree, as the next move's
        tree: that child becomes node 0 with its statistics, its descendants keep their order of
        creation, and the arrays shrink to the largest subtree ``[B, K]``. Pass it as
        ``search_tree=`` to ``muzero_policy`` to continue searching from it (beyond mctx, mctx
        issue #51). Where the child was never expanded, the tree is empty (no visits) and the
        next search starts from its root output.
        """
        from turborl.mcts import _search  # the embeddings' helpers

        action = np.asarray(action)
        if action.dtype.kind not in "iu":
            raise TypeError(f"action must be integers, got dtype {action.dtype}")
        if action.shape != (self.batch_size,):
            raise ValueError(f"action must have shape ({self.batch_size},), got {action.shape}")
        if action.size and (action.min() < 0 or action.max() >= self.num_actions):
            bad = int(np.flatnonzero((action < 0) | (action >= self.num_actions))[0])
            raise ValueError(f"action[{bad}] = {action[bad]} is outside [0, {self.num_actions})")
        rows = np.arange(self.batch_size)
        child = self.children_index[rows, Tree.ROOT_INDEX, action]
        num_nodes = self.node_visits.shape[1]
        # Parents are created before their children, so one pass in index order finds every
        # descendant of the child.
        inside = np.zeros((self.batch_size, num_nodes), dtype=bool)
        for node in range(1, num_nodes):
            parent = self.parents[:, node]
            inside[:, node] = (child == node) | ((parent >= 0) & inside[rows, np.maximum(parent, 0)] & (child >= 0))
        counts = inside.sum(axis=1)
        size = max(1, int(counts.max()))
        new_index = np.where(inside, np.cumsum(inside, axis=1) - 1, -1).astype(np.int32)
        # old_index[b, k]: the node that becomes node k (padded with node 0, cleared below).
        old_index = np.zeros((self.batch_size, size), dtype=np.int64)
        used = np.arange(size)[None, :] < counts[:, None]
        old_index[used] = np.nonzero(inside)[1]
        take = (rows[:, None], old_index)

        def nodes(array, fill):
            return np.where(used.reshape(used.shape + (1,) * (array.ndim - 2)), array[take], fill)

        def remap(index):
            return np.where(index >= 0, new_index[rows.reshape((-1,) + (1,) * (index.ndim - 1)),
                                                  np.maximum(index, 0)], -1).astype(np.int32)

        parents = remap(nodes(self.parents, -1))
        parents[:, 0] = Tree.NO_PARENT
        action_from_parent = nodes(self.action_from_parent, -1)
        action_from_parent[:, 0] = Tree.NO_PARENT
        invalid = nodes(self.invalid_actions, False)
        embeddings = _search.gather_nodes(self.embeddings, take, used)
        return Tree(
            node_visits=nodes(self.node_visits, 0), raw_values=nodes(self.raw_values, 0),
            node_values=nodes(self.node_values, 0), parents=parents, action_from_parent=action_from_parent,
            children_index=remap(nodes(self.children_index, -1)),
            children_prior_logits=nodes(self.children_prior_logits, 0),
            children_visits=nodes(self.children_visits, 0), children_rewards=nodes(self.children_rewards, 0),
            children_discounts=nodes(self.children_discounts, 0), children_values=nodes(self.children_values, 0),
            embeddings=embeddings, root_invalid_actions=invalid[:, 0], extra_data=None, invalid_actions=invalid)
