// Bindings of the board games behind turborl.games: one set of functions per game, named
// <game>_<function>, over batches of states in Board's flat int8 layout (games/board.hpp). Every
// function is functional: it returns new arrays and never changes its input, so states are
// values that MCTS can gather by index. Arguments are checked here, with messages that name
// them: dtypes and shapes, every state's consistency, every action's legality.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "bindings.hpp"
#include "turborl/core/check.hpp"
#include "turborl/core/thread_pool.hpp"
#include "turborl/games/connect4.hpp"
#include "turborl/games/connect4_solver.hpp"
#include "turborl/games/playout.hpp"
#include "turborl/games/tictactoe.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace turborl::bindings {
namespace {

// Any dtype and shape: they are checked below, so that a mistake raises ValueError naming the
// argument instead of nanobind's TypeError listing overloads.
using AnyArray = nb::ndarray<nb::c_contig, nb::device::cpu>;

std::string dtype_name(nb::dlpack::dtype dtype) {
  switch (static_cast<nb::dlpack::dtype_code>(dtype.code)) {
    case nb::dlpack::dtype_code::Bool:
      return "bool";
    case nb::dlpack::dtype_code::Int:
      return "int" + std::to_string(dtype.bits);
    case nb::dlpack::dtype_code::UInt:
      return "uint" + std::to_string(dtype.bits);
    case nb::dlpack::dtype_code::Float:
      return "float" + std::to_string(dtype.bits);
    default:
      return "code " + std::to_string(dtype.code) + " with " + std::to_string(dtype.bits) + " bits";
  }
}

std::string shape_name(const AnyArray& array) {
  std::string out = "(";
  for (size_t d = 0; d < array.ndim(); ++d) {
    out += std::to_string(array.shape(d));
    if (d + 1 < array.ndim() || array.ndim() == 1) out += ",";
    if (d + 1 < array.ndim()) out += " ";
  }
  return out + ")";
}

// The rows of `states` after checking the dtype, the shape and that each row is a state of Game.
template <class Game>
const int8_t* checked_states(const AnyArray& states) {
  TURBORL_CHECK(states.dtype() == nb::dtype<int8_t>(), "states must be an int8 array of ", Game::name,
                " states, got dtype ", dtype_name(states.dtype()));
  TURBORL_CHECK(states.ndim() == 2 && states.shape(1) == size_t(Game::kStateSize), "states must have shape (B, ",
                Game::kStateSize, ") for ", Game::name, ", got ", shape_name(states));
  const auto* data = static_cast<const int8_t*>(states.data());
  nb::gil_scoped_release release;  // reacquired before a failed check's exception reaches Python
  for (size_t b = 0; b < states.shape(0); ++b) {
    const char* reason = Game::invalid_reason(data + b * Game::kStateSize);
    TURBORL_CHECK(reason == nullptr, "states[", b, "] is not a valid ", Game::name, " state: ", reason);
  }
  return data;
}

const int64_t* checked_actions(const AnyArray& actions, size_t batch_size) {
  TURBORL_CHECK(actions.dtype() == nb::dtype<int64_t>(), "actions must be an int64 array, got dtype ",
                dtype_name(actions.dtype()));
  TURBORL_CHECK(actions.ndim() == 1 && actions.shape(0) == batch_size, "actions must have shape (", batch_size,
                ",) (one per state), got ", shape_name(actions));
  return static_cast<const int64_t*>(actions.data());
}

template <class Game>
void bind_game(nb::module_& m, const char* illegal_move_reason) {
  using Rules = typename Game::Rules;
  constexpr size_t S = Game::kStateSize, A = Game::kNumActions;
  const std::string prefix = std::string(Game::name) + "_";

  m.def((prefix + "layout").c_str(), []() {
    nb::dict layout;
    layout["rows"] = Rules::kRows;
    layout["cols"] = Rules::kCols;
    layout["num_actions"] = Game::kNumActions;
    layout["state_size"] = Game::kStateSize;
    layout["to_play"] = Rules::kToPlay;
    layout["num_moves"] = Rules::kNumMoves;
    layout["terminal"] = Rules::kTerminal;
    layout["winner"] = Rules::kWinner;
    return layout;
  }, "The board's size and the offsets of the fields after the cells in a state.");

  m.def(
      (prefix + "initial_states").c_str(),
      [](int64_t batch_size) {
        TURBORL_CHECK(batch_size >= 0, "batch_size must be >= 0, got ", batch_size);
        auto states = new_array<int8_t>({size_t(batch_size), S});
        {
          nb::gil_scoped_release release;
          for (int64_t b = 0; b < batch_size; ++b) Game::initial_state(states.data() + b * S);
        }
        return states;
      },
      "batch_size"_a, "int8 [batch_size, state_size]: empty boards, the first player (+1) to move.");

  m.def(
      (prefix + "step").c_str(),
      [illegal_move_reason](const AnyArray& states, const AnyArray& actions) {
        const int8_t* in = checked_states<Game>(states);
        const size_t B = states.shape(0);
        const int64_t* action = checked_actions(actions, B);
        auto next = new_array<int8_t>({B, S});
        auto rewards = new_array<float>({B});
        auto terminal = new_array<bool>({B});
        {
          nb::gil_scoped_release release;
          std::copy(in, in + B * S, next.data());
          for (size_t b = 0; b < B; ++b) {
            int8_t* state = next.data() + b * S;
            TURBORL_CHECK(state[Rules::kTerminal] == 0, "states[", b, "] is a finished ", Game::name,
                          " game: it has no legal action (start a new one)");
            TURBORL_CHECK(action[b] >= 0 && action[b] < int64_t(A), "actions[", b, "] = ", action[b],
                          " is out of range [0, ", Game::kNumActions, ") in ", Game::name, " game ", b);
            TURBORL_CHECK(Game::is_legal(state, int(action[b])), "actions[", b, "] = ", action[b],
                          " is illegal in ", Game::name, " game ", b, ": ", illegal_move_reason);
            const games::MoveResult result = Game::step(state, int(action[b]));
            rewards.data()[b] = float(result.reward);
            terminal.data()[b] = result.terminal;
          }
        }
        return nb::make_tuple(next, rewards, terminal);
      },
      "states"_a, "actions"_a,
      "(next_states int8 [B, state_size], rewards float32 [B] for the player who moved (+1 win, 0 "
      "otherwise), terminal bool [B]); the input is not changed.");

  m.def(
      (prefix + "legal_actions").c_str(),
      [](const AnyArray& states) {
        const int8_t* in = checked_states<Game>(states);
        const size_t B = states.shape(0);
        auto mask = new_array<bool>({B, A});
        {
          nb::gil_scoped_release release;
          for (size_t b = 0; b < B; ++b) Game::legal_actions(in + b * S, mask.data() + b * A);
        }
        return mask;
      },
      "states"_a, "bool [B, num_actions]: the legal actions (none at a finished game).");

  m.def(
      (prefix + "observe").c_str(),
      [](const AnyArray& states) {
        const int8_t* in = checked_states<Game>(states);
        const size_t B = states.shape(0), R = Rules::kRows, C = Rules::kCols;
        auto planes = new_array<float>({B, 2, R, C});
        {
          nb::gil_scoped_release release;
          for (size_t b = 0; b < B; ++b) Game::observe(in + b * S, planes.data() + b * 2 * R * C);
        }
        return planes;
      },
      "states"_a, "float32 [B, 2, rows, cols]: the stones of the player to move, then the opponent's.");

  m.def(
      (prefix + "status").c_str(),
      [](const AnyArray& states) {
        const int8_t* in = checked_states<Game>(states);
        const size_t B = states.shape(0);
        auto to_play = new_array<int8_t>({B});
        auto terminal = new_array<bool>({B});
        auto winner = new_array<int8_t>({B});
        {
          nb::gil_scoped_release release;
          for (size_t b = 0; b < B; ++b) {
            to_play.data()[b] = in[b * S + Rules::kToPlay];
            terminal.data()[b] = in[b * S + Rules::kTerminal] != 0;
            winner.data()[b] = in[b * S + Rules::kWinner];
          }
        }
        return nb::make_tuple(to_play, terminal, winner);
      },
      "states"_a, "(to_play int8 [B] (+1 or -1), terminal bool [B], winner int8 [B] (+1, -1, 0 for none)).");

  m.def(
      (prefix + "playout_values").c_str(),
      [](const AnyArray& states, int64_t num_playouts, uint64_t seed, int num_threads) {
        const int8_t* in = checked_states<Game>(states);
        TURBORL_CHECK(num_playouts >= 1, "num_playouts must be >= 1, got ", num_playouts);
        const size_t B = states.shape(0);
        auto values = new_array<float>({B});
        // Called once per simulation by rollout MCTS: start threads only for batches with enough
        // playouts to pay for them (a pool of one thread starts none).
        constexpr int64_t kMinPlayoutsPerChunk = 256;
        const int64_t min_rows = (kMinPlayoutsPerChunk + num_playouts - 1) / num_playouts;
        TURBORL_CHECK(num_threads >= 1 && num_threads <= ThreadPool::kMaxThreads, "num_threads must be in [1, ",
                      ThreadPool::kMaxThreads, "], got ", num_threads);
        ThreadPool pool(int(std::max<int64_t>(1, std::min<int64_t>(num_threads, int64_t(B) / min_rows))));
        {
          nb::gil_scoped_release release;
          pool.run_chunks(int64_t(B), [&](int64_t begin, int64_t end) {
            for (int64_t b = begin; b < end; ++b) {
              int64_t total = 0;
              for (int64_t p = 0; p < num_playouts; ++p) {
                CounterRng rng = games::playout_stream(seed, b, p);
                total += games::random_playout<Game>(in + b * S, rng);
              }
              values.data()[b] = float(double(total) / double(num_playouts));
            }
          }, min_rows);
        }
        return values;
      },
      "states"_a, "num_playouts"_a, "seed"_a, "num_threads"_a,
      "float32 [B]: the mean result of uniformly random play to the end for the player to move "
      "(+1 win, -1 loss, 0 draw); playout p of row b draws from the stream (seed, b, p).");
}

}  // namespace

