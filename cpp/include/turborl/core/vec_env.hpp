#pragma once
// The generic batched vector environment (the engine every simulator plugs into, the way
// EnvPool's environments plug into its pool). An environment header supplies the physics of one
// environment (see envs/env_spec.hpp); the engine owns everything else once:
//
// - struct-of-arrays storage: state field k of env i lives at state_columns[k * num_envs + i],
//   so the physics loop reads and writes contiguous memory and the compiler vectorises it;
// - physical parameters per env, with a fast path when all envs share the same values;
// - per-env counter-based random streams keyed by (env seed, episode index);
// - time limits, the three Gymnasium autoreset modes and episode statistics (core/episode.hpp);
// - a persistent thread pool over contiguous chunks of envs (results never depend on it).
//
// A step runs three passes over each chunk: physics for every env (branch-free, vectorisable),
// bookkeeping (time limit, flags, statistics), and resets for the few envs that need one.
// Nothing is allocated after construction.
#include <algorithm>
#include <array>
#include <bit>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <mutex>
#include <type_traits>
#include <utility>

#include "turborl/core/aligned_array.hpp"
#include "turborl/core/box_action_env.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/episode.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/core/thread_pool.hpp"
#include "turborl/envs/env_spec.hpp"

namespace turborl {

template <class Env, class Real>
class VecEnv {
 public:
  using State = typename Env::template State<Real>;
  using Params = typename Env::template Params<Real>;
  static constexpr int kStateDim = int(sizeof(State) / sizeof(Real));
  static constexpr int kNumParams = int(sizeof(Params) / sizeof(Real));
  static constexpr int kObsDim = Env::obs_dim;
  static constexpr bool kDiscrete = Env::action_kind == envs::ActionKind::kDiscrete;
  using ActionScalar = std::conditional_t<kDiscrete, int64_t, float>;
  static constexpr int kActionDim = [] {
    if constexpr (kDiscrete) return 1;
    else return Env::action_dim;
  }();
  // Flags are stored as bytes holding 0 or 1: GCC vectorises loops over uint8_t but not over
  // bool next to 8-byte fields. The accessors hand them out as bool* (same layout) for NumPy.
  using Flag = uint8_t;
  // Optional parts of an environment (envs/env_spec.hpp).
  using StepAction = std::conditional_t<kDiscrete, int64_t, const float*>;
  static constexpr bool kStochasticStep =
      requires(State& s, const Params& p, StepAction a, CounterRng& rng) { Env::step(s, p, a, rng); };
  static constexpr bool kNoisyObservation =
      requires(const State& s, const Params& p, float* obs, CounterRng& rng) { Env::observe(s, p, obs, rng); };
  static constexpr int kCriticObsDim = [] {
    if constexpr (requires { Env::critic_obs_dim; }) return int(Env::critic_obs_dim);
    else return 0;
  }();
  // Below this many envs per thread, handing work to another thread costs more than it saves.
  static constexpr int64_t kMinEnvsPerThread = 256;

  static_assert(std::is_trivially_copyable_v<State> && sizeof(State) == kStateDim * sizeof(Real),
                "State must hold only Real fields");
  static_assert(std::is_trivially_copyable_v<Params> && sizeof(Params) == kNumParams * sizeof(Real),
                "Params must hold only Real fields");
  static_assert(std::size(Env::state_names) == kStateDim, "state_names must name every State field");
  static_assert(std::size(Env::param_info) == kNumParams, "param_info must describe every Params field in order");

  VecEnv(int64_t num_envs, int num_threads, int64_t max_episode_steps, AutoresetMode mode)
      : num_envs_(checked_num_envs(num_envs)),
        max_episode_steps_(max_episode_steps),
        mode_(mode),
        pool_(num_threads),
        state_(size_t(kStateDim) * num_envs),
        params_(size_t(kNumParams) * num_envs),
        obs_(size_t(kObsDim) * num_envs),
        final_obs_(size_t(kObsDim) * num_envs),
        critic_obs_(size_t(kCriticObsDim) * num_envs),
        final_critic_obs_(size_t(kCriticObsDim) * num_envs),
        rewards_(num_envs),
        terminated_(num_envs),
        truncated_(num_envs),
        episode_ended_(num_envs),
        reset_now_(num_envs),
        needs_reset_(num_envs),
        elapsed_steps_(num_envs),
        episode_return_(num_envs),
        episode_length_(num_envs),
        final_return_(num_envs),
        final_length_(num_envs),
        env_seeds_(num_envs),
        episode_index_(num_envs) {
    TURBORL_CHECK(max_episode_steps >= 1, "max_episode_steps must be >= 1, got ", max_episode_steps);
    TURBORL_CHECK(int(mode) >= 0 && int(mode) <= 2, "autoreset_mode must be 0, 1 or 2, got ", int(mode));
    for (int k = 0; k < kNumParams; ++k) {
      std::fill_n(params_.data() + size_t(k) * num_envs_, num_envs_, Real(Env::param_info[k].default_value));
    }
    params_changed();
  }

