#pragma once
// Quadrotor rigid-body dynamics of "Learning to Fly in Seconds" (Eschmann, Albani & Loianno,
// RA-L 2024; the L2F simulator of learning-to-fly / rl-tools), written once for the CPU engine,
// the throughput kernels and CUDA (TURBORL_HD), in float32 or float64.
//
// State: position p and linear velocity v in the world frame (z up), orientation quaternion
// q = (w, x, y, z) from body to world, angular velocity omega in the body frame, and the four
// rotor speeds (rpm). Rotor i at (x_i, y_i, 0) pushes thrust T_i = c0 + c1 rpm_i + c2 rpm_i^2 along
// body +z and a yaw reaction torque s_i * k_tau * T_i (s = -, +, -, + as in L2F):
//     p' = v
//     q' = 1/2 q (x) (0, omega)
//     v' = R(q) (0, 0, sum T_i) / m - (0, 0, g) + f_d / m             (f_d: disturbance, world)
//     omega' = J^-1 (tau - omega x J omega + tau_d)                    (tau_d: disturbance, body)
//     rpm_i' = (rpm_setpoint_i - rpm_i) / T_motor
// with tau = (sum y_i T_i, -sum x_i T_i, sum s_i k_tau T_i) and J diagonal. One step is classic
// RK4 over (p, q, v, omega, rpm) with the set-points and disturbances held, then q is renormalised
// and the rpm clamped to [rpm_min, rpm_max], as L2F's post-integration does.
//
// Everything is branch-free arithmetic and one sqrt, so a loop over envs vectorises
// (quadrotor/simulate.hpp) and a CUDA thread keeps the state in registers.
#include <cmath>

#include "turborl/core/hd.hpp"

