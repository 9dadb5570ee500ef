"""The "Learning to Fly in Seconds" quadrotor (L2F): helpers beside ``make_vec("Quadrotor-L2F-v0")``.

Eschmann, Albani & Loianno, "Learning to Fly in Seconds", RA-L 2024: a Crazyflie 2.1 hover policy
trained with TD3 in seconds, on a simulator fast enough for "months of flight per second". The
dynamics (``cpp/include/turborl/quadrotor/dynamics.hpp``) are the paper's: rigid body with
quaternion attitude, quadratic rotor thrust, yaw reaction torque, first-order motor lag, RK4 at
``dt = 0.01`` s, quaternion renormalisation and rpm clamping. The MDP (observation of 146 values
with a 32-step action history and sensor noise, a 28-value noise-free critic observation,
per-episode force and torque disturbances, the squared hover reward) is documented in
``turborl.envs.make_vec`` and ``cpp/include/turborl/envs/quadrotor_l2f.hpp``; every number in it
is a parameter (``NativeVectorEnv.set_params``), per env.

This module adds:

- ``simulate(states, actions, steps)``: the raw dynamics for throughput work, with no Python per
  step (vectorised over envs with AVX2/AVX-512, threads over blocks of envs);
- ``hover_rpm`` / ``hover_action``: the equilibrium rotor speed for an airframe (14,476 rpm for
  the Crazyflie);
- ``hover_reward``: the L2F reward recomputed from critic observations and actions (what the
  paper's curriculum does to the replay buffer when it changes the reward weights);
- ``evaluate_hover`` / ``plot_hover``: the paper's evaluation of a hover policy (position error and
  episode length from random starts) and a trajectory plot.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from turborl import _checks, _core
from turborl.envs.registry import env_spec

__all__ = [
    "AIRFRAME_PARAMS",
    "ENV_ID",
    "SIMULATE_STATE_NAMES",
    "HoverReport",
    "airframe",
    "evaluate_hover",
    "hover_action",
    "hover_reward",
    "hover_rpm",
    "plot_hover",
    "simulate",
    "write_hover_report",
]

ENV_ID = "Quadrotor-L2F-v0"
# The parameters that describe the airframe, in the order of quadrotor::Airframe.
AIRFRAME_PARAMS = (
    "mass", "gravity", "inertia_xx", "inertia_yy", "inertia_zz", "thrust_c0", "thrust_c1", "thrust_c2",
    "torque_constant", "motor_time_constant", "rpm_min", "rpm_max", "arm_x", "arm_y",
)  # fmt: skip
# Columns of simulate()'s states: the rigid body (position, quaternion w x y z, linear velocity,
# angular velocity, four rpm) and the disturbance (force, torque): the env's first 23 state columns.
SIMULATE_STATE_NAMES = env_spec(ENV_ID).state_names[: _core.quadrotor_simulate_state_dim]


def _defaults() -> dict[str, float]:
    return {p.name: p.default for p in env_spec(ENV_ID).params}


def airframe(**overrides: Any) -> dict[str, float]:
    """The Crazyflie 2.1 airframe parameters (``AIRFRAME_PARAMS``) with ``overrides`` applied."""
    defaults = _defaults()
    values = {name: defaults[name] for name in AIRFRAME_PARAMS}
    for name, value in overrides.items():
        if name not in values:
            raise TypeError(f"{name!r} is not an airframe parameter; they are: {', '.join(AIRFRAME_PARAMS)}")
        values[name] = _checks.finite_float(name, value)
    for name in ("mass", "inertia_xx", "inertia_yy", "inertia_zz", "motor_time_constant", "rpm_max"):
        if not values[name] > 0:
            raise ValueError(f"{name} must be positive, got {values[name]}")
    if not values["rpm_min"] < values["rpm_max"]:
        raise ValueError(f"rpm_min must be below rpm_max, got rpm_min={values['rpm_min']}, rpm_max={values['rpm_max']}")
    return values


def hover_rpm(**overrides: Any) -> float:
    """The rotor speed at which four rotors carry the airframe's weight: c0 + c1 r + c2 r^2 = m g / 4."""
    a = airframe(**overrides)
    c0 = a["thrust_c0"] - a["mass"] * a["gravity"] / 4.0
    if a["thrust_c2"] == 0.0:
        if a["thrust_c1"] == 0.0:
            raise ValueError("thrust_c1 and thrust_c2 are both 0: no rotor speed produces thrust")
        return -c0 / a["thrust_c1"]
    disc = a["thrust_c1"] ** 2 - 4.0 * a["thrust_c2"] * c0
    if disc < 0:
        raise ValueError("the thrust curve never reaches the weight: no hover rotor speed exists")
    return (-a["thrust_c1"] + math.sqrt(disc)) / (2.0 * a["thrust_c2"])