  int64_t num_envs() const { return num_envs_; }
  int num_threads() const { return pool_.num_threads(); }
  int64_t max_episode_steps() const { return max_episode_steps_; }
  AutoresetMode autoreset_mode() const { return mode_; }

  // ---- storage, exposed to Python as arrays that live as long as this object ------------------
  Real* state_columns() { return state_.data(); }      // [kStateDim][num_envs]
  Real* param_columns() { return params_.data(); }     // [kNumParams][num_envs]
  float* obs() { return obs_.data(); }                 // [num_envs][kObsDim]
  float* final_obs() { return final_obs_.data(); }     // rows valid where episode_ended (same_step)
  float* critic_obs() { return critic_obs_.data(); }   // [num_envs][kCriticObsDim]
  float* final_critic_obs() { return final_critic_obs_.data(); }
  double* rewards() { return rewards_.data(); }
  bool* terminated() { return reinterpret_cast<bool*>(terminated_.data()); }
  bool* truncated() { return reinterpret_cast<bool*>(truncated_.data()); }
  bool* episode_ended() { return reinterpret_cast<bool*>(episode_ended_.data()); }  // this step ended an episode
  double* final_return() { return final_return_.data(); }  // valid where episode_ended
  int64_t* final_length() { return final_length_.data(); }
  bool* needs_reset() { return reinterpret_cast<bool*>(needs_reset_.data()); }
  int64_t* elapsed_steps() { return elapsed_steps_.data(); }
  double* episode_return() { return episode_return_.data(); }
  int64_t* episode_length() { return episode_length_.data(); }
  uint64_t* env_seeds() { return env_seeds_.data(); }
  uint64_t* episode_index() { return episode_index_.data(); }

  // Call after writing param_columns(): decides whether all envs share one set of parameters.
  void params_changed() {
    params_uniform_ = true;
    for (int k = 0; k < kNumParams && params_uniform_; ++k) {
      const Real* column = params_.data() + size_t(k) * num_envs_;
      params_uniform_ = std::all_of(column, column + num_envs_, [&](Real v) { return v == column[0]; });
    }
    uniform_params_ = params_at(0);
  }

  bool params_uniform() const { return params_uniform_; }

  // Throws (without touching any env) if an action lies outside the action space. The first
  // pass only counts bad values (an integer reduction, which vectorises); the slow pass that
  // finds the culprit runs only on error.
  void validate_actions(const ActionScalar* actions) const {
    const int64_t count = num_envs_ * kActionDim;
    int64_t bad = 0;
    if constexpr (kDiscrete) {
      for (int64_t i = 0; i < count; ++i) bad += uint64_t(actions[i]) >= uint64_t(Env::num_actions);
      if (bad == 0) return;
      for (int64_t i = 0; i < count; ++i) {
        TURBORL_CHECK(actions[i] >= 0 && actions[i] < Env::num_actions, "actions[", i, "] = ", actions[i],
                      " is outside the action space Discrete(", Env::num_actions, "): valid actions are 0..",
                      Env::num_actions - 1);
      }
    } else {
      for (int64_t i = 0; i < count; ++i) bad += !(std::fabs(actions[i]) <= 3.4028235e38f);
      if (bad == 0) return;
      for (int64_t i = 0; i < count; ++i) {
        TURBORL_CHECK(std::isfinite(actions[i]), "actions[", i / kActionDim, ", ", i % kActionDim, "] = ",
                      actions[i], " is not finite: continuous actions must be finite float32 numbers");
      }
    }
  }

