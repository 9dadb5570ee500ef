"""Value outputs of critics and Q-networks: a scalar regressed with a squared error, or a
distribution over bins trained by classification ("Stop Regressing", Farebrother et al., 2024).

A head knows how many network outputs it needs per value, how to read a value from them and
the loss against scalar targets, so PPO's critic and DQN's Q-values share one implementation.
"""

from __future__ import annotations

import torch
from torch import nn

from turborl.nn import HLGauss, TwoHot

__all__ = ["CRITICS", "ValueHead", "make_value_head"]

CRITICS = ("mse", "hl_gauss", "two_hot")


class ValueHead(nn.Module):
    """Scalar regression: one output per value."""

    outputs = 1

    def value(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.squeeze(-1)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs.squeeze(-1) - targets) ** 2


class ClassificationHead(ValueHead):
    """``bins`` logits per value; cross-entropy against the target's HL-Gauss or two-hot
    distribution (targets outside [v_min, v_max] are clamped)."""

    def __init__(self, transform: HLGauss | TwoHot, bins: int) -> None:
        super().__init__()
        self.transform = transform
        self.outputs = bins

    def value(self, outputs: torch.Tensor) -> torch.Tensor:
        return self.transform.from_logits(outputs)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.transform.loss(outputs, targets)


def make_value_head(kind: str, v_min: float, v_max: float, bins: int, sigma_in_bins: float) -> ValueHead:
    if kind == "mse":
        return ValueHead()
    if kind == "hl_gauss":
        return ClassificationHead(HLGauss(v_min, v_max, bins, sigma_in_bins * (v_max - v_min) / bins), bins)
    if kind == "two_hot":
        return ClassificationHead(TwoHot(v_min, v_max, bins), bins)
    raise ValueError(f"critic must be one of {list(CRITICS)}, got {kind!r}")
