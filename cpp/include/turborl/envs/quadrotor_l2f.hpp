#pragma once
// Quadrotor-L2F-v0: the hover task of "Learning to Fly in Seconds" (Eschmann, Albani & Loianno,
// RA-L 2024) on a Crazyflie 2.1, as the paper's code configures it (learning-to-fly:
// src/config/parameters.h with the squared reward "reward_squared_position_only_torque", init
// "orientation_biggest_angle", termination "fast_learning", observation noise, disturbances,
// rotor delay and a 32-step action history).
//
// - Action: 4 values in [-1, 1] (clamped), mapped linearly to rpm set-points in [rpm_min, rpm_max],
//   after optional Gaussian actuator noise (action_noise, 0 by default as in the paper).
// - Observation (146, float32): position (3), rotation matrix (9, row-major), linear velocity (3),
//   angular velocity (3), each with Gaussian sensor noise, then the last 32 actions (128, oldest
//   first, noise-free).
// - Critic observation (28, noise-free; the asymmetric critic): position, rotation matrix, linear
//   and angular velocity (18), disturbance force and torque (6), rotor speeds mapped to [-1, 1] (4).
// - Reward, from the state before the step and the action: -scale * (w_p |p|^2 + w_q (1 - qw^2)
//   + w_v |v|^2 + w_omega |omega|^2 + w_a |a - baseline|^2) + constant, or termination_penalty when
//   the step terminates (|p_i| > max_position, or a velocity beyond its bound, after the step).
// - Reset: with probability init_guidance at the origin, level; otherwise p ~ U(+-init_max_position)
//   and a uniformly random attitude tilted at most init_max_angle (rejection sampling, as L2F);
//   v ~ U(+-init_max_linear_velocity), omega ~ U(+-init_max_angular_velocity) in both cases; rotors
//   at a normalised speed ~ U(init_action_low, init_action_high) (0: 10,851 rpm), the action history
//   filled with it; disturbance force ~ N(0, disturbance_force_std) per axis (world frame) and
//   torque ~ N(0, disturbance_torque_std) (body frame), held for the episode.
// - 500 steps of dt = 0.01 s per episode.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "turborl/core/hd.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/envs/env_spec.hpp"
#include "turborl/quadrotor/crazyflie.hpp"
#include "turborl/quadrotor/dynamics.hpp"

namespace turborl::envs {

namespace quadrotor_detail {

inline constexpr int kHistoryLength = 32;
inline constexpr int kHistoryDim = kHistoryLength * quadrotor::kNumRotors;
inline constexpr int kStateDim = quadrotor::kRigidBodyDim + 6 + kHistoryDim;

// State column names: the rigid body, the disturbance, then action_history_<step>_<rotor>.
struct StateNameTable {
  char text[kStateDim][24] = {};
};

constexpr void copy_name(char (&out)[24], const char* name) {
  int i = 0;
  for (; name[i] != '\0'; ++i) out[i] = name[i];
  out[i] = '\0';
}

constexpr StateNameTable make_state_names() {
  StateNameTable table;
  const char* fixed[] = {"position_x", "position_y", "position_z", "orientation_w", "orientation_x",
                         "orientation_y", "orientation_z", "linear_velocity_x", "linear_velocity_y",
                         "linear_velocity_z", "angular_velocity_x", "angular_velocity_y", "angular_velocity_z",
                         "rpm_0", "rpm_1", "rpm_2", "rpm_3", "disturbance_force_x", "disturbance_force_y",
                         "disturbance_force_z", "disturbance_torque_x", "disturbance_torque_y",
                         "disturbance_torque_z"};
  int row = 0;
  for (const char* name : fixed) copy_name(table.text[row++], name);
  for (int step = 0; step < kHistoryLength; ++step) {
    for (int rotor = 0; rotor < quadrotor::kNumRotors; ++rotor) {
      char name[24] = "action_history_";
      int length = 15;
      if (step >= 10) name[length++] = char('0' + step / 10);
      name[length++] = char('0' + step % 10);
      name[length++] = '_';
      name[length++] = char('0' + rotor);
      name[length] = '\0';
      copy_name(table.text[row++], name);
    }
  }
  return table;
}

inline constexpr StateNameTable kStateNames = make_state_names();

template <size_t... i>
constexpr std::array<const char*, sizeof...(i)> state_name_pointers(std::index_sequence<i...>) {
  return {kStateNames.text[i]...};
}

}  // namespace quadrotor_detail

struct QuadrotorL2F {
  static constexpr const char* id = "Quadrotor-L2F-v0";
  static constexpr int max_episode_steps = 500;

