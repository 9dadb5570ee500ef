"""n-step targets and next observations against an obviously-correct NumPy reference."""

import numpy as np
import pytest

import turborl
from turborl.replay import ReplayBuffer

SPEC = {"obs": ((2,), np.float32), "action": ((), np.int64), "reward": ((), np.float32),
        "terminated": ((), bool), "truncated": ((), bool)}


def generate_rows(num_envs, steps, seed, done_probability=0.15):
    """Rows as a next_step vector env produces them: after an episode's last step comes an
    autoreset row whose obs is that episode's final observation (reward 0, flags False).
    Every obs is unique, so a sampled obs identifies its row."""
    rng = np.random.default_rng(seed)
    obs = np.zeros((steps, num_envs, 2), np.float32)
    reward = rng.uniform(-1, 1, (steps, num_envs)).astype(np.float32)
    terminated = np.zeros((steps, num_envs), bool)
    truncated = np.zeros((steps, num_envs), bool)
    pending_reset = np.zeros(num_envs, bool)
    for t in range(steps):
        obs[t, :, 0] = t
        obs[t, :, 1] = np.arange(num_envs)
        for e in range(num_envs):
            if pending_reset[e]:
                reward[t, e] = 0.0
                pending_reset[e] = False
                continue
            if rng.random() < done_probability:
                kind = rng.integers(3)  # terminated, truncated, or both
                terminated[t, e] = kind in (0, 2)
                truncated[t, e] = kind in (1, 2)
                pending_reset[e] = True
    action = rng.integers(0, 5, (steps, num_envs))
    return {"obs": obs, "action": action, "reward": reward, "terminated": terminated, "truncated": truncated}


def reference_targets(rows, n, gamma, first_row=0):
    """(t, env) -> (return, discount, next_obs) for every transition start, written plainly."""
    obs, reward, terminated, truncated = rows["obs"], rows["reward"], rows["terminated"], rows["truncated"]
    steps, num_envs = reward.shape
    targets = {}
    for e in range(num_envs):
        for t in range(first_row, steps - 1):  # the newest row has no next observation yet
            if t > 0 and (terminated[t - 1, e] or truncated[t - 1, e]):
                continue  # an autoreset row: the env only reset
            total, scale, u = 0.0, 1.0, t
            while True:
                total += scale * float(reward[u, e])
                scale *= gamma
                if terminated[u, e]:
                    discount = 0.0
                    break
                if truncated[u, e] or u - t + 1 == n or u + 1 >= steps - 1:
                    discount = scale
                    break
                u += 1
            targets[(t, e)] = (total, discount, obs[u + 1, e])
    return targets


