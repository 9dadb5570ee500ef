"""TabularMDP construction, the sticky-actions transform (against a dense NumPy construction), the
BRIDGE npz format, enumerate_mdp and the combination lock."""

import numpy as np
import pytest

import turborl
from turborl.planning import TabularMDP, enumerate_mdp, policy_evaluation, value_iteration


def sticky_reference(probs, rewards, p):
    """Dense probabilities and rewards of the sticky MDP: states (s, prev) = s * A + prev, then the
    start state S * A, whose first action is never replaced (state 0 is the initial state)."""
    num_states, num_actions, _ = probs.shape
    size = num_states * num_actions + 1
    new_probs = np.zeros((size, num_actions, size))
    new_rewards = np.zeros((size, num_actions))
    for s in range(num_states):
        for prev in range(num_actions):
            for a in range(num_actions):
                for executed, weight in ((prev, p), (a, 1 - p)):
                    new_rewards[s * num_actions + prev, a] += weight * rewards[s, executed]
                    for nxt in range(num_states):
                        new_probs[s * num_actions + prev, a, nxt * num_actions + executed] += (
                            weight * probs[s, executed, nxt])
    for a in range(num_actions):
        new_rewards[-1, a] = rewards[0, a]
        for nxt in range(num_states):
            new_probs[-1, a, nxt * num_actions + a] += probs[0, a, nxt]
    return new_probs, new_rewards


@pytest.mark.parametrize("deterministic", [True, False])
def test_sticky_actions_match_dense_construction(deterministic):
    rng = np.random.default_rng(0)
    num_states, num_actions = 6, 3
    rewards = rng.normal(size=(num_states, num_actions))
    if deterministic:
        transitions = rng.integers(-1, num_states, size=(num_states, num_actions))
        probs = np.zeros((num_states, num_actions, num_states))
        s, a = np.nonzero(transitions >= 0)
        probs[s, a, transitions[s, a]] = 1.0
    else:
        probs = rng.random((num_states, num_actions, num_states))
        probs /= probs.sum(axis=-1, keepdims=True)
        transitions = probs
    sticky = TabularMDP(transitions, rewards, horizon=5).sticky_actions(0.25)
    ref_probs, ref_rewards = sticky_reference(probs, rewards, 0.25)
    assert sticky.num_states == num_states * num_actions + 1 and sticky.initial_state == num_states * num_actions
    np.testing.assert_allclose(sticky.transition_matrix(), ref_probs, atol=1e-15)
    np.testing.assert_allclose(sticky.rewards, ref_rewards, atol=1e-15)
    # Values through the kernels equal NumPy backward induction on the dense construction.
    v = np.zeros(len(ref_rewards))
    for _ in range(5):
        v = (ref_rewards + ref_probs @ v).max(axis=1)
    np.testing.assert_allclose(value_iteration(sticky, reachable_only=False).v[0], v, atol=1e-12)


def test_sticky_actions_with_zero_probability_is_the_original_mdp_per_previous_action():
    rng = np.random.default_rng(1)
    transitions = rng.integers(0, 5, size=(5, 2))
    rewards = rng.normal(size=(5, 2))
    mdp = TabularMDP(transitions, rewards, horizon=4)
    sticky = mdp.sticky_actions(0.0)
    base = value_iteration(mdp, reachable_only=False).v
    lifted = value_iteration(sticky, reachable_only=False).v
    np.testing.assert_allclose(lifted[:, :-1].reshape(4, 5, 2), np.repeat(base[:, :, None], 2, axis=2), atol=1e-12)
    np.testing.assert_allclose(lifted[:, -1], base[:, 0], atol=1e-12)


def test_npz_round_trip_in_the_bridge_layout(tmp_path):
    rng = np.random.default_rng(2)
    transitions = rng.integers(-1, 30, size=(30, 4))
    rewards = rng.integers(0, 3, size=(30, 4)).astype(np.float32)
    mdp = TabularMDP(transitions, rewards, horizon=12)
    path = tmp_path / "consolidated.npz"
    mdp.save_npz(path)
    with np.load(path) as archive:
        assert archive["transitions"].dtype == np.int64 and archive["rewards"].dtype == np.float32
        np.testing.assert_array_equal(archive["transitions"], transitions)
    loaded = TabularMDP.load_npz(path)
    assert loaded.horizon == 12 and loaded.gamma == 1.0
    np.testing.assert_array_equal(loaded.next_states, transitions)
    np.testing.assert_array_equal(loaded.rewards, rewards)
    np.testing.assert_array_equal(value_iteration(loaded).q, value_iteration(mdp).q)


