#pragma once
// The vocabulary every environment header uses to describe itself to the vector-env engine.
//
// An environment is a struct with:
//   id, max_episode_steps, obs_dim, obs_low[obs_dim], obs_high[obs_dim]  (Gymnasium's spaces),
//   action_kind and either num_actions (Discrete) or action_dim, action_low, action_high (Box),
//   template <class Real> struct State   -- only Real fields, named in state_names[],
//   template <class Real> struct Params  -- only Real fields, described in param_info[] in order,
//   TURBORL_HD reset(State&, const Params&, CounterRng&),
//   TURBORL_HD step(State&, const Params&, Action) -> StepResult,
//   TURBORL_HD observe(const State&, const Params&, float* obs).
// Optional:
//   step(State&, const Params&, Action, CounterRng&) -- a stochastic step; the engine passes the
//     stream of (env seed, episode, step, kEnvStep);
//   observe(const State&, const Params&, float* obs, CounterRng&) -- sensor noise; the stream of
//     (env seed, episode, index of the observation in the episode, kEnvObservation), so the same
//     state at the same time always gives the same observation (set_state reproduces it);
//   critic_obs_dim and observe_critic(const State&, const Params&, float* out) -- a privileged,
//     noise-free observation for asymmetric actor-critics, kept next to obs.
// Everything else (storage, seeding, time limits, autoreset, statistics, threads, CUDA launch)
// belongs to the engine in core/vec_env.hpp.
#include <cstdint>

namespace turborl::envs {

enum class ActionKind { kDiscrete, kBox };

enum class ParamConstraint {
  kFinite,       // any finite value
  kPositive,     // > 0 (masses, lengths, time steps)
  kNonNegative,  // >= 0
};

struct ParamInfo {
  const char* name;
  double default_value;
  ParamConstraint constraint;
  const char* doc;
};

struct StepResult {
  double reward;
  bool terminated;
};

}  // namespace turborl::envs