def check_batches(buffer, rows, n, gamma, batches=20, first_row=0):
    targets = reference_targets(rows, n, gamma, first_row)
    assert buffer.num_sampleable == len(targets)
    seen = set()
    for _ in range(batches):
        batch = buffer.sample(64, n_step=n, gamma=gamma)
        for b in range(64):
            t, e = int(batch.obs[b, 0]), int(batch.obs[b, 1])
            assert (t, e) in targets, f"row {t} of env {e} is not a transition"
            expected_return, expected_discount, expected_next = targets[(t, e)]
            assert batch.reward[b] == pytest.approx(expected_return, rel=1e-6, abs=1e-6)
            assert batch.discount[b] == pytest.approx(expected_discount, rel=1e-6)
            assert np.array_equal(batch.next_obs[b], expected_next)
            assert batch.action[b] == rows["action"][t, e]
            assert batch.indices[b] == (t % (buffer.capacity // buffer.num_envs)) * buffer.num_envs + e
            seen.add((t, e))
    return seen


@pytest.mark.parametrize("n, gamma", [(1, 0.99), (3, 0.9), (5, 0.5), (20, 1.0)])
def test_n_step_targets_match_the_reference(n, gamma):
    rows = generate_rows(num_envs=3, steps=120, seed=n)
    buffer = ReplayBuffer(10_000, SPEC, num_envs=3, seed=0)
    buffer.add(**rows)
    seen = check_batches(buffer, rows, n, gamma)
    assert len(seen) > 100


def test_n_can_change_between_samples_without_re_adding():
    rows = generate_rows(num_envs=2, steps=80, seed=1)
    buffer = ReplayBuffer(1_000, SPEC, num_envs=2, seed=0)
    for t in range(80):  # one step at a time, as a training loop adds
        buffer.add(**{name: value[t] for name, value in rows.items()})
    for n, gamma in [(1, 0.99), (4, 0.95), (2, 0.8)]:
        check_batches(buffer, rows, n, gamma, batches=5)


def test_terminated_truncated_and_both_at_episode_ends():
    # One env, one episode of each kind, written out by hand:
    # rows 0-2: episode A ends terminated at row 2; row 3 resets (its obs: A's final obs)
    # rows 4-5: episode B ends truncated at row 5;  row 6 resets (B's final obs)
    # rows 7-8: episode C ends terminated and truncated at row 8; row 9 resets; row 10 new episode
    terminated = np.zeros(11, bool)
    truncated = np.zeros(11, bool)
    terminated[[2, 8]] = True
    truncated[[5, 8]] = True
    rows = {
        "obs": np.stack([np.arange(11), np.zeros(11)], axis=1).astype(np.float32)[:, None, :],
        "action": np.zeros((11, 1), np.int64),
        "reward": np.array([1, 2, 3, 0, 4, 5, 0, 6, 7, 0, 8], np.float32)[:, None],
        "terminated": terminated[:, None],
        "truncated": truncated[:, None],
    }
    buffer = ReplayBuffer(100, SPEC, num_envs=1, seed=0)
    buffer.add(**rows)
    gamma = 0.5
    expected = {  # start row -> (3-step return, discount, next obs row)
        0: (1 + 0.5 * 2 + 0.25 * 3, 0.0, 3),  # terminates within 3 steps: no bootstrap
        1: (2 + 0.5 * 3, 0.0, 3),
        2: (3, 0.0, 3),
        4: (4 + 0.5 * 5, 0.25, 6),  # truncated: bootstrap from B's final obs (row 6) with gamma^2
        5: (5, 0.5, 6),
        7: (6 + 0.5 * 7, 0.0, 9),  # terminated and truncated: termination wins
        8: (7, 0.0, 9),
    }
    assert buffer.num_sampleable == len(expected)  # rows 3, 6, 9 reset; row 10 has no next obs yet
    for _ in range(40):
        batch = buffer.sample(7, n_step=3, gamma=gamma)
        for b in range(7):
            start = int(batch.obs[b, 0])
            ret, discount, next_row = expected[start]
            assert batch.reward[b] == pytest.approx(ret) and batch.discount[b] == pytest.approx(discount)
            assert batch.next_obs[b, 0] == next_row


def test_ring_wrap_keeps_targets_right():
    rows = generate_rows(num_envs=2, steps=300, seed=4)
    buffer = ReplayBuffer(2 * 64, SPEC, num_envs=2, seed=0)  # keeps the newest 64 steps
    for t in range(0, 300, 7):
        buffer.add(**{name: value[t:t + 7] for name, value in rows.items()})
    # The reference sees only the rows still stored.
    check_batches(buffer, rows, n=3, gamma=0.9, first_row=300 - 64)
    assert len(buffer) == 128


def test_explicit_next_obs_field_with_same_step_autoreset():
    """Every row is a transition and carries its own next observation (SB3 style)."""
    spec = {**SPEC, "next_obs": ((2,), np.float32)}
    envs = turborl.envs.make_vec("CartPole-v1", 4, seed=0, autoreset_mode="same_step", max_episode_steps=15)
    buffer = ReplayBuffer(10_000, turborl.replay.spec_from_env(envs, next_obs=True), num_envs=4, seed=0,
                          autoreset_mode="same_step")
    obs, _ = envs.reset()
    stored = []
    for _ in range(200):
        action = envs.action_space.sample()
        next_obs, reward, terminated, truncated, info = envs.step(action)
        done = terminated | truncated
        real_next = np.where(done[:, None], info["final_obs"], next_obs) if done.any() else next_obs
        buffer.add(obs=obs, action=action, reward=reward, terminated=terminated, truncated=truncated,
                   next_obs=real_next)
        stored.append((obs.copy(), real_next.copy(), reward.copy(), terminated.copy()))
        obs = next_obs
    assert buffer.num_sampleable == 200 * 4  # no reset rows in same_step mode
    pairs = {tuple(o[e]): (tuple(n[e]), r[e], te[e]) for o, n, r, te in stored for e in range(4)}
    batch = buffer.sample(256, n_step=1, gamma=0.9)
    for b in range(256):
        next_obs, reward, terminated = pairs[tuple(batch.obs[b])]
        assert tuple(batch.next_obs[b]) == next_obs and batch.reward[b] == np.float32(reward)
        assert batch.discount[b] == pytest.approx(0.0 if terminated else 0.9)
    assert spec.keys() == buffer.spec.keys()


def test_fed_from_a_native_vector_env_truncation_bootstraps_from_the_final_obs():
    envs = turborl.envs.make_vec("CartPole-v1", 4, seed=3, max_episode_steps=10)
    buffer = ReplayBuffer(10_000, turborl.replay.spec_from_env(envs), num_envs=4, seed=0)
    obs, _ = envs.reset()
    rows = {name: [] for name in SPEC}
    rng = np.random.default_rng(0)
    for _ in range(150):
        action = rng.integers(0, 2, 4)  # random episodes last ~22 steps: most hit the 10-step limit
        next_obs, reward, terminated, truncated, _ = envs.step(action)
        buffer.add(obs=obs, action=action, reward=reward, terminated=terminated, truncated=truncated)
        for name, value in zip(SPEC, (obs, action, reward, terminated, truncated)):
            rows[name].append(np.array(value, copy=True))
        obs = next_obs
    rows = {name: np.stack(value) for name, value in rows.items()}
    rows["reward"] = rows["reward"].astype(np.float32)
    assert rows["truncated"].any() and rows["terminated"].any()
    targets = reference_targets(rows, 3, 0.99)
    for _ in range(10):
        batch = buffer.sample(128, n_step=3, gamma=0.99)
        for b in range(128):
            slot = int(batch.indices[b])
            t, e = slot // 4, slot % 4
            ret, discount, next_obs = targets[(t, e)]
            assert batch.reward[b] == pytest.approx(ret, rel=1e-6) and batch.discount[b] == pytest.approx(discount)
            assert np.array_equal(batch.next_obs[b], next_obs)
