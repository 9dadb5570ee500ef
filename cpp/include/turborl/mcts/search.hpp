#pragma once
// The batched search loop of mctx/_src/search.py, split at the model call: select() descends
// every tree to the edge that the next simulation evaluates, the caller evaluates the model on
// the whole batch once, and expand_and_backup() records the result. Each tree descends on its
// own (no batch-wide while loop), so a shallow tree does not wait for the deepest one; trees
// are independent, so the thread pool may split the batch in any way.
#include <algorithm>
#include <chrono>
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
inline constexpr uint32_t kSelectionNoisePurpose = static_cast<uint32_t>(StreamPurpose::kMctsTieBreak);

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
  // Trees of num_nodes nodes (by default num_simulations + 1; more when a subtree of the last
  // search is reused); the root is evaluated by the caller through init_root.
  Search(int64_t batch_size, int64_t num_actions, SearchConfig config, int num_threads, int64_t num_nodes = 0)
      : tree_(batch_size, std::max(num_nodes, checked_simulations(config.num_simulations) + 1), num_actions),
        config_(std::move(config)),
        pool_(std::make_unique<ThreadPool>(num_threads, kIdleSpin)),
        parent_(size_t(batch_size)),
        action_(size_t(batch_size)),
        next_(size_t(batch_size)),
        work_(size_t(batch_size * 3 * num_actions)),
        first_new_node_(size_t(batch_size), 1) {
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

  // Root logits [B, A], values [B] and invalid masks [B, A] (1 = invalid). `reused_nodes[b] > 0`
  // says that tree b's first reused_nodes[b] nodes were already written into the storage (a
  // subtree kept from the previous move): such a root keeps its statistics and takes only the
  // new logits and mask. Since those nodes came from the caller, their structure is checked and
  // every other node is reset, so that select and backup stay inside the arrays.
  void init_root(const float* prior_logits, const float* value, const uint8_t* invalid,
                 const int32_t* reused_nodes = nullptr) {
    TURBORL_CHECK_STATE(simulation_ == 0 && !root_ready_, "the root of this search is already set");
    const int64_t A = tree_.num_actions;
    for (int64_t b = 0; b < tree_.batch_size; ++b) {
      const int32_t reused = reused_nodes != nullptr ? reused_nodes[b] : 0;
      if (reused_nodes != nullptr) {
        TURBORL_CHECK(reused >= 0 && reused + config_.num_simulations <= tree_.num_nodes, "tree ", b, " reuses ",
                      reused, " nodes; the storage of ", tree_.num_nodes, " nodes holds at most ",
                      tree_.num_nodes - config_.num_simulations);
        tree_.reset_nodes(b, reused);
      }
      if (reused > 0) {
        check_reused_tree(b, reused);
        std::copy(prior_logits + b * A, prior_logits + (b + 1) * A,
                  tree_.children_prior_logits.begin() + tree_.edge(b, kRootIndex, 0));
        std::copy(invalid + b * A, invalid + (b + 1) * A, tree_.invalid_actions.begin() + tree_.edge(b, kRootIndex, 0));
        // The kept nodes' logits were written to the storage from outside.
        for (int32_t n = 0; n < reused; ++n) tree_.refresh_internal(b, n);
        first_new_node_[size_t(b)] = reused;
      } else {
        tree_.update_node(b, kRootIndex, prior_logits + b * A, value[b], invalid + b * A);
      }
    }
    root_ready_ = true;
  }

  // Descends every tree; afterwards parents(), actions() and next_nodes() name, per tree, the
  // node to evaluate from, the action to take there and the index the result goes to.
  void select() {
    TURBORL_CHECK_STATE(root_ready_, "init_root must be called before select");
    TURBORL_CHECK_STATE(!selected_, "select was called twice without expand_and_backup");
    TURBORL_CHECK_STATE(simulation_ < config_.num_simulations, "all ", config_.num_simulations,
                        " simulations are done");
    pool_->run_chunks(
        tree_.batch_size,
        [&](int64_t begin, int64_t end) {
          for (int64_t b = begin; b < end; ++b) {
            prefetch_root(b + kPrefetchTrees, end);
            descend(b);
          }
        },
        kMinTreesPerChunk);
    selected_ = true;
  }

  // Records the model's outputs for the selected edges: rewards, discounts, values [B],
  // logits [B, A] and optionally invalid masks [B, A] of the new nodes, then backs up. With
  // masks, the logits are masked as mctx's _mask_invalid_actions does at the root: shifted to a
  // maximum of 0 (over all actions), invalid ones set to the lowest finite float.
  void expand_and_backup(const float* reward, const float* discount, const float* prior_logits, const float* value,
                         const uint8_t* invalid) {
    TURBORL_CHECK_STATE(selected_, "expand_and_backup must follow select");
    const ModelOutputs outputs{reward, discount, prior_logits, value, invalid};
    pool_->run_chunks(
        tree_.batch_size,
        [&](int64_t begin, int64_t end) {
          for (int64_t b = begin; b < end; ++b) expand(b, outputs);
        },
        kMinTreesPerChunk);
    finish_simulation();
  }

  // expand_and_backup, then select for the next simulation, in one pass over the trees: each
  // tree descends right after its backup, while its nodes are in cache, and the threads are
  // woken once per simulation instead of twice.
  void expand_and_backup_then_select(const float* reward, const float* discount, const float* prior_logits,
                                     const float* value, const uint8_t* invalid) {
    TURBORL_CHECK_STATE(selected_, "expand_and_backup_then_select must follow select");
    TURBORL_CHECK_STATE(simulation_ + 1 < config_.num_simulations, "expand_and_backup_then_select needs a next "
                        "simulation; the last one is recorded with expand_and_backup");
    const ModelOutputs outputs{reward, discount, prior_logits, value, invalid};
    ++simulation_;  // descend() numbers the next simulation's node and noise by it
    pool_->run_chunks(
        tree_.batch_size,
        [&](int64_t begin, int64_t end) {
          for (int64_t b = begin; b < end; ++b) {
            prefetch_root(b + kPrefetchTrees, end);
            expand(b, outputs);
            descend(b);
          }
        },
        kMinTreesPerChunk);
  }

  const std::vector<int32_t>& parents() const { return parent_; }
  const std::vector<int32_t>& actions() const { return action_; }
  const std::vector<int32_t>& next_nodes() const { return next_; }

 private:
  // A simulation costs about 1.6 us per tree (measured with 16 actions, 64 simulations); fewer
  // trees than this per chunk are not worth waking a thread for.
  static constexpr int64_t kMinTreesPerChunk = 8;
  // Between two jobs of a search the caller runs the model, typically 30-100 us: workers that
  // slept after the pool's default 50 us had to be woken for every simulation (measured: Gumbel
  // MuZero, batch 256, two threads, about 10% slower). They spin through such gaps instead;
  // the pool, and its spinning, ends with the search's last simulation.
  static constexpr std::chrono::microseconds kIdleSpin{200};
  // Trees ahead whose root is prefetched while one descends (Tree::prefetch_node).
  static constexpr int64_t kPrefetchTrees = 4;

  static int64_t checked_simulations(int64_t n) {
    TURBORL_CHECK(n >= 1, "num_simulations must be >= 1, got ", n);
    return n;
  }

  // A reused tree must be one that a search could have built: nodes numbered after their
  // parents, edges and visits consistent. This keeps select and backup inside the arrays and
  // makes backup terminate.
  void check_reused_tree(int64_t b, int32_t reused) const {
    const int64_t A = tree_.num_actions;
    TURBORL_CHECK(tree_.parents[tree_.node(b, 0)] == kNoParent, "tree ", b, ": the root must have parent -1");
    for (int32_t n = 0; n < reused; ++n) {
      TURBORL_CHECK(tree_.node_visits[tree_.node(b, n)] >= 1, "tree ", b, ": node ", n, " has no visits");
      if (n > 0) {
        const int32_t parent = tree_.parents[tree_.node(b, n)];
        const int32_t action = tree_.action_from_parent[tree_.node(b, n)];
        TURBORL_CHECK(parent >= 0 && parent < n, "tree ", b, ": node ", n, " has parent ", parent,
                      ", expected an earlier node");
        TURBORL_CHECK(action >= 0 && action < A && tree_.children_index[tree_.edge(b, parent, action)] == n,
                      "tree ", b, ": node ", n, " is not the child of its parent for action ", action);
      }
      for (int64_t a = 0; a < A; ++a) {
        const int32_t child = tree_.children_index[tree_.edge(b, n, a)];
        TURBORL_CHECK(child == kUnvisited || (child > n && child < reused), "tree ", b, ": node ", n,
                      " has child index ", child, " for action ", a);
        TURBORL_CHECK(tree_.children_visits[tree_.edge(b, n, a)] >= 0, "tree ", b, ": negative visit count");
      }
    }
  }

  struct ModelOutputs {
    const float *reward, *discount, *prior_logits, *value;
    const uint8_t* invalid;  // may be null
  };

  void prefetch_root(int64_t b, int64_t end) const {
    if (b < end) tree_.prefetch_node(b, kRootIndex);
  }

  float* work(int64_t b) { return work_.data() + b * 3 * tree_.num_actions; }

  void expand(int64_t b, const ModelOutputs& out) {
    const int64_t A = tree_.num_actions;
    const float* logits = out.prior_logits + b * A;
    const uint8_t* mask = out.invalid != nullptr ? out.invalid + b * A : nullptr;
    if (mask != nullptr) {
      mask_invalid_actions(logits, mask, A, work(b));
      logits = work(b);
    }
    tree_.expand_and_backup(b, parent_[b], action_[b], next_[b], out.reward[b], out.discount[b], logits,
                            out.value[b], mask);
  }

  void finish_simulation() {
    selected_ = false;
    ++simulation_;
    // The finished tree lives on in Python (its arrays are views of this storage); its worker
    // threads need not.
    if (simulation_ == config_.num_simulations) pool_.reset();
  }

  // mctx's simulate: from the root, select until an unvisited edge or max_depth.
  void descend(int64_t b) {
    float* scratch = work(b);
    CounterRng noise(config_.seed, uint32_t(b), uint32_t(simulation_), kSelectionNoisePurpose);
    int32_t node = kRootIndex;
    int64_t depth = 0;
    for (;;) {
      int32_t action;
      if (config_.algorithm == Algorithm::kMuZero) {
        action = config_.muzero.select(tree_, b, node, noise, scratch);
      } else if (depth == 0) {
        action = config_.gumbel.select_root(tree_, b, scratch);
      } else {
        action = config_.gumbel.select_interior(tree_, b, node, scratch);
      }
      const int32_t child = tree_.children_index[tree_.edge(b, node, action)];
      ++depth;
      if (child == kUnvisited || depth >= config_.max_depth) {
        parent_[b] = node;
        action_[b] = action;
        // As in mctx, the node first expanded at simulation i has index i + 1 (node 0 is the
        // root), after the kept nodes when a subtree is reused. A simulation stopped by
        // max_depth at an existing node leaves its index unused, as in mctx.
        next_[b] = child == kUnvisited ? int32_t(first_new_node_[size_t(b)] + simulation_) : child;
        return;
      }
      node = child;
    }
  }

  Tree tree_;
  SearchConfig config_;
  std::unique_ptr<ThreadPool> pool_;
  std::vector<int32_t> parent_, action_, next_;
  std::vector<float> work_;  // 3 * A floats of scratch per tree, so a simulation allocates nothing
  std::vector<int32_t> first_new_node_;  // per tree: the index of the node simulation 0 may create
  int64_t simulation_ = 0;
  bool root_ready_ = false;
  bool selected_ = false;
};

}  // namespace turborl::mcts
