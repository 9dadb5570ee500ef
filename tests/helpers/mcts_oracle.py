"""A deterministic model and the search cases on which turborl.mcts is compared with mctx.

The model is a fixed random linear map over a small embedding, evaluated in NumPy float32 for
both libraries (mctx calls it through jax.pure_callback), so the two searches see identical
model outputs and any difference comes from the search itself. No noise: dirichlet_fraction=0
for MuZero and gumbel_scale=0 for Gumbel MuZero.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import numpy as np

EMBEDDING_DIM = 4

# The arrays of a Tree that both libraries share, by mctx's names.
TREE_FIELDS = ("node_visits", "raw_values", "node_values", "parents", "action_from_parent", "children_index",
               "children_prior_logits", "children_visits", "children_rewards", "children_discounts",
               "children_values", "root_invalid_actions")


@dataclass(frozen=True)
class Case:
    name: str
    policy: str  # "muzero" or "gumbel"
    batch_size: int
    num_actions: int
    num_simulations: int
    seed: int
    invalid: bool = False  # random root masks with at least one valid action
    max_depth: Optional[int] = None
    discount: float = 0.95  # -1 for two-player games
    qtransform: str = "default"  # or "min_max", "parent_siblings", "mix_raw" (use_mixed_value=False)
    max_num_considered_actions: int = 16


CASES = [
    Case("muzero_b1_a2_s1", "muzero", 1, 2, 1, seed=1),
    Case("muzero_b4_a5_s30", "muzero", 4, 5, 30, seed=2),
    Case("muzero_b8_a16_s64_invalid", "muzero", 8, 16, 64, seed=3, invalid=True),
    Case("muzero_b1_a64_s200", "muzero", 1, 64, 200, seed=4),
    Case("muzero_b3_a8_s50_depth3", "muzero", 3, 8, 50, seed=5, max_depth=3),
    Case("muzero_b5_a3_s80_depth2_invalid", "muzero", 5, 3, 80, seed=6, invalid=True, max_depth=2),
    Case("muzero_b4_a6_s40_two_player", "muzero", 4, 6, 40, seed=7, discount=-1.0),
    Case("muzero_b3_a7_s40_min_max", "muzero", 3, 7, 40, seed=8, qtransform="min_max"),
    Case("muzero_b2_a9_s60_mix_value", "muzero", 2, 9, 60, seed=9, qtransform="mix_raw"),
    Case("gumbel_b1_a2_s1", "gumbel", 1, 2, 1, seed=11),
    Case("gumbel_b4_a5_s30", "gumbel", 4, 5, 30, seed=12),
    Case("gumbel_b8_a16_s64_invalid", "gumbel", 8, 16, 64, seed=13, invalid=True),
    Case("gumbel_b1_a64_s200", "gumbel", 1, 64, 200, seed=14),
    Case("gumbel_b3_a8_s50_depth3", "gumbel", 3, 8, 50, seed=15, max_depth=3),
    Case("gumbel_b5_a3_s80_depth1_invalid", "gumbel", 5, 3, 80, seed=16, invalid=True, max_depth=1),
    Case("gumbel_b4_a6_s40_two_player", "gumbel", 4, 6, 40, seed=17, discount=-1.0),
    Case("gumbel_b6_a20_s100_considered4", "gumbel", 6, 20, 100, seed=18, invalid=True, max_num_considered_actions=4),
    Case("gumbel_b3_a7_s40_parent_siblings", "gumbel", 3, 7, 40, seed=19, qtransform="parent_siblings"),
]


class LinearModel:
    """embedding' = tanh(W[action] @ embedding + c[action]); logits, value and reward are linear
    in it. The offsets c keep deep states away from the fixed point 0, where all logits and
    values would tie and mctx's random tie-breaking (noise of 1e-7) would decide the search."""

    def __init__(self, num_actions: int, seed: int, discount: float):
        rng = np.random.default_rng(seed)
        d = EMBEDDING_DIM
        self.transition = (rng.normal(size=(num_actions, d, d)) / np.sqrt(d)).astype(np.float32)
        self.offset = rng.normal(size=(num_actions, d)).astype(np.float32)
        self.policy = rng.normal(size=(d, num_actions)).astype(np.float32)
        self.value_weights = rng.normal(size=d).astype(np.float32)
        self.reward_weights = (0.5 * rng.normal(size=d)).astype(np.float32)
        self.discount = np.float32(discount)

    def root(self, batch_size: int, seed: int):
        embedding = np.random.default_rng(seed + 1000).normal(size=(batch_size, EMBEDDING_DIM)).astype(np.float32)
        return embedding @ self.policy, embedding @ self.value_weights, embedding

    def step(self, action: np.ndarray, embedding: np.ndarray):
        """(reward, discount, prior_logits, value, next embedding), all float32."""
        action = np.asarray(action).astype(np.int64)
        embedding = np.asarray(embedding, dtype=np.float32)
        next_embedding = np.tanh(np.einsum("bij,bj->bi", self.transition[action], embedding)
                                 + self.offset[action]).astype(np.float32)
        reward = (next_embedding @ self.reward_weights).astype(np.float32)
        discount = np.full(len(action), self.discount, dtype=np.float32)
        return (reward, discount, (next_embedding @ self.policy).astype(np.float32),
                (next_embedding @ self.value_weights).astype(np.float32), next_embedding)


