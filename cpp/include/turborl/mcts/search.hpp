#pragma once
// The batched search loop of mctx/_src/search.py, split at the model call: select() descends
// every tree to the edge that the next simulation evaluates, the caller evaluates the model on
// the whole batch once, and expand_and_backup() records the result. Each tree descends on its
// own (no batch-wide while loop), so a shallow tree does not wait for the deepest one; trees
// are independent, so the thread pool may split the batch in any way.
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "turborl/core/check.hpp"
#include "turborl/core/rng.hpp"
#include "turborl/core/thread_pool.hpp"
#include "turborl/mcts/gumbel.hpp"
#include "turborl/mcts/muzero.hpp"
#include "turborl/mcts/tree.hpp"

namespace turborl::mcts {

enum class Algorithm : int { kMuZero = 0, kGumbelMuZero = 1 };

// Word 3 of the Philox counter that names the tie-break noise of MuZero's selection, distinct
// from the environments' stream purposes (core/rng.hpp).
inline constexpr uint32_t kSelectionNoisePurpose = 0x4D435453u;  // "MCTS"

struct SearchConfig {
  Algorithm algorithm = Algorithm::kMuZero;
  int64_t num_simulations = 1;
  int64_t max_depth = 1;  // edges from the root to the deepest evaluated node
  uint64_t seed = 0;      // of the tie-break noise
  MuZeroSelection muzero{};
  GumbelSelection gumbel{};
};

class Search {
 public:
  // Trees of num_simulations + 1 nodes; the root is evaluated by the caller through init_root.
  Search(int64_t batch_size, int64_t num_actions, SearchConfig config, int num_threads)
      : tree_(batch_size, checked_simulations(config.num_simulations) + 1, num_actions),
        config_(std::move(config)),
        pool_(num_threads),
        parent_(size_t(batch_size)),
        action_(size_t(batch_size)),
        next_(size_t(batch_size)),
        work_(size_t(batch_size * 3 * num_actions)) {
    TURBORL_CHECK(config_.max_depth >= 1, "max_depth must be >= 1, got ", config_.max_depth);
    if (config_.algorithm == Algorithm::kGumbelMuZero) {
      TURBORL_CHECK(config_.gumbel.max_num_considered_actions >= 1, "max_num_considered_actions must be >= 1, got ",
                    config_.gumbel.max_num_considered_actions);
      TURBORL_CHECK(int64_t(config_.gumbel.root_gumbel.size()) == batch_size * num_actions,
                    "root_gumbel must hold batch_size * num_actions values");
      config_.gumbel.prepare(num_actions, config_.num_simulations);
    }
  }

  Tree& tree() { return tree_; }
  const Tree& tree() const { return tree_; }
  int64_t simulation() const { return simulation_; }

  // Root logits [B, A], values [B] and invalid masks [B, A] (1 = invalid).
  void init_root(const float* prior_logits, const float* value, const uint8_t* invalid) {
    TURBORL_CHECK_STATE(simulation_ == 0 && !root_ready_, "the root of this search is already set");
    const int64_t A = tree_.num_actions;
    for (int64_t b = 0; b < tree_.batch_size; ++b)
      tree_.update_node(b, kRootIndex, prior_logits + b * A, value[b], invalid + b * A);
    root_ready_ = true;
  }

  // Descends every tree; afterwards parents(), actions() and next_nodes() name, per tree, the
  // node to evaluate from, the action to take there and the index the result goes to.
  void select() {
    TURBORL_CHECK_STATE(root_ready_, "init_root must be called before select");
    TURBORL_CHECK_STATE(!selected_, "select was called twice without expand_and_backup");
    TURBORL_CHECK_STATE(simulation_ < config_.num_simulations, "all ", config_.num_simulations,
                        " simulations are done");
    pool_.run_chunks(
        tree_.batch_size,
        [&](int64_t begin, int64_t end) {
          for (int64_t b = begin; b < end; ++b) descend(b, work_.data() + b * 3 * tree_.num_actions);
        },
        kMinTreesPerChunk);
    selected_ = true;
  }

  // Records the model's outputs for the selected edges: rewards, discounts, values [B],
  // logits [B, A] and optionally invalid masks [B, A] of the new nodes, then backs up.
  void expand_and_backup(const float* reward, const float* discount, const float* prior_logits, const float* value,
                         const uint8_t* invalid) {
    TURBORL_CHECK_STATE(selected_, "expand_and_backup must follow select");
    const int64_t A = tree_.num_actions;
    pool_.run_chunks(
        tree_.batch_size,
        [&](int64_t begin, int64_t end) {
          for (int64_t b = begin; b < end; ++b)
            tree_.expand_and_backup(b, parent_[b], action_[b], next_[b], reward[b], discount[b], prior_logits + b * A,
                                    value[b], invalid != nullptr ? invalid + b * A : nullptr);
        },
        kMinTreesPerChunk);
    selected_ = false;
    ++simulation_;
  }

  const std::vector<int32_t>& parents() const { return parent_; }
  const std::vector<int32_t>& actions() const { return action_; }
  const std::vector<int32_t>& next_nodes() const { return next_; }

 private:
  // A descent costs about a microsecond per level; fewer trees than this per chunk are not
  // worth waking a thread for.
  static constexpr int64_t kMinTreesPerChunk = 8;

  static int64_t checked_simulations(int64_t n) {
    TURBORL_CHECK(n >= 1, "num_simulations must be >= 1, got ", n);
    return n;
  }

  // mctx's simulate: from the root, select until an unvisited edge or max_depth.
  void descend(int64_t b, float* work) {
    CounterRng noise(config_.seed, uint32_t(b), uint32_t(simulation_), kSelectionNoisePurpose);
    int32_t node = kRootIndex;
    int64_t depth = 0;
    for (;;) {
      int32_t action;
      if (config_.algorithm == Algorithm::kMuZero) {
        action = config_.muzero.select(tree_, b, node, noise, work);
      } else if (depth == 0) {
        action = config_.gumbel.select_root(tree_, b, work);
      } else {
        action = config_.gumbel.select_interior(tree_, b, node, work);
      }
      const int32_t child = tree_.children_index[tree_.edge(b, node, action)];
      ++depth;
      if (child == kUnvisited || depth >= config_.max_depth) {
        parent_[b] = node;
        action_[b] = action;
        // A node first expanded at simulation i has index i + 1 (node 0 is the root).
        next_[b] = child == kUnvisited ? int32_t(simulation_ + 1) : child;
        return;
      }
      node = child;
    }
  }

  Tree tree_;
  SearchConfig config_;
  ThreadPool pool_;
  std::vector<int32_t> parent_, action_, next_;
  std::vector<float> work_;  // 3 * A floats of scratch per tree, so a simulation allocates nothing
  int64_t simulation_ = 0;
  bool root_ready_ = false;
  bool selected_ = false;
};

}  // namespace turborl::mcts