  // Steps every env once; returns how many episodes ended in this step.
  int64_t step(const ActionScalar* actions) {
    std::unique_lock<std::mutex> lock(call_mutex_, std::try_to_lock);
    TURBORL_CHECK_STATE(lock.owns_lock(), "step() and reset() of one vector env were called from two threads at once");
    validate_actions(actions);
    if (mode_ == AutoresetMode::kDisabled) {
      const Flag* pending = needs_reset_.data();
      const Flag* first = std::find(pending, pending + num_envs_, Flag(1));
      TURBORL_CHECK_STATE(first == pending + num_envs_, "env ", first - pending,
                          " has ended its episode and autoreset_mode is 'disabled': reset it with "
                          "reset(options={'reset_mask': mask}) before stepping");
    }
    std::atomic<int64_t> ended{0};
    pool_.run_chunks(
        num_envs_,
        [&](int64_t begin, int64_t end) { ended.fetch_add(step_range(actions, begin, end), std::memory_order_relaxed); },
        kMinEnvsPerThread);
    return ended.load(std::memory_order_relaxed);
  }

  // Resets the envs where mask is true (all envs when mask is null) from their random streams.
  void reset(const bool* mask) {
    std::unique_lock<std::mutex> lock(call_mutex_, std::try_to_lock);
    TURBORL_CHECK_STATE(lock.owns_lock(), "step() and reset() of one vector env were called from two threads at once");
    pool_.run_chunks(
        num_envs_,
        [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) {
            if (mask != nullptr && !mask[i]) continue;
            reset_env(i);
            rewards_[i] = 0.0;
            terminated_[i] = truncated_[i] = episode_ended_[i] = false;
            needs_reset_[i] = false;
            elapsed_steps_[i] = 0;
            episode_return_[i] = 0.0;
            episode_length_[i] = 0;
          }
        },
        kMinEnvsPerThread);
  }

  // Recomputes the observations of the given envs from their state (after state was written).
  void refresh_observations(const int64_t* env_ids, int64_t count) {
    for (int64_t j = 0; j < count; ++j) {
      TURBORL_CHECK_INDEX(env_ids[j] >= 0 && env_ids[j] < num_envs_, "env_ids[", j, "] = ", env_ids[j],
                          " is outside [0, ", num_envs_, ")");
    }
    for (int64_t j = 0; j < count; ++j) {
      const int64_t i = env_ids[j];
      // The observation of step elapsed_steps of the current episode (reset_env counted it).
      observe_env(obs_.data(), critic_obs_.data(), i, load_state(i), params_at(i), env_seeds_[i],
                  episode_index_[i] - 1, uint64_t(elapsed_steps_[i]));
    }
  }

  Params params_at(int64_t i) const { return load_params(params_.data(), num_envs_, i); }

 private:
  static int64_t checked_num_envs(int64_t num_envs) {
    TURBORL_CHECK(num_envs >= 1, "num_envs must be >= 1, got ", num_envs);
    return num_envs;
  }

  // State and Params are plain structs of Real fields; field k of env i lives at
  // columns[k * n + i]. The helpers take raw column pointers so that the kernels can pass them
  // as __restrict parameters (see physics_kernel).
  TURBORL_INLINE static State load_state(const Real* __restrict columns, int64_t n, int64_t i) {
    return load_fields<State>(columns, n, i, std::make_index_sequence<kStateDim>{});
  }

  // Aggregate initialisation from each field's column. (A bit_cast from an array would move a
  // small struct as one integer, which the vectoriser cannot split into per-field lanes; the
  // store direction has no such problem.)
  template <class Fields, size_t... k>
  TURBORL_INLINE static Fields load_fields(const Real* __restrict columns, int64_t n, int64_t i,
                                           std::index_sequence<k...>) {
    return Fields{columns[int64_t(k) * n + i]...};
  }

  TURBORL_INLINE static void store_state(Real* __restrict columns, int64_t n, int64_t i, const State& s) {
    const auto values = std::bit_cast<std::array<Real, kStateDim>>(s);
    for (int k = 0; k < kStateDim; ++k) columns[k * n + i] = values[k];
  }

  TURBORL_INLINE static Params load_params(const Real* __restrict columns, int64_t n, int64_t i) {
    return load_fields<Params>(columns, n, i, std::make_index_sequence<kNumParams>{});
  }

