"""Subtree reuse between moves (Tree.subtree and muzero_policy(search_tree=...)), checked by
walking the original and the kept tree side by side, by the backup invariant of MuZero's
running means, and against a fresh search where nothing is kept."""

import numpy as np
import pytest

import turborl.mcts as tm
from helpers.mcts_oracle import LinearModel

B, A = 4, 5


def problem(seed=0):
    model = LinearModel(A, seed, 0.9)
    logits, value, embedding = model.root(B, seed)
    calls = []

    def recurrent_fn(params, rng, action, embedding):
        calls.append(action)
        reward, discount, prior_logits, value, next_embedding = model.step(action, embedding)
        return tm.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior_logits,
                                    value=value), next_embedding

    return model, tm.RootFnOutput(prior_logits=logits, value=value, embedding=embedding), recurrent_fn, calls


def assert_same_subtree(tree, b, old, sub, new):
    """Node `old` of `tree` and node `new` of `sub` carry the same statistics, recursively."""
    for field in ("node_visits", "raw_values", "node_values"):
        assert getattr(sub, field)[b, new] == getattr(tree, field)[b, old], field
    np.testing.assert_array_equal(sub.embeddings[b, new], tree.embeddings[b, old])
    for field in ("children_prior_logits", "children_visits", "children_rewards", "children_discounts",
                  "children_values", "invalid_actions"):
        np.testing.assert_array_equal(getattr(sub, field)[b, new], getattr(tree, field)[b, old], err_msg=field)
    for action in range(A):
        old_child, new_child = tree.children_index[b, old, action], sub.children_index[b, new, action]
        assert (old_child == -1) == (new_child == -1)
        if old_child != -1:
            assert new_child > new, "children are numbered after their parents"
            assert sub.parents[b, new_child] == new and sub.action_from_parent[b, new_child] == action
            assert_same_subtree(tree, b, old_child, sub, new_child)


def test_subtree_keeps_the_chosen_childs_statistics():
    _, root, recurrent_fn, _ = problem()
    out = tm.muzero_policy(None, 0, root, recurrent_fn, 40, max_depth=4)
    action = np.array([0, 1, 2, 3], dtype=np.int32)
    sub = out.search_tree.subtree(action)
    tree = out.search_tree
    for b in range(B):
        child = tree.children_index[b, 0, action[b]]
        if child == -1:
            assert np.all(sub.node_visits[b] == 0) and np.all(sub.children_index[b] == -1)
            continue
        assert sub.parents[b, 0] == -1 and sub.action_from_parent[b, 0] == -1
        assert_same_subtree(tree, b, child, sub, 0)
        used = sub.node_visits[b] > 0
        assert used[:used.sum()].all(), "the kept nodes are numbered without gaps"


def test_continued_search_adds_simulations_and_keeps_running_means():
    model, root, recurrent_fn, calls = problem(seed=1)
    out = tm.muzero_policy(None, 0, root, recurrent_fn, 30, dirichlet_fraction=0.0)
    sub = out.search_tree.subtree(out.action)
    reward, discount, logits, value, embedding = model.step(out.action, root.embedding)
    calls.clear()
    nxt = tm.muzero_policy(None, 1, tm.RootFnOutput(prior_logits=logits, value=value, embedding=embedding),
                           recurrent_fn, 20, dirichlet_fraction=0.0, search_tree=sub)
    assert len(calls) == 20
    tree = nxt.search_tree
    kept = sub.node_visits.shape[1]
    assert tree.node_visits.shape == (B, kept + 20)
    np.testing.assert_array_equal(tree.node_visits[:, 0], sub.node_visits[:, 0] + 20)
    np.testing.assert_array_equal(tree.children_visits[:, 0].sum(axis=-1), tree.node_visits[:, 0] - 1)
    # The root's prior is this move's (log-softmax of its logits, without noise here).
    shifted = logits - logits.max(axis=-1, keepdims=True)
    np.testing.assert_allclose(tree.children_prior_logits[:, 0],
                               shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True)), rtol=1e-5, atol=1e-5)
    # MuZero's backup keeps each node's value the mean of its own value and the returns through
    # its children: v(n) * N(n) = raw(n) + sum_a N(n, a) * (r(n, a) + discount(n, a) * v(child)).
    used = tree.node_visits > 0
    returns = (tree.children_visits * (tree.children_rewards + tree.children_discounts * tree.children_values)).sum(-1)
    np.testing.assert_allclose((tree.node_values * tree.node_visits)[used], (tree.raw_values + returns)[used],
                               rtol=1e-4, atol=1e-4)


