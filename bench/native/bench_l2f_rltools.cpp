// Peer benchmark: RLtools' "Learning to Fly" (L2F) quadrotor simulator, stepped natively with no Python,
// so turborl's own quadrotor simulator can be timed against it in the same run.
//
//   mkdir -p /tmp/rl-tools && git --git-dir=/work/.mirror/rl-tools+rl-tools/repo archive HEAD include | tar -x -C /tmp/rl-tools
//   g++ -O3 -march=native -std=c++17 -finline-limit=100000 -I/tmp/rl-tools/include bench/native/bench_l2f_rltools.cpp -o /tmp/bench_l2f_rltools -lpthread
//   /tmp/bench_l2f_rltools [num_envs=4096] [steps=1000] [threads=1] [init=sample|initial]
//
// -finline-limit=100000: RLtools relies on the compiler inlining its small templated helpers. With plain -O3,
// GCC 12 leaves l2f::multirotor_dynamics and l2f::scalar_multiply_accumulate (the RK4 state axpy) as out-of-line
// calls, so every RK4 stage goes through memory and the step runs ~1.7x slower (4.8 vs 8.2 M steps/s, one thread,
// this machine). With the flag the whole step is inlined (only a sqrtf error-path call remains), as nvcc does for
// the paper's CUDA benchmark, and the result matches the 8.2 M steps/s single-thread reference.
// Plain `g++ -O3 -march=native -std=c++17 -I/tmp/rl-tools/include ... -lpthread` also compiles.
//
// Prints one line of JSON:
//   {"library": "rltools", "num_envs": N, "steps": K, "threads": T, "seconds": s,
//    "steps_per_second": N*K/s, "final_position_z_mean": m}
//
// What is timed (the protocol of the L2F paper's benchmark, arplaboratory/learning-to-fly src/cuda/benchmark.cu,
// and of rl-tools src/rl/environments/l2f/cuda/benchmark.cu): each env keeps its state in a local variable and is
// advanced K times by
//   rl_tools::utils::integrators::rk4<..., multirotor_dynamics_dispatch<...>>(device, parameters, state, action, dt, next)
//   rl_tools::rl::environments::l2f::post_integration(device, env, parameters, state, action, next, rng)
//   state = next
// i.e. exactly what rl_tools::step does minus its action rescaling / action-noise sampling (step() draws a Gaussian
// per rotor even when the noise std is 0, which is not simulator work). Envs are split into T contiguous chunks, one
// std::thread each; each thread uses its own copy of the (nominal) parameters.
//
// Environment: Crazyflie dynamics (parameters/dynamics/crazyflie.h via DEFAULT_PARAMETERS_FACTORY), float32,
// dt = 0.01 s (100 Hz), one RK4 step per env step (N_SUBSTEPS = 1).
// State type: StateRotors<StateRotorsSpecification<float, TI, CLOSED_FORM=false,
//                 StateRandomForce<StateSpecification<float, TI, StateBase<...>>>>>
//   = 13-dim rigid body (position, quaternion, linear velocity, angular velocity) + 4 rotor speeds integrated by RK4
//     (first-order motor lag) + a constant per-episode random disturbance force/torque. This is the same state type
//     rl-tools' own L2F benchmark uses and the closest to the paper's configuration (rotor speeds + random force).
// Disturbance: random_force ~ N(0, 0.027*9.81/10) per axis as in the paper's parameters (learning-to-fly
//   src/cuda/parameters.h); random_torque std 0. Sampled once per env at initialisation, constant afterwards.
// Action: a constant rotor-speed set-point, the same for all 4 rotors, equal to the hover set-point solved from the
//   Crazyflie thrust curve (c0 + c1*u + c2*u^2 = m*g/4; u ~= 0.806 in the current model, where the rotor "rpm" is
//   normalised to the action limits [0, 1]; the older learning-to-fly model used raw rpm, hover 14476 of 21702).
// Initial states: init=sample (default) -> rl_tools::sample_initial_state (RLtools' training distribution:
//   position +-0.5 m, random attitude, velocities +-1, rotor speeds uniform in [0, 0.5], 10% "guidance" at hover),
//   one RLtools RNG seeded 0; init=initial -> rl_tools::initial_state (origin, level, at rest,
//   rpm = hovering_throttle_relative) with zero disturbance (all envs identical, deterministic).
#include <rl_tools/operations/cpu.h>
#include <rl_tools/rl/environments/l2f/operations_cpu.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace rlt = rl_tools;

using DEVICE = rlt::devices::DefaultCPU;
using TI = typename DEVICE::index_t;
using T = float;

namespace builder {
using namespace rlt::rl::environments::l2f;
using namespace rlt::rl::environments::l2f::observation;
struct ENVIRONMENT_STATIC_PARAMETERS {
  static constexpr TI N_SUBSTEPS = 1;
  static constexpr TI ACTION_HISTORY_LENGTH = 16;
  static constexpr bool CLOSED_FORM = false;
  using STATE_BASE = StateBase<StateSpecification<T, TI>>;
  using STATE_TYPE =
      StateRotors<StateRotorsSpecification<T, TI, CLOSED_FORM, StateRandomForce<StateSpecification<T, TI, STATE_BASE>>>>;
  using OBSERVATION_TYPE = Position<PositionSpecification<
      T, TI,
      OrientationRotationMatrix<OrientationRotationMatrixSpecification<
          T, TI, LinearVelocity<LinearVelocitySpecification<T, TI, AngularVelocity<AngularVelocitySpecification<T, TI>>>>>>>>;
  using OBSERVATION_TYPE_PRIVILEGED = OBSERVATION_TYPE;
  static constexpr bool PRIVILEGED_OBSERVATION_NOISE = false;
  using DEFAULT_STUB = parameters::DEFAULT_PARAMETERS_FACTORY<T, TI>;  // MODEL = crazyflie, dt = 1/100
  using PARAMETERS = DEFAULT_STUB::PARAMETERS_TYPE;
  static constexpr auto PARAMETER_VALUES = DEFAULT_STUB::nominal_parameters;
  static constexpr TI EPISODE_STEP_LIMIT = DEFAULT_STUB::EPISODE_STEP_LIMIT_OUTER;
  static constexpr T STATE_LIMIT_POSITION = 100000;
  static constexpr T STATE_LIMIT_VELOCITY = 100000;
  static constexpr T STATE_LIMIT_ANGULAR_VELOCITY = 100000;
};
}  // namespace builder

