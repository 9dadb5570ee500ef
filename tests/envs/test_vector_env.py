"""NativeVectorEnv's Gymnasium API: spaces, autoreset, statistics, seeding, state, buffers, threads."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import turborl
from helpers.gymnasium_reference import ENV_IDS, bits_equal, policy_actions

make_vec = turborl.envs.make_vec


def rollout(envs, steps, seed=0):
    """Steps with the reference policy; returns every output, stacked."""
    rng = np.random.default_rng(seed)
    obs, _ = envs.reset()
    outputs = {"obs": [], "rewards": [], "terminated": [], "truncated": []}
    for _ in range(steps):
        obs, rewards, terminated, truncated, _ = envs.step(policy_actions(envs.native_spec.id, obs, rng))
        for key, value in zip(outputs, (obs, rewards, terminated, truncated)):
            outputs[key].append(np.array(value, copy=True))
    return {key: np.stack(values) for key, values in outputs.items()}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_spaces_equal_gymnasiums(env_id):
    envs = make_vec(env_id, 3)
    reference = gym.make(env_id)
    assert envs.single_observation_space == reference.observation_space
    assert envs.single_action_space == reference.action_space
    assert envs.observation_space == gym.vector.utils.batch_space(reference.observation_space, 3)
    assert envs.action_space == gym.vector.utils.batch_space(reference.action_space, 3)
    assert isinstance(envs, gym.vector.VectorEnv)
    assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    assert envs.max_episode_steps == reference.spec.max_episode_steps


def test_registry_lists_the_classic_envs_the_quadrotor_and_the_locks():
    # ENV_IDS: the Gymnasium envs the bit-exact tests compare against; Quadrotor-L2F-v0 and the
    # combination locks have no Gymnasium counterpart (tests/envs/test_quadrotor.py,
    # tests/planning/test_mdp.py).
    assert set(turborl.envs.registered_ids()) == set(ENV_IDS) | {
        "Quadrotor-L2F-v0", "CombinationLock-v0", "CombinationLock-A4-v0"}
    with pytest.raises(ValueError, match="CartPole-v1"):
        make_vec("CartPole-v0", 1)


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_autoreset_mode_is_reported_as_gymnasiums_enum(mode):
    envs = make_vec("CartPole-v1", 2, autoreset_mode=mode)
    assert envs.metadata["autoreset_mode"] is {"next_step": AutoresetMode.NEXT_STEP, "same_step":
                                               AutoresetMode.SAME_STEP, "disabled": AutoresetMode.DISABLED}[mode]
    assert make_vec("CartPole-v1", 2, autoreset_mode=envs.metadata["autoreset_mode"]).metadata == envs.metadata


@pytest.mark.parametrize("mode", ["next_step", "same_step", "disabled"])
def test_episode_statistics_match_a_running_sum(mode):
    """info["episode"] equals what RecordEpisodeStatistics computes from the step outputs."""
    envs = make_vec("CartPole-v1", 16, seed=1, autoreset_mode=mode, max_episode_steps=40)
    rng = np.random.default_rng(1)
    obs, _ = envs.reset()
    returns, lengths = np.zeros(16), np.zeros(16, dtype=np.int64)
    previous_done = np.zeros(16, dtype=bool)
    episodes = 0
    for _ in range(400):
        obs, rewards, terminated, truncated, info = envs.step(policy_actions("CartPole-v1", obs, rng))
        counting = ~previous_done if mode == "next_step" else np.ones(16, dtype=bool)
        returns = np.where(counting, returns + rewards, 0.0)
        lengths = np.where(counting, lengths + 1, 0)
        done = terminated | truncated
        if done.any():
            assert np.array_equal(info["_episode"], done)
            assert np.array_equal(info["episode"]["r"], np.where(done, returns, 0.0))
            assert np.array_equal(info["episode"]["l"], np.where(done, lengths, 0))
            episodes += done.sum()
            if mode != "next_step":
                returns[done], lengths[done] = 0.0, 0
            if mode == "disabled":
                obs, _ = envs.reset(options={"reset_mask": done})
        else:
            assert "episode" not in info
        previous_done = done
    assert episodes > 50


def test_next_step_reset_step_returns_reset_obs_zero_reward_and_no_flags():
    envs = make_vec("CartPole-v1", 1, seed=3)
    envs.reset()
    done = False
    while not done:
        _, _, terminated, truncated, _ = envs.step(np.array([1]))
        done = terminated[0] or truncated[0]
    state_before = envs.get_state()
    obs, reward, terminated, truncated, info = envs.step(np.array([1]))
    assert reward[0] == 0.0 and not terminated[0] and not truncated[0] and info == {}
    initial = envs.get_state()["state"][0]
    assert np.array_equal(obs[0], initial.astype(np.float32))
    assert envs.get_state()["episode_index"][0] == state_before["episode_index"][0] + 1
    assert envs.get_state()["elapsed_steps"][0] == 0


def test_same_step_reports_final_obs_and_resets_at_once():
    envs = make_vec("CartPole-v1", 4, seed=2, autoreset_mode="same_step")
    obs, _ = envs.reset()
    for _ in range(200):
        before = envs.get_state()
        obs, rewards, terminated, truncated, info = envs.step(np.ones(4, dtype=np.int64))
        done = terminated | truncated
        if done.any():
            break
    assert done.any()
    assert np.array_equal(info["_final_obs"], done) and np.array_equal(info["_final_info"], done)
    assert np.all(info["final_obs"][~done] == 0)
    # The final obs is what the physics step produced; the returned obs is the new episode's first.
    after = envs.get_state()
    for i in np.flatnonzero(done):
        assert after["elapsed_steps"][i] == 0 and after["episode_index"][i] == before["episode_index"][i] + 1
        assert np.array_equal(obs[i], after["state"][i].astype(np.float32))
        assert not np.array_equal(info["final_obs"][i], obs[i])


def test_disabled_mode_resets_only_masked_envs_and_refuses_to_step_finished_ones():
    envs = make_vec("CartPole-v1", 3, seed=4, autoreset_mode="disabled")
    envs.reset()
    while True:
        _, _, terminated, truncated, _ = envs.step(np.ones(3, dtype=np.int64))
        done = terminated | truncated
        if done.any():
            break
    with pytest.raises(RuntimeError, match="reset_mask"):
        envs.step(np.ones(3, dtype=np.int64))
    untouched = envs.get_state(np.flatnonzero(~done))
    envs.reset(options={"reset_mask": done})
    assert all(np.array_equal(untouched[k], v) for k, v in envs.get_state(np.flatnonzero(~done)).items())
    assert not envs.get_state()["needs_reset"].any()
    envs.step(np.ones(3, dtype=np.int64))  # all envs can step again


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_results_do_not_depend_on_thread_count(env_id, dtype):
    # 900 envs: enough for the engine to split them across 2 and 3 threads.
    runs = [rollout(make_vec(env_id, 900, seed=11, dtype=dtype, num_threads=t), 120) for t in (1, 2, 3)]
    for other in runs[1:]:
        for key in runs[0]:
            assert bits_equal(runs[0][key], other[key]), key


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_env_i_does_not_depend_on_num_envs(env_id):
    small = make_vec(env_id, 6, seed=21)
    large = make_vec(env_id, 700, seed=21, num_threads=2)
    rng = np.random.default_rng(0)
    small_obs, _ = small.reset()
    large_obs, _ = large.reset()
    assert bits_equal(small_obs, large_obs[:6])
    for _ in range(150):
        actions = policy_actions(env_id, large_obs, rng)
        small_out = small.step(actions[:6])
        large_out = large.step(actions)
        for a, b in zip(small_out[:4], large_out[:4]):
            assert bits_equal(a, b[:6])
        small_obs, large_obs = small_out[0], large_out[0]


def test_seeding_follows_gymnasiums_convention():
    envs = make_vec("Acrobot-v1", 4, seed=100)
    first, _ = envs.reset()
    again, _ = envs.reset(seed=100)
    assert bits_equal(first, again)  # make_vec's seed is the first reset's seed
    next_episode, _ = envs.reset()
    assert not np.array_equal(first, next_episode)  # no seed: a new episode of each stream
    # An int seed s gives env i the seed s + i; a list gives each env its own.
    single = [make_vec("Acrobot-v1", 1, seed=100 + i).reset()[0][0] for i in range(4)]
    assert all(bits_equal(first[i], single[i]) for i in range(4))
    listed, _ = envs.reset(seed=[103, 102, 101, 100])
    assert all(bits_equal(listed[i], single[3 - i]) for i in range(4))
    # Masked resets reseed only the masked envs.
    envs.reset(seed=100)
    mask = np.array([False, True, False, True])
    masked, _ = envs.reset(seed=100, options={"reset_mask": mask})
    assert bits_equal(masked[mask], first[mask])


def test_unseeded_envs_differ_between_instances():
    a, _ = make_vec("CartPole-v1", 4).reset()
    b, _ = make_vec("CartPole-v1", 4).reset()
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_set_state_then_step_reproduces_the_saved_env(env_id):
    envs = make_vec(env_id, 8, seed=31, max_episode_steps=60)
    rng = np.random.default_rng(0)
    obs, _ = envs.reset()
    for _ in range(45):
        obs, *_ = envs.step(policy_actions(env_id, obs, rng))
    saved = envs.get_state()
    actions = [policy_actions(env_id, obs, rng) for _ in range(80)]
    first = [[np.array(x, copy=True) for x in envs.step(a)[:4]] for a in actions]
    envs.set_state(saved)
    second = [[np.array(x, copy=True) for x in envs.step(a)[:4]] for a in actions]
    assert all(bits_equal(x, y) for row_a, row_b in zip(first, second) for x, y in zip(row_a, row_b))
    # A state moves between envs too: env 7 becomes a copy of env 0 (random stream included)
    # and, given env 0's actions, repeats env 0's outputs.
    envs.set_state(saved)
    envs.set_state({k: v[:1] for k, v in saved.items()}, env_ids=[7])
    for a in actions:
        a = a.copy()
        a[7] = a[0]
        obs, rewards, terminated, truncated, _ = envs.step(a)
        assert bits_equal(obs[0], obs[7]) and rewards[0] == rewards[7]
        assert terminated[0] == terminated[7] and truncated[0] == truncated[7]


def test_set_state_accepts_gymnasiums_state_and_refreshes_obs():
    envs = make_vec("CartPole-v1", 2, seed=0)
    envs.reset()
    reference = gym.make("CartPole-v1")
    reference.reset(seed=0)
    state = np.array([0.1, -0.3, 0.02, 0.4])
    envs.set_state(state[None, :], env_ids=[1])
    reference.unwrapped.state = state.copy()
    assert bits_equal(envs.get_state([1])["state"][0], state)
    obs, *_ = envs.step(np.array([0, 1]))
    ref_obs, *_ = reference.step(1)
    assert bits_equal(obs[1], ref_obs)


def test_copy_true_returns_fresh_arrays_and_copy_false_reuses_buffers():
    actions = np.ones(4, dtype=np.int64)
    copying = make_vec("CartPole-v1", 4, seed=0)
    copying.reset()
    a = copying.step(actions)
    b = copying.step(actions)
    assert all(x is not y and not np.shares_memory(x, y) for x, y in zip(a[:4], b[:4]))
    kept = a[0].copy()
    copying.step(actions)
    assert bits_equal(a[0], kept)  # what we kept is not overwritten

    views = make_vec("CartPole-v1", 4, seed=0, copy=False)
    views.reset()
    a = views.step(actions)
    snapshot = a[0].copy()
    b = views.step(actions)
    assert all(x is y for x, y in zip(a[:4], b[:4]))  # the same preallocated buffers
    assert not np.array_equal(a[0], snapshot)  # overwritten by the next step


def test_actions_of_other_integer_dtypes_lists_and_torch_tensors():
    envs = make_vec("CartPole-v1", 3, seed=0)
    envs.reset(seed=0)
    expected = envs.step(np.array([0, 1, 1], dtype=np.int64))[0]
    for actions in (np.array([0, 1, 1], dtype=np.int8), np.array([0, 1, 1], dtype=np.uint32), [0, 1, 1]):
        envs.reset(seed=0)
        assert bits_equal(envs.step(actions)[0], expected)
    torch = pytest.importorskip("torch")
    envs.reset(seed=0)
    assert bits_equal(envs.step(torch.tensor([0, 1, 1]))[0], expected)


def test_continuous_actions_are_cast_to_float32_and_clipped_like_gymnasium():
    envs = make_vec("Pendulum-v1", 2, seed=0)
    envs.reset(seed=0)
    expected = envs.step(np.array([[5.0], [-0.5]], dtype=np.float32))[1]
    envs.reset(seed=0)
    clipped = envs.step(np.array([[2.0], [-0.5]], dtype=np.float64))[1]  # 5.0 clips to 2.0
    assert np.array_equal(expected[1], clipped[1])
    # Pendulum's cost uses the clipped torque, so 5.0 and 2.0 give the same reward.
    assert np.array_equal(expected, clipped)


def test_close_releases_the_engine():
    envs = make_vec("CartPole-v1", 2)
    envs.reset()
    envs.close()
    assert envs.closed
    envs.close()  # closing twice is fine


def test_repr_names_the_env():
    assert "CartPole-v1" in repr(make_vec("CartPole-v1", 2)) and "num_envs=2" in repr(make_vec("CartPole-v1", 2))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_far_out_states_do_not_hang_and_are_wrapped(dtype):
    # Gymnasium's Acrobot wrap() loops forever on such values; turborl reduces them first.
    envs = make_vec("Acrobot-v1", 3, dtype=dtype, seed=0)
    envs.reset()
    envs.set_state(np.array([[1e6, -3e7, 0.0, 0.0], [2e30, 5.0, 1.0, -1.0], [40.0, -40.0, 0.0, 0.0]]))
    obs, rewards, *_ = envs.step(np.ones(3, dtype=np.int64))
    angles = envs.get_state()["state"][:, :2]
    assert np.all(np.isfinite(obs)) and np.all(np.abs(angles) <= np.pi)
    pendulum = make_vec("Pendulum-v1", 2, dtype=dtype, seed=0)
    pendulum.reset()
    pendulum.set_state(np.array([[3e7, 0.0], [-1e12, 1.0]]))
    obs, rewards, *_ = pendulum.step(np.zeros((2, 1), dtype=np.float32))
    assert np.all(np.isfinite(obs)) and np.all(np.isfinite(rewards))
    # The cost uses the angle normalised into [-pi, pi): at most pi^2 + 0.1 * 8^2 + 0.001 * 2^2.
    assert np.all(-rewards <= np.pi**2 + 6.4 + 0.004 + 1e-3)


def test_thread_pool_survives_many_steps_with_more_threads_than_cores():
    """Thousands of hand-offs, interleaved with resets, with 4 threads on a 2-core machine."""
    envs = make_vec("MountainCar-v0", 1024, seed=8, num_threads=4, dtype="float32", copy=False)
    reference = make_vec("MountainCar-v0", 1024, seed=8, num_threads=1, dtype="float32", copy=False)
    rng = np.random.default_rng(0)
    envs.reset()
    reference.reset()
    for t in range(3000):
        actions = rng.integers(0, 3, 1024)
        obs = envs.step(actions)[0]
        expected = reference.step(actions)[0]
        if t % 100 == 99:
            mask = rng.random(1024) < 0.5
            obs = envs.reset(options={"reset_mask": mask})[0]
            expected = reference.reset(options={"reset_mask": mask})[0]
    assert bits_equal(obs, expected)