  State load_state(int64_t i) const { return load_state(state_.data(), num_envs_, i); }
  void store_state(int64_t i, const State& s) { store_state(state_.data(), num_envs_, i, s); }

  TURBORL_INLINE static auto action_of(const ActionScalar* actions, int64_t i) {
    if constexpr (kDiscrete) return actions[i];
    else return actions + i * kActionDim;
  }

  void reset_env(int64_t i) {
    const Params p = params_uniform_ ? uniform_params_ : params_at(i);
    const uint64_t episode = episode_index_[i];
    CounterRng rng = episode_reset_stream(env_seeds_[i], episode);
    episode_index_[i] += 1;
    State s;
    Env::reset(s, p, rng);
    store_state(i, s);
    observe_env(obs_.data(), critic_obs_.data(), i, s, p, env_seeds_[i], episode, 0);
  }

  // Writes env i's observation (and critic observation) of step `step` of `episode`.
  TURBORL_INLINE static void observe_env(float* __restrict obs, float* __restrict critic_obs, int64_t i,
                                         const State& s, const Params& p, uint64_t env_seed, uint64_t episode,
                                         uint64_t step) {
    if constexpr (kNoisyObservation) {
      CounterRng rng = episode_step_stream(env_seed, episode, step, StreamPurpose::kEnvObservation);
      Env::observe(s, p, obs + i * kObsDim, rng);
    } else {
      Env::observe(s, p, obs + i * kObsDim);
    }
    if constexpr (kCriticObsDim > 0) Env::observe_critic(s, p, critic_obs + i * kCriticObsDim);
  }

  // Steps env i's physics; stochastic envs draw from the stream of (episode, step).
  TURBORL_INLINE static envs::StepResult step_physics(State& s, const Params& p, StepAction action,
                                                      uint64_t env_seed, uint64_t episode, uint64_t step) {
    if constexpr (kStochasticStep) {
      CounterRng rng = episode_step_stream(env_seed, episode, step, StreamPurpose::kEnvStep);
      return Env::step(s, p, action, rng);
    } else {
      return Env::step(s, p, action);
    }
  }

  // Read-only views of what keys the per-step random streams.
  struct RandomStreams {
    const uint64_t* env_seeds;
    const uint64_t* episode_index;
    const int64_t* elapsed_steps;
  };

  // Environments may expose the transcendental part of a step as `trig(state)` (see
  // envs/cartpole.hpp). On the exact float64 path those are libm calls that keep a loop scalar,
  // so the engine computes them for a block of envs first and vectorises the rest.
  static constexpr bool kSplitTrig =
      std::is_same_v<Real, double> && requires(const State& s) { Env::trig(s); };
  static constexpr int64_t kTrigBlock = 64;

  // The physics pass: branch-free over envs, so the compiler vectorises it (AVX-512 on x86).
  // The buffers are __restrict parameters of a non-inlined function because GCC only trusts
  // restrict there; without it, state and observation stores might alias and the loop stays
  // scalar. With kSharedParams every env reads `shared` through a reference (loop-invariant
  // loads; copying a Params struct inside the loop blocks vectorisation); otherwise env i's
  // parameters come from `param_columns` [kNumParams][n].
  template <bool kSharedParams>
  [[gnu::noinline]] static void physics_kernel(Real* __restrict state, float* __restrict obs,
                                               double* __restrict rewards, Flag* __restrict terminated,
                                               const ActionScalar* __restrict actions, int64_t n, int64_t begin,
                                               int64_t end, const Params& shared,
                                               const Real* __restrict param_columns,
                                               const RandomStreams& streams, float* __restrict critic_obs) {
    // Steps env i; `trig` is empty or the env's precomputed transcendental terms.
    auto step_env = [&](int64_t i, const auto&... trig) __attribute__((always_inline)) {
      State s = load_state(state, n, i);
      envs::StepResult result;
      if constexpr (kStochasticStep || kNoisyObservation || kCriticObsDim > 0) {
        // Envs with random streams: the current episode is episode_index - 1 (reset_env counted
        // it) and this step produces the observation of step elapsed_steps + 1.
        const Params p = kSharedParams ? shared : load_params(param_columns, n, i);
        const uint64_t seed = streams.env_seeds[i], episode = streams.episode_index[i] - 1;
        const uint64_t t = uint64_t(streams.elapsed_steps[i]);
        result = step_physics(s, p, action_of(actions, i), seed, episode, t);
        observe_env(obs, critic_obs, i, s, p, seed, episode, t + 1);
      } else if constexpr (kSharedParams) {
        result = Env::step(s, shared, action_of(actions, i), trig...);
        Env::observe(s, shared, obs + i * kObsDim);
      } else {
        const Params p = load_params(param_columns, n, i);
        result = Env::step(s, p, action_of(actions, i), trig...);
        Env::observe(s, p, obs + i * kObsDim);
      }
      store_state(state, n, i, s);
      rewards[i] = result.reward;
      terminated[i] = result.terminated;
    };
    if constexpr (kSplitTrig) {
      using Trig = decltype(Env::trig(std::declval<const State&>()));
      Trig trig[kTrigBlock];
      for (int64_t block = begin; block < end; block += kTrigBlock) {
        const int64_t block_end = std::min(block + kTrigBlock, end);
        for (int64_t i = block; i < block_end; ++i) trig[i - block] = Env::trig(load_state(state, n, i));
        for (int64_t i = block; i < block_end; ++i) step_env(i, trig[i - block]);
      }
    } else {
      for (int64_t i = begin; i < end; ++i) step_env(i);
    }
  }

