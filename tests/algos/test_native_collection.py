"""The off-policy collection loop in C++ (nn/collect.hpp, the native TD3 and SAC learners'
``collect``) against the Python loop it replaces (ContinuousOffPolicy._collect_step, one env step
at a time): the same replay rows, observations, episode returns, random-number draws and, after
training on them, the same weights bit for bit. Covered: uniform warm-up steps that end inside a
call, the asymmetric critic's [obs | critic obs] rows and the L2F curriculum, scaled action
bounds, several envs with episode ends, and fewer steps left than a call would take."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from turborl.algos import SAC, TD3, SACConfig, TD3Config  # noqa: E402
from turborl.algos.off_policy import ContinuousOffPolicy  # noqa: E402
from turborl.envs import quadrotor  # noqa: E402

SMALL = dict(batch_size=32, hidden_sizes=(16, 16), progress=False, eval_interval=10**9, eval_episodes=2)
CASES = {
    # L2F: collection 10 steps per call, uniform warm-up ending at step 105 (inside a call), the
    # curriculum's stages every 500 steps (train() shortens them), a total that is no multiple of 10.
    "td3-l2f": (TD3, TD3Config, quadrotor.ENV_ID,
                dict(total_timesteps=1_207, buffer_size=2_000, learning_starts=300, actor_learning_starts=600,
                     uniform_warmup_steps=105)),
    # Pendulum's bounds are +-2 (the env gets 2a); three envs, two vector steps per call, 200-step
    # episodes, a total that ends inside a vector step.
    "td3-pendulum": (TD3, TD3Config, "Pendulum-v1",
                     dict(total_timesteps=1_501, num_envs=3, train_frequency=4, learning_starts=200)),
    # Two envs, three vector steps per call, the warm-up ending inside one.
    "sac-pendulum": (SAC, SACConfig, "Pendulum-v1",
                     dict(total_timesteps=1_000, num_envs=2, train_frequency=6, learning_starts=151)),
}


def train(case, python_loop, monkeypatch):
    algorithm, config_type, env_id, overrides = CASES[case]
    with monkeypatch.context() as patch:
        if python_loop:
            patch.setattr(ContinuousOffPolicy, "_native_collection", lambda self: None)
        run = algorithm(config_type.for_env(env_id, seed=5, **SMALL, **overrides))
        if getattr(run, "reward_curriculum", None) is not None:
            run.reward_curriculum.interval = run.reward_curriculum.next_step = 500
        assert (run._native_collection() is None) == python_loop and run.backend == "native"
        run.learn()
    return run


@pytest.mark.parametrize("case", sorted(CASES))
def test_collecting_in_cpp_equals_the_python_loop(case, monkeypatch):
    native, python = (train(case, python_loop, monkeypatch) for python_loop in (False, True))
    assert native.global_step == python.global_step == CASES[case][3]["total_timesteps"] + (
        -CASES[case][3]["total_timesteps"] % CASES[case][3].get("num_envs", 1))
    for name in native.replay.spec:
        np.testing.assert_array_equal(native.replay.field(name), python.replay.field(name), err_msg=name)
    np.testing.assert_array_equal(native.obs, python.obs)
    assert list(native.log.recent_returns) == list(python.log.recent_returns)
    if case != "td3-l2f":  # 200-step episodes ended in the run
        assert len(native.log.recent_returns) >= 2 * CASES[case][3]["num_envs"]
    assert native.rng.bit_generator.state == python.rng.bit_generator.state
    for a, b in zip(native.actor.parameters(), python.actor.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(native.critics.parameters(), python.critics.parameters()):
        assert torch.equal(a, b)


def test_the_l2f_rows_hold_actor_and_critic_observations():
    run = TD3(TD3Config.for_env(quadrotor.ENV_ID, seed=1, total_timesteps=30, uniform_warmup_steps=5, **SMALL))
    first_obs, first_critic = run.obs.copy(), run.envs.critic_obs
    run._collect(20)
    rows = run.replay.field("obs")[:20, 0]
    np.testing.assert_array_equal(rows[0, :146], first_obs[0])
    np.testing.assert_array_equal(rows[0, 146:], first_critic[0])
    assert run.global_step == 20 and len(run.replay) == 20
    actions = run.replay.field("action")[:20, 0]
    assert np.all(np.abs(actions) <= 1.0) and np.unique(actions).size > 40
    # Stepping the env from row t's state with row t's action gives row t + 1's observation.
    replayed = TD3(TD3Config.for_env(quadrotor.ENV_ID, seed=1, total_timesteps=30, uniform_warmup_steps=5, **SMALL))
    for t in range(19):
        obs, _, _, _, info = replayed.envs.step(actions[t][None])
        np.testing.assert_array_equal(obs[0], rows[t + 1, :146])
        np.testing.assert_array_equal(info["critic_obs"][0], rows[t + 1, 146:])


def test_a_failing_step_leaves_the_steps_before_it_done():
    run = TD3(TD3Config.for_env(quadrotor.ENV_ID, seed=1, total_timesteps=30, uniform_warmup_steps=5, **SMALL))
    with torch.no_grad():
        for parameter in run.actor.parameters():
            parameter.fill_(float("nan"))  # the 6th step's action is NaN: the env refuses it
    with pytest.raises(ValueError, match=r"actions\[0, 0\] = -?nan is not finite"):
        run._collect(10)
    assert run.global_step == len(run.replay) == 5
    np.testing.assert_array_equal(run.obs, run.envs.observations)
    np.testing.assert_array_equal(run._critic_obs, run.envs.critic_obs)
