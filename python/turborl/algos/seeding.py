"""One seed for everything, and the random states a checkpoint must carry."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["get_rng_states", "seed_everything", "set_rng_states"]


def seed_everything(seed: int, torch_threads: int = 1) -> np.random.Generator:
    """Seeds Python's, NumPy's global and torch's generators, fixes torch's thread count (results
    depend on it through reduction order) and returns a NumPy Generator for the algorithm."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.set_num_threads(torch_threads)
    return np.random.default_rng(seed)


def get_rng_states(rng: np.random.Generator) -> dict[str, Any]:
    return {"python": random.getstate(), "numpy_global": np.random.get_state(), "torch": torch.get_rng_state(),
            "generator": rng.bit_generator.state}


def set_rng_states(states: dict[str, Any], rng: np.random.Generator) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy_global"])
    torch.set_rng_state(states["torch"])
    rng.bit_generator.state = states["generator"]
