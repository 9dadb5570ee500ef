#pragma once
// Stratified bootstrap of aggregate RL metrics (Agarwal et al., "Deep Reinforcement Learning at
// the Edge of the Statistical Precipice", NeurIPS 2021; rliable's StratifiedBootstrap).
//
// Scores are [runs][tasks][frames]. A replicate draws, for every entry (run, task, frame), a run
// index uniformly in [0, runs) -- runs are resampled independently per task and per frame, as
// rliable does -- and, with task_bootstrap, one source task per task position. It then computes
// the requested metrics on the resampled scores, per frame, exactly as the NumPy expressions in
// the comments do (same order of additions), so tests can compare replicates bit for bit.
//
// Randomness: draw i of replicate r is SplitMix64's output for counter i under a key derived from
// (seed, r) -- a counter-based generator, so replicate r is the same whichever thread computes it.
// A bounded draw takes the high 32 bits times the bound (bias below bound / 2^32).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "turborl/core/check.hpp"
#include "turborl/core/thread_pool.hpp"
#include "turborl/stats/numpy_sum.hpp"

namespace turborl::stats {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The draws of one replicate.
class ReplicateStream {
 public:
  ReplicateStream(uint64_t seed, uint64_t replicate, uint64_t stream)
      : key_(splitmix64(splitmix64(seed ^ (stream * 0xD1B54A32D192ED03ull)) + replicate)) {}

  // Uniform in [0, bound).
  int64_t below(int64_t bound) {
    const uint64_t bits = splitmix64(key_ + 0x9E3779B97F4A7C15ull * counter_++) >> 32;
    return int64_t((bits * uint64_t(bound)) >> 32);
  }

  // count draws below(bound) into out; the same numbers as count calls of below(), in a loop
  // without a carried dependency so that the compiler vectorises it.
  void fill_below(int64_t* out, int64_t count, int64_t bound) {
    const uint64_t key = key_, first = counter_;
    for (int64_t i = 0; i < count; ++i) {
      const uint64_t bits = splitmix64(key + 0x9E3779B97F4A7C15ull * (first + uint64_t(i))) >> 32;
      out[i] = int64_t((bits * uint64_t(bound)) >> 32);
    }
    counter_ += uint64_t(count);
  }

