"""Search policies with mctx's signatures (mctx/_src/policies.py): MuZero and Gumbel MuZero.

Ported code changes its import: ``rng_key`` is an int seed or a ``numpy.random.Generator``
instead of a JAX key, arrays are NumPy arrays or torch tensors, and ``loop_fn`` does not exist
(the loop is C++). ``recurrent_fn(params, rng_key, action, embedding)`` receives a Generator as
its ``rng_key``, ``action`` as ``[B]`` int32 and is called exactly once per simulation.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from turborl import _checks
from turborl.mcts import _search
from turborl.mcts.base import PolicyOutput, RootFnOutput
from turborl.mcts.qtransforms import (qtransform_by_parent_and_siblings, qtransform_completed_by_mix_value)
from turborl.mcts.tree import Tree

_TINY = np.finfo(np.float32).tiny


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    return (shifted / np.sum(shifted, axis=-1, keepdims=True)).astype(np.float32)


def _logits_from_probs(probs: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(probs, _TINY)).astype(np.float32)


def _sample_categorical(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One draw per row from softmax(logits), by inverting the CDF in float64."""
    logits = logits.astype(np.float64)
    probs = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    cdf = np.cumsum(probs, axis=-1)
    u = rng.random(len(logits))[:, None] * cdf[:, -1:]
    return np.minimum(np.sum(cdf <= u, axis=-1), logits.shape[-1] - 1).astype(np.int32)


def muzero_policy(params: Any, rng_key: Any, root: RootFnOutput, recurrent_fn: Callable, num_simulations: int,
                  invalid_actions: Optional[Any] = None, max_depth: Optional[int] = None, *,
                  qtransform: Callable = qtransform_by_parent_and_siblings, dirichlet_fraction: float = 0.25,
                  dirichlet_alpha: float = 0.3, pb_c_init: float = 1.25, pb_c_base: float = 19652,
                  temperature: float = 1.0, num_threads: int = 1, search_tree: Optional[Tree] = None) -> PolicyOutput:
    """Runs MuZero's search (Schrittwieser et al. 2020, "Mastering Atari, Go, chess and shogi by
    planning with a learned model": pUCT selection of Appendix B, Dirichlet noise at the root)
    and returns the proposed action, the visit distribution and the tree.

    Args:
      params: passed to ``recurrent_fn`` unchanged.
      rng_key: an int seed or a ``numpy.random.Generator`` (consumed).
      root: ``RootFnOutput`` with prior_logits ``[B, A]``, value ``[B]``, embedding ``[B, ...]``.
      recurrent_fn: ``(params, rng, action [B], embedding [B, ...]) -> (RecurrentFnOutput,
        embedding)``, called once per simulation on the whole batch.
      num_simulations: simulations per tree (>= 1).
      invalid_actions: ``[B, A]`` mask of the root's invalid actions (true or 1 = invalid).
      max_depth: the deepest edge a simulation may evaluate, counted from the root (default:
        no limit; mctx's num_simulations). A simulation stopped there re-evaluates the node it
        reached, which resets that node's value, as in mctx.
      qtransform: a transform from ``turborl.mcts`` (or ``functools.partial`` of one).
      dirichlet_fraction, dirichlet_alpha: the root noise ``(1 - f) * prior + f * Dir(alpha)``.
      pb_c_init, pb_c_base: c_1 and c_2 of pUCT.
      temperature: the action is sampled from ``visit_counts ** (1 / temperature)``; 0 acts
        greedily.
      num_threads: threads over trees (beyond mctx); results do not depend on it.
      search_tree: ``previous.search_tree.subtree(action)`` to continue from the subtree of the
        action taken (beyond mctx): its statistics are kept, the root takes this call's
        (noised, masked) prior, and ``num_simulations`` more nodes are added. ``root`` must
        describe the same states; its value and embedding are used where the subtree is empty.

    Returns:
      ``PolicyOutput``: action ``[B]`` int32, action_weights ``[B, A]`` (the visit
      probabilities), search_tree.
    """
    rng = _search.generator(rng_key)
    logits, value, invalid = _search.check_root(root, invalid_actions)
    dirichlet_fraction = _checks.finite_float("dirichlet_fraction", dirichlet_fraction)
    if not 0.0 <= dirichlet_fraction <= 1.0:
        raise ValueError(f"dirichlet_fraction must be in [0, 1], got {dirichlet_fraction}")
    dirichlet_alpha = _checks.finite_float("dirichlet_alpha", dirichlet_alpha)
    if dirichlet_alpha <= 0.0:
        raise ValueError(f"dirichlet_alpha must be positive, got {dirichlet_alpha}")
    temperature = _checks.finite_float("temperature", temperature)
    if temperature < 0.0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    pb_c_init = _checks.finite_float("pb_c_init", pb_c_init)
    pb_c_base = _checks.finite_float("pb_c_base", pb_c_base)
    if pb_c_base <= 0.0:
        raise ValueError(f"pb_c_base must be positive, got {pb_c_base}")

    batch_size, num_actions = logits.shape
    probs = _softmax(logits)
    if dirichlet_fraction > 0.0:
        noise = rng.dirichlet(np.full(num_actions, dirichlet_alpha), size=batch_size).astype(np.float32)
        probs = ((1 - dirichlet_fraction) * probs + dirichlet_fraction * noise).astype(np.float32)
    root_logits = _search.mask_invalid_actions(_logits_from_probs(probs), invalid)

    tree = _search.run_search(
        params=params, rng=rng, root=root, root_logits=root_logits, root_value=value, root_invalid=invalid,
        recurrent_fn=recurrent_fn, num_simulations=num_simulations, max_depth=max_depth,
        algorithm=_search.MUZERO, qtransform=qtransform, pb_c_init=pb_c_init, pb_c_base=pb_c_base,
        num_threads=num_threads, search_tree=search_tree)

    action_weights = tree.summary().visit_probs
    # mctx's _apply_temperature: the max is subtracted first, and temperature 0 divides by the
    # smallest normal float32 instead (greedy); float64 holds the quotient without overflow.
    action_logits = _logits_from_probs(action_weights).astype(np.float64)
    action_logits = (action_logits - np.max(action_logits, axis=-1, keepdims=True)) / max(float(_TINY), temperature)
    action = _sample_categorical(rng, action_logits)
    return PolicyOutput(action=action, action_weights=action_weights, search_tree=tree)


