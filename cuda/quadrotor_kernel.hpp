#pragma once
// Host-side interface of the quadrotor throughput kernel (defined in quadrotor_kernel.cu). All
// pointers are device pointers.
#include <cstdint>

#include "turborl/quadrotor/dynamics.hpp"

namespace turborl::cuda {

template <class Real>
struct QuadrotorSimulateArgs {
  int64_t num_envs;
  int64_t num_steps;
  quadrotor::Airframe<Real> airframe;  // shared by all envs
  Real dt;
  Real* state_columns;      // [23][num_envs], as quadrotor/simulate.hpp; read at the start, written at the end
  const float* actions;     // [num_envs][4] normalised set-points, held for all steps
};

// Launches on the current device and stream 0; returns a cudaError_t as int.
int launch_quadrotor_simulate(const QuadrotorSimulateArgs<float>& args);
int launch_quadrotor_simulate(const QuadrotorSimulateArgs<double>& args);

}  // namespace turborl::cuda
