#pragma once
// Counter-based random numbers: Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011). A draw is a pure function of (key, counter), so every
// environment owns an independent stream that needs no state beyond a few integers, gives the
// same numbers on CPU and GPU, and does not depend on how environments are split across threads.
#include <cmath>
#include <cstdint>

#include "turborl/core/hd.hpp"

namespace turborl {

struct Philox4x32Block {
  uint32_t v[4];
};

// Constants from the Philox paper (and Random123's philox.h).
inline constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
inline constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
inline constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;  // golden ratio
inline constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;  // sqrt(3) - 1

TURBORL_HD inline Philox4x32Block philox4x32_10(Philox4x32Block counter, uint32_t key0, uint32_t key1) {
  for (int round = 0; round < 10; ++round) {
    const uint64_t product0 = uint64_t(kPhiloxM0) * counter.v[0];
    const uint64_t product1 = uint64_t(kPhiloxM1) * counter.v[2];
    const uint32_t hi0 = uint32_t(product0 >> 32), lo0 = uint32_t(product0);
    const uint32_t hi1 = uint32_t(product1 >> 32), lo1 = uint32_t(product1);
    counter = Philox4x32Block{{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
    key0 += kPhiloxW0;
    key1 += kPhiloxW1;
  }
  return counter;
}

// What a stream is used for; part of the counter so that no two purposes share numbers. Every
// CounterRng in the library names its purpose here: two purposes with the same value and the
// same seed would draw the same numbers (the replay sampler once reused the sensor noise of the
// first observation of each episode).
enum class StreamPurpose : uint32_t {
  kEnvReset = 1,         // initial states of one episode
  kEnvStep = 2,          // per-step randomness of the dynamics (actuator noise)
  kEnvObservation = 3,   // sensor noise of the observation emitted at one step
  kGamePlayout = 4,      // the moves of one random playout of a board game
  kReplaySample = 5,     // the rows of one replay sample call
  kPpoPolicy = 6,        // the native PPO engine's action sampling and minibatch order
  kStreamPolicy = 7,     // the native stream-x engine's action sampling
  kPermutationTest = 8,  // the random subsets of one permutation test
  kCombinationLock = 0x10C4u,       // the secret combination of a combination-lock env
  kMctsTieBreak = 0x4D435453u,      // "MCTS": MuZero selection's tie-break noise
};

// A stream of 64-bit draws: key = a 64-bit seed, counter = (block, word1, word2, word3) where
// words 1-3 name the stream and the block index advances with each pair of draws.
class CounterRng {
 public:
  TURBORL_HD CounterRng(uint64_t seed, uint32_t word1, uint32_t word2, uint32_t word3)
      : key0_(uint32_t(seed)), key1_(uint32_t(seed >> 32)), word1_(word1), word2_(word2), word3_(word3) {}

  TURBORL_HD uint64_t next_u64() {
    if (buffered_ == 0) {
      const Philox4x32Block out = philox4x32_10(Philox4x32Block{{block_++, word1_, word2_, word3_}}, key0_, key1_);
      spare_ = uint64_t(out.v[2]) | (uint64_t(out.v[3]) << 32);
      buffered_ = 1;
      return uint64_t(out.v[0]) | (uint64_t(out.v[1]) << 32);
    }
    buffered_ = 0;
    return spare_;
  }

  // Uniform on [0, 1) with 53 random bits, as NumPy's Generator.random().
  TURBORL_HD double uniform() { return double(next_u64() >> 11) * (1.0 / 9007199254740992.0); }

  // Uniform on [low, high), computed as NumPy's Generator.uniform: low + (high - low) * u.
  TURBORL_HD double uniform(double low, double high) { return low + (high - low) * uniform(); }

  // Standard normal by the Box-Muller transform; each pair of uniforms gives two draws, the
  // second is kept for the next call.
  TURBORL_HD double normal() {
    if (has_spare_normal_) {
      has_spare_normal_ = false;
      return spare_normal_;
    }
    const double u1 = 1.0 - uniform();  // in (0, 1], so the log is finite
    const double u2 = uniform();
    const double radius = sqrt(-2.0 * log(u1));
    const double angle = 6.283185307179586 * u2;
    spare_normal_ = radius * sin(angle);
    has_spare_normal_ = true;
    return radius * cos(angle);
  }

  TURBORL_HD double normal(double mean, double std) { return mean + std * normal(); }

 private:
  uint32_t key0_, key1_;
  uint32_t word1_, word2_, word3_;
  uint32_t block_ = 0;
  uint32_t buffered_ = 0;
  uint64_t spare_ = 0;
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

// The stream of initial states for one episode of one environment. `env_seed` is the
// environment's own seed (Gymnasium's convention gives env i the seed s + i) and `episode`
// counts the resets since that seed was set.
TURBORL_HD inline CounterRng episode_reset_stream(uint64_t env_seed, uint64_t episode) {
  return CounterRng(env_seed, uint32_t(episode), uint32_t(episode >> 32),
                    static_cast<uint32_t>(StreamPurpose::kEnvReset));
}

// The stream of step `step` (counted from 0 within the episode) of episode `episode` of one
// environment, for one purpose. A pure function of its arguments, so restoring a state with
// get_state/set_state reproduces the noise that follows. Streams repeat after 2^32 episodes or
// steps.
TURBORL_HD inline CounterRng episode_step_stream(uint64_t env_seed, uint64_t episode, uint64_t step,
                                                 StreamPurpose purpose) {
  return CounterRng(env_seed, uint32_t(episode), uint32_t(step), static_cast<uint32_t>(purpose));
}

}  // namespace turborl