def hover_action(**overrides: Any) -> float:
    """``hover_rpm`` as a normalised action in [-1, 1] (0.334 for the Crazyflie, L2F's action baseline)."""
    a = airframe(**overrides)
    return (hover_rpm(**overrides) - a["rpm_min"]) / (a["rpm_max"] - a["rpm_min"]) * 2.0 - 1.0


def simulate(
    states: Any, actions: Any, steps: Any, *, dt: Any = 0.01, num_threads: Any = 1, **overrides: Any
) -> np.ndarray:
    """Integrates ``N`` quadrotors for ``steps`` steps with held rotor set-points; returns the new states.

    Args:
        states: float32 or float64 ``[N, 23]`` in ``SIMULATE_STATE_NAMES`` order (the dtype picks
            the precision); quaternions need not be normalised (the first step renormalises).
        actions: ``[N, 4]`` normalised set-points in [-1, 1] (clamped), held for all steps.
        steps: number of RK4 steps of ``dt`` seconds.
        num_threads: threads over blocks of 64 envs; the result does not depend on it.
        **overrides: airframe parameters (``AIRFRAME_PARAMS``), shared by all envs.

    One step is exactly the vector env's step of the same state and action (without the
    observation, reward and termination), bit for bit in float32 and float64.
    """
    columns, setpoints, steps, frame, dt = simulate_arguments(states, actions, steps, dt, overrides)
    threads = _checks.num_threads(num_threads)
    kernel = _core.quadrotor_simulate_float32 if columns.dtype == np.float32 else _core.quadrotor_simulate_float64
    kernel(columns, setpoints, steps, frame, dt, threads)
    return np.ascontiguousarray(columns.T)


def simulate_arguments(
    states: Any, actions: Any, steps: Any, dt: Any, overrides: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, float]:
    """Checks ``simulate``'s arguments (shared with ``turborl.cuda.quadrotor_simulate``).

    Returns the state columns ``[23, N]`` (a fresh array the kernels step in place), the
    set-points ``[N, 4]`` float32, ``steps``, the airframe vector (``AIRFRAME_PARAMS`` order) and ``dt``.
    """
    states = np.asarray(states)
    if states.dtype not in (np.float32, np.float64):
        raise TypeError(f"states must be float32 or float64 (it selects the precision), got dtype {states.dtype}")
    width = len(SIMULATE_STATE_NAMES)
    if states.ndim != 2 or states.shape[1] != width:
        raise ValueError(f"states must have shape (N, {width}), got {states.shape}")
    if states.shape[0] < 1:
        raise ValueError("states must hold at least one env, got 0 rows")
    states = _checks.finite_array("states", states, states.dtype)
    n = states.shape[0]
    actions = _checks.finite_array("actions", actions, np.float32)
    if actions.shape != (n, 4):
        raise ValueError(f"actions must have shape ({n}, 4), got {actions.shape}")
    steps = _checks.int_at_least("steps", steps, 0)
    dt = _checks.finite_float("dt", dt)
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    frame = airframe(**overrides)
    vector = np.array([frame[name] for name in AIRFRAME_PARAMS], dtype=np.float64)
    return np.ascontiguousarray(states.T), np.ascontiguousarray(actions), steps, vector, dt


# Critic-observation layout (the env's observe_critic): position 0:3, rotation matrix 3:12
# (row-major, so its trace is entries 3, 7, 11), linear velocity 12:15, angular velocity 15:18.
_CRITIC_POSITION = slice(0, 3)
_CRITIC_TRACE = (3, 7, 11)
_CRITIC_LINEAR_VELOCITY = slice(12, 15)
_CRITIC_ANGULAR_VELOCITY = slice(15, 18)


