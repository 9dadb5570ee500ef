#include <nanobind/nanobind.h>

#include "bindings.hpp"

NB_MODULE(_core, m) {
  m.doc() = "turborl's C++ core. Use the Python API in turborl.* instead of this module directly.";
  turborl::bindings::bind_core(m);
  turborl::bindings::bind_envs(m);
  turborl::bindings::bind_games(m);
  turborl::bindings::bind_mcts(m);
  turborl::bindings::bind_nn(m);
  turborl::bindings::bind_planning(m);
  turborl::bindings::bind_quadrotor(m);
  turborl::bindings::bind_replay(m);
  turborl::bindings::bind_stats(m);
}
