"""AdaStop against the adastop package (0.1.3) on fixed data sets and seeds."""

import warnings

import numpy as np
import pytest

from turborl.eval.adastop import MultipleAgentsComparator

adastop = pytest.importorskip("adastop")


def run(cls, data, n, K=5, seed=0, beta=0.0, alpha=0.05, B=10000):
    comparator = cls(n=n, K=K, B=B, alpha=alpha, beta=beta, seed=seed)
    history = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in range(K):
            comparator.partial_compare({name: values[: (k + 1) * n] for name, values in data.items()}, False)
            history.append(dict(comparator.decisions))
            if comparator.is_finished:
                break
    return comparator, history


def data_for(means, n, seed, K=5):
    rng = np.random.default_rng(seed)
    return {f"agent{i}": rng.normal(m, 1.0, n * K) for i, m in enumerate(means)}


@pytest.mark.parametrize("means", [[0, 0], [0, 3], [0, 0, 0, 0], [0, 2, 4, 6]])
@pytest.mark.parametrize("n", [5, 10])
@pytest.mark.parametrize("beta", [0.0, 0.01])
def test_final_decisions_equal_adastops(means, n, beta):
    # adastop loops over permutations in Python: B = 2000 keeps this test quick (same B for both).
    seed = len(means) + n
    data = data_for(means, n, seed)
    ours, our_history = run(MultipleAgentsComparator, data, n, seed=seed, beta=beta, B=2000)
    theirs, their_history = run(adastop.MultipleAgentsComparator, data, n, seed=seed, beta=beta, B=2000)
    assert our_history[-1] == their_history[-1]
    assert ours.is_finished == theirs.is_finished


class SameDrawsAsAdastop(MultipleAgentsComparator):
    """Draws the random permutations exactly as adastop 0.1.3 does (RandomState(seed), identity
    first), so that everything else (pruning, boundaries, spending, step-down) can be compared
    with adastop number for number."""

    def _masks(self, n_total, n_first, count, exhaustive, comparison_index):
        if exhaustive:
            return super()._masks(n_total, n_first, count, exhaustive, comparison_index)
        if not hasattr(self, "_numpy_rng"):
            self._numpy_rng = np.random.RandomState(self.seed)
        masks = np.zeros((count, n_total), dtype=np.uint8)
        masks[0, :n_first] = 1
        for row in range(1, count):
            masks[row, self._numpy_rng.permutation(n_total)[:n_first]] = 1
        return masks


@pytest.mark.parametrize("means, n, seed, B", [([0, 0.3], 10, 7, 2000), ([0, 0.3], 10, 2, 2000),
                                               ([0, 0.5, 0.5], 10, 3, 2000), ([0, 0.4], 4, 1, 10000)])
def test_same_permutations_give_adastops_boundaries_and_decisions_exactly(means, n, seed, B):
    # Borderline differences, where a decision hangs on the Monte-Carlo draws: with adastop's own
    # draws every boundary and decision must be adastop's. (n = 4: C(8, 4) = 70 exhaustive permutations
    # at the first interim, all 70^2 pairs at the second as B = 10000 > 4900, random draws after that.)
    data = data_for(means, n, seed)
    ours, our_history = run(SameDrawsAsAdastop, data, n, seed=seed, B=B)
    theirs, their_history = run(adastop.MultipleAgentsComparator, data, n, seed=seed, B=B)
    assert our_history == their_history
    assert ours.boundary == theirs.boundary
    assert ours.level_spent == theirs.level_spent


def test_clear_differences_are_found_and_equal_agents_are_not_told_apart():
    data = data_for([0, 0, 5], 10, seed=1)
    comparator, history = run(MultipleAgentsComparator, data, 10, seed=1)
    final = history[-1]
    assert final["[0 2]"] == "smaller" and final["[1 2]"] == "smaller"
    assert final["[0 1]"] == "equal"
    assert len(history) < 5 or comparator.decisions["[0 1]"] == "equal"  # stops early once decided


def test_exhaustive_first_interim_gives_adastops_boundary_exactly():
    # n = 5: C(10, 5) = 252 < B, so both use all permutations at the first interim.
    data = data_for([0, 0.5, 1.0], 5, seed=4)
    ours, _ = run(MultipleAgentsComparator, data, 5, K=1)
    theirs, _ = run(adastop.MultipleAgentsComparator, data, 5, K=1)
    assert ours.boundary[0] == pytest.approx(theirs.boundary[0], rel=0, abs=0)
    assert ours.decisions == theirs.decisions
    assert ours.level_spent == theirs.level_spent


def test_results_and_state_round_trip():
    data = data_for([0, 4], 5, seed=2)
    comparator, _ = run(MultipleAgentsComparator, data, 5)
    rows = comparator.results_rows()
    assert rows[0]["decisions"] == comparator.decisions["[0 1]"]
    assert rows[0]["mean diff"] == pytest.approx(np.mean(comparator.eval_values["agent0"])
                                                 - np.mean(comparator.eval_values["agent1"]))
    restored = MultipleAgentsComparator.from_state(comparator.to_state())
    assert restored.to_state() == comparator.to_state()


def test_state_continues_exactly_like_the_original():
    data = data_for([0, 0.4, 0.8], 10, seed=5)
    whole = MultipleAgentsComparator(n=10, K=4, alpha=0.05, seed=3)
    resumed = MultipleAgentsComparator(n=10, K=4, alpha=0.05, seed=3)
    for k in range(4):
        block = {name: values[: (k + 1) * 10] for name, values in data.items()}
        whole.partial_compare(block)
        resumed = MultipleAgentsComparator.from_state(resumed.to_state())
        resumed.partial_compare(block)
        assert resumed.decisions == whole.decisions and resumed.boundary == whole.boundary
        if whole.is_finished:
            break
