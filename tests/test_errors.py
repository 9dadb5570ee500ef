"""Bad input raises a clear Python exception that names the argument and the value.

Every case checks the exception type and that the message names what was wrong; none may
crash or abort the interpreter.
"""

import numpy as np
import pytest

import turborl

make_vec = turborl.envs.make_vec


def ready(env_id="CartPole-v1", num_envs=3, **kwargs):
    envs = make_vec(env_id, num_envs, seed=0, **kwargs)
    envs.reset()
    return envs


# ---- make_vec ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"env_id": "CartPole-v9"}, ValueError, r"CartPole-v9.*known ids: CartPole-v1"),
        ({"env_id": 3}, ValueError, r"env_id 3"),
        ({"num_envs": 0}, ValueError, r"num_envs must be >= 1, got 0"),
        ({"num_envs": -5}, ValueError, r"num_envs must be >= 1, got -5"),
        ({"num_envs": 2.5}, TypeError, r"num_envs must be an integer, got float \(2.5\)"),
        ({"num_envs": True}, TypeError, r"num_envs must be an integer, got a bool"),
        ({"num_threads": 0}, ValueError, r"num_threads must be in \[1, 256\], got 0"),
        ({"num_threads": 1000}, ValueError, r"num_threads must be in \[1, 256\], got 1000"),
        ({"dtype": "float16"}, ValueError, r"dtype must be 'float64' or 'float32', got 'float16'"),
        ({"dtype": "banana"}, ValueError, r"dtype must be .* got 'banana'"),
        ({"autoreset_mode": "sometimes"}, ValueError, r"autoreset_mode must be one of .* got 'sometimes'"),
        ({"max_episode_steps": 0}, ValueError, r"max_episode_steps must be >= 1, got 0"),
        ({"seed": -1}, ValueError, r"seed must be in \[0, 2\*\*64\), got -1"),
        ({"seed": 2**64}, ValueError, r"seed must be in \[0, 2\*\*64\), got 18446744073709551616"),
        ({"seed": "7"}, TypeError, r"seed must be an integer, got str"),
        ({"gravity": np.ones(2)}, ValueError, r"gravity must be a scalar or have shape \(3,\), got shape \(2,\)"),
        ({"gravity": np.nan}, ValueError, r"gravity must be finite, got nan"),
        ({"length": np.array([0.5, np.inf, 0.5])}, ValueError, r"length must be finite, got inf at flat index 1"),
        ({"masscart": -1.0}, ValueError, r"masscart must be positive, got -1.0"),
        ({"tau": 0.0}, ValueError, r"tau must be positive, got 0.0"),
        ({"pole_mass": 1.0}, TypeError, r"no parameter 'pole_mass'; its parameters are: gravity, masscart"),
        ({"gravity": "strong"}, TypeError, r"gravity must hold real numbers, got dtype <U6"),
    ],
)
def test_make_vec_rejects_bad_arguments(kwargs, error, pattern):
    arguments = {"env_id": "CartPole-v1", "num_envs": 3, **kwargs}
    with pytest.raises(error, match=pattern):
        make_vec(arguments.pop("env_id"), arguments.pop("num_envs"), **arguments)


# ---- step ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "actions, error, pattern",
    [
        (np.array([0, 1, 2]), ValueError, r"actions\[2\] = 2 is outside the action space Discrete\(2\)"),
        (np.array([0, -1, 1]), ValueError, r"actions\[1\] = -1 is outside the action space Discrete\(2\)"),
        (np.array([0, 1, 2**63 + 5], dtype=np.uint64), ValueError, r"actions\[2\] = 9223372036854775813 is outside"),
        (np.array([0, 1]), ValueError, r"actions must have shape \(3,\), got \(2,\)"),
        (np.array([[0, 1, 1]]), ValueError, r"actions must have shape \(3,\), got \(1, 3\)"),
        (np.array([0.0, 1.0, 1.0]), TypeError, r"actions must be integers .* got dtype float64"),
        (np.array([True, False, True]), TypeError, r"actions must be integers .* got dtype bool"),
        (["a", "b", "c"], TypeError, r"actions must be integers .* got dtype <U1"),
        (None, TypeError, r"actions must be integers .* got dtype object"),
    ],
)
def test_discrete_step_rejects_bad_actions(actions, error, pattern):
    envs = ready()
    before = envs.get_state()
    with pytest.raises(error, match=pattern):
        envs.step(actions)
    after = envs.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before), "a refused step must change nothing"


def test_out_of_range_actions_found_in_c_plus_plus_leave_the_envs_unchanged():
    # int64 actions take the fast path: the check happens in C++ before any env moves.
    envs = ready(num_envs=600, num_threads=2)
    before = envs.get_state()
    actions = np.ones(600, dtype=np.int64)
    actions[517] = 7
    with pytest.raises(ValueError, match=r"actions\[517\] = 7 is outside the action space Discrete\(2\)"):
        envs.step(actions)
    assert all(np.array_equal(before[k], envs.get_state()[k]) for k in before)


@pytest.mark.parametrize(
    "actions, error, pattern",
    [
        (np.array([[0.1], [np.nan], [0.3]], dtype=np.float32), ValueError, r"actions\[1, 0\] = nan is not finite: continuous actions must be finite float32"),
        (np.array([[0.1], [0.2], [np.inf]]), ValueError, r"actions\[2, 0\] = inf is not finite"),
        (np.array([[0.1], [1e39], [0.2]]), ValueError, r"actions\[1, 0\] = 1e\+39 is not finite: continuous actions must be finite float32"),
        (np.array([0.1, 0.2, 0.3], dtype=np.float32), ValueError, r"actions must have shape \(3, 1\), got \(3,\)"),
        (np.array([[1 + 2j], [0], [0]]), TypeError, r"actions must be real numbers .* got dtype complex128"),
    ],
)
def test_continuous_step_rejects_bad_actions(actions, error, pattern):
    envs = ready("Pendulum-v1")
    with pytest.raises(error, match=pattern):
        envs.step(actions)


def test_nan_action_found_in_c_plus_plus_is_refused():
    envs = ready("MountainCarContinuous-v0")
    actions = np.zeros((3, 1), dtype=np.float32)
    actions[2, 0] = np.nan
    # float32 C-contiguous actions go straight to C++, which checks them before stepping.
    with pytest.raises(ValueError, match=r"actions\[2, 0\] = nan is not finite: continuous actions must be finite float32"):
        envs.step(actions)


@pytest.mark.parametrize(
    "actions, error, pattern",
    [
        (np.zeros((3, 3), np.float32), ValueError, r"actions must have shape \(3, 4\), got \(3, 3\)"),
        (np.array([[0, 0, 0, 0], [0, 0, np.nan, 0], [0, 0, 0, 0]], np.float32), ValueError,
         r"actions\[1, 2\] = nan is not finite"),
    ],
)
def test_quadrotor_step_rejects_bad_actions_and_changes_nothing(actions, error, pattern):
    envs = ready("Quadrotor-L2F-v0")
    before = envs.get_state()
    with pytest.raises(error, match=pattern):
        envs.step(actions)
    after = envs.get_state()
    assert all(np.array_equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize(
    "params, error, pattern",
    [
        ({"mass": 0.0}, ValueError, r"mass must be positive, got 0.0"),
        ({"motor_time_constant": -0.1}, ValueError, r"motor_time_constant must be positive, got -0.1"),
        ({"thrust_c2": np.nan}, ValueError, r"thrust_c2 must be finite, got nan"),
        ({"obs_noise_position": -1.0}, ValueError, r"obs_noise_position must be >= 0, got -1.0"),
        ({"propellers": 4}, TypeError, r"Quadrotor-L2F-v0 has no parameter 'propellers'"),
    ],
)
def test_quadrotor_parameters_are_checked(params, error, pattern):
    with pytest.raises(error, match=pattern):
        make_vec("Quadrotor-L2F-v0", 2, **params)


def test_td3_curriculum_and_decay_options_are_checked():
    from turborl.algos import TD3Config

    with pytest.raises(ValueError, match=r"reward_curriculum must be one of \['l2f', 'none'\], got 'l3f'"):
        TD3Config(env_id="Quadrotor-L2F-v0", reward_curriculum="l3f")
    with pytest.raises(ValueError, match=r"weight_decay must be >= 0, got -0.1"):
        TD3Config(weight_decay=-0.1)
    with pytest.raises(ValueError, match=r"actor_learning_starts must be >= 0, got -5"):
        TD3Config(actor_learning_starts=-5)
    with pytest.raises(ValueError, match=r"uniform_warmup_steps must be >= -1"):
        TD3Config(uniform_warmup_steps=-2)


def test_l2f_curriculum_needs_the_quadrotor():
    from turborl.algos import TD3, TD3Config

    with pytest.raises(ValueError, match=r"the 'l2f' reward curriculum needs turborl's Quadrotor-L2F-v0 envs"):
        TD3(TD3Config(env_id="Pendulum-v1", reward_curriculum="l2f", progress=False))


def test_step_before_reset_and_after_close():
    envs = make_vec("CartPole-v1", 2)
    with pytest.raises(RuntimeError, match=r"step\(\) was called before reset\(\)"):
        envs.step(np.zeros(2, dtype=np.int64))
    envs.reset()
    envs.close()
    for call in (lambda: envs.step(np.zeros(2, dtype=np.int64)), envs.reset, envs.get_state, envs.get_params,
                 lambda: envs.set_params(gravity=1.0)):
        with pytest.raises(RuntimeError, match="is closed"):
            call()


def test_stepping_a_finished_env_in_disabled_mode():
    envs = ready(autoreset_mode="disabled")
    while True:
        _, _, terminated, truncated, _ = envs.step(np.ones(3, dtype=np.int64))
        if (terminated | truncated).any():
            break
    index = int(np.flatnonzero(terminated | truncated)[0])
    with pytest.raises(RuntimeError, match=rf"env {index} has ended its episode and autoreset_mode is 'disabled'"):
        envs.step(np.ones(3, dtype=np.int64))


# ---- reset ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"options": {"reset_mask": [True, False, True]}}, TypeError, r"reset_mask'\] must be a numpy array, got list"),
        ({"options": {"reset_mask": np.ones(2, dtype=bool)}}, ValueError, r"reset_mask'\] must have shape \(3,\), got \(2,\)"),
        ({"options": {"reset_mask": np.ones(3, dtype=int)}}, TypeError, r"reset_mask'\] must have dtype bool, got int64"),
        ({"options": {"reset_mask": np.zeros(3, dtype=bool)}}, ValueError, r"must select at least one env"),
        ({"options": {"low": -0.1}}, ValueError, r"reset options \['low'\] are not supported"),
        ({"options": "all"}, TypeError, r"options must be a dict or None, got str"),
        ({"seed": [1, 2]}, ValueError, r"seed as a list must have one entry per env \(num_envs=3\), got 2"),
        ({"seed": [1, -2, 3]}, ValueError, r"seed\[1\] must be in \[0, 2\*\*64\), got -2"),
        ({"seed": 1.5}, TypeError, r"seed must be an integer, got float"),
    ],
)
def test_reset_rejects_bad_arguments(kwargs, error, pattern):
    envs = ready()
    with pytest.raises(error, match=pattern):
        envs.reset(**kwargs)


