// Value-iteration sweeps on the GPU: one thread per state computes its Q row from the previous
// sweep's values and reduces it as the CPU does (planning::state_value on the same row), so GPU
// and CPU agree up to the order of floating-point additions within a row, which is the same.
// The residual is a maximum of nonnegative doubles, taken with an integer atomicMax on their bits
// (for nonnegative IEEE doubles the bit patterns order like the values).
#include <cuda_runtime.h>

#include "value_iteration_kernel.hpp"

namespace turborl::cuda {
namespace {

// Rows wider than this fall back to an online reduction without the row in registers.
constexpr int kMaxRowActions = 32;

template <class Transitions>
__global__ void value_sweep_kernel(planning::TabularMdpView<Transitions> mdp, ValueSweepArgs args) {
  const int64_t s = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (s >= mdp.num_states) return;
  const int64_t A = mdp.num_actions;
  double value = 0.0;
  if (mdp.is_terminal(s)) {
    if (args.q_out != nullptr) {
      for (int64_t a = 0; a < A; ++a) args.q_out[s * A + a] = 0.0;
    }
  } else if (A <= kMaxRowActions) {
    double q_row[kMaxRowActions];
    for (int64_t a = 0; a < A; ++a) {
      const int64_t row = s * A + a;
      q_row[a] = mdp.rewards[row] + args.gamma * mdp.transitions.expected(row, args.v_old);
      if (args.q_out != nullptr) args.q_out[row] = q_row[a];
    }
    value = planning::state_value(q_row, A, args.kind, args.policy != nullptr ? args.policy + s * A : nullptr);
  } else {
    // Same reduction, element by element (the order of operations matches state_value).
    for (int64_t a = 0; a < A; ++a) {
      const int64_t row = s * A + a;
      const double q = mdp.rewards[row] + args.gamma * mdp.transitions.expected(row, args.v_old);
      if (args.q_out != nullptr) args.q_out[row] = q;
      switch (args.kind) {
        case planning::StateValue::kMax: value = a == 0 || q > value ? q : value; break;
        case planning::StateValue::kMin: value = a == 0 || q < value ? q : value; break;
        case planning::StateValue::kMean: value = a == 0 ? q : value + q; break;
        case planning::StateValue::kPolicy:
          value = a == 0 ? args.policy[s * A] * q : value + args.policy[s * A + a] * q;
          break;
      }
    }
    if (args.kind == planning::StateValue::kMean) value /= double(A);
  }
  if (args.v_new != nullptr) {
    args.v_new[s] = value;
    const double change = fabs(value - args.v_old[s]);
    atomicMax(args.residual_bits, static_cast<unsigned long long>(__double_as_longlong(change)));
  }
}

template <class Transitions>
int launch(const planning::TabularMdpView<Transitions>& mdp, const ValueSweepArgs& args) {
  constexpr int kThreadsPerBlock = 256;
  const int64_t blocks = (mdp.num_states + kThreadsPerBlock - 1) / kThreadsPerBlock;
  value_sweep_kernel<Transitions><<<unsigned(blocks), kThreadsPerBlock>>>(mdp, args);
  return int(cudaGetLastError());
}

}  // namespace

int launch_value_sweep(const planning::TabularMdpView<planning::DeterministicTransitions>& mdp,
                       const ValueSweepArgs& args) {
  return launch(mdp, args);
}
int launch_value_sweep(const planning::TabularMdpView<planning::SparseTransitions>& mdp, const ValueSweepArgs& args) {
  return launch(mdp, args);
}

}  // namespace turborl::cuda
