"""Value classification targets: HL-Gauss and two-hot.

Farebrother et al., "Stop Regressing: Training Value Functions via Classification for Scalable
Deep RL" (ICML 2024, arXiv:2403.03950): instead of regressing a scalar value with MSE, the network
outputs logits over ``m`` bins, the scalar target ``y`` is turned into a categorical distribution
over those bins and the head is trained with cross-entropy; the predicted value is the expectation
of the softmax distribution.

* :class:`HLGauss` ("histogram loss" with a Gaussian, the paper's recommended choice) spreads the
  target as ``N(y, sigma^2)`` and integrates it over each bin (Imani & White, 2018). Its support is
  a histogram: ``m`` bins of equal width between ``m + 1`` edges, and the value is read off at the
  bin *centres* (midpoints of consecutive edges). Reading it off at the edges, as one published
  snippet does, shifts every value by half a bin.
* :class:`TwoHot` (as in MuZero / DreamerV3) puts the whole target on the two support points
  (atoms) that bracket it, in proportion to closeness. Its support points are the atoms
  themselves, ``linspace(v_min, v_max, m)``, so its first and last atoms are ``v_min`` and
  ``v_max``, while HL-Gauss's first and last centres lie half a bin inside them.

Targets outside ``[v_min, v_max]`` are clamped into it for both. All methods accept any leading
batch shape and return tensors with the dtype and device of their inputs (float32 or float64).
"""

from __future__ import annotations

import math
import operator
from typing import Any

import torch
from torch import nn

__all__ = ["HLGauss", "TwoHot"]


