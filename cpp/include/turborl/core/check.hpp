#pragma once
// Checks at the entrance of the core. A failed check throws a standard exception whose message
// names the argument, what was expected and what was received; the bindings turn
// std::invalid_argument into ValueError, std::out_of_range into IndexError and
// std::runtime_error into RuntimeError. Nothing in turborl aborts the interpreter.
#include <sstream>
#include <stdexcept>
#include <string>

namespace turborl::detail {

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

template <class... Parts>
[[noreturn]] void throw_invalid_argument(const Parts&... parts) {
  throw std::invalid_argument(concat(parts...));
}

template <class... Parts>
[[noreturn]] void throw_out_of_range(const Parts&... parts) {
  throw std::out_of_range(concat(parts...));
}

template <class... Parts>
[[noreturn]] void throw_runtime_error(const Parts&... parts) {
  throw std::runtime_error(concat(parts...));
}

}  // namespace turborl::detail

// A value the caller passed is wrong: ValueError.
#define TURBORL_CHECK(cond, ...)                                  \
  do {                                                            \
    if (!(cond)) [[unlikely]]                                     \
      ::turborl::detail::throw_invalid_argument(__VA_ARGS__);     \
  } while (0)

// An index the caller passed is outside its range: IndexError.
#define TURBORL_CHECK_INDEX(cond, ...)                            \
  do {                                                            \
    if (!(cond)) [[unlikely]]                                     \
      ::turborl::detail::throw_out_of_range(__VA_ARGS__);         \
  } while (0)

// The object is not in a state that allows the call (e.g. stepping a finished episode): RuntimeError.
#define TURBORL_CHECK_STATE(cond, ...)                            \
  do {                                                            \
    if (!(cond)) [[unlikely]]                                     \
      ::turborl::detail::throw_runtime_error(__VA_ARGS__);        \
  } while (0)
