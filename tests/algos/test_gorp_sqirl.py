"""GORP and SQIRL against answers computed by brute force on small tree MDPs (NumPy envs written
here, independent of turborl's), and on the hard-exploration combination lock."""

import itertools

import gymnasium as gym
import numpy as np
import pytest

from turborl.algos.gorp import GORP, GORPConfig, evaluate_action_sequence
from turborl.algos.lockstep import evaluate_timestep_policy
from turborl.algos.sqirl import SQIRL, SQIRLConfig


class TreeEnvs:
    """``num_envs`` copies of a deterministic finite-horizon MDP whose state is the history of
    actions: ``reward(history)`` (a tuple) is paid on the step that completes ``history``; episodes
    terminate after ``horizon`` steps (next-step autoreset). Observation: one-hot of each action
    taken so far, then of ``t``."""

    def __init__(self, num_envs, horizon, num_actions, reward):
        self.num_envs, self.horizon, self.num_actions = num_envs, horizon, num_actions
        self.max_episode_steps = horizon
        self.single_action_space = gym.spaces.Discrete(num_actions)
        self.single_observation_space = gym.spaces.Box(0.0, 1.0, (horizon * num_actions + horizon + 1,), np.float32)
        # Every history's reward, indexed by (length, base-A code of the history).
        self.table = np.zeros((horizon + 1, num_actions ** horizon))
        for length in range(1, horizon + 1):
            for code, history in enumerate(itertools.product(range(num_actions), repeat=length)):
                self.table[length, code] = reward(history)
        self.reset()

    def _obs(self):
        obs = np.zeros((self.num_envs, self.single_observation_space.shape[0]), np.float32)
        rows = np.arange(self.num_envs)
        for t in range(self.horizon):
            taken = self.length > t
            obs[rows[taken], t * self.num_actions + self.actions[taken, t]] = 1.0
        obs[rows, self.horizon * self.num_actions + self.length] = 1.0
        return obs

    def reset(self, seed=None):
        self.actions = np.zeros((self.num_envs, self.horizon), np.int64)
        self.length = np.zeros(self.num_envs, np.int64)
        self.code = np.zeros(self.num_envs, np.int64)
        return self._obs(), {}

    def step(self, actions):
        actions = np.asarray(actions)
        assert actions.shape == (self.num_envs,)
        done_before = self.length == self.horizon
        moving = ~done_before
        self.actions[moving, self.length[moving]] = actions[moving]
        self.code[moving] = self.code[moving] * self.num_actions + actions[moving]
        self.length[moving] += 1
        rewards = np.where(moving, self.table[self.length, self.code], 0.0)
        terminated = moving & (self.length == self.horizon)
        self.length[done_before], self.code[done_before] = 0, 0  # autoreset
        return self._obs(), rewards, terminated, np.zeros(self.num_envs, bool), {}

    def close(self):
        pass


def random_tree_reward(seed, horizon, num_actions):
    table = {}
    rng = np.random.default_rng(seed)
    for length in range(1, horizon + 1):
        for history in itertools.product(range(num_actions), repeat=length):
            table[history] = float(rng.normal())
    return table.__getitem__


def best_sequence(reward, horizon, num_actions, gamma):
    """The lexicographically first sequence of maximal discounted return (brute force)."""
    best, best_return = None, -np.inf
    for sequence in itertools.product(range(num_actions), repeat=horizon):
        value = sum(gamma ** t * reward(sequence[: t + 1]) for t in range(horizon))
        if value > best_return + 1e-12:
            best, best_return = sequence, value
    return best


def combination_lock(combination):
    combination = tuple(combination)
    return lambda history: float(history == combination)


def decoy(history):
    """Two steps, three actions. Action 0 leads to a state where one action of three pays 1; action 1
    to one where every action pays 0.4. The random policy prefers action 1 (0.4 > 1/3); one step of
    planning on top of it prefers action 0 (1 > 0.4)."""
    if len(history) == 1:
        return 0.0
    if history[0] == 0:
        return float(history[1] == 2)
    return 0.4 if history[0] == 1 else 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gorp_with_full_depth_finds_the_optimal_open_loop_plan(seed):
    horizon, num_actions, gamma = 3, 3, 0.9
    reward = random_tree_reward(seed, horizon, num_actions)
    result = GORP(GORPConfig(planning_depth=horizon, gamma=gamma),
                  envs=TreeEnvs(num_actions ** horizon, horizon, num_actions, reward)).learn()
    assert result.actions == best_sequence(reward, horizon, num_actions, gamma)
    assert result.timesteps == sum(num_actions ** horizon * horizon for _ in range(horizon))


def test_gorp_depth_one_is_greedy_over_the_random_policy_and_depth_two_sees_past_the_decoy():
    shallow = GORP(GORPConfig(planning_depth=1, episodes_per_action_sequence=600, gamma=1.0),
                   envs=TreeEnvs(3 * 600, 2, 3, decoy)).learn()
    assert shallow.actions[0] == 1  # Q_random(a=0) = 1/3 < Q_random(a=1) = 0.4
    np.testing.assert_allclose(shallow.mean_returns[0], [1 / 3, 0.4, 0.0], atol=0.07)
    deep = GORP(GORPConfig(planning_depth=2, episodes_per_action_sequence=1, gamma=1.0),
                envs=TreeEnvs(9, 2, 3, decoy)).learn()
    assert deep.actions == (0, 2)


