"""Schedules over training progress (SB3's ``lin_`` learning rates and exploration)."""

from __future__ import annotations

__all__ = ["linear"]


def linear(start: float, end: float, fraction: float, progress: float) -> float:
    """``start`` -> ``end`` over the first ``fraction`` of training, then ``end``.

    ``progress`` is the fraction of training done, in [0, 1] (SB3's ``1 - progress_remaining``).
    """
    if fraction <= 0.0:
        return end
    return start + (end - start) * min(1.0, progress / fraction)
