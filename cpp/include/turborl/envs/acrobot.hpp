#pragma once
// Acrobot-v1: Sutton, "Generalization in reinforcement learning: successful examples using
// sparse coarse coding" (NIPS 1996) and Sutton & Barto's book dynamics, as Gymnasium 1.x
// implements them in gymnasium/envs/classic_control/acrobot.py (from RLPy). The float64 path
// follows Gymnasium's operation order, its float32-rounded initial state and its use of libm pow
// for `x**2`, so trajectories match bit for bit.
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/core/math.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/envs/env_spec.hpp"

namespace turborl::envs {

struct Acrobot {
  static constexpr const char* id = "Acrobot-v1";
  static constexpr int max_episode_steps = 500;

  static constexpr double kPi = 3.141592653589793;
  static constexpr double kMaxVel1 = 4 * kPi;
  static constexpr double kMaxVel2 = 9 * kPi;

  static constexpr int obs_dim = 6;  // cos(theta1), sin(theta1), cos(theta2), sin(theta2), dtheta1, dtheta2
  static constexpr double obs_high[obs_dim] = {1.0, 1.0, 1.0, 1.0, kMaxVel1, kMaxVel2};
  static constexpr double obs_low[obs_dim] = {-1.0, -1.0, -1.0, -1.0, -kMaxVel1, -kMaxVel2};
  static constexpr ActionKind action_kind = ActionKind::kDiscrete;
  static constexpr int64_t num_actions = 3;  // torque -1, 0, +1 on the joint between the links

  template <class Real>
  struct State {
    Real theta1, theta2, dtheta1, dtheta2;
  };
  static constexpr const char* state_names[] = {"theta1", "theta2", "dtheta1", "dtheta2"};

  template <class Real>
  struct Params {
    Real dt, link_length_1, link_mass_1, link_mass_2, link_com_pos_1, link_com_pos_2, link_moi, gravity,
        max_vel_1, max_vel_2;
  };
  static constexpr ParamInfo param_info[] = {
      {"dt", 0.2, ParamConstraint::kPositive, "integration time step [s]"},
      {"link_length_1", 1.0, ParamConstraint::kPositive, "length of link 1 [m]"},
      {"link_mass_1", 1.0, ParamConstraint::kPositive, "mass of link 1 [kg]"},
      {"link_mass_2", 1.0, ParamConstraint::kPositive, "mass of link 2 [kg]"},
      {"link_com_pos_1", 0.5, ParamConstraint::kPositive, "position of the centre of mass of link 1 [m]"},
      {"link_com_pos_2", 0.5, ParamConstraint::kPositive, "position of the centre of mass of link 2 [m]"},
      {"link_moi", 1.0, ParamConstraint::kPositive, "moment of inertia of both links [kg m^2]"},
      {"gravity", 9.8, ParamConstraint::kFinite, "gravitational acceleration [m/s^2]"},
      {"max_vel_1", kMaxVel1, ParamConstraint::kPositive, "bound on |dtheta1| [rad/s]"},
      {"max_vel_2", kMaxVel2, ParamConstraint::kPositive, "bound on |dtheta2| [rad/s]"},
  };

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void reset(State<Real>& s, const Params<Real>&, CounterRng& rng) {
    // Gymnasium draws uniform(-0.1, 0.1, size=4) and casts the initial state to float32.
    s.theta1 = Real(float(rng.uniform(-0.1, 0.1)));
    s.theta2 = Real(float(rng.uniform(-0.1, 0.1)));
    s.dtheta1 = Real(float(rng.uniform(-0.1, 0.1)));
    s.dtheta2 = Real(float(rng.uniform(-0.1, 0.1)));
  }

  template <class Real>
  struct Vec4 {
    Real v[4];
  };

  // The constants of the equations of motion, with the squares Gymnasium writes as `lc1**2`
  // etc. computed once per step rather than in each of the four derivative evaluations (the
  // same libm pow calls, so the same values).
  template <class Real>
  struct Constants {
    Real m1, m2, l1, lc1, lc2, I1, I2, g;
    Real lc1_sq, l1_sq, lc2_sq;
  };

  template <class Real>
  TURBORL_HD TURBORL_INLINE static Constants<Real> constants(const Params<Real>& p) {
    using M = Math<Real>;
    return {p.link_mass_1, p.link_mass_2, p.link_length_1, p.link_com_pos_1, p.link_com_pos_2, p.link_moi,
            p.link_moi, p.gravity, M::pow2(p.link_com_pos_1), M::pow2(p.link_length_1), M::pow2(p.link_com_pos_2)};
  }