 private:
  uint64_t key_;
  uint64_t counter_ = 0;
};

enum class Metric : int {
  kIqm = 0,                       // mean(sort(x.ravel())[k:n-k]), k = int(0.25 n)
  kMean = 1,                      // mean(x.mean(axis=0))
  kMedian = 2,                    // median(x.mean(axis=0))
  kOptimalityGap = 3,             // gamma - mean(minimum(x, gamma))
  kScoreDistribution = 4,         // [mean(x > tau) for tau in taus]
  kAverageScoreDistribution = 5,  // [mean(x.mean(axis=0) > tau) for tau in taus]
};

struct MetricSpec {
  Metric metric;
  double gamma = 1.0;        // optimality gap threshold
  std::vector<double> taus;  // profile thresholds
  int64_t outputs() const {
    return (metric == Metric::kScoreDistribution || metric == Metric::kAverageScoreDistribution)
               ? int64_t(taus.size())
               : 1;
  }
};

class StratifiedBootstrap {
 public:
  StratifiedBootstrap(const double* scores, int64_t runs, int64_t tasks, int64_t frames, std::vector<MetricSpec> metrics,
                      bool task_bootstrap)
      : scores_(scores, scores + runs * tasks * frames),
        runs_(runs),
        tasks_(tasks),
        frames_(frames),
        metrics_(std::move(metrics)),
        task_bootstrap_(task_bootstrap) {
    TURBORL_CHECK(runs >= 1 && tasks >= 1 && frames >= 1, "scores must have at least one run, task and frame, got (",
                  runs, ", ", tasks, ", ", frames, ")");
    TURBORL_CHECK(!metrics_.empty(), "at least one metric is needed");
    TURBORL_CHECK(runs * tasks < (int64_t(1) << 31), "runs x tasks must be below 2^31, got ", runs * tasks);
    for (const MetricSpec& m : metrics_) {
      TURBORL_CHECK(m.outputs() >= 1, "a profile needs at least one threshold");
    }
    // Per frame, the rank of every (run, task) score in ascending order: a replicate's sorted
    // scores are then a counting sort over ranks instead of a sort.
    rank_.resize(size_t(runs * tasks * frames));
    sorted_.resize(size_t(runs * tasks * frames));
    std::vector<int64_t> order(size_t(runs * tasks));
    for (int64_t f = 0; f < frames; ++f) {
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return value(a, f) < value(b, f); });
      for (int64_t position = 0; position < runs * tasks; ++position) {
        rank_[size_t(f * runs * tasks + order[size_t(position)])] = position;
        sorted_[size_t(f * runs * tasks + position)] = value(order[size_t(position)], f);
      }
    }
    // Per profile metric and frame, how many scores are <= each tau: a replicate's count above
    // tau is then n minus the number of draws ranked below that position, without a search.
    tau_positions_.resize(metrics_.size());
    for (size_t m = 0; m < metrics_.size(); ++m) {
      for (int64_t f = 0; f < frames; ++f) {
        const double* by_rank = sorted_.data() + f * runs * tasks;
        for (double tau : metrics_[m].taus) {
          tau_positions_[m].push_back(std::upper_bound(by_rank, by_rank + runs * tasks, tau) - by_rank);
        }
      }
    }
  }

  int64_t num_outputs() const {
    int64_t total = 0;
    for (const MetricSpec& m : metrics_) total += m.outputs();
    return total * frames_;
  }
  int64_t draws_per_replicate() const { return runs_ * tasks_ * frames_ + (task_bootstrap_ ? tasks_ : 0); }

  // out[output][rep] (output-major, so that each output's replicates are one contiguous row for
  // the percentiles), outputs ordered metric by metric, then frame by frame, then tau by tau.
  void replicates(int64_t reps, uint64_t seed, double* out, int num_threads) const {
    TURBORL_CHECK(reps >= 1, "reps must be >= 1, got ", reps);
    ThreadPool pool(num_threads);
    pool.run_chunks(reps, [&](int64_t begin, int64_t end) {
      Workspace ws(*this);
      std::vector<double> one(static_cast<size_t>(num_outputs()));
      for (int64_t rep = begin; rep < end; ++rep) {
        one_replicate(rep, seed, ws, one.data());
        for (size_t j = 0; j < one.size(); ++j) out[int64_t(j) * reps + rep] = one[j];
      }
    });
  }

  // The run and task indices replicate `rep` uses (for tests): run_indices [runs][tasks][frames],
  // task_indices [tasks] (identity without task_bootstrap).
  void resample_indices(int64_t rep, uint64_t seed, int64_t* run_indices, int64_t* task_indices) const {
    ReplicateStream stream(seed, uint64_t(rep), 0);
    draw(stream, run_indices, task_indices);
  }

 private:
  struct Workspace {
    explicit Workspace(const StratifiedBootstrap& b)
        : run_indices(size_t(b.runs_ * b.tasks_ * b.frames_)),
          task_indices(size_t(b.tasks_)),
          drawn_rank(size_t(b.runs_ * b.tasks_)),
          ranked_below(size_t(b.runs_ * b.tasks_ + 1)),
          cursor(size_t(b.runs_ * b.tasks_)),
          values(size_t(b.runs_ * b.tasks_)),
          sorted(size_t(b.runs_ * b.tasks_)),
          scratch(size_t(b.runs_ * b.tasks_)),
          task_means(size_t(b.tasks_)) {}
    std::vector<int64_t> run_indices, task_indices;
    std::vector<int32_t> drawn_rank;    // [runs][tasks]: the rank of each resampled score
    std::vector<int32_t> ranked_below;  // [p]: how many draws have a rank below p (p = 0..n)
    std::vector<int32_t> cursor;
    std::vector<double> values, sorted, scratch, task_means;
    // computed lazily, once per frame
    bool have_values = false, have_sorted = false, have_task_means = false;
  };

  double value(int64_t run_task, int64_t frame) const { return scores_[size_t(run_task * frames_ + frame)]; }

  void draw(ReplicateStream& stream, int64_t* run_indices, int64_t* task_indices) const {
    // rliable: np.random.choice(runs, (runs, tasks, frames)), then the task indices.
    stream.fill_below(run_indices, runs_ * tasks_ * frames_, runs_);
    if (task_bootstrap_) {
      stream.fill_below(task_indices, tasks_, tasks_);
    } else {
      std::iota(task_indices, task_indices + tasks_, int64_t(0));
    }
  }

  void one_replicate(int64_t rep, uint64_t seed, Workspace& ws, double* out) const {
    ReplicateStream stream(seed, uint64_t(rep), 0);
    draw(stream, ws.run_indices.data(), ws.task_indices.data());
    for (int64_t f = 0; f < frames_; ++f) {
      resample_frame(ws, f);
      int64_t column = 0;  // metric-major output layout: metric, then frame, then tau
      for (size_t m = 0; m < metrics_.size(); ++m) {
        compute(metrics_[m], m, ws, f, out + column + f * metrics_[m].outputs());
        column += metrics_[m].outputs() * frames_;
      }
    }
  }

  // The ranks of frame f's resampled scores, and by counting them how many draws rank below
  // each position (an exclusive prefix sum). Values and the sorted order follow from these.
  void resample_frame(Workspace& ws, int64_t f) const {
    ws.have_values = ws.have_sorted = ws.have_task_means = false;
    const int64_t n = runs_ * tasks_;
    const int64_t* rank = rank_.data() + f * n;
    std::fill(ws.ranked_below.begin(), ws.ranked_below.end(), 0);
    for (int64_t r = 0; r < runs_; ++r) {
      for (int64_t t = 0; t < tasks_; ++t) {
        const int64_t source = ws.run_indices[size_t((r * tasks_ + t) * frames_ + f)] * tasks_ + ws.task_indices[size_t(t)];
        const int32_t drawn = int32_t(rank[source]);
        ws.drawn_rank[size_t(r * tasks_ + t)] = drawn;
        ws.ranked_below[size_t(drawn) + 1] += 1;
      }
    }
    for (int64_t p = 0; p < n; ++p) ws.ranked_below[size_t(p + 1)] += ws.ranked_below[size_t(p)];
  }

  // ws.values = the resampled scores of frame f, [runs][tasks].
  void resampled_values(Workspace& ws, int64_t f) const {
    if (ws.have_values) return;
    ws.have_values = true;
    const double* by_rank = sorted_.data() + f * runs_ * tasks_;
    for (int64_t i = 0; i < runs_ * tasks_; ++i) ws.values[size_t(i)] = by_rank[ws.drawn_rank[size_t(i)]];
  }

  // np.sort(values.ravel()), by counting sort: each draw goes to the next free slot of its rank
  // (draws of one rank are the same score, so their order among themselves does not matter).
  void sort_frame(Workspace& ws, int64_t f) const {
    if (ws.have_sorted) return;
    ws.have_sorted = true;
    const int64_t n = runs_ * tasks_;
    const double* by_rank = sorted_.data() + f * n;
    std::copy(ws.ranked_below.begin(), ws.ranked_below.end() - 1, ws.cursor.begin());
    for (int64_t i = 0; i < n; ++i) {
      const int32_t drawn = ws.drawn_rank[size_t(i)];
      ws.sorted[size_t(ws.cursor[size_t(drawn)]++)] = by_rank[drawn];
    }
  }

  // values.mean(axis=0): each task's runs added in order, then divided by the number of runs.
  void task_means(Workspace& ws, int64_t f) const {
    if (ws.have_task_means) return;
    ws.have_task_means = true;
    resampled_values(ws, f);
    for (int64_t t = 0; t < tasks_; ++t) {
      double sum = 0.0;
      for (int64_t r = 0; r < runs_; ++r) sum += ws.values[size_t(r * tasks_ + t)];
      ws.task_means[size_t(t)] = sum / double(runs_);
    }
  }

  void compute(const MetricSpec& metric, size_t metric_index, Workspace& ws, int64_t f, double* out) const {
    const int64_t n = runs_ * tasks_;
    switch (metric.metric) {
      case Metric::kIqm: {
        sort_frame(ws, f);
        const int64_t cut = int64_t(0.25 * double(n));
        out[0] = numpy_mean(ws.sorted.data() + cut, n - 2 * cut);
        return;
      }
      case Metric::kMean:
        task_means(ws, f);
        out[0] = numpy_mean(ws.task_means.data(), tasks_);
        return;
      case Metric::kMedian: {  // np.median: the middle value, or the mean of the middle two
        task_means(ws, f);
        std::vector<double>& sorted_means = ws.scratch;
        std::copy(ws.task_means.begin(), ws.task_means.end(), sorted_means.begin());
        std::sort(sorted_means.begin(), sorted_means.begin() + tasks_);
        const int64_t half = tasks_ / 2;
        out[0] = tasks_ % 2 == 1 ? sorted_means[size_t(half)]
                                 : (sorted_means[size_t(half - 1)] + sorted_means[size_t(half)]) / 2.0;
        return;
      }
      case Metric::kOptimalityGap: {
        resampled_values(ws, f);
        for (int64_t i = 0; i < n; ++i) ws.scratch[size_t(i)] = std::min(ws.values[size_t(i)], metric.gamma);
        out[0] = metric.gamma - numpy_mean(ws.scratch.data(), n);
        return;
      }
      case Metric::kScoreDistribution: {
        const int64_t* positions = tau_positions_[metric_index].data() + f * int64_t(metric.taus.size());
        for (size_t k = 0; k < metric.taus.size(); ++k) {
          out[k] = double(n - ws.ranked_below[size_t(positions[k])]) / double(n);
        }
        return;
      }
      case Metric::kAverageScoreDistribution: {
        task_means(ws, f);
        for (size_t k = 0; k < metric.taus.size(); ++k) {
          int64_t above = 0;
          for (int64_t t = 0; t < tasks_; ++t) above += ws.task_means[size_t(t)] > metric.taus[k];
          out[k] = double(above) / double(tasks_);
        }
        return;
      }
    }
  }

  std::vector<double> scores_;
  int64_t runs_, tasks_, frames_;
  std::vector<MetricSpec> metrics_;
  bool task_bootstrap_;
  std::vector<int64_t> rank_;   // [frame][run * tasks + task] -> position in sorted order
  std::vector<double> sorted_;  // [frame][position] -> score
  std::vector<std::vector<int64_t>> tau_positions_;  // [metric][frame * taus + k] -> scores <= tau k
};

