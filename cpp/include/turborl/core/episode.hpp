#pragma once
// Episode bookkeeping for one environment after a physics step: Gymnasium's TimeLimit
// (truncated once elapsed_steps reaches the limit), its three vector autoreset modes, and the
// return/length statistics of RecordEpisodeStatistics. Written once and used by the CPU engine
// and the CUDA kernels alike.
#include <cstdint>

#include "turborl/core/hd.hpp"

namespace turborl {

enum class AutoresetMode : int {
  kNextStep = 0,  // the step after an episode ends resets the env: reset obs, reward 0, flags false
  kSameStep = 1,  // the ending step resets at once; the last obs goes to info["final_obs"]
  kDisabled = 2,  // the caller resets finished envs with reset(options={"reset_mask": ...})
};

struct EpisodeCounters {
  int64_t elapsed_steps;
  double episode_return;
  int64_t episode_length;
  bool needs_reset;  // the episode has ended and the env has not been reset since
};

struct EpisodeEvents {
  bool ended;       // this step ended an episode (terminated or truncated)
  bool reset_now;   // the env must be reset at the end of this step
  double final_return;
  int64_t final_length;
};

// `reward` and `terminated` come from the physics step and are rewritten here when the step is
// an autoreset step; `truncated` is written here. Written with selects and bitwise & | on bools
// (not && ||, which are branches) so that the CPU engine's loop over envs vectorises.
template <AutoresetMode Mode>
TURBORL_HD TURBORL_INLINE EpisodeEvents advance_episode(EpisodeCounters& counters, double& reward, bool& terminated,
                                                bool& truncated, int64_t max_episode_steps) {
  // next_step: an env whose episode ended last step is only reset now; what the physics pass
  // computed for it is discarded and its new episode starts from zero.
  const bool resetting = (Mode == AutoresetMode::kNextStep) & counters.needs_reset;
  const int64_t elapsed = resetting ? 0 : counters.elapsed_steps + 1;
  reward = resetting ? 0.0 : reward;
  terminated = !resetting & terminated;
  truncated = !resetting & (elapsed >= max_episode_steps);
  const double episode_return = resetting ? 0.0 : counters.episode_return + reward;
  const int64_t episode_length = resetting ? 0 : counters.episode_length + 1;
  const bool ended = terminated | truncated;

  EpisodeEvents events{ended, resetting, episode_return, episode_length};
  if constexpr (Mode == AutoresetMode::kSameStep) {
    // The ending step resets at once and the next episode starts from zero.
    events.reset_now = ended;
    counters = EpisodeCounters{ended ? 0 : elapsed, ended ? 0.0 : episode_return, ended ? 0 : episode_length, false};
  } else {
    counters = EpisodeCounters{elapsed, episode_return, episode_length, ended};
  }
  return events;
}

}  // namespace turborl
