"""Quadrotor-L2F-v0 and ``turborl.envs.quadrotor.simulate`` against independent references.

The dynamics are checked against a float64 NumPy integrator written here from the equations of
"Learning to Fly in Seconds" (not from the C++ code), and against analytic solutions: hover
equilibrium, free fall, pure yaw and torque-free rotation (conservation of energy and angular
momentum). The MDP is checked piece by piece: one env step against ``simulate``, the action
history, the critic observation, the observation noise, the reward, termination, the reset
distribution, determinism and per-env parameters.
"""

import math

import numpy as np
import pytest

import turborl
from turborl.envs import quadrotor

make_vec = turborl.envs.make_vec
ENV_ID = "Quadrotor-L2F-v0"

# ---- a float64 NumPy reference of the dynamics, written from the equations ------------------------

# Rotors in L2F's order at (+ax, -ay), (-ax, -ay), (-ax, +ay), (+ax, +ay) (unit multiples of the
# arm lengths) and the direction of each rotor's yaw reaction torque.
ROTOR_X = np.array([1.0, -1.0, -1.0, 1.0])
ROTOR_Y = np.array([-1.0, -1.0, 1.0, 1.0])
YAW_DIRECTION = np.array([-1.0, 1.0, -1.0, 1.0])

# An airframe whose every parameter differs from the Crazyflie's and from the others of its kind
# (arm_x != arm_y, three different inertias, non-zero c0, c1 and rpm_min), so a swapped or
# ignored parameter shows.
ODD_AIRFRAME = dict(mass=0.05, gravity=9.7, inertia_xx=3.1e-6, inertia_yy=4.3e-6, inertia_zz=6.7e-6,
                    thrust_c0=1e-3, thrust_c1=2e-8, thrust_c2=2.9e-10, torque_constant=0.011,
                    motor_time_constant=0.07, rpm_min=800.0, rpm_max=23000.0, arm_x=0.031, arm_y=0.022)


def rotation_matrices(q):
    """R(q) = I + 2 w [u]x + 2 [u]x^2 for q = (w, u), the form L2F rotates vectors with.

    For a unit quaternion every form of R(q) agrees; inside an RK4 step the intermediate
    quaternions are not unit (by O((|omega| dt)^2)), and then this one is the simulator's.
    """
    w, x, y, z = q.T
    zero = np.zeros_like(w)
    skew = np.stack([np.stack([zero, -z, y], -1), np.stack([z, zero, -x], -1), np.stack([-y, x, zero], -1)], -2)
    return np.eye(3) + 2.0 * w[:, None, None] * skew + 2.0 * skew @ skew


def quaternion_product(a, b):
    aw, ax, ay, az = a.T
    bw, bx, by, bz = b.T
    return np.stack([aw * bw - ax * bx - ay * by - az * bz,
                     aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw], axis=-1)


def reference_derivative(x, setpoint, disturbance, a):
    """d/dt of x = [p, q, v, omega, rpm] (N x 17) with held set-points and disturbance."""
    q, v, omega, rpm = x[:, 3:7], x[:, 7:10], x[:, 10:13], x[:, 13:17]
    force, torque_d = disturbance[:, :3], disturbance[:, 3:]
    thrusts = a["thrust_c0"] + a["thrust_c1"] * rpm + a["thrust_c2"] * rpm**2
    tau = np.stack([thrusts @ (a["arm_y"] * ROTOR_Y),
                    -(thrusts @ (a["arm_x"] * ROTOR_X)),
                    thrusts @ (a["torque_constant"] * YAW_DIRECTION)], axis=1)
    body_thrust = np.zeros_like(v)
    body_thrust[:, 2] = thrusts.sum(axis=1)
    v_dot = (np.einsum("nij,nj->ni", rotation_matrices(q), body_thrust) / a["mass"]
             - np.array([0.0, 0.0, a["gravity"]]) + force / a["mass"])
    inertia = np.array([a["inertia_xx"], a["inertia_yy"], a["inertia_zz"]])
    omega_dot = (tau - np.cross(omega, inertia * omega) + torque_d) / inertia
    q_dot = 0.5 * quaternion_product(q, np.concatenate([np.zeros((len(x), 1)), omega], axis=1))
    rpm_dot = (setpoint - rpm) / a["motor_time_constant"]
    return np.concatenate([v, q_dot, v_dot, omega_dot, rpm_dot], axis=1)


