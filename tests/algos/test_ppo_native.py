"""PPO's native backend against its torch backend: on the same rollout, seed and minibatch order
the whole update (all epochs x minibatches) ends at the same parameters and statistics; acting,
values and GAE equal torch's; the run does not depend on torch's thread count."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from turborl.algos import PPO, PPOConfig  # noqa: E402
from turborl.algos.returns import gae  # noqa: E402

SMALL = dict(num_envs=4, num_steps=32, minibatch_size=32, update_epochs=3, progress=False, total_timesteps=4096)


def make_pair(**overrides):
    config = dict(SMALL, **overrides)
    runs = PPO(PPOConfig(**config, backend="torch")), PPO(PPOConfig(**config, backend="native"))
    assert runs[0].backend == "torch" and runs[1].backend == "native"
    return runs


def parameters(run):
    return torch.cat([p.detach().flatten() for p in run.agent.parameters()])


def fill_rollout(run, seed):
    """A fixed rollout: random observations and actions, old log-probabilities near the current
    policy's (so some ratios clip), random values, advantages and returns."""
    generator = torch.Generator().manual_seed(seed)
    b = run.buffer
    steps, envs = b["rewards"].shape
    b["obs"].copy_(torch.randn(b["obs"].shape, generator=generator))
    if run.agent.discrete:
        b["actions"].copy_(torch.randint(0, run.action_space.n, (steps, envs), generator=generator).float())
    else:
        b["actions"].copy_(torch.randn(b["actions"].shape, generator=generator))
    with torch.no_grad():
        log_probs, _ = run.agent.evaluate(b["obs"].reshape(steps * envs, -1), b["actions"].reshape(steps * envs, -1)
                                          .squeeze(-1) if run.agent.discrete else b["actions"].reshape(steps * envs, -1))
    b["log_probs"].copy_(log_probs.reshape(steps, envs) + 0.2 * torch.randn(steps, envs, generator=generator))
    b["values"].copy_(torch.randn(steps, envs, generator=generator))
    advantages = torch.randn(steps, envs, generator=generator) * 2 + 0.5
    returns = advantages + b["values"]
    return advantages, returns


@pytest.mark.parametrize("env_id, overrides", [
    ("CartPole-v1", {}),
    ("CartPole-v1", dict(clip_vloss=True, ent_coef=0.01, max_grad_norm=0.1, activation="relu")),
    ("CartPole-v1", dict(norm_adv=False, minibatch_size=40, hidden_sizes=(33, 70))),
    ("Pendulum-v1", dict(ent_coef=0.01)),
    ("Pendulum-v1", dict(clip_vloss=True, max_grad_norm=10.0)),
])
def test_whole_update_equals_torch_backend(env_id, overrides):
    torch_run, native_run = make_pair(env_id=env_id, **overrides)
    assert torch.equal(parameters(torch_run), parameters(native_run))
    start = parameters(torch_run)
    stats = []
    for run in (torch_run, native_run):
        advantages, returns = fill_rollout(run, seed=11)
        torch.manual_seed(5)
        update = run._update if run.backend == "torch" else run._update_native
        stats.append(update(advantages, returns, clip=0.2))
    moved = (parameters(torch_run) - start).abs().max()
    difference = (parameters(torch_run) - parameters(native_run)).abs().max()
    assert moved > 1e-3 and difference <= 2e-3 * moved, (moved, difference)
    for key in stats[0]:
        assert stats[1][key] == pytest.approx(stats[0][key], rel=1e-3, abs=1e-6), key
    first = next(iter(torch_run.agent.parameters()))
    assert native_run.optimizer.step == int(torch_run.optimizer.state[first]["step"]) == updates(overrides)