def root_invalid_actions(case: Case) -> Optional[np.ndarray]:
    if not case.invalid:
        return None
    rng = np.random.default_rng(case.seed + 2000)
    mask = rng.random((case.batch_size, case.num_actions)) < 0.4
    mask[np.arange(case.batch_size), rng.integers(0, case.num_actions, case.batch_size)] = False
    return mask


def _qtransform(module, case: Case):
    """The case's qtransform from `module` (turborl.mcts or mctx, which share the names)."""
    if case.qtransform == "default":
        return None
    if case.qtransform == "min_max":
        return functools.partial(module.qtransform_by_min_max, min_value=-2.0, max_value=2.0)
    if case.qtransform == "parent_siblings":
        return module.qtransform_by_parent_and_siblings
    if case.qtransform == "mix_raw":
        return functools.partial(module.qtransform_completed_by_mix_value, use_mixed_value=False, value_scale=0.2)
    raise ValueError(case.qtransform)


def policy_kwargs(module, case: Case) -> dict:
    kwargs = {"num_simulations": case.num_simulations, "max_depth": case.max_depth}
    qtransform = _qtransform(module, case)
    if qtransform is not None:
        kwargs["qtransform"] = qtransform
    if case.policy == "muzero":
        # temperature 0 acts greedily, so the action is comparable wherever the most visited
        # action is unique (mctx breaks ties at random).
        kwargs["dirichlet_fraction"] = 0.0
        kwargs["temperature"] = 0.0
    else:
        kwargs["gumbel_scale"] = 0.0
        kwargs["max_num_considered_actions"] = case.max_num_considered_actions
    return kwargs


def run_turborl(case: Case) -> dict:
    import turborl.mcts as tm

    model = LinearModel(case.num_actions, case.seed, case.discount)
    logits, value, embedding = model.root(case.batch_size, case.seed)

    def recurrent_fn(params, rng, action, embedding):
        reward, discount, prior_logits, value, next_embedding = model.step(action, embedding)
        return tm.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior_logits,
                                    value=value), next_embedding

    policy = tm.muzero_policy if case.policy == "muzero" else tm.gumbel_muzero_policy
    out = policy(None, 0, tm.RootFnOutput(prior_logits=logits, value=value, embedding=embedding), recurrent_fn,
                 invalid_actions=root_invalid_actions(case), **policy_kwargs(tm, case))
    return _flatten(out)


def run_mctx(case: Case) -> dict:
    import jax
    import jax.numpy as jnp
    import mctx

    model = LinearModel(case.num_actions, case.seed, case.discount)
    logits, value, embedding = model.root(case.batch_size, case.seed)
    b, a = case.batch_size, case.num_actions
    shapes = (jax.ShapeDtypeStruct((b,), jnp.float32), jax.ShapeDtypeStruct((b,), jnp.float32),
              jax.ShapeDtypeStruct((b, a), jnp.float32), jax.ShapeDtypeStruct((b,), jnp.float32),
              jax.ShapeDtypeStruct((b, EMBEDDING_DIM), jnp.float32))

    def recurrent_fn(params, rng_key, action, embedding):
        reward, discount, prior_logits, value, next_embedding = jax.pure_callback(model.step, shapes, action,
                                                                                   embedding)
        return mctx.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior_logits,
                                      value=value), next_embedding

    invalid = root_invalid_actions(case)
    policy = mctx.muzero_policy if case.policy == "muzero" else mctx.gumbel_muzero_policy
    out = policy(None, jax.random.PRNGKey(0), mctx.RootFnOutput(prior_logits=jnp.asarray(logits),
                                                                 value=jnp.asarray(value),
                                                                 embedding=jnp.asarray(embedding)),
                 recurrent_fn, invalid_actions=None if invalid is None else jnp.asarray(invalid),
                 **policy_kwargs(mctx, case))
    return _flatten(out)


def _flatten(out) -> dict:
    tree = out.search_tree
    arrays = {name: np.asarray(getattr(tree, name)) for name in TREE_FIELDS}
    arrays["root_invalid_actions"] = arrays["root_invalid_actions"].astype(bool)
    arrays["embeddings"] = np.asarray(tree.embeddings)
    arrays["action_weights"] = np.asarray(out.action_weights)
    arrays["action"] = np.asarray(out.action).astype(np.int32)
    return arrays
