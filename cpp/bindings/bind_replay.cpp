// Bindings of the replay core. The Python classes in turborl.replay check arguments against the
// buffer's spec (names, dtypes, shapes) and convert inputs; these bindings check sizes, release
// the GIL and call the core. Storage and sample outputs are exposed as byte views that Python
// reinterprets with each field's dtype and shape.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <vector>

#include "bindings.hpp"
#include "turborl/core/check.hpp"
#include "turborl/replay/replay_buffer.hpp"
#include "turborl/replay/sum_tree.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::bindings {
namespace {

using replay::ReplayCore;
using replay::SumMinTree;

using Bytes = nb::ndarray<nb::numpy, uint8_t, nb::ndim<1>>;
using AnyArray = nb::ndarray<nb::c_contig, nb::device::cpu>;
template <class T>
using Vector = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// A view of memory owned by `owner` (the Python object of the core): the view keeps it alive.
// Without an owner, nanobind copies arrays that are returned inside a tuple.
Bytes byte_view(uint8_t* data, size_t size, nb::handle owner) { return Bytes(data, {size}, owner); }

void bind_replay_core(nb::module_& m) {
  nb::class_<ReplayCore>(m, "ReplayCore")
      .def(
          "__init__",
          [](ReplayCore* self, int64_t time_capacity, int64_t num_envs, std::vector<int64_t> item_bytes,
             std::tuple<int, int, int, int, int, bool> roles, bool same_step, uint64_t seed, bool prioritized,
             double alpha, double eps) {
            replay::FieldRoles r;
            std::tie(r.obs, r.reward, r.terminated, r.truncated, r.next_obs, r.reward_is_float64) = roles;
            new (self) ReplayCore(time_capacity, num_envs, item_bytes, r, same_step, seed,
                                  replay::PriorityConfig{prioritized, alpha, eps});
          },
          "time_capacity"_a, "num_envs"_a, "item_bytes"_a, "roles"_a, "same_step"_a, "seed"_a, "prioritized"_a,
          "alpha"_a, "eps"_a)
      .def(
          "add",
          [](ReplayCore& core, std::vector<AnyArray> fields, int64_t rows) {
            TURBORL_CHECK(rows >= 1, "rows must be >= 1, got ", rows);
            std::vector<const uint8_t*> data;
            for (size_t f = 0; f < fields.size(); ++f) {
              const size_t expected = size_t(rows) * size_t(core.num_envs()) * size_t(core.item_bytes(int(f)));
              TURBORL_CHECK(fields[f].nbytes() == expected, "field ", f, " holds ", fields[f].nbytes(),
                            " bytes, expected ", expected);
              data.push_back(static_cast<const uint8_t*>(fields[f].data()));
            }
            nb::gil_scoped_release release;
            core.add(data, rows);
          },
          "fields"_a, "rows"_a)
      .def("sample", &ReplayCore::sample, "batch_size"_a, "n_step"_a, "gamma"_a, "beta"_a,
           nb::call_guard<nb::gil_scoped_release>())
      .def(
          "output_views",
          [](ReplayCore& core, int64_t batch_size) {
            TURBORL_CHECK(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
            replay::SampleOutputs& out = core.outputs(batch_size);
            const nb::handle owner = nb::find(core);
            nb::list fields;
            for (auto& field : out.fields) fields.append(byte_view(field.data(), field.size(), owner));
            return nb::make_tuple(
                fields, byte_view(out.next_obs.data(), out.next_obs.size(), owner),
                byte_view(out.reward.data(), out.reward.size(), owner),
                byte_view(out.discount.data(), out.discount.size(), owner),
                byte_view(out.weights.data(), out.weights.size(), owner),
                nb::ndarray<nb::numpy, int64_t, nb::ndim<1>>(out.indices.data(), {out.indices.size()}, owner));
          },
          "batch_size"_a)
      .def(
          "update_priorities",
          [](ReplayCore& core, Vector<int64_t> indices, Vector<double> priorities) {
            TURBORL_CHECK(indices.shape(0) == priorities.shape(0), "indices and priorities must have the same length, got ",
                          indices.shape(0), " and ", priorities.shape(0));
            nb::gil_scoped_release release;
            core.update_priorities(indices.data(), priorities.data(), int64_t(indices.shape(0)));
          },
          "indices"_a, "priorities"_a)
      .def_prop_ro("time_capacity", &ReplayCore::time_capacity)
      .def_prop_ro("num_envs", &ReplayCore::num_envs)
      .def_prop_ro("num_slots", &ReplayCore::num_slots)
      .def_prop_ro("rows_written", &ReplayCore::rows_written)
      .def_prop_ro("stored_rows", &ReplayCore::stored_rows)
      .def_prop_ro("num_sampleable", &ReplayCore::num_sampleable)
      .def_prop_ro("seed", &ReplayCore::seed)
      .def_prop_ro("sample_calls", &ReplayCore::sample_calls)
      .def_prop_ro("last_sample_rows", &ReplayCore::last_sample_rows)
      .def_prop_ro("max_priority", &ReplayCore::max_priority)
      // Persistence: Python holds lock() while it reads or fills these views.
      .def("lock", &ReplayCore::lock, nb::call_guard<nb::gil_scoped_release>())
      .def("unlock", &ReplayCore::unlock)
      .def(
          "field_view",
          [](ReplayCore& core, int field) {
            TURBORL_CHECK_INDEX(field >= 0 && field < core.num_fields(), "field must be in [0, ", core.num_fields(),
                                "), got ", field);
            return byte_view(core.field_data(field), size_t(core.num_slots()) * size_t(core.item_bytes(field)),
                             nb::find(core));
          },
          "field"_a)
      .def_prop_ro(
          "autoreset_flags",
          [](ReplayCore& c) { return byte_view(c.autoreset_flags(), size_t(c.num_slots()), nb::find(c)); })
      .def_prop_ro(
          "sampleable_flags",
          [](ReplayCore& c) { return byte_view(c.sampleable_flags(), size_t(c.num_slots()), nb::find(c)); })
      .def_prop_ro(
          "last_done", [](ReplayCore& c) { return byte_view(c.last_done(), size_t(c.num_envs()), nb::find(c)); })
      .def_prop_ro(
          "priority_leaves",
          [](ReplayCore& c) {
            // A copy: the tree keeps leaves next to its minima.
            const size_t count = size_t(c.num_slots());
            double* leaves = new double[count];
            nb::capsule owner(leaves, [](void* p) noexcept { delete[] static_cast<double*>(p); });
            c.copy_priority_leaves(leaves);
            return nb::ndarray<nb::numpy, double, nb::ndim<1>>(leaves, {count}, owner);
          },
          nb::rv_policy::automatic_reference)  // the array owns its copy; not tied to the core
      .def(
          "restore",
          [](ReplayCore& c, uint64_t rows_written, uint64_t sample_calls, uint64_t last_sample_rows, double max_priority,
             Vector<double> priority_leaves) {
            TURBORL_CHECK(int64_t(priority_leaves.shape(0)) == c.num_slots(), "priority_leaves must hold ",
                          c.num_slots(), " values, got ", priority_leaves.shape(0));
            c.restore(rows_written, sample_calls, last_sample_rows, max_priority, priority_leaves.data());
          },
          "rows_written"_a, "sample_calls"_a, "last_sample_rows"_a, "max_priority"_a, "priority_leaves"_a);
}

// The sum/min tree on its own, for property tests against NumPy.
void bind_sum_tree(nb::module_& m) {
  nb::class_<SumMinTree>(m, "_SumTree")
      .def(nb::init<int64_t>(), "capacity"_a)
      .def(
          "set",
          [](SumMinTree& tree, Vector<int64_t> indices, Vector<double> values) {
            TURBORL_CHECK(indices.shape(0) == values.shape(0), "indices and values must have the same length");
            for (size_t j = 0; j < indices.shape(0); ++j) {
              TURBORL_CHECK_INDEX(indices.data()[j] >= 0 && indices.data()[j] < tree.num_leaves(), "indices[", j,
                                  "] = ", indices.data()[j], " is outside [0, ", tree.num_leaves(), ")");
              TURBORL_CHECK(values.data()[j] >= 0.0, "values[", j, "] = ", values.data()[j], " must be >= 0");
            }
            std::vector<int64_t> scratch(indices.shape(0));
            tree.set(indices.data(), values.data(), int64_t(indices.shape(0)), scratch.data());
          },
          "indices"_a, "values"_a)
      .def(
          "find",
          [](const SumMinTree& tree, Vector<double> targets) {
            const size_t n = targets.shape(0);
            int64_t* leaves = new int64_t[n > 0 ? n : 1];
            nb::capsule owner(leaves, [](void* p) noexcept { delete[] static_cast<int64_t*>(p); });
            std::vector<double> residual(n);
            tree.find(targets.data(), int64_t(n), leaves, residual.data());
            return nb::ndarray<nb::numpy, int64_t, nb::ndim<1>>(leaves, {n}, owner);
          },
          "targets"_a)
      .def_prop_ro("total", &SumMinTree::total)
      .def_prop_ro("min_positive", &SumMinTree::min_positive)
      .def_prop_ro("num_leaves", &SumMinTree::num_leaves);
}

}  // namespace

void bind_replay(nb::module_& m) {
  bind_replay_core(m);
  bind_sum_tree(m);
}

}  // namespace turborl::bindings