// Probability of improvement P(X > Y) with X and Y resampled independently (rliable's
// StratifiedIndependentBootstrap with metrics.probability_of_improvement). Per task, P(X > Y) is
// the Mann-Whitney U statistic (pairs with x > y, ties counted 1/2) over the number of pairs,
// 0.5 when the two resampled columns are identical, as rliable. U is found from ranks: with the
// y scores sorted once, a replicate counts its y draws per rank (a prefix sum), and each x draw
// adds the y draws below it plus half those equal, looked up at positions found once. U is a sum
// of halves, exact in double, so it equals rliable's count whatever the order of additions.
class ImprovementBootstrap {
 public:
  ImprovementBootstrap(const double* x, int64_t runs_x, const double* y, int64_t runs_y, int64_t tasks)
      : x_(x, x + runs_x * tasks),
        y_(y, y + runs_y * tasks),
        runs_x_(runs_x),
        runs_y_(runs_y),
        tasks_(tasks),
        y_rank_(size_t(runs_y * tasks)),
        y_less_(size_t(runs_x * tasks)),
        y_at_most_(size_t(runs_x * tasks)) {
    TURBORL_CHECK(runs_x >= 1 && runs_y >= 1 && tasks >= 1, "both score arrays need runs and tasks");
    std::vector<int64_t> order(static_cast<size_t>(runs_y));
    std::vector<double> sorted_y(static_cast<size_t>(runs_y));
    for (int64_t t = 0; t < tasks; ++t) {
      std::iota(order.begin(), order.end(), int64_t(0));
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return y_at(a, t) < y_at(b, t); });
      for (int64_t position = 0; position < runs_y; ++position) {
        y_rank_[size_t(order[size_t(position)] * tasks + t)] = int32_t(position);
        sorted_y[size_t(position)] = y_at(order[size_t(position)], t);
      }
      for (int64_t r = 0; r < runs_x; ++r) {
        const double xv = x_[size_t(r * tasks + t)];
        y_less_[size_t(r * tasks + t)] =
            int32_t(std::lower_bound(sorted_y.begin(), sorted_y.end(), xv) - sorted_y.begin());
        y_at_most_[size_t(r * tasks + t)] =
            int32_t(std::upper_bound(sorted_y.begin(), sorted_y.end(), xv) - sorted_y.begin());
      }
    }
  }

  void replicates(int64_t reps, uint64_t seed, double* out, int num_threads) const {
    TURBORL_CHECK(reps >= 1, "reps must be >= 1, got ", reps);
    ThreadPool pool(num_threads);
    pool.run_chunks(reps, [&](int64_t begin, int64_t end) {
      std::vector<int64_t> ix(static_cast<size_t>(runs_x_ * tasks_)), iy(static_cast<size_t>(runs_y_ * tasks_));
      std::vector<int32_t> y_below(static_cast<size_t>(runs_y_ + 1));  // [p]: y draws ranked below p
      std::vector<double> per_task(static_cast<size_t>(tasks_));
      for (int64_t rep = begin; rep < end; ++rep) {
        resample_indices(rep, seed, ix.data(), iy.data());
        for (int64_t t = 0; t < tasks_; ++t) per_task[size_t(t)] = improvement(ix.data(), iy.data(), t, y_below);
        out[rep] = numpy_mean(per_task.data(), tasks_);
      }
    });
  }

  // The draws of replicate `rep`: ix [runs_x][tasks], then iy [runs_y][tasks] (for tests).
  void resample_indices(int64_t rep, uint64_t seed, int64_t* ix, int64_t* iy) const {
    ReplicateStream stream(seed, uint64_t(rep), 0);
    stream.fill_below(ix, runs_x_ * tasks_, runs_x_);
    stream.fill_below(iy, runs_y_ * tasks_, runs_y_);
  }

 private:
  double y_at(int64_t run, int64_t task) const { return y_[size_t(run * tasks_ + task)]; }

  double improvement(const int64_t* ix, const int64_t* iy, int64_t t, std::vector<int32_t>& y_below) const {
    if (runs_x_ == runs_y_) {  // rliable: np.array_equal of the resampled columns -> 0.5
      int64_t r = 0;
      while (r < runs_x_ && x_[size_t(ix[r * tasks_ + t] * tasks_ + t)] == y_at(iy[r * tasks_ + t], t)) ++r;
      if (r == runs_x_) return 0.5;
    }
    std::fill(y_below.begin(), y_below.end(), 0);
    for (int64_t r = 0; r < runs_y_; ++r) y_below[size_t(y_rank_[size_t(iy[r * tasks_ + t] * tasks_ + t)]) + 1] += 1;
    for (int64_t p = 0; p < runs_y_; ++p) y_below[size_t(p + 1)] += y_below[size_t(p)];
    double u = 0.0;
    for (int64_t r = 0; r < runs_x_; ++r) {
      const size_t source = size_t(ix[r * tasks_ + t] * tasks_ + t);
      const int32_t less = y_below[size_t(y_less_[source])], at_most = y_below[size_t(y_at_most_[source])];
      u += double(less) + 0.5 * double(at_most - less);
    }
    return u / (double(runs_x_) * double(runs_y_));
  }

  std::vector<double> x_, y_;
  int64_t runs_x_, runs_y_, tasks_;
  std::vector<int32_t> y_rank_;                // [run][task]: position of y in its task's sorted ys
  std::vector<int32_t> y_less_, y_at_most_;    // [run][task]: ys of the task < x, <= x (positions)
};

}  // namespace turborl::stats
