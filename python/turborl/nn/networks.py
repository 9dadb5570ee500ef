"""Networks for vector and image observations (CleanRL's and SB3's defaults)."""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn

__all__ = ["MLP", "NatureCNN", "StreamMLP", "orthogonal_init", "sparse_init_"]

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


def sparse_init_(weight: torch.Tensor, sparsity: float = 0.9, generator: torch.Generator | None = None) -> torch.Tensor:
    """Sparse initialisation of a Linear weight [out, in] ("Streaming Deep Reinforcement Learning
    Finally Works", Elsayed, Vasan & Mahmood, 2024): uniform in +-1/sqrt(fan_in), then
    ``ceil(sparsity * fan_in)`` of each output unit's inputs, chosen at random, set to zero."""
    if weight.dim() != 2:
        raise ValueError(f"sparse_init_ takes a Linear weight [out, in], got shape {tuple(weight.shape)}")
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity}")
    fan_out, fan_in = weight.shape
    zeros = math.ceil(sparsity * fan_in)
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        weight.uniform_(-bound, bound, generator=generator)
        for unit in range(fan_out):
            weight[unit, torch.randperm(fan_in, generator=generator)[:zeros]] = 0.0
    return weight


class StreamMLP(nn.Sequential):
    """stream-x's network (Elsayed et al., 2024): ``Linear -> LayerNorm -> LeakyReLU`` per hidden
    layer (LayerNorm without learned scale or shift), a linear output, sparse initialisation
    (``sparsity`` of each unit's inputs zero) and zero biases."""

    def __init__(self, in_features: int, out_features: int, hidden_sizes: Sequence[int] = (128, 128),
                 sparsity: float = 0.9, layer_norm: bool = True) -> None:
        layers: list[nn.Module] = []
        width = in_features
        for hidden in hidden_sizes:
            layers.append(nn.Linear(width, hidden))
            if layer_norm:
                layers.append(nn.LayerNorm(hidden, elementwise_affine=False))
            layers.append(nn.LeakyReLU())
            width = hidden
        layers.append(nn.Linear(width, out_features))
        super().__init__(*layers)
        for layer in self:
            if isinstance(layer, nn.Linear):
                sparse_init_(layer.weight, sparsity)
                nn.init.zeros_(layer.bias)
