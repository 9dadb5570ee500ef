"""stream-x: each agent's native step against a torch autograd reference with ObGD written out (the
authors' formulas), Watkins's trace resets, sparse initialisation, the Welford normalisers and the
reward scaler against NumPy references, the time feature, Stream TD on a random walk with known
values, saved policies, resume, and learning CartPole."""

import dataclasses
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import turborl  # noqa: E402
from turborl.algos import Algorithm  # noqa: E402
from turborl.algos.environments import add_time_feature  # noqa: E402
from turborl.algos.stream import (StreamAC, StreamACConfig, StreamPolicy, StreamQ, StreamQConfig,  # noqa: E402
                                  StreamSARSA, StreamSARSAConfig, StreamTD)
from turborl.eval import evaluate  # noqa: E402
from turborl.nn import SampleMeanStd, StreamMLP, StreamObservationNormalizer, StreamRewardScaler  # noqa: E402
from turborl.nn.networks import sparse_init_  # noqa: E402

GAMMA, LAMDA = 0.99, 0.8


def obgd_reference(parameters, grads, traces, delta, kappa, reset, lr=1.0):
    """ObGD as the authors' optim.py, on the ascent direction (their traces hold -grad)."""
    for trace, grad in zip(traces, grads):
        trace.mul_(GAMMA * LAMDA).add_(grad)
    norm = sum(float(trace.abs().sum()) for trace in traces)
    bound = max(abs(delta), 1.0) * norm * lr * kappa
    step = lr / bound if bound > 1 else lr
    with torch.no_grad():
        for p, trace in zip(parameters, traces):
            p.add_(step * delta * trace)
            if reset:
                trace.zero_()


def copy_of(module, like):
    fresh = like
    fresh.load_state_dict({k: v.clone() for k, v in module.state_dict().items()})
    return fresh


def transitions(run, count, seed):
    rng = np.random.default_rng(seed)
    dim = run.input_dim
    for i in range(count):
        yield (rng.normal(size=dim).astype(np.float32), float(rng.normal()), rng.normal(size=dim).astype(np.float32),
               i == 3, i in (3, 6))  # a termination, and a truncation that bootstraps


def flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_stream_ac_steps_equal_torch_reference(env_id):
    run = StreamAC(StreamACConfig(env_id=env_id, hidden_sizes=(16, 8), progress=False, seed=3))
    policy = copy_of(run.policy_module, StreamPolicy(run.input_dim, run.action_space, (16, 8), 0.9))
    value = copy_of(run.value_module, StreamMLP(run.input_dim, 1, (16, 8)))
    policy_traces = [torch.zeros_like(p) for p in policy.parameters()]
    value_traces = [torch.zeros_like(p) for p in value.parameters()]
    rng = np.random.default_rng(0)
    for obs, reward, next_obs, terminated, done in transitions(run, 8, seed=1):
        s, s2 = torch.from_numpy(obs), torch.from_numpy(next_obs)
        out = policy(s)
        if run.discrete:
            action = np.array([rng.integers(2)], np.float32)
            distribution = torch.distributions.Categorical(logits=out)
            log_prob = distribution.log_prob(torch.tensor(int(action[0])))
        else:
            action = rng.normal(size=1).astype(np.float32)
            distribution = torch.distributions.Normal(out[:1], nn.functional.softplus(out[1:]))
            log_prob = distribution.log_prob(torch.from_numpy(action)).sum()
        with torch.no_grad():
            next_value = 0.0 if terminated else float(value(s2))
        v = value(s).squeeze()
        delta = reward + GAMMA * next_value - float(v.detach())
        objective = log_prob + 0.01 * math.copysign(1.0, delta) * distribution.entropy().sum()
        policy_grads = torch.autograd.grad(objective, list(policy.parameters()))
        value_grads = torch.autograd.grad(v, list(value.parameters()))
        obgd_reference(list(value.parameters()), value_grads, value_traces, delta, 2.0, done)
        obgd_reference(list(policy.parameters()), policy_grads, policy_traces, delta, 3.0, done)

        got = run._learn(obs, action, reward, next_obs, terminated, done)
        assert got == pytest.approx(delta, rel=1e-4, abs=1e-5)
        torch.testing.assert_close(flat(run.value_module), flat(value), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(flat(run.policy_module), flat(policy), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls, config_class", [(StreamQ, StreamQConfig), (StreamSARSA, StreamSARSAConfig)])
def test_stream_q_and_sarsa_steps_equal_torch_reference(cls, config_class):
    run = cls(config_class(env_id="Acrobot-v1", hidden_sizes=(16, 16), progress=False, seed=2))
    q = copy_of(run.policy_module, StreamMLP(run.input_dim, 3, (16, 16)))
    traces = [torch.zeros_like(p) for p in q.parameters()]
    rng = np.random.default_rng(5)
    for obs, reward, next_obs, terminated, done in transitions(run, 8, seed=4):
        action, non_greedy = int(rng.integers(3)), bool(rng.random() < 0.3)
        got = run._learn(obs, (action, non_greedy), reward, next_obs, terminated, done)
        with torch.no_grad():
            next_q = q(torch.from_numpy(next_obs))
        if cls is StreamQ:
            bootstrap, reset = float(next_q.max()), done or non_greedy
        else:  # SARSA bootstraps from the action the agent chose for s' (held for its next step)
            chosen = run.next_action[0] if run.next_action is not None else run._q.argmax()
            bootstrap, reset = float(next_q[chosen]), done
        q_sa = q(torch.from_numpy(obs))[action]
        delta = reward + (0.0 if terminated else GAMMA * bootstrap) - float(q_sa.detach())
        obgd_reference(list(q.parameters()), torch.autograd.grad(q_sa, list(q.parameters())), traces, delta, 2.0,
                       reset)
        assert got == pytest.approx(delta, rel=1e-4, abs=1e-5)
        torch.testing.assert_close(flat(run.policy_module), flat(q), rtol=1e-4, atol=1e-5)
        assert (not run.traces.any()) == reset  # Watkins: reset after non-greedy actions (Q) and at episode ends


def test_sarsa_keeps_its_chosen_next_action_and_q_learning_does_not():
    sarsa = StreamSARSA(StreamSARSAConfig(env_id="CartPole-v1", progress=False))
    sarsa._env_step()
    assert sarsa.next_action is not None or sarsa.episode_step == 0
    chosen = sarsa.next_action
    env_action, taken = sarsa._act(sarsa.state)
    assert chosen is None or (env_action[0], taken) == (chosen[0], chosen)
    q = StreamQ(StreamQConfig(env_id="CartPole-v1", progress=False))
    q._env_step()
    assert q.next_action is None


def test_sparse_init_zeros_exactly_the_fraction_of_each_units_inputs():
    weight = torch.empty(40, 37)
    sparse_init_(weight, 0.9, torch.Generator().manual_seed(0))
    zeros_per_unit = (weight == 0).sum(1)
    assert (zeros_per_unit == math.ceil(0.9 * 37)).all()
    assert weight.abs().max() <= 1 / math.sqrt(37)
    network = StreamMLP(5, 3, (20, 10))
    for layer in network:
        if isinstance(layer, nn.Linear):
            assert ((layer.weight == 0).sum(1) == math.ceil(0.9 * layer.in_features)).all()
            assert not layer.bias.any()
    assert [type(layer).__name__ for layer in network] == ["Linear", "LayerNorm", "LeakyReLU", "Linear", "LayerNorm",
                                                           "LeakyReLU", "Linear"]


def test_welford_statistics_and_normalisers_equal_numpy():
    rng = np.random.default_rng(0)
    samples = rng.normal(3.0, 2.0, size=(50, 4))
    stats = SampleMeanStd((4,))
    assert np.array_equal(stats.var, np.ones(4))
    for i, sample in enumerate(samples):
        stats.update(sample)
        np.testing.assert_allclose(stats.mean, samples[:i + 1].mean(0), rtol=1e-12)
        expected_var = samples[:i + 1].var(0, ddof=1) if i else np.ones(4)
        np.testing.assert_allclose(stats.var, expected_var, rtol=1e-10)
    normalizer = StreamObservationNormalizer((4,))
    assert not normalizer(samples[0], update=True).any()  # updated first: the first observation is the mean
    out = normalizer(samples[1], update=True)
    np.testing.assert_allclose(out, (samples[1] - samples[:2].mean(0)) / np.sqrt(samples[:2].var(0, ddof=1) + 1e-8),
                               rtol=1e-5)

    scaler, trace, history = StreamRewardScaler(0.9), 0.0, []
    rewards, dones = rng.normal(size=30), rng.random(30) < 0.2
    for reward, done in zip(rewards, dones):
        trace = trace * 0.9 * (1 - done) + reward
        history.append(trace)
        var = np.var(history, ddof=1) if len(history) > 1 else 1.0
        assert scaler(reward, done) == pytest.approx(reward / np.sqrt(var + 1e-8), rel=1e-9)


def test_time_feature_counts_steps_from_minus_a_half():
    obs = np.zeros((3, 2), np.float32)
    out = add_time_feature(obs, np.array([0, 250, 500]), 500)
    np.testing.assert_allclose(out[:, 2], [-0.5, 0.0, 0.5])
    assert out.dtype == np.float32 and out.shape == (3, 3)


def test_stream_td_learns_the_random_walk_values():
    """Sutton & Barto's 5-state random walk (reward 1 on the right): V(i) = i / 6. ObGD's bounded
    steps keep the estimates moving with each episode, so their average over the last 500 is tested."""
    td = StreamTD(5, (32,), gamma=1.0, lamda=0.8, seed=0)
    rng = np.random.default_rng(0)
    eye = np.eye(5, dtype=np.float32)
    estimates = []
    for episode in range(1_500):
        state = 2
        while True:
            next_state = state + (1 if rng.random() < 0.5 else -1)
            end = next_state in (-1, 5)
            reward = 1.0 if next_state == 5 else 0.0
            td.update(eye[state], reward, eye[min(max(next_state, 0), 4)], end, end)
            if end:
                break
            state = next_state
        if episode >= 1_000:
            estimates.append(td.value(eye))
    np.testing.assert_allclose(np.mean(estimates, 0), np.arange(1, 6) / 6, atol=0.07)


@pytest.mark.parametrize("cls, config", [
    (StreamAC, StreamACConfig(env_id="Pendulum-v1", hidden_sizes=(16, 16), log_interval=100)),
    (StreamQ, StreamQConfig(env_id="CartPole-v1", log_interval=100, adaptive=True)),
    (StreamSARSA, StreamSARSAConfig(env_id="CartPole-v1", log_interval=100)),
])
def test_resume_equals_uninterrupted_and_policy_evaluates(tmp_path, cls, config):
    config = dataclasses.replace(config, total_timesteps=800, eval_interval=400, eval_episodes=2, progress=False)
    whole = cls(config, tmp_path / "whole").learn()
    cls(config, tmp_path / "resumed").learn(stop_at=400)
    resumed = Algorithm.resume(tmp_path / "resumed").learn()
    for a, b in zip(whole._modules(), resumed._modules()):
        assert torch.equal(flat(a), flat(b))
    assert whole.log.scores[-1][1] == resumed.log.scores[-1][1]
    policy = turborl.load_policy(tmp_path / "whole")
    assert policy.time_limit == whole.time_limit
    scores = evaluate(policy, config.env_id, 2, seeds=(1_000_000 + config.seed,))
    assert scores.mean() == pytest.approx(whole.log.scores[-1][1])
    with pytest.raises(ValueError, match="time feature: pass episode_step"):
        policy.act(np.zeros((1, *policy.observation_space.shape), np.float32))


@pytest.mark.parametrize("cls, config_class", [(StreamQ, StreamQConfig), (StreamAC, StreamACConfig)])
def test_learns_cartpole(tmp_path, cls, config_class):
    config = config_class(env_id="CartPole-v1", total_timesteps=20_000, eval_interval=20_000, seed=1,
                          progress=False)
    cls(config, tmp_path).learn()
    learned = evaluate(turborl.load_policy(tmp_path), "CartPole-v1", 10, seeds=(7,)).mean()
    assert learned > 150, learned
