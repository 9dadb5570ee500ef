// Bindings of the batched search (mcts/search.hpp). turborl/mcts/_search.py checks arguments
// and the model's outputs with messages that name them; these re-check shapes so that a direct
// call can never read or write out of bounds. The tree's arrays are exposed as NumPy views of
// the C++ storage that keep the Search object alive.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "bindings.hpp"
#include "turborl/core/check.hpp"
#include "turborl/mcts/search.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::bindings {
namespace {

using mcts::Search;
template <class T>
using In1D = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <class T>
using In2D = nb::ndarray<const T, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

template <class T>
nb::ndarray<nb::numpy, T> view(mcts::Column<T>& data, std::initializer_list<size_t> shape, nb::handle owner) {
  return nb::ndarray<nb::numpy, T>(data.data(), shape, owner);
}

template <class T>
nb::ndarray<nb::numpy, T> copy_of(const std::vector<T>& data) {
  T* out = new T[data.size() > 0 ? data.size() : 1];
  std::copy(data.begin(), data.end(), out);
  nb::capsule owner(out, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  return nb::ndarray<nb::numpy, T>(out, {data.size()}, owner);
}

void check_batch(const Search& s, const char* name, size_t rows) {
  TURBORL_CHECK(int64_t(rows) == s.tree().batch_size, name, " must have ", s.tree().batch_size, " rows, got ", rows);
}

void check_matrix(const Search& s, const char* name, size_t rows, size_t cols) {
  check_batch(s, name, rows);
  TURBORL_CHECK(int64_t(cols) == s.tree().num_actions, name, " must have ", s.tree().num_actions, " columns, got ",
                cols);
}

// The model's outputs must be finite; the message names the output and the simulation as
// turborl/mcts/_search.py does for the ones it converts itself. Checked here, in one pass that
// vectorises, since NumPy's isfinite-and-all on four arrays cost more than the simulation's
// bookkeeping.
void check_finite(const Search& s, const char* name, const float* data, size_t n) {
  bool all_finite = true;
  for (size_t i = 0; i < n; ++i) all_finite &= std::fabs(data[i]) <= std::numeric_limits<float>::max();
  if (all_finite) return;
  for (size_t i = 0; i < n; ++i) {
    if (std::fabs(data[i]) <= std::numeric_limits<float>::max()) continue;
    const char* text = std::isnan(data[i]) ? "nan" : data[i] > 0 ? "inf" : "-inf";
    TURBORL_CHECK(false, name, " (returned by recurrent_fn at simulation ", s.simulation(), ") must be finite, got ",
                  text, " at flat index ", i);
  }
}

// What select returns: fresh arrays, since the model may keep the actions it is given. The
// nodes come as flat indices b * N + node into [B * N, ...] storage, which NumPy and torch
// index faster than a (rows, nodes) pair.
nb::tuple selection(const Search& s) {
  const int64_t N = s.tree().num_nodes;
  const size_t B = size_t(s.tree().batch_size);
  std::vector<int64_t> parent_slots(B), next_slots(B);
  for (size_t b = 0; b < B; ++b) {
    parent_slots[b] = int64_t(b) * N + s.parents()[b];
    next_slots[b] = int64_t(b) * N + s.next_nodes()[b];
  }
  return nb::make_tuple(copy_of(s.actions()), copy_of(parent_slots), copy_of(next_slots));
}

// The model's outputs for one simulation, checked; returns the invalid mask's bytes (or null).
const uint8_t* checked_outputs(const Search& s, const In1D<float>& reward, const In1D<float>& discount,
                               const In2D<float>& prior_logits, const In1D<float>& value,
                               const std::optional<In2D<bool>>& invalid_actions) {
  check_batch(s, "reward", reward.shape(0));
  check_batch(s, "discount", discount.shape(0));
  check_matrix(s, "prior_logits", prior_logits.shape(0), prior_logits.shape(1));
  check_batch(s, "value", value.shape(0));
  check_finite(s, "reward", reward.data(), reward.shape(0));
  check_finite(s, "discount", discount.data(), discount.shape(0));
  check_finite(s, "prior_logits", prior_logits.data(), prior_logits.shape(0) * prior_logits.shape(1));
  check_finite(s, "value", value.data(), value.shape(0));
  if (!invalid_actions) return nullptr;
  check_matrix(s, "invalid_actions", invalid_actions->shape(0), invalid_actions->shape(1));
  return reinterpret_cast<const uint8_t*>(invalid_actions->data());
}

// expand_and_backup, or with kThenSelect expand_and_backup_then_select (returning the selection).
template <bool kThenSelect>
nb::object record_outputs(Search& s, In1D<float> reward, In1D<float> discount, In2D<float> prior_logits,
                          In1D<float> value, std::optional<In2D<bool>> invalid_actions) {
  const uint8_t* invalid = checked_outputs(s, reward, discount, prior_logits, value, invalid_actions);
  {
    nb::gil_scoped_release release;
    if constexpr (kThenSelect) {
      s.expand_and_backup_then_select(reward.data(), discount.data(), prior_logits.data(), value.data(), invalid);
    } else {
      s.expand_and_backup(reward.data(), discount.data(), prior_logits.data(), value.data(), invalid);
    }
  }
  if constexpr (kThenSelect) return selection(s);
  return nb::none();
}

mcts::QTransform qtransform_from(int kind, float min_value, float max_value, float epsilon, float value_scale,
                                 float maxvisit_init, bool rescale_values, bool use_mixed_value) {
  TURBORL_CHECK(kind >= 0 && kind <= 2, "unknown qtransform kind ", kind);
  return mcts::QTransform{static_cast<mcts::QTransformKind>(kind), min_value, max_value, epsilon, value_scale,
                          maxvisit_init, rescale_values, use_mixed_value};
}

}  // namespace

void bind_mcts(nb::module_& m) {
  nb::class_<Search>(m, "MctsSearch")
      .def(
          "__init__",
          [](Search* self, int64_t batch_size, int64_t num_actions, int algorithm, int64_t num_simulations,
             int64_t max_depth, uint64_t seed, int qtransform_kind, float min_value, float max_value, float epsilon,
             float value_scale, float maxvisit_init, bool rescale_values, bool use_mixed_value, float pb_c_init,
             float pb_c_base, int64_t max_num_considered_actions, std::optional<In2D<float>> root_gumbel,
             int num_threads, int64_t num_nodes) {
            TURBORL_CHECK(algorithm == 0 || algorithm == 1, "unknown algorithm ", algorithm);
            mcts::SearchConfig config;
            config.algorithm = static_cast<mcts::Algorithm>(algorithm);
            config.num_simulations = num_simulations;
            config.max_depth = max_depth;
            config.seed = seed;
            const mcts::QTransform q = qtransform_from(qtransform_kind, min_value, max_value, epsilon, value_scale,
                                                       maxvisit_init, rescale_values, use_mixed_value);
            config.muzero = mcts::MuZeroSelection{pb_c_init, pb_c_base, q};
            config.gumbel.qtransform = q;
            config.gumbel.max_num_considered_actions = max_num_considered_actions;
            if (root_gumbel) {
              TURBORL_CHECK(
                  int64_t(root_gumbel->shape(0)) == batch_size && int64_t(root_gumbel->shape(1)) == num_actions,
                  "root_gumbel must have shape (", batch_size, ", ", num_actions, ")");
              config.gumbel.root_gumbel.assign(root_gumbel->data(), root_gumbel->data() + batch_size * num_actions);
            }
            new (self) Search(batch_size, num_actions, std::move(config), num_threads, num_nodes);
          },
          "batch_size"_a, "num_actions"_a, "algorithm"_a, "num_simulations"_a, "max_depth"_a, "seed"_a,
          "qtransform_kind"_a, "min_value"_a, "max_value"_a, "epsilon"_a, "value_scale"_a, "maxvisit_init"_a,
          "rescale_values"_a, "use_mixed_value"_a, "pb_c_init"_a, "pb_c_base"_a, "max_num_considered_actions"_a,
          "root_gumbel"_a.none(), "num_threads"_a, "num_nodes"_a = 0)
      .def(
          "init_root",
          [](Search& s, In2D<float> prior_logits, In1D<float> value, In2D<bool> invalid_actions,
             std::optional<In1D<int32_t>> reused_nodes) {
            check_matrix(s, "prior_logits", prior_logits.shape(0), prior_logits.shape(1));
            check_batch(s, "value", value.shape(0));
            check_matrix(s, "invalid_actions", invalid_actions.shape(0), invalid_actions.shape(1));
            if (reused_nodes) check_batch(s, "reused_nodes", reused_nodes->shape(0));
            s.init_root(prior_logits.data(), value.data(), reinterpret_cast<const uint8_t*>(invalid_actions.data()),
                        reused_nodes ? reused_nodes->data() : nullptr);
          },
          "prior_logits"_a, "value"_a, "invalid_actions"_a, "reused_nodes"_a.none() = nb::none(),
          "Sets the roots; trees with reused_nodes[b] > 0 keep the nodes already written to arrays().")
      .def("select",
           [](Search& s) {
             {
               nb::gil_scoped_release release;
               s.select();
             }
             return selection(s);
           },
           "Descends every tree; returns (action [B] int32, parent_slot [B] int64, next_slot [B] int64): "
           "the action to evaluate, and the flat indices b * num_nodes + node of the node it is taken from "
           "and of the node its result goes to.")
      .def("expand_and_backup", &record_outputs<false>, "reward"_a, "discount"_a, "prior_logits"_a, "value"_a,
           "invalid_actions"_a.none(),
           "Records the model's outputs for the selected edges (all finite; logits as the model returned "
           "them: with invalid_actions they are masked here as mctx masks the root's) and backs up.")
      .def("expand_and_backup_then_select", &record_outputs<true>, "reward"_a, "discount"_a, "prior_logits"_a,
           "value"_a, "invalid_actions"_a.none(),
           "expand_and_backup, then select for the next simulation in the same pass over the trees; "
           "returns what select returns.")
      .def_prop_ro("simulation", &Search::simulation)
      .def(
          "arrays",
          [](nb::handle self_handle) {
            Search& s = nb::cast<Search&>(self_handle);
            mcts::Tree& t = s.tree();
            const size_t B = size_t(t.batch_size), N = size_t(t.num_nodes), A = size_t(t.num_actions);
            nb::dict out;
            out["node_visits"] = view(t.node_visits, {B, N}, self_handle);
            out["raw_values"] = view(t.raw_values, {B, N}, self_handle);
            out["node_values"] = view(t.node_values, {B, N}, self_handle);
            out["parents"] = view(t.parents, {B, N}, self_handle);
            out["action_from_parent"] = view(t.action_from_parent, {B, N}, self_handle);
            out["children_index"] = view(t.children_index, {B, N, A}, self_handle);
            out["children_prior_logits"] = view(t.children_prior_logits, {B, N, A}, self_handle);
            out["children_visits"] = view(t.children_visits, {B, N, A}, self_handle);
            out["children_rewards"] = view(t.children_rewards, {B, N, A}, self_handle);
            out["children_discounts"] = view(t.children_discounts, {B, N, A}, self_handle);
            out["children_values"] = view(t.children_values, {B, N, A}, self_handle);
            out["invalid_actions"] = view(t.invalid_actions, {B, N, A}, self_handle);
            return out;
          },
          "The tree's arrays by mctx's names, as views of the C++ storage ([B, N] and [B, N, A]; "
          "invalid_actions is uint8 [B, N, A] with the root's mask in row 0).");

  m.def(
      "mcts_considered_visit_sequence",
      [](int64_t max_num_considered, int64_t num_simulations) {
        TURBORL_CHECK(num_simulations >= 0, "num_simulations must be >= 0, got ", num_simulations);
        return copy_of(mcts::considered_visit_sequence(max_num_considered, num_simulations));
      },
      "max_num_considered"_a, "num_simulations"_a,
      "Sequential Halving's considered visit counts, as mctx's get_sequence_of_considered_visits.");
}

}  // namespace turborl::bindings
