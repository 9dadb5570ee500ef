"""The CUDA CartPole kernel against the CPU engine. GPU tests skip on machines without a GPU."""

import shutil

import numpy as np
import pytest

import turborl
from turborl.cuda import cartpole_rollout

needs_gpu = pytest.mark.skipif(not turborl.cuda_available(), reason="no CUDA device on this machine")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_cuda_module_is_built_when_nvcc_is_found():
    assert turborl.cuda.cuda_built()


def test_cuda_available_reports_a_bool_consistent_with_the_device_count():
    available = turborl.cuda_available()
    assert isinstance(available, bool)
    if turborl.cuda.cuda_built():
        from turborl import _cuda

        assert available == (_cuda.device_count() > 0)
    else:
        assert not available


def cpu_rollout(envs, actions):
    outputs = [envs.step(a)[:4] for a in actions]
    return [np.stack([o[k] for o in outputs]) for k in range(4)]


@needs_gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gpu_rollout_matches_the_cpu_engine(dtype):
    envs = turborl.envs.make_vec("CartPole-v1", 777, seed=3, dtype=dtype, max_episode_steps=90)
    envs.reset()
    for _ in range(17):  # start mid-episode, with some resets pending
        envs.step(np.random.default_rng(0).integers(0, 2, 777))
    start = envs.get_state()
    actions = np.random.default_rng(1).integers(0, 2, (300, 777))
    gpu = cartpole_rollout(envs, actions)
    assert all(np.array_equal(start[k], v) for k, v in envs.get_state().items()), "the env must be unchanged"
    obs, rewards, terminated, truncated = cpu_rollout(envs, actions)
    assert np.array_equal(gpu.terminated, terminated) and np.array_equal(gpu.truncated, truncated)
    assert np.array_equal(gpu.rewards, rewards)
    if dtype == "float32":
        # Same operations, no FMA contraction on either side: bit for bit.
        assert np.array_equal(gpu.obs, obs)
        assert np.array_equal(gpu.final_state["state"], envs.get_state()["state"])
    else:
        # CUDA's sin/cos may differ from glibc's in the last bit.
        np.testing.assert_allclose(gpu.obs, obs, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(gpu.final_state["state"], envs.get_state()["state"], rtol=1e-9, atol=1e-9)
    for key in ("elapsed_steps", "needs_reset", "episode_index", "episode_length"):
        assert np.array_equal(gpu.final_state[key], envs.get_state()[key]), key


@needs_gpu
def test_gpu_rollout_with_device_actions_and_without_recording():
    envs = turborl.envs.make_vec("CartPole-v1", 10_000, seed=0, dtype="float32")
    envs.reset()
    recorded = cartpole_rollout(envs, None, num_steps=500, action_seed=9)
    unrecorded = cartpole_rollout(envs, None, num_steps=500, action_seed=9, record=False)
    assert unrecorded.obs is None
    for key, value in recorded.final_state.items():
        assert np.array_equal(value, unrecorded.final_state[key]), key
    # Random actions end CartPole episodes after about 22 steps on average.
    episodes = recorded.final_state["episode_index"].astype(np.int64) - 1
    assert 10 < (500 / np.maximum(episodes, 1)).mean() < 40
    # The final state continues on the CPU.
    envs.set_state(recorded.final_state)
    envs.step(np.zeros(10_000, dtype=np.int64))