def test_gorp_opens_a_combination_lock_of_horizon_10():
    combination = (1, 0, 0, 1, 1, 0, 1, 0, 0, 1)
    m = 4096  # the right first action pays with probability 2^-9 under the random tail
    result = GORP(GORPConfig(episodes_per_action_sequence=m, gamma=1.0),
                  envs=TreeEnvs(2 * m, 10, 2, combination_lock(combination))).learn()
    assert result.actions == combination
    returns = evaluate_action_sequence(TreeEnvs(4, 10, 2, combination_lock(combination)), result.actions)
    np.testing.assert_array_equal(returns, 1.0)


def test_gorp_is_deterministic_for_a_seed():
    def run(seed):
        return GORP(GORPConfig(episodes_per_action_sequence=50, gamma=1.0, seed=seed),
                    envs=TreeEnvs(3 * 50, 2, 3, decoy)).learn().mean_returns
    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_sqirl_bandit_head_regresses_the_mean_return():
    arms = [0.1, 0.5, 0.3, 0.2]
    result = SQIRL(SQIRLConfig(episodes_per_timestep=256, learning_rate=3e-3, batch_size=64, n_epochs=20),
                   envs=TreeEnvs(256, 1, 4, lambda history: arms[history[0]])).learn()
    assert len(result.networks) == 1
    obs, _ = TreeEnvs(1, 1, 4, lambda history: 0.0).reset()
    import torch

    with torch.no_grad():
        q = result.networks[0](torch.as_tensor(obs))[0, 0].numpy()
    np.testing.assert_allclose(q, arms, atol=0.05)
    assert result.act(0, obs)[0] == 1


def test_sqirl_planning_depth_two_sees_past_the_decoy():
    def run(depth):
        config = SQIRLConfig(planning_depth=depth, episodes_per_timestep=600, learning_rate=3e-3, batch_size=128,
                             n_epochs=10, gamma=1.0, seed=0)
        result = SQIRL(config, envs=TreeEnvs(600, 2, 3, decoy)).learn()
        return evaluate_timestep_policy(TreeEnvs(8, 2, 3, decoy), result.act)

    assert np.all(run(1) == 0.4)  # greedy on the random policy's Q takes the decoy
    assert np.all(run(2) == 1.0)


def test_sqirl_opens_a_combination_lock_of_horizon_10():
    combination = (0, 1, 1, 0, 1, 0, 0, 1, 1, 0)
    m = 4096
    config = SQIRLConfig(episodes_per_timestep=m, learning_rate=1e-3, batch_size=512, n_epochs=2, gamma=1.0)
    result = SQIRL(config, envs=TreeEnvs(m, 10, 2, combination_lock(combination))).learn()
    returns = evaluate_timestep_policy(TreeEnvs(4, 10, 2, combination_lock(combination)), result.act)
    np.testing.assert_array_equal(returns, 1.0)
    assert result.timesteps == 10 * m * 10


def test_configs_reject_bad_values():
    with pytest.raises(ValueError, match="planning_depth"):
        GORPConfig(planning_depth=0)
    with pytest.raises(ValueError, match="gamma"):
        GORPConfig(gamma=1.5)
    with pytest.raises(ValueError, match="learning_rate"):
        SQIRLConfig(learning_rate=0.0)
    with pytest.raises(ValueError, match="episodes_per_timestep"):
        SQIRLConfig(episodes_per_timestep=0)
    with pytest.raises(ValueError, match="num_envs"):
        GORP(GORPConfig(episodes_per_action_sequence=2), envs=TreeEnvs(3, 2, 3, decoy))


def test_gorp_opens_the_native_combination_lock_found_by_value_iteration():
    from turborl.envs import make_vec
    from turborl.planning import enumerate_mdp, value_iteration

    mdp = enumerate_mdp("CombinationLock-v0")
    solution = value_iteration(mdp)
    state, combination = 0, []
    for t in range(10):
        action = int(solution.greedy_actions()[t, state])
        combination.append(action)
        state = mdp.next_states[state, action]
    result = GORP(GORPConfig(env_id="CombinationLock-v0", episodes_per_action_sequence=4096, gamma=1.0)).learn()
    assert result.actions == tuple(combination)
    assert result.timesteps == 10 * 2 * 4096 * 10
    np.testing.assert_array_equal(evaluate_action_sequence(make_vec("CombinationLock-v0", 4, seed=1), result.actions), 1.0)


def test_native_lock_observation_is_one_hot_time_and_the_path_flag():
    from turborl.envs import make_vec

    envs = make_vec("CombinationLock-v0", 2, seed=0)
    obs, _ = envs.reset()
    assert obs.shape == (2, 33)
    np.testing.assert_array_equal(obs[:, 0], 1.0)
    np.testing.assert_array_equal(obs[:, 32], 1.0)
    assert obs[:, 1:32].sum() == 0
    obs, *_ = envs.step(np.array([0, 1]))
    np.testing.assert_array_equal(obs[:, 1], 1.0)
    assert sorted(obs[:, 32].tolist()) == [0.0, 1.0]  # one digit was right, the other wrong