def test_an_unexpanded_child_gives_an_empty_tree_and_a_fresh_search():
    _, root, recurrent_fn, _ = problem(seed=2)
    out = tm.muzero_policy(None, 0, root, recurrent_fn, 3)
    unvisited = np.argmin(out.search_tree.children_visits[:, 0], axis=-1)
    assert np.all(out.search_tree.children_index[np.arange(B), 0, unvisited] == -1)
    sub = out.search_tree.subtree(unvisited)
    assert sub.node_visits.shape == (B, 1) and np.all(sub.node_visits == 0)
    continued = tm.muzero_policy(None, 5, root, recurrent_fn, 12, search_tree=sub)
    fresh = tm.muzero_policy(None, 5, root, recurrent_fn, 12)
    for field in ("node_visits", "node_values", "children_index", "children_visits", "embeddings"):
        np.testing.assert_array_equal(getattr(continued.search_tree, field), getattr(fresh.search_tree, field))
    np.testing.assert_array_equal(continued.action, fresh.action)


def test_subtree_and_reuse_reject_bad_input():
    import dataclasses

    _, root, recurrent_fn, _ = problem()
    tree = tm.muzero_policy(None, 0, root, recurrent_fn, 6).search_tree
    with pytest.raises(ValueError, match=r"action must have shape \(4,\), got \(3,\)"):
        tree.subtree(np.zeros(3, np.int32))
    with pytest.raises(ValueError, match=r"action\[2\] = 5 is outside \[0, 5\)"):
        tree.subtree(np.array([0, 1, 5, 0]))
    with pytest.raises(TypeError, match=r"action must be integers, got dtype float64"):
        tree.subtree(np.zeros(4))
    with pytest.raises(TypeError, match=r"search_tree must be a turborl.mcts.Tree"):
        tm.muzero_policy(None, 0, root, recurrent_fn, 6, search_tree={"node_visits": 1})
    sub = tree.subtree(np.zeros(4, np.int32))
    with pytest.raises(ValueError,
                       match=r"search_tree.children_visits must have shape \(4, \d+, 5\), got \(4, \d+, 4\)"):
        tm.muzero_policy(None, 0, root, recurrent_fn, 6,
                         search_tree=dataclasses.replace(sub, children_visits=sub.children_visits[..., :4]))
    # A corrupted tree fails C++'s structure check instead of being trusted.
    broken = tree.subtree(np.zeros(4, np.int32))
    children = broken.children_index.copy()
    children[:, 0, :] = 0  # the root as its own child: a cycle
    with pytest.raises(ValueError, match=r"tree \d: node 0 has child index 0 for action 0"):
        tm.muzero_policy(None, 0, root, recurrent_fn, 6,
                         search_tree=dataclasses.replace(broken, children_index=children))


def test_garbage_after_the_kept_nodes_is_reset_not_followed():
    model, root, recurrent_fn, _ = problem(seed=3)
    out = tm.muzero_policy(None, 0, root, recurrent_fn, 25, dirichlet_fraction=0.0)
    sub = out.search_tree.subtree(out.action)
    counts = np.sum(sub.node_visits > 0, axis=1)
    assert counts.min() < sub.node_visits.shape[1], "some tree must have padding rows"
    import dataclasses

    padding = np.arange(sub.node_visits.shape[1])[None, :] >= counts[:, None]
    garbage = dataclasses.replace(
        sub, children_index=np.where(padding[..., None], 10**6, sub.children_index).astype(np.int32),
        parents=np.where(padding, 10**6, sub.parents).astype(np.int32),
        children_values=np.where(padding[..., None], np.float32(1e30), sub.children_values))
    reward, discount, logits, value, embedding = model.step(out.action, root.embedding)
    next_root = tm.RootFnOutput(prior_logits=logits, value=value, embedding=embedding)
    clean = tm.muzero_policy(None, 1, next_root, recurrent_fn, 10, search_tree=sub)
    dirty = tm.muzero_policy(None, 1, next_root, recurrent_fn, 10, search_tree=garbage)
    for field in ("node_visits", "node_values", "parents", "children_index", "children_values"):
        np.testing.assert_array_equal(getattr(dirty.search_tree, field), getattr(clean.search_tree, field))
