"""The native engine's MLP, optimiser steps and parameter sharing against torch: outputs and
gradients equal autograd's (float64 to 1e-10, float32 to 1e-5 relative), Adam/AdamW and
gradient clipping equal torch.optim's, and torch sees the engine's weights without copies."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from turborl._core import nn as native  # noqa: E402
from turborl.nn.native import FlatAdam, flatten_parameters, linear_parameters, mlp_layout, views_like  # noqa: E402
from turborl.nn.networks import StreamMLP  # noqa: E402

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "identity": nn.Identity}


def torch_mlp(sizes, activation, layer_norm, dtype, seed):
    torch.manual_seed(seed)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1], dtype=dtype))
        if i < len(sizes) - 2:
            if layer_norm:
                layers.append(nn.LayerNorm(sizes[i + 1], elementwise_affine=False, dtype=dtype))
            layers.append(ACTIVATIONS[activation]())
    net = nn.Sequential(*layers)
    with torch.no_grad():  # wider weights than torch's default, so that tanh saturates somewhere
        for p in net.parameters():
            p.mul_(2.0)
    return net


def flat(tensors):
    return torch.cat([t.detach().flatten() for t in tensors]).numpy()


CASES = [([4, 64, 64, 2], "tanh", False), ([3, 130, 17, 5], "relu", False), ([7, 33, 1], "leaky_relu", False),
         ([5, 40, 40, 3], "leaky_relu", True), ([6, 20, 4], "identity", False), ([2, 9], "tanh", False),
         ([11, 256, 256, 1], "tanh", True),
         # layers of at most 4 units after the first take the narrow kernels, hidden ones included
         ([4, 8, 2, 6, 1], "tanh", True), ([5, 3, 40, 4], "relu", False), ([9, 17, 3, 2], "relu", True)]


@pytest.mark.parametrize("sizes, activation, layer_norm", CASES)
@pytest.mark.parametrize("batch", [1, 5, 67])
@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_outputs_and_gradients_equal_autograd(sizes, activation, layer_norm, batch, dtype, tolerance):
    net = torch_mlp(sizes, activation, layer_norm, dtype, seed=batch)
    generator = torch.Generator().manual_seed(batch + 1)
    x = torch.randn(batch, sizes[0], dtype=dtype, generator=generator)
    output_grad = torch.randn(batch, sizes[-1], dtype=dtype, generator=generator)
    out = net(x)
    (out * output_grad).sum().backward()
    expected_grads = flat(p.grad for p in net.parameters())

    mlp = (native.Mlp64 if dtype == torch.float64 else native.Mlp32)(sizes, activation, "identity", layer_norm)
    buffer = flatten_parameters(linear_parameters(net))  # the engine's layout; net now views it
    params = buffer.numpy()
    assert mlp.num_params == params.size
    torch.testing.assert_close(net(x), out)  # torch computes the same with the strided weights
    got = mlp.forward(params, x.numpy())
    expected = out.detach().numpy()
    assert np.abs(got - expected).max() <= tolerance * max(1.0, np.abs(expected).max())
    grads = np.zeros_like(params)
    mlp.gradient(params, x.numpy(), output_grad.numpy(), grads)
    got_grads = flat(views_like(grads, buffer, net.parameters()))
    assert np.abs(got_grads - expected_grads).max() <= tolerance * np.abs(expected_grads).max()
    in_parameters = np.zeros_like(params)
    for view in views_like(in_parameters, buffer, net.parameters()):
        view.fill_(1)
    assert not np.any(grads[in_parameters == 0])  # the padding's gradients stay zero


def test_gradient_accumulates_into_grads():
    mlp = native.Mlp64([3, 8, 2], "tanh")
    rng = np.random.default_rng(0)
    params, x, g = rng.normal(size=mlp.num_params), rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    once = np.zeros(mlp.num_params)
    mlp.gradient(params, x, g, once)
    twice = once.copy()
    mlp.gradient(params, x, g, twice)
    np.testing.assert_allclose(twice, 2 * once, rtol=1e-14)


def test_float32_tanh_is_accurate_over_its_whole_range():
    x = np.linspace(-30, 30, 200_001, dtype=np.float32)
    x = np.concatenate([x, np.float32([0.0, -0.0, 1e-30, -1e-8, 1e-4, 8.99, 9.0, 9.01, 3e38])])
    # one linear unit with weight 1, bias 0, then tanh at the output
    params = np.zeros(32, np.float32)  # W^T [1, 16] then the bias [16]
    params[0] = 1.0
    got = native.Mlp32([1, 1], "identity", "tanh").forward(params, x[:, None])[:, 0]
    expected = np.tanh(x.astype(np.float64))
    assert np.all(np.abs(got - expected) <= 3e-7 * np.abs(expected) + 1e-30)
    assert np.array_equal(np.sign(got), np.sign(x))


def test_float32_tanh_keeps_nan_and_saturates_at_infinity():
    # A diverged network must show as NaN (the envs then refuse its actions), not as +-1.
    x = np.float32([1.0, -1.0, 0.25] * 11)[:, None]  # 33 rows: whole vectors and a scalar tail
    mlp, params = native.Mlp32([1, 1], "identity", "tanh"), np.zeros(32, np.float32)
    params[0] = np.nan
    assert np.isnan(mlp.forward(params, x)).all()
    params[0] = np.inf
    np.testing.assert_array_equal(mlp.forward(params, x)[:, 0], np.sign(x[:, 0]))


@pytest.mark.parametrize("decoupled, weight_decay", [(False, 0.0), (False, 0.01), (True, 0.01)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_adam_steps_equal_torch(decoupled, weight_decay, dtype):
    generator = torch.Generator().manual_seed(3)
    reference = torch.randn(257, dtype=dtype, generator=generator).requires_grad_()
    optimizer = (torch.optim.AdamW if decoupled else torch.optim.Adam)(
        [reference], lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=weight_decay)
    params = reference.detach().numpy().copy()
    exp_avg, exp_avg_sq = np.zeros_like(params), np.zeros_like(params)
    for step in range(1, 8):
        grad = torch.randn(257, dtype=dtype, generator=generator) * 10.0 ** (step % 3 - 1)
        reference.grad = grad.clone()
        optimizer.step()
        native.adam_step(params, grad.numpy(), exp_avg, exp_avg_sq, step, 3e-3, 0.8, 0.99, 1e-6, weight_decay,
                         decoupled)
    tolerance = 1e-13 if dtype == torch.float64 else 1e-6
    np.testing.assert_allclose(params, reference.detach().numpy(), rtol=0, atol=tolerance)


@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_equals_torch(max_norm):
    grads = [torch.randn(13, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64),
             torch.randn(7, dtype=torch.float64)]
    params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g.clone()
    norm = nn.utils.clip_grad_norm_(params, max_norm)
    flat_grads = flat(grads)
    assert native.clip_grad_norm(flat_grads, max_norm) == pytest.approx(float(norm), rel=1e-14)
    np.testing.assert_allclose(flat_grads, flat(p.grad for p in params), rtol=1e-14)


def test_polyak_update():
    source, target = np.arange(5.0), np.ones(5)
    native.polyak_update(source, target, 0.25)
    np.testing.assert_allclose(target, 0.75 + 0.25 * np.arange(5.0))


def test_flattened_parameters_are_views_torch_trains_and_saves_as_usual():
    net = torch_mlp([3, 8, 2], "tanh", False, torch.float32, seed=0)
    before = net(torch.ones(1, 3)).detach()
    buffer = flatten_parameters(linear_parameters(net))
    torch.testing.assert_close(net(torch.ones(1, 3)), before)
    buffer.numpy()[:] = 0.0  # the engine writes the buffer; torch sees it
    assert torch.count_nonzero(net(torch.ones(1, 3))) == 0
    other = torch_mlp([3, 8, 2], "tanh", False, torch.float32, seed=1)
    net.load_state_dict(other.state_dict())  # copies into the views
    assert np.array_equal(flat(net.parameters()), flat(other.parameters()))
    assert net[0].weight.shape == (8, 3) and net[0].weight.stride() == (1, 16)  # a view of W^T
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_flat_adam_state_dict_is_torch_adams():
    net = torch_mlp([3, 8, 2], "tanh", False, torch.float32, seed=0)
    buffer = flatten_parameters(linear_parameters(net))
    params = list(net.parameters())
    flat_adam = FlatAdam(buffer, params, lr=1e-2, eps=1e-5)
    generator = torch.Generator().manual_seed(0)

    def random_grads():  # random at the parameters, zero in the padding
        grads = np.zeros(buffer.numel(), np.float32)
        for view in views_like(grads, buffer, params):
            view.copy_(torch.randn(view.shape, generator=generator))
        return grads

    for step in range(1, 4):
        flat_adam.grads[:] = random_grads()
        native.adam_step(buffer.numpy(), flat_adam.grads, flat_adam.exp_avg, flat_adam.exp_avg_sq, step, 1e-2,
                         eps=1e-5)
        flat_adam.step = step
    torch_adam = torch.optim.Adam(params, lr=1e-2, eps=1e-5)
    torch_adam.load_state_dict(flat_adam.state_dict())
    grad = random_grads()
    for p, g in zip(params, views_like(grad, buffer, params)):
        p.grad = g.clone()
    expected = buffer.clone()
    native.adam_step(expected.numpy(), grad, flat_adam.exp_avg.copy(), flat_adam.exp_avg_sq.copy(), 4, 1e-2, eps=1e-5)
    torch_adam.step()
    torch.testing.assert_close(buffer, expected, rtol=0, atol=1e-6)
    round_trip = FlatAdam(buffer, params, lr=1.0)
    round_trip.load_state_dict(torch_adam.state_dict())
    assert round_trip.step == 4 and round_trip.lr == 1e-2
    np.testing.assert_allclose(flat(views_like(round_trip.exp_avg_sq, buffer, params)),
                               flat(torch_adam.state[p]["exp_avg_sq"] for p in params))


def test_mlp_layout_reads_supported_networks_and_names_unsupported_layers():
    assert mlp_layout(torch_mlp([4, 64, 64, 2], "tanh", False, torch.float32, 0)) == ([4, 64, 64, 2], "tanh", False)
    assert mlp_layout(nn.Sequential(nn.Linear(3, 2))) == ([3, 2], "identity", False)
    assert mlp_layout(StreamMLP(5, 2, (16, 8))) == ([5, 16, 8, 2], "leaky_relu", True)
    with pytest.raises(ValueError, match="every hidden layer or none"):
        mlp_layout(nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4, elementwise_affine=False), nn.ReLU(),
                                 nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)))
    with pytest.raises(ValueError, match="no learned scale"):
        mlp_layout(nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.ReLU(), nn.Linear(4, 1)))
    with pytest.raises(ValueError, match="layer 1 is"):
        mlp_layout(nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 1)))
    with pytest.raises(ValueError, match="one hidden activation"):
        mlp_layout(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 1)))
    with pytest.raises(ValueError, match="no activation at the end"):
        mlp_layout(nn.Sequential(nn.Linear(3, 4), nn.Tanh()))
    with pytest.raises(ValueError, match="float32"):
        mlp_layout(nn.Sequential(nn.Linear(3, 4, dtype=torch.float64)))
    with pytest.raises(ValueError, match="nn.Sequential"):
        mlp_layout(nn.Linear(3, 4))


@pytest.mark.parametrize("batch", [1, 3, 40])
def test_regression_gradient_equals_autograd_mse(batch):
    net = torch_mlp([5, 48, 32, 3], "tanh", False, torch.float64, seed=batch)
    x = torch.randn(batch, 5, dtype=torch.float64)
    targets = torch.randn(batch, 3, dtype=torch.float64)
    loss = ((net(x) - targets) ** 2).mean()
    loss.backward()
    expected = flat(p.grad for p in net.parameters())
    buffer = flatten_parameters(linear_parameters(net))
    grads = np.zeros(buffer.numel())
    got = native.Mlp64([5, 48, 32, 3], "tanh").regression_gradient(buffer.numpy(), x.numpy(), targets.numpy(), grads)
    assert got == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(flat(views_like(grads, buffer, net.parameters())), expected, rtol=0,
                               atol=1e-12 * np.abs(expected).max())
