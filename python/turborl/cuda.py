"""GPU kernels (turborl._cuda), built when nvcc is found and usable when a GPU is present.

``cuda_available()`` says whether they can run here. ``cartpole_rollout`` runs a batched
CartPole on the GPU from a ``NativeVectorEnv``'s current state, with the same physics header,
episode bookkeeping and random streams as the CPU engine. ``quadrotor_simulate`` is
``turborl.envs.quadrotor.simulate`` on the GPU: one thread per quadrotor, state in registers,
all steps in one launch. ``value_iteration_arrays`` runs the value-iteration sweeps of
``turborl.planning`` on the GPU (use ``turborl.planning.value_iteration(mdp, device="cuda")``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CartPoleRollout",
    "QuadrotorSimulation",
    "cartpole_rollout",
    "cuda_available",
    "cuda_built",
    "device_name",
    "quadrotor_simulate",
    "value_iteration_arrays",
]


def _module():
    try:
        from turborl import _cuda
    except ImportError:
        return None
    return _cuda


def cuda_built() -> bool:
    """Whether this installation was compiled with CUDA (nvcc was found at build time)."""
    return _module() is not None


def cuda_available() -> bool:
    """Whether turborl's CUDA kernels can run: compiled with CUDA and a GPU is visible."""
    module = _module()
    return module is not None and module.device_count() > 0


def device_name(device: int = 0) -> str:
    """The name of a CUDA device; raises RuntimeError without one."""
    if not cuda_available():
        raise RuntimeError("no CUDA device is available (turborl.cuda_available() is False)")
    return _module().device_name(device)


@dataclass(frozen=True)
class CartPoleRollout:
    """Result of ``cartpole_rollout`` with ``T`` steps of ``N`` envs.

    Attributes:
        obs: float32 ``[T, N, 4]`` observations after each step (``None`` if ``record=False``).
        rewards: float64 ``[T, N]`` (``None`` if ``record=False``).
        terminated, truncated: bool ``[T, N]`` (``None`` if ``record=False``).
        final_state: the envs' state after the rollout, in ``NativeVectorEnv.get_state()``'s
            format (pass it to ``set_state`` to continue on the CPU).
        kernel_seconds: GPU time of the kernel alone (no transfers).
    """

    obs: np.ndarray | None
    rewards: np.ndarray | None
    terminated: np.ndarray | None
    truncated: np.ndarray | None
    final_state: dict[str, np.ndarray]
    kernel_seconds: float


def cartpole_rollout(
    env: Any,
    actions: np.ndarray | None = None,
    *,
    num_steps: int | None = None,
    action_seed: int = 0,
    record: bool = True,
) -> CartPoleRollout:
    """Steps a copy of a CartPole ``NativeVectorEnv`` on the GPU; ``env`` itself is unchanged.

    Args:
        env: a ``make_vec("CartPole-v1", ...)`` env in ``next_step`` autoreset mode whose envs
            share one set of parameters.
        actions: int ``[T, N]`` of 0/1, or ``None`` to draw uniform actions on the GPU from
            ``action_seed`` (then ``num_steps`` gives ``T``); the latter measures throughput.
        record: keep per-step outputs (``T * N * 45`` bytes on the GPU); ``False`` keeps only
            the final state.

    The same actions from the same state give the CPU env's trajectory: bit for bit in float32
    (same operations, no FMA contraction), and up to CUDA's sin/cos rounding in float64.
    """
    from turborl import _checks
    from turborl.envs.vector_env import NativeVectorEnv

    if not isinstance(env, NativeVectorEnv) or env.native_spec.id != "CartPole-v1":
        raise TypeError(f"env must be a CartPole-v1 NativeVectorEnv, got {env!r}")
    if env.metadata["autoreset_mode"].name != "NEXT_STEP":
        raise ValueError("cartpole_rollout supports autoreset_mode='next_step' only")
    params = env.get_params()
    if not all(np.all(column == column[0]) for column in params.values()):
        raise ValueError("cartpole_rollout needs the same parameters in every env (set_params made them differ)")
    if not cuda_available():
        raise RuntimeError("no CUDA device is available (turborl.cuda_available() is False)")

    if actions is not None:
        actions = np.asarray(actions)
        if actions.dtype.kind not in "iu" or actions.ndim != 2 or actions.shape[1] != env.num_envs:
            raise ValueError(
                f"actions must be integers of shape (num_steps, {env.num_envs}), got {actions.dtype} {actions.shape}"
            )
        actions = np.ascontiguousarray(actions, dtype=np.int64)
        num_steps = actions.shape[0]
    elif num_steps is None:
        raise ValueError("num_steps is required when actions is None")
    num_steps = _checks.int_at_least("num_steps", num_steps, 0)

    state = env.get_state()
    state_columns = np.ascontiguousarray(state["state"].T)
    param_vector = np.array([params[name][0] for name in env.param_names], dtype=np.float64)
    run = getattr(_module(), f"cartpole_rollout_{env.dtype}")
    out = run(
        state_columns, state["elapsed_steps"], state["episode_return"], state["episode_length"],
        state["needs_reset"], state["env_seed"], state["episode_index"], actions, num_steps,
        _checks.seed("action_seed", action_seed), param_vector, env.max_episode_steps, bool(record),
    )  # fmt: skip
    state["state"] = np.ascontiguousarray(state_columns.T)
    return CartPoleRollout(
        obs=out.get("obs"),
        rewards=out.get("rewards"),
        terminated=out.get("terminated"),
        truncated=out.get("truncated"),
        final_state=state,
        kernel_seconds=float(out["kernel_seconds"]),
    )