  // The bookkeeping pass (time limit, autoreset, statistics; core/episode.hpp), vectorised like
  // the physics pass, then resets for the few envs that need one.
  template <AutoresetMode Mode>
  [[gnu::noinline]] static int64_t bookkeeping_kernel(
      double* __restrict rewards, Flag* __restrict terminated, Flag* __restrict truncated,
      Flag* __restrict episode_ended, Flag* __restrict reset_now, Flag* __restrict needs_reset,
      int64_t* __restrict elapsed_steps, double* __restrict episode_return, int64_t* __restrict episode_length,
      double* __restrict final_return, int64_t* __restrict final_length, int64_t max_episode_steps, int64_t begin,
      int64_t end) {
    int64_t ended = 0;
    for (int64_t i = begin; i < end; ++i) {
      EpisodeCounters counters{elapsed_steps[i], episode_return[i], episode_length[i], needs_reset[i] != 0};
      double reward = rewards[i];
      bool is_terminated = terminated[i] != 0;
      bool is_truncated = false;
      const EpisodeEvents events =
          advance_episode<Mode>(counters, reward, is_terminated, is_truncated, max_episode_steps);
      elapsed_steps[i] = counters.elapsed_steps;
      episode_return[i] = counters.episode_return;
      episode_length[i] = counters.episode_length;
      needs_reset[i] = counters.needs_reset;
      rewards[i] = reward;
      terminated[i] = is_terminated;
      truncated[i] = is_truncated;
      episode_ended[i] = events.ended;
      final_return[i] = events.final_return;
      final_length[i] = events.final_length;
      reset_now[i] = events.reset_now;
      ended += events.ended;
    }
    return ended;
  }

  template <AutoresetMode Mode>
  int64_t bookkeeping_range(int64_t begin, int64_t end) {
    const int64_t ended = bookkeeping_kernel<Mode>(
        rewards_.data(), terminated_.data(), truncated_.data(), episode_ended_.data(), reset_now_.data(),
        needs_reset_.data(), elapsed_steps_.data(), episode_return_.data(), episode_length_.data(),
        final_return_.data(), final_length_.data(), max_episode_steps_, begin, end);
    for (int64_t i = begin; i < end; ++i) {
      if (!reset_now_[i]) continue;
      if constexpr (Mode == AutoresetMode::kSameStep) {
        std::memcpy(final_obs_.data() + i * kObsDim, obs_.data() + i * kObsDim, sizeof(float) * kObsDim);
        if constexpr (kCriticObsDim > 0) {
          std::memcpy(final_critic_obs_.data() + i * kCriticObsDim, critic_obs_.data() + i * kCriticObsDim,
                      sizeof(float) * kCriticObsDim);
        }
      }
      reset_env(i);
    }
    return ended;
  }

