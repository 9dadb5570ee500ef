"""The native SAC step against a torch reference written as Stable-Baselines3's SAC.train() (one
gradient step: temperature, critics, actor, Polyak targets), on the same networks, batch and
reparameterisation noise; three steps, then every parameter, the temperature and the losses."""

import copy
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from helpers.transitions import random_transitions  # noqa: E402
from turborl._core import nn as native  # noqa: E402
from turborl.nn import MLP  # noqa: E402
from turborl.nn.native import flatten_parameters, linear_parameters  # noqa: E402

OBS, ACT, HIDDEN, BATCH = 4, 2, (32, 24), 40


def sample(actor, obs, eps):
    out = actor(obs)
    mean, log_std = out[:, :ACT], out[:, ACT:].clamp(-20, 2)
    std = log_std.exp()
    x = mean + std * eps
    y = torch.tanh(x)
    log_prob = torch.distributions.Normal(mean, std).log_prob(x).sum(-1) - torch.log(1 - y ** 2 + 1e-6).sum(-1)
    return y, log_prob


def reference_step(actor, critics, targets, log_alpha, optimizers, batch, eps, eps_next, tau=0.005):
    obs, actions, rewards, discounts, next_obs = batch
    actor_optimizer, critic_optimizer, alpha_optimizer = optimizers
    actions_pi, log_prob = sample(actor, obs, eps)
    alpha = log_alpha.detach().exp()
    alpha_loss = -(log_alpha * (log_prob + -ACT).detach()).mean()
    alpha_optimizer.zero_grad()
    alpha_loss.backward()
    alpha_optimizer.step()
    with torch.no_grad():
        next_actions, next_log_prob = sample(actor, next_obs, eps_next)
        next_input = torch.cat([next_obs, next_actions], 1)
        next_q = torch.cat([t(next_input) for t in targets], 1).min(1).values - alpha * next_log_prob
        y = rewards + discounts * next_q
    q_input = torch.cat([obs, actions], 1)
    critic_loss = 0.5 * sum(nn.functional.mse_loss(q(q_input).view(-1), y) for q in critics)
    critic_optimizer.zero_grad()
    critic_loss.backward()
    critic_optimizer.step()
    pi_input = torch.cat([obs, actions_pi], 1)
    min_q = torch.cat([q(pi_input) for q in critics], 1).min(1).values
    actor_loss = (alpha * log_prob - min_q).mean()
    actor_optimizer.zero_grad()
    actor_loss.backward()
    actor_optimizer.step()
    with torch.no_grad():
        for q, t in zip(critics, targets):
            for p, tp in zip(q.parameters(), t.parameters()):
                tp.mul_(1 - tau).add_(tau * p)
    return critic_loss.item(), actor_loss.item(), alpha.item()


def flat_values(modules):
    return torch.cat([p.detach().flatten() for m in modules for p in m.parameters()])


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-10), (torch.float32, 3e-5)])
def test_sac_steps_equal_sb3_style_torch_reference(dtype, tolerance):
    torch.manual_seed(0)
    actor = MLP(OBS, 2 * ACT, HIDDEN, "relu", orthogonal=False).to(dtype)
    with torch.no_grad():  # wide means and log-stds: some log-stds clamp at 2 or -20, some actions near +-1
        actor[-1].weight.mul_(6.0)
        actor[-1].weight[ACT:].mul_(8.0)
    critics = [MLP(OBS + ACT, 1, HIDDEN, "relu", orthogonal=False).to(dtype) for _ in range(2)]
    targets = [copy.deepcopy(c) for c in critics]
    with torch.no_grad():
        for p in (p for t in targets for p in t.parameters()):
            p.mul_(0.9)
    log_alpha = torch.tensor([math.log(0.3)], dtype=dtype, requires_grad=True)
    optimizers = (torch.optim.Adam(actor.parameters(), lr=3e-4),
                  torch.optim.Adam([p for c in critics for p in c.parameters()], lr=1e-3),
                  torch.optim.Adam([log_alpha], lr=3e-4))

    copies = copy.deepcopy((actor, critics, targets))
    engine_actor = flatten_parameters(linear_parameters(copies[0])).numpy()
    engine_critic = flatten_parameters(linear_parameters(*copies[1])).numpy()
    engine_target = flatten_parameters(linear_parameters(*copies[2])).numpy()
    engine = (native.SacEngine64 if dtype == torch.float64 else native.SacEngine32)(
        [OBS, *HIDDEN, 2 * ACT], [OBS + ACT, *HIDDEN, 1], "relu")
    np_dtype = engine_actor.dtype
    state = {"log_alpha": np.array([math.log(0.3)], np_dtype), "alpha_exp_avg": np.zeros(1, np_dtype),
             "alpha_exp_avg_sq": np.zeros(1, np_dtype)}
    state.update({name: np.zeros_like(engine_actor) for name in ("actor_grads", "actor_exp_avg", "actor_exp_avg_sq")})
    state.update({name: np.zeros_like(engine_critic) for name in ("critic_grads", "critic_exp_avg",
                                                                  "critic_exp_avg_sq")})
    step = 0
    generator = torch.Generator().manual_seed(2)
    for _ in range(3):
        batch = random_transitions(generator, BATCH, OBS, ACT, dtype)
        eps, eps_next = (torch.randn(BATCH, ACT, generator=generator, dtype=dtype) for _ in range(2))
        critic_loss, actor_loss, alpha = reference_step(actor, critics, targets, log_alpha, optimizers, batch, eps,
                                                        eps_next)
        stats = engine.update(engine_actor, engine_critic, engine_target, **state, step=step, obs=batch[0].numpy(),
                              actions=batch[1].numpy(), rewards=batch[2].numpy(), discounts=batch[3].numpy(),
                              next_obs=batch[4].numpy(), eps=eps.numpy(), eps_next=eps_next.numpy(),
                              actor_lr=3e-4, critic_lr=1e-3, alpha_lr=3e-4)
        step = stats["step"]
        assert stats["critic_loss"] == pytest.approx(critic_loss, rel=tolerance * 10)
        assert stats["actor_loss"] == pytest.approx(actor_loss, rel=tolerance * 10, abs=tolerance)
        assert stats["alpha"] == pytest.approx(alpha, rel=tolerance)
    assert step == 3
    assert state["log_alpha"][0] == pytest.approx(log_alpha.item(), rel=tolerance, abs=tolerance)
    for modules, reference in [([copies[0]], [actor]), (copies[1], critics), (copies[2], targets)]:
        got, expected = flat_values(modules), flat_values(reference)
        assert (got - expected).abs().max() <= tolerance * max(1.0, expected.abs().max()), (got - expected).abs().max()
    obs = torch.randn(6, OBS, dtype=dtype)
    noise = torch.randn(6, ACT, dtype=dtype)
    acted = np.empty((6, ACT), np_dtype)
    engine.act(engine_actor, obs.numpy(), noise.numpy(), acted)
    np.testing.assert_allclose(acted, sample(actor, obs, noise)[0].detach().numpy(), rtol=0, atol=tolerance * 10)
    engine.act(engine_actor, obs.numpy(), None, acted)
    np.testing.assert_allclose(acted, torch.tanh(actor(obs)[:, :ACT]).detach().numpy(), rtol=0, atol=tolerance * 10)
