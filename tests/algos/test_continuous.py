"""SAC and TD3: the native backend against the torch backend on identical replay contents and noise
(the same steps), the torch step against an independent SB3-style reference, action scaling,
truncation bootstrapping, prioritized replay, saved policies, resume, and learning Pendulum."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import turborl  # noqa: E402
from turborl.algos import SAC, TD3, Algorithm, SACConfig, TD3Config  # noqa: E402
from turborl.eval import evaluate  # noqa: E402
from turborl.nn.actors import GaussianActor, TanhActor  # noqa: E402

BASE = dict(env_id="Pendulum-v1", batch_size=32, learning_starts=0, hidden_sizes=(32, 32), learning_rate=1e-3,
            progress=False, total_timesteps=10_000)
ALGORITHMS = [(SAC, SACConfig), (TD3, TD3Config)]


def flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def fill(run, seed, steps=200):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        run.replay.add(obs=rng.normal(size=(1, 3)).astype(np.float32),
                       action=rng.uniform(-1, 1, (1, 1)).astype(np.float32), reward=rng.normal(size=1),
                       terminated=rng.random(1) < 0.05, truncated=rng.random(1) < 0.02)


@pytest.mark.parametrize("overrides", [{}, dict(n_step=3, gamma=0.9, autotune=False, ent_coef=0.2)])
def test_sac_sampling_inside_the_engine_equals_python_sampled_updates(overrides, monkeypatch):
    # The native SAC's _train samples k batches inside C++ in one call; with no native layout it
    # samples each batch in Python. Same draws, same noise, same steps.
    runs = [SAC(SACConfig(**BASE, **overrides, backend="native")) for _ in range(2)]
    monkeypatch.setattr(runs[1].replay, "native_layout", lambda: None)
    metrics = []
    for run in runs:
        fill(run, seed=4)
        metrics.append(run._train(7))
    for name in ("actor", "critics", "target_critics", "temperature"):
        np.testing.assert_allclose(flat(getattr(runs[0], name)).numpy(), flat(getattr(runs[1], name)).numpy(),
                                   rtol=1e-6, atol=1e-7, err_msg=name)
    assert not torch.equal(flat(runs[0].critics), flat(SAC(SACConfig(**BASE, **overrides)).critics))  # trained
    for key in metrics[0]:
        assert metrics[0][key] == pytest.approx(metrics[1][key], rel=1e-6, abs=1e-7), key
    assert runs[0].gradient_updates == runs[1].gradient_updates == 7
    assert runs[0].learner.optimizers[1].step == runs[1].learner.optimizers[1].step == 7


@pytest.mark.parametrize("cls, config_class", ALGORITHMS)
@pytest.mark.parametrize("overrides", [{}, dict(n_step=3, gamma=0.9, tau=0.05)])
def test_native_steps_equal_torch_backend(cls, config_class, overrides):
    runs = [cls(config_class(**BASE, **overrides, backend=backend)) for backend in ("torch", "native")]
    assert [run.backend for run in runs] == ["torch", "native"]
    start = [flat(module) for module in (runs[0].actor, runs[0].critics)]
    assert torch.equal(start[0], flat(runs[1].actor)) and torch.equal(start[1], flat(runs[1].critics))
    metrics = []
    for run in runs:
        fill(run, seed=3)
        metrics.append(run._train(8))
    for name in ("actor", "critics", "target_critics"):
        torch_params, native_params = flat(getattr(runs[0], name)), flat(getattr(runs[1], name))
        moved = (torch_params - flat(getattr(cls(config_class(**BASE, **overrides)), name))).abs().max()
        difference = (torch_params - native_params).abs().max()
        assert moved > 1e-5 and difference <= 1e-3 * moved, (name, moved, difference)
    for key in metrics[0]:
        assert metrics[1][key] == pytest.approx(metrics[0][key], rel=1e-3, abs=1e-5), key
    assert runs[1].learner.optimizers[1].state_dict()["state"][0]["step"] == 8  # torch's Adam format
    obs = np.random.default_rng(1).normal(size=(5, 3)).astype(np.float32)
    noise = np.random.default_rng(2).standard_normal((5, 1), dtype=np.float32)
    acts = [run.learner.act(obs, noise) if cls is SAC else run.learner.act(obs) for run in runs]
    np.testing.assert_allclose(acts[1], acts[0], rtol=1e-5, atol=1e-6)


def test_sac_torch_step_equals_an_sb3_style_reference():
    """One SAC step of the torch learner against SB3's loss formulas written out here, including the
    Normal log-density from torch.distributions (not the learner's closed form)."""
    run = SAC(SACConfig(**BASE, backend="torch"))
    fill(run, seed=5)
    actor, critics = copy.deepcopy(run.actor), copy.deepcopy(run.critics)
    targets, log_alpha = copy.deepcopy(run.target_critics), run.temperature.log_alpha.detach().clone()
    batch = run.replay.sample(32, gamma=0.99)
    eps, eps_next = (np.random.default_rng(i).standard_normal((32, 1), dtype=np.float32) for i in (7, 8))
    run.learner.update(batch, eps, eps_next)

    obs, actions, next_obs = (torch.as_tensor(x) for x in (batch.obs, batch.action, batch.next_obs))
    rewards, discounts = torch.as_tensor(batch.reward), torch.as_tensor(batch.discount)

    def sample(observations, noise):
        out = actor.body(observations)
        mean, log_std = out[:, :1], out[:, 1:].clamp(-20, 2)
        x = mean + log_std.exp() * torch.as_tensor(noise)
        y = torch.tanh(x)
        normal = torch.distributions.Normal(mean, log_std.exp())
        return y, normal.log_prob(x).sum(-1) - torch.log(1 - y ** 2 + 1e-6).sum(-1)

    alpha = log_alpha.exp()
    with torch.no_grad():
        next_a, next_logp = sample(next_obs, eps_next)
        q_next = torch.min(targets.q1(torch.cat([next_obs, next_a], 1)), targets.q2(torch.cat([next_obs, next_a], 1)))
        y = rewards + discounts * (q_next.view(-1) - alpha * next_logp)
    q_in = torch.cat([obs, actions], 1)
    critic_loss = 0.5 * sum(torch.nn.functional.mse_loss(q(q_in).view(-1), y) for q in (critics.q1, critics.q2))
    optimizer = torch.optim.Adam(critics.parameters(), lr=1e-3)
    critic_loss.backward()
    optimizer.step()
    assert (flat(critics) - flat(run.critics)).abs().max() < 1e-6
    # the temperature's first Adam step moves log_alpha by lr against the sign of its gradient
    gradient = -(sample(obs, eps)[1].detach() + (-1.0)).mean()
    expected = log_alpha.item() - 1e-3 * float(torch.sign(gradient))
    assert run.temperature.log_alpha.item() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("actor_class", [TanhActor, GaussianActor])
def test_actors_scale_unit_actions_to_the_bounds(actor_class):
    low, high = np.array([-2.0, 0.5]), np.array([1.0, 3.5])
    actor = actor_class(4, low, high, (8,))
    unit = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]])
    np.testing.assert_allclose(actor.to_env(unit).numpy(), [low, high, (low + high) / 2], rtol=1e-6)
    actions = actor(torch.randn(50, 4) * 100).detach().numpy()
    assert (actions >= low - 1e-6).all() and (actions <= high + 1e-6).all()
    with pytest.raises(ValueError, match="low < high"):
        actor_class(4, np.array([1.0]), np.array([1.0]))


