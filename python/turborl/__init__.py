"""turborl: reinforcement learning with a C++ core (and CUDA where a GPU exists).

Subpackages mirror the C++ topics: ``turborl.envs`` (batched simulators with Gymnasium's
VectorEnv API), ``turborl.replay`` (replay buffers) and ``turborl.cuda`` (GPU kernels). torch is
optional for everything here.
"""

from turborl import envs, eval, replay  # noqa: A004 (turborl.eval is a subpackage)
from turborl.cuda import cuda_available

__version__ = "0.1.0"

__all__ = ["__version__", "cuda_available", "envs", "eval", "replay"]
