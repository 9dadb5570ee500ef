// Bindings of the native small-network engine (turborl.nn.native drives them). Every array is
// checked for size here, so a wrong shape raises ValueError naming the argument instead of
// reading out of bounds; loops run with the GIL released. Each class exists in float32 (the
// training path) and float64 (gradient tests against torch autograd to 1e-10).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "bindings.hpp"
#include "turborl/core/box_action_env.hpp"
#include "turborl/core/check.hpp"
#include "turborl/nn/collect.hpp"
#include "turborl/nn/dqn.hpp"
#include "turborl/nn/mlp.hpp"
#include "turborl/nn/optim.hpp"
#include "turborl/nn/ppo.hpp"
#include "turborl/nn/replay_batch.hpp"
#include "turborl/nn/td3_replay.hpp"
#include "turborl/nn/sac.hpp"
#include "turborl/nn/sac_replay.hpp"
#include "turborl/nn/stream.hpp"
#include "turborl/nn/td3.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::bindings {
namespace {

template <class T>
using In = nb::ndarray<const T, nb::c_contig, nb::device::cpu>;
template <class T>
using Out = nb::ndarray<T, nb::c_contig, nb::device::cpu>;

template <class Array>
void check_size(const Array& a, std::size_t expected, const char* name) {
  TURBORL_CHECK(a.size() == expected, name, " must hold ", expected, " values, got ", a.size());
}

// NaN or infinity in an input would spread through every weight in one update: refuse it.
template <class T>
void check_finite(const In<T>& a, const char* name) {
  for (std::size_t i = 0; i < a.size(); ++i)
    TURBORL_CHECK(std::isfinite(a.data()[i]), name, " holds a non-finite value (", a.data()[i], ") at flat index ", i);
}

// Every array must hold `expected` values.
template <class Array>
void check_sizes(std::initializer_list<std::pair<const Array*, const char*>> arrays, std::size_t expected) {
  for (const auto& [array, name] : arrays) check_size(*array, expected, name);
}

// Every input must hold `expected` values, all finite.
template <class T>
void check_inputs(std::initializer_list<std::pair<const In<T>*, const char*>> arrays, std::size_t expected) {
  for (const auto& [array, name] : arrays) {
    check_size(*array, expected, name);
    check_finite(*array, name);
  }
}

nn::Activation activation_code(const std::string& name) {
  if (name == "identity") return nn::Activation::kIdentity;
  if (name == "tanh") return nn::Activation::kTanh;
  if (name == "relu") return nn::Activation::kRelu;
  if (name == "leaky_relu") return nn::Activation::kLeakyRelu;
  detail::throw_invalid_argument("activation must be one of 'identity', 'tanh', 'relu', 'leaky_relu', got '", name,
                                 "'");
}

nn::MlpSpec mlp_spec(std::vector<int> sizes, const std::string& activation, const std::string& output_activation,
                     bool layer_norm) {
  nn::MlpSpec spec;
  spec.sizes = std::move(sizes);
  spec.hidden_activation = activation_code(activation);
  spec.output_activation = activation_code(output_activation);
  spec.layer_norm = layer_norm;
  nn::check_spec(spec);
  return spec;
}

// Rows of a [rows, features] input, checked against the network's input width.
template <class T>
std::size_t rows_of(const In<T>& x, int features, const char* name) {
  TURBORL_CHECK(x.ndim() == 2 && x.shape(1) == std::size_t(features), name, " must have shape [batch, ", features,
                "], got ndim ", x.ndim(), " and ", x.size(), " values");
  TURBORL_CHECK(x.shape(0) >= 1, name, " must hold at least one row");
  check_finite(x, name);
  return x.shape(0);
}

// Rows of a batch of observations, which the next observations must match.
template <class T>
std::size_t transition_rows(const In<T>& obs, const In<T>& next_obs, int features) {
  const std::size_t batch = rows_of(obs, features, "obs");
  TURBORL_CHECK(rows_of(next_obs, features, "next_obs") == batch, "next_obs must have ", batch, " rows");
  return batch;
}

// One transition of a single-observation streaming step.
template <class T>
void check_transition(int obs_dim, const In<T>& obs, const In<T>& next_obs, double reward, double gamma) {
  check_inputs<T>({{&obs, "obs"}, {&next_obs, "next_obs"}}, std::size_t(obs_dim));
  TURBORL_CHECK(std::isfinite(reward), "reward must be finite, got ", reward);
  TURBORL_CHECK(gamma >= 0 && gamma <= 1, "gamma must be in [0, 1], got ", gamma);
}

// ObGD's state for `n` parameters: traces like the parameters, the second moment when adaptive.
template <class T>
void check_obgd_state(std::size_t n, const Out<T>& params, const Out<T>& traces,
                      const std::optional<Out<T>>& second_moment, bool adaptive, int64_t step) {
  check_sizes<Out<T>>({{&params, "params"}, {&traces, "traces"}}, n);
  TURBORL_CHECK(!adaptive || second_moment, "adaptive ObGD needs second_moment");
  if (second_moment) check_size(*second_moment, n, "second_moment");
  TURBORL_CHECK(step >= 1, "step must be >= 1, got ", step);
}

template <class T>
void bind_mlp(nb::module_& m, const char* name) {
  using Mlp = nn::Mlp<T>;
  nb::class_<Mlp>(m, name)
      .def(
          "__init__",
          [](Mlp* self, std::vector<int> sizes, const std::string& activation, const std::string& output_activation,
             bool layer_norm) { new (self) Mlp(mlp_spec(std::move(sizes), activation, output_activation, layer_norm)); },
          "sizes"_a, "activation"_a = "tanh", "output_activation"_a = "identity", "layer_norm"_a = false)
      .def_prop_ro("num_params", &Mlp::num_params)
      .def(
          "forward",
          [](Mlp& mlp, In<T> params, In<T> x) {
            check_size(params, std::size_t(mlp.num_params()), "params");
            const std::size_t batch = rows_of(x, mlp.in_features(), "x");
            auto out = new_array<T>({batch, std::size_t(mlp.out_features())});
            {
              nb::gil_scoped_release release;
              const T* y = mlp.forward(params.data(), x.data(), mlp.in_features(), std::ptrdiff_t(batch));
              for (std::size_t b = 0; b < batch; ++b)
                for (int o = 0; o < mlp.out_features(); ++o)
                  out.data()[b * mlp.out_features() + o] = y[b * mlp.output_ld() + o];
            }
            return out;
          },
          "params"_a, "x"_a, "Outputs [batch, out] of the network with these parameters.")
      .def(
          "gradient",
          [](Mlp& mlp, In<T> params, In<T> x, In<T> output_grad, Out<T> grads) {
            check_size(params, std::size_t(mlp.num_params()), "params");
            check_size(grads, std::size_t(mlp.num_params()), "grads");
            const std::size_t batch = rows_of(x, mlp.in_features(), "x");
            check_size(output_grad, batch * mlp.out_features(), "output_grad");
            check_finite(output_grad, "output_grad");
            nb::gil_scoped_release release;
            mlp.forward(params.data(), x.data(), mlp.in_features(), std::ptrdiff_t(batch));
            T* d_out = mlp.output_grad(std::ptrdiff_t(batch));
            for (std::size_t b = 0; b < batch; ++b)
              for (int o = 0; o < mlp.out_features(); ++o)
                d_out[b * mlp.output_ld() + o] = output_grad.data()[b * mlp.out_features() + o];
            mlp.backward(params.data(), x.data(), mlp.in_features(), std::ptrdiff_t(batch), grads.data());
          },
          "params"_a, "x"_a, "output_grad"_a, "grads"_a,
          "Adds sum_b output_grad[b] . d outputs[b] / d params to grads (a vector-Jacobian product).")
      .def(
          "regression_gradient",
          [](Mlp& mlp, In<T> params, In<T> x, In<T> targets, Out<T> grads) {
            check_size(params, std::size_t(mlp.num_params()), "params");
            check_size(grads, std::size_t(mlp.num_params()), "grads");
            const std::size_t batch = rows_of(x, mlp.in_features(), "x");
            const std::size_t outputs = std::size_t(mlp.out_features());
            check_size(targets, batch * outputs, "targets");
            check_finite(targets, "targets");
            nb::gil_scoped_release release;
            const T* y = mlp.forward(params.data(), x.data(), mlp.in_features(), std::ptrdiff_t(batch));
            T* d_out = mlp.output_grad(std::ptrdiff_t(batch));
            const T scale = T(2) / T(batch * outputs);
            double loss = 0;
            for (std::size_t b = 0; b < batch; ++b)
              for (std::size_t o = 0; o < outputs; ++o) {
                const T error = y[b * mlp.output_ld() + o] - targets.data()[b * outputs + o];
                loss += double(error) * double(error);
                d_out[b * mlp.output_ld() + o] = scale * error;
              }
            mlp.backward(params.data(), x.data(), mlp.in_features(), std::ptrdiff_t(batch), grads.data());
            return loss / double(batch * outputs);
          },
          "params"_a, "x"_a, "targets"_a, "grads"_a,
          "Mean squared error against targets [batch, out]; adds its gradient to grads and returns it.");
}

template <class T>
void bind_optim(nb::module_& m) {
  m.def(
      "adam_step",
      [](Out<T> params, In<T> grads, Out<T> exp_avg, Out<T> exp_avg_sq, int64_t step, double lr, double beta1,
         double beta2, double eps, double weight_decay, bool decoupled) {
        const std::size_t n = params.size();
        check_size(grads, n, "grads");
        check_size(exp_avg, n, "exp_avg");
        check_size(exp_avg_sq, n, "exp_avg_sq");
        // adam_step's buffers are __restrict: overlapping arrays would be undefined behaviour.
        const std::pair<const void*, const char*> buffers[4] = {
            {params.data(), "params"}, {grads.data(), "grads"}, {exp_avg.data(), "exp_avg"},
            {exp_avg_sq.data(), "exp_avg_sq"}};
        for (int i = 0; i < 4; ++i)
          for (int j = i + 1; j < 4; ++j) {
            const auto* a = static_cast<const char*>(buffers[i].first);
            const auto* b = static_cast<const char*>(buffers[j].first);
            TURBORL_CHECK(n == 0 || a + n * sizeof(T) <= b || b + n * sizeof(T) <= a, buffers[i].second, " and ",
                          buffers[j].second, " must not share memory");
          }
        TURBORL_CHECK(step >= 1, "step must be >= 1 (the step number after this update), got ", step);
        nn::AdamOptions o{lr, beta1, beta2, eps, weight_decay, decoupled};
        nn::check_adam(o);
        nb::gil_scoped_release release;
        nn::adam_step(params.data(), grads.data(), exp_avg.data(), exp_avg_sq.data(), std::ptrdiff_t(n), step, o);
      },
      "params"_a, "grads"_a, "exp_avg"_a, "exp_avg_sq"_a, "step"_a, "lr"_a, "beta1"_a = 0.9, "beta2"_a = 0.999,
      "eps"_a = 1e-8, "weight_decay"_a = 0.0, "decoupled"_a = false);
  m.def(
      "clip_grad_norm",
      [](Out<T> grads, double max_norm) {
        TURBORL_CHECK(max_norm > 0, "max_norm must be > 0, got ", max_norm);
        nb::gil_scoped_release release;
        return nn::clip_grad_norm(grads.data(), std::ptrdiff_t(grads.size()), max_norm);
      },
      "grads"_a, "max_norm"_a);
  m.def(
      "polyak_update",
      [](In<T> source, Out<T> target, double tau) {
        check_size(target, source.size(), "target");
        TURBORL_CHECK(tau >= 0 && tau <= 1, "tau must be in [0, 1], got ", tau);
        nb::gil_scoped_release release;
        nn::polyak_update(source.data(), target.data(), std::ptrdiff_t(source.size()), tau);
      },
      "source"_a, "target"_a, "tau"_a);
}

template <class T>
void bind_ppo(nb::module_& m, const char* name) {
  using Engine = nn::PpoEngine<T>;
  m.def(
      "gae",
      [](In<T> rewards, In<T> values, In<T> dones, In<T> last_values, double gamma, double gae_lambda, Out<T> advantages,
         Out<T> returns) {
        TURBORL_CHECK(rewards.ndim() == 2, "rewards must have shape [steps, envs], got ndim ", rewards.ndim());
        const std::size_t steps = rewards.shape(0), envs = rewards.shape(1);
        check_sizes<In<T>>({{&values, "values"}, {&dones, "dones"}}, steps * envs);
        check_size(last_values, envs, "last_values");
        check_size(advantages, steps * envs, "advantages");
        check_size(returns, steps * envs, "returns");
        nb::gil_scoped_release release;
        nn::gae(rewards.data(), values.data(), dones.data(), last_values.data(), std::ptrdiff_t(steps),
                std::ptrdiff_t(envs), gamma, gae_lambda, advantages.data(), returns.data());
      },
      "rewards"_a, "values"_a, "dones"_a, "last_values"_a, "gamma"_a, "gae_lambda"_a, "advantages"_a, "returns"_a);

  nb::class_<Engine>(m, name)
      .def(
          "__init__",
          [](Engine* self, std::vector<int> actor_sizes, std::vector<int> critic_sizes, const std::string& activation,
             bool discrete) {
            new (self) Engine(mlp_spec(std::move(actor_sizes), activation, "identity", false),
                              mlp_spec(std::move(critic_sizes), activation, "identity", false), discrete);
          },
          "actor_sizes"_a, "critic_sizes"_a, "activation"_a, "discrete"_a)
      .def_prop_ro("num_params", &Engine::num_params)
      .def(
          "act",
          [](Engine& e, In<T> params, In<T> obs, uint64_t seed, uint64_t counter, bool deterministic,
             Out<int64_t> index_actions, Out<T> actions, Out<T> log_probs, Out<T> values) {
            check_size(params, std::size_t(e.num_params()), "params");
            const std::size_t n = rows_of(obs, e.obs_dim(), "obs");
            if (e.discrete())
              check_size(index_actions, n, "index_actions");
            else
              check_size(actions, n * e.action_dim(), "actions");
            check_size(log_probs, n, "log_probs");
            check_size(values, n, "values");
            nb::gil_scoped_release release;
            e.act(params.data(), obs.data(), std::ptrdiff_t(n), seed, counter, deterministic, index_actions.data(),
                  actions.data(), log_probs.data(), values.data());
          },
          "params"_a, "obs"_a, "seed"_a, "counter"_a, "deterministic"_a, "index_actions"_a, "actions"_a,
          "log_probs"_a, "values"_a)
      .def(
          "value",
          [](Engine& e, In<T> params, In<T> obs, Out<T> values) {
            check_size(params, std::size_t(e.num_params()), "params");
            const std::size_t n = rows_of(obs, e.obs_dim(), "obs");
            check_size(values, n, "values");
            nb::gil_scoped_release release;
            e.value(params.data(), obs.data(), std::ptrdiff_t(n), values.data());
          },
          "params"_a, "obs"_a, "values"_a)
      .def(
          "update",
          [](Engine& e, Out<T> params, Out<T> grads, Out<T> exp_avg, Out<T> exp_avg_sq, int64_t step, In<T> obs,
             In<T> actions, In<T> old_log_probs, In<T> old_values, In<T> advantages, In<T> returns,
             nb::ndarray<const int64_t, nb::ndim<2>, nb::c_contig, nb::device::cpu> order, int64_t minibatch_size,
             double lr, double eps, double clip, double ent_coef, double vf_coef, double max_grad_norm, bool norm_adv,
             bool clip_vloss, double target_kl) {
            const std::size_t p = std::size_t(e.num_params());
            check_sizes<Out<T>>({{&params, "params"}, {&grads, "grads"}, {&exp_avg, "exp_avg"},
                                 {&exp_avg_sq, "exp_avg_sq"}}, p);
            const std::size_t batch = rows_of(obs, e.obs_dim(), "obs");
            check_size(actions, batch * (e.discrete() ? 1 : e.action_dim()), "actions");
            check_inputs<T>({{&old_log_probs, "old_log_probs"}, {&old_values, "old_values"},
                             {&advantages, "advantages"}, {&returns, "returns"}}, batch);
            TURBORL_CHECK(order.shape(1) == batch, "order must have shape [epochs, ", batch, "], got [",
                          order.shape(0), ", ", order.shape(1), "]");
            for (std::size_t i = 0; i < order.size(); ++i)
              TURBORL_CHECK(order.data()[i] >= 0 && std::size_t(order.data()[i]) < batch, "order holds index ",
                            order.data()[i], " outside [0, ", batch, ")");
            if (e.discrete())
              for (std::size_t i = 0; i < batch; ++i)
                TURBORL_CHECK(actions.data()[i] >= 0 && actions.data()[i] < T(e.action_dim()),
                              "actions must be indices in [0, ", e.action_dim(), "), got ", actions.data()[i]);
            TURBORL_CHECK(max_grad_norm > 0, "max_grad_norm must be > 0, got ", max_grad_norm);
            TURBORL_CHECK(clip > 0, "clip must be > 0, got ", clip);
            nn::PpoOptions o;
            o.minibatch_size = minibatch_size;
            o.clip = clip;
            o.ent_coef = ent_coef;
            o.vf_coef = vf_coef;
            o.max_grad_norm = max_grad_norm;
            o.norm_adv = norm_adv;
            o.clip_vloss = clip_vloss;
            o.target_kl = target_kl;
            o.adam.lr = lr;
            o.adam.eps = eps;
            nn::check_adam(o.adam);
            nn::PpoStats stats;
            {
              nb::gil_scoped_release release;
              stats = e.update(params.data(), grads.data(), exp_avg.data(), exp_avg_sq.data(), step, obs.data(),
                               actions.data(), old_log_probs.data(), old_values.data(), advantages.data(),
                               returns.data(), std::ptrdiff_t(batch), order.data(), std::ptrdiff_t(order.shape(0)), o);
            }
            const double n = double(stats.updates > 0 ? stats.updates : 1);
            nb::dict out;
            out["policy_loss"] = stats.policy_loss / n;
            out["value_loss"] = stats.value_loss / n;
            out["entropy"] = stats.entropy / n;
            out["approx_kl"] = stats.approx_kl / n;
            out["clip_fraction"] = stats.clip_fraction / n;
            out["updates"] = stats.updates;
            out["step"] = step;
            return out;
          },
          "params"_a, "grads"_a, "exp_avg"_a, "exp_avg_sq"_a, "step"_a, "obs"_a, "actions"_a, "old_log_probs"_a,
          "old_values"_a, "advantages"_a, "returns"_a, "order"_a, "minibatch_size"_a, "lr"_a, "eps"_a, "clip"_a,
          "ent_coef"_a, "vf_coef"_a, "max_grad_norm"_a, "norm_adv"_a, "clip_vloss"_a, "target_kl"_a);
}

template <class T>
void check_parameters(const nn::DqnEngine<T>& e, const Out<T>& params, const In<T>& target_params, const Out<T>& grads,
                      const Out<T>& exp_avg, const Out<T>& exp_avg_sq) {
  const std::size_t p = std::size_t(e.num_params());
  check_sizes<Out<T>>({{&params, "params"}, {&grads, "grads"}, {&exp_avg, "exp_avg"}, {&exp_avg_sq, "exp_avg_sq"}}, p);
  check_size(target_params, p, "target_params");
}

nn::DqnOptions dqn_options(double lr, double eps, double max_grad_norm, bool double_q, bool huber) {
  TURBORL_CHECK(max_grad_norm > 0, "max_grad_norm must be > 0, got ", max_grad_norm);
  nn::DqnOptions o;
  o.double_q = double_q;
  o.huber = huber;
  o.max_grad_norm = max_grad_norm;
  o.adam.lr = lr;
  o.adam.eps = eps;
  nn::check_adam(o.adam);
  return o;
}

// The DQN engine with the workspace of its replay-sampling loop.
template <class T>
struct DqnTrainer {
  DqnTrainer(const nn::MlpSpec& spec, nn::ValueBins head) : engine(spec, head) {}
  nn::DqnEngine<T> engine;
  nn::ReplayBatch<T> batch;
};

std::size_t element_size(nn::ElementType type) {
  switch (type) {
    case nn::ElementType::kFloat64:
    case nn::ElementType::kInt64: return 8;
    case nn::ElementType::kFloat32:
    case nn::ElementType::kInt32: return 4;
    default: return 1;
  }
}

template <class T>
void bind_dqn(nb::module_& m, const char* name) {
  using Trainer = DqnTrainer<T>;
  nb::class_<Trainer>(m, name)
      .def(
          "__init__",
          [](Trainer* self, std::vector<int> sizes, const std::string& activation, int value_bins, double v_min,
             double v_max, double sigma) {
            new (self) Trainer(mlp_spec(std::move(sizes), activation, "identity", false),
                               nn::ValueBins{value_bins, v_min, v_max, sigma});
          },
          "sizes"_a, "activation"_a, "value_bins"_a = 1, "v_min"_a = 0.0, "v_max"_a = 1.0, "sigma"_a = 1.0,
          "value_bins > 1: an HL-Gauss head of that many bins over [v_min, v_max] with Gaussian std sigma.")
      .def_prop_ro("num_params", [](Trainer& t) { return t.engine.num_params(); })
      .def(
          "greedy",
          [](Trainer& t, In<T> params, In<T> obs, Out<int64_t> actions) {
            check_size(params, std::size_t(t.engine.num_params()), "params");
            const std::size_t n = rows_of(obs, t.engine.obs_dim(), "obs");
            check_size(actions, n, "actions");
            nb::gil_scoped_release release;
            t.engine.greedy(params.data(), obs.data(), std::ptrdiff_t(n), actions.data());
          },
          "params"_a, "obs"_a, "actions"_a)
      .def(
          "update",
          [](Trainer& t, Out<T> params, In<T> target_params, Out<T> grads, Out<T> exp_avg, Out<T> exp_avg_sq,
             int64_t step, In<T> obs, In<int64_t> actions, In<T> rewards, In<T> discounts, In<T> next_obs,
             std::optional<In<T>> weights, Out<T> td_errors, double lr, double eps, double max_grad_norm, bool double_q,
             bool huber) {
            nn::DqnEngine<T>& e = t.engine;
            check_parameters(e, params, target_params, grads, exp_avg, exp_avg_sq);
            TURBORL_CHECK(step >= 1, "step must be >= 1 (the step number after this update), got ", step);
            const std::size_t batch = transition_rows(obs, next_obs, e.obs_dim());
            check_size(actions, batch, "actions");
            for (std::size_t i = 0; i < batch; ++i)
              TURBORL_CHECK(actions.data()[i] >= 0 && actions.data()[i] < e.num_actions(),
                            "actions must be in [0, ", e.num_actions(), "), got ", actions.data()[i]);
            check_inputs<T>({{&rewards, "rewards"}, {&discounts, "discounts"}}, batch);
            if (weights) check_inputs<T>({{&*weights, "weights"}}, batch);
            check_size(td_errors, batch, "td_errors");
            const nn::DqnOptions o = dqn_options(lr, eps, max_grad_norm, double_q, huber);
            nn::DqnStats stats;
            {
              nb::gil_scoped_release release;
              stats = e.update(params.data(), target_params.data(), grads.data(), exp_avg.data(), exp_avg_sq.data(),
                               step, obs.data(), actions.data(), rewards.data(), discounts.data(), next_obs.data(),
                               weights ? weights->data() : nullptr, std::ptrdiff_t(batch), o, td_errors.data());
            }
            return std::make_pair(stats.loss, stats.q_mean);
          },
          "params"_a, "target_params"_a, "grads"_a, "exp_avg"_a, "exp_avg_sq"_a, "step"_a, "obs"_a, "actions"_a,
          "rewards"_a, "discounts"_a, "next_obs"_a, "weights"_a.none(), "td_errors"_a, "lr"_a, "eps"_a,
          "max_grad_norm"_a, "double_q"_a, "huber"_a,
          "One gradient step; returns (loss, mean chosen Q) and writes |TD errors| into td_errors.")
      .def(
          "train_from_replay",
          [](Trainer& t, replay::ReplayCore& core, int obs_field, int action_field, int obs_type, int action_type,
             bool reward_is_float64, Out<T> params, In<T> target_params, Out<T> grads, Out<T> exp_avg,
             Out<T> exp_avg_sq, int64_t step, int64_t steps, int64_t batch_size, int n_step, double gamma, double beta,
             bool prioritized, double lr, double eps, double max_grad_norm, bool double_q, bool huber) {
            nn::DqnEngine<T>& e = t.engine;
            check_parameters(e, params, target_params, grads, exp_avg, exp_avg_sq);
            TURBORL_CHECK(steps >= 1, "steps must be >= 1, got ", steps);
            TURBORL_CHECK(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
            const int fields = core.num_fields();
            for (auto [field, label] : {std::pair{obs_field, "obs_field"}, std::pair{action_field, "action_field"}})
              TURBORL_CHECK(field >= 0 && field < fields, label, " must be in [0, ", fields, "), got ", field);
            for (auto [type, label] : {std::pair{obs_type, "obs_type"}, std::pair{action_type, "action_type"}})
              TURBORL_CHECK(type >= 0 && type <= 6, label, " is not a known element type: ", type);
            nn::ReplayLayout layout;
            layout.obs_field = obs_field;
            layout.action_field = action_field;
            layout.obs_type = nn::ElementType(obs_type);
            layout.action_type = nn::ElementType(action_type);
            layout.reward_is_float64 = reward_is_float64;
            layout.obs_dim = e.obs_dim();
            TURBORL_CHECK(std::size_t(core.item_bytes(obs_field)) == e.obs_dim() * element_size(layout.obs_type),
                          "the obs field holds ", core.item_bytes(obs_field), " bytes per item, the network takes ",
                          e.obs_dim(), " values");
            TURBORL_CHECK(std::size_t(core.item_bytes(action_field)) == element_size(layout.action_type),
                          "the action field must hold one discrete action per item");
            const nn::DqnOptions o = dqn_options(lr, eps, max_grad_norm, double_q, huber);
            nn::DqnStats stats;
            {
              nb::gil_scoped_release release;
              stats = nn::dqn_train_from_replay(e, core, layout, t.batch, params.data(), target_params.data(),
                                                grads.data(), exp_avg.data(), exp_avg_sq.data(), step, steps,
                                                std::ptrdiff_t(batch_size), n_step, gamma, beta, prioritized, o);
            }
            return std::make_tuple(stats.loss, stats.q_mean, step);
          },
          "core"_a, "obs_field"_a, "action_field"_a, "obs_type"_a, "action_type"_a, "reward_is_float64"_a,
          "params"_a, "target_params"_a, "grads"_a, "exp_avg"_a, "exp_avg_sq"_a, "step"_a, "steps"_a,
          "batch_size"_a, "n_step"_a, "gamma"_a, "beta"_a, "prioritized"_a, "lr"_a, "eps"_a, "max_grad_norm"_a,
          "double_q"_a, "huber"_a,
          "`steps` gradient steps on batches sampled from the replay core; returns (mean loss, mean Q, step).");
}

// TD3's options from the Python arguments, checked.
nn::Td3Options td3_options(double actor_lr, double critic_lr, double policy_noise, double noise_clip, double tau,
                           double weight_decay, bool decoupled_weight_decay, bool decay_biases) {
  TURBORL_CHECK(tau >= 0 && tau <= 1, "tau must be in [0, 1], got ", tau);
  TURBORL_CHECK(policy_noise >= 0 && noise_clip >= 0, "policy_noise and noise_clip must be >= 0, got ", policy_noise,
                " and ", noise_clip);
  nn::Td3Options o;
  o.policy_noise = policy_noise;
  o.noise_clip = noise_clip;
  o.tau = tau;
  o.actor_adam.lr = actor_lr;
  o.critic_adam.lr = critic_lr;
  o.actor_adam.weight_decay = o.critic_adam.weight_decay = weight_decay;  // L2, as torch's Adam,
  o.actor_adam.decoupled = o.critic_adam.decoupled = decoupled_weight_decay;  // or AdamW's
  o.decay_biases = decay_biases;
  nn::check_adam(o.actor_adam);
  nn::check_adam(o.critic_adam);
  return o;
}

// Where a continuous-action engine's train_from_replay finds its transitions in the replay core,
// checked against the engine's sizes (float32 obs [actor | critic] and actions).
nn::ContinuousReplayLayout continuous_layout(replay::ReplayCore& core, int obs_field, int action_field,
                                             bool reward_is_float64, int obs_dim, int critic_obs_dim,
                                             int engine_critic_obs_dim, int action_dim) {
  TURBORL_CHECK(critic_obs_dim >= 0, "critic_obs_dim must be >= 0, got ", critic_obs_dim);
  const int fields = core.num_fields();
  for (auto [field, label] : {std::pair{obs_field, "obs_field"}, std::pair{action_field, "action_field"}})
    TURBORL_CHECK(field >= 0 && field < fields, label, " must be in [0, ", fields, "), got ", field);
  TURBORL_CHECK(engine_critic_obs_dim == (critic_obs_dim == 0 ? obs_dim : critic_obs_dim), "the critics take ",
                engine_critic_obs_dim, " observation values, got critic_obs_dim ", critic_obs_dim);
  TURBORL_CHECK(core.item_bytes(obs_field) == int64_t(sizeof(float)) * (obs_dim + critic_obs_dim),
                "the obs field must hold ", obs_dim + critic_obs_dim, " float32 values per item; it holds ",
                core.item_bytes(obs_field), " bytes");
  TURBORL_CHECK(core.item_bytes(action_field) == int64_t(sizeof(float)) * action_dim, "the action field must hold ",
                action_dim, " float32 values per item");
  return nn::ContinuousReplayLayout{obs_field, action_field, reward_is_float64, obs_dim, critic_obs_dim, action_dim};
}

// The off-policy collection loop (nn/collect.hpp) for an engine's actor, whose layout
// continuous_layout checked: checks that the env and the replay (exactly obs, action, reward,
// terminated and truncated, with next observations from the following row) agree with it, that
// uniform_actions holds whole steps and that `noise` holds one exploring step's
// num_envs * action_dim values per remaining step (noise_name names it); then runs it with the GIL released. Returns
// the returns of the episodes that ended.
template <class Noise, class Explore>
nb::ndarray<nb::numpy, double> collect_transitions(BoxActionEnv& env, replay::ReplayCore& core,
                                                   const nn::ContinuousReplayLayout& layout, int64_t steps,
                                                   const In<float>& uniform_actions, const In<Noise>& noise,
                                                   const char* noise_name, const In<double>& action_scale, const In<double>& action_bias,
                                                   Explore&& explore) {
  const BoxActionEnvShape shape = env.shape();
  const replay::FieldRoles& roles = core.roles();
  TURBORL_CHECK(shape.next_step_autoreset, "collect needs an env in next_step autoreset mode (what the replay stores)");
  TURBORL_CHECK(shape.num_envs == core.num_envs(), "the env has ", shape.num_envs, " sub-envs, the replay stores ",
                core.num_envs());
  TURBORL_CHECK(shape.obs_dim == layout.actor_obs_dim, "the env's observations hold ", shape.obs_dim,
                " values, the actor takes ", layout.actor_obs_dim);
  TURBORL_CHECK(shape.critic_obs_dim == layout.critic_obs_dim || layout.critic_obs_dim == 0,
                "the env's critic observations hold ", shape.critic_obs_dim, " values, the replay stores ",
                layout.critic_obs_dim);
  TURBORL_CHECK(shape.action_dim == layout.action_dim, "the env takes ", shape.action_dim,
                " action values, the actor gives ", layout.action_dim);
  TURBORL_CHECK(core.num_fields() == 5 && roles.next_obs < 0,
                "collect needs a replay of exactly obs, action, reward, terminated and truncated (next_step "
                "autoreset); this one has ", core.num_fields(), " fields", roles.next_obs >= 0 ? " with next_obs" : "");
  // The loop writes each of the five fields once: they must be five different ones.
  std::vector<int> written(5, 0);
  for (int field : {layout.obs_field, layout.action_field, roles.reward, roles.terminated, roles.truncated})
    written[std::size_t(field)] += 1;
  TURBORL_CHECK(layout.obs_field == roles.obs && std::count(written.begin(), written.end(), 1) == 5,
                "obs_field and action_field must name the replay's obs and action fields, got ", layout.obs_field,
                " and ", layout.action_field);
  TURBORL_CHECK(steps >= 0, "steps must be >= 0, got ", steps);
  const std::size_t per_step = std::size_t(shape.num_envs) * std::size_t(layout.action_dim);
  TURBORL_CHECK(uniform_actions.size() % per_step == 0 && uniform_actions.size() / per_step <= std::size_t(steps),
                "uniform_actions must hold whole steps of ", per_step, " values, at most ", steps, " of them; got ",
                uniform_actions.size(), " values");
  check_finite(uniform_actions, "uniform_actions");
  const int64_t uniform_steps = int64_t(uniform_actions.size() / per_step);
  TURBORL_CHECK(noise.size() % per_step == 0 && int64_t(noise.size() / per_step) == steps - uniform_steps,
                noise_name, " must hold ", steps - uniform_steps, " exploring steps of ", per_step, " values, got ",
                noise.size(), " values");
  check_finite(noise, noise_name);
  check_inputs<double>({{&action_scale, "action_scale"}, {&action_bias, "action_bias"}},
                       std::size_t(layout.action_dim));
  const nn::CollectPlan plan{steps, uniform_steps, uniform_actions.data(), action_scale.data(), action_bias.data()};
  std::vector<double> returns;
  {
    nb::gil_scoped_release release;
    nn::collect_steps(env, core, layout, plan, explore, returns);
  }
  nb::ndarray<nb::numpy, double> out = new_array<double>({returns.size()});
  std::copy(returns.begin(), returns.end(), out.data());
  return out;
}

// The TD3 engine with the workspace of its replay-sampling loop.
template <class T>
struct Td3Trainer {
  Td3Trainer(const nn::MlpSpec& actor, const nn::MlpSpec& critic, int num_threads)
      : engine(actor, critic, num_threads) {}
  nn::Td3Engine<T> engine;
  nn::ContinuousReplayBatch<T> batches[3];  // critic 1, critic 2, actor (one when batches are shared)
};

template <class T>
void bind_td3(nb::module_& m, const char* name) {
  using Engine = nn::Td3Engine<T>;
  using Trainer = Td3Trainer<T>;
  nb::class_<Trainer> cls(m, name);
  cls.def(
          "__init__",
          [](Trainer* self, std::vector<int> actor_sizes, std::vector<int> critic_sizes, const std::string& activation,
             int num_threads) {
            new (self) Trainer(mlp_spec(std::move(actor_sizes), activation, "tanh", false),
                               mlp_spec(std::move(critic_sizes), activation, "identity", false), num_threads);
          },
          "actor_sizes"_a, "critic_sizes"_a, "activation"_a, "num_threads"_a = 1)
      .def_prop_ro("num_threads", [](Trainer& t) { return t.engine.num_threads(); })
      .def_prop_ro("actor_params", [](Trainer& t) { return t.engine.actor_params(); })
      .def_prop_ro("critic_params", [](Trainer& t) { return t.engine.critic_params(); })
      .def(
          "act",
          [](Trainer& t, In<T> actor, In<T> obs, Out<T> actions) {
            Engine& e = t.engine;
            check_size(actor, std::size_t(e.actor_params()), "actor");
            const std::size_t n = rows_of(obs, e.obs_dim(), "obs");
            check_size(actions, n * e.action_dim(), "actions");
            nb::gil_scoped_release release;
            e.act(actor.data(), obs.data(), std::ptrdiff_t(n), actions.data());
          },
          "actor"_a, "obs"_a, "actions"_a)
      .def(
          "update",
          [](Trainer& t, Out<T> actor, Out<T> critic, Out<T> target_actor, Out<T> target_critic, Out<T> actor_grads,
             Out<T> critic_grads, Out<T> actor_exp_avg, Out<T> actor_exp_avg_sq, Out<T> critic_exp_avg,
             Out<T> critic_exp_avg_sq, int64_t actor_step, int64_t critic_step, In<T> obs, In<T> actions,
             In<T> rewards, In<T> discounts, In<T> next_obs, In<T> noise, bool update_actor, double actor_lr,
             double critic_lr, double policy_noise, double noise_clip, double tau, std::optional<In<T>> critic_obs,
             std::optional<In<T>> next_critic_obs, double weight_decay, bool decoupled_weight_decay,
             bool decay_biases) {
            Engine& e = t.engine;
            const std::size_t a = std::size_t(e.actor_params()), c = std::size_t(e.critic_params());
            check_sizes<Out<T>>({{&actor, "actor"}, {&target_actor, "target_actor"}, {&actor_grads, "actor_grads"},
                                 {&actor_exp_avg, "actor_exp_avg"}, {&actor_exp_avg_sq, "actor_exp_avg_sq"}}, a);
            check_sizes<Out<T>>({{&critic, "critic"}, {&target_critic, "target_critic"},
                                 {&critic_grads, "critic_grads"}, {&critic_exp_avg, "critic_exp_avg"},
                                 {&critic_exp_avg_sq, "critic_exp_avg_sq"}}, c);
            const std::size_t batch = transition_rows(obs, next_obs, e.obs_dim());
            check_inputs<T>({{&actions, "actions"}, {&noise, "noise"}}, batch * e.action_dim());
            check_inputs<T>({{&rewards, "rewards"}, {&discounts, "discounts"}}, batch);
            TURBORL_CHECK(bool(critic_obs) == bool(next_critic_obs), "give both critic_obs and next_critic_obs, or neither");
            if (critic_obs) {
              check_inputs<T>({{&*critic_obs, "critic_obs"}, {&*next_critic_obs, "next_critic_obs"}},
                              batch * e.critic_obs_dim());
            } else {
              TURBORL_CHECK(e.critic_obs_dim() == e.obs_dim(), "the critics see ", e.critic_obs_dim(),
                            " observation values, the actor ", e.obs_dim(), ": pass critic_obs and next_critic_obs");
            }
            const nn::Td3Options o = td3_options(actor_lr, critic_lr, policy_noise, noise_clip, tau, weight_decay,
                                                 decoupled_weight_decay, decay_biases);
            nn::Td3Stats stats;
            {
              nb::gil_scoped_release release;
              stats = e.update(actor.data(), critic.data(), target_actor.data(), target_critic.data(),
                               actor_grads.data(), critic_grads.data(), actor_exp_avg.data(), actor_exp_avg_sq.data(),
                               critic_exp_avg.data(), critic_exp_avg_sq.data(), actor_step, critic_step, obs.data(),
                               actions.data(), rewards.data(), discounts.data(), next_obs.data(), noise.data(),
                               std::ptrdiff_t(batch), update_actor, o, critic_obs ? critic_obs->data() : nullptr,
                               next_critic_obs ? next_critic_obs->data() : nullptr);
            }
            nb::dict out;
            out["critic_loss"] = stats.critic_loss;
            out["q1_mean"] = stats.q1_mean;
            out["actor_loss"] = stats.actor_loss;
            out["actor_step"] = actor_step;
            out["critic_step"] = critic_step;
            return out;
          },
          "actor"_a, "critic"_a, "target_actor"_a, "target_critic"_a, "actor_grads"_a, "critic_grads"_a,
          "actor_exp_avg"_a, "actor_exp_avg_sq"_a, "critic_exp_avg"_a, "critic_exp_avg_sq"_a, "actor_step"_a,
          "critic_step"_a, "obs"_a, "actions"_a, "rewards"_a, "discounts"_a, "next_obs"_a, "noise"_a,
          "update_actor"_a, "actor_lr"_a, "critic_lr"_a, "policy_noise"_a = 0.2, "noise_clip"_a = 0.5,
          "tau"_a = 0.005, "critic_obs"_a.none() = nb::none(), "next_critic_obs"_a.none() = nb::none(),
          "weight_decay"_a = 0.0, "decoupled_weight_decay"_a = false, "decay_biases"_a = true,
          "critic_obs / next_critic_obs: the critics' observations [batch, critic obs] when they differ from the "
          "actor's (an asymmetric critic). weight_decay: on both Adams, L2 as torch.optim.Adam's, or decoupled "
          "as AdamW's; decay_biases=False spares the biases.")
      .def(
          "train_from_replay",
          [](Trainer& t, replay::ReplayCore& core, int obs_field, int action_field, bool reward_is_float64,
             int critic_obs_dim, Out<T> actor, Out<T> critic, Out<T> target_actor, Out<T> target_critic,
             Out<T> actor_grads, Out<T> critic_grads, Out<T> actor_exp_avg, Out<T> actor_exp_avg_sq,
             Out<T> critic_exp_avg, Out<T> critic_exp_avg_sq, int64_t actor_step, int64_t critic_step,
             int64_t batch_size, int n_step, double gamma, In<T> noise,
             nb::ndarray<const bool, nb::ndim<1>, nb::c_contig, nb::device::cpu> update_actor,
             nb::ndarray<const bool, nb::ndim<1>, nb::c_contig, nb::device::cpu> critic_targets, double actor_lr,
             double critic_lr, double policy_noise, double noise_clip, double tau, double weight_decay,
             bool decoupled_weight_decay, bool decay_biases, bool separate_batches) {
            Engine& e = t.engine;
            const std::size_t a = std::size_t(e.actor_params()), c = std::size_t(e.critic_params());
            check_sizes<Out<T>>({{&actor, "actor"}, {&target_actor, "target_actor"}, {&actor_grads, "actor_grads"},
                                 {&actor_exp_avg, "actor_exp_avg"}, {&actor_exp_avg_sq, "actor_exp_avg_sq"}}, a);
            check_sizes<Out<T>>({{&critic, "critic"}, {&target_critic, "target_critic"},
                                 {&critic_grads, "critic_grads"}, {&critic_exp_avg, "critic_exp_avg"},
                                 {&critic_exp_avg_sq, "critic_exp_avg_sq"}}, c);
            const int64_t steps = int64_t(update_actor.shape(0));
            TURBORL_CHECK(steps >= 1 && int64_t(critic_targets.shape(0)) == steps,
                          "update_actor and critic_targets must hold one flag per step (>= 1 step), got ", steps,
                          " and ", critic_targets.shape(0));
            TURBORL_CHECK(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
            check_size(noise, std::size_t((separate_batches ? 2 : 1) * steps * batch_size * e.action_dim()), "noise");
            const nn::ContinuousReplayLayout layout = continuous_layout(
                core, obs_field, action_field, reward_is_float64, e.obs_dim(), critic_obs_dim, e.critic_obs_dim(),
                e.action_dim());
            const nn::Td3Options o = td3_options(actor_lr, critic_lr, policy_noise, noise_clip, tau, weight_decay,
                                                 decoupled_weight_decay, decay_biases);
            nn::Td3ReplayStats stats;
            {
              nb::gil_scoped_release release;
              stats = nn::td3_train_from_replay(
                  e, core, layout, t.batches, actor.data(), critic.data(), target_actor.data(), target_critic.data(),
                  actor_grads.data(), critic_grads.data(), actor_exp_avg.data(), actor_exp_avg_sq.data(),
                  critic_exp_avg.data(), critic_exp_avg_sq.data(), actor_step, critic_step, steps,
                  std::ptrdiff_t(batch_size), n_step, gamma, noise.data(), update_actor.data(), critic_targets.data(),
                  separate_batches, o);
            }
            nb::dict out;
            out["critic_loss"] = stats.critic_loss;
            out["q1_mean"] = stats.q1_mean;
            out["actor_loss"] = stats.actor_updates > 0 ? stats.actor_loss : std::nan("");
            out["actor_step"] = actor_step;
            out["critic_step"] = critic_step;
            return out;
          },
          "core"_a, "obs_field"_a, "action_field"_a, "reward_is_float64"_a, "critic_obs_dim"_a, "actor"_a, "critic"_a,
          "target_actor"_a, "target_critic"_a, "actor_grads"_a, "critic_grads"_a, "actor_exp_avg"_a,
          "actor_exp_avg_sq"_a, "critic_exp_avg"_a, "critic_exp_avg_sq"_a, "actor_step"_a, "critic_step"_a,
          "batch_size"_a, "n_step"_a, "gamma"_a, "noise"_a, "update_actor"_a, "critic_targets"_a, "actor_lr"_a,
          "critic_lr"_a, "policy_noise"_a, "noise_clip"_a, "tau"_a, "weight_decay"_a, "decoupled_weight_decay"_a,
          "decay_biases"_a, "separate_batches"_a,
          "len(update_actor) TD3 updates on batches sampled from the replay core (float32 obs [actor | critic] "
          "and actions); step k uses noise[k] (noise[k][critic] with separate_batches: a batch per critic and "
          "one for the actor), steps the actor where update_actor[k] and otherwise moves the critic targets where "
          "critic_targets[k]. Returns mean losses and the Adam step counts.");
  if constexpr (std::is_same_v<T, float>) {  // env observations are float32
    cls.def(
        "collect",
        [](Trainer& t, BoxActionEnv& env, replay::ReplayCore& core, int obs_field, int action_field,
           int critic_obs_dim, In<float> actor, int64_t steps, In<float> uniform_actions, In<double> noise,
           In<double> action_scale, In<double> action_bias) {
          Engine& e = t.engine;
          check_size(actor, std::size_t(e.actor_params()), "actor");
          const nn::ContinuousReplayLayout layout =
              continuous_layout(core, obs_field, action_field, core.roles().reward_is_float64, e.obs_dim(),
                                critic_obs_dim, e.critic_obs_dim(), e.action_dim());
          const std::ptrdiff_t n = std::ptrdiff_t(core.num_envs());
          const std::ptrdiff_t per_step = n * e.action_dim();
          // TD3's exploration: mu(obs) + noise, the sum in float64 rounded to float32, clipped.
          auto explore = [&](const float* obs, int64_t step, float* actions) {
            e.act(actor.data(), obs, n, actions);
            const double* row = noise.data() + step * per_step;
            for (std::ptrdiff_t k = 0; k < per_step; ++k)
              actions[k] = std::min(std::max(float(double(actions[k]) + row[k]), -1.0f), 1.0f);
          };
          return collect_transitions(env, core, layout, steps, uniform_actions, noise, "noise", action_scale, action_bias,
                                     explore);
        },
        "env"_a, "core"_a, "obs_field"_a, "action_field"_a, "critic_obs_dim"_a, "actor"_a, "steps"_a,
        "uniform_actions"_a, "noise"_a, "action_scale"_a, "action_bias"_a,
        "`steps` vector steps of off-policy collection into the replay core: the first "
        "len(uniform_actions) take those actions, the rest mu(obs) + noise[k] (float64, [k][env][action]) "
        "clipped to [-1, 1]; the env gets action_scale * a + action_bias. With critic_obs_dim > 0 the obs "
        "field stores [obs | critic obs]. Returns the returns of the episodes that ended.");
  }
}

// The SAC engine with the workspace of its replay-sampling loop.
template <class T>
struct SacTrainer {
  SacTrainer(const nn::MlpSpec& actor, const nn::MlpSpec& critic) : engine(actor, critic) {}
  nn::SacEngine<T> engine;
  nn::ContinuousReplayBatch<T> batch;  // train_from_replay's draws
};

// SAC's options from the bindings' arguments (checked).
nn::SacOptions sac_options(double actor_lr, double critic_lr, double alpha_lr, double tau,
                           std::optional<double> target_entropy, bool autotune, int action_dim) {
  TURBORL_CHECK(tau >= 0 && tau <= 1, "tau must be in [0, 1], got ", tau);
  nn::SacOptions o;
  o.tau = tau;
  o.target_entropy = target_entropy ? *target_entropy : -double(action_dim);  // SB3's "auto"
  o.autotune = autotune;
  o.actor_adam.lr = actor_lr;
  o.critic_adam.lr = critic_lr;
  o.alpha_adam.lr = alpha_lr;
  for (const nn::AdamOptions* adam : {&o.actor_adam, &o.critic_adam, &o.alpha_adam}) nn::check_adam(*adam);
  return o;
}

nb::dict sac_stats(const nn::SacStats& stats, int64_t step) {
  nb::dict out;
  out["critic_loss"] = stats.critic_loss;
  out["actor_loss"] = stats.actor_loss;
  out["alpha"] = stats.alpha;
  out["alpha_loss"] = stats.alpha_loss;
  out["step"] = step;
  return out;
}

// The SAC engine's parameter, gradient and Adam-moment buffers, checked against its sizes.
template <class T>
void check_sac_buffers(const nn::SacEngine<T>& e, Out<T>& actor, Out<T>& critic, Out<T>& target_critic,
                       Out<T>& log_alpha, Out<T>& actor_grads, Out<T>& critic_grads, Out<T>& actor_exp_avg,
                       Out<T>& actor_exp_avg_sq, Out<T>& critic_exp_avg, Out<T>& critic_exp_avg_sq,
                       Out<T>& alpha_exp_avg, Out<T>& alpha_exp_avg_sq) {
  const std::size_t a = std::size_t(e.actor_params()), c = std::size_t(e.critic_params());
  check_sizes<Out<T>>({{&actor, "actor"}, {&actor_grads, "actor_grads"}, {&actor_exp_avg, "actor_exp_avg"},
                       {&actor_exp_avg_sq, "actor_exp_avg_sq"}}, a);
  check_sizes<Out<T>>({{&critic, "critic"}, {&target_critic, "target_critic"}, {&critic_grads, "critic_grads"},
                       {&critic_exp_avg, "critic_exp_avg"}, {&critic_exp_avg_sq, "critic_exp_avg_sq"}}, c);
  check_sizes<Out<T>>({{&log_alpha, "log_alpha"}, {&alpha_exp_avg, "alpha_exp_avg"},
                       {&alpha_exp_avg_sq, "alpha_exp_avg_sq"}}, 1);
}

template <class T>
void bind_sac(nb::module_& m, const char* name) {
  using Engine = nn::SacEngine<T>;
  using Trainer = SacTrainer<T>;
  nb::class_<Trainer> cls(m, name);
  cls.def(
          "__init__",
          [](Trainer* self, std::vector<int> actor_sizes, std::vector<int> critic_sizes, const std::string& activation) {
            new (self) Trainer(mlp_spec(std::move(actor_sizes), activation, "identity", false),
                               mlp_spec(std::move(critic_sizes), activation, "identity", false));
          },
          "actor_sizes"_a, "critic_sizes"_a, "activation"_a = "relu")
      .def_prop_ro("actor_params", [](Trainer& t) { return t.engine.actor_params(); })
      .def_prop_ro("critic_params", [](Trainer& t) { return t.engine.critic_params(); })
      .def(
          "act",
          [](Trainer& t, In<T> actor, In<T> obs, std::optional<In<T>> eps, Out<T> actions) {
            Engine& e = t.engine;
            check_size(actor, std::size_t(e.actor_params()), "actor");
            const std::size_t n = rows_of(obs, e.obs_dim(), "obs");
            check_size(actions, n * e.action_dim(), "actions");
            if (eps) {
              check_size(*eps, n * e.action_dim(), "eps");
              check_finite(*eps, "eps");
            }
            nb::gil_scoped_release release;
            e.act(actor.data(), obs.data(), std::ptrdiff_t(n), eps ? eps->data() : nullptr, actions.data());
          },
          "actor"_a, "obs"_a, "eps"_a.none(), "actions"_a,
          "tanh(mean + std * eps) in [-1, 1]; eps None: the deterministic tanh(mean).")
      .def(
          "update",
          [](Trainer& t, Out<T> actor, Out<T> critic, Out<T> target_critic, Out<T> log_alpha, Out<T> actor_grads,
             Out<T> critic_grads, Out<T> actor_exp_avg, Out<T> actor_exp_avg_sq, Out<T> critic_exp_avg,
             Out<T> critic_exp_avg_sq, Out<T> alpha_exp_avg, Out<T> alpha_exp_avg_sq, int64_t step, In<T> obs,
             In<T> actions, In<T> rewards, In<T> discounts, In<T> next_obs, In<T> eps, In<T> eps_next,
             double actor_lr, double critic_lr, double alpha_lr, double tau, std::optional<double> target_entropy,
             bool autotune) {
            Engine& e = t.engine;
            check_sac_buffers<T>(e, actor, critic, target_critic, log_alpha, actor_grads, critic_grads, actor_exp_avg,
                                 actor_exp_avg_sq, critic_exp_avg, critic_exp_avg_sq, alpha_exp_avg, alpha_exp_avg_sq);
            const std::size_t batch = transition_rows(obs, next_obs, e.obs_dim());
            check_inputs<T>({{&actions, "actions"}, {&eps, "eps"}, {&eps_next, "eps_next"}}, batch * e.action_dim());
            check_inputs<T>({{&rewards, "rewards"}, {&discounts, "discounts"}}, batch);
            TURBORL_CHECK(step >= 0, "step must be >= 0 (updates so far), got ", step);
            const nn::SacOptions o = sac_options(actor_lr, critic_lr, alpha_lr, tau, target_entropy, autotune,
                                                 e.action_dim());
            nn::SacStats stats;
            {
              nb::gil_scoped_release release;
              stats = e.update(actor.data(), critic.data(), target_critic.data(), log_alpha.data(), actor_grads.data(),
                               critic_grads.data(), actor_exp_avg.data(), actor_exp_avg_sq.data(),
                               critic_exp_avg.data(), critic_exp_avg_sq.data(), alpha_exp_avg.data(),
                               alpha_exp_avg_sq.data(), step, obs.data(), actions.data(), rewards.data(),
                               discounts.data(), next_obs.data(), eps.data(), eps_next.data(), std::ptrdiff_t(batch), o);
            }
            return sac_stats(stats, step);
          },
          "actor"_a, "critic"_a, "target_critic"_a, "log_alpha"_a, "actor_grads"_a, "critic_grads"_a,
          "actor_exp_avg"_a, "actor_exp_avg_sq"_a, "critic_exp_avg"_a, "critic_exp_avg_sq"_a, "alpha_exp_avg"_a,
          "alpha_exp_avg_sq"_a, "step"_a, "obs"_a, "actions"_a, "rewards"_a, "discounts"_a, "next_obs"_a, "eps"_a,
          "eps_next"_a, "actor_lr"_a = 3e-4, "critic_lr"_a = 3e-4, "alpha_lr"_a = 3e-4, "tau"_a = 0.005,
          "target_entropy"_a.none() = nb::none(), "autotune"_a = true,
          "One SAC gradient step (SB3's order); eps, eps_next: standard normal noise [batch, action_dim].")
      .def(
          "train_from_replay",
          [](Trainer& t, replay::ReplayCore& core, int obs_field, int action_field, bool reward_is_float64,
             Out<T> actor, Out<T> critic, Out<T> target_critic, Out<T> log_alpha, Out<T> actor_grads,
             Out<T> critic_grads, Out<T> actor_exp_avg, Out<T> actor_exp_avg_sq, Out<T> critic_exp_avg,
             Out<T> critic_exp_avg_sq, Out<T> alpha_exp_avg, Out<T> alpha_exp_avg_sq, int64_t step, int64_t steps,
             int64_t batch_size, int n_step, double gamma, In<T> noise, double actor_lr, double critic_lr,
             double alpha_lr, double tau, std::optional<double> target_entropy, bool autotune) {
            Engine& e = t.engine;
            check_sac_buffers<T>(e, actor, critic, target_critic, log_alpha, actor_grads, critic_grads, actor_exp_avg,
                                 actor_exp_avg_sq, critic_exp_avg, critic_exp_avg_sq, alpha_exp_avg, alpha_exp_avg_sq);
            TURBORL_CHECK(step >= 0, "step must be >= 0 (updates so far), got ", step);
            TURBORL_CHECK(steps >= 1, "steps must be >= 1, got ", steps);
            TURBORL_CHECK(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
            check_size(noise, std::size_t(2 * steps * batch_size * e.action_dim()), "noise");
            const nn::ContinuousReplayLayout layout = continuous_layout(
                core, obs_field, action_field, reward_is_float64, e.obs_dim(), 0, e.obs_dim(), e.action_dim());
            const nn::SacOptions o = sac_options(actor_lr, critic_lr, alpha_lr, tau, target_entropy, autotune,
                                                 e.action_dim());
            nn::SacStats stats;
            {
              nb::gil_scoped_release release;
              stats = nn::sac_train_from_replay(
                  e, core, layout, t.batch, actor.data(), critic.data(), target_critic.data(), log_alpha.data(),
                  actor_grads.data(), critic_grads.data(), actor_exp_avg.data(), actor_exp_avg_sq.data(),
                  critic_exp_avg.data(), critic_exp_avg_sq.data(), alpha_exp_avg.data(), alpha_exp_avg_sq.data(),
                  step, steps, std::ptrdiff_t(batch_size), n_step, gamma, noise.data(), o);
            }
            return sac_stats(stats, step);
          },
          "core"_a, "obs_field"_a, "action_field"_a, "reward_is_float64"_a, "actor"_a, "critic"_a,
          "target_critic"_a, "log_alpha"_a, "actor_grads"_a, "critic_grads"_a, "actor_exp_avg"_a,
          "actor_exp_avg_sq"_a, "critic_exp_avg"_a, "critic_exp_avg_sq"_a, "alpha_exp_avg"_a, "alpha_exp_avg_sq"_a,
          "step"_a, "steps"_a, "batch_size"_a, "n_step"_a, "gamma"_a, "noise"_a, "actor_lr"_a, "critic_lr"_a,
          "alpha_lr"_a, "tau"_a, "target_entropy"_a.none(), "autotune"_a,
          "`steps` SAC updates on batches sampled from the replay core (float32 obs and actions); step k uses "
          "noise[k][0] for the current actions and noise[k][1] for the next ones. Returns mean losses and alpha, "
          "and the updates so far.");
  if constexpr (std::is_same_v<T, float>) {  // env observations are float32
    cls.def(
        "collect",
        [](Trainer& t, BoxActionEnv& env, replay::ReplayCore& core, int obs_field, int action_field,
           In<float> actor, int64_t steps, In<float> uniform_actions, In<float> eps, In<double> action_scale,
           In<double> action_bias) {
          Engine& e = t.engine;
          check_size(actor, std::size_t(e.actor_params()), "actor");
          const nn::ContinuousReplayLayout layout =
              continuous_layout(core, obs_field, action_field, core.roles().reward_is_float64, e.obs_dim(), 0,
                                e.obs_dim(), e.action_dim());
          const std::ptrdiff_t n = std::ptrdiff_t(core.num_envs());
          const std::ptrdiff_t per_step = n * e.action_dim();
          // SAC explores with its own policy: tanh(mean + std * eps).
          auto explore = [&](const float* obs, int64_t step, float* actions) {
            e.act(actor.data(), obs, n, eps.data() + step * per_step, actions);
          };
          return collect_transitions(env, core, layout, steps, uniform_actions, eps, "eps", action_scale, action_bias,
                                     explore);
        },
        "env"_a, "core"_a, "obs_field"_a, "action_field"_a, "actor"_a, "steps"_a, "uniform_actions"_a, "eps"_a,
        "action_scale"_a, "action_bias"_a,
        "`steps` vector steps of off-policy collection into the replay core: the first "
        "len(uniform_actions) take those actions, the rest tanh(mean + std * eps[k]) (float32 standard normal, "
        "[k][env][action]); the env gets action_scale * a + action_bias. Returns the returns of the episodes "
        "that ended.");
  }
}

nn::ObgdOptions obgd_options(double lr, double gamma_lambda, double kappa, bool adaptive, double beta2, double eps) {
  nn::ObgdOptions o{lr, gamma_lambda, kappa, adaptive, beta2, eps};
  nn::check_obgd(o);
  return o;
}

template <class T>
void bind_stream(nb::module_& m, const char* name) {
  m.def(
      "obgd_step",
      [](Out<T> params, In<T> grads, Out<T> traces, std::optional<Out<T>> second_moment, int64_t step, double delta,
         bool reset, double lr, double gamma_lambda, double kappa, bool adaptive, double beta2, double eps) {
        const std::size_t n = params.size();
        check_size(grads, n, "grads");
        check_obgd_state(n, params, traces, second_moment, adaptive, step);
        TURBORL_CHECK(std::isfinite(delta), "delta must be finite, got ", delta);
        const nn::ObgdOptions o = obgd_options(lr, gamma_lambda, kappa, adaptive, beta2, eps);
        nb::gil_scoped_release release;
        return nn::obgd_step(params.data(), grads.data(), traces.data(), second_moment ? second_moment->data() : nullptr,
                             step, std::ptrdiff_t(n), delta, reset, o);
      },
      "params"_a, "grads"_a, "traces"_a, "second_moment"_a.none(), "step"_a, "delta"_a, "reset"_a, "lr"_a = 1.0,
      "gamma_lambda"_a = 0.99 * 0.8, "kappa"_a = 2.0, "adaptive"_a = false, "beta2"_a = 0.999, "eps"_a = 1e-8,
      "One ObGD step (Elsayed et al., 2024); returns the step size used.");

  using Engine = nn::StreamTdEngine<T>;
  nb::class_<Engine>(m, name)
      .def(
          "__init__",
          [](Engine* self, std::vector<int> sizes, const std::string& activation, bool layer_norm) {
            new (self) Engine(mlp_spec(std::move(sizes), activation, "identity", layer_norm));
          },
          "sizes"_a, "activation"_a = "leaky_relu", "layer_norm"_a = true)
      .def_prop_ro("num_params", &Engine::num_params)
      .def(
          "step",
          [](Engine& e, Out<T> params, Out<T> traces, std::optional<Out<T>> second_moment, int64_t step, In<T> obs,
             double reward, In<T> next_obs, bool terminated, bool episode_end, double gamma, double lr,
             double lamda, double kappa, bool adaptive) {
            check_obgd_state(std::size_t(e.num_params()), params, traces, second_moment, adaptive, step);
            check_transition(e.obs_dim(), obs, next_obs, reward, gamma);
            const nn::ObgdOptions o = obgd_options(lr, gamma * lamda, kappa, adaptive, 0.999, 1e-8);
            nb::gil_scoped_release release;
            return e.step(params.data(), traces.data(), second_moment ? second_moment->data() : nullptr, step,
                          obs.data(), reward, next_obs.data(), terminated, episode_end, gamma, o);
          },
          "params"_a, "traces"_a, "second_moment"_a.none(), "step"_a, "obs"_a, "reward"_a, "next_obs"_a,
          "terminated"_a, "episode_end"_a, "gamma"_a = 0.99, "lr"_a = 1.0, "lamda"_a = 0.8, "kappa"_a = 2.0,
          "adaptive"_a = false, "Stream TD(lambda) on one transition; returns the TD error.");
}

template <class T>
void bind_stream_ac(nb::module_& m, const char* name) {
  using Engine = nn::StreamAcEngine<T>;
  nb::class_<Engine>(m, name)
      .def(
          "__init__",
          [](Engine* self, std::vector<int> policy_sizes, std::vector<int> value_sizes, bool discrete,
             const std::string& activation, bool layer_norm) {
            new (self) Engine(mlp_spec(std::move(policy_sizes), activation, "identity", layer_norm),
                              mlp_spec(std::move(value_sizes), activation, "identity", layer_norm), discrete);
          },
          "policy_sizes"_a, "value_sizes"_a, "discrete"_a, "activation"_a = "leaky_relu", "layer_norm"_a = true)
      .def_prop_ro("policy_params", &Engine::policy_params)
      .def_prop_ro("value_params", &Engine::value_params)
      .def(
          "act",
          [](Engine& e, In<T> policy, In<T> obs, uint64_t seed, uint64_t counter, Out<T> action) {
            check_size(policy, std::size_t(e.policy_params()), "policy");
            check_size(obs, std::size_t(e.obs_dim()), "obs");
            check_finite(obs, "obs");
            check_size(action, std::size_t(e.action_dim()), "action");
            nb::gil_scoped_release release;
            e.act(policy.data(), obs.data(), seed, counter, action.data());
          },
          "policy"_a, "obs"_a, "seed"_a, "counter"_a, "action"_a)
      .def(
          "step",
          [](Engine& e, Out<T> policy, Out<T> value, Out<T> policy_traces, Out<T> value_traces, In<T> obs,
             In<T> action, double reward, In<T> next_obs, bool terminated, bool reset, double gamma, double lamda,
             double lr, double entropy_coef, double kappa_policy, double kappa_value) {
            check_sizes<Out<T>>({{&policy, "policy"}, {&policy_traces, "policy_traces"}},
                                std::size_t(e.policy_params()));
            check_sizes<Out<T>>({{&value, "value"}, {&value_traces, "value_traces"}}, std::size_t(e.value_params()));
            check_transition(e.obs_dim(), obs, next_obs, reward, gamma);
            check_inputs<T>({{&action, "action"}}, std::size_t(e.action_dim()));
            if (e.discrete())
              TURBORL_CHECK(action.data()[0] >= 0 && action.data()[0] < T(e.num_actions()) &&
                                action.data()[0] == std::floor(action.data()[0]),
                            "action must be an index in [0, ", e.num_actions(), "), got ", action.data()[0]);
            const nn::ObgdOptions policy_options = obgd_options(lr, gamma * lamda, kappa_policy, false, 0.999, 1e-8);
            const nn::ObgdOptions value_options = obgd_options(lr, gamma * lamda, kappa_value, false, 0.999, 1e-8);
            nb::gil_scoped_release release;
            return e.step(policy.data(), value.data(), policy_traces.data(), value_traces.data(), obs.data(),
                          action.data(), reward, next_obs.data(), terminated, reset, gamma, entropy_coef,
                          policy_options, value_options);
          },
          "policy"_a, "value"_a, "policy_traces"_a, "value_traces"_a, "obs"_a, "action"_a, "reward"_a, "next_obs"_a,
          "terminated"_a, "reset"_a, "gamma"_a = 0.99, "lamda"_a = 0.8, "lr"_a = 1.0, "entropy_coef"_a = 0.01,
          "kappa_policy"_a = 3.0, "kappa_value"_a = 2.0, "Stream AC(lambda) on one transition; returns the TD error.");
}

template <class T>
void bind_stream_q(nb::module_& m, const char* name) {
  using Engine = nn::StreamQEngine<T>;
  nb::class_<Engine>(m, name)
      .def(
          "__init__",
          [](Engine* self, std::vector<int> sizes, const std::string& activation, bool layer_norm) {
            new (self) Engine(mlp_spec(std::move(sizes), activation, "identity", layer_norm));
          },
          "sizes"_a, "activation"_a = "leaky_relu", "layer_norm"_a = true)
      .def_prop_ro("num_params", &Engine::num_params)
      .def(
          "q_values",
          [](Engine& e, In<T> params, In<T> obs, Out<T> q) {
            check_size(params, std::size_t(e.num_params()), "params");
            check_size(obs, std::size_t(e.obs_dim()), "obs");
            check_finite(obs, "obs");
            check_size(q, std::size_t(e.num_actions()), "q");
            nb::gil_scoped_release release;
            e.q_values(params.data(), obs.data(), q.data());
          },
          "params"_a, "obs"_a, "q"_a)
      .def(
          "step",
          [](Engine& e, Out<T> params, Out<T> traces, std::optional<Out<T>> second_moment, int64_t step, In<T> obs,
             int64_t action, double reward, In<T> next_obs, int64_t next_action, bool terminated, bool reset,
             double gamma, double lr, double lamda, double kappa, bool adaptive) {
            check_obgd_state(std::size_t(e.num_params()), params, traces, second_moment, adaptive, step);
            check_transition(e.obs_dim(), obs, next_obs, reward, gamma);
            TURBORL_CHECK(action >= 0 && action < e.num_actions(), "action must be in [0, ", e.num_actions(), "), got ",
                          action);
            TURBORL_CHECK(next_action < e.num_actions(), "next_action must be < ", e.num_actions(),
                          " (or negative for Q-learning's max), got ", next_action);
            const nn::ObgdOptions o = obgd_options(lr, gamma * lamda, kappa, adaptive, 0.999, 1e-8);
            nb::gil_scoped_release release;
            return e.step(params.data(), traces.data(), second_moment ? second_moment->data() : nullptr, step,
                          obs.data(), action, reward, next_obs.data(), next_action, terminated, reset, gamma, o);
          },
          "params"_a, "traces"_a, "second_moment"_a.none(), "step"_a, "obs"_a, "action"_a, "reward"_a,
          "next_obs"_a, "next_action"_a, "terminated"_a, "reset"_a, "gamma"_a = 0.99, "lr"_a = 1.0,
          "lamda"_a = 0.8, "kappa"_a = 2.0, "adaptive"_a = false,
          "Stream Q(lambda) (next_action < 0) or SARSA(lambda) on one transition; returns the TD error.");
}

}  // namespace

void bind_nn(nb::module_& m) {
  nb::module_ nn_module = m.def_submodule("nn", "The native small-network engine.");
  bind_mlp<float>(nn_module, "Mlp32");
  bind_mlp<double>(nn_module, "Mlp64");
  bind_optim<float>(nn_module);
  bind_optim<double>(nn_module);
  bind_ppo<float>(nn_module, "PpoEngine32");
  bind_ppo<double>(nn_module, "PpoEngine64");
  bind_dqn<float>(nn_module, "DqnEngine32");
  bind_dqn<double>(nn_module, "DqnEngine64");
  bind_td3<float>(nn_module, "Td3Engine32");
  bind_td3<double>(nn_module, "Td3Engine64");
  bind_sac<float>(nn_module, "SacEngine32");
  bind_sac<double>(nn_module, "SacEngine64");
  bind_stream<float>(nn_module, "StreamTdEngine32");
  bind_stream<double>(nn_module, "StreamTdEngine64");
  bind_stream_q<float>(nn_module, "StreamQEngine32");
  bind_stream_q<double>(nn_module, "StreamQEngine64");
  bind_stream_ac<float>(nn_module, "StreamAcEngine32");
  bind_stream_ac<double>(nn_module, "StreamAcEngine64");
}

}  // namespace turborl::bindings
