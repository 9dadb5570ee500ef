"""Replay buffers in C++: uniform and prioritized, n-step targets at sample time, fed straight
from vector envs, thread-safe, saved atomically.

>>> buffer = turborl.replay.ReplayBuffer(1_000_000, turborl.replay.spec_from_env(envs), num_envs=envs.num_envs)
"""

from turborl.replay.buffer import PrioritizedReplayBuffer, ReplayBatch, ReplayBuffer
from turborl.replay.spec import FieldSpec, spec_from_env

__all__ = ["FieldSpec", "PrioritizedReplayBuffer", "ReplayBatch", "ReplayBuffer", "spec_from_env"]