# ---- state and parameters ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda e: e.get_state(env_ids=[0, 3]), IndexError, r"env_ids must be in \[0, 3\), got 3"),
        (lambda e: e.get_state(env_ids=[-1]), IndexError, r"env_ids must be in \[0, 3\), got -1"),
        (lambda e: e.get_state(env_ids=[0.5]), TypeError, r"env_ids must be a 1-D array of integers, got dtype float64"),
        (lambda e: e.set_state(np.zeros((3, 5))), ValueError, r"state\['state'\] must have shape \(3, 4\), got \(3, 5\)"),
        (lambda e: e.set_state(np.full((3, 4), np.nan)), ValueError, r"state\['state'\] must be finite, got nan"),
        (lambda e: e.set_state({"velocity": np.zeros(3)}), ValueError, r"unknown keys \['velocity'\]"),
        (lambda e: e.set_state(np.zeros((2, 4)), env_ids=[1, 1]), ValueError, r"env_ids must not repeat"),
        (lambda e: e.set_state({"elapsed_steps": np.array([1, -1, 0])}), ValueError,
         r"state\['elapsed_steps'\] must be >= 0, got -1"),
        (lambda e: e.set_state({"needs_reset": np.zeros(3)}), TypeError, r"state\['needs_reset'\] must have dtype bool"),
        (lambda e: e.set_state({"episode_return": np.zeros(2)}), ValueError,
         r"state\['episode_return'\] must have shape \(3,\), got \(2,\)"),
        (lambda e: e.set_params(env_ids=[5], gravity=1.0), IndexError, r"env_ids must be in \[0, 3\), got 5"),
        (lambda e: e.set_params(env_ids=[0, 1], length=np.ones(3)), ValueError,
         r"length must be a scalar or have shape \(2,\), got shape \(3,\)"),
    ],
)
def test_state_and_params_reject_bad_arguments(call, error, pattern):
    envs = ready()
    before = envs.get_state()
    with pytest.raises(error, match=pattern):
        call(envs)
    assert all(np.array_equal(before[k], envs.get_state()[k]) for k in before), "a refused call must change nothing"


def test_set_params_is_all_or_nothing():
    envs = ready()
    with pytest.raises(ValueError, match="masspole must be positive"):
        envs.set_params(gravity=3.0, masspole=-1.0)
    assert np.array_equal(envs.get_params()["gravity"], np.full(3, 9.8))


# ---- quadrotor simulate ------------------------------------------------------------------------

def _level_quadrotors(n=3, dtype=np.float64):
    states = np.zeros((n, 23), dtype=dtype)
    states[:, 3] = 1.0
    return states


def _nan_state():
    states = _level_quadrotors()
    states[1, 7] = np.nan  # flat index 1 * 23 + 7 = 30
    return states


@pytest.mark.parametrize(
    "states, actions, steps, kwargs, error, pattern",
    [
        (np.zeros((3, 22)), np.zeros((3, 4)), 1, {}, ValueError, r"states must have shape \(N, 23\), got \(3, 22\)"),
        (np.zeros(23), np.zeros((3, 4)), 1, {}, ValueError, r"states must have shape \(N, 23\), got \(23,\)"),
        (np.zeros((0, 23)), np.zeros((0, 4)), 1, {}, ValueError, r"states must hold at least one env, got 0 rows"),
        (np.zeros((3, 23), dtype=np.int64), np.zeros((3, 4)), 1, {}, TypeError,
         r"states must be float32 or float64 .* got dtype int64"),
        (_nan_state(), np.zeros((3, 4)), 1, {}, ValueError, r"states must be finite, got nan at flat index 30"),
        (_level_quadrotors(), np.zeros((3, 3)), 1, {}, ValueError, r"actions must have shape \(3, 4\), got \(3, 3\)"),
        (_level_quadrotors(), np.full((3, 4), np.inf), 1, {}, ValueError, r"actions must be finite, got inf"),
        (_level_quadrotors(), np.zeros((3, 4)), -1, {}, ValueError, r"steps must be >= 0, got -1"),
        (_level_quadrotors(), np.zeros((3, 4)), 2.5, {}, TypeError, r"steps must be an integer, got float \(2.5\)"),
        (_level_quadrotors(), np.zeros((3, 4)), 1, {"wingspan": 0.1}, TypeError,
         r"'wingspan' is not an airframe parameter; they are: mass, gravity"),
        (_level_quadrotors(), np.zeros((3, 4)), 1, {"mass": 0.0}, ValueError, r"mass must be positive, got 0.0"),
        (_level_quadrotors(), np.zeros((3, 4)), 1, {"rpm_min": 3e4}, ValueError, r"rpm_min must be below rpm_max"),
        (_level_quadrotors(), np.zeros((3, 4)), 1, {"dt": 0.0}, ValueError, r"dt must be positive, got 0.0"),
        (_level_quadrotors(), np.zeros((3, 4)), 1, {"dt": -0.01}, ValueError, r"dt must be positive, got -0.01"),
        (_level_quadrotors(), np.zeros((3, 4)), 1, {"dt": np.inf}, ValueError, r"dt must be finite, got inf"),
        (_level_quadrotors(), np.zeros((3, 4)), 1, {"num_threads": 0}, ValueError,
         r"num_threads must be in \[1, 256\], got 0"),
    ],
)
def test_quadrotor_simulate_rejects_bad_arguments(states, actions, steps, kwargs, error, pattern):
    from turborl.envs.quadrotor import simulate

    copy = np.array(states, copy=True)
    with pytest.raises(error, match=pattern):
        simulate(states, actions, steps, **kwargs)
    assert np.array_equal(copy, states, equal_nan=copy.dtype.kind == "f"), "the input must be left alone"


def test_cuda_quadrotor_simulate_checks_arguments_before_touching_the_gpu():
    from turborl.cuda import quadrotor_simulate

    with pytest.raises(ValueError, match=r"states must have shape \(N, 23\), got \(3, 22\)"):
        quadrotor_simulate(np.zeros((3, 22)), np.zeros((3, 4)), 1)
    with pytest.raises(ValueError, match=r"dt must be positive, got 0.0"):
        quadrotor_simulate(_level_quadrotors(), np.zeros((3, 4)), 1, dt=0.0)
    with pytest.raises(TypeError, match=r"'num_threads' is not an airframe parameter"):
        quadrotor_simulate(_level_quadrotors(), np.zeros((3, 4)), 1, num_threads=2)


@pytest.mark.skipif(turborl.cuda_available(), reason="checks the message given without a GPU")
def test_cuda_quadrotor_simulate_without_a_gpu_says_so():
    from turborl.cuda import quadrotor_simulate

    with pytest.raises(RuntimeError, match="no CUDA device is available"):
        quadrotor_simulate(_level_quadrotors(), np.zeros((3, 4)), 1)


# ---- CUDA ----------------------------------------------------------------------------------------

def test_cuda_rollout_rejects_wrong_envs_before_touching_the_gpu():
    with pytest.raises(TypeError, match="env must be a CartPole-v1 NativeVectorEnv"):
        turborl.cuda.cartpole_rollout(ready("Pendulum-v1"), None, num_steps=3)
    with pytest.raises(ValueError, match="autoreset_mode='next_step' only"):
        turborl.cuda.cartpole_rollout(ready(autoreset_mode="same_step"), None, num_steps=3)
    envs = ready(length=np.array([0.5, 0.6, 0.7]))
    with pytest.raises(ValueError, match="same parameters in every env"):
        turborl.cuda.cartpole_rollout(envs, None, num_steps=3)


@pytest.mark.skipif(turborl.cuda_available(), reason="checks the message given without a GPU")
def test_cuda_rollout_without_a_gpu_says_so():
    with pytest.raises(RuntimeError, match="no CUDA device is available"):
        turborl.cuda.cartpole_rollout(ready(), np.zeros((2, 3), dtype=np.int64))


# ---- replay buffers -------------------------------------------------------------------------------

from turborl.replay import PrioritizedReplayBuffer, ReplayBuffer  # noqa: E402

REPLAY_SPEC = {"obs": ((3,), np.float32), "action": ((), np.int64), "reward": ((), np.float32),
               "terminated": ((), bool), "truncated": ((), bool)}


