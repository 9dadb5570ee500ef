"""Properties of turborl.mcts beyond the agreement with mctx: the model-call contract,
determinism, thread-count independence, embeddings of any kind, per-node masks, summaries and
Sequential Halving's schedule."""

import math

import numpy as np
import pytest

import turborl.mcts as tm
from helpers.mcts_oracle import EMBEDDING_DIM, LinearModel
from turborl import _core

B, A = 5, 6


def make_problem(batch_size=B, num_actions=A, seed=0, discount=0.9):
    model = LinearModel(num_actions, seed, discount)
    logits, value, embedding = model.root(batch_size, seed)
    calls = []

    def recurrent_fn(params, rng, action, embedding):
        calls.append((np.array(action), np.asarray(embedding).copy()))
        reward, discount, prior_logits, value, next_embedding = model.step(action, embedding)
        return tm.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior_logits,
                                    value=value), next_embedding

    return tm.RootFnOutput(prior_logits=logits, value=value, embedding=embedding), recurrent_fn, calls


POLICIES = {"muzero": tm.muzero_policy, "gumbel": tm.gumbel_muzero_policy}


@pytest.mark.parametrize("policy", POLICIES)
def test_recurrent_fn_is_called_once_per_simulation_with_the_whole_batch(policy):
    root, recurrent_fn, calls = make_problem()
    out = POLICIES[policy](None, 3, root, recurrent_fn, num_simulations=17)
    assert len(calls) == 17
    for action, embedding in calls:
        assert action.shape == (B,) and action.dtype == np.int32
        assert embedding.shape == (B, EMBEDDING_DIM)
    # The embedding handed to the model is the parent's, gathered by index.
    tree = out.search_tree
    for simulation, (action, embedding) in enumerate(calls):
        node = simulation + 1
        parents = tree.parents[np.arange(B), node]
        np.testing.assert_array_equal(embedding, tree.embeddings[np.arange(B), parents])
        np.testing.assert_array_equal(action, tree.action_from_parent[:, node])


@pytest.mark.parametrize("policy", POLICIES)
def test_same_seed_same_search_and_any_thread_count(policy):
    # With noise on (Dirichlet / Gumbel), a seed fixes the search whatever the thread count.
    outs = []
    for num_threads in (1, 1, 3):
        root, recurrent_fn, _ = make_problem(batch_size=37)
        outs.append(POLICIES[policy](None, 11, root, recurrent_fn, num_simulations=25, num_threads=num_threads))
    for out in outs[1:]:
        np.testing.assert_array_equal(out.action, outs[0].action)
        np.testing.assert_array_equal(out.action_weights, outs[0].action_weights)
        for field in ("node_values", "children_visits", "children_index", "children_prior_logits"):
            np.testing.assert_array_equal(getattr(out.search_tree, field), getattr(outs[0].search_tree, field))
    root, recurrent_fn, _ = make_problem(batch_size=37)
    other = POLICIES[policy](None, 12, root, recurrent_fn, num_simulations=25)
    assert not np.array_equal(other.search_tree.children_prior_logits, outs[0].search_tree.children_prior_logits)


def test_generator_is_accepted_and_consumed():
    root, recurrent_fn, _ = make_problem()
    rng = np.random.default_rng(5)
    first = tm.muzero_policy(None, rng, root, recurrent_fn, 8)
    second = tm.muzero_policy(None, rng, root, recurrent_fn, 8)
    again = tm.muzero_policy(None, np.random.default_rng(5), root, recurrent_fn, 8)
    np.testing.assert_array_equal(first.search_tree.children_prior_logits, again.search_tree.children_prior_logits)
    assert not np.array_equal(first.search_tree.children_prior_logits, second.search_tree.children_prior_logits)


def test_torch_and_pytree_embeddings_are_kept_as_given():
    torch = pytest.importorskip("torch")
    model = LinearModel(A, 0, 0.9)
    logits, value, embedding = model.root(B, 0)

    def recurrent_fn(params, rng, action, embedding):
        tensor, extra = embedding["state"], embedding["extra"]
        assert isinstance(tensor, torch.Tensor) and isinstance(extra, tuple)
        reward, discount, prior_logits, value, next_embedding = model.step(action, tensor.numpy())
        return (tm.RecurrentFnOutput(reward=torch.from_numpy(reward), discount=discount,
                                     prior_logits=torch.from_numpy(prior_logits), value=value),
                {"state": torch.from_numpy(next_embedding), "extra": (extra[0] + 1,)})

    root = tm.RootFnOutput(prior_logits=logits, value=value,
                           embedding={"state": torch.from_numpy(embedding), "extra": (np.zeros((B, 2), np.int64),)})
    out = tm.muzero_policy(None, 0, root, recurrent_fn, 12, dirichlet_fraction=0.0)
    stored = out.search_tree.embeddings
    assert isinstance(stored["state"], torch.Tensor) and stored["state"].shape == (B, 13, EMBEDDING_DIM)
    # The extra leaf counts the depth of each node: one more than its parent's.
    depth = stored["extra"][0][:, :, 0]
    parents = out.search_tree.parents
    rows = np.arange(B)[:, None]
    np.testing.assert_array_equal(depth[:, 1:], depth[rows, parents[:, 1:]] + 1)

    root_np, recurrent_np, _ = make_problem()
    reference = tm.muzero_policy(None, 0, root_np, recurrent_np, 12, dirichlet_fraction=0.0)
    np.testing.assert_array_equal(stored["state"].numpy(), reference.search_tree.embeddings)
    np.testing.assert_array_equal(out.search_tree.node_values, reference.search_tree.node_values)


