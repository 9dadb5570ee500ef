"""Sampling distributions, importance weights, priority updates and the sum tree."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turborl import _core
from turborl.replay import PrioritizedReplayBuffer, ReplayBuffer

SPEC = {"obs": ((), np.int64), "action": ((), np.int64), "reward": ((), np.float32),
        "terminated": ((), bool), "truncated": ((), bool)}


def chi_square_limit(dof, z=4.75):
    """Wilson-Hilferty approximation of the chi-square quantile at p = 1 - 1e-6 (z = 4.75)."""
    return dof * (1 - 2 / (9 * dof) + z * math.sqrt(2 / (9 * dof))) ** 3


def fill(buffer, steps, num_envs=1, done_every=None):
    """Adds steps whose obs is the row number, ending an episode every `done_every` steps."""
    for t in range(steps):
        done = done_every is not None and t % done_every == done_every - 1
        buffer.add(obs=np.full(num_envs, t), action=np.zeros(num_envs, np.int64),
                   reward=np.ones(num_envs, np.float32), terminated=np.full(num_envs, done),
                   truncated=np.zeros(num_envs, bool))


def test_uniform_sampling_is_uniform_over_transitions_and_never_picks_reset_rows():
    buffer = ReplayBuffer(1000, SPEC, seed=1)
    fill(buffer, 201, done_every=5)  # rows 5, 10, ... reset; row 200 has no next obs yet
    transitions = [t for t in range(200) if not (t > 0 and t % 5 == 0)]
    assert buffer.num_sampleable == len(transitions)
    counts = np.zeros(201, dtype=np.int64)
    for _ in range(1250):
        counts += np.bincount(buffer.sample(160).obs, minlength=201)
    assert counts[[t for t in range(201) if t not in transitions]].sum() == 0
    observed = counts[transitions]
    expected = observed.sum() / len(transitions)
    assert ((observed - expected) ** 2 / expected).sum() < chi_square_limit(len(transitions) - 1)


def prioritized_with(priorities, alpha=0.6, eps=1e-6, seed=0):
    buffer = PrioritizedReplayBuffer(1024, SPEC, seed=seed, alpha=alpha, eps=eps)
    fill(buffer, len(priorities) + 1)
    indices = np.arange(len(priorities))
    buffer.sample(1)  # update_priorities applies to slots unchanged since the last sample
    buffer.update_priorities(indices, priorities)
    return buffer


def test_prioritized_frequencies_follow_priority_to_the_alpha():
    rng = np.random.default_rng(0)
    priorities = rng.uniform(0.0, 3.0, 100)
    priorities[[3, 50]] = 0.0  # only eps keeps these alive
    alpha, eps = 0.7, 1e-2
    buffer = prioritized_with(priorities, alpha, eps)
    counts = np.zeros(101, dtype=np.int64)
    for _ in range(1000):
        counts += np.bincount(buffer.sample(100).obs, minlength=101)
    assert counts[100] == 0  # the newest row is no transition yet
    probability = (priorities + eps) ** alpha
    probability /= probability.sum()
    expected = counts.sum() * probability
    assert ((counts[:100] - expected) ** 2 / expected).sum() < chi_square_limit(99)


def test_importance_weights_are_normalised_by_the_largest():
    priorities = np.linspace(0.5, 5.0, 50)
    alpha, beta, eps = 0.6, 0.4, 1e-6
    buffer = prioritized_with(priorities, alpha, eps)
    batch = buffer.sample(50, beta=beta)
    leaf = (priorities + eps) ** alpha
    total, count = leaf.sum(), len(priorities)
    weights = (count * leaf / total) ** -beta
    expected = weights[batch.obs] / weights.max()  # (N P(i))^-beta / max_j (N P(j))^-beta
    np.testing.assert_allclose(batch.weights, expected, rtol=1e-6)
    assert batch.weights.dtype == np.float32
    assert np.allclose(buffer.sample(50, beta=0.0).weights, 1.0)


def test_stratified_sampling_draws_one_per_segment():
    priorities = np.ones(64)
    buffer = prioritized_with(priorities)
    batch = buffer.sample(64)
    # Equal priorities and 64 equal segments: each slot exactly once, in order.
    assert np.array_equal(np.sort(batch.obs), np.arange(64))


def test_new_transitions_get_the_largest_priority_so_far():
    buffer = prioritized_with(np.array([0.1, 0.2, 7.0]))
    fill(buffer, 2)  # adds obs 0 and 1 again as rows 4, 5: row 3 becomes a transition with priority 7
    leaves = buffer._core.priority_leaves
    assert leaves[3] == pytest.approx((7.0 + 1e-6) ** 0.6)


def test_update_ignores_slots_overwritten_since_the_sample():
    buffer = PrioritizedReplayBuffer(8, SPEC, seed=0)
    fill(buffer, 8)
    batch = buffer.sample(4)
    before = buffer._core.priority_leaves.copy()
    fill(buffer, 3)  # overwrites slots 0, 1, 2
    buffer.update_priorities(np.array([0, 1, 5]), np.array([9.0, 9.0, 9.0]))
    after = buffer._core.priority_leaves
    assert after[5] == pytest.approx(9.0**0.6)  # untouched since the sample: updated
    assert after[0] == before[0] or after[0] == 0.0  # overwritten: not set to 9
    assert after[0] != pytest.approx(9.0**0.6) and after[1] != pytest.approx(9.0**0.6)
    del batch


def test_repeated_indices_in_one_update_last_one_wins():
    buffer = prioritized_with(np.ones(10))
    buffer.sample(1)
    buffer.update_priorities(np.array([4, 4, 4]), np.array([1.0, 8.0, 2.0]))
    assert buffer._core.priority_leaves[4] == pytest.approx((2.0 + 1e-6) ** 0.6)


def test_same_seed_same_samples_and_other_seed_other_samples():
    def draws(seed, cls):
        buffer = cls(500, SPEC, seed=seed)
        fill(buffer, 300, done_every=7)
        return [buffer.sample(32, n_step=2).obs for _ in range(5)]

    for cls in (ReplayBuffer, PrioritizedReplayBuffer):
        assert all(np.array_equal(a, b) for a, b in zip(draws(3, cls), draws(3, cls)))
        assert not all(np.array_equal(a, b) for a, b in zip(draws(3, cls), draws(4, cls)))


def test_as_torch_returns_tensors_sharing_the_output_buffers():
    torch = pytest.importorskip("torch")
    buffer = ReplayBuffer(100, SPEC, seed=0)
    fill(buffer, 50)
    first = buffer.sample(8, as_torch=True)
    assert isinstance(first.obs, torch.Tensor) and first.obs.dtype == torch.int64
    kept = first.obs.clone()
    second = buffer.sample(8, as_torch=True)
    assert second.obs.data_ptr() == first.obs.data_ptr()  # the same preallocated memory
    assert not torch.equal(first.obs, kept) or torch.equal(second.obs, kept)
    numpy_batch = buffer.sample(8)
    assert isinstance(numpy_batch.obs, np.ndarray)
    assert not np.shares_memory(numpy_batch.obs, buffer.sample(8).obs)  # NumPy results are fresh


def test_extras_are_stored_and_returned():
    spec = {**SPEC, "log_prob": ((2,), np.float64)}
    buffer = ReplayBuffer(100, spec, seed=0)
    for t in range(20):
        buffer.add(obs=np.array([t]), action=np.array([0]), reward=np.array([1.0], np.float32),
                   terminated=np.array([False]), truncated=np.array([False]), log_prob=np.array([[t, -t]], float))
    batch = buffer.sample(16)
    assert np.array_equal(batch.extras["log_prob"][:, 0], batch.obs.astype(float))


# ---- the sum tree against NumPy ----------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(1, 300),
    updates=st.lists(st.tuples(st.integers(0, 10_000), st.floats(0, 1e3, allow_nan=False)), min_size=1,
                     max_size=400),
)
def test_sum_tree_totals_minimum_and_search_match_numpy(capacity, updates):
    tree = _core._SumTree(capacity)
    leaves = np.zeros(tree.num_leaves)
    indices = np.array([i % capacity for i, _ in updates], dtype=np.int64)
    values = np.array([v for _, v in updates])
    for chunk in np.array_split(np.arange(len(updates)), 3):  # several batched updates
        tree.set(indices[chunk], values[chunk])
        leaves[indices[chunk]] = values[chunk]  # NumPy assignment: the last repeat wins, as documented
    assert tree.total == pytest.approx(leaves.sum(), rel=1e-12, abs=1e-9)
    positive = leaves[leaves > 0]
    assert tree.min_positive == (positive.min() if positive.size else math.inf)
    if leaves.sum() > 0:
        # Targets lie in [0, total): uniform() can round up to the total itself for tiny totals.
        targets = np.minimum(np.random.default_rng(0).uniform(0, leaves.sum(), 64), np.nextafter(leaves.sum(), 0))
        found = tree.find(targets)
        prefix = np.concatenate([[0.0], np.cumsum(leaves)])
        for target, leaf in zip(targets, found):
            assert prefix[leaf] - 1e-9 <= target <= prefix[leaf + 1] + 1e-9
            # An empty leaf only within rounding of a boundary (the sampler then draws again).
            assert leaves[leaf] > 0 or np.min(np.abs(prefix - target)) <= 1e-9 * max(1.0, leaves.sum())


def test_a_zero_priority_transition_can_be_raised_again():
    buffer = PrioritizedReplayBuffer(64, SPEC, seed=0, eps=0.0)
    fill(buffer, 9)
    buffer.sample(1)
    buffer.update_priorities(np.array([2]), np.array([0.0]))  # never sampled while zero
    assert buffer._core.priority_leaves[2] == 0.0
    buffer.update_priorities(np.array([2]), np.array([3.0]))  # still a transition: raised again
    assert buffer._core.priority_leaves[2] == pytest.approx(3.0**0.6)
    counts = np.bincount(np.concatenate([buffer.sample(8).obs for _ in range(200)]), minlength=10)
    assert counts[2] > 0
