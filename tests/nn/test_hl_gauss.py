"""HL-Gauss and two-hot targets against a SciPy reference."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
norm = pytest.importorskip("scipy.stats").norm

from turborl.nn import HLGauss, TwoHot  # noqa: E402


def reference_probs(y, v_min, v_max, bins, sigma):
    edges = np.linspace(v_min, v_max, bins + 1)
    y = np.clip(y, v_min, v_max)
    cdf = norm.cdf(edges, loc=y, scale=sigma)
    return np.diff(cdf) / (cdf[-1] - cdf[0])


@pytest.mark.parametrize("y", [-3.0, 0.0, 0.3, 4.99, 5.0, 9.0])
def test_probabilities_equal_scipys(y):
    head = HLGauss(-1.0, 5.0, 12)
    probs = head.to_probs(torch.tensor([y], dtype=torch.float64))[0].numpy()
    assert np.allclose(probs, reference_probs(y, -1.0, 5.0, 12, 0.75 * 0.5), atol=1e-12)
    assert np.isclose(probs.sum(), 1.0) and np.all(probs >= 0)


def test_centres_are_midpoints_and_values_come_back():
    head = HLGauss(0.0, 10.0, 20)
    assert torch.allclose(head.centers, (head.edges[:-1] + head.edges[1:]) / 2)
    assert head.centers[0].item() == pytest.approx(0.25)
    peaked = torch.full((20,), -50.0)
    peaked[7] = 50.0
    assert head.from_logits(peaked).item() == pytest.approx(3.75, abs=1e-6)  # bin 7 spans [3.5, 4]
    targets = torch.tensor([2.0, 4.1, 6.7], dtype=torch.float64)
    recovered = head.from_logits(head.to_probs(targets).log())
    assert torch.allclose(recovered, targets, atol=1e-3)


def test_loss_is_the_cross_entropy_and_is_minimal_at_the_target_distribution():
    head = HLGauss(0.0, 1.0, 10)
    target = torch.tensor([0.42], dtype=torch.float64)
    logits = torch.randn(1, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    p = reference_probs(0.42, 0.0, 1.0, 10, 0.075)
    expected = -(p * torch.log_softmax(logits, -1).numpy()).sum()
    assert np.isclose(head.loss(logits, target).item(), expected)
    best = head.to_probs(target).log().requires_grad_(True)
    head.loss(best, target).sum().backward()
    assert torch.allclose(best.grad, torch.zeros_like(best.grad), atol=1e-12)


def test_two_hot_splits_between_neighbours_with_the_exact_mean():
    head = TwoHot(-2.0, 2.0, 5)  # atoms -2, -1, 0, 1, 2
    probs = head.to_probs(torch.tensor([0.25, 1.0, 7.0], dtype=torch.float64))
    assert torch.allclose(probs[0], torch.tensor([0, 0, 0.75, 0.25, 0], dtype=torch.float64))
    assert torch.allclose(probs[1], torch.tensor([0, 0, 0, 1.0, 0], dtype=torch.float64))
    assert torch.allclose(probs[2], torch.tensor([0, 0, 0, 0, 1.0], dtype=torch.float64))
    means = (probs * head.centers.double()).sum(-1)
    assert torch.allclose(means, torch.tensor([0.25, 1.0, 2.0], dtype=torch.float64))


@pytest.mark.parametrize("kwargs, pattern", [({"v_min": 1.0, "v_max": 1.0}, r"v_max must be greater than v_min"),
                                             ({"num_bins": 1}, r"num_bins must be an integer >= 2, got 1"),
                                             ({"sigma": -0.1}, r"sigma must be .*> 0, got -0.1"),
                                             ({"v_max": float("inf")}, r"must be finite")])
def test_bad_arguments(kwargs, pattern):
    arguments = {"v_min": 0.0, "v_max": 1.0, "num_bins": 10, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        HLGauss(**arguments)
