"""Networks for vector and image observations (CleanRL's and SB3's defaults)."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

__all__ = ["MLP", "NatureCNN", "orthogonal_init"]

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}


def orthogonal_init(layer: nn.Module, gain: float = math.sqrt(2), bias: float = 0.0) -> nn.Module:
    """Orthogonal weights and constant biases (the PPO implementation detail CleanRL and SB3 use).

    The QR factorisation runs on one thread: LAPACK's result differs in the last bits with the
    thread count, and a run must not depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        nn.init.orthogonal_(layer.weight, gain)
    finally:
        torch.set_num_threads(threads)
    nn.init.constant_(layer.bias, bias)
    return layer


class MLP(nn.Sequential):
    """``in -> hidden... -> out`` with ``activation`` between layers and a linear output.

    ``output_gain`` scales the orthogonal initialisation of the last layer (0.01 for policy
    logits, 1 for values, as CleanRL); ``orthogonal=False`` keeps torch's default init (SB3's DQN).
    """

    def __init__(self, in_features: int, out_features: int, hidden_sizes: Sequence[int] = (64, 64),
                 activation: str = "tanh", output_gain: float = 1.0, orthogonal: bool = True) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        layers: list[nn.Module] = []
        width = in_features
        for hidden in hidden_sizes:
            linear = nn.Linear(width, hidden)
            layers += [orthogonal_init(linear) if orthogonal else linear, ACTIVATIONS[activation]()]
            width = hidden
        last = nn.Linear(width, out_features)
        layers.append(orthogonal_init(last, output_gain) if orthogonal else last)
        super().__init__(*layers)


class NatureCNN(nn.Module):
    """The DQN paper's encoder (Mnih et al., 2015) for uint8 images ``[N, C, H, W]``, scaled to
    [0, 1], then a linear layer of ``features`` units."""

    def __init__(self, observation_shape: Sequence[int], features: int = 512) -> None:
        super().__init__()
        channels = observation_shape[0]
        self.conv = nn.Sequential(
            orthogonal_init(nn.Conv2d(channels, 32, 8, stride=4)), nn.ReLU(),
            orthogonal_init(nn.Conv2d(32, 64, 4, stride=2)), nn.ReLU(),
            orthogonal_init(nn.Conv2d(64, 64, 3, stride=1)), nn.ReLU(), nn.Flatten())
        with torch.no_grad():
            flat = self.conv(torch.zeros(1, *observation_shape)).shape[1]
        self.head = nn.Sequential(orthogonal_init(nn.Linear(flat, features)), nn.ReLU())
        self.out_features = features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(images.float() / 255.0))
