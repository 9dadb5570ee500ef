#pragma once
// One bind_<topic> function per topic, each called once from module.cpp, and the helpers they share.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstddef>
#include <vector>

namespace turborl::bindings {

void bind_core(nanobind::module_& m);
void bind_envs(nanobind::module_& m);
void bind_games(nanobind::module_& m);
void bind_mcts(nanobind::module_& m);
void bind_nn(nanobind::module_& m);
void bind_planning(nanobind::module_& m);
void bind_quadrotor(nanobind::module_& m);
void bind_replay(nanobind::module_& m);
void bind_stats(nanobind::module_& m);

// A new zero-filled NumPy array that Python owns (freed when the last reference goes).
template <class T>
nanobind::ndarray<nanobind::numpy, T> new_array(std::vector<std::size_t> shape) {
  std::size_t count = 1;
  for (std::size_t extent : shape) count *= extent;
  T* data = new T[count > 0 ? count : 1]();
  nanobind::capsule owner(data, [](void* p) noexcept { delete[] static_cast<T*>(p); });
  return nanobind::ndarray<nanobind::numpy, T>(data, shape.size(), shape.data(), owner);
}

}  // namespace turborl::bindings
