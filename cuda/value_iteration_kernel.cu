// Value-iteration sweeps on the GPU: one thread per state computes its Q row from the previous
// sweep's values and reduces it with the CPU's planning::fold_action_value, in the same order.
// The residual is a maximum of nonnegative doubles, taken with an integer atomicMax on their bits
// (for nonnegative IEEE doubles the bit patterns order like the values).
#include <cuda_runtime.h>

#include "value_iteration_kernel.hpp"

namespace turborl::cuda {
namespace {

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
  } else {
    const double* policy_row = args.policy != nullptr ? args.policy + s * A : nullptr;
    for (int64_t a = 0; a < A; ++a) {
      const int64_t row = s * A + a;
      const double q = mdp.rewards[row] + args.gamma * mdp.transitions.expected(row, args.v_old);
      if (args.q_out != nullptr) args.q_out[row] = q;
      value = planning::fold_action_value(args.kind, value, q, a, policy_row);
    }
    value = planning::finish_state_value(args.kind, value, A);
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