  int64_t step_range(const ActionScalar* actions, int64_t begin, int64_t end) {
    const RandomStreams streams{env_seeds_.data(), episode_index_.data(), elapsed_steps_.data()};
    if (params_uniform_) {
      physics_kernel<true>(state_.data(), obs_.data(), rewards_.data(), terminated_.data(), actions, num_envs_, begin,
                           end, uniform_params_, nullptr, streams, critic_obs_.data());
    } else {
      physics_kernel<false>(state_.data(), obs_.data(), rewards_.data(), terminated_.data(), actions, num_envs_,
                            begin, end, uniform_params_, params_.data(), streams, critic_obs_.data());
    }
    switch (mode_) {
      case AutoresetMode::kNextStep: return bookkeeping_range<AutoresetMode::kNextStep>(begin, end);
      case AutoresetMode::kSameStep: return bookkeeping_range<AutoresetMode::kSameStep>(begin, end);
      case AutoresetMode::kDisabled: return bookkeeping_range<AutoresetMode::kDisabled>(begin, end);
    }
    return 0;
  }

  const int64_t num_envs_;
  const int64_t max_episode_steps_;
  const AutoresetMode mode_;
  ThreadPool pool_;
  std::mutex call_mutex_;

  AlignedArray<Real> state_;
  AlignedArray<Real> params_;
  bool params_uniform_ = true;
  Params uniform_params_{};

  AlignedArray<float> obs_;
  AlignedArray<float> final_obs_;
  AlignedArray<float> critic_obs_;
  AlignedArray<float> final_critic_obs_;
  AlignedArray<double> rewards_;
  AlignedArray<Flag> terminated_;
  AlignedArray<Flag> truncated_;
  AlignedArray<Flag> episode_ended_;
  AlignedArray<Flag> reset_now_;
  AlignedArray<Flag> needs_reset_;
  AlignedArray<int64_t> elapsed_steps_;
  AlignedArray<double> episode_return_;
  AlignedArray<int64_t> episode_length_;
  AlignedArray<double> final_return_;
  AlignedArray<int64_t> final_length_;
  AlignedArray<uint64_t> env_seeds_;
  AlignedArray<uint64_t> episode_index_;
};

// A VecEnv with Box actions that loops compiled elsewhere can step (core/box_action_env.hpp).
// BoxActionEnv comes first: nanobind hands the object's address to functions taking a
// BoxActionEnv&, so that base must sit at offset 0 (bind_envs.cpp checks it).
template <class Env, class Real>
class BoxActionVecEnv final : public BoxActionEnv, public VecEnv<Env, Real> {
  using Base = VecEnv<Env, Real>;
  static_assert(!Base::kDiscrete, "BoxActionVecEnv needs an env with Box actions");

 public:
  using Base::Base;

  BoxActionEnvShape shape() const override {
    return {Base::num_envs(), Base::kObsDim, Base::kCriticObsDim, Base::kActionDim,
            Base::autoreset_mode() == AutoresetMode::kNextStep};
  }

  BoxActionEnvStep outputs() override {
    auto bytes = [](bool* flags) { return reinterpret_cast<const uint8_t*>(flags); };
    return {Base::obs(), Base::critic_obs(), Base::rewards(), bytes(Base::terminated()), bytes(Base::truncated()),
            bytes(Base::episode_ended()), Base::final_return()};
  }

  int64_t step_unit_actions(const float* unit_actions, const double* scale, const double* bias,
                            float* env_actions) override {
    constexpr int d = Base::kActionDim;
    // As the Python path (ContinuousOffPolicy.to_env_actions): unit bounds pass the actions as
    // they are; otherwise NumPy's float64 a * scale, then + bias, then the float32 cast (no fused
    // multiply-add: this is instantiated in bind_envs.cpp, built with -ffp-contract=off).
    if (std::all_of(scale, scale + d, [](double v) { return v == 1.0; }) &&
        std::all_of(bias, bias + d, [](double v) { return v == 0.0; }))
      return Base::step(unit_actions);
    const int64_t n = Base::num_envs();
    for (int64_t i = 0; i < n; ++i) {
      for (int j = 0; j < d; ++j) {
        const double scaled = double(unit_actions[i * d + j]) * scale[j];
        env_actions[i * d + j] = float(scaled + bias[j]);
      }
    }
    return Base::step(env_actions);
  }
};

}  // namespace turborl