def test_load_npz_reads_a_bare_bridge_file(tmp_path):
    path = tmp_path / "consolidated.npz"
    np.savez(path, transitions=np.array([[1, -1], [-1, -1]], dtype=np.int64),
             rewards=np.array([[0, 0.5], [1, 0]], dtype=np.float32))
    mdp = TabularMDP.load_npz(path, horizon=2)
    assert mdp.horizon == 2 and mdp.num_states == 2
    assert value_iteration(mdp).v[0, 0] == 1.0


def test_save_npz_is_atomic_and_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "mdp.npz"
    first = TabularMDP(np.array([[0, -1]]), np.array([[1.0, 2.0]]), horizon=3)
    first.save_npz(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", crash)
    with pytest.raises(OSError):
        TabularMDP(np.array([[-1, -1]]), np.array([[5.0, 6.0]]), horizon=3).save_npz(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["mdp.npz"]


def test_combination_lock_env_follows_its_combination():
    envs = turborl.envs.make_vec("CombinationLock-v0", 1, seed=0, length=6, max_episode_steps=6)
    mdp = enumerate_mdp("CombinationLock-v0", 6, length=6)
    solution = value_iteration(mdp)
    # Walk the optimal plan through the env: reward 1 at the last step, nothing before.
    envs.reset(seed=0)
    state = 0
    rewards = []
    for t in range(6):
        action = int(solution.greedy_actions()[t, state])
        _, reward, terminated, _, _ = envs.step(np.array([action]))
        rewards.append(float(reward[0]))
        state = mdp.next_states[state, action]
    assert rewards == [0.0] * 5 + [1.0] and terminated[0]
    assert solution.v[0, 0] == 1.0
    # 2T - 1 states: on the path at t = 0..T-1, off it at t = 1..T-1.
    assert mdp.num_states == 11
    assert policy_evaluation(mdp).v[0, 0] == pytest.approx(2.0**-6)


def test_combination_lock_combinations_differ_by_seed_and_cover_all_digits():
    def plan(seed, env_id="CombinationLock-A4-v0"):
        mdp = enumerate_mdp(env_id, 40, length=40, combination_seed=seed)
        return value_iteration(mdp).greedy_actions()[np.arange(40), _on_path_states(mdp)]

    a, b = plan(0), plan(1)
    assert not np.array_equal(a, b)
    assert set(np.concatenate([a, b]).tolist()) == {0, 1, 2, 3}


def _on_path_states(mdp):
    """The on-path state at each timestep (the one that keeps value 1)."""
    result = value_iteration(mdp)
    return np.nanargmax(np.nan_to_num(result.v, nan=-1.0), axis=1)


def test_enumerate_mdp_refuses_box_actions_and_too_many_states():
    with pytest.raises(ValueError, match="discrete actions"):
        enumerate_mdp("Quadrotor-L2F-v0")
    with pytest.raises(ValueError, match="max_states"):
        enumerate_mdp("CombinationLock-v0", 10, max_states=5)
    with pytest.raises(ValueError, match="max_states"):
        enumerate_mdp("CartPole-v1", 50, max_states=1000)  # continuous states never merge


def test_enumerate_mdp_detects_a_stochastic_env(monkeypatch):
    # No native discrete env has stochastic steps yet: make the second expansion differ.
    from turborl.planning import enumerate as enumeration

    real_expand = enumeration._expand

    def noisy_expand(envs, states, actions, num_actions, seed_offset=0):
        next_states, rewards, ended = real_expand(envs, states, actions, num_actions, seed_offset)
        return next_states, rewards + seed_offset, ended

    monkeypatch.setattr(enumeration, "_expand", noisy_expand)
    with pytest.raises(ValueError, match="not deterministic"):
        enumerate_mdp("CombinationLock-v0", 3)
    assert enumerate_mdp("CombinationLock-v0", 3, verify_determinism=False).num_states == 7
