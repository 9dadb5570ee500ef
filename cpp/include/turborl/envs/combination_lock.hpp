#pragma once
// The combination lock: the classic hard-exploration MDP (Koenig & Simmons, "The effect of
// representation and knowledge on goal-directed exploration with reinforcement-learning
// algorithms", Machine Learning 1996; the "combination lock" of Misra et al. 2020 and of the
// effective-horizon papers). At each of `length` steps one of the A actions is the right digit;
// a wrong digit drops the agent off the path for the rest of the episode. Only opening the lock,
// the right digit at the last step while still on the path, pays: reward 1. A uniformly random
// policy opens it with probability A^-length, so methods that explore by acting randomly need
// about A^length episodes, while planning over the effective horizon needs far fewer.
//
// The right digit at step t is a hash of (combination_seed, t) modulo A, the same on every
// platform and for both precisions. Set max_episode_steps >= length (both default to 10).
//
// The observation is tabular: a one-hot of the timestep (steps from kTimeSlots - 1 on share the
// last slot) and the on-path flag. (An earlier scalar t / length was too smooth a feature for
// SQIRL's regression to separate the 2^-9 value of the right first digit from 0.)
#include <array>
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/envs/env_spec.hpp"

namespace turborl::envs {

template <int N>
constexpr std::array<double, N> uniform_bounds(double value) {
  std::array<double, N> out{};
  for (double& x : out) x = value;
  return out;
}

template <int64_t kNumActions>
struct CombinationLockWithActions {
  static constexpr const char* id = kNumActions == 2 ? "CombinationLock-v0" : "CombinationLock-A4-v0";
  static constexpr int max_episode_steps = 10;

  static constexpr int kTimeSlots = 32;
  static constexpr int obs_dim = kTimeSlots + 1;  // one-hot timestep, then on the path (1) or off it (0)
  static constexpr auto obs_low = uniform_bounds<obs_dim>(0.0);
  static constexpr auto obs_high = uniform_bounds<obs_dim>(1.0);
  static constexpr ActionKind action_kind = ActionKind::kDiscrete;
  static constexpr int64_t num_actions = kNumActions;

  template <class Real>
  struct State {
    Real t, on_path;
  };
  static constexpr const char* state_names[] = {"t", "on_path"};

  template <class Real>
  struct Params {
    Real length, combination_seed;
  };
  static constexpr ParamInfo param_info[] = {
      {"length", 10.0, ParamConstraint::kPositive, "digits of the combination: the episode's length"},
      {"combination_seed", 0.0, ParamConstraint::kNonNegative, "which combination (its integer part)"},
  };

  // The right digit at step t: one Philox draw keyed by the seed, a pure function of (seed, t).
  TURBORL_HD TURBORL_INLINE static int64_t digit(uint64_t combination_seed, uint64_t t) {
    CounterRng rng(combination_seed, uint32_t(t), uint32_t(t >> 32), static_cast<uint32_t>(StreamPurpose::kCombinationLock));
    return int64_t(rng.next_u64() % uint64_t(kNumActions));
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void reset(State<Real>& s, const Params<Real>&, CounterRng&) {
    s.t = Real(0);
    s.on_path = Real(1);
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static StepResult step(State<Real>& s, const Params<Real>& p, int64_t action) {
    const auto t = uint64_t(s.t);
    const bool right = action == digit(uint64_t(p.combination_seed), t);
    const bool on_path = s.on_path != Real(0) && right;
    const bool last = Real(t + 1) >= p.length;
    s.t = Real(t + 1);
    s.on_path = on_path ? Real(1) : Real(0);
    return {on_path && last ? 1.0 : 0.0, last};
  }

  template <class Real>
  TURBORL_HD TURBORL_INLINE static void observe(const State<Real>& s, const Params<Real>&, float* obs) {
    const int slot = s.t < Real(kTimeSlots - 1) ? int(s.t) : kTimeSlots - 1;
    for (int k = 0; k < kTimeSlots; ++k) obs[k] = k == slot ? 1.0f : 0.0f;
    obs[kTimeSlots] = float(s.on_path);
  }
};

using CombinationLock = CombinationLockWithActions<2>;
using CombinationLock4 = CombinationLockWithActions<4>;

}  // namespace turborl::envs
