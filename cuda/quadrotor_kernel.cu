// Quadrotor dynamics on the GPU: one thread per airframe, the state in registers for all steps
// of the launch, the arithmetic from the same TURBORL_HD header as the CPU (quadrotor::rk4_step).
// Built with --fmad=false and IEEE division and sqrt, as the CPU build has no FMA contraction, so
// float32 trajectories equal the CPU's bit for bit.
#include <cuda_runtime.h>

#include "quadrotor_kernel.hpp"

namespace turborl::cuda {
namespace {

using quadrotor::kNumRotors;

template <class Real>
__global__ void quadrotor_simulate_kernel(QuadrotorSimulateArgs<Real> args) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t n = args.num_envs;
  if (i >= n) return;
  const Real* c = args.state_columns;
  quadrotor::RigidBody<Real> s{c[i],          c[n + i],      c[2 * n + i],  c[3 * n + i],  c[4 * n + i],
                               c[5 * n + i],  c[6 * n + i],  c[7 * n + i],  c[8 * n + i],  c[9 * n + i],
                               c[10 * n + i], c[11 * n + i], c[12 * n + i],
                               {c[13 * n + i], c[14 * n + i], c[15 * n + i], c[16 * n + i]}};
  const quadrotor::Disturbance<Real> d{c[17 * n + i], c[18 * n + i], c[19 * n + i],
                                       c[20 * n + i], c[21 * n + i], c[22 * n + i]};
  const quadrotor::Airframe<Real> a = args.airframe;
  const quadrotor::Reciprocals<Real> inv = quadrotor::reciprocals(a);
  Real setpoint[kNumRotors];
  for (int r = 0; r < kNumRotors; ++r) {
    const Real action = Real(args.actions[i * kNumRotors + r]);
    const Real clamped = action < Real(-1) ? Real(-1) : (action > Real(1) ? Real(1) : action);
    setpoint[r] = quadrotor::action_to_rpm(clamped, a);
  }
  for (int64_t t = 0; t < args.num_steps; ++t) quadrotor::rk4_step(s, a, inv, d, setpoint, args.dt);

  Real* out = args.state_columns;
  const Real values[quadrotor::kRigidBodyDim] = {s.px, s.py, s.pz, s.qw, s.qx, s.qy, s.qz, s.vx, s.vy,
                                                 s.vz, s.wx, s.wy, s.wz, s.rpm[0], s.rpm[1], s.rpm[2], s.rpm[3]};
  for (int k = 0; k < quadrotor::kRigidBodyDim; ++k) out[k * n + i] = values[k];
}

template <class Real>
int launch(const QuadrotorSimulateArgs<Real>& args) {
  constexpr int kThreadsPerBlock = 128;
  const int64_t blocks = (args.num_envs + kThreadsPerBlock - 1) / kThreadsPerBlock;
  quadrotor_simulate_kernel<Real><<<unsigned(blocks), kThreadsPerBlock>>>(args);
  return int(cudaGetLastError());
}

}  // namespace

int launch_quadrotor_simulate(const QuadrotorSimulateArgs<float>& args) { return launch(args); }
int launch_quadrotor_simulate(const QuadrotorSimulateArgs<double>& args) { return launch(args); }

}  // namespace turborl::cuda
