// Bindings of the planning kernels behind turborl.planning. TabularMdpCore holds the caller's
// arrays (keeping them alive), checks every index and probability once when it is built, and runs
// the sweeps with the GIL released. The Python class turborl.planning.TabularMDP builds it.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>

#include <cstdint>
#include <optional>
#include <utility>

#include "bindings.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/thread_pool.hpp"
#include "turborl/planning/fitted_q.hpp"
#include "turborl/planning/tabular_mdp.hpp"
#include "turborl/planning/value_iteration.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::bindings {
namespace {

template <class T>
using In1D = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <class T>
using In2D = nb::ndarray<const T, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

planning::StateValue state_value_kind(int kind) {
  TURBORL_CHECK(kind >= 0 && kind <= 3, "unknown state-value kind ", kind);
  return static_cast<planning::StateValue>(kind);
}

class TabularMdpCore {
 public:
  TabularMdpCore(int64_t num_states, int64_t num_actions, In1D<int32_t> next, std::optional<In1D<int64_t>> offsets,
                 std::optional<In1D<double>> probs, In1D<double> rewards, std::optional<In1D<uint8_t>> terminal,
                 double probability_tolerance)
      : num_states_(num_states),
        num_actions_(num_actions),
        next_(std::move(next)),
        offsets_(std::move(offsets)),
        probs_(std::move(probs)),
        rewards_(std::move(rewards)),
        terminal_(std::move(terminal)) {
    TURBORL_CHECK(num_states >= 1, "the MDP must have at least one state, got ", num_states);
    TURBORL_CHECK(num_actions >= 1, "the MDP must have at least one action, got ", num_actions);
    TURBORL_CHECK(num_states <= INT32_MAX, "at most 2**31 - 1 states are supported, got ", num_states);
    const int64_t rows = num_states * num_actions;
    TURBORL_CHECK(int64_t(rewards_.shape(0)) == rows, "rewards must hold S * A = ", rows, " values, got ",
                  rewards_.shape(0));
    TURBORL_CHECK(offsets_.has_value() == probs_.has_value(), "sparse transitions need both offsets and probabilities");
    if (terminal_) {
      TURBORL_CHECK(int64_t(terminal_->shape(0)) == num_states, "terminal must have shape (", num_states, ",), got (",
                    terminal_->shape(0), ",)");
    }
    nb::gil_scoped_release release;
    if (offsets_) {
      TURBORL_CHECK(int64_t(offsets_->shape(0)) == rows + 1, "transitions: S * A + 1 = ", rows + 1,
                    " row offsets expected, got ", offsets_->shape(0));
      TURBORL_CHECK(probs_->shape(0) == next_.shape(0), "transitions: ", next_.shape(0), " next states but ",
                    probs_->shape(0), " probabilities");
      planning::check_sparse(num_states, rows, offsets_->data(), int64_t(next_.shape(0)), next_.data(),
                             probs_->data(), probability_tolerance);
    } else {
      TURBORL_CHECK(int64_t(next_.shape(0)) == rows, "transitions must hold S * A = ", rows, " next states, got ",
                    next_.shape(0));
      planning::check_deterministic(num_states, rows, next_.data());
    }
    planning::check_rewards(rows, num_actions, rewards_.data());
  }

  int64_t num_states() const { return num_states_; }
  int64_t num_actions() const { return num_actions_; }

  // Calls f with the view of the layout this MDP has.
  template <class F>
  decltype(auto) visit(F&& f) const {
    const uint8_t* terminal = terminal_ ? terminal_->data() : nullptr;
    if (offsets_) {
      planning::TabularMdpView<planning::SparseTransitions> view{
          num_states_, num_actions_, {offsets_->data(), next_.data(), probs_->data()}, rewards_.data(), terminal};
      return f(view);
    }
    planning::TabularMdpView<planning::DeterministicTransitions> view{
        num_states_, num_actions_, {next_.data()}, rewards_.data(), terminal};
    return f(view);
  }

  const double* policy_data(const std::optional<In1D<double>>& policy, planning::StateValue kind, int64_t steps) const {
    if (kind != planning::StateValue::kPolicy) return nullptr;
    TURBORL_CHECK(policy.has_value(), "a policy is needed to evaluate a policy");
    const int64_t expected = steps * num_states_ * num_actions_;
    TURBORL_CHECK(int64_t(policy->shape(0)) == expected, "policy must hold ", expected, " probabilities, got ",
                  policy->shape(0));
    return policy->data();
  }