using ENVIRONMENT_SPEC = rlt::rl::environments::l2f::Specification<T, TI, builder::ENVIRONMENT_STATIC_PARAMETERS>;
using ENVIRONMENT = rlt::rl::environments::Multirotor<ENVIRONMENT_SPEC>;
using STATE = typename ENVIRONMENT::State;
using PARAMETERS = typename ENVIRONMENT::Parameters;
using RNG = typename DEVICE::SPEC::RANDOM::template ENGINE<>;
constexpr TI ACTION_DIM = ENVIRONMENT::ACTION_DIM;

static void simulate_chunk(const ENVIRONMENT& env_in, const PARAMETERS& parameters_in, STATE* states, TI begin, TI end,
                           TI steps, T hover) {
  DEVICE device;
  ENVIRONMENT env = env_in;
  PARAMETERS parameters = parameters_in;  // thread-local copy
  RNG rng;                                // not drawn from by this state type's post_integration
  rlt::malloc(device, rng);
  rlt::init(device, rng, 0);
  const T dt = parameters.integration.dt;
  T action[ACTION_DIM];
  rlt::Matrix<rlt::matrix::Specification<T, TI, 1, ACTION_DIM, false>> action_matrix;  // only read by CLOSED_FORM
  for (TI a = 0; a < ACTION_DIM; ++a) {
    action[a] = hover;
    rlt::set(action_matrix, 0, a, hover);
  }
  for (TI i = begin; i < end; ++i) {
    STATE state = states[i];
    STATE next_state;
    for (TI k = 0; k < steps; ++k) {
      rlt::utils::integrators::rk4<DEVICE, T, PARAMETERS, STATE, ACTION_DIM,
                                   rlt::rl::environments::l2f::multirotor_dynamics_dispatch<DEVICE, T, PARAMETERS, STATE>>(
          device, parameters, state, action, dt, next_state);
      rlt::rl::environments::l2f::post_integration(device, env, parameters, state, action_matrix, next_state, rng);
      state = next_state;
    }
    states[i] = state;
  }
}

int main(int argc, char** argv) {
  const TI num_envs = argc > 1 ? TI(std::atoll(argv[1])) : 4096;
  const TI steps = argc > 2 ? TI(std::atoll(argv[2])) : 1000;
  TI threads = argc > 3 ? TI(std::atoll(argv[3])) : 1;
  const bool sample = !(argc > 4 && std::strcmp(argv[4], "initial") == 0);
  if (threads < 1) threads = 1;
  if (threads > num_envs) threads = num_envs;

  DEVICE device;
  RNG rng;
  rlt::malloc(device, rng);
  rlt::init(device, rng, 0);
  ENVIRONMENT env;
  PARAMETERS parameters;
  rlt::initial_parameters(device, env, parameters);
  parameters.integration.dt = T(0.01);
  if (sample) parameters.disturbances.random_force = {T(0), T(0.027 * 9.81 / 10)};

  // Hover set-point (same for all rotors; all thrust directions are +z in the Crazyflie model).
  const auto& dyn = parameters.dynamics;
  const double per_rotor = double(dyn.mass) * -double(dyn.gravity[2]) / 4.0;
  const double c0 = dyn.rotor_thrust_coefficients[0][0], c1 = dyn.rotor_thrust_coefficients[0][1],
               c2 = dyn.rotor_thrust_coefficients[0][2];
  const T hover = T((-c1 + std::sqrt(c1 * c1 - 4.0 * c2 * (c0 - per_rotor))) / (2.0 * c2));

  std::vector<STATE> states(num_envs);
  for (TI i = 0; i < num_envs; ++i) {
    if (sample) rlt::sample_initial_state(device, env, parameters, states[i], rng);
    else rlt::initial_state(device, env, parameters, states[i]);
  }

  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  for (TI t = 0; t < threads; ++t) {
    const TI begin = num_envs * t / threads, end = num_envs * (t + 1) / threads;
    pool.emplace_back(simulate_chunk, std::cref(env), std::cref(parameters), states.data(), begin, end, steps, hover);
  }
  for (auto& th : pool) th.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  double z_sum = 0.0;
  TI non_finite = 0;
  for (TI i = 0; i < num_envs; ++i) {
    z_sum += states[i].position[2];
    for (TI d = 0; d < 3; ++d)
      if (!std::isfinite(states[i].position[d]) || !std::isfinite(states[i].angular_velocity[d])) ++non_finite;
  }
  if (non_finite) std::fprintf(stderr, "warning: %llu non-finite state entries\n", (unsigned long long)non_finite);
  std::printf(
      "{\"library\": \"rltools\", \"num_envs\": %llu, \"steps\": %llu, \"threads\": %llu, \"seconds\": %.6f, "
      "\"steps_per_second\": %.1f, \"final_position_z_mean\": %.6f}\n",
      (unsigned long long)num_envs, (unsigned long long)steps, (unsigned long long)threads, seconds,
      double(num_envs) * double(steps) / seconds, z_sum / double(num_envs));
  return 0;
}