def updates(overrides):
    config = dict(SMALL, **overrides)
    batch = config["num_envs"] * config["num_steps"]
    return config["update_epochs"] * (batch // config["minibatch_size"])


def test_target_kl_stops_after_the_same_epoch():
    torch_run, native_run = make_pair(target_kl=1e-4, update_epochs=5)
    for run in (torch_run, native_run):
        advantages, returns = fill_rollout(run, seed=2)
        torch.manual_seed(0)
        (run._update if run.backend == "torch" else run._update_native)(advantages, returns, clip=0.2)
    assert native_run.optimizer.step == 4  # one epoch of 4 minibatches, then the KL stop
    torch.testing.assert_close(parameters(native_run), parameters(torch_run), rtol=0, atol=1e-5)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_acting_log_probs_and_values_equal_torch(env_id):
    _, run = make_pair(env_id=env_id)
    obs = np.random.default_rng(0).normal(size=(64, run.observation_space.shape[0])).astype(np.float32)
    log_probs, values = np.empty(64, np.float32), np.empty(64, np.float32)
    actions = run.engine.act(obs, seed=3, counter=0, log_probs=log_probs, values=values)
    with torch.no_grad():
        expected_log_probs, _ = run.agent.evaluate(torch.from_numpy(obs), torch.as_tensor(actions))
        expected_values = run.agent.value(torch.from_numpy(obs))
    np.testing.assert_allclose(log_probs, expected_log_probs.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(values, expected_values.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(run.engine.value(obs), expected_values.numpy(), rtol=1e-5, atol=1e-6)
    again = run.engine.act(obs, seed=3, counter=0, log_probs=log_probs, values=values)
    assert np.array_equal(actions, again)  # a pure function of (seed, counter)


def test_sampled_actions_follow_the_policy():
    _, run = make_pair()
    with torch.no_grad():  # a policy far from uniform
        run.agent.actor[-1].bias.copy_(torch.tensor([1.5, -0.5]))
    obs = np.zeros((20_000, 4), np.float32)
    actions = run.engine.act(obs, seed=1, counter=7, log_probs=np.empty(20_000, np.float32),
                             values=np.empty(20_000, np.float32))
    with torch.no_grad():
        p = run.agent.actor(torch.zeros(1, 4)).softmax(-1)[0, 0].item()
    frequency = (actions == 0).mean()
    assert abs(frequency - p) < 4 * np.sqrt(p * (1 - p) / 20_000), (frequency, p)


def test_native_gae_equals_reference():
    _, run = make_pair()
    rng = np.random.default_rng(0)
    rewards, values = rng.normal(size=(32, 4)).astype(np.float32), rng.normal(size=(32, 4)).astype(np.float32)
    dones = (rng.random((32, 4)) < 0.1).astype(np.float32)
    last = rng.normal(size=4).astype(np.float32)
    advantages, returns = run.engine.gae(rewards, values, dones, last, 0.97, 0.9)
    expected = gae(*map(torch.from_numpy, (rewards, values, dones, last)), 0.97, 0.9)
    torch.testing.assert_close(advantages, expected[0], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(returns, expected[1], rtol=1e-6, atol=1e-6)


def test_native_run_is_independent_of_torch_threads():
    runs = [PPO(PPOConfig(**dict(SMALL, total_timesteps=1024, eval_interval=1024), torch_threads=threads,
                          backend="native")).learn() for threads in (1, 2)]
    assert torch.equal(parameters(runs[0]), parameters(runs[1]))


@pytest.mark.parametrize("first, second", [("native", "torch"), ("torch", "native")])
def test_a_checkpoint_resumes_under_the_other_backend(tmp_path, first, second):
    from turborl.algos import Algorithm

    config = PPOConfig(**dict(SMALL, total_timesteps=1024, eval_interval=512), backend=first)
    stopped = PPO(config, tmp_path).learn(stop_at=512)
    resumed = Algorithm.resume(tmp_path, backend=second)
    assert resumed.backend == second and resumed.global_step == stopped.global_step
    assert torch.equal(parameters(resumed), parameters(stopped))
    first_parameter = next(iter(resumed.agent.parameters()))
    if second == "torch":
        assert int(resumed.optimizer.state[first_parameter]["step"]) == stopped.optimizer.step
        moments = stopped.optimizer.state_dict()["state"]
        for index, p in enumerate(resumed.agent.parameters()):
            assert torch.equal(resumed.optimizer.state[p]["exp_avg_sq"], moments[index]["exp_avg_sq"])
    else:
        assert resumed.optimizer.step == int(stopped.optimizer.state[next(iter(stopped.agent.parameters()))]["step"])
    resumed.learn()
    assert resumed.global_step == 1024 and np.isfinite(parameters(resumed).numpy()).all()