 private:
  int64_t num_states_, num_actions_;
  In1D<int32_t> next_;
  std::optional<In1D<int64_t>> offsets_;
  std::optional<In1D<double>> probs_;
  In1D<double> rewards_;
  std::optional<In1D<uint8_t>> terminal_;
};

template <class Real>
void bind_bellman_targets(nb::module_& m) {
  m.def(
      "bellman_targets",
      [](In1D<Real> rewards, In1D<uint8_t> terminated, In2D<Real> next_q, std::optional<In2D<Real>> next_q_select,
         std::optional<In1D<Real>> discounts, Real gamma, int num_threads) {
        const size_t n = rewards.shape(0);
        const size_t num_actions = next_q.shape(1);
        TURBORL_CHECK(terminated.shape(0) == n, "terminated must have shape (", n, ",), got (", terminated.shape(0), ",)");
        TURBORL_CHECK(next_q.shape(0) == n, "next_q must have ", n, " rows, got ", next_q.shape(0));
        TURBORL_CHECK(num_actions >= 1, "next_q must have at least one action column");
        if (next_q_select) {
          TURBORL_CHECK(next_q_select->shape(0) == n && next_q_select->shape(1) == num_actions,
                        "next_q_select must have the shape of next_q (", n, ", ", num_actions, "), got (",
                        next_q_select->shape(0), ", ", next_q_select->shape(1), ")");
        }
        if (discounts) {
          TURBORL_CHECK(discounts->shape(0) == n, "discounts must have shape (", n, ",), got (", discounts->shape(0), ",)");
        }
        auto out = new_array<Real>({n});
        ThreadPool pool(num_threads);
        planning::BellmanTargetArgs<Real> args{int64_t(n),
                                               int64_t(num_actions),
                                               rewards.data(),
                                               terminated.data(),
                                               next_q.data(),
                                               next_q_select ? next_q_select->data() : nullptr,
                                               discounts ? discounts->data() : nullptr,
                                               gamma,
                                               out.data()};
        nb::gil_scoped_release release;
        planning::bellman_targets(args, pool);
        return out;
      },
      "rewards"_a, "terminated"_a, "next_q"_a, "next_q_select"_a.none(), "discounts"_a.none(), "gamma"_a,
      "num_threads"_a);
}

}  // namespace

