// Bindings of the statistics kernels behind turborl.eval: bootstrap replicates of aggregate
// metrics and AdaStop's permutation sums. Arguments are checked in Python; the loops run with
// the GIL released.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <tuple>
#include <vector>

#include "bindings.hpp"
#include "turborl/core/check.hpp"
#include "turborl/stats/bootstrap.hpp"
#include "turborl/stats/permutation.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::bindings {
namespace {

using Scores3D = nb::ndarray<const double, nb::ndim<3>, nb::c_contig, nb::device::cpu>;
using Scores2D = nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Vector = nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

std::vector<stats::MetricSpec> metric_specs(const std::vector<std::tuple<int, double, std::vector<double>>>& metrics) {
  std::vector<stats::MetricSpec> specs;
  for (const auto& [kind, gamma, taus] : metrics) {
    TURBORL_CHECK(kind >= 0 && kind <= 5, "unknown metric kind ", kind);
    specs.push_back(stats::MetricSpec{static_cast<stats::Metric>(kind), gamma, taus});
  }
  return specs;
}

}  // namespace

void bind_stats(nb::module_& m) {
  m.def(
      "bootstrap_replicates",
      [](Scores3D scores, std::vector<std::tuple<int, double, std::vector<double>>> metrics, bool task_bootstrap,
         int64_t reps, uint64_t seed, int num_threads) {
        stats::StratifiedBootstrap bootstrap(scores.data(), int64_t(scores.shape(0)), int64_t(scores.shape(1)),
                                             int64_t(scores.shape(2)), metric_specs(metrics), task_bootstrap);
        auto out = new_array<double>({size_t(bootstrap.num_outputs()), size_t(reps)});
        {
          nb::gil_scoped_release release;
          bootstrap.replicates(reps, seed, out.data(), num_threads);
        }
        return out;
      },
      "scores"_a, "metrics"_a, "task_bootstrap"_a, "reps"_a, "seed"_a, "num_threads"_a,
      "Replicates [outputs, reps] of built-in metrics on [runs, tasks, frames] scores.");

  m.def(
      "bootstrap_indices",
      [](int64_t runs, int64_t tasks, int64_t frames, bool task_bootstrap, int64_t rep, uint64_t seed) {
        std::vector<double> zeros(size_t(runs * tasks * frames), 0.0);
        stats::StratifiedBootstrap bootstrap(zeros.data(), runs, tasks, frames,
                                             {stats::MetricSpec{stats::Metric::kMean, 1.0, {}}}, task_bootstrap);
        auto run_indices = new_array<int64_t>({size_t(runs), size_t(tasks), size_t(frames)});
        auto task_indices = new_array<int64_t>({size_t(tasks)});
        bootstrap.resample_indices(rep, seed, run_indices.data(), task_indices.data());
        return nb::make_tuple(run_indices, task_indices);
      },
      "runs"_a, "tasks"_a, "frames"_a, "task_bootstrap"_a, "rep"_a, "seed"_a,
      "The resampling indices of one replicate (for tests and references).");

  m.def(
      "improvement_replicates",
      [](Scores2D x, Scores2D y, int64_t reps, uint64_t seed, int num_threads) {
        TURBORL_CHECK(x.shape(1) == y.shape(1), "both score arrays must have the same number of tasks, got ",
                      x.shape(1), " and ", y.shape(1));
        stats::ImprovementBootstrap bootstrap(x.data(), int64_t(x.shape(0)), y.data(), int64_t(y.shape(0)),
                                              int64_t(x.shape(1)));
        auto out = new_array<double>({size_t(reps)});
        {
          nb::gil_scoped_release release;
          bootstrap.replicates(reps, seed, out.data(), num_threads);
        }
        return out;
      },
      "x"_a, "y"_a, "reps"_a, "seed"_a, "num_threads"_a);

  m.def(
      "improvement_indices",
      [](int64_t runs_x, int64_t runs_y, int64_t tasks, int64_t rep, uint64_t seed) {
        std::vector<double> zeros_x(size_t(runs_x * tasks), 0.0), zeros_y(size_t(runs_y * tasks), 0.0);
        stats::ImprovementBootstrap bootstrap(zeros_x.data(), runs_x, zeros_y.data(), runs_y, tasks);
        auto ix = new_array<int64_t>({size_t(runs_x), size_t(tasks)});
        auto iy = new_array<int64_t>({size_t(runs_y), size_t(tasks)});
        bootstrap.resample_indices(rep, seed, ix.data(), iy.data());
        return nb::make_tuple(ix, iy);
      },
      "runs_x"_a, "runs_y"_a, "tasks"_a, "rep"_a, "seed"_a,
      "The run indices of x and y in one replicate of improvement_replicates (for tests).");

  m.def("binomial_capped", &stats::binomial_capped, "n"_a, "k"_a, "limit"_a);

  m.def(
      "all_subsets",
      [](int64_t n, int64_t k, int64_t count) {
        const std::vector<uint8_t> masks = stats::all_subsets(n, k, count);
        auto out = new_array<bool>({size_t(count), size_t(n)});
        std::copy(masks.begin(), masks.end(), reinterpret_cast<uint8_t*>(out.data()));
        return out;
      },
      "n"_a, "k"_a, "count"_a);

  m.def(
      "random_subsets",
      [](int64_t n, int64_t k, int64_t count, uint64_t seed, uint64_t stream) {
        const std::vector<uint8_t> masks = stats::random_subsets(n, k, count, seed, stream);
        auto out = new_array<bool>({size_t(count), size_t(n)});
        std::copy(masks.begin(), masks.end(), reinterpret_cast<uint8_t*>(out.data()));
        return out;
      },
      "n"_a, "k"_a, "count"_a, "seed"_a, "stream"_a);

  m.def(
      "subset_means",
      [](Vector z, nb::ndarray<const bool, nb::ndim<2>, nb::c_contig, nb::device::cpu> masks) {
        TURBORL_CHECK(masks.shape(1) == z.shape(0), "masks must have one column per value");
        auto mean_in = new_array<double>({masks.shape(0)});
        auto mean_out = new_array<double>({masks.shape(0)});
        {
          nb::gil_scoped_release release;
          stats::subset_means(z.data(), int64_t(z.shape(0)), reinterpret_cast<const uint8_t*>(masks.data()),
                              int64_t(masks.shape(0)), mean_in.data(), mean_out.data());
        }
        return nb::make_tuple(mean_in, mean_out);
      },
      "z"_a, "masks"_a, "np.mean(z[mask]) and np.mean(z[~mask]) for each mask row.");
}

}  // namespace turborl::bindings