def replay_step(num_envs=2, **overrides):
    fields = dict(obs=np.zeros((num_envs, 3), np.float32), action=np.zeros(num_envs, np.int64),
                  reward=np.zeros(num_envs, np.float32), terminated=np.zeros(num_envs, bool),
                  truncated=np.zeros(num_envs, bool))
    fields.update(overrides)
    return fields


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"capacity": 0}, ValueError, r"capacity must be >= 1, got 0"),
        ({"capacity": 1}, ValueError, r"capacity must be >= num_envs \(2\), got 1"),
        ({"capacity": 3}, ValueError, r"capacity must hold at least 2 steps of every env \(4 transitions\) .*, got 2"),
        ({"num_envs": 0}, ValueError, r"num_envs must be >= 1, got 0"),
        ({"capacity": 2.5}, TypeError, r"capacity must be an integer, got float"),
        ({"spec": {"obs": ((3,), np.float32)}}, ValueError, r"missing \['action', 'reward', 'terminated', 'truncated'\]"),
        ({"spec": {**REPLAY_SPEC, "reward": ((), np.int32)}}, ValueError, r"spec\['reward'\] must be a float32 or float64"),
        ({"spec": {**REPLAY_SPEC, "terminated": ((), np.uint8)}}, ValueError, r"spec\['terminated'\] must be a bool"),
        ({"spec": {**REPLAY_SPEC, "obs": ((0,), np.float32)}}, ValueError, r"spec\['obs'\] shape must have positive"),
        ({"spec": {**REPLAY_SPEC, "obs": ((3,), "banana")}}, TypeError, r"spec\['obs'\] dtype 'banana' is not"),
        ({"spec": {**REPLAY_SPEC, "obs": ((3,), object)}}, TypeError, r"spec\['obs'\] dtype must be bool, integer"),
        ({"spec": {**REPLAY_SPEC, "obs": 7}}, TypeError, r"spec\['obs'\] must be \(shape, dtype\)"),
        ({"spec": [("obs", 3)]}, TypeError, r"spec must be a mapping"),
        ({"autoreset_mode": "disabled"}, ValueError, r"autoreset_mode must be one of \['next_step', 'same_step'\]"),
        ({"autoreset_mode": "same_step"}, ValueError, r"'same_step' needs a 'next_obs' field"),
        ({"seed": -3}, ValueError, r"seed must be in \[0, 2\*\*64\), got -3"),
    ],
)
def test_replay_buffer_rejects_bad_construction(kwargs, error, pattern):
    arguments = {"capacity": 100, "spec": REPLAY_SPEC, "num_envs": 2, **kwargs}
    with pytest.raises(error, match=pattern):
        ReplayBuffer(arguments.pop("capacity"), arguments.pop("spec"), **arguments)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"alpha": -0.5}, r"alpha must be a finite number >= 0, got -0.5"),
    ({"beta": float("nan")}, r"beta must be a finite number >= 0, got nan"),
    ({"eps": -1e-3}, r"eps must be a finite number >= 0, got -0.001"),
])
def test_prioritized_buffer_rejects_bad_exponents(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        PrioritizedReplayBuffer(100, REPLAY_SPEC, **kwargs)


@pytest.mark.parametrize(
    "fields, error, pattern",
    [
        ({k: v for k, v in replay_step().items() if k != "reward"}, ValueError, r"missing \['reward'\]"),
        ({**replay_step(), "value": np.zeros(2)}, ValueError, r"unexpected \['value'\]"),
        (replay_step(obs=np.zeros((2, 4), np.float32)), ValueError, r"obs must have shape \(2, \*\(3,\)\)"),
        (replay_step(obs=np.zeros((3, 3), np.float32)), ValueError, r"got \(3, 3\)"),
        (replay_step(action=np.zeros(2, np.float32)), TypeError, r"action must have dtype int64 .* got float32"),
        (replay_step(terminated=np.zeros(2, np.int64)), TypeError, r"terminated must have dtype bool .* got int64"),
        (replay_step(reward=np.zeros(2, bool)), TypeError, r"reward must have dtype float32 .* got bool"),
        (replay_step(obs=np.zeros((5, 2, 3), np.float32)), ValueError,
         r"all fields must hold the same number of steps; .*obs holds 5"),
        (replay_step(obs=object()), TypeError, r"obs must be an array of numbers of dtype float32, got dtype object"),
    ],
)
def test_replay_add_rejects_bad_fields(fields, error, pattern):
    buffer = ReplayBuffer(100, REPLAY_SPEC, num_envs=2)
    with pytest.raises(error, match=pattern):
        buffer.add(**fields)
    assert len(buffer) == 0, "a refused add must store nothing"


def test_replay_sample_rejects_bad_requests():
    buffer = PrioritizedReplayBuffer(100, REPLAY_SPEC, num_envs=2, seed=0)
    with pytest.raises(ValueError, match="holds no complete transition yet"):
        buffer.sample(1)
    buffer.add(**replay_step())
    with pytest.raises(ValueError, match="holds no complete transition yet"):
        buffer.sample(1)  # one step: its next observation is not stored yet
    for _ in range(3):
        buffer.add(**replay_step())
    for kwargs, pattern in [({"batch_size": 7}, r"batch_size \(7\) is larger than the number of stored transitions \(6\)"),
                            ({"batch_size": 0}, r"batch_size must be >= 1, got 0"),
                            ({"batch_size": 2, "n_step": 0}, r"n_step must be >= 1, got 0"),
                            ({"batch_size": 2, "gamma": 1.5}, r"gamma must be in \[0, 1\], got 1.5"),
                            ({"batch_size": 2, "gamma": -0.1}, r"gamma must be in \[0, 1\], got -0.1"),
                            ({"batch_size": 2, "beta": -1.0}, r"beta must be a finite number >= 0, got -1.0")]:
        with pytest.raises(ValueError, match=pattern):
            buffer.sample(**kwargs)


@pytest.mark.parametrize(
    "indices, priorities, error, pattern",
    [
        (np.array([0, 1]), np.array([1.0, -2.0]), ValueError, r"priorities\[1\] = -2 must be a finite number >= 0"),
        (np.array([0, 1]), np.array([np.nan, 1.0]), ValueError, r"priorities\[0\] = nan must be a finite"),
        (np.array([0, 1]), np.array([1.0, np.inf]), ValueError, r"priorities\[1\] = inf must be a finite"),
        (np.array([0, 500]), np.array([1.0, 1.0]), IndexError, r"indices\[1\] = 500 is outside \[0, 100\)"),
        (np.array([-1]), np.array([1.0]), IndexError, r"indices\[0\] = -1 is outside"),
        (np.array([0, 1]), np.array([1.0]), ValueError, r"1-D of the same length"),
        (np.array([0.5]), np.array([1.0]), TypeError, r"indices must be integers, got dtype float64"),
    ],
)
def test_update_priorities_rejects_bad_values(indices, priorities, error, pattern):
    buffer = PrioritizedReplayBuffer(100, REPLAY_SPEC, num_envs=2, seed=0)
    for _ in range(4):
        buffer.add(**replay_step())
    buffer.sample(2)
    before = buffer._core.priority_leaves.copy()
    with pytest.raises(error, match=pattern):
        buffer.update_priorities(indices, priorities)
    assert np.array_equal(before, buffer._core.priority_leaves), "a refused update must change nothing"


# ---- evaluation: interval estimates, profiles, AdaStop, CSVs -------------------------------------

from turborl.eval import MultipleAgentsComparator, create_performance_profile, get_interval_estimates  # noqa: E402
from turborl.eval import metrics as eval_metrics  # noqa: E402
from turborl.eval import commands as eval_commands  # noqa: E402
from turborl.eval.report import read_scores  # noqa: E402

GOOD_SCORES = np.arange(12.0).reshape(4, 3)


def nan_scores():
    scores = GOOD_SCORES.copy()
    scores[2, 1] = np.nan
    return scores


@pytest.mark.parametrize(
    "score_dict, kwargs, error, pattern",
    [
        ({}, {}, ValueError, r"score_dict must be a non-empty mapping"),
        ({"a": np.zeros((0, 3))}, {}, ValueError, r"score_dict\['a'\] is empty \(shape \(0, 3\)\)"),
        ({"a": [[1.0, 2.0], [3.0]]}, {}, ValueError, r"score_dict\['a'\] must be a numeric array .* could not be read"),
        ({"a": np.ones(5)}, {}, ValueError, r"score_dict\['a'\] must have 2 or 3 dimensions .* got shape \(5,\)"),
        ({"a": nan_scores()}, {}, ValueError, r"score_dict\['a'\] holds NaN or infinite scores at \[2, 1\]"),
        ({"a": [["x", "y"]]}, {}, ValueError, r"could not be read"),
        ({"a": GOOD_SCORES}, {"reps": 0}, ValueError, r"reps must be >= 1, got 0"),
        ({"a": GOOD_SCORES}, {"confidence_interval_size": 1.0}, ValueError,
         r"confidence_interval_size must be strictly between 0 and 1, got 1.0"),
        ({"a": GOOD_SCORES}, {"confidence_interval_size": 0}, ValueError, r"strictly between 0 and 1, got 0"),
        ({"a": GOOD_SCORES}, {"method": "normal"}, ValueError, r"method must be one of .* got 'normal'"),
        ({"a": GOOD_SCORES}, {"random_state": -3}, ValueError, r"random_state"),
    ],
)
def test_interval_estimates_reject_bad_input(score_dict, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        get_interval_estimates(score_dict, eval_metrics.aggregate_iqm, **kwargs)


@pytest.mark.parametrize(
    "tau_list, kwargs, pattern",
    [
        ([0.0, 0.5, 0.4], {}, r"tau_list must be increasing; tau_list\[2\] = 0.4 follows"),
        ([], {}, r"tau_list must be a non-empty 1-D list"),
        ([0.0, np.nan], {}, r"tau_list must be a non-empty 1-D list of finite thresholds"),
        ([0.0, 1.0], {"reps": -5}, r"reps must be >= 1, got -5"),
        ([0.0, 1.0], {"confidence_interval_size": 1.5}, r"strictly between 0 and 1, got 1.5"),
    ],
)
def test_performance_profile_rejects_bad_input(tau_list, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        create_performance_profile({"a": GOOD_SCORES}, tau_list, **kwargs)


def test_probability_of_improvement_needs_matching_tasks():
    pair = {"a,b": (GOOD_SCORES, np.ones((4, 2)))}
    with pytest.raises(ValueError, match=r"every array must have the same number of tasks"):
        get_interval_estimates(pair, eval_metrics.probability_of_improvement, reps=10, random_state=0)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"K": 0}, r"K must be >= 1, got 0"),
        ({"n": 0}, r"n must be >= 1, got 0"),
        ({"n": [5, -1]}, r"n\[1\] must be >= 1, got -1"),
        ({"B": 0}, r"B must be >= 1, got 0"),
        ({"alpha": 1.0}, r"alpha must be in \(0, 1\), got 1.0"),
        ({"beta": 1.0}, r"beta must be in \[0, 1\), got 1.0"),
        ({"seed": -1}, r"seed"),
    ],
)
def test_adastop_rejects_bad_construction(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        MultipleAgentsComparator(**kwargs)


def test_adastop_rejects_bad_evaluations():
    comparator = MultipleAgentsComparator(n=3, K=2, B=100, seed=0)
    with pytest.raises(ValueError, match=r"at least two agent names"):
        comparator.partial_compare({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"the evaluations of 'b' hold NaN"):
        comparator.partial_compare({"a": [1.0, 2.0, 3.0], "b": [1.0, np.nan, 3.0]})
    with pytest.raises(ValueError, match=r"interim 0 needs 3 evaluations"):
        comparator.partial_compare({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0]})


@pytest.mark.parametrize(
    "text, pattern",
    [
        (",a,b\n0,1,2\n1,3,4\n", r"holds 2 rows of scores, expected N = 3"),
        (",a,b\n0,1,2\n1,3,x\n2,5,6\n", r"line 3, column 'b': 'x' is not a number"),
        (",a,b\n0,1,2\n1,3\n2,5,6\n", r"line 3: 2 cells, expected 3"),
        (",a,b\n0,1,2\n1,3,nan\n2,5,6\n", r"line 3, column 'b': 'nan' is not finite"),
        (",a\n0,1\n1,2\n2,3\n", r"at least two agents"),
        (",a,a\n0,1,2\n1,3,4\n2,5,6\n", r"agent names in the header must be distinct"),
    ],
)
def test_compare_rejects_bad_csv(tmp_path, text, pattern):
    path = tmp_path / "group.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        eval_commands.compare_step(path, size_group=3, n_permutations=100, seed=0)
    assert not (tmp_path / eval_commands.STATE_FILE).exists(), "a refused CSV must not create a state"


def test_compare_reports_a_damaged_state_and_keeps_it(tmp_path):
    path = tmp_path / "group.csv"
    path.write_text(",a,b\n0,1,2\n1,3,4\n2,5,6\n")
    state = tmp_path / eval_commands.STATE_FILE
    for damage in ['{"format": "turborl-adastop", "version": 1', '{"format": "something else"}', "[]"]:
        state.write_text(damage)
        with pytest.raises(ValueError, match=r"is damaged .* kept as it is"):
            eval_commands.compare_step(path, size_group=3, n_permutations=100, seed=0)
        assert state.read_text() == damage, "a damaged state must be reported, not reset"


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("algorithm,task,run,score\nppo,cp,0,1\n", r"must have the columns .* missing \['step'\]"),
        ("algorithm,task,run,step,score\nppo,cp,0,10,abc\n", r"line 2: step must be an integer and score a number"),
        ("algorithm,task,run,step,score\nppo,cp,0,10,inf\n", r"line 2: score 'inf' is not finite"),
        ("algorithm,task,run,step,score\n", r"no score rows"),
    ],
)
def test_report_rejects_bad_score_files(tmp_path, text, pattern):
    path = tmp_path / "scores.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=pattern):
        read_scores([path])


# ---- training --------------------------------------------------------------------------------------

