#pragma once
// MountainCarContinuous-v0: Moore's mountain car with a continuous force, as Gymnasium 1.x
// implements it in gymnasium/envs/classic_control/continuous_mountain_car.py.
//
// Gymnasium keeps the state in a float64 array after reset() but stores a float32 array after
// every step, and NumPy 2 evaluates `np.float32 (op) python float` in float32 (NEP 50). So the
// first step of an episode computes with float64 scalars and every later step with float32
// scalars. The float64 simulation reproduces both; `just_reset` records which one comes next.
#include <cstdint>
#include <type_traits>

#include "turborl/core/hd.hpp"
#include "turborl/core/math.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/envs/env_spec.hpp"
#include "turborl/envs/mountain_car.hpp"

namespace turborl::envs {

struct MountainCarContinuous {
  static constexpr const char* id = "MountainCarContinuous-v0";
  static constexpr int max_episode_steps = 999;

  // The same track as MountainCar-v0: position and velocity, with its bounds.
  static constexpr int obs_dim = MountainCar::obs_dim;
  static constexpr const double (&obs_low)[obs_dim] = MountainCar::obs_low;
  static constexpr const double (&obs_high)[obs_dim] = MountainCar::obs_high;
  static constexpr ActionKind action_kind = ActionKind::kBox;
  static constexpr int action_dim = 1;  // force, clipped to [-1, 1]
  static constexpr double action_low[action_dim] = {-1.0};
  static constexpr double action_high[action_dim] = {1.0};

  template <class Real>
  struct State {
    Real position, velocity;
    Real just_reset;  // 1 until the first step of an episode (Gymnasium's state is float64 then)
  };
  static constexpr const char* state_names[] = {"position", "velocity", "just_reset"};

  template <class Real>
  struct Params {
    Real power, gravity, min_position, max_position, max_speed, goal_position, goal_velocity;
  };
  static constexpr ParamInfo param_info[] = {
      {"power", 0.0015, ParamConstraint::kFinite, "acceleration per unit of force"},
      {"gravity", 0.0025, ParamConstraint::kFinite, "strength of the slope's pull (a literal in Gymnasium)"},
      {"min_position", -1.2, ParamConstraint::kFinite, "left wall"},
      {"max_position", 0.6, ParamConstraint::kFinite, "right end of the track"},
      {"max_speed", 0.07, ParamConstraint::kPositive, "bound on |velocity|"},
      {"goal_position", 0.45, ParamConstraint::kFinite, "position that ends the episode"},
      {"goal_velocity", 0.0, ParamConstraint::kFinite, "minimum velocity at the goal"},
  };

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void reset(State<Real>& s, const Params<Real>&, CounterRng& rng) {
    s.position = Real(rng.uniform(-0.6, -0.4));
    s.velocity = Real(0);
    s.just_reset = Real(1);
  }

  // One step in which the state variables are NumPy scalars of type `Scalar`. Python floats
  // (constants, math.cos results) are `Real`; mixing them with a Scalar gives a Scalar.
  template <class Scalar, class Real>
  TURBORL_HD TURBORL_INLINE static StepResult step_with_scalars(State<Real>& s, const Params<Real>& p, float action) {
    Scalar position = Scalar(s.position);
    Scalar velocity = Scalar(s.velocity);
    const Real slope = p.gravity * Math<Real>::cos(Real(Scalar(3) * position));  // 0.0025 * math.cos(3 * position)

    // force = min(max(action[0], min_action), max_action): the float32 action itself, or a
    // Python float when clipped. velocity += force * power - slope.
    if (action < -1.0f || action > 1.0f) {
      const Real force = action < -1.0f ? Real(-1.0) : Real(1.0);
      velocity = velocity + Scalar(force * p.power - slope);
    } else {
      const float change = action * float(p.power) - float(slope);
      velocity = velocity + Scalar(change);
    }
    if (velocity > Scalar(p.max_speed)) velocity = Scalar(p.max_speed);
    if (velocity < Scalar(-p.max_speed)) velocity = Scalar(-p.max_speed);
    position = position + velocity;
    if (position > Scalar(p.max_position)) position = Scalar(p.max_position);
    if (position < Scalar(p.min_position)) position = Scalar(p.min_position);
    if (position == Scalar(p.min_position) && velocity < Scalar(0)) velocity = Scalar(0);

    const bool terminated = position >= Scalar(p.goal_position) && velocity >= Scalar(p.goal_velocity);
    // reward = 0; if terminated: reward = 100.0; reward -= math.pow(action[0], 2) * 0.1
    // (the unclipped action; its square is exact in double).
    const double action_cost = (double(action) * double(action)) * 0.1;
    const double reward = (terminated ? 100.0 : 0.0) - action_cost;

    // self.state = np.array([position, velocity], dtype=np.float32)
    s.position = Real(float(position));
    s.velocity = Real(float(velocity));
    s.just_reset = Real(0);
    return {reward, terminated};
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static StepResult step(State<Real>& s, const Params<Real>& p, const float* action) {
    if constexpr (std::is_same_v<Real, double>) {
      if (s.just_reset != 0) return step_with_scalars<double>(s, p, action[0]);
    }
    return step_with_scalars<float>(s, p, action[0]);
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void observe(const State<Real>& s, const Params<Real>&, float* obs) {
    obs[0] = float(s.position);
    obs[1] = float(s.velocity);
  }
};

}  // namespace turborl::envs
