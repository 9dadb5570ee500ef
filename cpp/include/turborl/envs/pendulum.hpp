#pragma once
// Pendulum-v1: the inverted-pendulum swing-up, as Gymnasium 1.x implements it in
// gymnasium/envs/classic_control/pendulum.py. The state is float64 and the action float32; NumPy 2
// keeps `python_float * np.float32` in float32 (NEP 50), and the float64 path does the same.
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/core/math.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/envs/env_spec.hpp"

namespace turborl::envs {

struct Pendulum {
  static constexpr const char* id = "Pendulum-v1";
  static constexpr int max_episode_steps = 200;

  static constexpr double kPi = 3.141592653589793;
  static constexpr int obs_dim = 3;  // cos(theta), sin(theta), theta_dot
  static constexpr double obs_high[obs_dim] = {1.0, 1.0, 8.0};
  static constexpr double obs_low[obs_dim] = {-1.0, -1.0, -8.0};
  static constexpr ActionKind action_kind = ActionKind::kBox;
  static constexpr int action_dim = 1;  // torque, clipped to [-max_torque, max_torque]
  static constexpr double action_low[action_dim] = {-2.0};
  static constexpr double action_high[action_dim] = {2.0};

  template <class Real>
  struct State {
    Real theta, theta_dot;
  };
  static constexpr const char* state_names[] = {"theta", "theta_dot"};

  template <class Real>
  struct Params {
    Real max_speed, max_torque, dt, g, m, l;
  };
  static constexpr ParamInfo param_info[] = {
      {"max_speed", 8.0, ParamConstraint::kPositive, "bound on |theta_dot| [rad/s]"},
      {"max_torque", 2.0, ParamConstraint::kPositive, "bound on |torque| (the action space stays [-2, 2])"},
      {"dt", 0.05, ParamConstraint::kPositive, "time step [s]"},
      {"g", 10.0, ParamConstraint::kFinite, "gravitational acceleration [m/s^2] (gymnasium.make's g)"},
      {"m", 1.0, ParamConstraint::kPositive, "mass [kg]"},
      {"l", 1.0, ParamConstraint::kPositive, "length [m]"},
  };

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void reset(State<Real>& s, const Params<Real>&, CounterRng& rng) {
    // np_random.uniform(low=-[pi, 1], high=[pi, 1])
    s.theta = Real(rng.uniform(-kPi, kPi));
    s.theta_dot = Real(rng.uniform(-1.0, 1.0));
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static StepResult step(State<Real>& s, const Params<Real>& p, const float* action) {
    using M = Math<Real>;
    const Real th = s.theta, thdot = s.theta_dot;
    const Real g = p.g, m = p.m, l = p.l, dt = p.dt;
    const Real pi = Real(kPi);

    // u = np.clip(u, -max_torque, max_torque)[0]: stays float32.
    const float u = clip(action[0], float(-p.max_torque), float(p.max_torque));
    // angle_normalize(th)**2 + 0.1 * thdot**2 + 0.001 * (u**2); the last term is float32.
    const Real angle = M::floor_mod(th + pi, Real(2) * pi) - pi;
    const float torque_cost = float(0.001) * M::pow2(u);
    const Real costs = M::pow2(angle) + Real(0.1) * M::pow2(thdot) + Real(torque_cost);

    // (3 * g / (2 * l) * sin(th) + 3.0 / (m * l**2) * u) * dt; the second product is float32.
    const float torque_term = float(Real(3.0) / (m * M::pow2(l))) * u;
    Real new_thdot = thdot + (Real(3) * g / (Real(2) * l) * M::sin(th) + Real(torque_term)) * dt;
    new_thdot = clip(new_thdot, -p.max_speed, p.max_speed);
    const Real new_th = th + new_thdot * dt;

    s.theta = new_th;
    s.theta_dot = new_thdot;
    return {double(-costs), false};
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void observe(const State<Real>& s, const Params<Real>&, float* obs) {
    Real sin_theta, cos_theta;
    Math<Real>::sincos(s.theta, sin_theta, cos_theta);
    obs[0] = float(cos_theta);
    obs[1] = float(sin_theta);
    obs[2] = float(s.theta_dot);
  }
};

}  // namespace turborl::envs
