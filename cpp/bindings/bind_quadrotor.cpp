// Bindings of the quadrotor throughput entry point (quadrotor/simulate.hpp). Argument checks
// with messages live in turborl/envs/quadrotor.py; these re-check shapes so that a direct call
// can never read or write out of bounds.
//
// Compiled with -ffp-contract=off like bind_envs.cpp, so simulate() and the vector env's step
// compute the same float32 numbers.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstdint>

#include "bindings.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/thread_pool.hpp"
#include "turborl/quadrotor/simulate.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::bindings {
namespace {

constexpr int kAirframeFields = int(sizeof(quadrotor::Airframe<double>) / sizeof(double));

template <class Real>
void simulate(nb::ndarray<Real, nb::ndim<2>, nb::c_contig, nb::device::cpu> columns,
              nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu> actions, int64_t steps,
              nb::ndarray<const double, nb::ndim<1>, nb::c_contig, nb::device::cpu> airframe, double dt,
              int num_threads) {
  TURBORL_CHECK(int64_t(columns.shape(0)) == quadrotor::kSimulateStateDim, "state columns must have ",
                quadrotor::kSimulateStateDim, " rows, got ", columns.shape(0));
  const int64_t n = int64_t(columns.shape(1));
  TURBORL_CHECK(int64_t(actions.shape(0)) == n && actions.shape(1) == quadrotor::kNumRotors,
                "actions must have shape (", n, ", 4), got (", actions.shape(0), ", ", actions.shape(1), ")");
  TURBORL_CHECK(int64_t(airframe.shape(0)) == kAirframeFields, "airframe must hold ", kAirframeFields,
                " values, got ", airframe.shape(0));
  TURBORL_CHECK(steps >= 0, "steps must be >= 0, got ", steps);
  TURBORL_CHECK(num_threads >= 1, "num_threads must be >= 1, got ", num_threads);
  const double* f = airframe.data();
  const quadrotor::Airframe<Real> a{Real(f[0]), Real(f[1]),  Real(f[2]),  Real(f[3]),  Real(f[4]),
                                    Real(f[5]), Real(f[6]),  Real(f[7]),  Real(f[8]),  Real(f[9]),
                                    Real(f[10]), Real(f[11]), Real(f[12]), Real(f[13])};
  Real* state = columns.data();
  const float* setpoints = actions.data();
  nb::gil_scoped_release release;
  ThreadPool pool(num_threads);
  pool.run_chunks(
      n,
      [&](int64_t begin, int64_t end) {
        quadrotor::BlockSimulator<Real>::run(state, setpoints, n, begin, end, steps, a, Real(dt));
      },
      quadrotor::BlockSimulator<Real>::kLanes);
}

}  // namespace

void bind_quadrotor(nb::module_& m) {
  m.attr("quadrotor_simulate_state_dim") = quadrotor::kSimulateStateDim;
  m.def("quadrotor_simulate_float32", &simulate<float>, "columns"_a, "actions"_a, "steps"_a, "airframe"_a, "dt"_a,
        "num_threads"_a);
  m.def("quadrotor_simulate_float64", &simulate<double>, "columns"_a, "actions"_a, "steps"_a, "airframe"_a, "dt"_a,
        "num_threads"_a);
}

}  // namespace turborl::bindings
