// turborl._cuda: GPU kernels for machines with an NVIDIA GPU. Compiled whenever nvcc is found;
// on a machine without a GPU or driver, device_count() is 0 and turborl.cuda_available() False.
// The Python wrappers live in python/turborl/cuda.py.
#include <cuda_runtime.h>
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <optional>
#include <string>

#include "cartpole_kernel.hpp"
#include "quadrotor_kernel.hpp"
#include "value_iteration_kernel.hpp"
#include "turborl/core/check.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::cuda {
namespace {

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls can proceed
    detail::throw_runtime_error(what, " failed: ", cudaGetErrorString(status));
  }
}

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

// Device memory for n values of T, freed on scope exit.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : size_(n) {
    if (n > 0) check_cuda(cudaMalloc(reinterpret_cast<void**>(&data_), n * sizeof(T)), "cudaMalloc");
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (data_ != nullptr) cudaFree(data_);
  }
  T* data() { return data_; }
  void upload(const T* host) {
    if (size_ > 0) check_cuda(cudaMemcpy(data_, host, size_ * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy to GPU");
  }
  void download(T* host) const {
    if (size_ > 0) check_cuda(cudaMemcpy(host, data_, size_ * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  }

 private:
  T* data_ = nullptr;
  size_t size_;
};

template <class T>
nb::ndarray<nb::numpy, T> host_array(std::initializer_list<size_t> shape) {
  size_t count = 1;
  for (size_t extent : shape) count *= extent;
  T* data = new T[count > 0 ? count : 1];
  nb::capsule owner(data, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  return nb::ndarray<nb::numpy, T>(data, shape, owner);
}

// Runs `launch` (which returns a cudaError_t as int) between two events; returns the GPU
// milliseconds between them, i.e. the kernel alone.
template <class Launch>
float timed_kernel(Launch&& launch, const char* what) {
  nb::gil_scoped_release release;
  float kernel_ms = 0.0f;
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  check_cuda(cudaEventRecord(start), "cudaEventRecord");
  check_cuda(cudaError_t(launch()), what);
  check_cuda(cudaEventRecord(stop), "cudaEventRecord");
  check_cuda(cudaEventSynchronize(stop), what);
  check_cuda(cudaEventElapsedTime(&kernel_ms, start, stop), "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return kernel_ms;
}

template <class T>
using HostVector = nb::ndarray<T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

template <class Real>
nb::dict cartpole_rollout(nb::ndarray<Real, nb::ndim<2>, nb::c_contig, nb::device::cpu> state_columns,
                          HostVector<int64_t> elapsed_steps, HostVector<double> episode_return,
                          HostVector<int64_t> episode_length, HostVector<bool> needs_reset,
                          HostVector<const uint64_t> env_seeds, HostVector<uint64_t> episode_index,
                          std::optional<nb::ndarray<const int64_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>> actions,
                          int64_t num_steps, uint64_t action_seed, HostVector<const double> params,
                          int64_t max_episode_steps, bool record) {
  const int64_t n = int64_t(state_columns.shape(1));
  TURBORL_CHECK(state_columns.shape(0) == 4, "state_columns must have shape (4, num_envs), got (",
                state_columns.shape(0), ", ", n, ")");
  TURBORL_CHECK(n >= 1, "num_envs must be >= 1, got ", n);
  for (size_t size : {elapsed_steps.shape(0), episode_return.shape(0), episode_length.shape(0), needs_reset.shape(0),
                      env_seeds.shape(0), episode_index.shape(0)}) {
    TURBORL_CHECK(int64_t(size) == n, "every per-env array must have num_envs = ", n, " entries, got ", size);
  }
  TURBORL_CHECK(num_steps >= 0, "num_steps must be >= 0, got ", num_steps);
  TURBORL_CHECK(max_episode_steps >= 1, "max_episode_steps must be >= 1, got ", max_episode_steps);
  constexpr size_t kNumParams = sizeof(envs::CartPole::Params<Real>) / sizeof(Real);
  TURBORL_CHECK(params.shape(0) == kNumParams, "params must have ", kNumParams, " entries, got ", params.shape(0));
  if (actions) {
    TURBORL_CHECK(int64_t(actions->shape(0)) == num_steps && int64_t(actions->shape(1)) == n,
                  "actions must have shape (num_steps, num_envs) = (", num_steps, ", ", n, "), got (",
                  actions->shape(0), ", ", actions->shape(1), ")");
    for (size_t k = 0; k < actions->size(); ++k) {
      TURBORL_CHECK(actions->data()[k] == 0 || actions->data()[k] == 1, "actions must be 0 or 1, got ",
                    actions->data()[k], " at flat index ", k);
    }
  }
  TURBORL_CHECK(device_count() > 0, "no CUDA device is available");

  CartPoleRolloutArgs<Real> args{};
  args.num_envs = n;
  args.num_steps = num_steps;
  args.max_episode_steps = max_episode_steps;
  Real param_values[kNumParams];
  for (size_t k = 0; k < kNumParams; ++k) param_values[k] = Real(params.data()[k]);
  std::memcpy(&args.params, param_values, sizeof(param_values));
  args.action_seed = action_seed;

  DeviceArray<Real> d_state(size_t(4 * n));
  DeviceArray<int64_t> d_elapsed(n), d_length(n);
  DeviceArray<double> d_return(n);
  DeviceArray<bool> d_needs_reset(n);
  DeviceArray<uint64_t> d_seeds(n), d_episode(n);
  DeviceArray<int64_t> d_actions(actions ? size_t(num_steps * n) : 0);
  const size_t outputs = record ? size_t(num_steps * n) : 0;
  DeviceArray<float> d_obs(outputs * 4);
  DeviceArray<double> d_rewards(outputs);
  DeviceArray<bool> d_terminated(outputs), d_truncated(outputs);

  d_state.upload(state_columns.data());
  d_elapsed.upload(elapsed_steps.data());
  d_return.upload(episode_return.data());
  d_length.upload(episode_length.data());
  d_needs_reset.upload(needs_reset.data());
  d_seeds.upload(env_seeds.data());
  d_episode.upload(episode_index.data());
  if (actions) d_actions.upload(actions->data());

  args.state_columns = d_state.data();
  args.elapsed_steps = d_elapsed.data();
  args.episode_return = d_return.data();
  args.episode_length = d_length.data();
  args.needs_reset = d_needs_reset.data();
  args.env_seeds = d_seeds.data();
  args.episode_index = d_episode.data();
  args.actions = actions ? d_actions.data() : nullptr;
  args.obs = record ? d_obs.data() : nullptr;
  args.rewards = record ? d_rewards.data() : nullptr;
  args.terminated = record ? d_terminated.data() : nullptr;
  args.truncated = record ? d_truncated.data() : nullptr;

  const float kernel_ms = timed_kernel([&] { return launch_cartpole_rollout(args); }, "CartPole rollout kernel");

  d_state.download(state_columns.data());
  d_elapsed.download(elapsed_steps.data());
  d_return.download(episode_return.data());
  d_length.download(episode_length.data());
  d_needs_reset.download(needs_reset.data());
  d_episode.download(episode_index.data());

  nb::dict result;
  result["kernel_seconds"] = double(kernel_ms) * 1e-3;
  if (record) {
    auto obs = host_array<float>({size_t(num_steps), size_t(n), 4});
    auto rewards = host_array<double>({size_t(num_steps), size_t(n)});
    auto terminated = host_array<bool>({size_t(num_steps), size_t(n)});
    auto truncated = host_array<bool>({size_t(num_steps), size_t(n)});
    d_obs.download(obs.data());
    d_rewards.download(rewards.data());
    d_terminated.download(terminated.data());
    d_truncated.download(truncated.data());
    result["obs"] = obs;
    result["rewards"] = rewards;
    result["terminated"] = terminated;
    result["truncated"] = truncated;
  }
  return result;
}

template <class Real>
void bind_rollout(nb::module_& m, const char* name) {
  m.def(name, &cartpole_rollout<Real>, "state_columns"_a, "elapsed_steps"_a, "episode_return"_a, "episode_length"_a,
        "needs_reset"_a, "env_seeds"_a, "episode_index"_a, "actions"_a.none(), "num_steps"_a, "action_seed"_a,
        "params"_a, "max_episode_steps"_a, "record"_a);
}

// Steps the quadrotors of state_columns [23][n] (in place) `num_steps` times with held set-points;
// returns the kernel's seconds.
template <class Real>
double quadrotor_simulate(nb::ndarray<Real, nb::ndim<2>, nb::c_contig, nb::device::cpu> state_columns,
                          nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu> actions,
                          int64_t num_steps, HostVector<const double> airframe, double dt) {
  constexpr int kAirframeFields = int(sizeof(quadrotor::Airframe<Real>) / sizeof(Real));
  const int64_t n = int64_t(state_columns.shape(1));
  TURBORL_CHECK(state_columns.shape(0) == 23, "state_columns must have shape (23, num_envs), got (",
                state_columns.shape(0), ", ", n, ")");
  TURBORL_CHECK(n >= 1, "num_envs must be >= 1, got ", n);
  TURBORL_CHECK(int64_t(actions.shape(0)) == n && actions.shape(1) == 4, "actions must have shape (", n,
                ", 4), got (", actions.shape(0), ", ", actions.shape(1), ")");
  TURBORL_CHECK(int64_t(airframe.shape(0)) == kAirframeFields, "airframe must hold ", kAirframeFields,
                " values, got ", airframe.shape(0));
  TURBORL_CHECK(num_steps >= 0, "num_steps must be >= 0, got ", num_steps);
  TURBORL_CHECK(device_count() > 0, "no CUDA device is available");

  QuadrotorSimulateArgs<Real> args{};
  args.num_envs = n;
  args.num_steps = num_steps;
  Real fields[kAirframeFields];
  for (int k = 0; k < kAirframeFields; ++k) fields[k] = Real(airframe.data()[k]);
  std::memcpy(&args.airframe, fields, sizeof(fields));
  args.dt = Real(dt);
  DeviceArray<Real> d_state(size_t(23 * n));
  DeviceArray<float> d_actions(size_t(4 * n));
  d_state.upload(state_columns.data());
  d_actions.upload(actions.data());
  args.state_columns = d_state.data();
  args.actions = d_actions.data();
  const float kernel_ms = timed_kernel([&] { return launch_quadrotor_simulate(args); }, "quadrotor simulate kernel");
  d_state.download(state_columns.data());
  return double(kernel_ms) * 1e-3;
}

// Value iteration on the GPU for a tabular MDP given by the arrays of turborl.planning.TabularMDP
// (already checked there by the CPU core). horizon = 0: discounted sweeps until the residual is
// <= tol or max_sweeps ran, then the Q of the final values; horizon T >= 1: backward induction
// over all states (q [T, S, A], v [T, S]). Returns (q, v, sweeps, residual, kernel_seconds).
nb::tuple value_iteration(int64_t num_states, int64_t num_actions, HostVector<const int32_t> next,
                          std::optional<HostVector<const int64_t>> offsets, std::optional<HostVector<const double>> probs,
                          HostVector<const double> rewards, std::optional<HostVector<const uint8_t>> terminal,
                          double gamma, double tol, int64_t max_sweeps, int64_t horizon, int kind,
                          std::optional<HostVector<const double>> policy) {
  TURBORL_CHECK(num_states >= 1 && num_actions >= 1, "the MDP must have states and actions, got S = ", num_states,
                ", A = ", num_actions);
  const size_t S = size_t(num_states), SA = size_t(num_states * num_actions);
  TURBORL_CHECK(rewards.shape(0) == SA, "rewards must hold S * A = ", SA, " values, got ", rewards.shape(0));
  TURBORL_CHECK(offsets.has_value() == probs.has_value(), "sparse transitions need both offsets and probabilities");
  if (offsets) {
    TURBORL_CHECK(offsets->shape(0) == SA + 1, "offsets must hold S * A + 1 values, got ", offsets->shape(0));
    TURBORL_CHECK(probs->shape(0) == next.shape(0), "probs and next must have one length");
  } else {
    TURBORL_CHECK(next.shape(0) == SA, "next must hold S * A = ", SA, " values, got ", next.shape(0));
  }
  TURBORL_CHECK(kind >= 0 && kind <= 3, "unknown state-value kind ", kind);
  const auto value_kind = static_cast<planning::StateValue>(kind);
  TURBORL_CHECK(value_kind != planning::StateValue::kPolicy || (policy && policy->shape(0) == SA),
                "policy must hold S * A probabilities");
  TURBORL_CHECK(horizon >= 0, "horizon must be >= 0, got ", horizon);
  TURBORL_CHECK(max_sweeps >= 1, "max_sweeps must be >= 1, got ", max_sweeps);
  TURBORL_CHECK(device_count() > 0, "no CUDA device is available");

  DeviceArray<int32_t> d_next(next.shape(0));
  DeviceArray<int64_t> d_offsets(offsets ? offsets->shape(0) : 0);
  DeviceArray<double> d_probs(probs ? probs->shape(0) : 0);
  DeviceArray<double> d_rewards(SA);
  DeviceArray<uint8_t> d_terminal(terminal ? S : 0);
  DeviceArray<double> d_policy(policy ? SA : 0);
  d_next.upload(next.data());
  if (offsets) d_offsets.upload(offsets->data());
  if (probs) d_probs.upload(probs->data());
  d_rewards.upload(rewards.data());
  if (terminal) d_terminal.upload(terminal->data());
  if (policy) d_policy.upload(policy->data());
  const uint8_t* terminal_data = terminal ? d_terminal.data() : nullptr;

  const size_t steps = horizon > 0 ? size_t(horizon) : 1;
  DeviceArray<double> d_q(steps * SA);
  DeviceArray<double> d_v((steps + 1) * S);  // finite horizon: v[T] = 0; discounted: two buffers
  DeviceArray<unsigned long long> d_residual(1);
  check_cuda(cudaMemset(d_v.data(), 0, (steps + 1) * S * sizeof(double)), "cudaMemset");

  auto sweep = [&](const double* v_old, double* v_new, double* q_out) {
    ValueSweepArgs args{gamma, value_kind, policy ? d_policy.data() : nullptr, v_old, v_new, q_out, d_residual.data()};
    if (offsets) {
      planning::TabularMdpView<planning::SparseTransitions> view{
          num_states, num_actions, {d_offsets.data(), d_next.data(), d_probs.data()}, d_rewards.data(), terminal_data};
      return launch_value_sweep(view, args);
    }
    planning::TabularMdpView<planning::DeterministicTransitions> view{
        num_states, num_actions, {d_next.data()}, d_rewards.data(), terminal_data};
    return launch_value_sweep(view, args);
  };

  int64_t sweeps = 0;
  double residual = 0.0;
  double* v_result = d_v.data();
  const float kernel_ms = timed_kernel(
      [&]() -> int {
        if (horizon > 0) {
          for (int64_t t = horizon - 1; t >= 0; --t) {
            const int status = sweep(d_v.data() + (t + 1) * S, d_v.data() + t * S, d_q.data() + t * SA);
            if (status != 0) return status;
          }
          sweeps = horizon;
          return int(cudaGetLastError());
        }
        double* current = d_v.data();
        double* scratch = d_v.data() + S;
        residual = std::numeric_limits<double>::infinity();
        while (sweeps < max_sweeps && !(residual <= tol)) {
          if (cudaMemset(d_residual.data(), 0, sizeof(unsigned long long)) != cudaSuccess) return int(cudaGetLastError());
          const int status = sweep(current, scratch, nullptr);
          if (status != 0) return status;
          unsigned long long bits = 0;
          const cudaError_t copied = cudaMemcpy(&bits, d_residual.data(), sizeof(bits), cudaMemcpyDeviceToHost);
          if (copied != cudaSuccess) return int(copied);
          std::memcpy(&residual, &bits, sizeof(residual));
          std::swap(current, scratch);
          sweeps += 1;
        }
        v_result = current;
        return sweep(current, nullptr, d_q.data());
      },
      "value iteration kernel");

  auto q = host_array<double>({steps * SA});
  d_q.download(q.data());
  const size_t v_count = horizon > 0 ? size_t(horizon) * S : S;
  auto v = host_array<double>({v_count});
  check_cuda(cudaMemcpy(v.data(), v_result, v_count * sizeof(double), cudaMemcpyDeviceToHost), "cudaMemcpy to host");
  return nb::make_tuple(q, v, sweeps, residual, double(kernel_ms) * 1e-3);
}

}  // namespace
}  // namespace turborl::cuda

NB_MODULE(_cuda, m) {
  m.doc() = "turborl's CUDA kernels. Use turborl.cuda instead of this module directly.";
  m.def("device_count", &turborl::cuda::device_count, "Number of CUDA devices (0 without a GPU or driver).");
  m.def("device_name", [](int device) {
    cudaDeviceProp properties{};
    turborl::cuda::check_cuda(cudaGetDeviceProperties(&properties, device), "cudaGetDeviceProperties");
    return std::string(properties.name);
  }, "device"_a = 0);
  turborl::cuda::bind_rollout<double>(m, "cartpole_rollout_float64");
  turborl::cuda::bind_rollout<float>(m, "cartpole_rollout_float32");
  m.def("quadrotor_simulate_float32", &turborl::cuda::quadrotor_simulate<float>, "state_columns"_a, "actions"_a,
        "num_steps"_a, "airframe"_a, "dt"_a);
  m.def("value_iteration", &turborl::cuda::value_iteration, "num_states"_a, "num_actions"_a, "next"_a,
        "offsets"_a.none(), "probs"_a.none(), "rewards"_a, "terminal"_a.none(), "gamma"_a, "tol"_a, "max_sweeps"_a,
        "horizon"_a, "kind"_a, "policy"_a.none());
  m.def("quadrotor_simulate_float64", &turborl::cuda::quadrotor_simulate<double>, "state_columns"_a, "actions"_a,
        "num_steps"_a, "airframe"_a, "dt"_a);
}