namespace turborl::quadrotor {

inline constexpr int kNumRotors = 4;

// An X-configuration quadrotor; rotors in L2F's order: (+x, -y), (-x, -y), (-x, +y), (+x, +y).
template <class Real>
struct Airframe {
  Real mass, gravity;
  Real inertia_xx, inertia_yy, inertia_zz;
  Real thrust_c0, thrust_c1, thrust_c2;
  Real torque_constant;
  Real motor_time_constant;
  Real rpm_min, rpm_max;
  Real arm_x, arm_y;
};

// The integrated part of the state.
template <class Real>
struct RigidBody {
  Real px, py, pz;
  Real qw, qx, qy, qz;
  Real vx, vy, vz;
  Real wx, wy, wz;
  Real rpm[kNumRotors];
};
inline constexpr int kRigidBodyDim = 17;

// Per-episode external force (world frame, N) and torque (body frame, N m).
template <class Real>
struct Disturbance {
  Real fx, fy, fz;
  Real tx, ty, tz;
};

// Reciprocals used by every derivative evaluation, computed once per step (or once per call
// when all envs share the airframe: the compiler hoists them out of the loop over envs).
template <class Real>
struct Reciprocals {
  Real mass, inertia_xx, inertia_yy, inertia_zz, motor_time_constant;
};

template <class Real>
TURBORL_HD TURBORL_INLINE Reciprocals<Real> reciprocals(const Airframe<Real>& a) {
  return {Real(1) / a.mass, Real(1) / a.inertia_xx, Real(1) / a.inertia_yy, Real(1) / a.inertia_zz,
          Real(1) / a.motor_time_constant};
}

template <class Real>
TURBORL_HD TURBORL_INLINE Real rotor_thrust(const Airframe<Real>& a, Real rpm) {
  return a.thrust_c0 + (a.thrust_c1 + a.thrust_c2 * rpm) * rpm;
}

// The rpm at which the four rotors together carry the weight (c1 = c0 = 0 for the Crazyflie:
// sqrt(m g / (4 c2)) = 14,476 rpm).
template <class Real>
TURBORL_HD TURBORL_INLINE Real hover_rpm(const Airframe<Real>& a) {
  // Solve c2 r^2 + c1 r + c0 = m g / 4 for the positive root.
  const Real c = a.thrust_c0 - a.mass * a.gravity / Real(4);
  if (a.thrust_c2 == Real(0)) return -c / a.thrust_c1;
  const Real disc = a.thrust_c1 * a.thrust_c1 - Real(4) * a.thrust_c2 * c;
  using std::sqrt;
  return (-a.thrust_c1 + sqrt(disc)) / (Real(2) * a.thrust_c2);
}

template <class Real>
TURBORL_HD TURBORL_INLINE RigidBody<Real> derivative(const RigidBody<Real>& s, const Airframe<Real>& a,
                                                     const Reciprocals<Real>& inv, const Disturbance<Real>& d,
                                                     const Real (&rpm_setpoint)[kNumRotors]) {
  const Real t0 = rotor_thrust(a, s.rpm[0]), t1 = rotor_thrust(a, s.rpm[1]);
  const Real t2 = rotor_thrust(a, s.rpm[2]), t3 = rotor_thrust(a, s.rpm[3]);
  const Real thrust = (t0 + t1) + (t2 + t3);
  const Real torque_x = a.arm_y * ((t2 + t3) - (t0 + t1));
  const Real torque_y = a.arm_x * ((t1 + t2) - (t0 + t3));
  const Real torque_z = a.torque_constant * ((t1 + t3) - (t0 + t2));

  RigidBody<Real> ds;
  ds.px = s.vx;
  ds.py = s.vy;
  ds.pz = s.vz;

  const Real half = Real(0.5);
  ds.qw = half * (-s.qx * s.wx - s.qy * s.wy - s.qz * s.wz);
  ds.qx = half * (s.qw * s.wx + s.qy * s.wz - s.qz * s.wy);
  ds.qy = half * (s.qw * s.wy + s.qz * s.wx - s.qx * s.wz);
  ds.qz = half * (s.qw * s.wz + s.qx * s.wy - s.qy * s.wx);

  // R(q) (0, 0, thrust) is thrust times R's third column.
  const Real thrust_per_mass = thrust * inv.mass;
  ds.vx = thrust_per_mass * (Real(2) * (s.qx * s.qz + s.qw * s.qy)) + d.fx * inv.mass;
  ds.vy = thrust_per_mass * (Real(2) * (s.qy * s.qz - s.qw * s.qx)) + d.fy * inv.mass;
  ds.vz = thrust_per_mass * (Real(1) - Real(2) * (s.qx * s.qx + s.qy * s.qy)) - a.gravity + d.fz * inv.mass;

  // Euler's equations with diagonal J: omega x J omega.
  const Real jwx = a.inertia_xx * s.wx, jwy = a.inertia_yy * s.wy, jwz = a.inertia_zz * s.wz;
  ds.wx = (torque_x - (s.wy * jwz - s.wz * jwy) + d.tx) * inv.inertia_xx;
  ds.wy = (torque_y - (s.wz * jwx - s.wx * jwz) + d.ty) * inv.inertia_yy;
  ds.wz = (torque_z - (s.wx * jwy - s.wy * jwx) + d.tz) * inv.inertia_zz;

  for (int i = 0; i < kNumRotors; ++i) ds.rpm[i] = (rpm_setpoint[i] - s.rpm[i]) * inv.motor_time_constant;
  return ds;
}

// s + h * ds, field by field.
template <class Real>
TURBORL_HD TURBORL_INLINE RigidBody<Real> advance(const RigidBody<Real>& s, Real h, const RigidBody<Real>& ds) {
  RigidBody<Real> out;
  out.px = s.px + h * ds.px;
  out.py = s.py + h * ds.py;
  out.pz = s.pz + h * ds.pz;
  out.qw = s.qw + h * ds.qw;
  out.qx = s.qx + h * ds.qx;
  out.qy = s.qy + h * ds.qy;
  out.qz = s.qz + h * ds.qz;
  out.vx = s.vx + h * ds.vx;
  out.vy = s.vy + h * ds.vy;
  out.vz = s.vz + h * ds.vz;
  out.wx = s.wx + h * ds.wx;
  out.wy = s.wy + h * ds.wy;
  out.wz = s.wz + h * ds.wz;
  for (int i = 0; i < kNumRotors; ++i) out.rpm[i] = s.rpm[i] + h * ds.rpm[i];
  return out;
}

// (k1 + 2 k2 + 2 k3 + k4), field by field.
template <class Real>
TURBORL_HD TURBORL_INLINE RigidBody<Real> rk4_slope(const RigidBody<Real>& k1, const RigidBody<Real>& k2,
                                                    const RigidBody<Real>& k3, const RigidBody<Real>& k4) {
  const Real two = Real(2);
  RigidBody<Real> out;
  out.px = k1.px + two * (k2.px + k3.px) + k4.px;
  out.py = k1.py + two * (k2.py + k3.py) + k4.py;
  out.pz = k1.pz + two * (k2.pz + k3.pz) + k4.pz;
  out.qw = k1.qw + two * (k2.qw + k3.qw) + k4.qw;
  out.qx = k1.qx + two * (k2.qx + k3.qx) + k4.qx;
  out.qy = k1.qy + two * (k2.qy + k3.qy) + k4.qy;
  out.qz = k1.qz + two * (k2.qz + k3.qz) + k4.qz;
  out.vx = k1.vx + two * (k2.vx + k3.vx) + k4.vx;
  out.vy = k1.vy + two * (k2.vy + k3.vy) + k4.vy;
  out.vz = k1.vz + two * (k2.vz + k3.vz) + k4.vz;
  out.wx = k1.wx + two * (k2.wx + k3.wx) + k4.wx;
  out.wy = k1.wy + two * (k2.wy + k3.wy) + k4.wy;
  out.wz = k1.wz + two * (k2.wz + k3.wz) + k4.wz;
  for (int i = 0; i < kNumRotors; ++i) out.rpm[i] = k1.rpm[i] + two * (k2.rpm[i] + k3.rpm[i]) + k4.rpm[i];
  return out;
}

template <class Real>
TURBORL_HD TURBORL_INLINE Real clamp_rpm(Real rpm, const Airframe<Real>& a) {
  // Written as two selects, which vectorise (min/max), with NaN passed through.
  rpm = rpm < a.rpm_min ? a.rpm_min : rpm;
  return rpm > a.rpm_max ? a.rpm_max : rpm;
}

// One time step of length dt: RK4, then renormalise q and clamp the rpm.
template <class Real>
TURBORL_HD TURBORL_INLINE void rk4_step(RigidBody<Real>& s, const Airframe<Real>& a, const Reciprocals<Real>& inv,
                                        const Disturbance<Real>& d, const Real (&rpm_setpoint)[kNumRotors], Real dt) {
  const Real half_dt = Real(0.5) * dt;
  const RigidBody<Real> k1 = derivative(s, a, inv, d, rpm_setpoint);
  const RigidBody<Real> k2 = derivative(advance(s, half_dt, k1), a, inv, d, rpm_setpoint);
  const RigidBody<Real> k3 = derivative(advance(s, half_dt, k2), a, inv, d, rpm_setpoint);
  const RigidBody<Real> k4 = derivative(advance(s, dt, k3), a, inv, d, rpm_setpoint);
  s = advance(s, dt / Real(6), rk4_slope(k1, k2, k3, k4));

  using std::sqrt;
  const Real inv_norm = Real(1) / sqrt(s.qw * s.qw + s.qx * s.qx + s.qy * s.qy + s.qz * s.qz);
  s.qw *= inv_norm;
  s.qx *= inv_norm;
  s.qy *= inv_norm;
  s.qz *= inv_norm;
  for (int i = 0; i < kNumRotors; ++i) s.rpm[i] = clamp_rpm(s.rpm[i], a);
}

// Normalised action in [-1, 1] -> rpm set-point in [rpm_min, rpm_max] (L2F's mapping).
template <class Real>
TURBORL_HD TURBORL_INLINE Real action_to_rpm(Real action, const Airframe<Real>& a) {
  const Real half_range = Real(0.5) * (a.rpm_max - a.rpm_min);
  return a.rpm_min + (action + Real(1)) * half_range;
}

template <class Real>
TURBORL_HD TURBORL_INLINE Real rpm_to_action(Real rpm, const Airframe<Real>& a) {
  return (rpm - a.rpm_min) / (a.rpm_max - a.rpm_min) * Real(2) - Real(1);
}

// R(q), row-major.
template <class Real>
TURBORL_HD TURBORL_INLINE void rotation_matrix(const RigidBody<Real>& s, Real (&r)[9]) {
  const Real w = s.qw, x = s.qx, y = s.qy, z = s.qz, two = Real(2);
  r[0] = Real(1) - two * (y * y + z * z);
  r[1] = two * (x * y - w * z);
  r[2] = two * (x * z + w * y);
  r[3] = two * (x * y + w * z);
  r[4] = Real(1) - two * (x * x + z * z);
  r[5] = two * (y * z - w * x);
  r[6] = two * (x * z - w * y);
  r[7] = two * (y * z + w * x);
  r[8] = Real(1) - two * (x * x + y * y);
}

}  // namespace turborl::quadrotor