def test_truncated_episodes_bootstrap_from_their_final_observation():
    """Pendulum only truncates (200 steps): every stored transition bootstraps with gamma, and the
    one that truncates bootstraps from the final observation, not the next episode's first."""
    run = SAC(SACConfig(**{**BASE, "learning_starts": 10_000}, gamma=0.97))
    seen_final = []
    step = run.envs.step

    def recording_step(actions):
        result = step(actions)
        if result[3][0]:
            seen_final.append(np.array(result[0][0]))
        return result

    run.envs.step = recording_step
    for _ in range(450):
        run._collect_step()
    batch = run.replay.sample(400, gamma=0.97)
    np.testing.assert_allclose(batch.discount, 0.97, rtol=1e-6)
    assert len(seen_final) == 2
    finals = [row for row in batch.next_obs if any(np.allclose(row, f) for f in seen_final)]
    assert finals  # some sampled transition ends on a truncation's final observation
    starts = {tuple(np.round(row, 6)) for row in batch.obs}
    assert not any(tuple(np.round(f, 6)) in starts for f in seen_final)  # never stored as a start state


@pytest.mark.parametrize("cls, config_class", ALGORITHMS)
def test_prioritized_replay_trains_on_torch_and_updates_priorities(cls, config_class):
    run = cls(config_class(**BASE, prioritized=True))
    assert run.backend == "torch"  # "auto" falls back: the engine has no weighted losses
    with pytest.raises(ValueError, match="prioritized"):
        cls(config_class(**BASE, prioritized=True, backend="native"))
    fill(run, seed=1)
    before = run.replay.sample(100, beta=0.5).weights
    assert np.allclose(before, before[0])  # new transitions all have the maximal priority
    run._train(4)
    after = run.replay.sample(100, beta=0.5).weights
    assert not np.allclose(after, after[0])  # |TD errors| became the sampled ones' priorities


@pytest.mark.parametrize("cls, config_class", ALGORITHMS)
def test_resume_equals_uninterrupted_and_policy_file_acts_as_the_actor(tmp_path, cls, config_class):
    config = config_class(**{**BASE, "learning_starts": 100, "total_timesteps": 600}, eval_interval=300,
                          eval_episodes=2)
    whole = cls(config, tmp_path / "whole").learn()
    cls(config, tmp_path / "resumed").learn(stop_at=300)
    resumed = Algorithm.resume(tmp_path / "resumed").learn()
    assert torch.equal(flat(whole.actor), flat(resumed.actor))
    assert torch.equal(flat(whole.critics), flat(resumed.critics))
    assert whole.log.scores[-1][1] == resumed.log.scores[-1][1]
    policy = turborl.load_policy(tmp_path / "whole")
    obs = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    with torch.no_grad():
        expected = whole.actor(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(policy.act(obs), expected, rtol=1e-5, atol=1e-6)
    stochastic = policy.act(obs, deterministic=False)
    assert stochastic.shape == (6, 1) and (np.abs(stochastic) <= 2.0).all()


@pytest.mark.parametrize("cls, config_class", ALGORITHMS)
def test_learns_pendulum_far_beyond_random(tmp_path, cls, config_class):
    config = config_class(env_id="Pendulum-v1", hidden_sizes=(64, 64), batch_size=100, learning_rate=1e-3,
                          total_timesteps=8_000, eval_interval=8_000, seed=1, progress=False)
    cls(config, tmp_path).learn()
    learned = evaluate(turborl.load_policy(tmp_path), "Pendulum-v1", 10, seeds=(7,)).mean()
    rng = np.random.default_rng(0)
    random = evaluate(lambda obs: rng.uniform(-2, 2, (len(obs), 1)), "Pendulum-v1", 10, seeds=(7,)).mean()
    assert random < -1000 and learned > -400, (random, learned)