  // Time derivative of (theta1, theta2, dtheta1, dtheta2) under `torque`: AcrobotEnv._dsdt with
  // the "book" dynamics, operation for operation.
  template <class Real>
  TURBORL_HD TURBORL_INLINE static Vec4<Real> dsdt(const Vec4<Real>& y, Real torque, const Constants<Real>& c) {
    using M = Math<Real>;
    const Real m1 = c.m1, m2 = c.m2, l1 = c.l1, lc1 = c.lc1, lc2 = c.lc2, I1 = c.I1, I2 = c.I2, g = c.g;
    const Real a = torque;
    const Real theta1 = y.v[0], theta2 = y.v[1], dtheta1 = y.v[2], dtheta2 = y.v[3];
    const Real pi = Real(kPi);
    const Real cos_theta2 = M::cos(theta2);
    const Real sin_theta2 = M::sin(theta2);
    const Real d1 = m1 * c.lc1_sq + m2 * (c.l1_sq + c.lc2_sq + Real(2) * l1 * lc2 * cos_theta2) + I1 + I2;
    const Real d2 = m2 * (c.lc2_sq + l1 * lc2 * cos_theta2) + I2;
    const Real phi2 = m2 * lc2 * g * M::cos(theta1 + theta2 - pi / Real(2.0));
    const Real phi1 = -m2 * l1 * lc2 * M::pow2(dtheta2) * sin_theta2 -
                      Real(2) * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin_theta2 +
                      (m1 * lc1 + m2 * l1) * g * M::cos(theta1 - pi / Real(2)) + phi2;
    const Real ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * M::pow2(dtheta1) * sin_theta2 - phi2) /
                          (m2 * c.lc2_sq + I2 - M::pow2(d2) / d1);
    const Real ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    return {{dtheta1, dtheta2, ddtheta1, ddtheta2}};
  }

  // Gymnasium's wrap(): `while x > high: x -= diff; while x < low: x += diff`. After one step
  // an angle is at most a turn or two outside (|dtheta| <= 9 pi, dt = 0.2), so a fixed number of
  // conditional shifts gives exactly the loops' result and, unlike a loop, vectorises. Values
  // further out (only reachable through set_state or extreme parameters) are first reduced with
  // floor_mod, where Gymnasium's loop may never finish.
  static constexpr int kMaxWrapTurns = 4;

  template <class Real>
  TURBORL_HD TURBORL_INLINE static Real wrap(Real x, Real low, Real high) {
    const Real diff = high - low;
    const bool near = (x <= high + kMaxWrapTurns * diff) & (x >= low - kMaxWrapTurns * diff);
    x = select(near, x, low + Math<Real>::floor_mod(x - low, diff));
    for (int turn = 0; turn < kMaxWrapTurns; ++turn) x = x > high ? x - diff : x;
    for (int turn = 0; turn < kMaxWrapTurns; ++turn) x = x < low ? x + diff : x;
    return x;
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static StepResult step(State<Real>& s, const Params<Real>& p, int64_t action) {
    using M = Math<Real>;
    const Real torque = Real(action - 1);  // AVAIL_TORQUE = [-1.0, 0.0, +1]

    // rk4(self._dsdt, s_augmented, [0, self.dt]): one classical Runge-Kutta step.
    const Vec4<Real> y0{{s.theta1, s.theta2, s.dtheta1, s.dtheta2}};
    const Constants<Real> c = constants(p);
    const Real dt = p.dt;
    const Real dt2 = dt / Real(2.0);
    const Vec4<Real> k1 = dsdt(y0, torque, c);
    Vec4<Real> y;
    for (int j = 0; j < 4; ++j) y.v[j] = y0.v[j] + dt2 * k1.v[j];
    const Vec4<Real> k2 = dsdt(y, torque, c);
    for (int j = 0; j < 4; ++j) y.v[j] = y0.v[j] + dt2 * k2.v[j];
    const Vec4<Real> k3 = dsdt(y, torque, c);
    for (int j = 0; j < 4; ++j) y.v[j] = y0.v[j] + dt * k3.v[j];
    const Vec4<Real> k4 = dsdt(y, torque, c);
    const Real dt_over_6 = dt / Real(6.0);
    for (int j = 0; j < 4; ++j) {
      y.v[j] = y0.v[j] + dt_over_6 * (k1.v[j] + Real(2) * k2.v[j] + Real(2) * k3.v[j] + k4.v[j]);
    }

    const Real pi = Real(kPi);
    s.theta1 = wrap(y.v[0], -pi, pi);
    s.theta2 = wrap(y.v[1], -pi, pi);
    s.dtheta1 = clip(y.v[2], -p.max_vel_1, p.max_vel_1);
    s.dtheta2 = clip(y.v[3], -p.max_vel_2, p.max_vel_2);

    const bool terminated = -M::cos(s.theta1) - M::cos(s.theta2 + s.theta1) > Real(1.0);
    return {terminated ? 0.0 : -1.0, terminated};
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void observe(const State<Real>& s, const Params<Real>&, float* obs) {
    Real sin1, cos1, sin2, cos2;
    Math<Real>::sincos(s.theta1, sin1, cos1);
    Math<Real>::sincos(s.theta2, sin2, cos2);
    obs[0] = float(cos1);
    obs[1] = float(sin1);
    obs[2] = float(cos2);
    obs[3] = float(sin2);
    obs[4] = float(s.dtheta1);
    obs[5] = float(s.dtheta2);
  }
};

}  // namespace turborl::envs