def hover_reward(
    critic_obs: Any,
    actions: Any,
    terminated: Any,
    *,
    position_weight: float = 5.0,
    orientation_weight: float = 5.0,
    linear_velocity_weight: float = 0.01,
    angular_velocity_weight: float = 0.0,
    action_weight: float = 0.01,
    action_baseline: float = 0.334,
    reward_scale: float = 0.5,
    reward_constant: float = 2.0,
    termination_penalty: float = 0.0,
) -> np.ndarray:
    """Quadrotor-L2F-v0's reward of transitions, from the critic observation *before* each step.

    ``critic_obs`` ``[B, 28]``, ``actions`` ``[B, 4]`` and ``terminated`` ``[B]``; the weights
    are the env parameters of the same names. ``1 - qw^2`` comes from the rotation matrix's trace
    (``qw^2 = (1 + trace) / 4``). Returns float64 ``[B]``; agrees with the env's rewards to float32
    rounding of the observation. The paper's curriculum raises the weights every 100k steps and
    recomputes the replay buffer's rewards with this.
    """
    obs = np.asarray(critic_obs, dtype=np.float64)
    act = np.clip(np.asarray(actions, dtype=np.float64), -1.0, 1.0)
    done = np.asarray(terminated, dtype=bool)
    if obs.ndim != 2 or obs.shape[1] != 28:
        raise ValueError(f"critic_obs must have shape (B, 28), got {obs.shape}")
    if act.shape != (obs.shape[0], 4):
        raise ValueError(f"actions must have shape ({obs.shape[0]}, 4), got {act.shape}")
    if done.shape != (obs.shape[0],):
        raise ValueError(f"terminated must have shape ({obs.shape[0]},), got {done.shape}")
    trace = obs[:, _CRITIC_TRACE[0]] + obs[:, _CRITIC_TRACE[1]] + obs[:, _CRITIC_TRACE[2]]
    cost = (
        position_weight * np.sum(obs[:, _CRITIC_POSITION] ** 2, axis=1)
        + orientation_weight * (1.0 - (1.0 + trace) / 4.0)
        + linear_velocity_weight * np.sum(obs[:, _CRITIC_LINEAR_VELOCITY] ** 2, axis=1)
        + angular_velocity_weight * np.sum(obs[:, _CRITIC_ANGULAR_VELOCITY] ** 2, axis=1)
        + action_weight * np.sum((act - action_baseline) ** 2, axis=1)
    )
    return np.where(done, termination_penalty, reward_constant - reward_scale * cost)


@dataclasses.dataclass(frozen=True)
class HoverReport:
    """What ``evaluate_hover`` measured over ``episodes`` episodes from the env's random starts.

    The metrics are those of the L2F code's validation (learning-to-fly
    include/learning_to_fly/simulator/metrics.h):

    Attributes:
        episode_length: mean steps per episode (500 = never left the 0.6 m box).
        full_length_fraction: fraction of episodes that lasted all steps (1 - TerminatedFraction).
        settled_fraction: fraction that lasted all steps and ended within ``settle_radius`` of the
            origin (SettlingFractionPosition, 0.2 m there).
        final_position_error: mean final distance to the origin [m] of the full-length episodes.
        position_error: mean distance to the origin [m] over the second half of the full-length
            episodes (NaN if none lasted).
        success: ``settled_fraction >= min_settled_fraction`` (0.9 by default): the policy hovers.
        trajectory: positions ``[steps + 1, 3]`` of episode 0 (truncated where it ended), for plots.
    """

    episodes: int
    episode_length: float
    full_length_fraction: float
    settled_fraction: float
    final_position_error: float
    position_error: float
    settle_radius: float
    min_settled_fraction: float
    success: bool
    trajectory: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["trajectory"] = self.trajectory.tolist()
        return values


