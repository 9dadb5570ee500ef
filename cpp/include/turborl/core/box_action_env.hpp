#pragma once
// A vector env with Box actions as code compiled in another file sees it. The off-policy
// collection loop (nn/collect.hpp) steps envs through this interface, so that their physics
// stays in the file that instantiates VecEnv (bindings/bind_envs.cpp, built without FMA
// contraction: there the float64 simulators match Gymnasium bit for bit). One virtual call
// per vector step costs nothing next to the step.
#include <cstdint>

namespace turborl {

struct BoxActionEnvShape {
  int64_t num_envs;
  int obs_dim, critic_obs_dim, action_dim;
  bool next_step_autoreset;  // Gymnasium's next_step mode: the step after an episode's end resets
};

// The buffers a step writes; valid until the next step or reset. Flags are one byte, 0 or 1.
struct BoxActionEnvStep {
  const float* obs;            // [num_envs][obs_dim]
  const float* critic_obs;     // [num_envs][critic_obs_dim]
  const double* rewards;       // [num_envs]
  const uint8_t* terminated;
  const uint8_t* truncated;
  const uint8_t* episode_ended;
  const double* final_return;  // valid where episode_ended
};

class BoxActionEnv {
 public:
  virtual ~BoxActionEnv() = default;
  virtual BoxActionEnvShape shape() const = 0;
  virtual BoxActionEnvStep outputs() = 0;
  // Steps every env with scale * a + bias for unit actions a in [-1, 1], computed in float64 and
  // rounded to float32 (what NumPy computes for the algorithms' Python path) into env_actions
  // [num_envs][action_dim], or with the unit actions themselves when scale is 1 and bias 0;
  // returns the number of episodes that ended. Bad actions throw before any env changes.
  virtual int64_t step_unit_actions(const float* unit_actions, const double* scale, const double* bias,
                                    float* env_actions) = 0;
};

}  // namespace turborl
