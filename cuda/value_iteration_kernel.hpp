#pragma once
// Host-side interface of the value-iteration kernels (defined in value_iteration_kernel.cu).
// All pointers are device pointers. The sweep is the CPU's (planning/value_iteration.hpp): the
// same Jacobi update from the same TURBORL_HD transition readers, one thread per state.
#include <cstdint>

#include "turborl/planning/tabular_mdp.hpp"
#include "turborl/planning/value_iteration.hpp"

namespace turborl::cuda {

struct ValueSweepArgs {
  double gamma;
  planning::StateValue kind;
  const double* policy;               // [S * A] (kPolicy) or null
  const double* v_old;                // [S]
  double* v_new;                      // [S]
  double* q_out;                      // [S * A] or null (only the final backup writes Q)
  unsigned long long* residual_bits;  // max |v_new - v_old| as the bits of a nonnegative double
};

// One sweep on the current device and stream 0; returns a cudaError_t as int.
int launch_value_sweep(const planning::TabularMdpView<planning::DeterministicTransitions>& mdp,
                       const ValueSweepArgs& args);
int launch_value_sweep(const planning::TabularMdpView<planning::SparseTransitions>& mdp, const ValueSweepArgs& args);

}  // namespace turborl::cuda