void bind_games(nb::module_& m) {
  bind_game<games::TicTacToe>(m, "the cell is occupied");
  bind_game<games::ConnectFour>(m, "the column is full");

  m.def(
      "connect4_solve",
      [](const AnyArray& states, int64_t max_nodes, int num_threads) {
        using games::ConnectFour;
        const int8_t* in = checked_states<ConnectFour>(states);
        TURBORL_CHECK(max_nodes >= 1, "max_nodes must be >= 1, got ", max_nodes);
        const size_t B = states.shape(0), S = ConnectFour::kStateSize;
        auto scores = new_array<int32_t>({B});
        auto solved = new_array<bool>({B});
        auto nodes = new_array<int64_t>({B});
        ThreadPool pool(num_threads);
        {
          nb::gil_scoped_release release;
          pool.run_chunks(int64_t(B), [&](int64_t begin, int64_t end) {
            games::Connect4Solver solver(max_nodes);  // one transposition table per thread
            for (int64_t b = begin; b < end; ++b) {
              const games::Connect4SolveResult result = solver.solve(in + b * S);
              scores.data()[b] = result.solved ? result.score : 0;
              solved.data()[b] = result.solved;
              nodes.data()[b] = result.nodes;
            }
          });
        }
        return nb::make_tuple(scores, solved, nodes);
      },
      "states"_a, "max_nodes"_a, "num_threads"_a,
      "(scores int32 [B], solved bool [B], nodes int64 [B]): Pons's exact score for the player to "
      "move where solved within max_nodes negamax nodes (0 where not).");
}

}  // namespace turborl::bindings
