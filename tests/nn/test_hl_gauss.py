"""HL-Gauss and two-hot value classification (Farebrother et al., 2024) against NumPy/SciPy references."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
norm = pytest.importorskip("scipy.stats").norm

from turborl.nn.hl_gauss import HLGauss, TwoHot  # noqa: E402

V_MIN, V_MAX, BINS = -1.0, 5.0, 12  # bin width 0.5, default sigma 0.375
WIDTH = (V_MAX - V_MIN) / BINS


def reference_edges(v_min, v_max, bins):
    return np.linspace(v_min, v_max, bins + 1)


def reference_probs(y, v_min, v_max, bins, sigma):
    """Mass of N(clip(y), sigma^2) on each bin, renormalised over [v_min, v_max].

    Bins above y use the survival function: cdf differences near 1 would lose the upper tail."""
    edges = reference_edges(v_min, v_max, bins)
    y = np.clip(np.asarray(y, np.float64), v_min, v_max)[..., None]
    cdf, sf = norm.cdf(edges, loc=y, scale=sigma), norm.sf(edges, loc=y, scale=sigma)
    mass = np.where(edges[:-1] >= y, sf[..., :-1] - sf[..., 1:], cdf[..., 1:] - cdf[..., :-1])
    return mass / (cdf[..., -1:] - cdf[..., :1])


def reference_two_hot(y, v_min, v_max, bins):
    atoms = np.linspace(v_min, v_max, bins)
    y = float(np.clip(y, v_min, v_max))
    probs = np.zeros(bins)
    upper = min(int(np.searchsorted(atoms, y, side="right")), bins - 1)
    lower = upper - 1
    weight = (y - atoms[lower]) / (atoms[upper] - atoms[lower])
    probs[lower], probs[upper] = 1 - weight, weight
    return probs


def log_softmax_np(logits):
    shifted = logits - logits.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


# ---------------------------------------------------------------------------------------------- HL-Gauss


@pytest.mark.parametrize("y", [-7.0, -1.0, -0.999, 0.0, 0.3, 0.25, 2.0, 4.99, 5.0, 9.0, 1e6])
def test_probabilities_equal_scipys(y):
    head = HLGauss(V_MIN, V_MAX, BINS)
    probs = head.to_probs(torch.tensor(y, dtype=torch.float64)).numpy()
    assert probs.shape == (BINS,)
    np.testing.assert_allclose(probs, reference_probs(y, V_MIN, V_MAX, BINS, 0.75 * WIDTH), rtol=1e-9, atol=1e-13)


def test_far_tails_are_accurate_and_the_loss_stays_finite():
    head = HLGauss(0.0, 1.0, 10)  # sigma 0.075: the last bin is ~12 sigma from y = 0.05
    targets = np.array([0.05, 0.5, 0.95])
    probs = head.to_probs(torch.tensor(targets)).numpy()
    reference = reference_probs(targets, 0.0, 1.0, 10, 0.075)
    assert reference.min() < 1e-20  # tails that a difference of erfs rounds to 0 or to noise
    np.testing.assert_allclose(probs, reference, rtol=1e-8, atol=0)
    logits = torch.tensor(np.log(probs), requires_grad=True)
    loss = head.loss(logits, torch.tensor(targets))
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(logits.grad).all()
    # A bin without target mass adds nothing even where its logit is -inf (0 log 0 = 0).
    two_hot = TwoHot(0.0, 1.0, 3)
    masked = torch.tensor([[0.0, 0.0, -math.inf]], dtype=torch.float64)
    assert two_hot.loss(masked, torch.tensor([0.25], dtype=torch.float64)).item() == pytest.approx(math.log(2))


def test_outside_targets_are_clamped_to_the_ends():
    head = HLGauss(V_MIN, V_MAX, BINS)
    probs = head.to_probs(torch.tensor([-50.0, V_MIN, 50.0, V_MAX], dtype=torch.float64))
    assert torch.equal(probs[0], probs[1]) and torch.equal(probs[2], probs[3])
    assert probs[0].argmax() == 0 and probs[2].argmax() == BINS - 1


def test_explicit_sigma_is_used_and_the_default_is_three_quarters_of_a_bin():
    targets = np.array([0.1, 1.7, 3.3])
    wide = HLGauss(V_MIN, V_MAX, BINS, sigma=1.3)
    np.testing.assert_allclose(wide.to_probs(torch.tensor(targets)).numpy(),
                               reference_probs(targets, V_MIN, V_MAX, BINS, 1.3), rtol=1e-9, atol=1e-13)
    assert HLGauss(V_MIN, V_MAX, BINS).sigma == pytest.approx(0.375)
    assert not np.allclose(wide.to_probs(torch.tensor(targets)).numpy(),
                           HLGauss(V_MIN, V_MAX, BINS).to_probs(torch.tensor(targets)).numpy(), atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_mass_sums_to_one_and_is_non_negative_for_every_target(dtype):
    head = HLGauss(-10.0, 10.0, 51)
    targets = torch.linspace(-15.0, 15.0, 3001, dtype=dtype)
    probs = head.to_probs(targets)
    assert probs.dtype == dtype and probs.shape == (3001, 51)
    assert (probs >= 0).all()
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.allclose(probs.sum(-1), torch.ones((), dtype=dtype), atol=tolerance, rtol=0)


def test_mean_is_the_target_well_inside_the_support_and_pulled_inward_near_the_ends():
    head = HLGauss(V_MIN, V_MAX, BINS)
    sigma = head.sigma
    inside = torch.linspace(V_MIN + 6 * sigma, V_MAX - 6 * sigma, 1001, dtype=torch.float64)
    means = (head.to_probs(inside) * head.centers).sum(-1)
    assert (means - inside).abs().max().item() < 1e-4 * WIDTH  # the paper's sigma: bias ~5e-6 bin widths
    ends = torch.tensor([V_MIN, V_MAX], dtype=torch.float64)
    end_means = (head.to_probs(ends) * head.centers).sum(-1)
    # Truncation to the support biases the ends inward; the reference gives ~0.69 bin widths.
    reference = reference_probs([V_MIN, V_MAX], V_MIN, V_MAX, BINS, sigma) @ head.centers.numpy()
    np.testing.assert_allclose(end_means.numpy(), reference, rtol=1e-12)
    assert end_means[0] > V_MIN + 0.5 * WIDTH and end_means[1] < V_MAX - 0.5 * WIDTH


def test_centres_are_the_midpoints_of_the_edges():
    head = HLGauss(0.0, 10.0, 20)
    np.testing.assert_allclose(head.edges.numpy(), reference_edges(0.0, 10.0, 20), rtol=0, atol=1e-15)
    assert torch.equal(head.centers, (head.edges[:-1] + head.edges[1:]) / 2)
    assert head.centers.shape == (20,) and head.edges.shape == (21,)
    assert head.centers[0].item() == pytest.approx(0.25) and head.centers[-1].item() == pytest.approx(9.75)
    assert {name for name, _ in head.named_buffers()} == {"edges", "centers"}


@pytest.mark.parametrize("index", [0, 7, 19])
def test_peaked_logits_give_the_bin_centre_not_an_edge(index):
    head = HLGauss(0.0, 10.0, 20)
    logits = torch.full((20,), -60.0)
    logits[index] = 60.0
    value = head.from_logits(logits)
    assert value.dtype == torch.float32 and value.shape == ()
    assert value.item() == pytest.approx(0.5 * index + 0.25, abs=1e-5)  # bin i spans [0.5 i, 0.5 i + 0.5]


def test_log_of_the_target_distribution_gives_the_target_back():
    head = HLGauss(0.0, 10.0, 20)
    targets = torch.tensor([2.0, 4.1, 5.0, 6.7, 7.77], dtype=torch.float64)
    recovered = head.from_logits(head.to_probs(targets).log())
    assert torch.allclose(recovered, targets, atol=1e-4 * 0.5, rtol=0)
    # Reading the same distribution off at the left edges (a published bug) is half a bin low.
    at_edges = (head.to_probs(targets) * head.edges[:-1]).sum(-1)
    assert torch.allclose(targets - at_edges, torch.full_like(targets, 0.25), atol=1e-4)


def test_loss_is_the_reference_cross_entropy_for_a_batch():
    head = HLGauss(0.0, 1.0, 10)
    generator = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(4, 3, 10, dtype=torch.float64, generator=generator)
    targets = torch.rand(4, 3, dtype=torch.float64, generator=generator) * 1.4 - 0.2  # some outside [0, 1]
    loss = head.loss(logits, targets)
    assert loss.shape == (4, 3) and loss.dtype == torch.float64
    p = reference_probs(targets.numpy(), 0.0, 1.0, 10, 0.075)
    expected = -(p * log_softmax_np(logits.numpy())).sum(-1)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-10)


def test_loss_has_zero_gradient_and_is_minimal_at_the_log_target_distribution():
    head = HLGauss(0.0, 1.0, 10)
    targets = torch.tensor([0.42, 0.05, 0.9], dtype=torch.float64)
    best = head.to_probs(targets).log().requires_grad_(True)
    best_loss = head.loss(best, targets)
    best_loss.sum().backward()
    assert torch.allclose(best.grad, torch.zeros_like(best.grad), atol=1e-12)
    # The minimum is the entropy of the target distribution, and any other logits do worse.
    p = head.to_probs(targets)
    assert torch.allclose(best_loss.detach(), -(p * p.log()).sum(-1), rtol=1e-12)
    noise = torch.randn(3, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    perturbed = best.detach() + 0.1 * noise
    assert (head.loss(perturbed, targets) > best_loss.detach()).all()
    # Elsewhere the gradient is softmax(logits) - p, the usual cross-entropy gradient.
    logits = torch.zeros(3, 10, dtype=torch.float64, requires_grad=True)
    head.loss(logits, targets).sum().backward()
    assert torch.allclose(logits.grad, torch.full((3, 10), 0.1, dtype=torch.float64) - p, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(), (5,), (2, 3, 4)])
def test_hl_gauss_keeps_shape_and_dtype(dtype, shape):
    head = HLGauss(-2.0, 3.0, 16)
    targets = (torch.rand(shape, generator=torch.Generator().manual_seed(2)) * 6 - 2.5).to(dtype)
    probs = head.to_probs(targets)
    assert probs.shape == (*shape, 16) and probs.dtype == dtype and probs.device == targets.device
    reference = reference_probs(targets.double().numpy(), -2.0, 3.0, 16, head.sigma)
    np.testing.assert_allclose(probs.double().numpy(), reference, atol=1e-6 if dtype == torch.float32 else 1e-13)
    logits = torch.randn(*shape, 16, generator=torch.Generator().manual_seed(3)).to(dtype)
    value, loss = head.from_logits(logits), head.loss(logits, targets)
    assert value.shape == shape and value.dtype == dtype and loss.shape == shape and loss.dtype == dtype
    midpoints = torch.tensor(reference_edges(-2.0, 3.0, 16)[:-1] + 5 / 32)  # half of a 5/16 bin
    expected_value = (torch.softmax(logits.double(), -1) * midpoints).sum(-1)
    atol = 1e-5 if dtype == torch.float32 else 1e-12
    np.testing.assert_allclose(value.double().numpy(), expected_value.numpy(), atol=atol)


def test_module_conversions_move_the_buffers():
    head = HLGauss(0.0, 1.0, 8).float()
    assert head.centers.dtype == torch.float32
    assert head.to_probs(torch.tensor([0.5], dtype=torch.float64)).dtype == torch.float64
    assert "num_bins=8" in repr(head)


# ---------------------------------------------------------------------------------------------- two-hot


def test_two_hot_support_is_the_atoms_including_the_ends():
    head = TwoHot(-2.0, 2.0, 5)
    assert torch.allclose(head.centers, torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], dtype=torch.float64))
    assert head.to_probs(torch.tensor(-2.0, dtype=torch.float64)).argmax() == 0


def test_two_hot_splits_between_neighbours():
    head = TwoHot(-2.0, 2.0, 5)  # atoms -2, -1, 0, 1, 2
    probs = head.to_probs(torch.tensor([0.25, 1.0, 7.0, -1.9, -3.0], dtype=torch.float64))
    expected = torch.tensor([[0, 0, 0.75, 0.25, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0.9, 0.1, 0, 0, 0],
                             [1, 0, 0, 0, 0]], dtype=torch.float64)
    assert torch.allclose(probs, expected, atol=1e-12, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_two_hot_matches_the_reference_and_its_mean_is_the_clamped_target(dtype):
    head = TwoHot(-10.0, 10.0, 51)
    targets = torch.cat([torch.linspace(-12.0, 12.0, 997, dtype=torch.float64), head.centers]).to(dtype)
    probs = head.to_probs(targets)
    assert probs.dtype == dtype and (probs >= 0).all()
    tolerance = 5e-6 if dtype == torch.float32 else 1e-12  # float32 atoms are rounded by up to ~5e-7
    reference = np.stack([reference_two_hot(y, -10.0, 10.0, 51) for y in targets.double().numpy()])
    np.testing.assert_allclose(probs.double().numpy(), reference, atol=tolerance)
    assert ((probs > tolerance).sum(-1) <= 2).all()  # at most the two neighbours
    means = (probs * head.centers.to(dtype)).sum(-1)
    assert torch.allclose(means, targets.clamp(-10.0, 10.0), atol=10 * tolerance, rtol=0)
    assert torch.allclose(probs.sum(-1), torch.ones((), dtype=dtype), atol=tolerance, rtol=0)


def test_a_target_on_an_atom_is_one_hot():
    head = TwoHot(-10.0, 10.0, 51)
    probs = head.to_probs(head.centers)
    assert torch.allclose(probs, torch.eye(51, dtype=torch.float64), atol=1e-12, rtol=0)


@pytest.mark.parametrize("shape", [(), (3,), (2, 4)])
def test_two_hot_values_and_loss(shape):
    head = TwoHot(0.0, 4.0, 9)
    targets = torch.rand(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) * 5 - 0.5
    probs = head.to_probs(targets)
    assert probs.shape == (*shape, 9)
    assert torch.allclose(head.from_logits(probs.log()), targets.clamp(0.0, 4.0), atol=1e-12, rtol=0)
    logits = torch.randn(*shape, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    loss = head.loss(logits, targets)
    expected = -(probs.numpy() * log_softmax_np(logits.numpy())).sum(-1)
    assert loss.shape == shape
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("kwargs, pattern", [
    ({"v_min": 1.0, "v_max": 1.0}, r"v_max must be greater than v_min, got v_min=1\.0, v_max=1\.0"),
    ({"v_min": 2.0, "v_max": 1.0}, r"v_max must be greater than v_min"),
    ({"v_max": math.inf}, r"v_max must be finite, got inf"),
    ({"v_min": math.nan}, r"v_min must be finite, got nan"),
    ({"v_min": "low"}, r"v_min must be a real number, got 'low'"),
    ({"num_bins": 1}, r"num_bins must be an integer >= 2, got 1"),
    ({"num_bins": 10.5}, r"num_bins must be an integer >= 2, got 10\.5"),
    ({"num_bins": True}, r"num_bins must be an integer >= 2, got True"),
])
@pytest.mark.parametrize("cls", [HLGauss, TwoHot])
def test_bad_support_arguments(cls, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        cls(**{"v_min": 0.0, "v_max": 1.0, "num_bins": 10, **kwargs})


@pytest.mark.parametrize("sigma, pattern", [(-0.1, r"sigma must be > 0, got -0\.1"),
                                            (0.0, r"sigma must be > 0, got 0\.0"),
                                            (math.inf, r"sigma must be finite, got inf"),
                                            (math.nan, r"sigma must be finite, got nan"),
                                            ("wide", r"sigma must be a real number, got 'wide'")])
def test_bad_sigma(sigma, pattern):
    with pytest.raises(ValueError, match=pattern):
        HLGauss(0.0, 1.0, 10, sigma=sigma)


@pytest.mark.parametrize("cls", [HLGauss, TwoHot])
def test_logits_of_the_wrong_width_are_refused(cls):
    head = cls(0.0, 1.0, 10)
    pattern = r"logits must have a last dimension of size num_bins=10, got shape \(4, 9\)"
    with pytest.raises(ValueError, match=pattern):
        head.from_logits(torch.zeros(4, 9))
    with pytest.raises(ValueError, match=r"num_bins=10"):
        head.loss(torch.zeros(4, 11), torch.zeros(4))
