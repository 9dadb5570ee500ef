"""ObGD and the fused Stream TD(lambda) step against NumPy references: the optimiser's traces,
bound and step size on random vectors, and Stream TD on a linear value function (a network with
no hidden layer), over transitions with terminations and truncations."""

import numpy as np
import pytest

from turborl._core import nn as native


def obgd_reference(params, traces, second_moment, grads, step, delta, reset, lr, gamma_lambda, kappa, adaptive,
                   beta2=0.999, eps=1e-8):
    traces = gamma_lambda * traces + grads
    direction = traces
    if adaptive:
        second_moment = beta2 * second_moment + (1 - beta2) * (delta * traces) ** 2
        direction = traces / (np.sqrt(second_moment / (1 - beta2 ** step)) + eps)
    bound = lr * kappa * max(abs(delta), 1.0) * np.abs(direction).sum()
    step_size = lr / max(bound, 1.0)
    params = params + step_size * delta * direction
    if reset:
        traces = np.zeros_like(traces)
    return params, traces, second_moment, step_size


@pytest.mark.parametrize("adaptive", [False, True])
def test_obgd_steps_equal_numpy_reference(adaptive):
    rng = np.random.default_rng(0)
    n = 301
    params, traces, second_moment = rng.normal(size=n), np.zeros(n), np.zeros(n)
    expected = (params.copy(), traces.copy(), second_moment.copy())
    for step in range(1, 9):
        grads = rng.normal(size=n) * 10.0 ** (step % 3 - 2)  # some steps hit the bound, some do not
        delta = float(rng.normal() * 3)
        reset = step == 4
        got = native.obgd_step(params, grads, traces, second_moment if adaptive else None, step, delta, reset,
                               lr=0.5, gamma_lambda=0.9 * 0.8, kappa=2.0, adaptive=adaptive)
        *expected, step_size = obgd_reference(*expected, grads, step, delta, reset, 0.5, 0.72, 2.0, adaptive)
        assert got == pytest.approx(step_size, rel=1e-12)
        np.testing.assert_allclose(params, expected[0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(traces, expected[1], rtol=1e-12, atol=1e-14)
        if reset:
            assert not traces.any()


def test_stream_td_on_a_linear_value_function_equals_numpy():
    obs_dim, gamma, lamda, kappa = 3, 0.95, 0.8, 2.0
    engine = native.StreamTdEngine64([obs_dim, 1], "identity", False)
    assert engine.num_params == obs_dim * 16 + 16  # W^T [3, 16] then the bias [16], padding zero
    params, traces = np.zeros(engine.num_params), np.zeros(engine.num_params)
    rng = np.random.default_rng(1)
    params[[0, 16, 32]] = rng.normal(size=3)  # W^T[i, 0] for i = 0, 1, 2
    params[48] = 0.3                          # the bias
    w, b = params[[0, 16, 32]].copy(), 0.3
    e_w, e_b = np.zeros(obs_dim), 0.0
    for step in range(1, 40):
        obs, next_obs = rng.normal(size=obs_dim), rng.normal(size=obs_dim)
        reward, terminated, truncated = float(rng.normal()), bool(rng.random() < 0.1), bool(rng.random() < 0.1)
        delta = engine.step(params, traces, None, step, obs, reward, next_obs, terminated, terminated or truncated,
                            gamma=gamma, lr=1.0, lamda=lamda, kappa=kappa)
        next_value = 0.0 if terminated else w @ next_obs + b
        expected_delta = reward + gamma * next_value - (w @ obs + b)
        e_w, e_b = gamma * lamda * e_w + obs, gamma * lamda * e_b + 1.0
        bound = kappa * max(abs(expected_delta), 1.0) * (np.abs(e_w).sum() + abs(e_b))
        step_size = 1.0 / max(bound, 1.0)
        w, b = w + step_size * expected_delta * e_w, b + step_size * expected_delta * e_b
        if terminated or truncated:
            e_w, e_b = np.zeros(obs_dim), 0.0
        assert delta == pytest.approx(expected_delta, rel=1e-10, abs=1e-12)
        np.testing.assert_allclose(params[[0, 16, 32]], w, rtol=1e-10)
        assert params[48] == pytest.approx(b, rel=1e-10)
    padding = np.ones(engine.num_params, bool)
    padding[[0, 16, 32, 48]] = False
    assert not params[padding].any() and not traces[padding].any()


def test_stream_td_with_layer_norm_matches_torch_gradient():
    torch = pytest.importorskip("torch")
    from torch import nn

    from turborl.nn.native import flatten_parameters, linear_parameters, views_like

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 16), nn.LayerNorm(16, elementwise_affine=False), nn.LeakyReLU(),
                        nn.Linear(16, 16), nn.LayerNorm(16, elementwise_affine=False), nn.LeakyReLU(),
                        nn.Linear(16, 1)).double()
    obs, next_obs = torch.randn(4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    with torch.no_grad():
        delta = 0.5 + 0.9 * net(next_obs).item() - net(obs).item()
    net(obs).sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    buffer = flatten_parameters(linear_parameters(net))
    before = [p.detach().clone() for p in net.parameters()]
    traces = np.zeros(buffer.numel())
    engine = native.StreamTdEngine64([4, 16, 16, 1], "leaky_relu", True)
    got = engine.step(buffer.numpy(), traces, None, 1, obs.numpy(), 0.5, next_obs.numpy(), False, False, gamma=0.9,
                      lr=1.0, lamda=0.8, kappa=2.0)
    assert got == pytest.approx(delta, rel=1e-12)
    trace_views = views_like(traces, buffer, net.parameters())
    for trace, grad in zip(trace_views, grads):  # the first trace is the gradient
        torch.testing.assert_close(trace, grad, rtol=1e-10, atol=1e-12)
    bound = 2.0 * max(abs(delta), 1.0) * sum(g.abs().sum().item() for g in grads)
    for p, p0, g in zip(net.parameters(), before, grads):
        torch.testing.assert_close(p.detach(), p0 + delta / max(bound, 1.0) * g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("sarsa", [False, True])
def test_stream_q_and_sarsa_on_a_linear_q_function_equal_numpy(sarsa):
    obs_dim, actions, gamma, lamda, kappa = 3, 2, 0.9, 0.8, 2.0
    engine = native.StreamQEngine64([obs_dim, actions], "identity", False)
    params, traces = np.zeros(engine.num_params), np.zeros(engine.num_params)
    rng = np.random.default_rng(2)
    w, b = rng.normal(size=(actions, obs_dim)), rng.normal(size=actions)  # Q(s, a) = w[a] . s + b[a]
    params[: obs_dim * 16].reshape(obs_dim, 16)[:, :actions] = w.T       # W^T [obs, 16]
    params[obs_dim * 16: obs_dim * 16 + actions] = b                      # the bias [16]
    e_w, e_b = np.zeros_like(w), np.zeros_like(b)
    for step in range(1, 40):
        obs, next_obs = rng.normal(size=obs_dim), rng.normal(size=obs_dim)
        action, next_action = int(rng.integers(actions)), int(rng.integers(actions))
        reward, terminated = float(rng.normal()), bool(rng.random() < 0.1)
        reset = terminated or rng.random() < 0.2  # an episode's end, or a non-greedy action (Watkins)
        delta = engine.step(params, traces, None, step, obs, action, reward, next_obs,
                            next_action if sarsa else -1, terminated, reset, gamma=gamma, lr=1.0, lamda=lamda,
                            kappa=kappa)
        next_q = w @ next_obs + b
        next_value = 0.0 if terminated else (next_q[next_action] if sarsa else next_q.max())
        expected_delta = reward + gamma * next_value - (w[action] @ obs + b[action])
        e_w, e_b = gamma * lamda * e_w, gamma * lamda * e_b
        e_w[action] += obs
        e_b[action] += 1.0
        step_size = 1.0 / max(kappa * max(abs(expected_delta), 1.0) * (np.abs(e_w).sum() + np.abs(e_b).sum()), 1.0)
        w, b = w + step_size * expected_delta * e_w, b + step_size * expected_delta * e_b
        if reset:
            e_w, e_b = np.zeros_like(w), np.zeros_like(b)
        assert delta == pytest.approx(expected_delta, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(params[: obs_dim * 16].reshape(obs_dim, 16)[:, :actions], w.T, rtol=1e-10)
    np.testing.assert_allclose(params[obs_dim * 16: obs_dim * 16 + actions], b, rtol=1e-10)
    q = np.empty(actions)
    obs = rng.normal(size=obs_dim)
    engine.q_values(params, obs, q)
    np.testing.assert_allclose(q, w @ obs + b, rtol=1e-12)


@pytest.mark.parametrize("discrete", [True, False])
def test_stream_ac_steps_equal_the_authors_computation_in_torch(discrete):
    """The reference is stream_ac_{discrete,continuous}.py's update written with torch autograd:
    grad V for the critic, grad (log pi(a|s) + c sign(delta) H) for the actor, ObGD on each."""
    torch = pytest.importorskip("torch")
    import copy

    from torch import nn

    from turborl.nn.native import flatten_parameters, linear_parameters

    def mlp(sizes):
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers += [nn.LayerNorm(sizes[i + 1], elementwise_affine=False), nn.LeakyReLU()]
        return nn.Sequential(*layers).double()

    torch.manual_seed(0)
    obs_dim, actions, gamma, lamda, c = 4, 3, 0.99, 0.8, 0.01
    policy, value = mlp([obs_dim, 16, actions if discrete else 2 * actions]), mlp([obs_dim, 16, 1])
    engine_policy, engine_value = copy.deepcopy(policy), copy.deepcopy(value)
    policy_buffer = flatten_parameters(linear_parameters(engine_policy)).numpy()
    value_buffer = flatten_parameters(linear_parameters(engine_value)).numpy()
    policy_traces, value_traces = np.zeros_like(policy_buffer), np.zeros_like(value_buffer)
    engine = native.StreamAcEngine64([obs_dim, 16, actions if discrete else 2 * actions], [obs_dim, 16, 1], discrete)
    traces = {name: [torch.zeros_like(p) for p in net.parameters()] for name, net in (("pi", policy), ("v", value))}

    def obgd(net, net_traces, delta, kappa, reset):
        with torch.no_grad():
            for e, p in zip(net_traces, net.parameters()):
                e.mul_(gamma * lamda).add_(p.grad)
            bound = kappa * max(abs(delta), 1.0) * sum(e.abs().sum().item() for e in net_traces)
            for e, p in zip(net_traces, net.parameters()):
                p.add_(e, alpha=delta / max(bound, 1.0))
                if reset:
                    e.zero_()

    def distribution(obs):
        out = policy(obs)
        if discrete:
            return torch.distributions.Categorical(logits=out)
        return torch.distributions.Normal(out[:actions], nn.functional.softplus(out[actions:]))

    rng = np.random.default_rng(3)
    for step in range(12):
        obs, next_obs = torch.from_numpy(rng.normal(size=obs_dim)), torch.from_numpy(rng.normal(size=obs_dim))
        action = (torch.tensor(float(rng.integers(actions)), dtype=torch.float64) if discrete
                  else torch.from_numpy(rng.normal(size=actions)))
        reward, terminated, reset = float(rng.normal()), step == 5, step in (5, 9)
        with torch.no_grad():
            delta = reward + (0.0 if terminated else gamma * value(next_obs).item()) - value(obs).item()
        for net in (policy, value):
            net.zero_grad()
        value(obs).sum().backward()
        dist = distribution(obs)
        log_prob = dist.log_prob(action.long() if discrete else action).sum()
        (log_prob + c * float(np.sign(delta)) * dist.entropy().sum()).backward()
        obgd(value, traces["v"], delta, 2.0, reset)
        obgd(policy, traces["pi"], delta, 3.0, reset)
        got = engine.step(policy_buffer, value_buffer, policy_traces, value_traces, obs.numpy(),
                          np.atleast_1d(action.numpy()), reward, next_obs.numpy(), terminated, reset, gamma=gamma,
                          lamda=lamda, entropy_coef=c)
        assert got == pytest.approx(delta, rel=1e-10, abs=1e-12)
    for engine_net, net in ((engine_policy, policy), (engine_value, value)):
        for p_engine, p in zip(engine_net.parameters(), net.parameters()):
            torch.testing.assert_close(p_engine, p, rtol=1e-9, atol=1e-11)
    sampled = np.empty(1 if discrete else actions)
    engine.act(policy_buffer, np.zeros(obs_dim), 0, 1, sampled)
    again = np.empty_like(sampled)
    engine.act(policy_buffer, np.zeros(obs_dim), 0, 1, again)
    assert np.array_equal(sampled, again) and np.all(np.isfinite(sampled))


def test_stream_ac_samples_follow_the_policy():
    engine = native.StreamAcEngine64([2, 3], [2, 1], True, "identity", False)
    policy = np.zeros(engine.policy_params)
    policy[2 * 16: 2 * 16 + 3] = [1.0, 0.0, -1.0]  # the bias: logits for any obs with zero weights
    probabilities = np.exp([1.0, 0.0, -1.0]) / np.exp([1.0, 0.0, -1.0]).sum()
    action = np.empty(1)
    counts = np.zeros(3)
    for counter in range(6000):
        engine.act(policy, np.zeros(2), 7, counter, action)
        counts[int(action[0])] += 1
    assert np.all(np.abs(counts / 6000 - probabilities) < 4 * np.sqrt(probabilities * (1 - probabilities) / 6000))