def train(argv, capsys):
    from turborl.cli import main

    code = main(["train", *argv, "--progress", "false"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["a2c", "--env", "CartPole-v1"], r"unknown algorithm 'a2c'; turborl trains alphazero, dqn, ppo, sac"),
        (["ppo", "--env", "NoSuchEnv-v9"], r"env_id 'NoSuchEnv-v9' is neither a turborl env nor a registered"),
        (["ppo", "--env", "CartPole-v1", "--learning-rate", "fast"], r"learning_rate must be a number, got 'fast'"),
        (["ppo", "--env", "CartPole-v1", "--num-envs", "2.5"], r"num_envs must be an integer, got '2.5'"),
        (["ppo", "--env", "CartPole-v1", "--normalize-obs", "maybe"], r"normalize_obs must be true or false"),
        (["ppo", "--env", "CartPole-v1", "--gamma", "1.5"], r"gamma must be in \[0, 1\], got 1.5"),
        (["ppo", "--env", "CartPole-v1", "--critic", "huber"], r"critic must be one of"),
        (["ppo", "--env", "CartPole-v1", "--no-such-flag", "1"], r"ppo has no option --no-such-flag"),
        (["dqn", "--env", "Pendulum-v1"], r"DQN needs a Discrete action space; Pendulum-v1 has Box"),
        (["dqn", "--env", "CartPole-v1", "--loss", "l1"], r"loss must be one of"),
        (["sac", "--env", "CartPole-v1"], r"SAC needs a 1-D Box action space; CartPole-v1 has Discrete"),
        (["td3", "--env", "Pendulum-v1", "--policy-delay", "0"], r"policy_delay must be >= 1, got 0"),
        (["td3", "--env", "Pendulum-v1", "--exploration-noise", "-0.1"], r"exploration_noise must be >= 0"),
        (["sac", "--env", "Pendulum-v1", "--ent-coef", "0"], r"ent_coef must be > 0, got 0.0"),
        (["sac", "--env", "Pendulum-v1", "--tau", "2"], r"tau must be in \[0, 1\], got 2.0"),
        (["stream_q", "--env", "CartPole-v1", "--num-envs", "2"], r"num_envs must be 1, got 2"),
        (["stream_ac", "--env", "CartPole-v1", "--backend", "torch"], r"backend='torch' is not available for stream-x"),
        (["stream_q", "--env", "Pendulum-v1"], r"stream_q needs a Discrete action space; Pendulum-v1 has Box"),
        (["stream_sarsa", "--env", "CartPole-v1", "--lamda", "1.5"], r"lamda must be in \[0, 1\], got 1.5"),
        (["stream_ac", "--env", "CartPole-v1", "--sparsity", "1"], r"sparsity must be in \[0, 1\), got 1.0"),
        (["sac", "--env", "Pendulum-v1", "--prioritized", "true", "--backend", "native"],
         r"backend='native' cannot train this network: prioritized replay"),
        (["--resume", "/nonexistent/run"], r"no checkpoint in '/nonexistent/run'"),
        ([], r"name an algorithm"),
    ],
)
def test_train_rejects_bad_input(tmp_path, capsys, argv, pattern):
    import re

    code, err = train([*argv, "--out", str(tmp_path / "run")] if argv and argv[0] != "--resume" else argv, capsys)
    assert code == 2 and re.search(pattern, err), err


def test_resume_rejects_another_algorithms_or_versions_checkpoint(tmp_path):
    pytest.importorskip("torch")
    import torch
    from turborl.algos import DQN, PPO, PPOConfig
    from turborl.algos.checkpoint import CHECKPOINT_DIR

    PPO(PPOConfig(env_id="CartPole-v1", num_envs=2, num_steps=16, minibatch_size=32, total_timesteps=64,
                  eval_interval=64, eval_episodes=1, progress=False), tmp_path).learn()
    with pytest.raises(ValueError, match=r"is a ppo run, not dqn"):
        DQN.resume(tmp_path)
    state_file = next((tmp_path / CHECKPOINT_DIR).glob("v-*/state.pt"))
    data = torch.load(state_file, weights_only=True)
    data["version"] = 99
    torch.save(data, state_file)
    with pytest.raises(ValueError, match=r"has version 99; this turborl reads version 1"):
        PPO.resume(tmp_path)
    state_file.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"the checkpoint in .* is damaged or unreadable"):
        PPO.resume(tmp_path)
    (tmp_path / "policy.pt").write_bytes(b"not a policy")
    with pytest.raises(ValueError, match=r"the policy .* is damaged or unreadable"):
        turborl.load_policy(tmp_path)


def test_policy_rejects_observations_of_the_wrong_shape(tmp_path):
    pytest.importorskip("torch")
    from turborl.algos import PPO, PPOConfig

    PPO(PPOConfig(env_id="CartPole-v1", num_envs=2, num_steps=16, minibatch_size=32, total_timesteps=32,
                  eval_interval=32, eval_episodes=1, progress=False), tmp_path).learn()
    policy = turborl.load_policy(tmp_path)
    with pytest.raises(ValueError, match=r"obs must be a batch of shape \[N, 4\], got \(4,\)"):
        policy.act(np.zeros(4, np.float32))


# ---- native network engine -------------------------------------------------------------------------

def _mlp():
    from turborl._core import nn as native

    return native.Mlp32([3, 8, 2], "tanh")


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda nn: nn.Mlp32([3, 8, 2], "sigmoid"), r"activation must be one of .* got 'sigmoid'"),
        (lambda nn: nn.Mlp32([3], "tanh"), r"at least input and output sizes, got 1"),
        (lambda nn: nn.Mlp32([3, 0, 2], "tanh"), r"layer sizes must be >= 1, got 0"),
        (lambda nn: _mlp().forward(np.zeros(5, np.float32), np.zeros((4, 3), np.float32)),
         r"params must hold 208 values, got 5"),
        (lambda nn: _mlp().forward(np.zeros(208, np.float32), np.zeros((4, 2), np.float32)),
         r"x must have shape \[batch, 3\]"),
        (lambda nn: _mlp().forward(np.zeros(208, np.float32), np.float32([[0, np.nan, 0]])),
         r"x holds a non-finite value \(nan\) at flat index 1"),
        (lambda nn: nn.adam_step(np.zeros(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32),
                                 np.zeros(3, np.float32), 1, 0.0), r"learning_rate must be > 0, got 0"),
        (lambda nn: nn.adam_step(np.zeros(3, np.float32), np.zeros(3, np.float32), np.zeros(3, np.float32),
                                 np.zeros(3, np.float32), 0, 1e-3), r"step must be >= 1"),
        (lambda nn: nn.adam_step(np.zeros(3, np.float32), np.zeros(2, np.float32), np.zeros(3, np.float32),
                                 np.zeros(3, np.float32), 1, 1e-3), r"grads must hold 3 values, got 2"),
        (lambda nn: nn.adam_step(*(lambda m: (np.zeros(3, np.float32), np.zeros(3, np.float32), m, m))(
            np.zeros(3, np.float32)), 1, 1e-3), r"exp_avg and exp_avg_sq must not share memory"),
        (lambda nn: nn.adam_step(*(lambda a: (a[:3], np.zeros(3, np.float32), a[2:], np.zeros(3, np.float32)))(
            np.zeros(5, np.float32)), 1, 1e-3), r"params and exp_avg must not share memory"),
        (lambda nn: nn.clip_grad_norm(np.zeros(3, np.float32), -1.0), r"max_norm must be > 0, got -1"),
        (lambda nn: nn.polyak_update(np.zeros(3), np.zeros(3), 1.5), r"tau must be in \[0, 1\], got 1.5"),
    ],
)
def test_native_engine_rejects_bad_input(call, pattern):
    from turborl._core import nn as native

    with pytest.raises(ValueError, match=pattern):
        call(native)


def _ppo_update(**changes):
    from turborl._core import nn as native

    engine = native.PpoEngine32([4, 8, 2], [4, 8, 1], "tanh", True)
    p = engine.num_params
    batch = 16
    args = dict(params=np.zeros(p, np.float32), grads=np.zeros(p, np.float32), exp_avg=np.zeros(p, np.float32),
                exp_avg_sq=np.zeros(p, np.float32), step=0, obs=np.zeros((batch, 4), np.float32),
                actions=np.zeros(batch, np.float32), old_log_probs=np.zeros(batch, np.float32),
                old_values=np.zeros(batch, np.float32), advantages=np.zeros(batch, np.float32),
                returns=np.zeros(batch, np.float32), order=np.arange(batch, dtype=np.int64)[None],
                minibatch_size=8, lr=1e-3, eps=1e-5, clip=0.2, ent_coef=0.0, vf_coef=0.5, max_grad_norm=0.5,
                norm_adv=True, clip_vloss=False, target_kl=float("nan"))
    args.update(changes)
    return engine.update(**args)


@pytest.mark.parametrize(
    "changes, pattern",
    [
        ({"advantages": np.full(16, np.inf, np.float32)}, r"advantages holds a non-finite value \(inf\)"),
        ({"order": np.array([[0] * 15 + [16]], dtype=np.int64)}, r"order holds index 16 outside \[0, 16\)"),
        ({"order": np.zeros((1, 8), dtype=np.int64)}, r"order must have shape \[epochs, 16\]"),
        ({"actions": np.full(16, 2.0, np.float32)}, r"actions must be indices in \[0, 2\), got 2"),
        ({"minibatch_size": 17}, r"minibatch_size must be in \[1, 16\], got 17"),
        ({"lr": -1.0}, r"learning_rate must be > 0, got -1"),
        ({"returns": np.zeros(3, np.float32)}, r"returns must hold 16 values, got 3"),
    ],
)
def test_native_ppo_update_rejects_bad_input(changes, pattern):
    with pytest.raises(ValueError, match=pattern):
        _ppo_update(**changes)


def test_backend_choice_is_checked():
    pytest.importorskip("torch")
    from turborl.algos import PPO, PPOConfig
    from turborl.nn.native import mlp_layout

    with pytest.raises(ValueError, match=r"backend must be 'auto', 'native' or 'torch', got 'gpu'"):
        PPOConfig(backend="gpu")
    with pytest.raises(ValueError, match=r"backend='native' cannot train this network: critic='hl_gauss'"):
        PPO(PPOConfig(num_envs=2, num_steps=16, minibatch_size=32, progress=False, critic="hl_gauss",
                      backend="native"))
    import torch

    with pytest.raises(ValueError, match=r"layer 1 is Sigmoid\(\); the native engine supports"):
        mlp_layout(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 1)))


def test_native_td3_engine_rejects_bad_input():
    from turborl._core import nn as native

    with pytest.raises(ValueError, match=r"the critic takes critic obs \+ action: more than 2 inputs, got 2"):
        native.Td3Engine32([3, 8, 2], [2, 8, 1], "relu")
    with pytest.raises(ValueError, match=r"a TD3 critic has one output, got 2"):
        native.Td3Engine32([3, 8, 2], [5, 8, 2], "relu")
    with pytest.raises(ValueError, match=r"num_threads must be >= 1, got 0"):
        native.Td3Engine32([3, 8, 2], [5, 8, 1], "relu", num_threads=0)
    engine = native.Td3Engine32([3, 8, 2], [5, 8, 1], "relu")
    a, c = np.zeros(engine.actor_params, np.float32), np.zeros(engine.critic_params, np.float32)
    batch = {"obs": np.zeros((4, 3), np.float32), "actions": np.zeros((4, 2), np.float32),
             "rewards": np.zeros(4, np.float32), "discounts": np.ones(4, np.float32),
             "next_obs": np.zeros((4, 3), np.float32), "noise": np.zeros((4, 2), np.float32)}
    arrays = dict(actor=a, critic=c, target_actor=a.copy(), target_critic=c.copy(), actor_grads=a.copy(),
                  critic_grads=c.copy(), actor_exp_avg=a.copy(), actor_exp_avg_sq=a.copy(), critic_exp_avg=c.copy(),
                  critic_exp_avg_sq=c.copy(), actor_step=0, critic_step=0, update_actor=True, actor_lr=1e-3,
                  critic_lr=1e-3)
    with pytest.raises(ValueError, match=r"noise holds a non-finite value \(nan\)"):
        engine.update(**arrays, **{**batch, "noise": np.full((4, 2), np.nan, np.float32)})
    with pytest.raises(ValueError, match=r"target_critic must hold \d+ values, got 3"):
        engine.update(**{**arrays, "target_critic": np.zeros(3, np.float32)}, **batch)
    with pytest.raises(ValueError, match=r"tau must be in \[0, 1\], got 2"):
        engine.update(**arrays, **batch, tau=2.0)
    with pytest.raises(ValueError, match=r"give both critic_obs and next_critic_obs, or neither"):
        engine.update(**arrays, **batch, critic_obs=np.zeros((4, 3), np.float32))
    asymmetric = native.Td3Engine32([3, 8, 2], [9, 8, 1], "relu")
    c = np.zeros(asymmetric.critic_params, np.float32)
    arrays.update(critic=c, target_critic=c.copy(), critic_grads=c.copy(), critic_exp_avg=c.copy(),
                  critic_exp_avg_sq=c.copy())
    with pytest.raises(ValueError, match=r"the critics see 7 observation values, the actor 3: pass critic_obs"):
        asymmetric.update(**arrays, **batch)


