"""Torch building blocks for turborl's training algorithms: networks, normalisers, value heads,
and (turborl.nn.native) the bridge to the C++ small-network engine that trains them natively.

torch is optional for turborl; this package needs it (``pip install torch==2.13.0`` for the CPU
build, then ``pip install turborl[train]``).
"""

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in an env without torch
    raise ImportError("turborl.nn needs PyTorch: pip install torch==2.13.0 (CPU build), then "
                      "pip install 'turborl[train]'") from error

from turborl.nn.hl_gauss import HLGauss, TwoHot
from turborl.nn.networks import MLP, NatureCNN, StreamMLP, orthogonal_init, sparse_init_
from turborl.nn.normalization import (ObservationNormalizer, RewardNormalizer, RunningMeanStd, SampleMeanStd,
                                      StreamObservationNormalizer, StreamRewardScaler)

__all__ = ["HLGauss", "MLP", "NatureCNN", "ObservationNormalizer", "RewardNormalizer", "RunningMeanStd",
           "SampleMeanStd", "StreamMLP", "StreamObservationNormalizer", "StreamRewardScaler", "TwoHot",
           "orthogonal_init", "sparse_init_"]
