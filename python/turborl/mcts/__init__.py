"""Batched Monte Carlo tree search with mctx's API: ``muzero_policy`` and
``gumbel_muzero_policy`` over a batch of trees whose selection, expansion bookkeeping and
backup run in C++ (threads over trees, GIL released); the model is called once per simulation
with the whole batch.

Port from mctx by changing the import (``import turborl.mcts as mctx``); ``rng_key`` is an int
seed or a ``numpy.random.Generator``. Beyond mctx: ``RecurrentFnOutput.invalid_actions`` masks
illegal actions at every node, and each tree descends on its own.
"""

from turborl.mcts.base import PolicyOutput, RecurrentFnOutput, RootFnOutput
from turborl.mcts.policies import gumbel_muzero_policy, muzero_policy
from turborl.mcts.qtransforms import (qtransform_by_min_max, qtransform_by_parent_and_siblings,
                                      qtransform_completed_by_mix_value)
from turborl.mcts.tree import GumbelMuZeroExtraData, SearchSummary, Tree

__all__ = [
    "GumbelMuZeroExtraData",
    "PolicyOutput",
    "RecurrentFnOutput",
    "RootFnOutput",
    "SearchSummary",
    "Tree",
    "gumbel_muzero_policy",
    "muzero_policy",
    "qtransform_by_min_max",
    "qtransform_by_parent_and_siblings",
    "qtransform_completed_by_mix_value",
]