def test_native_obgd_and_stream_td_reject_bad_input():
    from turborl._core import nn as native

    x = np.zeros(5)
    with pytest.raises(ValueError, match=r"adaptive ObGD needs second_moment"):
        native.obgd_step(x, x, x.copy(), None, 1, 0.5, False, adaptive=True)
    with pytest.raises(ValueError, match=r"learning_rate must be > 0, got -1"):
        native.obgd_step(x, x, x.copy(), None, 1, 0.5, False, lr=-1.0)
    with pytest.raises(ValueError, match=r"delta must be finite, got nan"):
        native.obgd_step(x, x, x.copy(), None, 1, float("nan"), False)
    with pytest.raises(ValueError, match=r"kappa must be > 0, got 0"):
        native.obgd_step(x, x, x.copy(), None, 1, 0.5, False, kappa=0.0)
    engine = native.StreamTdEngine64([3, 8, 1])
    params, traces = np.zeros(engine.num_params), np.zeros(engine.num_params)
    with pytest.raises(ValueError, match=r"next_obs must hold 3 values, got 2"):
        engine.step(params, traces, None, 1, np.zeros(3), 0.0, np.zeros(2), False, False)
    with pytest.raises(ValueError, match=r"reward must be finite, got inf"):
        engine.step(params, traces, None, 1, np.zeros(3), float("inf"), np.zeros(3), False, False)
    with pytest.raises(ValueError, match=r"a value network has one output, got 2"):
        native.StreamTdEngine64([3, 8, 2])


def test_native_sac_engine_rejects_bad_input():
    from turborl._core import nn as native

    with pytest.raises(ValueError, match=r"outputs \[mean, log_std\]: an even count, got 3"):
        native.SacEngine32([3, 8, 3], [5, 8, 1])
    with pytest.raises(ValueError, match=r"the critic takes obs \+ action = 4 inputs, got 5"):
        native.SacEngine32([3, 8, 2], [5, 8, 1])
    engine = native.SacEngine32([3, 8, 4], [5, 8, 1])
    with pytest.raises(ValueError, match=r"eps must hold 8 values, got 6"):
        engine.act(np.zeros(engine.actor_params, np.float32), np.zeros((4, 3), np.float32),
                   np.zeros((3, 2), np.float32), np.zeros((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"actor must hold \d+ values, got 1"):
        engine.act(np.zeros(1, np.float32), np.zeros((4, 3), np.float32), None, np.zeros((4, 2), np.float32))


def test_native_dqn_replay_training_rejects_mismatched_layouts():
    from turborl._core import nn as native
    from turborl.replay import ReplayBuffer

    replay = ReplayBuffer(64, {"obs": ((3,), np.float32), "action": ((), np.int64), "reward": ((), np.float32),
                               "terminated": ((), bool), "truncated": ((), bool)}, num_envs=1, seed=0)
    for step in range(10):
        replay.add(obs=np.full((1, 3), step, np.float32), action=np.array([5]), reward=np.zeros(1, np.float32),
                   terminated=np.zeros(1, bool), truncated=np.zeros(1, bool))
    engine = native.DqnEngine32([3, 8, 2], "relu")
    layout = replay.native_layout()
    p = np.zeros(engine.num_params, np.float32)
    args = dict(core=layout["core"], obs_field=layout["obs_field"], action_field=layout["action_field"],
                obs_type=layout["obs_type"], action_type=layout["action_type"], reward_is_float64=False, params=p,
                target_params=p.copy(), grads=p.copy(), exp_avg=p.copy(), exp_avg_sq=p.copy(), step=0, steps=1,
                batch_size=4, n_step=1, gamma=0.99, beta=0.0, prioritized=False, lr=1e-3, eps=1e-8,
                max_grad_norm=10.0, double_q=True, huber=True)
    with pytest.raises(ValueError, match=r"a stored action \(5\) is outside \[0, 2\)"):
        engine.train_from_replay(**args)
    with pytest.raises(ValueError, match=r"obs_field must be in \[0, 5\), got 7"):
        engine.train_from_replay(**{**args, "obs_field": 7})
    with pytest.raises(ValueError, match=r"the obs field holds 12 bytes per item, the network takes 3 values"):
        engine.train_from_replay(**{**args, "obs_type": 1})


def test_native_stream_q_rejects_bad_actions():
    from turborl._core import nn as native

    engine = native.StreamQEngine64([3, 8, 2])
    params, traces = np.zeros(engine.num_params), np.zeros(engine.num_params)
    with pytest.raises(ValueError, match=r"action must be in \[0, 2\), got 2"):
        engine.step(params, traces, None, 1, np.zeros(3), 2, 0.0, np.zeros(3), -1, False, False)
    with pytest.raises(ValueError, match=r"next_action must be < 2 \(or negative for Q-learning's max\), got 5"):
        engine.step(params, traces, None, 1, np.zeros(3), 0, 0.0, np.zeros(3), 5, False, False)


def test_native_stream_ac_rejects_bad_input():
    from turborl._core import nn as native

    with pytest.raises(ValueError, match=r"a continuous policy outputs \[mean, pre_std\]: an even count, got 3"):
        native.StreamAcEngine64([2, 8, 3], [2, 8, 1], False)
    engine = native.StreamAcEngine64([2, 8, 3], [2, 8, 1], True)
    policy, value = np.zeros(engine.policy_params), np.zeros(engine.value_params)
    with pytest.raises(ValueError, match=r"action must be an index in \[0, 3\), got 1.5"):
        engine.step(policy, value, policy.copy(), value.copy(), np.zeros(2), np.array([1.5]), 0.0, np.zeros(2),
                    False, False)


# ---- MCTS -----------------------------------------------------------------------------------------

def mcts_problem(batch_size=3, num_actions=4, bad=None, bad_at=0):
    """A root and a recurrent_fn whose output at simulation `bad_at` is altered by `bad`."""
    import turborl.mcts as tm

    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(batch_size, 2)).astype(np.float32)
    root = tm.RootFnOutput(prior_logits=rng.normal(size=(batch_size, num_actions)).astype(np.float32),
                           value=np.zeros(batch_size, np.float32), embedding=embedding)
    calls = []

    def recurrent_fn(params, key, action, embedding):
        fields = {"reward": np.ones(batch_size, np.float32), "discount": np.full(batch_size, 0.9, np.float32),
                  "prior_logits": np.zeros((batch_size, num_actions), np.float32),
                  "value": np.zeros(batch_size, np.float32)}
        new_embedding = embedding + 1
        if bad is not None and len(calls) == bad_at:
            result = bad(fields, new_embedding)
            calls.append(1)
            return result
        calls.append(1)
        return tm.RecurrentFnOutput(**fields), new_embedding

    return root, recurrent_fn


def _replace_root(**changes):
    import dataclasses

    root, _ = mcts_problem()
    return dataclasses.replace(root, **changes)


MCTS_POLICIES = ["muzero_policy", "gumbel_muzero_policy"]


@pytest.mark.parametrize("policy", MCTS_POLICIES)
@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"root": (np.zeros((3, 4)), np.zeros(3), np.zeros((3, 2)))}, TypeError,
         r"root must be a turborl.mcts.RootFnOutput, got tuple"),
        ({"root": _replace_root(prior_logits=np.zeros(4))}, ValueError,
         r"root.prior_logits must have shape \(B, A\) with B, A >= 1, got \(4,\)"),
        ({"root": _replace_root(value=np.zeros(2))}, ValueError, r"root.value must have shape \(3,\), got \(2,\)"),
        ({"root": _replace_root(embedding=np.zeros((2, 2)))}, ValueError,
         r"root.embedding must have batch size 3 in its first dimension, got shape \(2, 2\)"),
        ({"root": _replace_root(embedding=[[0.0], [0.0], [0.0]])}, TypeError,
         r"root.embedding must hold NumPy arrays or torch tensors, got float"),
        ({"root": _replace_root(prior_logits=np.array([[0, 1, np.nan, 0]] * 3))}, ValueError,
         r"root.prior_logits must be finite, got nan at flat index 2"),
        ({"root": _replace_root(value=np.array([0.0, np.inf, 0.0]))}, ValueError,
         r"root.value must be finite, got inf at flat index 1"),
        ({"root": _replace_root(prior_logits=np.full((3, 4), "a"))}, TypeError,
         r"root.prior_logits must hold real numbers, got dtype <U1"),
        ({"invalid_actions": np.zeros((3, 4), np.float32)}, TypeError,
         r"invalid_actions must be a bool \(or 0/1 integer\) mask, got dtype float32"),
        ({"invalid_actions": np.full((3, 4), 2)}, ValueError, r"invalid_actions must hold only 0 and 1, got 2"),
        ({"invalid_actions": np.zeros((3, 5), bool)}, ValueError,
         r"invalid_actions must have shape \(3, 4\), got \(3, 5\)"),
        ({"invalid_actions": np.array([[0, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], bool)}, ValueError,
         r"invalid_actions\[1\] marks all 4 actions invalid at the root"),
        ({"num_simulations": 0}, ValueError, r"num_simulations must be >= 1, got 0"),
        ({"num_simulations": 2.5}, TypeError, r"num_simulations must be an integer, got float \(2.5\)"),
        ({"num_simulations": 2**31}, ValueError,
         r"number of nodes \(num_simulations \+ 1\) must be in \[1, 2\*\*31 - 1\], got 2147483649"),
        ({"max_depth": 0}, ValueError, r"max_depth must be >= 1, got 0"),
        ({"rng_key": -1}, ValueError, r"rng_key must be in \[0, 2\*\*64\), got -1"),
        ({"rng_key": "seed"}, TypeError, r"rng_key must be an integer, got str"),
        ({"recurrent_fn": "model"}, TypeError, r"recurrent_fn must be callable, got str"),
        ({"qtransform": lambda tree, index: 0}, TypeError, r"qtransform must be one of turborl.mcts's qtransforms"),
        ({"qtransform": "qtransform_by_min_max"}, TypeError, r"qtransform must be one of turborl.mcts's"),
        ({"num_threads": 0}, ValueError, r"num_threads must be in \[1, 256\], got 0"),
    ],
)
def test_mcts_policies_reject_bad_arguments(policy, kwargs, error, pattern):
    import turborl.mcts as tm

    root, recurrent_fn = mcts_problem()
    arguments = {"params": None, "rng_key": 0, "root": root, "recurrent_fn": recurrent_fn, "num_simulations": 4,
                 **kwargs}
    with pytest.raises(error, match=pattern):
        getattr(tm, policy)(**arguments)