def evaluate_hover(policy: Any, *, episodes: int = 100, seed: int = 1_000_000, settle_radius: float = 0.2,
                   min_settled_fraction: float = 0.9, num_threads: int = 1, **env_params: Any) -> HoverReport:
    """Flies ``policy`` (``turborl.load_policy``'s, or anything with ``act(obs) -> actions``) for
    ``episodes`` episodes of Quadrotor-L2F-v0 from the env's random starts, in one batch.

    Errors are measured on the true (noise-free) position. ``env_params`` override the env's
    parameters (e.g. a heavier airframe, to test robustness).
    """
    from turborl.envs.registry import make_vec

    episodes = _checks.int_at_least("episodes", episodes, 1)
    settle_radius = _checks.finite_float("settle_radius", settle_radius)
    min_settled_fraction = _checks.finite_float("min_settled_fraction", min_settled_fraction)
    envs = make_vec(ENV_ID, episodes, seed=_checks.seed("seed", seed), dtype="float32", autoreset_mode="disabled",
                    num_threads=num_threads, **env_params)
    obs, info = envs.reset()
    limit = envs.max_episode_steps
    alive = np.ones(episodes, dtype=bool)
    lengths = np.zeros(episodes, dtype=np.int64)
    error_sum = np.zeros(episodes)
    distance = np.zeros(episodes)
    trajectory = [info["critic_obs"][0, 0:3].copy()]
    for t in range(limit):
        actions = np.asarray(policy.act(obs), dtype=np.float32)
        # Finished episodes are not stepped again (autoreset is disabled): step the live ones by
        # giving the finished ones a reset, whose outcome is ignored.
        if not alive.all():
            envs.reset(options={"reset_mask": ~alive})
        obs, _, terminated, truncated, info = envs.step(actions)
        distance = np.where(alive, np.linalg.norm(info["critic_obs"][:, 0:3], axis=1), distance)
        lengths += alive
        if t >= limit // 2:
            error_sum += np.where(alive, distance, 0.0)
        if alive[0]:
            trajectory.append(info["critic_obs"][0, 0:3].copy())
        alive &= ~(terminated | truncated)
    envs.close()
    full = lengths == limit
    error = float(np.mean(error_sum[full] / (limit - limit // 2))) if full.any() else float("nan")
    final_error = float(np.mean(distance[full])) if full.any() else float("nan")
    settled = float(np.mean(full & (distance < settle_radius)))
    return HoverReport(episodes=episodes, episode_length=float(lengths.mean()), full_length_fraction=float(full.mean()),
                       settled_fraction=settled, final_position_error=final_error, position_error=error,
                       settle_radius=settle_radius, min_settled_fraction=min_settled_fraction,
                       success=bool(settled >= min_settled_fraction), trajectory=np.array(trajectory))


def plot_hover(report: HoverReport, path: str | Path, *, dt: float = 0.01) -> Path:
    """Plots the position of ``report``'s first episode against time into ``path`` (.png/.pdf/.svg)."""
    from matplotlib.figure import Figure

    from turborl.eval.plots import save_figure

    trajectory = report.trajectory
    time = np.arange(len(trajectory)) * dt
    figure = Figure(figsize=(6, 3.5), layout="constrained")
    axis = figure.add_subplot()
    for k, name in enumerate("xyz"):
        axis.plot(time, trajectory[:, k], label=name)
    axis.axhline(0.0, color="black", linewidth=0.5)
    axis.set_xlabel("time [s]")
    axis.set_ylabel("position [m]")
    axis.set_title(f"hover from a random start ({report.episodes} episodes: {report.settled_fraction:.0%} settled "
                   f"within {report.settle_radius} m, final error {report.final_position_error:.3f} m)", fontsize=9)
    axis.legend()
    return save_figure(figure, path)


def write_hover_report(policy: Any, out_dir: str | Path, *, episodes: int = 100, seed: int = 1_000_000) -> HoverReport:
    """``evaluate_hover`` of ``policy``, saved as ``out_dir/hover.json`` (atomically) and plotted to
    ``out_dir/hover_trajectory.png``; what ``turborl train td3 --env Quadrotor-L2F-v0`` does after training."""
    import json

    from turborl import _atomic

    out_dir = Path(out_dir)
    report = evaluate_hover(policy, episodes=episodes, seed=seed)
    _atomic.write_file(out_dir / "hover.json", json.dumps(report.to_dict(), indent=1).encode())
    plot_hover(report, out_dir / "hover_trajectory.png")
    return report
