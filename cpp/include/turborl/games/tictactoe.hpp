#pragma once
// Tic-tac-toe: three in a row on a 3 x 3 board, a stone on any empty cell. The state layout and
// the win check are Board's (games/board.hpp). Action a puts a stone on cell a = 3 * row + col.
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/games/board.hpp"

namespace turborl::games {

struct TicTacToe {
  static constexpr const char* name = "tictactoe";
  using Rules = Board</*Rows=*/3, /*Cols=*/3, /*WinLength=*/3>;
  static constexpr int kNumActions = Rules::kNumCells;
  static constexpr int kStateSize = Rules::kStateSize;

  TURBORL_HD TURBORL_INLINE static void initial_state(int8_t* state) { Rules::initial_state(state); }

  TURBORL_HD TURBORL_INLINE static bool is_legal(const int8_t* state, int action) {
    return state[Rules::kTerminal] == 0 && action >= 0 && action < kNumActions && state[action] == 0;
  }

  // mask[a] = whether action a is legal; none is at a terminal state.
  TURBORL_HD TURBORL_INLINE static void legal_actions(const int8_t* state, bool* mask) {
    for (int a = 0; a < kNumActions; ++a) mask[a] = is_legal(state, a);
  }

  // Plays a legal action (checked by the caller with is_legal).
  TURBORL_HD TURBORL_INLINE static MoveResult step(int8_t* state, int action) {
    return Rules::place(state, action / Rules::kCols, action % Rules::kCols);
  }

  TURBORL_HD TURBORL_INLINE static void observe(const int8_t* state, float* planes) { Rules::observe(state, planes); }

  // Tic-tac-toe allows any arrangement that Board's counts allow.
  static const char* invalid_reason(const int8_t* state) { return Rules::invalid_reason(state); }
};

}  // namespace turborl::games