@pytest.mark.parametrize(
    "policy, kwargs, error, pattern",
    [
        ("muzero_policy", {"dirichlet_fraction": 1.5}, ValueError, r"dirichlet_fraction must be in \[0, 1\], got 1.5"),
        ("muzero_policy", {"dirichlet_alpha": 0.0}, ValueError, r"dirichlet_alpha must be positive, got 0.0"),
        ("muzero_policy", {"temperature": -1.0}, ValueError, r"temperature must be >= 0, got -1.0"),
        ("muzero_policy", {"temperature": float("nan")}, ValueError, r"temperature must be finite, got nan"),
        ("muzero_policy", {"pb_c_base": 0}, ValueError, r"pb_c_base must be positive, got 0.0"),
        ("gumbel_muzero_policy", {"max_num_considered_actions": 0}, ValueError,
         r"max_num_considered_actions must be >= 1, got 0"),
        ("gumbel_muzero_policy", {"gumbel_scale": -1.0}, ValueError, r"gumbel_scale must be >= 0, got -1.0"),
        ("gumbel_muzero_policy", {"qtransform": "partial_unknown"}, TypeError,
         r"qtransform_completed_by_mix_value has no parameter 'pb_c_init'; its parameters are: epsilon, "),
        ("muzero_policy", {"qtransform": "partial_min_max_missing"}, TypeError,
         r"qtransform_by_min_max needs min_value and max_value"),
        ("muzero_policy", {"qtransform": "partial_min_max_reversed"}, ValueError,
         r"max_value must be > min_value, got -1.0 <= 1.0"),
    ],
)
def test_mcts_policy_options_are_checked(policy, kwargs, error, pattern):
    import functools

    import turborl.mcts as tm

    qtransforms = {
        "partial_unknown": functools.partial(tm.qtransform_completed_by_mix_value, pb_c_init=1.0),
        "partial_min_max_missing": functools.partial(tm.qtransform_by_min_max, min_value=0.0),
        "partial_min_max_reversed": functools.partial(tm.qtransform_by_min_max, min_value=1.0, max_value=-1.0),
    }
    if kwargs.get("qtransform") in qtransforms:
        kwargs = {**kwargs, "qtransform": qtransforms[kwargs["qtransform"]]}
    root, recurrent_fn = mcts_problem()
    with pytest.raises(error, match=pattern):
        getattr(tm, policy)(None, 0, root, recurrent_fn, 4, **kwargs)


def _bad_output(**changes):
    def bad(fields, embedding):
        import turborl.mcts as tm

        return tm.RecurrentFnOutput(**{**fields, **changes}), embedding
    return bad


def _bad_embedding(change):
    def bad(fields, embedding):
        import turborl.mcts as tm

        return tm.RecurrentFnOutput(**fields), change(embedding)
    return bad


@pytest.mark.parametrize("policy", MCTS_POLICIES)
@pytest.mark.parametrize(
    "bad, error, pattern",
    [
        (_bad_output(prior_logits=np.zeros((3, 5), np.float32)), ValueError,
         r"prior_logits \(returned by recurrent_fn at simulation 2\) must have shape \(3, 4\), got \(3, 5\)"),
        (_bad_output(reward=np.zeros(2, np.float32)), ValueError,
         r"reward \(returned by recurrent_fn at simulation 2\) must have shape \(3,\), got \(2,\)"),
        (_bad_output(value=np.array([0.0, np.nan, 0.0])), ValueError,
         r"value \(returned by recurrent_fn at simulation 2\) must be finite, got nan at flat index 1"),
        (_bad_output(prior_logits=np.full((3, 4), -np.inf)), ValueError,
         r"prior_logits \(returned by recurrent_fn at simulation 2\) must be finite, got -inf"),
        # float32 outputs of the right shape skip NumPy's checks: C++ checks them, same message.
        (_bad_output(value=np.array([0.0, np.nan, 0.0], np.float32)), ValueError,
         r"value \(returned by recurrent_fn at simulation 2\) must be finite, got nan at flat index 1"),
        (_bad_output(reward=np.array([0.0, 0.0, np.inf], np.float32)), ValueError,
         r"reward \(returned by recurrent_fn at simulation 2\) must be finite, got inf at flat index 2"),
        (_bad_output(discount=np.array([-np.inf, 1.0, 1.0], np.float32)), ValueError,
         r"discount \(returned by recurrent_fn at simulation 2\) must be finite, got -inf at flat index 0"),
        # -inf for an action that the mask also marks invalid is still refused (C++ masks after checking).
        (_bad_output(prior_logits=np.array([[0, 0, 0, -np.inf]] * 3, np.float32),
                     invalid_actions=np.array([[False, False, False, True]] * 3)), ValueError,
         r"prior_logits \(returned by recurrent_fn at simulation 2\) must be finite, got -inf at flat index 3"),
        (_bad_output(discount=np.array([True, False, True])), TypeError,
         r"discount \(returned by recurrent_fn at simulation 2\) must hold real numbers, got dtype bool"),
        (_bad_output(invalid_actions=np.zeros((3, 3), bool)), ValueError,
         r"invalid_actions \(returned by recurrent_fn at simulation 2\) must have shape \(3, 4\), got \(3, 3\)"),
        (lambda fields, embedding: (fields, embedding), TypeError,
         r"recurrent_fn must return \(RecurrentFnOutput, embedding\), got \(dict, ndarray\) at simulation 2"),
        (lambda fields, embedding: None, TypeError,
         r"recurrent_fn must return \(RecurrentFnOutput, embedding\), got NoneType at simulation 2"),
        (_bad_embedding(lambda embedding: embedding[:2]), ValueError,
         r"embedding \(returned by recurrent_fn at simulation 2\) must have batch size 3"),
        (_bad_embedding(lambda embedding: np.zeros((3, 5), np.float32)), ValueError,
         r"embedding \(returned by recurrent_fn at simulation 2\) must have the root embedding's shape "
         r"\(3, 2\), got \(3, 5\)"),
    ],
)
def test_mcts_checks_recurrent_fn_outputs(policy, bad, error, pattern):
    import turborl.mcts as tm

    root, recurrent_fn = mcts_problem(bad=bad, bad_at=2)
    with pytest.raises(error, match=pattern):
        getattr(tm, policy)(None, 0, root, recurrent_fn, 5)


@pytest.mark.parametrize("policy", MCTS_POLICIES)
def test_mcts_exception_from_recurrent_fn_propagates_unchanged(policy):
    import turborl.mcts as tm

    class ModelFailure(Exception):
        pass

    failure = ModelFailure("the network ran out of memory")

    def raise_failure(fields, embedding):
        raise failure

    root, recurrent_fn = mcts_problem(bad=raise_failure, bad_at=3)
    with pytest.raises(ModelFailure) as caught:
        getattr(tm, policy)(None, 0, root, recurrent_fn, 6)
    assert caught.value is failure
    # The process is intact and a new search works.
    root, recurrent_fn = mcts_problem()
    assert getattr(tm, policy)(None, 0, root, recurrent_fn, 6).action.shape == (3,)


def test_mcts_core_refuses_calls_out_of_order_and_bad_shapes():
    from turborl import _core

    def search():
        return _core.MctsSearch(batch_size=2, num_actions=3, algorithm=0, num_simulations=2, max_depth=2, seed=0,
                                qtransform_kind=1, min_value=0.0, max_value=1.0, epsilon=1e-8, value_scale=0.1,
                                maxvisit_init=50.0, rescale_values=True, use_mixed_value=True, pb_c_init=1.25,
                                pb_c_base=19652.0, max_num_considered_actions=16, root_gumbel=None, num_threads=1)

    s = search()
    with pytest.raises(RuntimeError, match="init_root must be called before select"):
        s.select()
    with pytest.raises(ValueError, match=r"prior_logits must have 3 columns, got 4"):
        s.init_root(np.zeros((2, 4), np.float32), np.zeros(2, np.float32), np.zeros((2, 4), bool))
    s.init_root(np.zeros((2, 3), np.float32), np.zeros(2, np.float32), np.zeros((2, 3), bool))
    outputs = dict(reward=np.zeros(2, np.float32), discount=np.ones(2, np.float32),
                   prior_logits=np.zeros((2, 3), np.float32), value=np.zeros(2, np.float32), invalid_actions=None)
    with pytest.raises(RuntimeError, match="expand_and_backup must follow select"):
        s.expand_and_backup(**outputs)
    s.select()
    with pytest.raises(RuntimeError, match="select was called twice"):
        s.select()
    with pytest.raises(ValueError, match=r"reward must have 2 rows, got 3"):
        s.expand_and_backup(**{**outputs, "reward": np.zeros(3, np.float32)})
    s.expand_and_backup(**outputs)
    s.select()
    s.expand_and_backup(**outputs)
    with pytest.raises(RuntimeError, match="all 2 simulations are done"):
        s.select()
    with pytest.raises(ValueError, match="num_simulations must be >= 1, got 0"):
        _core.MctsSearch(batch_size=2, num_actions=3, algorithm=1, num_simulations=0, max_depth=1, seed=0,
                         qtransform_kind=2, min_value=0.0, max_value=1.0, epsilon=1e-8, value_scale=0.1,
                         maxvisit_init=50.0, rescale_values=True, use_mixed_value=True, pb_c_init=1.25,
                         pb_c_base=19652.0, max_num_considered_actions=16, root_gumbel=None, num_threads=1)


# ---- planning: tabular MDPs, value iteration, fitted-Q ----------------------------------------------

def _planning_mdp(**kwargs):
    from turborl.planning import TabularMDP

    arguments = {"transitions": np.array([[1, -1], [0, 1]]), "rewards": np.zeros((2, 2)), "horizon": 3, **kwargs}
    return TabularMDP(arguments.pop("transitions"), arguments.pop("rewards"), **arguments)


