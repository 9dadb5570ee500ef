"""The effective-horizon analysis against the numbers the authors published for three BRIDGE MDPs,
and against answers worked out by hand on bandits, a decoy MDP and combination locks."""

import math
from pathlib import Path

import numpy as np
import pytest

from turborl.planning import TabularMDP, enumerate_mdp, reachable_states
from turborl.planning.effective_horizon import effective_horizon, greedy_returns, min_k

DATA = Path(__file__).parent / "data"

# From consolidated_analyzed.json (analyze_mdp.jl) in the effective-horizon repository's data/mdps.
PUBLISHED = {
    "MiniGrid-KeyCorridorS3R1-v0": dict(
        min_k=1, epw=15, bound=16.0,
        ms=[6667295335345, 1392035355359, 278809136916, 54268730212, 10344878490, 3881656204, 719169930,
            131899527, 23989567, 4332647, 1555678, 277857, 49406, 17501, 3089, 1],
        gaps=[1.7014579925843832e-11, 1.02087479555063e-10, 6.12524877330378e-10, 3.6751492639822676e-09,
              2.2050895583893606e-08, 6.615268675168082e-08, 3.9691612051008487e-07, 2.381496723060509e-06,
              1.4288980338363054e-05, 8.573388203017832e-05, 0.00025720164609053495, 0.0015432098765432098,
              0.009259259259259259, 0.027777777777777776, 0.16666666666666666, None],
        variances=[1.7014579925843832e-11, 1.02087479555063e-10, 6.12524877330378e-10, 3.6751492639822676e-09,
                   2.2050895583893606e-08, 6.615268675168082e-08, 3.9691612051008487e-07, 2.381496723060509e-06,
                   1.4288980338363054e-05, 8.573388203017832e-05, 0.00025720164609053495, 0.0015432098765432098,
                   0.009259259259259259, 0.027777777777777776, 0.16666666666666666, 0.771653863289306]),
    "freeway_10_fs30": dict(
        min_k=1, epw=6, bound=8.0, ms=[5307, 2244, 1020, 505, 262, 69, 57, 1],
        gaps=[0.012345679012345678, 0.037037037037037035, 0.09876543209876544, 0.23456790123456792,
              0.5185185185185185, 1.0, 1.0, None],
        variances=[0.012345679012345678, 0.037037037037037035, 0.09876543209876544, 0.23456790123456792,
                   0.5185185185185185, 0.4444444444444444, 0.3333333333333333, 0.4444444444444444]),
    "maze_easy_l0_30_fs1": dict(
        min_k=1, epw=1, bound=5.0, ms=[73385, 11002, 4617, 1856, 1],
        gaps=[0.013717421124828533, 0.1234567901234568, 0.3703703703703704, 1.1111111111111112, None],
        variances=[0.13717421124828533, 1.234567901234568, 3.703703703703704, 11.11111111111111,
                   57.24248088445204]),
}
# From consolidated_analyzed_sticky_0.25.json (analyze_sticky_actions.jl). Its num_states also counts
# the terminal state paired with each previous action, which turborl's MDPs do not store as states.
PUBLISHED_STICKY = {
    "MiniGrid-KeyCorridorS3R1-v0": dict(min_k=1, epw=16, optimal=0.999999999999998, random=0.0010068890119441542,
                                        worst=0.0, greedy=[1.0] * 5, states=967),
    "freeway_10_fs30": dict(min_k=1, epw=6, optimal=1.0, random=0.031809488932291664, worst=0.0,
                            greedy=[1.0] * 5, states=322),
    "maze_easy_l0_30_fs1": dict(min_k=1, epw=1, optimal=10.0, random=5.5408607728269175, worst=0.0,
                                greedy=[10.0] * 5, states=1229),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_bridge_mdps_match_the_published_analysis(name):
    expected = PUBLISHED[name]
    result = effective_horizon(TabularMDP.load_npz(DATA / f"{name}.npz"))
    assert (result.min_k, result.planning_window, result.bound) == (expected["min_k"], expected["epw"],
                                                                    expected["bound"])
    assert list(result.m) == expected["ms"]
    assert result.ks == tuple(range(1, len(expected["ms"]) + 1))
    gaps = [None if math.isinf(gap) else gap for gap in result.gaps]
    for ours, theirs in zip(gaps, expected["gaps"]):
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            assert ours == pytest.approx(theirs, rel=1e-9)
    np.testing.assert_allclose(result.variances, expected["variances"], rtol=1e-9)


@pytest.mark.parametrize("name", sorted(PUBLISHED_STICKY))
def test_sticky_bridge_mdps_match_the_published_analysis(name):
    expected = PUBLISHED_STICKY[name]
    mdp = TabularMDP.load_npz(DATA / f"{name}.npz").sticky_actions(0.25)
    assert min_k(mdp) == expected["min_k"]
    assert min_k(mdp, start_with_rewards=True) == expected["epw"]
    result = effective_horizon(mdp, max_k=1)
    assert result.optimal_return == pytest.approx(expected["optimal"], rel=1e-12)
    assert result.random_return == pytest.approx(expected["random"], rel=1e-12)
    assert result.worst_return == expected["worst"]
    np.testing.assert_allclose(greedy_returns(mdp), expected["greedy"], rtol=1e-12)
    num_terminal_pairs = expected["states"] - reachable_states(mdp).any(axis=0).sum()
    assert 0 <= num_terminal_pairs <= mdp.num_actions  # (terminal, previous action) pairs counted there


def bandit(arm_rewards, horizon):
    """One pull, then the episode ends (the horizon only bounds the analysis)."""
    arms = np.asarray(arm_rewards, dtype=float)[None]
    return TabularMDP(np.full(arms.shape, -1), arms, horizon=horizon)


def test_a_bandit_is_solved_by_greedy_rewards():
    result = effective_horizon(bandit([0.1, 0.7, 0.3], horizon=3))
    # Q^rand = R: greedy is optimal at k = 1 from either start; returns are deterministic, so the
    # variance bound is 0, one episode per action suffices and H_1 = 1.
    assert (result.min_k, result.planning_window, result.bound) == (1, 1, 1.0)
    assert result.m == (1,) and result.gaps == (pytest.approx(0.4),) and result.variances == (0.0,)
    # The bound's loop runs while k is below the best bound so far, which starts at T: with T = 1
    # it examines nothing and the bound is T (as the authors' code).
    assert effective_horizon(bandit([0.1, 0.7], horizon=1)).ks == ()


def decoy_mdp():
    """Two steps, three actions: action 0 leads to state 1 where one action of three pays 1;
    action 1 to state 2 where every action pays 0.4; action 2 to state 3 where nothing pays."""
    transitions = np.array([[1, 2, 3], [-1, -1, -1], [-1, -1, -1], [-1, -1, -1]])
    rewards = np.array([[0, 0, 0], [0, 0, 1], [0.4, 0.4, 0.4], [0, 0, 0]], dtype=float)
    return TabularMDP(transitions, rewards, horizon=2)


def test_the_decoy_needs_one_step_of_planning():
    result = effective_horizon(decoy_mdp())
    # Q^rand(0, .) = (1/3, 0.4, 0): greedy takes the decoy; one backup gives (1, 0.4, 0).
    assert result.min_k == 2 and result.planning_window == 2
    # k = 1 is not solvable, so the bound starts at k = 2 (deterministic returns after two fixed
    # actions: variance 0, m = 1, H_2 = 2 = T).
    assert result.ks == () and result.bound == 2.0
    # min_k = 2 is found where no bound is checked any more (k = 2 is not < T = 2); with max_k = 1
    # it is not found at all, and the bound stays T.
    assert min_k(decoy_mdp()) == 2
    capped = effective_horizon(decoy_mdp(), max_k=1)
    assert capped.min_k is None and capped.planning_window is None and capped.bound == 2.0


@pytest.mark.parametrize("length", [4, 7, 10])
def test_combination_lock_answers_worked_out_by_hand(length):
    mdp = enumerate_mdp("CombinationLock-v0", length, length=length)
    result = effective_horizon(mdp)
    # Q^rand of the right digit at step t is 2^-(T-1-t) > 0 = the wrong digit's: k = 1 suffices.
    assert result.min_k == 1
    # Starting from the rewards, only k = T backups carry the final reward back to step 0.
    assert result.planning_window == length
    # k = 1: at step t on the path, gap = 2^-(T-1-t) and sigma^2 = (Q^rand - 0)(Q* - 0) = 2^-(T-1-t);
    # m(t) = ceil(16 * 2^(T-1-t) * ln(2 T 2)), largest at t = 0.
    m1 = math.ceil(16 * 2.0 ** (length - 1) * math.log(2 * length * 2))
    assert result.ks[0] == 1 and result.m[0] == m1
    assert result.gaps[0] == 2.0 ** -(length - 1) and result.variances[0] == 2.0 ** -(length - 1)
    assert result.horizons[0] == pytest.approx(1 + math.log2(m1))
    assert result.bound == min(float(length), min(result.horizons))
    assert result.optimal_return == 1.0 and result.random_return == 2.0**-length and result.worst_return == 0.0


def test_min_k_respects_max_k_and_results_do_not_depend_on_threads():
    mdp = TabularMDP.load_npz(DATA / "MiniGrid-KeyCorridorS3R1-v0.npz")
    assert min_k(mdp, start_with_rewards=True, max_k=10) is None
    assert min_k(mdp, start_with_rewards=True, max_k=15) == 15
    assert effective_horizon(mdp, num_threads=1) == effective_horizon(mdp, num_threads=2)


def test_effective_horizon_needs_a_horizon():
    mdp = TabularMDP(np.array([[0]]), np.array([[1.0]]), gamma=0.5)
    with pytest.raises(ValueError, match="finite-horizon MDPs: pass horizon=T"):
        effective_horizon(mdp)
