// Bindings of the vector-env engine, instantiated once per environment and precision. They only
// check and convert arguments, release the GIL and call the engine; the Python class
// turborl.envs.NativeVectorEnv builds Gymnasium's VectorEnv API on top.
//
// This file is compiled with -ffp-contract=off (see CMakeLists.txt): it instantiates the exact
// float64 simulators.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>

#include <cstdint>
#include <iterator>
#include <optional>
#include <type_traits>

#include "bindings.hpp"
#include "turborl/core/box_action_env.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/vec_env.hpp"
#include "turborl/envs/acrobot.hpp"
#include "turborl/envs/cartpole.hpp"
#include "turborl/envs/combination_lock.hpp"
#include "turborl/envs/mountain_car.hpp"
#include "turborl/envs/mountain_car_continuous.hpp"
#include "turborl/envs/pendulum.hpp"
#include "turborl/envs/quadrotor_l2f.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::bindings {
namespace {

template <class T>
using Array1D = nb::ndarray<nb::numpy, T, nb::ndim<1>>;
template <class T>
using Array2D = nb::ndarray<nb::numpy, T, nb::ndim<2>>;

const char* constraint_name(envs::ParamConstraint constraint) {
  switch (constraint) {
    case envs::ParamConstraint::kPositive: return "positive";
    case envs::ParamConstraint::kNonNegative: return "nonnegative";
    case envs::ParamConstraint::kFinite: break;
  }
  return "finite";
}

template <class Values>
nb::list float_list(const Values& values) {
  nb::list out;
  for (double v : values) out.append(v);
  return out;
}

// What Python needs to build the spaces and validate arguments, read from the env header.
template <class Env>
nb::dict describe_env() {
  nb::dict spec;
  spec["id"] = Env::id;
  spec["max_episode_steps"] = Env::max_episode_steps;
  spec["obs_dim"] = Env::obs_dim;
  spec["obs_low"] = float_list(Env::obs_low);
  spec["obs_high"] = float_list(Env::obs_high);
  spec["critic_obs_dim"] = VecEnv<Env, double>::kCriticObsDim;
  if constexpr (Env::action_kind == envs::ActionKind::kDiscrete) {
    spec["action_kind"] = "discrete";
    spec["num_actions"] = Env::num_actions;
  } else {
    spec["action_kind"] = "box";
    spec["action_dim"] = Env::action_dim;
    spec["action_low"] = float_list(Env::action_low);
    spec["action_high"] = float_list(Env::action_high);
  }
  nb::list state_names;
  for (const char* name : Env::state_names) state_names.append(name);
  spec["state_names"] = state_names;
  nb::list params;
  for (const envs::ParamInfo& info : Env::param_info) {
    params.append(nb::make_tuple(info.name, info.default_value, constraint_name(info.constraint), info.doc));
  }
  spec["params"] = params;
  return spec;
}

// Envs with Box actions are BoxActionVecEnvs: the C++ collection loop of the off-policy
// algorithms (nn/collect.hpp, bound in bind_nn.cpp) takes them as their BoxActionEnv base.
template <class Env, class Real>
using BoundVecEnv = std::conditional_t<Env::action_kind == envs::ActionKind::kBox, BoxActionVecEnv<Env, Real>,
                                       VecEnv<Env, Real>>;

template <class E>
auto vec_env_class(nb::module_& m, const char* class_name) {
  if constexpr (std::is_base_of_v<BoxActionEnv, E>) return nb::class_<E, BoxActionEnv>(m, class_name);
  else return nb::class_<E>(m, class_name);
}

template <class Env, class Real>
void bind_vec_env(nb::module_& m, const char* class_name) {
  using E = BoundVecEnv<Env, Real>;
  using Action = typename E::ActionScalar;
  constexpr auto kView = nb::rv_policy::reference_internal;

  vec_env_class<E>(m, class_name)
      .def(
          "__init__",
          [](E* self, int64_t num_envs, int num_threads, int64_t max_episode_steps, int autoreset_mode) {
            TURBORL_CHECK(autoreset_mode >= 0 && autoreset_mode <= 2, "autoreset_mode must be 0, 1 or 2, got ",
                          autoreset_mode);
            new (self) E(num_envs, num_threads, max_episode_steps, static_cast<AutoresetMode>(autoreset_mode));
            if constexpr (std::is_base_of_v<BoxActionEnv, E>) {  // see BoxActionVecEnv
              TURBORL_CHECK_STATE(static_cast<void*>(static_cast<BoxActionEnv*>(self)) == static_cast<void*>(self),
                                  "BoxActionEnv is not at offset 0 of ", Env::id, "'s engine");
            }
          },
          "num_envs"_a, "num_threads"_a, "max_episode_steps"_a, "autoreset_mode"_a)
      .def(
          "step",
          [](E& env, nb::ndarray<const Action, nb::c_contig, nb::device::cpu> actions) {
            TURBORL_CHECK(int64_t(actions.size()) == env.num_envs() * E::kActionDim, "actions must hold ",
                          env.num_envs() * E::kActionDim, " values, got ", actions.size());
            nb::gil_scoped_release release;
            return env.step(actions.data());
          },
          "actions"_a, "Steps every env; returns the number of episodes that ended.")
      .def(
          "reset",
          [](E& env, std::optional<nb::ndarray<const bool, nb::ndim<1>, nb::c_contig, nb::device::cpu>> mask) {
            if (mask) {
              TURBORL_CHECK(int64_t(mask->shape(0)) == env.num_envs(), "reset_mask must have shape (",
                            env.num_envs(), ",), got (", mask->shape(0), ",)");
            }
            const bool* mask_data = mask ? mask->data() : nullptr;
            nb::gil_scoped_release release;
            env.reset(mask_data);
          },
          "mask"_a = nb::none())
      .def(
          "refresh_observations",
          [](E& env, nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> env_ids) {
            env.refresh_observations(env_ids.data(), int64_t(env_ids.shape(0)));
          },
          "env_ids"_a)
      .def("params_changed", &E::params_changed)
      .def_prop_ro("params_uniform", &E::params_uniform)
      .def_prop_ro("num_envs", &E::num_envs)
      .def_prop_ro("num_threads", &E::num_threads)
      .def_prop_ro("max_episode_steps", &E::max_episode_steps)
      .def_prop_ro(
          "state_columns",
          [](E& e) { return Array2D<Real>(e.state_columns(), {size_t(E::kStateDim), size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "param_columns",
          [](E& e) { return Array2D<Real>(e.param_columns(), {size_t(E::kNumParams), size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "obs", [](E& e) { return Array2D<float>(e.obs(), {size_t(e.num_envs()), size_t(E::kObsDim)}); }, kView)
      .def_prop_ro(
          "final_obs", [](E& e) { return Array2D<float>(e.final_obs(), {size_t(e.num_envs()), size_t(E::kObsDim)}); },
          kView)
      .def_prop_ro(
          "critic_obs",
          [](E& e) { return Array2D<float>(e.critic_obs(), {size_t(e.num_envs()), size_t(E::kCriticObsDim)}); },
          kView)
      .def_prop_ro(
          "final_critic_obs",
          [](E& e) {
            return Array2D<float>(e.final_critic_obs(), {size_t(e.num_envs()), size_t(E::kCriticObsDim)});
          },
          kView)
      .def_prop_ro(
          "rewards", [](E& e) { return Array1D<double>(e.rewards(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "terminated", [](E& e) { return Array1D<bool>(e.terminated(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "truncated", [](E& e) { return Array1D<bool>(e.truncated(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "episode_ended", [](E& e) { return Array1D<bool>(e.episode_ended(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "final_return", [](E& e) { return Array1D<double>(e.final_return(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "final_length", [](E& e) { return Array1D<int64_t>(e.final_length(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "needs_reset", [](E& e) { return Array1D<bool>(e.needs_reset(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "elapsed_steps", [](E& e) { return Array1D<int64_t>(e.elapsed_steps(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "episode_return", [](E& e) { return Array1D<double>(e.episode_return(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "episode_length", [](E& e) { return Array1D<int64_t>(e.episode_length(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "env_seeds", [](E& e) { return Array1D<uint64_t>(e.env_seeds(), {size_t(e.num_envs())}); }, kView)
      .def_prop_ro(
          "episode_index", [](E& e) { return Array1D<uint64_t>(e.episode_index(), {size_t(e.num_envs())}); }, kView);
}

// The one line each environment needs: both precisions and its description.
template <class Env>
void register_env(nb::module_& m, nb::dict& registry, const char* name) {
  const std::string f64 = std::string(name) + "_float64";
  const std::string f32 = std::string(name) + "_float32";
  bind_vec_env<Env, double>(m, f64.c_str());
  bind_vec_env<Env, float>(m, f32.c_str());
  nb::dict entry;
  entry["float64"] = m.attr(f64.c_str());
  entry["float32"] = m.attr(f32.c_str());
  entry["spec"] = describe_env<Env>();
  registry[Env::id] = entry;
}

}  // namespace

void bind_envs(nb::module_& m) {
  nb::class_<BoxActionEnv>(m, "BoxActionEnv");  // the base of the Box-action engines, for collect()
  nb::dict registry;
  register_env<envs::CartPole>(m, registry, "CartPole");
  register_env<envs::Acrobot>(m, registry, "Acrobot");
  register_env<envs::MountainCar>(m, registry, "MountainCar");
  register_env<envs::MountainCarContinuous>(m, registry, "MountainCarContinuous");
  register_env<envs::Pendulum>(m, registry, "Pendulum");
  register_env<envs::QuadrotorL2F>(m, registry, "QuadrotorL2F");
  register_env<envs::CombinationLock>(m, registry, "CombinationLock");
  register_env<envs::CombinationLock4>(m, registry, "CombinationLock4");
  m.attr("env_registry") = registry;
}

}  // namespace turborl::bindings
