"""Batched simulators in C++ behind Gymnasium's VectorEnv API.

>>> import turborl
>>> envs = turborl.envs.make_vec("CartPole-v1", num_envs=1024, seed=0, dtype="float32", copy=False)
"""

from turborl.envs.registry import NativeEnvSpec, ParamSpec, env_spec, make_vec, registered_ids
from turborl.envs.vector_env import NativeVectorEnv

__all__ = ["NativeEnvSpec", "NativeVectorEnv", "ParamSpec", "env_spec", "make_vec", "registered_ids"]