def reference_simulate(states, actions, steps, dt=0.01, **overrides):
    """Classic RK4 with held set-points, then q normalised and rpm clamped: the [N, 23] layout."""
    a = quadrotor.airframe(**overrides)
    states = np.array(states, dtype=np.float64)
    x, disturbance = states[:, :17], states[:, 17:]
    clipped = np.clip(np.asarray(actions, dtype=np.float32).astype(np.float64), -1.0, 1.0)
    setpoint = a["rpm_min"] + (clipped + 1.0) / 2.0 * (a["rpm_max"] - a["rpm_min"])
    for _ in range(steps):
        k1 = reference_derivative(x, setpoint, disturbance, a)
        k2 = reference_derivative(x + 0.5 * dt * k1, setpoint, disturbance, a)
        k3 = reference_derivative(x + 0.5 * dt * k2, setpoint, disturbance, a)
        k4 = reference_derivative(x + dt * k3, setpoint, disturbance, a)
        x = x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        x[:, 3:7] /= np.linalg.norm(x[:, 3:7], axis=1, keepdims=True)
        x[:, 13:17] = np.clip(x[:, 13:17], a["rpm_min"], a["rpm_max"])
    return np.concatenate([x, disturbance], axis=1)


def random_unit_quaternions(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def random_states(rng, n, a):
    """Arbitrary states, not only near hover: any attitude, fast spin, rpm beyond both bounds."""
    span = a["rpm_max"] - a["rpm_min"]
    return np.concatenate([
        rng.uniform(-1.0, 1.0, (n, 3)),
        random_unit_quaternions(rng, n),
        rng.uniform(-2.0, 2.0, (n, 3)),
        rng.uniform(-6.0, 6.0, (n, 3)),
        rng.uniform(a["rpm_min"] - 0.05 * span, a["rpm_max"] + 0.05 * span, (n, 4)),
        rng.normal(0.0, a["mass"] * 9.81 / 20.0, (n, 3)),
        rng.normal(0.0, a["mass"] * 9.81 / 10000.0, (n, 3)),
    ], axis=1)


def column_scale(expected):
    """Per column: the largest magnitude in it, at least 1 (rpm columns are ~1e4, others ~1)."""
    return np.maximum(1.0, np.max(np.abs(expected), axis=0))


def level_at_rest(n, rpm):
    states = np.zeros((n, 23))
    states[:, 3] = 1.0
    states[:, 13:17] = rpm
    return states


# ---- simulate() against the reference -----------------------------------------------------------

@pytest.mark.parametrize("overrides", [{}, ODD_AIRFRAME], ids=["crazyflie", "odd_airframe"])
@pytest.mark.parametrize("steps", [1, 20])
def test_simulate_float64_matches_the_numpy_reference(overrides, steps):
    rng = np.random.default_rng(steps)
    a = quadrotor.airframe(**overrides)
    states = random_states(rng, 50, a)
    # Set-points partly outside [-1, 1]: they are clamped.
    actions = rng.uniform(-1.2, 1.2, (50, 4)).astype(np.float32)
    got = quadrotor.simulate(states, actions, steps, **overrides)
    expected = reference_simulate(states, actions, steps, **overrides)
    assert got.shape == (50, 23) and got.dtype == np.float64
    # Only summation order differs: rounding, amplified little over 20 steps.
    assert np.all(np.abs(got - expected) <= 1e-12 * column_scale(expected))
    # The rpm clamp was exercised (some rotors started beyond a bound and are held at it).
    assert np.any((got[:, 13:17] == a["rpm_max"]) | (got[:, 13:17] == a["rpm_min"]))
    # The disturbance is held, not integrated.
    assert np.array_equal(got[:, 17:], states[:, 17:])


def test_simulate_with_another_dt_matches_the_reference():
    rng = np.random.default_rng(7)
    a = quadrotor.airframe()
    states = random_states(rng, 20, a)
    actions = rng.uniform(-1.0, 1.0, (20, 4)).astype(np.float32)
    got = quadrotor.simulate(states, actions, 5, dt=0.003)
    expected = reference_simulate(states, actions, 5, dt=0.003)
    assert np.all(np.abs(got - expected) <= 1e-12 * column_scale(expected))
    # ... and it is not the dt = 0.01 result.
    assert not np.allclose(got, quadrotor.simulate(states, actions, 5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simulate_does_not_depend_on_threads_blocks_or_how_steps_are_split(dtype):
    """150 envs: two full blocks of 64 lanes and a partial one; 2 threads; 12 steps = 12 x 1 step."""
    rng = np.random.default_rng(3)
    states = random_states(rng, 150, quadrotor.airframe()).astype(dtype)
    actions = rng.uniform(-1.0, 1.0, (150, 4)).astype(np.float32)
    at_once = quadrotor.simulate(states, actions, 12)
    assert at_once.dtype == dtype
    assert np.array_equal(quadrotor.simulate(states, actions, 12, num_threads=2), at_once)
    stepwise = states
    for _ in range(12):
        stepwise = quadrotor.simulate(stepwise, actions, 1)
    assert np.array_equal(stepwise, at_once)
    # An env's result does not depend on its neighbours: env 70 alone equals env 70 in the batch.
    assert np.array_equal(quadrotor.simulate(states[70:71], actions[70:71], 12)[0], at_once[70])
    # The input is not modified, and 0 steps returns it unchanged.
    assert np.array_equal(quadrotor.simulate(states, actions, 0), states)


# ---- analytic solutions ---------------------------------------------------------------------------

def test_hover_rpm_of_the_crazyflie():
    # sqrt(m g / (4 c2)) with m = 0.027, g = 9.81, c2 = 3.16e-10.
    assert round(quadrotor.hover_rpm()) == 14476
    assert quadrotor.hover_rpm() == pytest.approx(math.sqrt(0.027 * 9.81 / (4 * 3.16e-10)), rel=1e-14)
    # L2F's action baseline 0.334 is the hover action.
    assert quadrotor.hover_action() == pytest.approx(0.334, abs=1e-3)
    # With c1, c0: the root of c0 + c1 r + c2 r^2 = m g / 4.
    r = quadrotor.hover_rpm(**ODD_AIRFRAME)
    a = ODD_AIRFRAME
    assert a["thrust_c0"] + a["thrust_c1"] * r + a["thrust_c2"] * r**2 == pytest.approx(a["mass"] * a["gravity"] / 4,
                                                                                      rel=1e-12)


def test_hover_is_an_equilibrium():
    """Level, at rest, rotors at hover_rpm and set-points at hover: nothing moves for 5 s.

    rpm_max = 2 hover_rpm makes the hover set-point the action 0, which float32 holds exactly
    (the Crazyflie's 0.33405... would be rounded, and the rotors would settle 3e-4 rpm off).
    """
    hover = quadrotor.hover_rpm()
    states = level_at_rest(3, hover)
    states[1, :3] = [0.3, -0.2, 0.1]  # the position does not matter
    states[2, 13:17] = 0.9 * hover  # rotors below hover: must fall
    got = quadrotor.simulate(states, np.zeros((3, 4), np.float32), 500, rpm_max=2 * hover)
    assert np.all(np.abs(got[:2] - states[:2]) <= 1e-10 * column_scale(states[:2]))
    assert got[2, 9] < -0.01 and got[2, 2] < -0.01

    # The Crazyflie's own range, set-point float32(hover_action()): the rotors lag towards a
    # set-point d = (rpm_max / 2) (float32(a) - a) off hover, rpm(t) = hover + d (1 - e^(-t/T)),
    # and the thrust excess 2 d / hover (linearised) accelerates the body: the motor lag, analytically.
    action = np.float32(quadrotor.hover_action())
    d = 21702.0 / 2 * (float(action) - quadrotor.hover_action())
    got = quadrotor.simulate(level_at_rest(1, hover), np.full((1, 4), action), 500)[0]
    t, lag = 5.0, 0.15
    assert got[13] == pytest.approx(hover + d * (1 - math.exp(-t / lag)), abs=1e-9)
    assert got[9] == pytest.approx(9.81 * 2 * d / hover * (t - lag * (1 - math.exp(-t / lag))), rel=1e-3)
    assert np.all(got[[0, 1, 4, 5, 6, 7, 8, 10, 11, 12]] == 0.0)  # symmetric: no tilt, no drift


def test_free_fall():
    """Rotors stopped (rpm_min = 0, set-points -1): v = v0 - g t, p = p0 + v0 t - g t^2 / 2.

    RK4 integrates this quadratic exactly, so only rounding separates the two; any attitude
    falls the same, and without angular velocity nothing rotates.
    """
    rng = np.random.default_rng(0)
    n, steps, g = 8, 100, 9.81
    states = np.zeros((n, 23))
    states[:, :3] = rng.uniform(-1, 1, (n, 3))
    states[:, 3:7] = random_unit_quaternions(rng, n)
    states[:, 7:10] = rng.uniform(-1, 1, (n, 3))
    got = quadrotor.simulate(states, -np.ones((n, 4), np.float32), steps)
    t = steps * 0.01
    gravity = np.array([0.0, 0.0, g])
    expected_v = states[:, 7:10] - gravity * t
    expected_p = states[:, :3] + states[:, 7:10] * t - gravity * t**2 / 2
    np.testing.assert_allclose(got[:, 7:10], expected_v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[:, :3], expected_p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[:, 3:7], states[:, 3:7], rtol=0, atol=1e-15)
    assert np.all(got[:, 10:17] == 0.0)


@pytest.mark.parametrize("fast_rotors, sign", [((1, 3), 1.0), ((0, 2), -1.0)])
def test_pure_yaw(fast_rotors, sign):
    """Diagonal rotor pairs at different speeds, same total thrust: a pure yaw acceleration.

    Rotors 1 and 3 have yaw reaction torque +k T, rotors 0 and 2 -k T: with 1 and 3 faster the
    body spins up about +z at alpha = 2 k (T_fast - T_slow) / J_zz; roll and pitch torques cancel
    exactly, so omega_x, omega_y and the tilt stay 0; the weight stays carried.
    """
    a = quadrotor.airframe()
    hover = quadrotor.hover_rpm()
    span = a["rpm_max"] - a["rpm_min"]

    def to_action(rpm):
        return np.float32((rpm - a["rpm_min"]) / span * 2 - 1)

    def to_rpm(action):
        return a["rpm_min"] + (float(action) + 1) / 2 * span

    # Set-points float32 can hold, and the rotors already at them, so the thrusts are constant.
    fast_action = to_action(1.05 * hover)
    fast = to_rpm(fast_action)
    slow_action = to_action(math.sqrt(2 * hover**2 - fast**2))
    slow = to_rpm(slow_action)
    slow_rotors = tuple(sorted({0, 1, 2, 3} - set(fast_rotors)))
    states = level_at_rest(1, 0.0)
    actions = np.zeros((1, 4), np.float32)
    states[0, 13 + np.array(fast_rotors)] = fast
    states[0, 13 + np.array(slow_rotors)] = slow
    actions[0, list(fast_rotors)] = fast_action
    actions[0, list(slow_rotors)] = slow_action

    steps = 50
    got = quadrotor.simulate(states, actions, steps)[0]
    t = steps * 0.01
    alpha = sign * 2 * a["torque_constant"] * a["thrust_c2"] * (fast**2 - slow**2) / a["inertia_zz"]
    assert sign * got[12] > 0
    assert got[12] == pytest.approx(alpha * t, rel=1e-12)
    assert got[10] == 0.0 and got[11] == 0.0 and got[4] == 0.0 and got[5] == 0.0
    # The yaw angle is alpha t^2 / 2: q = (cos(psi / 2), 0, 0, sin(psi / 2)), up to RK4's
    # truncation error (omega_z dt reaches 0.14 rad: ~1e-7 after 50 steps).
    psi = alpha * t**2 / 2
    np.testing.assert_allclose(got[[3, 6]], [math.cos(psi / 2), math.sin(psi / 2)], rtol=0, atol=1e-6)
    assert abs(psi) > 3.0  # the body turned through more than half a revolution
    # Weight carried up to the float32 rounding of the set-points: |v_z| << g t.
    assert abs(got[9]) < 1e-5


def rotational_invariants(states, inertia):
    """Rotational kinetic energy 1/2 omega . J omega and world-frame angular momentum R(q) J omega."""
    omega = states[:, 10:13].astype(np.float64)
    body_momentum = inertia * omega
    energy = 0.5 * np.sum(omega * body_momentum, axis=1)
    momentum = np.einsum("nij,nj->ni", rotation_matrices(states[:, 3:7].astype(np.float64)), body_momentum)
    return energy, momentum


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_torque_free_rotation_conserves_energy_and_angular_momentum(dtype):
    """No thrust, no gravity, no disturbance: Euler's equations of a free asymmetric body.

    J has three different moments (so omega precesses and the intermediate axis tumbles), yet
    the energy and the world-frame angular momentum are invariants. RK4 at |omega| <= 4 rad/s
    and dt = 0.01 keeps them to 1e-6 over 500 steps (measured: 1.4e-8 energy, 1e-7 momentum);
    in float32 rounding dominates (measured ~2e-6; bound 3e-5).
    """
    inertia = np.array([2.0e-6, 3.5e-6, 6.0e-6])
    frame = dict(thrust_c0=0.0, thrust_c1=0.0, thrust_c2=0.0, gravity=0.0,
                 inertia_xx=inertia[0], inertia_yy=inertia[1], inertia_zz=inertia[2])
    rng = np.random.default_rng(5)
    n = 16
    states = np.zeros((n, 23))
    states[:, 3:7] = random_unit_quaternions(rng, n)
    states[:, 10:13] = rng.normal(0.0, 2.0, (n, 3))
    states[0, 10:13] = [0.01, 3.0, 0.01]  # near the unstable intermediate axis: it flips over
    states = states.astype(dtype)
    actions = -np.ones((n, 4), np.float32)
    energy0, momentum0 = rotational_invariants(states, inertia)

    current, norms, energies, momenta, omegas = states, [], [], [], []
    for _ in range(50):  # 50 x 10 steps = 500 steps, checked every 10
        current = quadrotor.simulate(current, actions, 10, **frame)
        norms.append(np.linalg.norm(current[:, 3:7].astype(np.float64), axis=1))
        energy, momentum = rotational_invariants(current, inertia)
        energies.append(energy)
        momenta.append(momentum)
        omegas.append(current[:, 10:13].astype(np.float64))
    norms, energies, momenta, omegas = map(np.array, (norms, energies, momenta, omegas))
    assert current.dtype == dtype
    tolerance = 1e-6 if dtype == np.float64 else 3e-5
    assert np.max(np.abs(norms - 1.0)) <= (1e-15 if dtype == np.float64 else 2e-7) * 4
    assert np.max(np.abs(energies / energy0 - 1.0)) <= tolerance
    momentum_scale = np.linalg.norm(momentum0, axis=1)[:, None]
    assert np.max(np.abs(momenta - momentum0) / momentum_scale) <= tolerance
    # The motion is not trivial: the body-frame angular velocity itself changes a lot (env 0 flips).
    assert np.max(np.abs(omegas - states[:, 10:13].astype(np.float64))) > 1.0
    assert omegas[:, 0, 1].min() < -2.5
    # Nothing translates.
    assert np.all(current[:, :3] == 0) and np.all(current[:, 7:10] == 0)


def near_hover_states(rng, n, rpm_spread, omega_spread):
    """Near the origin, nearly level, slow; exactly representable in float32."""
    states = level_at_rest(n, quadrotor.hover_rpm())
    states[:, :3] = rng.uniform(-0.1, 0.1, (n, 3))
    tilt = rng.normal(0.0, 0.02, (n, 3))  # small rotations: q ~ (1, tilt / 2)
    states[:, 3:7] = np.concatenate([np.ones((n, 1)), tilt / 2], axis=1)
    states[:, 3:7] /= np.linalg.norm(states[:, 3:7], axis=1, keepdims=True)
    states[:, 7:10] = rng.uniform(-0.1, 0.1, (n, 3))
    states[:, 10:13] = rng.uniform(-omega_spread, omega_spread, (n, 3))
    states[:, 13:17] += rng.uniform(-rpm_spread, rpm_spread, (n, 4))
    states[:, 17:20] = rng.normal(0.0, 1e-4, (n, 3))
    return states.astype(np.float32).astype(np.float64)


def relative_error(fast, exact):
    """|x32 - x64| / (scale + |x64|), with scale 1, or 1e4 for the rpm columns."""
    scale = np.ones(23)
    scale[13:17] = 1e4
    return np.abs(fast.astype(np.float64) - exact) / (scale + np.abs(exact))


def test_float32_stays_close_to_float64_over_500_steps():
    """From the same near-hover states, 5 s of open-loop flight in float32 and in float64.

    Equal rotor speeds (set-points at hover): the roll, pitch and yaw torques are differences
    of equal thrusts, exactly 0 in both precisions, and float32 rounding (6e-8 per operation)
    accumulates slowly. Bound: relative_error <= 1e-4 after 500 steps (measured <= 6e-6 over
    three seeds) while the quadrotors drift ~10 m off.

    Unequal rotor speeds: the torques are small differences of ~0.07 N thrusts, float32 rounds
    each to ~4e-9 N, and the attitude error this feeds grows the position error quadratically.
    Bound: relative_error <= 5e-3 after 100 steps (measured <= 5e-4; after 500 steps it reaches
    ~0.1, which is why the float32 env is only claimed to agree one step at a time).
    """
    rng = np.random.default_rng(11)
    n = 64
    states = near_hover_states(rng, n, rpm_spread=0.0, omega_spread=0.02)
    actions = np.full((n, 4), quadrotor.hover_action(), np.float32)
    exact = quadrotor.simulate(states, actions, 500)
    fast = quadrotor.simulate(states.astype(np.float32), actions, 500)
    assert fast.dtype == np.float32
    assert np.max(relative_error(fast, exact)) <= 1e-4
    # The trajectories went somewhere: a bound on no motion would be vacuous.
    assert np.max(np.abs(exact[:, :3] - states[:, :3])) > 1.0

    states = near_hover_states(rng, n, rpm_spread=20.0, omega_spread=0.05)
    actions = (quadrotor.hover_action() + rng.uniform(-2e-3, 2e-3, (n, 4))).astype(np.float32)
    exact = quadrotor.simulate(states, actions, 100)
    fast = quadrotor.simulate(states.astype(np.float32), actions, 100)
    assert np.max(relative_error(fast, exact)) <= 5e-3
    assert np.max(np.abs(exact[:, 10:13])) > 0.3


# ---- the vector env --------------------------------------------------------------------------------

def critic_observation(state, dtype):
    """The noise-free critic observation (28) of env states, in the simulation dtype.

    R(q) and the rpm normalisation are written with the simulator's formulas and evaluated in its
    dtype before the cast to float32, so the comparison can be exact.
    """
    a = quadrotor.airframe()
    s = state.astype(dtype)
    w, x, y, z = s[:, 3], s[:, 4], s[:, 5], s[:, 6]
    one, two = dtype(1), dtype(2)
    rotation = np.stack([one - two * (y * y + z * z), two * (x * y - w * z), two * (x * z + w * y),
                         two * (x * y + w * z), one - two * (x * x + z * z), two * (y * z - w * x),
                         two * (x * z - w * y), two * (y * z + w * x), one - two * (x * x + y * y)], axis=1)
    rpm_min, rpm_max = dtype(a["rpm_min"]), dtype(a["rpm_max"])
    normalised_rpm = (s[:, 13:17] - rpm_min) / (rpm_max - rpm_min) * two - one
    return np.concatenate([s[:, :3], rotation, s[:, 7:13], s[:, 17:23], normalised_rpm], axis=1).astype(np.float32)


def reference_reward(state, actions, terminated):
    """L2F's reward from the state *before* the step (env defaults), float64."""
    p, qw, v, omega = state[:, :3], state[:, 3], state[:, 7:10], state[:, 10:13]
    clipped = np.clip(actions.astype(np.float64), -1, 1)
    cost = (5.0 * np.sum(p**2, axis=1) + 5.0 * (1 - qw**2) + 0.01 * np.sum(v**2, axis=1)
            + 0.0 * np.sum(omega**2, axis=1) + 0.01 * np.sum((clipped - 0.334) ** 2, axis=1))
    return np.where(terminated, 0.0, 2.0 - 0.5 * cost)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_env_step_equals_simulate_and_shifts_the_action_history(dtype):
    n = 100
    envs = make_vec(ENV_ID, n, seed=4, dtype=dtype)
    envs.reset()
    rng = np.random.default_rng(0)
    for _ in range(4):
        before = envs.get_state()["state"]
        actions = rng.uniform(-1.3, 1.3, (n, 4)).astype(np.float32)
        _, _, terminated, truncated, _ = envs.step(actions)
        assert not np.any(truncated)
        after = envs.get_state()["state"]
        assert after.dtype == np.dtype(dtype)
        # Rigid body and disturbance: bit for bit what simulate() computes from the same state.
        assert np.array_equal(after[:, :23], quadrotor.simulate(before[:, :23], actions, 1))
        # The history drops its oldest action and appends this one, clamped to [-1, 1].
        expected_history = np.concatenate([before[:, 27:], np.clip(actions, -1, 1).astype(dtype)], axis=1)
        assert np.array_equal(after[:, 23:], expected_history)
        # Keep every env running: put terminated ones back at the origin (next_step mode would
        # otherwise reset them on the next step instead of stepping them).
        if np.any(terminated):
            after[terminated, :3] = 0.0
            envs.set_state({"state": after, "needs_reset": np.zeros(n, bool)})


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_critic_obs_is_the_noise_free_state_and_obs_adds_the_documented_noise(dtype):
    n = 4000
    envs = make_vec(ENV_ID, n, seed=1, dtype=dtype)
    obs, info = envs.reset()
    rng = np.random.default_rng(2)
    noises = []
    for _ in range(3):
        state = envs.get_state()["state"]
        assert np.array_equal(info["critic_obs"], critic_observation(state, np.dtype(dtype).type))
        # The action history is observed without noise.
        assert np.array_equal(obs[:, 18:], state[:, 23:].astype(np.float32))
        noises.append(obs[:, :18].astype(np.float64) - state_without_noise(state))
        obs, _, _, _, info = envs.step(rng.uniform(-1, 1, (n, 4)).astype(np.float32))
    noise = np.concatenate(noises, axis=0)  # the reset and two steps
    expected_std = np.array([0.001] * 3 + [0.001] * 9 + [0.002] * 3 + [0.002] * 3)
    std = noise.std(axis=0)
    # 12,000 samples per entry: the std estimate's relative error is ~0.7 %; allow 5 %.
    np.testing.assert_allclose(std, expected_std, rtol=0.05)
    assert np.all(np.abs(noise.mean(axis=0)) < 5 * expected_std / math.sqrt(len(noise)))
    # Fresh noise every step: consecutive steps' noise is uncorrelated.
    correlation = np.corrcoef(noises[1][:, 0], noises[2][:, 0])[0, 1]
    assert abs(correlation) < 0.05
    # ... and entries are independent of each other.
    assert abs(np.corrcoef(noises[1][:, 0], noises[1][:, 1])[0, 1]) < 0.05


def state_without_noise(state):
    """float64 position, R(q), v, omega from the state."""
    r = rotation_matrices(state[:, 3:7].astype(np.float64)).reshape(-1, 9)
    return np.concatenate([state[:, :3], r, state[:, 7:13]], axis=1).astype(np.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reward_is_computed_from_the_state_before_the_step(dtype):
    """same_step autoreset: the state after each step (or reset) is the next step's pre-step state."""
    n = 500
    envs = make_vec(ENV_ID, n, seed=6, dtype=dtype, autoreset_mode="same_step")
    _, info = envs.reset()
    rng = np.random.default_rng(3)
    ended = 0
    for _ in range(40):
        before = envs.get_state()["state"].astype(np.float64)
        critic_before = info["critic_obs"]
        actions = rng.uniform(-1.2, 1.2, (n, 4)).astype(np.float32)
        _, rewards, terminated, truncated, info = envs.step(actions)
        expected = reference_reward(before, actions, terminated)
        tolerance = 1e-12 if dtype == "float64" else 1e-5
        np.testing.assert_allclose(rewards, expected, rtol=0, atol=tolerance)
        # From the pre-step critic observation (float32): to its rounding.
        np.testing.assert_allclose(quadrotor.hover_reward(critic_before, actions, terminated), rewards, rtol=0,
                                   atol=1e-5)
        ended += terminated.sum()
    assert ended > 0, "both reward branches must be exercised"


def test_termination_when_a_position_leaves_the_box():
    """Near |p_i| = 0.6 moving outward terminates, moving inward does not; the flag equals
    any(|p_i| > 0.6) of the post-step state."""
    n = 12
    envs = make_vec(ENV_ID, n, seed=0, autoreset_mode="disabled")
    envs.reset()
    state = envs.get_state()["state"]
    state[:, :23] = level_at_rest(n, quadrotor.hover_rpm())
    expected = np.zeros(n, bool)
    for k in range(n):
        axis, sign, outward = k % 3, 1.0 if k % 6 < 3 else -1.0, k < 6
        state[k, axis] = sign * 0.598
        state[k, 7 + axis] = sign * (1.0 if outward else -1.0)  # 1 m/s: 0.01 m per step
        expected[k] = outward
    envs.set_state(state)
    actions = np.full((n, 4), quadrotor.hover_action(), np.float32)
    _, rewards, terminated, truncated, _ = envs.step(actions)
    assert np.array_equal(terminated, expected)
    after = envs.get_state()["state"]
    assert np.array_equal(terminated, np.any(np.abs(after[:, :3]) > 0.6, axis=1))
    assert np.all(rewards[terminated] == 0.0) and np.all(rewards[~terminated] > 0)
    assert not np.any(truncated)


def test_termination_matches_the_box_on_random_states():
    n = 2000
    envs = make_vec(ENV_ID, n, seed=9)
    envs.reset()
    rng = np.random.default_rng(4)
    state = envs.get_state()["state"]
    state[:, :3] = rng.uniform(-0.62, 0.62, (n, 3))
    envs.set_state(state)
    _, _, terminated, _, _ = envs.step(rng.uniform(-1, 1, (n, 4)).astype(np.float32))
    after = envs.get_state()["state"]
    expected = np.any(np.abs(after[:, :3]) > 0.6, axis=1)
    assert np.array_equal(terminated, expected)
    assert 0 < expected.sum() < n


def test_reset_distribution():
    n = 4000
    envs = make_vec(ENV_ID, n, seed=123)
    obs, info = envs.reset()
    state = envs.get_state()["state"]
    p, q, v, omega = state[:, :3], state[:, 3:7], state[:, 7:10], state[:, 10:13]
    at_origin = np.all(p == 0, axis=1) & np.all(q == [1, 0, 0, 0], axis=1)
    # init_guidance = 0.1: binomial std sqrt(0.09 / 4000) = 0.005.
    assert abs(at_origin.mean() - 0.1) < 0.02
    # Elsewhere p ~ U(-0.2, 0.2): variance 0.04 / 3.
    spread = p[~at_origin]
    assert np.all(np.abs(spread) <= 0.2)
    np.testing.assert_allclose(spread.var(axis=0), 0.04 / 3, rtol=0.1)
    # Uniform random attitude with tilt angle <= 90 deg (L2F's pi = 3.14): the angle theta of a
    # uniform rotation has CDF proportional to theta - sin(theta). Kolmogorov-Smirnov at 1 %.
    max_angle = 90.0 / 180.0 * 3.14
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-15)
    angles = np.sort(2 * np.arccos(np.clip(q[~at_origin, 0], -1, 1)))
    assert np.all(angles <= max_angle + 1e-12)
    cdf = (angles - np.sin(angles)) / (max_angle - math.sin(max_angle))
    empirical = np.arange(1, len(angles) + 1) / len(angles)
    assert np.max(np.abs(empirical - cdf)) < 1.63 / math.sqrt(len(angles))
    # Velocities ~ U(-1, 1) in every env.
    for values in (v, omega):
        assert np.all(np.abs(values) <= 1.0)
        np.testing.assert_allclose(values.var(axis=0), 1 / 3, rtol=0.1)
    # Rotors at the middle of the range, and the history filled with that normalised speed, 0.
    assert np.all(state[:, 13:17] == 10851.0)
    assert np.all(state[:, 23:] == 0.0) and np.all(obs[:, 18:] == 0.0)
    assert np.all(info["critic_obs"][:, 24:] == 0.0)
    # Disturbances ~ N(0, m g / 20) (force) and N(0, m g / 10000) (torque) per axis.
    np.testing.assert_allclose(state[:, 17:20].std(axis=0), 0.027 * 9.81 / 20, rtol=0.05)
    np.testing.assert_allclose(state[:, 20:23].std(axis=0), 0.027 * 9.81 / 10000, rtol=0.05)
    # A second episode draws a new one.
    envs.reset()
    assert not np.any(envs.get_state()["state"][:, 17] == state[:, 17])


def trajectory(num_envs, num_threads, steps=30, dtype="float64"):
    """Outputs of the first 8 envs; actions depend on the env index and step only."""
    envs = make_vec(ENV_ID, num_envs, seed=77, num_threads=num_threads, dtype=dtype, max_episode_steps=10)
    obs, info = envs.reset()
    outputs = [obs[:8], info["critic_obs"][:8]]
    for step in range(steps):
        actions = np.random.default_rng(step).uniform(-1, 1, (40, 4)).astype(np.float32)[:num_envs]
        obs, rewards, terminated, truncated, info = envs.step(actions)
        outputs += [obs[:8], info["critic_obs"][:8], rewards[:8], terminated[:8], truncated[:8]]
    return outputs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trajectories_do_not_depend_on_threads_or_num_envs(dtype):
    reference = trajectory(8, 1, dtype=dtype)
    for num_envs, num_threads in [(8, 2), (40, 1), (40, 2)]:
        other = trajectory(num_envs, num_threads, dtype=dtype)
        assert all(np.array_equal(a, b) for a, b in zip(reference, other)), (num_envs, num_threads)
    # Episodes of 10 steps: truncations (and their resets) are part of the trajectory.
    assert any(np.any(out) for out in reference[6::5])


def test_set_state_reproduces_observations_and_rewards():
    """The noise is keyed by (seed, episode, step): restoring the state restores the noise."""
    envs = make_vec(ENV_ID, 16, seed=5, max_episode_steps=20)
    envs.reset()
    rng = np.random.default_rng(0)
    for _ in range(7):
        envs.step(rng.uniform(-1, 1, (16, 4)).astype(np.float32))
    saved = envs.get_state()
    actions = rng.uniform(-1, 1, (25, 16, 4)).astype(np.float32)  # crosses an episode boundary
    first = [envs.step(a)[:4] for a in actions]
    other = make_vec(ENV_ID, 16, seed=999, max_episode_steps=20)
    other.reset()
    other.set_state(saved)
    second = [other.step(a)[:4] for a in actions]
    for a, b in zip(first, second):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
    # The random stream is part of the state: with the same physical state but seed 999's
    # stream, the noisy observations differ (while the noise-free action history agrees).
    third = make_vec(ENV_ID, 16, seed=999, max_episode_steps=20)
    third.reset()
    third.set_state({"state": saved["state"], "elapsed_steps": saved["elapsed_steps"]})
    obs = third.step(actions[0])[0]
    assert not np.array_equal(obs[:, :18], first[0][0][:, :18])
    assert np.array_equal(obs[:, 18:], first[0][0][:, 18:])


def test_set_params_mass_changes_hover():
    """At the Crazyflie's hover action, the Crazyflie hovers, a 1.5x heavier one falls at
    g (1 - 1/1.5) and a 0.75x lighter one climbs at g (1/0.75 - 1) (thrust equal, rotors at hover)."""
    masses = np.array([0.027, 0.027 * 1.5, 0.027 * 0.75])
    envs = make_vec(ENV_ID, 3, seed=0, autoreset_mode="disabled")
    envs.set_params(mass=masses)
    envs.reset()
    state = envs.get_state()["state"]
    state[:, :23] = level_at_rest(3, quadrotor.hover_rpm())
    envs.set_state(state)
    actions = np.full((3, 4), quadrotor.hover_action(), np.float32)
    steps = 30
    for _ in range(steps):
        envs.step(actions)
    v_z = envs.get_state()["state"][:, 9]
    t = steps * 0.01
    expected = 9.81 * (0.027 / masses - 1) * t
    assert abs(v_z[0]) < 1e-5
    np.testing.assert_allclose(v_z[1:], expected[1:], rtol=1e-3)
    assert v_z[1] < 0 < v_z[2]


# ---- CUDA ---------------------------------------------------------------------------------------

@pytest.mark.skipif(not turborl.cuda_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cuda_simulate_equals_the_cpu(dtype):
    from turborl.cuda import quadrotor_simulate

    rng = np.random.default_rng(8)
    states = random_states(rng, 300, quadrotor.airframe()).astype(dtype)
    actions = rng.uniform(-1.2, 1.2, (300, 4)).astype(np.float32)
    for overrides in ({}, ODD_AIRFRAME):
        gpu = quadrotor_simulate(states, actions, 50, **overrides)
        cpu = quadrotor.simulate(states, actions, 50, **overrides)
        assert gpu.states.dtype == dtype
        # Same header, no FMA contraction, IEEE division and sqrt on both sides.
        assert np.array_equal(gpu.states, cpu)
        assert gpu.kernel_seconds > 0
