#pragma once
// CartPole-v1: the cart-pole of Barto, Sutton & Anderson, "Neuronlike adaptive elements that can
// solve difficult learning control problems" (IEEE SMC 1983), as Gymnasium 1.x implements it in
// gymnasium/envs/classic_control/cartpole.py. In float64 every operation follows Gymnasium's
// order, so trajectories match bit for bit.
#include <cstdint>
#include <limits>

#include "turborl/core/hd.hpp"
#include "turborl/core/math.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/envs/env_spec.hpp"

namespace turborl::envs {

struct CartPole {
  static constexpr const char* id = "CartPole-v1";
  static constexpr int max_episode_steps = 500;

  static constexpr double kThetaThresholdRadians = 12 * 2 * 3.141592653589793 / 360;
  static constexpr double kXThreshold = 2.4;
  static constexpr double kInf = std::numeric_limits<double>::infinity();

  static constexpr int obs_dim = 4;
  static constexpr double obs_high[obs_dim] = {kXThreshold * 2, kInf, kThetaThresholdRadians * 2, kInf};
  static constexpr double obs_low[obs_dim] = {-kXThreshold * 2, -kInf, -kThetaThresholdRadians * 2, -kInf};
  static constexpr ActionKind action_kind = ActionKind::kDiscrete;
  static constexpr int64_t num_actions = 2;  // 0: push left, 1: push right

  template <class Real>
  struct State {
    Real x, x_dot, theta, theta_dot;
  };
  static constexpr const char* state_names[] = {"x", "x_dot", "theta", "theta_dot"};

  template <class Real>
  struct Params {
    Real gravity, masscart, masspole, length, force_mag, tau, theta_threshold_radians, x_threshold;
  };
  static constexpr ParamInfo param_info[] = {
      {"gravity", 9.8, ParamConstraint::kFinite, "gravitational acceleration [m/s^2]"},
      {"masscart", 1.0, ParamConstraint::kPositive, "mass of the cart [kg]"},
      {"masspole", 0.1, ParamConstraint::kPositive, "mass of the pole [kg]"},
      {"length", 0.5, ParamConstraint::kPositive, "half the pole's length [m] (Gymnasium's name)"},
      {"force_mag", 10.0, ParamConstraint::kFinite, "force of one push [N]"},
      {"tau", 0.02, ParamConstraint::kPositive, "seconds between state updates"},
      {"theta_threshold_radians", kThetaThresholdRadians, ParamConstraint::kPositive, "pole angle that ends the episode"},
      {"x_threshold", kXThreshold, ParamConstraint::kPositive, "cart position that ends the episode [m]"},
  };

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void reset(State<Real>& s, const Params<Real>&, CounterRng& rng) {
    // np_random.uniform(low=-0.05, high=0.05, size=(4,)), drawn in field order.
    s.x = Real(rng.uniform(-0.05, 0.05));
    s.x_dot = Real(rng.uniform(-0.05, 0.05));
    s.theta = Real(rng.uniform(-0.05, 0.05));
    s.theta_dot = Real(rng.uniform(-0.05, 0.05));
  }

  // The angle terms of one step, apart from the rest so that the engine can compute them for a
  // block of envs first: on the exact float64 path they are libm calls, which do not vectorise,
  // and the rest of step() then does (see physics_kernel in core/vec_env.hpp).
  template <class Real>
  struct Trig {
    Real sin_theta, cos_theta;
  };

  template <class Real>
  TURBORL_HD TURBORL_INLINE static Trig<Real> trig(const State<Real>& s) {
    Trig<Real> t;
    Math<Real>::sincos(s.theta, t.sin_theta, t.cos_theta);
    return t;
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static StepResult step(State<Real>& s, const Params<Real>& p, int64_t action) {
    return step(s, p, action, trig(s));
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static StepResult step(State<Real>& s, const Params<Real>& p, int64_t action,
                                                   const Trig<Real>& t) {
    const Real total_mass = p.masspole + p.masscart;
    const Real polemass_length = p.masspole * p.length;
    const Real force = action == 1 ? p.force_mag : -p.force_mag;
    const Real sintheta = t.sin_theta, costheta = t.cos_theta;

    // Florian, "Correct equations for the dynamics of the cart-pole system" (2007), eq. 23-24.
    const Real temp = (force + polemass_length * (s.theta_dot * s.theta_dot) * sintheta) / total_mass;
    const Real thetaacc = (p.gravity * sintheta - costheta * temp) /
                          (p.length * (Real(4.0) / Real(3.0) - p.masspole * (costheta * costheta) / total_mass));
    const Real xacc = temp - polemass_length * thetaacc * costheta / total_mass;

    // Explicit Euler, Gymnasium's default kinematics_integrator.
    s.x = s.x + p.tau * s.x_dot;
    s.x_dot = s.x_dot + p.tau * xacc;
    s.theta = s.theta + p.tau * s.theta_dot;
    s.theta_dot = s.theta_dot + p.tau * thetaacc;

    const bool terminated = (s.x < -p.x_threshold) | (s.x > p.x_threshold) | (s.theta < -p.theta_threshold_radians) |
                            (s.theta > p.theta_threshold_radians);
    return {1.0, terminated};
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void observe(const State<Real>& s, const Params<Real>&, float* obs) {
    obs[0] = float(s.x);
    obs[1] = float(s.x_dot);
    obs[2] = float(s.theta);
    obs[3] = float(s.theta_dot);
  }
};

}  // namespace turborl::envs