def gumbel_muzero_policy(params: Any, rng_key: Any, root: RootFnOutput, recurrent_fn: Callable,
                         num_simulations: int, invalid_actions: Optional[Any] = None,
                         max_depth: Optional[int] = None, *,
                         qtransform: Callable = qtransform_completed_by_mix_value,
                         max_num_considered_actions: int = 16, gumbel_scale: float = 1.0,
                         num_threads: int = 1) -> PolicyOutput:
    """Runs Full Gumbel MuZero's search (Danihelka, Guez, Schrittwieser & Silver 2022, "Policy
    improvement by planning with Gumbel"): Sequential Halving with Gumbel at the root, the
    deterministic selection of Section 5 at interior nodes, and the completed-Q policy target.

    Args as ``muzero_policy``, and:
      max_num_considered_actions: actions sampled without replacement (by Gumbel-top-k) at the
        root; fewer when fewer actions are valid.
      gumbel_scale: scale of the Gumbel noise; 0 makes the search deterministic (evaluation).

    Returns:
      ``PolicyOutput``: action ``[B]`` int32 (the best considered action by gumbel + logits +
      completed Q), action_weights ``[B, A]`` = softmax(logits + completed Q), search_tree
      (its ``extra_data.root_gumbel`` holds the noise).
    """
    rng = _search.generator(rng_key)
    logits, value, invalid = _search.check_root(root, invalid_actions)
    max_num_considered_actions = _checks.int_at_least("max_num_considered_actions", max_num_considered_actions, 1)
    gumbel_scale = _checks.finite_float("gumbel_scale", gumbel_scale)
    if gumbel_scale < 0.0:
        raise ValueError(f"gumbel_scale must be >= 0, got {gumbel_scale}")

    root_logits = _search.mask_invalid_actions(logits, invalid)
    gumbel = (np.float32(gumbel_scale) * rng.gumbel(size=root_logits.shape).astype(np.float32)).astype(np.float32)
    tree = _search.run_search(
        params=params, rng=rng, root=root, root_logits=root_logits, root_value=value, root_invalid=invalid,
        recurrent_fn=recurrent_fn, num_simulations=num_simulations, max_depth=max_depth,
        algorithm=_search.GUMBEL_MUZERO, qtransform=qtransform,
        max_num_considered_actions=max_num_considered_actions, root_gumbel=gumbel, num_threads=num_threads)

    visit_counts = tree.children_visits[:, tree.ROOT_INDEX]
    completed_qvalues = qtransform(tree, tree.ROOT_INDEX)
    # Act with the best of the most visited actions, as mctx: their visit counts can differ
    # between trees with different numbers of valid actions.
    considered_visit = np.max(visit_counts, axis=-1, keepdims=True)
    shifted = root_logits - np.max(root_logits, axis=-1, keepdims=True)
    scores = np.maximum(np.float32(-1e9), gumbel + shifted + completed_qvalues)
    scores = np.where(visit_counts == considered_visit, scores, -np.inf)
    if invalid is not None:
        scores = np.where(invalid, -np.inf, scores)
    action = np.argmax(scores, axis=-1).astype(np.int32)
    action_weights = _softmax(_search.mask_invalid_actions(root_logits + completed_qvalues, invalid))
    return PolicyOutput(action=action, action_weights=action_weights, search_tree=tree)