def _dense(rows):
    return np.array(rows, dtype=np.float64).reshape(2, 2, 2)


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"transitions": np.array([[1, 2], [0, 1]])}, ValueError, r"transitions\[0, 1\] = 2 is outside \[0, 2\)"),
        ({"transitions": np.array([[1, -2], [0, 1]])}, ValueError, r"transitions\[0, 1\] = -2 is outside"),
        ({"transitions": np.array([[1, 0]])}, ValueError, r"deterministic transitions must have the shape of rewards"),
        ({"transitions": _dense([0.5, 0.6, 0, 1, 1, 0, 0, 1])}, ValueError,
         r"probabilities of state 0, action 0 sum to 1.1, not 1"),
        ({"transitions": _dense([1.5, -0.5, 0, 1, 1, 0, 0, 1])}, ValueError,
         r"probability -0.5 of state 0, action 0 must be finite and >= 0"),
        ({"transitions": _dense([np.nan, 1, 0, 1, 1, 0, 0, 1])}, ValueError, r"probability nan of state 0, action 0"),
        ({"transitions": (np.array([0, 1, 2, 3, 4]), np.array([0, 5, 1, 1]), np.ones(4))}, ValueError,
         r"next state 5 of state 0, action 1 is outside \[0, 2\)"),
        ({"transitions": (np.array([0, 1, 2, 3, 4]), np.array([0, -1, 1, 1]), np.ones(4))}, ValueError,
         r"next state -1 of state 0, action 1 is outside \[0, 2\)"),
        ({"transitions": (np.array([0, 1, 2]), np.array([0, 1]), np.ones(2))}, ValueError,
         r"indptr must have S \* A \+ 1 = 5 entries"),
        ({"transitions": np.zeros((2, 2), dtype=np.float32)}, ValueError, r"dense transitions must have shape"),
        ({"transitions": "grid"}, ValueError, r"transitions must be an int \[S, A\] array"),
        ({"rewards": np.array([[0.0, np.nan], [0.0, 0.0]])}, ValueError, r"rewards\[0, 1\] must be finite, got nan"),
        ({"rewards": np.zeros(4)}, ValueError, r"rewards must be a real \[S, A\] array"),
        ({"gamma": 1.5}, ValueError, r"gamma must be in \[0, 1\], got 1.5"),
        ({"gamma": -0.1}, ValueError, r"gamma must be in \[0, 1\], got -0.1"),
        ({"horizon": None}, ValueError, r"gamma = 1 needs a horizon"),
        ({"horizon": 0}, ValueError, r"horizon must be >= 1, got 0"),
        ({"horizon": 2.5}, TypeError, r"horizon must be an integer"),
        ({"terminal": np.array([1, 0])}, ValueError, r"terminal must be a bool array of shape \(2,\)"),
        ({"initial_state": 2}, ValueError, r"initial_state must be in \[0, 1\], got 2"),
    ],
)
def test_tabular_mdp_rejects_bad_input(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        _planning_mdp(**kwargs)


@pytest.mark.parametrize(
    "contents, pattern",
    [
        (b"this is not a zip archive", r"is not a readable \.npz file"),
        (None, r"lacks \['rewards', 'transitions'\]"),
        ("float_transitions", r"transitions must be an integer \[S, A\] array"),
        ("short_rewards", r"rewards must be a float array of shape \(2, 2\)"),
        ("bad_index", r"transitions\[1, 0\] = 7 is outside \[0, 2\)"),
    ],
)
def test_load_npz_rejects_foreign_or_damaged_files(tmp_path, contents, pattern):
    from turborl.planning import TabularMDP

    path = tmp_path / "mdp.npz"
    good = {"transitions": np.array([[1, -1], [0, 1]]), "rewards": np.zeros((2, 2), np.float32)}
    if isinstance(contents, bytes):
        path.write_bytes(contents)
    elif contents is None:
        np.savez(path, weights=np.zeros(3))
    elif contents == "float_transitions":
        np.savez(path, transitions=np.zeros((2, 2)), rewards=good["rewards"])
    elif contents == "short_rewards":
        np.savez(path, transitions=good["transitions"], rewards=np.zeros(2, np.float32))
    else:
        np.savez(path, transitions=np.array([[1, -1], [7, 1]]), rewards=good["rewards"])
    with pytest.raises(ValueError, match=pattern):
        TabularMDP.load_npz(path)
    with pytest.raises(ValueError, match=r"is not a file"):
        TabularMDP.load_npz(tmp_path / "missing.npz")


def test_truncated_npz_is_reported(tmp_path):
    from turborl.planning import TabularMDP

    path = tmp_path / "mdp.npz"
    _planning_mdp().save_npz(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"not a readable \.npz file"):
        TabularMDP.load_npz(path)


def test_value_iteration_and_policy_evaluation_reject_bad_options():
    from turborl.planning import policy_evaluation, value_iteration

    discounted = _planning_mdp(horizon=None, gamma=0.9)
    with pytest.raises(ValueError, match=r"tol must be > 0, got 0.0"):
        value_iteration(discounted, tol=0.0)
    with pytest.raises(ValueError, match=r"max_sweeps must be >= 1, got 0"):
        value_iteration(discounted, max_sweeps=0)
    with pytest.raises(ValueError, match=r"num_threads must be in \[1, 256\], got 0"):
        value_iteration(discounted, num_threads=0)
    with pytest.raises(ValueError, match=r"device must be 'cpu' or 'cuda', got 'tpu'"):
        value_iteration(discounted, device="tpu")
    with pytest.raises(ValueError, match=r"policy must have shape \(2, 2\)"):
        policy_evaluation(discounted, np.ones((3, 2)) / 2)
    with pytest.raises(ValueError, match=r"policy rows must be probabilities"):
        policy_evaluation(discounted, np.array([[0.5, 0.6], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"policy must be 'uniform' or an array"):
        policy_evaluation(discounted, "greedy")
    with pytest.raises(ValueError, match=r"policy must be finite"):
        policy_evaluation(discounted, np.array([[np.nan, 1.0], [1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"sticky-actions|repeat_probability must be in \[0, 1\], got 1.5"):
        discounted.sticky_actions(1.5)


def test_bellman_targets_reject_bad_input():
    from turborl.planning.fitted_q import bellman_targets

    q = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"rewards must have shape \(3,\), got \(2,\)"):
        bellman_targets(np.zeros(2), np.zeros(3, bool), q)
    with pytest.raises(TypeError, match=r"terminated must be a bool array, got dtype float64"):
        bellman_targets(np.zeros(3), np.zeros(3), q)
    with pytest.raises(ValueError, match=r"next_q must have shape \(N, A\)"):
        bellman_targets(np.zeros(3), np.zeros(3, bool), np.zeros(3))
    with pytest.raises(ValueError, match=r"next_q must be finite, got nan"):
        bellman_targets(np.zeros(3), np.zeros(3, bool), np.full((3, 2), np.nan))
    with pytest.raises(ValueError, match=r"next_q_select must have the shape of next_q"):
        bellman_targets(np.zeros(3), np.zeros(3, bool), q, next_q_select=np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"discounts must have shape \(3,\)"):
        bellman_targets(np.zeros(3), np.zeros(3, bool), q, discounts=np.ones(4))
    with pytest.raises(ValueError, match=r"gamma must be in \[0, 1\], got 2.0"):
        bellman_targets(np.zeros(3), np.zeros(3, bool), q, gamma=2.0)


def test_enumerate_mdp_rejects_bad_arguments():
    from turborl.planning import enumerate_mdp

    with pytest.raises(ValueError, match=r"env_id 'Chess-v0' is not a native turborl environment"):
        enumerate_mdp("Chess-v0")
    with pytest.raises(ValueError, match=r"horizon must be >= 1, got 0"):
        enumerate_mdp("CombinationLock-v0", 0)
    with pytest.raises(ValueError, match=r"needs discrete actions"):
        enumerate_mdp("Pendulum-v1")


# ---- board games ----------------------------------------------------------------------------------

def _tictactoe_states(*moves_per_game):
    from turborl.games import make_game

    game = make_game("tictactoe")
    states = game.initial_states(len(moves_per_game))
    for b, moves in enumerate(moves_per_game):
        for action in moves:
            states[b:b + 1] = game.step(states[b:b + 1], [action])[0]
    return states


def _corrupted(name, index, value):
    from turborl.games import make_game

    states = make_game(name).initial_states(2)
    states[1, index] = value
    return states


@pytest.mark.parametrize(
    "name, states, actions, error, pattern",
    [
        ("tictactoe", np.zeros((2, 13), np.int64), [0, 0], ValueError,
         r"states must be an int8 array of tictactoe states, got dtype int64"),
        ("tictactoe", np.zeros(13, np.int8), [0], ValueError, r"states must have shape \(B, 13\) for tictactoe, got \(13,\)"),
        ("connect4", np.zeros((2, 13), np.int8), [0, 0], ValueError,
         r"states must have shape \(B, 46\) for connect4, got \(2, 13\)"),
        ("tictactoe", np.array([["x"] * 13]), [0], TypeError, r"states must be an int8 array, got dtype <U1"),
        ("tictactoe", "initial", [0, 0, 0], ValueError, r"actions must have shape \(2,\) \(one per state\), got \(3,\)"),
        ("tictactoe", "initial", [0.0, 1.0], ValueError, r"actions must be an int64 array, got dtype float64"),
        ("tictactoe", "initial", ["a", "b"], TypeError, r"actions must be an integer array, got dtype <U1"),
        ("tictactoe", "initial", [0, 9], ValueError, r"actions\[1\] = 9 is out of range \[0, 9\) in tictactoe game 1"),
        ("connect4", "initial", [-1, 0], ValueError, r"actions\[0\] = -1 is out of range \[0, 7\) in connect4 game 0"),
        ("tictactoe", _tictactoe_states([], [4]), [4, 4], ValueError,
         r"actions\[1\] = 4 is illegal in tictactoe game 1: the cell is occupied"),
        ("tictactoe", _tictactoe_states([], [0, 3, 1, 4, 2]), [4, 5], ValueError,
         r"states\[1\] is a finished tictactoe game: it has no legal action"),
        ("tictactoe", _corrupted("tictactoe", 4, 2), [0, 0], ValueError,
         r"states\[1\] is not a valid tictactoe state: a cell holds a value other than -1, 0 or 1"),
        ("tictactoe", _corrupted("tictactoe", 9, -1), [0, 0], ValueError,
         r"states\[1\] is not a valid tictactoe state: to_play does not match the stone counts"),
        ("tictactoe", _corrupted("tictactoe", 0, -1), [0, 0], ValueError,
         r"states\[1\] is not a valid tictactoe state: the players' stone counts differ"),
        ("connect4", _corrupted("connect4", 3, 1), [0, 0], ValueError,
         r"states\[1\] is not a valid connect4 state: num_moves is not the number of stones"),
    ],
)
def test_game_step_rejects_bad_input(name, states, actions, error, pattern):
    from turborl.games import make_game

    game = make_game(name)
    if isinstance(states, str):
        states = game.initial_states(2)
    with pytest.raises(error, match=pattern):
        game.step(states, np.array(actions))


def test_game_step_rejects_a_full_connect4_column_and_a_floating_stone():
    from turborl.games import make_game

    game = make_game("connect4")
    states = game.initial_states(2)
    for _ in range(6):
        states = game.step(states, [2, 5])[0]
    with pytest.raises(ValueError, match=r"actions\[0\] = 2 is illegal in connect4 game 0: the column is full"):
        game.step(states, [2, 0])
    floating = game.initial_states(1)
    floating[0, [0, 42, 43]] = [1, -1, 1]  # a stone in the top row of an empty column
    with pytest.raises(ValueError, match=r"states\[0\] is not a valid connect4 state: a stone floats above an empty cell"):
        game.legal_actions(floating)


def test_game_functions_reject_bad_arguments():
    from turborl.games import BatchedGames, make_game, mcts_model, rollout_evaluator

    with pytest.raises(ValueError, match=r"name must be one of tictactoe, connect4; got 'chess'"):
        make_game("chess")
    game = make_game("tictactoe")
    with pytest.raises(ValueError, match=r"batch_size must be >= 0, got -1"):
        game.initial_states(-1)
    with pytest.raises(TypeError, match=r"batch_size must be an integer, got float"):
        game.initial_states(2.0)
    states = game.initial_states(2)
    for function in (game.legal_actions, game.observe, game.to_play, game.terminal, game.winner):
        with pytest.raises(ValueError, match=r"states must have shape \(B, 13\)"):
            function(states[0])
    with pytest.raises(ValueError, match=r"num_playouts must be >= 1, got 0"):
        game.playout_values(states, num_playouts=0)
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\), got -1"):
        game.playout_values(states, seed=-1)
    with pytest.raises(ValueError, match=r"num_threads must be in \[1, 256\], got 0"):
        game.playout_values(states, num_threads=0)

    with pytest.raises(TypeError, match=r"game must be a Game or a game's name, got int"):
        BatchedGames(3, num_games=2)
    with pytest.raises(ValueError, match=r"num_games must be >= 1, got 0"):
        BatchedGames("tictactoe", num_games=0)
    games = BatchedGames("tictactoe", num_games=2)
    with pytest.raises(ValueError, match=r"states must have shape \(2, 13\), got \(3, 13\)"):
        games.set_state(game.initial_states(3))
    with pytest.raises(ValueError, match=r"states must be an int8 array"):
        games.set_state(np.zeros((2, 13)))
    with pytest.raises(ValueError, match=r"mask must be a bool array of shape \(2,\), got int64 \(2,\)"):
        games.reset(np.array([1, 0]))

    with pytest.raises(TypeError, match=r"evaluate must be callable, got str"):
        mcts_model(game, "rollouts")
    with pytest.raises(ValueError, match=r"num_playouts must be >= 1, got 0"):
        rollout_evaluator(game, num_playouts=0)
    wrong_shape = mcts_model(game, lambda s: (np.zeros((len(s), 7), np.float32), np.zeros(len(s), np.float32)))
    with pytest.raises(ValueError, match=r"evaluate's prior_logits must have shape \(2, 9\), got \(2, 7\)"):
        wrong_shape.root(states)
    no_value = mcts_model(game, lambda s: (np.zeros((len(s), 9), np.float32), np.full(len(s), np.nan)))
    with pytest.raises(ValueError, match=r"evaluate's value must be finite, got nan"):
        no_value.root(states)
    with pytest.raises(ValueError, match=r"states\[1\] is a finished game: a search needs a move to make"):
        mcts_model(game, rollout_evaluator(game)).root(_tictactoe_states([], [0, 3, 1, 4, 2]))
    from turborl.games import search

    with pytest.raises(ValueError, match=r"policy must be 'gumbel' or 'muzero', got 'puct'"):
        search(game, rollout_evaluator(game), states, np.random.default_rng(0), policy="puct", num_simulations=8)


def test_game_solvers_reject_bad_arguments():
    from turborl.games import connect4_solve, connect4_solve_batch, make_game, optimal_actions, tictactoe_values

    empty = make_game("connect4").initial_states(2)
    with pytest.raises(ValueError, match=r"max_nodes must be >= 1, got 0"):
        connect4_solve(empty[0], max_nodes=0)
    with pytest.raises(ValueError, match=r"state must be one state of shape \(46,\), got shape \(2, 46\)"):
        connect4_solve(empty)
    with pytest.raises(ValueError, match=r"states must have shape \(B, 46\) for connect4, got \(2, 13\)"):
        connect4_solve_batch(make_game("tictactoe").initial_states(2))
    with pytest.raises(ValueError, match=r"num_threads must be in \[1, 256\], got 300"):
        connect4_solve_batch(empty, num_threads=300)
    with pytest.raises(ValueError, match=r"states must have shape \(B, 13\) for tictactoe, got \(2, 46\)"):
        tictactoe_values(empty)
    with pytest.raises(ValueError, match=r"state must be one state of shape \(13,\), got shape \(1, 13\)"):
        optimal_actions(_tictactoe_states([]))
    from turborl.games import results_against_every_perfect_line

    with pytest.raises(ValueError, match=r"player must return one integer action per state, shape \(1,\), got "
                                         r"int64 \(2,\)"):
        results_against_every_perfect_line(lambda s, rng: np.zeros(len(s) + 1, np.int64), None)
    with pytest.raises(ValueError, match=r"actions\[0\] = 12 is out of range \[0, 9\) in tictactoe game 0"):
        results_against_every_perfect_line(lambda s, rng: np.full(len(s), 12), None)
    # Both players have a line: consistent fields, but no game reaches it.
    both_won = np.array([[1, 1, 1, -1, -1, -1, 0, 0, 0, 1, 6, 1, -1]], np.int8)
    with pytest.raises(ValueError, match=r"states\[0\] cannot be reached from the empty board"):
        tictactoe_values(both_won)


def test_alphazero_config_rejects_bad_values():
    from turborl.algos.alphazero import AlphaZeroConfig

    with pytest.raises(ValueError, match=r"random_opening_moves must be >= 0, got -1"):
        AlphaZeroConfig(random_opening_moves=-1)
    with pytest.raises(ValueError, match=r"game must be one of tictactoe, connect4, got 'chess'"):
        AlphaZeroConfig(game="chess")


def test_native_sac_replay_training_rejects_mismatched_layouts():
    from turborl._core import nn as native
    from turborl.replay import ReplayBuffer

    replay = ReplayBuffer(64, {"obs": ((3,), np.float32), "action": ((1,), np.float32), "reward": ((), np.float32),
                               "terminated": ((), bool), "truncated": ((), bool)}, num_envs=1, seed=0)
    for _ in range(10):
        replay.add(obs=np.zeros((1, 3), np.float32), action=np.zeros((1, 1), np.float32),
                   reward=np.zeros(1, np.float32), terminated=np.zeros(1, bool), truncated=np.zeros(1, bool))
    engine = native.SacEngine32([3, 8, 2], [4, 8, 1])
    layout = replay.native_layout()
    a, c, one = (np.zeros(n, np.float32) for n in (engine.actor_params, engine.critic_params, 1))
    args = dict(core=layout["core"], obs_field=layout["obs_field"], action_field=layout["action_field"],
                reward_is_float64=False, actor=a, critic=c, target_critic=c.copy(), log_alpha=one,
                actor_grads=a.copy(), critic_grads=c.copy(), actor_exp_avg=a.copy(), actor_exp_avg_sq=a.copy(),
                critic_exp_avg=c.copy(), critic_exp_avg_sq=c.copy(), alpha_exp_avg=one.copy(),
                alpha_exp_avg_sq=one.copy(), step=0, steps=2, batch_size=4, n_step=1, gamma=0.99,
                noise=np.zeros((2, 2, 4, 1), np.float32), actor_lr=1e-3, critic_lr=1e-3, alpha_lr=1e-3, tau=0.005,
                target_entropy=None, autotune=True)
    assert engine.train_from_replay(**args)["step"] == 2  # the arguments above are valid
    with pytest.raises(ValueError, match=r"noise must hold 16 values, got 8"):
        engine.train_from_replay(**{**args, "noise": np.zeros((1, 2, 4, 1), np.float32)})
    with pytest.raises(ValueError, match=r"action_field must be in \[0, 5\), got 9"):
        engine.train_from_replay(**{**args, "action_field": 9})
    with pytest.raises(ValueError, match=r"the obs field must hold 3 float32 values per item; it holds 4 bytes"):
        engine.train_from_replay(**{**args, "obs_field": layout["action_field"]})
    with pytest.raises(ValueError, match=r"steps must be >= 1, got 0"):
        engine.train_from_replay(**{**args, "steps": 0})


def test_native_collect_rejects_envs_and_replays_that_do_not_fit():
    from turborl._core import nn as native
    from turborl.envs import make_vec
    from turborl.replay import ReplayBuffer, spec_from_env

    envs = make_vec("Pendulum-v1", 2, seed=0)
    with pytest.raises(RuntimeError, match=r"native_core\(\) was called before reset\(\)"):
        envs.native_core()
    envs.reset(seed=0)
    engine = native.Td3Engine32([3, 8, 1], [4, 8, 1], "relu")
    replay = ReplayBuffer(64, spec_from_env(envs), num_envs=2)
    args = dict(env=envs.native_core(), core=replay.native_layout()["core"], obs_field=0, action_field=1,
                critic_obs_dim=0, actor=np.zeros(engine.actor_params, np.float32), steps=2,
                uniform_actions=np.zeros((0, 2, 1), np.float32), noise=np.zeros((2, 2, 1)),
                action_scale=np.full(1, 2.0), action_bias=np.zeros(1))
    assert engine.collect(**args).shape == (0,) and len(replay) == 4  # the arguments fit
    bad = [
        (dict(noise=np.zeros((1, 2, 1))), r"noise must hold 2 exploring steps of 2 values, got 2 values"),
        (dict(steps=2**62 + 1, noise=np.zeros(4)), r"noise must hold 4611686018427387905 exploring steps"),
        (dict(uniform_actions=np.full((1, 2, 1), np.nan, np.float32), noise=np.zeros((1, 2, 1))),
         r"uniform_actions holds a non-finite value \(nan\)"),
        (dict(action_field=2), r"obs_field and action_field must name the replay's obs and action fields, got 0 and 2"),
        (dict(noise=np.full((2, 2, 1), np.nan)), r"noise holds a non-finite value \(nan\)"),
        (dict(uniform_actions=np.zeros((1, 1, 1), np.float32)), r"uniform_actions must hold whole steps of 2 values"),
        (dict(uniform_actions=np.zeros((3, 2, 1), np.float32)), r"at most 2 of them; got 6 values"),
        (dict(steps=-1, noise=np.zeros(0)), r"steps must be >= 0, got -1"),
        (dict(action_scale=np.ones(2)), r"action_scale must hold 1 values, got 2"),
        (dict(action_bias=np.array([np.inf])), r"action_bias holds a non-finite value \(inf\)"),
        (dict(critic_obs_dim=2), r"the critics take 3 observation values, got critic_obs_dim 2"),
        (dict(core=ReplayBuffer(64, spec_from_env(envs), num_envs=1).native_layout()["core"]),
         r"the env has 2 sub-envs, the replay stores 1"),
        (dict(core=ReplayBuffer(64, spec_from_env(envs, next_obs=True), num_envs=2).native_layout()["core"]),
         r"exactly obs, action, reward, terminated and truncated \(next_step autoreset\); this one has 6 fields with "
         r"next_obs"),
    ]
    for change, pattern in bad:
        with pytest.raises(ValueError, match=pattern):
            engine.collect(**{**args, **change})
    assert len(replay) == 4  # nothing was stored by a refused call
    same_step = make_vec("Pendulum-v1", 2, seed=0, autoreset_mode="same_step")
    same_step.reset(seed=0)
    with pytest.raises(ValueError, match=r"collect needs an env in next_step autoreset mode"):
        engine.collect(**{**args, "env": same_step.native_core()})
    car = make_vec("MountainCarContinuous-v0", 2, seed=0)
    car.reset(seed=0)
    with pytest.raises(ValueError, match=r"the env's observations hold 2 values, the actor takes 3"):
        engine.collect(**{**args, "env": car.native_core()})
    cartpole = make_vec("CartPole-v1", 2, seed=0)
    cartpole.reset(seed=0)
    with pytest.raises(TypeError, match=r"incompatible function arguments"):  # Discrete actions: no BoxActionEnv
        engine.collect(**{**args, "env": cartpole.native_core()})
    sac = native.SacEngine32([3, 8, 2], [4, 8, 1])
    with pytest.raises(ValueError, match=r"eps must hold 2 exploring steps of 2 values, got 2 values"):
        sac.collect(args["env"], args["core"], 0, 1, np.zeros(sac.actor_params, np.float32), 2,
                    np.zeros((0, 2, 1), np.float32), np.zeros(2, np.float32), np.full(1, 2.0), np.zeros(1))
