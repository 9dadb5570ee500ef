"""The data that flows in and out of a search, with mctx's names and shapes (mctx/_src/base.py).

In the shapes, ``B`` is the batch size and ``A`` the number of actions. Arrays may be NumPy
arrays or torch tensors (CPU); embeddings are kept as given (a NumPy array, a torch tensor, or a
tuple/list/dict of them) and are only gathered and scattered by index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Optional, TypeVar

if TYPE_CHECKING:
    from turborl.mcts.tree import Tree

T = TypeVar("T")


@dataclass(frozen=True)
class RootFnOutput:
    """The output of a representation network at the root.

    prior_logits: ``[B, A]`` logits of the policy network.
    value: ``[B]`` an approximate value of the current state.
    embedding: ``[B, ...]`` the input of the first ``recurrent_fn`` calls.
    """

    prior_logits: Any
    value: Any
    embedding: Any


@dataclass(frozen=True)
class RecurrentFnOutput:
    """The output of ``recurrent_fn(params, rng_key, action, embedding)``.

    reward: ``[B]`` the reward of the state-action transition.
    discount: ``[B]`` the discount between ``reward`` and ``value``; ``-1`` makes the value of
      the next node count for the opponent (two-player zero-sum games, as in mctx).
    prior_logits: ``[B, A]`` logits of the policy network at the new state.
    value: ``[B]`` an approximate value of the new state.
    invalid_actions: optional ``[B, A]`` mask of the actions that are illegal at the new state
      (true or 1 = invalid). Beyond mctx, which masks only the root (mctx issues #29, #89):
      masked actions get zero prior and are never selected at that node. A node with every
      action invalid (a terminal state) selects action 0 when reached again, as mctx's
      masked_argmax does, so the model should treat terminal states as absorbing.
    """

    reward: Any
    discount: Any
    prior_logits: Any
    value: Any
    invalid_actions: Optional[Any] = None


@dataclass(frozen=True)
class PolicyOutput(Generic[T]):
    """The output of a search policy.

    action: ``[B]`` int32, the proposed action.
    action_weights: ``[B, A]`` float32, the targets for training a policy network; each row
      sums to one.
    search_tree: the ``Tree`` of the finished search.
    """

    action: Any
    action_weights: Any
    search_tree: "Tree"
