"""The native TD3 update against a torch reference written as CleanRL's td3_continuous_action.py:
same networks, batch and smoothing noise, three updates (the actor and targets on the second),
then every parameter, target and statistic compared."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from helpers.transitions import random_transitions  # noqa: E402
from turborl._core import nn as native  # noqa: E402
from turborl.nn import MLP  # noqa: E402
from turborl.nn.native import flatten_parameters, linear_parameters  # noqa: E402

OBS, ACT, HIDDEN, BATCH = 5, 2, (32, 24), 48


def reference_update(actor, critics, targets, optimizers, batch, noise, update_actor, policy_noise=0.2,
                     noise_clip=0.5, tau=0.005):
    obs, actions, rewards, discounts, next_obs, critic_obs, next_critic_obs = batch
    target_actor, target_critics = targets
    actor_optimizer, critic_optimizer = optimizers
    with torch.no_grad():
        smoothing = (noise * policy_noise).clamp(-noise_clip, noise_clip)
        next_actions = (target_actor(next_obs) + smoothing).clamp(-1, 1)
        next_input = torch.cat([next_critic_obs, next_actions], 1)
        next_q = torch.min(target_critics[0](next_input), target_critics[1](next_input)).view(-1)
        y = rewards + discounts * next_q
    q_input = torch.cat([critic_obs, actions], 1)
    critic_loss = sum(nn.functional.mse_loss(critic(q_input).view(-1), y) for critic in critics)
    critic_optimizer.zero_grad()
    critic_loss.backward()
    critic_optimizer.step()
    if update_actor:
        actor_loss = -critics[0](torch.cat([critic_obs, actor(obs)], 1)).mean()
        actor_optimizer.zero_grad()
        actor_loss.backward()
        actor_optimizer.step()
        with torch.no_grad():
            for network, target in zip([actor, *critics], [target_actor, *target_critics]):
                for p, t in zip(network.parameters(), target.parameters()):
                    t.copy_(tau * p + (1 - tau) * t)
    return critic_loss.item()


def flat_values(modules):
    return torch.cat([p.detach().flatten() for m in modules for p in m.parameters()])


@pytest.mark.parametrize("num_threads", [1, 2])  # two: the twin critics' work side by side
@pytest.mark.parametrize("critic_obs_dim", [None, 3])  # None: the critics see the actor's obs
@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-10), (torch.float32, 2e-5)])
def test_td3_updates_equal_torch_reference(dtype, tolerance, critic_obs_dim, num_threads):
    torch.manual_seed(0)
    c_dim = critic_obs_dim or OBS
    actor = nn.Sequential(*MLP(OBS, ACT, HIDDEN, "relu", orthogonal=False), nn.Tanh()).to(dtype)
    critics = [MLP(c_dim + ACT, 1, HIDDEN, "relu", orthogonal=False).to(dtype) for _ in range(2)]
    with torch.no_grad():  # targets that differ from the online networks
        targets = (copy.deepcopy(actor), [copy.deepcopy(c) for c in critics])
        for p in list(targets[0].parameters()) + [p for c in targets[1] for p in c.parameters()]:
            p.mul_(0.8)
    optimizers = (torch.optim.Adam(actor.parameters(), lr=3e-4),
                  torch.optim.Adam([p for c in critics for p in c.parameters()], lr=1e-3))

    # the engine's copies, in its layout
    copies = copy.deepcopy((actor, critics, targets))
    engine_actor = flatten_parameters(linear_parameters(copies[0][:-1])).numpy()
    engine_critic = flatten_parameters(linear_parameters(*copies[1])).numpy()
    engine_target_actor = flatten_parameters(linear_parameters(copies[2][0][:-1])).numpy()
    engine_target_critic = flatten_parameters(linear_parameters(*copies[2][1])).numpy()
    engine = (native.Td3Engine64 if dtype == torch.float64 else native.Td3Engine32)(
        [OBS, *HIDDEN, ACT], [c_dim + ACT, *HIDDEN, 1], "relu", num_threads=num_threads)
    assert engine.actor_params == engine_actor.size and engine.critic_params == engine_critic.size
    state = {name: np.zeros_like(engine_actor) for name in ("actor_grads", "actor_exp_avg", "actor_exp_avg_sq")}
    state.update({name: np.zeros_like(engine_critic) for name in ("critic_grads", "critic_exp_avg",
                                                                  "critic_exp_avg_sq")})
    steps = {"actor_step": 0, "critic_step": 0}

    generator = torch.Generator().manual_seed(1)
    for update in range(3):
        batch = random_transitions(generator, BATCH, OBS, ACT, dtype)
        if critic_obs_dim is None:
            batch += (batch[0], batch[4])
        else:
            batch += tuple(torch.randn(BATCH, c_dim, generator=generator, dtype=dtype) for _ in range(2))
        asymmetric = {} if critic_obs_dim is None else dict(critic_obs=batch[5].numpy(),
                                                             next_critic_obs=batch[6].numpy())
        noise = torch.randn(BATCH, ACT, generator=generator, dtype=dtype) * 3  # some smoothing clips
        update_actor = update == 1
        loss = reference_update(actor, critics, targets, optimizers, batch, noise, update_actor)
        stats = engine.update(engine_actor, engine_critic, engine_target_actor, engine_target_critic, **state, **steps,
                              obs=batch[0].numpy(), actions=batch[1].numpy(), rewards=batch[2].numpy(),
                              discounts=batch[3].numpy(), next_obs=batch[4].numpy(), noise=noise.numpy(),
                              update_actor=update_actor, actor_lr=3e-4, critic_lr=1e-3, **asymmetric)
        steps = {"actor_step": stats["actor_step"], "critic_step": stats["critic_step"]}
        assert stats["critic_loss"] == pytest.approx(loss, rel=tolerance * 10)
        assert np.isnan(stats["actor_loss"]) != update_actor
    assert steps == {"actor_step": 1, "critic_step": 3}
    for engine_modules, reference in [(copies[0], [actor]), (copies[1], critics), ([copies[2][0]], [targets[0]]),
                                      (copies[2][1], targets[1])]:
        modules = engine_modules if isinstance(engine_modules, list) else [engine_modules]
        got, expected = flat_values(modules), flat_values(reference)
        assert (got - expected).abs().max() <= tolerance * max(1.0, expected.abs().max()), (got - expected).abs().max()
    acted = np.empty((7, ACT), dtype=engine_actor.dtype)
    obs = torch.randn(7, OBS, dtype=dtype)
    engine.act(engine_actor, obs.numpy(), acted)
    np.testing.assert_allclose(acted, actor(obs).detach().numpy(), rtol=0, atol=tolerance * 10)
