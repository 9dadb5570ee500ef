"""Running observation and reward normalisation: SB3's VecNormalize and CleanRL's wrappers (batched,
Chan et al.'s parallel mean/variance formula), and stream-x's one-sample-at-a-time normalisers
(Welford's algorithm, as the authors' normalization_wrappers.py).

Statistics are float64 NumPy arrays; ``state_dict``/``load_state_dict`` carry them through
checkpoints and saved policies.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["ObservationNormalizer", "RewardNormalizer", "RunningMeanStd", "SampleMeanStd", "StreamObservationNormalizer",
           "StreamRewardScaler"]


class RunningMeanStd:
    """Mean and variance of everything seen so far (count starts at ``epsilon``, as SB3)."""

    def __init__(self, shape: tuple[int, ...] = (), epsilon: float = 1e-4) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.var = np.ones(shape, np.float64)
        self.count = float(epsilon)

    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, dtype=np.float64)
        batch_mean, batch_var, batch_count = batch.mean(axis=0), batch.var(axis=0), batch.shape[0]
        delta = batch_mean - self.mean
        total = self.count + batch_count
        self.mean = self.mean + delta * batch_count / total
        m2 = self.var * self.count + batch_var * batch_count + delta**2 * self.count * batch_count / total
        self.var = m2 / total
        self.count = total

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        mean, var = np.asarray(state["mean"], np.float64), np.asarray(state["var"], np.float64)
        if mean.shape != self.mean.shape or var.shape != self.var.shape:
            raise ValueError(f"normaliser statistics of shape {mean.shape} do not fit {self.mean.shape}")
        self.mean, self.var, self.count = mean.copy(), var.copy(), float(state["count"])


class ObservationNormalizer:
    """``clip((obs - mean) / sqrt(var + eps), -clip, clip)`` with running statistics."""

    def __init__(self, shape: tuple[int, ...], clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.stats = RunningMeanStd(shape)
        self.clip, self.epsilon = clip, epsilon

    def __call__(self, obs: np.ndarray, update: bool = False) -> np.ndarray:
        if update:
            self.stats.update(obs)
        scaled = (obs - self.stats.mean) / np.sqrt(self.stats.var + self.epsilon)
        return np.clip(scaled, -self.clip, self.clip).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {"stats": self.stats.state_dict(), "clip": self.clip, "epsilon": self.epsilon}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stats.load_state_dict(state["stats"])
        self.clip, self.epsilon = float(state["clip"]), float(state["epsilon"])


class RewardNormalizer:
    """Scales rewards by the running standard deviation of the discounted return (SB3's
    VecNormalize(norm_reward=True)): the return accumulator restarts where episodes end."""

    def __init__(self, num_envs: int, gamma: float, clip: float = 10.0, epsilon: float = 1e-8) -> None:
        self.stats = RunningMeanStd(())
        self.returns = np.zeros(num_envs, np.float64)
        self.gamma, self.clip, self.epsilon = gamma, clip, epsilon

    def __call__(self, rewards: np.ndarray, dones: np.ndarray) -> np.ndarray:
        self.returns = self.returns * self.gamma + rewards
        self.stats.update(self.returns)
        self.returns[dones] = 0.0
        return np.clip(rewards / np.sqrt(self.stats.var + self.epsilon), -self.clip, self.clip)

    def state_dict(self) -> dict[str, Any]:
        return {"stats": self.stats.state_dict(), "returns": self.returns.copy()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stats.load_state_dict(state["stats"])
        self.returns = np.asarray(state["returns"], np.float64).copy()


class SampleMeanStd:
    """Welford's running mean and sample variance of single samples (stream-x's ``SampleMeanStd``):
    the first sample sets the mean; the variance is ``M2 / (n - 1)``, and 1 until two samples."""

    def __init__(self, shape: tuple[int, ...] = ()) -> None:
        self.mean = np.zeros(shape, np.float64)
        self.m2 = np.zeros(shape, np.float64)
        self.count = 0

    @property
    def var(self) -> np.ndarray:
        return self.m2 / (self.count - 1) if self.count >= 2 else np.ones_like(self.mean)

    def update(self, sample: np.ndarray) -> None:
        sample = np.asarray(sample, np.float64)
        if sample.shape != self.mean.shape:
            raise ValueError(f"sample must have shape {self.mean.shape}, got {sample.shape}")
        self.count += 1
        delta = sample - self.mean
        self.mean = self.mean + delta / self.count
        self.m2 = self.m2 + delta * (sample - self.mean)

    def state_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.copy(), "m2": self.m2.copy(), "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        mean, m2 = np.asarray(state["mean"], np.float64), np.asarray(state["m2"], np.float64)
        if mean.shape != self.mean.shape or m2.shape != self.mean.shape:
            raise ValueError(f"normaliser statistics of shape {mean.shape} do not fit {self.mean.shape}")
        self.mean, self.m2, self.count = mean.copy(), m2.copy(), int(state["count"])


class StreamObservationNormalizer:
    """stream-x's observation normalisation: ``(obs - mean) / sqrt(var + eps)``; with
    ``update=True`` the single observation joins the statistics first (as the authors' wrapper)."""

    def __init__(self, shape: tuple[int, ...], epsilon: float = 1e-8) -> None:
        self.stats = SampleMeanStd(shape)
        self.epsilon = epsilon

    def __call__(self, obs: np.ndarray, update: bool = False) -> np.ndarray:
        if update:
            self.stats.update(obs)
        return ((obs - self.stats.mean) / np.sqrt(self.stats.var + self.epsilon)).astype(np.float32)

    def state_dict(self) -> dict[str, Any]:
        return {"stats": self.stats.state_dict(), "epsilon": self.epsilon}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stats.load_state_dict(state["stats"])
        self.epsilon = float(state["epsilon"])


class StreamRewardScaler:
    """stream-x's reward scaling: ``r / sqrt(var(trace) + eps)`` where the discounted return trace
    ``trace <- gamma * (1 - done) * trace + r`` joins the statistics before scaling (the authors'
    ScaleReward: ``done`` is this step's end of episode, so an ending step's trace is its reward)."""

    def __init__(self, gamma: float, epsilon: float = 1e-8) -> None:
        self.stats = SampleMeanStd(())
        self.trace = 0.0
        self.gamma, self.epsilon = gamma, epsilon

    def __call__(self, reward: float, done: bool) -> float:
        self.trace = self.trace * self.gamma * (1.0 - float(done)) + float(reward)
        self.stats.update(np.float64(self.trace))
        return float(reward / np.sqrt(self.stats.var + self.epsilon))

    def state_dict(self) -> dict[str, Any]:
        return {"stats": self.stats.state_dict(), "trace": self.trace}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stats.load_state_dict(state["stats"])
        self.trace = float(state["trace"])