def _finite_float(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _check_support(v_min: Any, v_max: Any, num_bins: Any) -> tuple[float, float, int]:
    """Validated ``(v_min, v_max, num_bins)``; a ValueError names the offending argument."""
    low, high = _finite_float("v_min", v_min), _finite_float("v_max", v_max)
    if not high > low:
        raise ValueError(f"v_max must be greater than v_min, got v_min={v_min!r}, v_max={v_max!r}")
    if isinstance(num_bins, bool):
        raise ValueError(f"num_bins must be an integer >= 2, got {num_bins!r}")
    try:
        bins = operator.index(num_bins)
    except TypeError:
        raise ValueError(f"num_bins must be an integer >= 2, got {num_bins!r}") from None
    if bins < 2:
        raise ValueError(f"num_bins must be an integer >= 2, got {num_bins!r}")
    return low, high, bins


def _as_float(target: torch.Tensor) -> torch.Tensor:
    """Integer or boolean targets become the default float dtype; float targets are kept."""
    target = torch.as_tensor(target)
    return target if target.is_floating_point() else target.to(torch.get_default_dtype())


def _expectation(logits: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    return (logits.softmax(-1) * support.to(dtype=logits.dtype, device=logits.device)).sum(-1)


def _cross_entropy(probs: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    # 0 log 0 = 0: bins without target mass add nothing, even where a logit is -inf.
    terms = torch.where(probs > 0, probs * logits.log_softmax(-1), torch.zeros((), dtype=logits.dtype))
    return -terms.sum(-1)


def _check_logits(logits: torch.Tensor, num_bins: int) -> None:
    if logits.dim() == 0 or logits.shape[-1] != num_bins:
        raise ValueError(f"logits must have a last dimension of size num_bins={num_bins}, "
                         f"got shape {tuple(logits.shape)}")


class HLGauss(nn.Module):
    """HL-Gauss value classification head (Farebrother et al., 2024, Section 3.1).

    ``num_bins`` bins of width ``w = (v_max - v_min) / num_bins`` cover ``[v_min, v_max]``; the
    ``num_bins + 1`` bin edges are the buffer ``edges`` and the bin centres (midpoints of
    consecutive edges) the buffer ``centers``. Both buffers are float64; every method casts them
    to the dtype and device of its input.

    A scalar target ``y``, clamped into ``[v_min, v_max]``, becomes::

        p_i = (Phi((e_{i+1} - y) / sigma) - Phi((e_i - y) / sigma)) / (Phi((e_m - y) / sigma) - Phi((e_0 - y) / sigma))

    the mass of ``N(y, sigma^2)`` on bin ``i``, renormalised over the support so it sums to 1
    (``Phi`` is the standard normal CDF). The predicted value is ``sum_i softmax(logits)_i * c_i``
    over the centres ``c_i``. The paper's default ``sigma`` is 0.75 bin widths (sigma / w = 0.75).
    Bin masses are differences of ``erf`` near ``y`` and of ``erfc`` in the tails, so far bins keep
    their tiny but nonzero mass, ``log(to_probs(y))`` stays finite and the loss cannot produce NaN.

    Well inside the support the mean of the target distribution equals ``y`` to about 1e-5 bin
    widths; within a few ``sigma`` of ``v_min`` or ``v_max`` the truncation pulls it inward (the
    mean for ``y = v_min`` is about 0.7 bin widths above ``v_min`` at the default ``sigma``).

    Args:
        v_min: lower end of the support.
        v_max: upper end of the support, greater than ``v_min``; both finite.
        num_bins: number of bins ``m`` (>= 2); the logits' last dimension.
        sigma: standard deviation of the Gaussian, finite and > 0; ``None`` means 0.75 bin widths.
    """

    edges: torch.Tensor
    centers: torch.Tensor

    def __init__(self, v_min: float, v_max: float, num_bins: int = 51, sigma: float | None = None) -> None:
        super().__init__()
        self.v_min, self.v_max, self.num_bins = _check_support(v_min, v_max, num_bins)
        self.bin_width = (self.v_max - self.v_min) / self.num_bins
        if sigma is None:
            self.sigma = 0.75 * self.bin_width
        else:
            self.sigma = _finite_float("sigma", sigma)
            if not self.sigma > 0:
                raise ValueError(f"sigma must be > 0, got {sigma!r}")
        edges = torch.linspace(self.v_min, self.v_max, self.num_bins + 1, dtype=torch.float64)
        self.register_buffer("edges", edges)
        self.register_buffer("centers", (edges[:-1] + edges[1:]) / 2)

    def extra_repr(self) -> str:
        return f"v_min={self.v_min}, v_max={self.v_max}, num_bins={self.num_bins}, sigma={self.sigma:.6g}"

    def to_probs(self, target: torch.Tensor) -> torch.Tensor:
        """Target distribution over the bins: shape ``target.shape + (num_bins,)``, sums to 1."""
        target = _as_float(target)
        edges = self.edges.to(dtype=target.dtype, device=target.device)
        y = target.clamp(self.v_min, self.v_max).unsqueeze(-1)
        # 2 (Phi(b) - Phi(a)) = erf(b / sqrt 2) - erf(a / sqrt 2); the factor 2 cancels when normalising.
        z = (edges - y) / (math.sqrt(2.0) * self.sigma)
        a, b = z[..., :-1], z[..., 1:]
        # erf saturates at +-1 a few sigma out, so a difference of erfs loses the tails (exact zeros
        # 8 sigma out in float64). Bins wholly above or below y use erfc, which stays accurate there.
        above = torch.special.erfc(a) - torch.special.erfc(b)
        below = torch.special.erfc(-b) - torch.special.erfc(-a)
        mass = torch.where(a >= 0, above, torch.where(b <= 0, below, torch.special.erf(b) - torch.special.erf(a)))
        # The bins' total is Phi(e_m) - Phi(e_0) (times 2): the Gaussian's mass on the support.
        return mass / mass.sum(-1, keepdim=True)

    def from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """Predicted value ``sum_i softmax(logits)_i * centers_i``; shape ``logits.shape[:-1]``."""
        _check_logits(logits, self.num_bins)
        return _expectation(logits, self.centers)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy ``-sum_i to_probs(target)_i * log_softmax(logits)_i`` per element.

        ``logits`` has shape ``(..., num_bins)`` and ``target`` shape ``(...)`` (broadcastable);
        nothing is reduced, so callers can weight or mask the result before averaging. The target
        distribution is a constant: gradients flow into ``logits`` only.
        """
        _check_logits(logits, self.num_bins)
        probs = self.to_probs(_as_float(target).detach().to(dtype=logits.dtype, device=logits.device))
        return _cross_entropy(probs, logits)


class TwoHot(nn.Module):
    """Two-hot value classification head (Farebrother et al., 2024, Section 3.1).

    The support is ``num_bins`` atoms ``linspace(v_min, v_max, num_bins)`` (the buffer
    ``centers``, float64, cast to the input's dtype and device on use). Unlike :class:`HLGauss`,
    whose support points are midpoints of bins, the atoms themselves are the support points, so
    the first and last ones are exactly ``v_min`` and ``v_max``.

    A target ``y``, clamped into ``[v_min, v_max]``, lies between atoms ``z_k <= y <= z_{k+1}``
    and gets ``p_k = (z_{k+1} - y) / (z_{k+1} - z_k)``, ``p_{k+1} = 1 - p_k`` and zero elsewhere,
    so the expectation of the distribution is exactly the clamped target; a target on an atom is
    one-hot.

    Args:
        v_min: first atom.
        v_max: last atom, greater than ``v_min``; both finite.
        num_bins: number of atoms ``m`` (>= 2); the logits' last dimension.
    """

    centers: torch.Tensor

    def __init__(self, v_min: float, v_max: float, num_bins: int = 51) -> None:
        super().__init__()
        self.v_min, self.v_max, self.num_bins = _check_support(v_min, v_max, num_bins)
        self.register_buffer("centers", torch.linspace(self.v_min, self.v_max, self.num_bins, dtype=torch.float64))

    def extra_repr(self) -> str:
        return f"v_min={self.v_min}, v_max={self.v_max}, num_bins={self.num_bins}"

    def to_probs(self, target: torch.Tensor) -> torch.Tensor:
        """Two-hot distribution over the atoms: shape ``target.shape + (num_bins,)``, sums to 1."""
        target = _as_float(target)
        y = target.clamp(self.v_min, self.v_max)
        position = (y - self.v_min) * ((self.num_bins - 1) / (self.v_max - self.v_min))
        index = position.floor().clamp(0, self.num_bins - 2).long().unsqueeze(-1)
        # The weight is measured from the bracketing atoms, not from ``position``, so that the
        # expectation reproduces y to rounding of y itself (``position`` carries range * eps).
        atoms = self.centers.to(dtype=y.dtype, device=y.device)
        low, high = atoms[index], atoms[index + 1]
        upper_weight = ((y.unsqueeze(-1) - low) / (high - low)).clamp(0, 1).squeeze(-1)
        probs = torch.zeros(*y.shape, self.num_bins, dtype=y.dtype, device=y.device)
        probs.scatter_(-1, index, (1 - upper_weight).unsqueeze(-1))
        probs.scatter_(-1, index + 1, upper_weight.unsqueeze(-1))
        return probs

    def from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        """Predicted value ``sum_i softmax(logits)_i * centers_i``; shape ``logits.shape[:-1]``."""
        _check_logits(logits, self.num_bins)
        return _expectation(logits, self.centers)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Cross-entropy ``-sum_i to_probs(target)_i * log_softmax(logits)_i`` per element (no reduction)."""
        _check_logits(logits, self.num_bins)
        probs = self.to_probs(_as_float(target).detach().to(dtype=logits.dtype, device=logits.device))
        return _cross_entropy(probs, logits)