  static constexpr int kHistoryLength = quadrotor_detail::kHistoryLength;
  static constexpr int kHistoryDim = quadrotor_detail::kHistoryDim;
  static constexpr int obs_dim = 18 + kHistoryDim;
  // Gymnasium's Box needs bounds; the position and velocities are unbounded in principle.
  static constexpr double kInf = std::numeric_limits<double>::infinity();
  static constexpr auto obs_low = [] {
    std::array<double, obs_dim> low{};
    for (int k = 0; k < obs_dim; ++k) low[k] = k < 18 ? -kInf : -1.0;
    return low;
  }();
  static constexpr auto obs_high = [] {
    std::array<double, obs_dim> high{};
    for (int k = 0; k < obs_dim; ++k) high[k] = k < 18 ? kInf : 1.0;
    return high;
  }();
  static constexpr ActionKind action_kind = ActionKind::kBox;
  static constexpr int action_dim = quadrotor::kNumRotors;
  static constexpr double action_low[action_dim] = {-1.0, -1.0, -1.0, -1.0};
  static constexpr double action_high[action_dim] = {1.0, 1.0, 1.0, 1.0};
  static constexpr int critic_obs_dim = 28;

  template <class Real>
  struct State {
    quadrotor::RigidBody<Real> body;
    quadrotor::Disturbance<Real> disturbance;
    Real action_history[kHistoryDim];  // [step][rotor], oldest first
  };
  static constexpr auto state_names =
      quadrotor_detail::state_name_pointers(std::make_index_sequence<quadrotor_detail::kStateDim>{});