@pytest.mark.parametrize("policy", POLICIES)
def test_per_node_invalid_actions_are_never_expanded(policy):
    model = LinearModel(A, 1, 0.9)
    logits, value, embedding = model.root(B, 1)

    def invalid_for(embedding):  # a deterministic function of the state
        return (np.arange(A)[None, :] + (embedding[:, :1] > 0)) % 2 == 0

    def recurrent_fn(params, rng, action, embedding):
        reward, discount, prior_logits, value, next_embedding = model.step(action, embedding)
        return tm.RecurrentFnOutput(reward=reward, discount=discount, prior_logits=prior_logits, value=value,
                                    invalid_actions=invalid_for(next_embedding)), next_embedding

    root = tm.RootFnOutput(prior_logits=logits, value=value, embedding=embedding)
    out = POLICIES[policy](None, 0, root, recurrent_fn, 60)
    tree = out.search_tree
    interior = tree.invalid_actions[:, 1:]
    np.testing.assert_array_equal(interior, invalid_for(tree.embeddings[:, 1:].reshape(-1, EMBEDDING_DIM))
                                  .reshape(interior.shape))
    assert np.all(tree.children_index[:, 1:][interior] == tm.Tree.UNVISITED)
    assert np.all(tree.children_visits[:, 1:][interior] == 0)
    assert np.all(tree.children_prior_logits[:, 1:][interior] == np.finfo(np.float32).min)
    assert np.any(tree.children_visits[:, 1:] > 0)


def test_summary_and_greedy_action():
    root, recurrent_fn, _ = make_problem()
    out = tm.muzero_policy(None, 0, root, recurrent_fn, 30, dirichlet_fraction=0.0, temperature=0.0)
    summary = out.search_tree.summary()
    np.testing.assert_allclose(summary.visit_probs.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(summary.visit_counts.sum(axis=-1), 30)
    np.testing.assert_array_equal(summary.value, out.search_tree.node_values[:, 0])
    np.testing.assert_array_equal(out.action_weights, summary.visit_probs)
    assert np.all(summary.visit_counts[np.arange(B), out.action] == summary.visit_counts.max(axis=-1))
    tree = out.search_tree
    np.testing.assert_allclose(summary.qvalues, tree.children_rewards[:, 0]
                               + tree.children_discounts[:, 0] * tree.children_values[:, 0])
    with pytest.raises(ValueError):
        tree.node_visits[0, 0] = 5  # read-only, like the frozen dataclass around it


def test_gumbel_action_weights_are_a_distribution_without_invalid_mass():
    root, recurrent_fn, _ = make_problem()
    invalid = np.zeros((B, A), dtype=bool)
    invalid[:, ::2] = True
    out = tm.gumbel_muzero_policy(None, 0, root, recurrent_fn, 20, invalid_actions=invalid)
    np.testing.assert_allclose(out.action_weights.sum(axis=-1), 1.0, rtol=1e-6)
    assert np.all(out.action_weights[invalid] == 0)
    assert not np.any(invalid[np.arange(B), out.action])
    assert np.all(out.search_tree.children_visits[:, 0][invalid] == 0)


def reference_considered_visits(max_num_considered, num_simulations):
    """A transcription of mctx's seq_halving.get_sequence_of_considered_visits."""
    if max_num_considered <= 1:
        return list(range(num_simulations))
    log2max = int(math.ceil(math.log2(max_num_considered)))
    sequence, visits, considered = [], [0] * max_num_considered, max_num_considered
    while len(sequence) < num_simulations:
        for _ in range(max(1, int(num_simulations / (log2max * considered)))):
            sequence.extend(visits[:considered])
            for i in range(considered):
                visits[i] += 1
        considered = max(2, considered // 2)
    return sequence[:num_simulations]


@pytest.mark.parametrize("max_num_considered", [0, 1, 2, 3, 4, 7, 16, 64])
@pytest.mark.parametrize("num_simulations", [1, 2, 5, 16, 50, 200])
def test_sequential_halving_schedule(max_num_considered, num_simulations):
    np.testing.assert_array_equal(_core.mcts_considered_visit_sequence(max_num_considered, num_simulations),
                                  reference_considered_visits(max_num_considered, num_simulations))
