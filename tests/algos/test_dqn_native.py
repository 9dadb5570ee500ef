"""DQN's native backend against its torch backend: on identical replay contents (whose seeded
samples are then identical) the gradient steps end at the same parameters, losses and priorities;
greedy actions and target updates equal torch's."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from turborl.algos import DQN, DQNConfig  # noqa: E402

BASE = dict(env_id="CartPole-v1", num_envs=2, batch_size=32, learning_starts=0, hidden_sizes=(64, 64),
            learning_rate=1e-3, progress=False, total_timesteps=10_000)


def make_pair(**overrides):
    runs = tuple(DQN(DQNConfig(**BASE, **overrides, backend=backend)) for backend in ("torch", "native"))
    assert [run.backend for run in runs] == ["torch", "native"]
    return runs


def parameters(network):
    return torch.cat([p.detach().flatten() for p in network.parameters()])


def fill(run, seed, steps=200):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        run.replay.add(obs=rng.normal(size=(2, 4)).astype(np.float32), action=rng.integers(0, 2, 2),
                       reward=rng.normal(size=2), terminated=rng.random(2) < 0.05, truncated=rng.random(2) < 0.02)


@pytest.mark.parametrize("sample_in_python", [False, True])
@pytest.mark.parametrize("overrides", [
    {},
    dict(loss="mse", double_q=False, max_grad_norm=0.5),
    dict(prioritized=True, n_step=3, gamma=0.9),
    dict(loss="hl_gauss", v_min=-3.0, v_max=5.0, value_bins=21),
    dict(loss="hl_gauss", v_min=-1.0, v_max=1.0, value_bins=11, prioritized=True, double_q=False),
])
def test_gradient_steps_equal_torch_backend(overrides, sample_in_python, monkeypatch):
    torch_run, native_run = make_pair(**overrides)
    if sample_in_python:  # the per-step path for replay dtypes the engine does not convert
        monkeypatch.setattr(native_run.replay, "native_layout", lambda: None)
    assert torch.equal(parameters(torch_run.q_network), parameters(native_run.q_network))
    with torch.no_grad():  # a target that differs from the online network
        for p in list(torch_run.target_network.parameters()) + list(native_run.target_network.parameters()):
            p.mul_(0.9)
    start = parameters(torch_run.q_network)
    metrics = []
    for run in (torch_run, native_run):
        # ReLU's derivative jumps at 0: a pre-activation within rounding of 0 lets one backend
        # pass a unit's gradient and the other not, and Adam turns that into a visible difference.
        # With fill seed 4 and the replay's current sampling stream, one sample of the HL-Gauss
        # case put hidden unit 46 at 6.7e-8 at the sixth step; seed 5 has no such tie.
        fill(run, seed=5)
        metrics.append(run._train(6))
    moved = (parameters(torch_run.q_network) - start).abs().max()
    difference = (parameters(torch_run.q_network) - parameters(native_run.q_network)).abs().max()
    assert moved > 1e-3 and difference <= 1e-3 * moved, (moved, difference)
    for key in metrics[0]:
        assert metrics[1][key] == pytest.approx(metrics[0][key], rel=1e-4), key
    if overrides.get("prioritized"):  # same new priorities: the next draws and their weights agree
        draws = [run.replay.sample(64, beta=0.5) for run in (torch_run, native_run)]
        assert np.array_equal(draws[0].indices, draws[1].indices)
        np.testing.assert_allclose(draws[1].weights, draws[0].weights, rtol=1e-4)
    assert native_run.optimizer.step == 6


@pytest.mark.parametrize("tau", [1.0, 0.3])
def test_target_update_and_greedy_actions_equal_torch(tau):
    torch_run, native_run = make_pair(tau=tau)
    for run in (torch_run, native_run):
        with torch.no_grad():
            for p in run.q_network.parameters():
                p.add_(0.1)
        run._update_target()
    torch.testing.assert_close(parameters(native_run.target_network), parameters(torch_run.target_network),
                               rtol=1e-6, atol=1e-7)
    obs = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    with torch.no_grad():
        expected = torch_run.q_network(torch.from_numpy(obs)).argmax(-1).numpy()
    assert np.array_equal(native_run.engine.greedy(obs), expected)