@dataclass(frozen=True)
class QuadrotorSimulation:
    """Result of ``quadrotor_simulate``: the new states ``[N, 23]`` and the kernel's GPU seconds."""

    states: np.ndarray
    kernel_seconds: float


def quadrotor_simulate(states: Any, actions: Any, steps: Any, *, dt: Any = 0.01, **overrides: Any) -> QuadrotorSimulation:
    """``turborl.envs.quadrotor.simulate`` on the GPU (same arguments, no ``num_threads``).

    float32 results equal the CPU's bit for bit (same header, no FMA contraction on either side,
    IEEE division and sqrt); float64 too. ``kernel_seconds`` excludes the transfers.
    """
    from turborl.envs.quadrotor import simulate_arguments

    columns, setpoints, steps, frame, dt = simulate_arguments(states, actions, steps, dt, overrides)
    if not cuda_available():
        raise RuntimeError("no CUDA device is available (turborl.cuda_available() is False)")
    run = getattr(_module(), f"quadrotor_simulate_{columns.dtype.name}")
    seconds = run(columns, setpoints, steps, frame, dt)
    return QuadrotorSimulation(states=np.ascontiguousarray(columns.T), kernel_seconds=float(seconds))


def value_iteration_arrays(mdp: Any, *, kind: int, policy: np.ndarray | None, tol: float, max_sweeps: int
                           ) -> tuple[np.ndarray, np.ndarray, int, float, float]:
    """The GPU sweeps behind ``turborl.planning.value_iteration(mdp, device="cuda")``: one thread
    per state, the CPU's update from the same header. Returns ``(q, v, sweeps, residual,
    kernel_seconds)`` with ``q`` ``[S, A]`` or ``[T, S, A]`` (all states, reachable or not)."""
    if not cuda_available():
        raise RuntimeError("no CUDA device is available (turborl.cuda_available() is False)")
    terminal = mdp._terminal
    q, v, sweeps, residual, seconds = _module().value_iteration(
        mdp.num_states, mdp.num_actions, mdp._next, mdp._offsets, mdp._probs, mdp._rewards.reshape(-1),
        None if terminal is None else terminal.view(np.uint8), mdp.gamma, tol, max_sweeps, mdp.horizon or 0, kind,
        policy)
    steps = () if mdp.horizon is None else (mdp.horizon,)
    return (q.reshape(*steps, mdp.num_states, mdp.num_actions), v.reshape(*steps, mdp.num_states), int(sweeps),
            float(residual), float(seconds))