  template <class Real>
  struct Params {
    quadrotor::Airframe<Real> airframe;
    Real dt;
    Real reward_scale, reward_constant, termination_penalty;
    Real position_weight, orientation_weight, linear_velocity_weight, angular_velocity_weight, action_weight;
    Real action_baseline;
    Real max_position, max_linear_velocity, max_angular_velocity;
    Real init_guidance, init_max_position, init_max_angle, init_max_linear_velocity, init_max_angular_velocity;
    Real init_action_low, init_action_high;
    Real obs_noise_position, obs_noise_orientation, obs_noise_linear_velocity, obs_noise_angular_velocity;
    Real action_noise;
    Real disturbance_force_std, disturbance_torque_std;
  };
  static constexpr ParamInfo param_info[] = {
      {"mass", quadrotor::crazyflie::kMass, ParamConstraint::kPositive, "mass [kg]"},
      {"gravity", quadrotor::crazyflie::kGravity, ParamConstraint::kFinite, "gravitational acceleration [m/s^2]"},
      {"inertia_xx", quadrotor::crazyflie::kInertiaXX, ParamConstraint::kPositive, "J_xx [kg m^2]"},
      {"inertia_yy", quadrotor::crazyflie::kInertiaYY, ParamConstraint::kPositive, "J_yy [kg m^2]"},
      {"inertia_zz", quadrotor::crazyflie::kInertiaZZ, ParamConstraint::kPositive, "J_zz [kg m^2]"},
      {"thrust_c0", quadrotor::crazyflie::kThrustC0, ParamConstraint::kFinite, "thrust = c0 + c1 rpm + c2 rpm^2 [N]"},
      {"thrust_c1", quadrotor::crazyflie::kThrustC1, ParamConstraint::kFinite, "thrust's linear coefficient"},
      {"thrust_c2", quadrotor::crazyflie::kThrustC2, ParamConstraint::kNonNegative, "thrust's quadratic coefficient"},
      {"torque_constant", quadrotor::crazyflie::kTorqueConstant, ParamConstraint::kFinite,
       "yaw reaction torque per newton of thrust [m]"},
      {"motor_time_constant", quadrotor::crazyflie::kMotorTimeConstant, ParamConstraint::kPositive,
       "first-order rotor lag [s]"},
      {"rpm_min", quadrotor::crazyflie::kRpmMin, ParamConstraint::kNonNegative, "lowest rotor speed [rpm]"},
      {"rpm_max", quadrotor::crazyflie::kRpmMax, ParamConstraint::kPositive, "highest rotor speed [rpm]"},
      {"arm_x", quadrotor::crazyflie::kArmX, ParamConstraint::kPositive, "rotor offset along body x [m]"},
      {"arm_y", quadrotor::crazyflie::kArmY, ParamConstraint::kPositive, "rotor offset along body y [m]"},
      {"dt", 0.01, ParamConstraint::kPositive, "time step [s]"},
      {"reward_scale", 0.5, ParamConstraint::kFinite, "multiplies the weighted cost"},
      {"reward_constant", 2.0, ParamConstraint::kFinite, "added to every non-terminal reward"},
      {"termination_penalty", 0.0, ParamConstraint::kFinite, "reward of a terminating step"},
      {"position_weight", 5.0, ParamConstraint::kNonNegative, "weight of |p|^2 (curriculum: x1.2 to 40)"},
      {"orientation_weight", 5.0, ParamConstraint::kNonNegative, "weight of 1 - qw^2"},
      {"linear_velocity_weight", 0.01, ParamConstraint::kNonNegative, "weight of |v|^2 (curriculum: x1.4 to 1)"},
      {"angular_velocity_weight", 0.0, ParamConstraint::kNonNegative, "weight of |omega|^2"},
      {"action_weight", 0.01, ParamConstraint::kNonNegative, "weight of |a - baseline|^2 (curriculum: x1.4 to 1)"},
      {"action_baseline", 0.334, ParamConstraint::kFinite, "normalised action the action cost centres on (~hover)"},
      {"max_position", 0.6, ParamConstraint::kPositive, "terminate when any |p_i| exceeds it [m]"},
      {"max_linear_velocity", 1000.0, ParamConstraint::kPositive, "terminate when any |v_i| exceeds it [m/s]"},
      {"max_angular_velocity", 1000.0, ParamConstraint::kPositive, "terminate when any |omega_i| exceeds it [rad/s]"},
      {"init_guidance", 0.1, ParamConstraint::kNonNegative, "probability of starting at the origin, level"},
      {"init_max_position", 0.2, ParamConstraint::kNonNegative, "initial p ~ U(+-this) [m]"},
      {"init_max_angle", 90.0 / 180.0 * 3.14, ParamConstraint::kNonNegative,
       "largest initial tilt [rad] (L2F's 90 deg with pi = 3.14)"},
      {"init_max_linear_velocity", 1.0, ParamConstraint::kNonNegative, "initial v ~ U(+-this) [m/s]"},
      {"init_max_angular_velocity", 1.0, ParamConstraint::kNonNegative, "initial omega ~ U(+-this) [rad/s]"},
      {"init_action_low", 0.0, ParamConstraint::kFinite, "initial normalised rotor speed ~ U(low, high)"},
      {"init_action_high", 0.0, ParamConstraint::kFinite, "(0 is the middle of the rpm range: 10,851 rpm)"},
      {"obs_noise_position", 0.001, ParamConstraint::kNonNegative, "sensor noise std of the position [m]"},
      {"obs_noise_orientation", 0.001, ParamConstraint::kNonNegative, "noise std of each rotation-matrix entry"},
      {"obs_noise_linear_velocity", 0.002, ParamConstraint::kNonNegative, "noise std of v [m/s]"},
      {"obs_noise_angular_velocity", 0.002, ParamConstraint::kNonNegative, "noise std of omega [rad/s]"},
      {"action_noise", 0.0, ParamConstraint::kNonNegative, "std of Gaussian noise on the normalised action"},
      {"disturbance_force_std", 0.027 * 9.81 / 20.0, ParamConstraint::kNonNegative,
       "per-episode force std per axis [N] (L2F: m g / 20)"},
      {"disturbance_torque_std", 0.027 * 9.81 / 10000.0, ParamConstraint::kNonNegative,
       "per-episode torque std per axis [N m] (L2F: m g / 10000)"},
  };

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void reset(State<Real>& s, const Params<Real>& p, CounterRng& rng) {
    quadrotor::RigidBody<Real>& b = s.body;
    const bool guidance = rng.uniform() < double(p.init_guidance);
    const double max_position = guidance ? 0.0 : double(p.init_max_position);
    b.px = Real(rng.uniform(-max_position, max_position));
    b.py = Real(rng.uniform(-max_position, max_position));
    b.pz = Real(rng.uniform(-max_position, max_position));
    double qw = 1.0, qx = 0.0, qy = 0.0, qz = 0.0;
    if (!guidance && p.init_max_angle > Real(0)) {
      // A uniformly random rotation (Shoemake's method), redrawn until its angle 2 acos(w) is
      // within the limit; w < 0 means an angle above pi and is always redrawn.
      const double min_w = cos(0.5 * double(p.init_max_angle));
      do {
        const double u0 = rng.uniform(), u1 = rng.uniform(), u2 = rng.uniform();
        const double a = sqrt(1.0 - u0), c = sqrt(u0), two_pi = 6.283185307179586;
        qw = a * sin(two_pi * u1);
        qx = a * cos(two_pi * u1);
        qy = c * sin(two_pi * u2);
        qz = c * cos(two_pi * u2);
      } while (!(qw >= min_w));
    }
    b.qw = Real(qw);
    b.qx = Real(qx);
    b.qy = Real(qy);
    b.qz = Real(qz);
    const double max_v = double(p.init_max_linear_velocity), max_w = double(p.init_max_angular_velocity);
    b.vx = Real(rng.uniform(-max_v, max_v));
    b.vy = Real(rng.uniform(-max_v, max_v));
    b.vz = Real(rng.uniform(-max_v, max_v));
    b.wx = Real(rng.uniform(-max_w, max_w));
    b.wy = Real(rng.uniform(-max_w, max_w));
    b.wz = Real(rng.uniform(-max_w, max_w));
    for (int i = 0; i < quadrotor::kNumRotors; ++i) {
      const Real action = Real(rng.uniform(double(p.init_action_low), double(p.init_action_high)));
      b.rpm[i] = quadrotor::clamp_rpm(quadrotor::action_to_rpm(action, p.airframe), p.airframe);
    }
    for (int k = 0; k < kHistoryLength; ++k) {
      for (int i = 0; i < quadrotor::kNumRotors; ++i) {
        s.action_history[k * quadrotor::kNumRotors + i] = quadrotor::rpm_to_action(b.rpm[i], p.airframe);
      }
    }
    s.disturbance.fx = Real(rng.normal(0.0, double(p.disturbance_force_std)));
    s.disturbance.fy = Real(rng.normal(0.0, double(p.disturbance_force_std)));
    s.disturbance.fz = Real(rng.normal(0.0, double(p.disturbance_force_std)));
    s.disturbance.tx = Real(rng.normal(0.0, double(p.disturbance_torque_std)));
    s.disturbance.ty = Real(rng.normal(0.0, double(p.disturbance_torque_std)));
    s.disturbance.tz = Real(rng.normal(0.0, double(p.disturbance_torque_std)));
  }