void bind_planning(nb::module_& m) {
  nb::class_<TabularMdpCore>(m, "TabularMdpCore")
      .def(nb::init<int64_t, int64_t, In1D<int32_t>, std::optional<In1D<int64_t>>, std::optional<In1D<double>>,
                    In1D<double>, std::optional<In1D<uint8_t>>, double>(),
           "num_states"_a, "num_actions"_a, "next"_a, "offsets"_a.none(), "probs"_a.none(), "rewards"_a,
           "terminal"_a.none(), "probability_tolerance"_a)
      .def_prop_ro("num_states", &TabularMdpCore::num_states)
      .def_prop_ro("num_actions", &TabularMdpCore::num_actions)
      .def(
          "value_iteration",
          [](const TabularMdpCore& mdp, double gamma, double tol, int64_t max_sweeps, int kind,
             std::optional<In1D<double>> policy, std::optional<In1D<double>> v_init, int num_threads) {
            const auto value_kind = state_value_kind(kind);
            const double* policy_data = mdp.policy_data(policy, value_kind, 1);
            const size_t S = size_t(mdp.num_states()), A = size_t(mdp.num_actions());
            auto q = new_array<double>({S, A});
            auto v = new_array<double>({S});
            if (v_init) {
              TURBORL_CHECK(v_init->shape(0) == S, "v_init must have shape (", S, ",), got (", v_init->shape(0), ",)");
              std::copy(v_init->data(), v_init->data() + S, v.data());
            } else {
              std::fill(v.data(), v.data() + S, 0.0);
            }
            ThreadPool pool(num_threads);
            planning::SweepReport report;
            {
              nb::gil_scoped_release release;
              report = mdp.visit([&](const auto& view) {
                return planning::iterate_discounted(view, gamma, tol, max_sweeps, value_kind, policy_data, v.data(),
                                                    q.data(), pool);
              });
            }
            return nb::make_tuple(q, v, report.sweeps, report.residual);
          },
          "gamma"_a, "tol"_a, "max_sweeps"_a, "kind"_a, "policy"_a.none(), "v_init"_a.none(), "num_threads"_a,
          "Discounted value iteration / policy evaluation; returns (q [S, A], v [S], sweeps, residual).")
      .def(
          "finite_horizon",
          [](const TabularMdpCore& mdp, int64_t horizon, double gamma, int kind, std::optional<In1D<double>> policy,
             bool policy_per_step, std::optional<In1D<uint8_t>> reachable, int num_threads) {
            TURBORL_CHECK(horizon >= 1, "horizon must be >= 1, got ", horizon);
            const auto value_kind = state_value_kind(kind);
            const double* policy_data = mdp.policy_data(policy, value_kind, policy_per_step ? horizon : 1);
            const size_t S = size_t(mdp.num_states()), A = size_t(mdp.num_actions()), T = size_t(horizon);
            if (reachable) {
              TURBORL_CHECK(reachable->shape(0) == T * S, "reachable must hold T * S = ", T * S, " flags, got ",
                            reachable->shape(0));
            }
            auto q = new_array<double>({T, S, A});
            auto v = new_array<double>({T, S});
            ThreadPool pool(num_threads);
            {
              nb::gil_scoped_release release;
              mdp.visit([&](const auto& view) {
                planning::finite_horizon(view, horizon, gamma, value_kind, policy_data, policy_per_step,
                                         reachable ? reachable->data() : nullptr, q.data(), v.data(), pool);
              });
            }
            return nb::make_tuple(q, v);
          },
          "horizon"_a, "gamma"_a, "kind"_a, "policy"_a.none(), "policy_per_step"_a, "reachable"_a.none(),
          "num_threads"_a, "Backward induction; returns (q [T, S, A], v [T, S]).")
      .def(
          "backup",
          [](const TabularMdpCore& mdp, In1D<double> v_next, double gamma, int kind, std::optional<In1D<double>> policy,
             std::optional<In1D<uint8_t>> active, int num_threads) {
            const auto value_kind = state_value_kind(kind);
            const double* policy_data = mdp.policy_data(policy, value_kind, 1);
            const size_t S = size_t(mdp.num_states()), A = size_t(mdp.num_actions());
            TURBORL_CHECK(v_next.shape(0) == S, "v_next must have shape (", S, ",), got (", v_next.shape(0), ",)");
            if (active) {
              TURBORL_CHECK(active->shape(0) == S, "active must have shape (", S, ",), got (", active->shape(0), ",)");
            }
            auto q = new_array<double>({S, A});
            auto v = new_array<double>({S});
            ThreadPool pool(num_threads);
            {
              nb::gil_scoped_release release;
              mdp.visit([&](const auto& view) {
                planning::backup(view, gamma, v_next.data(), value_kind, policy_data,
                                 active ? active->data() : nullptr, q.data(), v.data(), pool);
              });
            }
            return nb::make_tuple(q, v);
          },
          "v_next"_a, "gamma"_a, "kind"_a, "policy"_a.none(), "active"_a.none(), "num_threads"_a,
          "One Bellman backup Q = R + gamma P v_next; returns (q [S, A], v [S]).")
      .def(
          "reachable",
          [](const TabularMdpCore& mdp, int64_t horizon, In1D<uint8_t> initial, int num_threads) {
            TURBORL_CHECK(horizon >= 1, "horizon must be >= 1, got ", horizon);
            const size_t S = size_t(mdp.num_states());
            TURBORL_CHECK(initial.shape(0) == S, "initial must have shape (", S, ",), got (", initial.shape(0), ",)");
            auto out = new_array<uint8_t>({size_t(horizon), S});
            ThreadPool pool(num_threads);
            {
              nb::gil_scoped_release release;
              mdp.visit([&](const auto& view) { planning::reachable_states(view, horizon, initial.data(), out.data(), pool); });
            }
            return out;
          },
          "horizon"_a, "initial"_a, "num_threads"_a, "States reachable at each timestep, uint8 [T, S].");

  bind_bellman_targets<float>(m);
  bind_bellman_targets<double>(m);
}

}  // namespace turborl::bindings
