#pragma once
// MountainCar-v0: Moore, "Efficient memory-based learning for robot control" (PhD thesis, 1990),
// as Gymnasium 1.x implements it in gymnasium/envs/classic_control/mountain_car.py.
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/core/math.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/envs/env_spec.hpp"

namespace turborl::envs {

struct MountainCar {
  static constexpr const char* id = "MountainCar-v0";
  static constexpr int max_episode_steps = 200;

  static constexpr int obs_dim = 2;  // position, velocity
  static constexpr double obs_low[obs_dim] = {-1.2, -0.07};
  static constexpr double obs_high[obs_dim] = {0.6, 0.07};
  static constexpr ActionKind action_kind = ActionKind::kDiscrete;
  static constexpr int64_t num_actions = 3;  // accelerate left, don't accelerate, accelerate right

  template <class Real>
  struct State {
    Real position, velocity;
  };
  static constexpr const char* state_names[] = {"position", "velocity"};

  template <class Real>
  struct Params {
    Real force, gravity, min_position, max_position, max_speed, goal_position, goal_velocity;
  };
  static constexpr ParamInfo param_info[] = {
      {"force", 0.001, ParamConstraint::kFinite, "acceleration of one push"},
      {"gravity", 0.0025, ParamConstraint::kFinite, "strength of the slope's pull"},
      {"min_position", -1.2, ParamConstraint::kFinite, "left wall"},
      {"max_position", 0.6, ParamConstraint::kFinite, "right end of the track"},
      {"max_speed", 0.07, ParamConstraint::kPositive, "bound on |velocity|"},
      {"goal_position", 0.5, ParamConstraint::kFinite, "position that ends the episode"},
      {"goal_velocity", 0.0, ParamConstraint::kFinite, "minimum velocity at the goal"},
  };

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void reset(State<Real>& s, const Params<Real>&, CounterRng& rng) {
    s.position = Real(rng.uniform(-0.6, -0.4));
    s.velocity = Real(0);
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static StepResult step(State<Real>& s, const Params<Real>& p, int64_t action) {
    Real velocity = s.velocity + (Real(action - 1) * p.force + Math<Real>::cos(Real(3) * s.position) * (-p.gravity));
    velocity = clip(velocity, -p.max_speed, p.max_speed);
    Real position = s.position + velocity;
    position = clip(position, p.min_position, p.max_position);
    // At the left wall the car stops. (Selects and bitwise &, not branches: the loop over envs
    // vectorises.)
    velocity = ((position == p.min_position) & (velocity < Real(0))) ? Real(0) : velocity;
    s.position = position;
    s.velocity = velocity;
    const bool terminated = (position >= p.goal_position) & (velocity >= p.goal_velocity);
    return {-1.0, terminated};
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void observe(const State<Real>& s, const Params<Real>&, float* obs) {
    obs[0] = float(s.position);
    obs[1] = float(s.velocity);
  }
};

}  // namespace turborl::envs