  // The reward's weighted cost of a state and an action (clamped to [-1, 1]).
  template <class Real>
  TURBORL_HD TURBORL_INLINE static Real cost(const quadrotor::RigidBody<Real>& b, const Params<Real>& p,
                                             const Real (&action)[quadrotor::kNumRotors]) {
    const Real position = b.px * b.px + b.py * b.py + b.pz * b.pz;
    const Real orientation = Real(1) - b.qw * b.qw;
    const Real linear_velocity = b.vx * b.vx + b.vy * b.vy + b.vz * b.vz;
    const Real angular_velocity = b.wx * b.wx + b.wy * b.wy + b.wz * b.wz;
    Real action_cost = 0;
    for (int i = 0; i < quadrotor::kNumRotors; ++i) {
      const Real d = action[i] - p.action_baseline;
      action_cost += d * d;
    }
    return p.position_weight * position + p.orientation_weight * orientation +
           p.linear_velocity_weight * linear_velocity + p.angular_velocity_weight * angular_velocity +
           p.action_weight * action_cost;
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static bool out_of_bounds(const quadrotor::RigidBody<Real>& b, const Params<Real>& p) {
    using std::fabs;
    const bool position = fabs(b.px) > p.max_position || fabs(b.py) > p.max_position || fabs(b.pz) > p.max_position;
    const bool linear = fabs(b.vx) > p.max_linear_velocity || fabs(b.vy) > p.max_linear_velocity ||
                        fabs(b.vz) > p.max_linear_velocity;
    const bool angular = fabs(b.wx) > p.max_angular_velocity || fabs(b.wy) > p.max_angular_velocity ||
                         fabs(b.wz) > p.max_angular_velocity;
    return position || linear || angular;
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static StepResult step(State<Real>& s, const Params<Real>& p, const float* action,
                                                   CounterRng& rng) {
    Real clamped[quadrotor::kNumRotors];
    Real setpoint[quadrotor::kNumRotors];
    for (int i = 0; i < quadrotor::kNumRotors; ++i) {
      const Real a = Real(action[i]);
      clamped[i] = a < Real(-1) ? Real(-1) : (a > Real(1) ? Real(1) : a);
      Real noisy = clamped[i];
      if (p.action_noise > Real(0)) noisy += Real(rng.normal(0.0, double(p.action_noise)));
      noisy = noisy < Real(-1) ? Real(-1) : (noisy > Real(1) ? Real(1) : noisy);
      setpoint[i] = quadrotor::action_to_rpm(noisy, p.airframe);
    }
    const Real cost_before = cost(s.body, p, clamped);
    quadrotor::rk4_step(s.body, p.airframe, quadrotor::reciprocals(p.airframe), s.disturbance, setpoint, p.dt);
    for (int k = 0; k < kHistoryDim - quadrotor::kNumRotors; ++k) {
      s.action_history[k] = s.action_history[k + quadrotor::kNumRotors];
    }
    for (int i = 0; i < quadrotor::kNumRotors; ++i) {
      s.action_history[kHistoryDim - quadrotor::kNumRotors + i] = clamped[i];
    }
    // NaN states (e.g. from absurd parameters) terminate rather than run on silently.
    const bool finite = s.body.px == s.body.px && s.body.qw == s.body.qw && s.body.wx == s.body.wx;
    const bool terminated = out_of_bounds(s.body, p) || !finite;
    const Real reward = terminated ? p.termination_penalty : p.reward_constant - p.reward_scale * cost_before;
    return {double(reward), terminated};
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void observe(const State<Real>& s, const Params<Real>& p, float* obs,
                                                CounterRng& rng) {
    const quadrotor::RigidBody<Real>& b = s.body;
    Real r[9];
    quadrotor::rotation_matrix(b, r);
    const double sp = double(p.obs_noise_position), so = double(p.obs_noise_orientation);
    const double sv = double(p.obs_noise_linear_velocity), sw = double(p.obs_noise_angular_velocity);
    obs[0] = float(double(b.px) + rng.normal(0.0, sp));
    obs[1] = float(double(b.py) + rng.normal(0.0, sp));
    obs[2] = float(double(b.pz) + rng.normal(0.0, sp));
    for (int k = 0; k < 9; ++k) obs[3 + k] = float(double(r[k]) + rng.normal(0.0, so));
    obs[12] = float(double(b.vx) + rng.normal(0.0, sv));
    obs[13] = float(double(b.vy) + rng.normal(0.0, sv));
    obs[14] = float(double(b.vz) + rng.normal(0.0, sv));
    obs[15] = float(double(b.wx) + rng.normal(0.0, sw));
    obs[16] = float(double(b.wy) + rng.normal(0.0, sw));
    obs[17] = float(double(b.wz) + rng.normal(0.0, sw));
    for (int k = 0; k < kHistoryDim; ++k) obs[18 + k] = float(s.action_history[k]);
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void observe_critic(const State<Real>& s, const Params<Real>& p, float* out) {
    const quadrotor::RigidBody<Real>& b = s.body;
    Real r[9];
    quadrotor::rotation_matrix(b, r);
    out[0] = float(b.px);
    out[1] = float(b.py);
    out[2] = float(b.pz);
    for (int k = 0; k < 9; ++k) out[3 + k] = float(r[k]);
    out[12] = float(b.vx);
    out[13] = float(b.vy);
    out[14] = float(b.vz);
    out[15] = float(b.wx);
    out[16] = float(b.wy);
    out[17] = float(b.wz);
    out[18] = float(s.disturbance.fx);
    out[19] = float(s.disturbance.fy);
    out[20] = float(s.disturbance.fz);
    out[21] = float(s.disturbance.tx);
    out[22] = float(s.disturbance.ty);
    out[23] = float(s.disturbance.tz);
    for (int i = 0; i < quadrotor::kNumRotors; ++i) out[24 + i] = float(quadrotor::rpm_to_action(b.rpm[i], p.airframe));
  }
};

}  // namespace turborl::envs
