#pragma once
// One bind_<topic> function per topic, each called once from module.cpp.
#include <nanobind/nanobind.h>

namespace turborl::bindings {

void bind_core(nanobind::module_& m);
void bind_envs(nanobind::module_& m);
void bind_mcts(nanobind::module_& m);
void bind_nn(nanobind::module_& m);
void bind_planning(nanobind::module_& m);
void bind_quadrotor(nanobind::module_& m);
void bind_replay(nanobind::module_& m);
void bind_stats(nanobind::module_& m);

}  // namespace turborl::bindings
