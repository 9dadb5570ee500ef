#pragma once
// Connect Four: four in a row on a board 7 columns wide and 6 rows high; a stone dropped into a
// column falls to its lowest empty cell. The state layout and the win check are Board's
// (games/board.hpp), row 0 at the top. Action a drops a stone into column a.
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/games/board.hpp"

namespace turborl::games {

struct ConnectFour {
  static constexpr const char* name = "connect4";
  using Rules = Board</*Rows=*/6, /*Cols=*/7, /*WinLength=*/4>;
  static constexpr int kNumActions = Rules::kCols;
  static constexpr int kStateSize = Rules::kStateSize;

  TURBORL_HD TURBORL_INLINE static void initial_state(int8_t* state) { Rules::initial_state(state); }

  // A column is playable while its top cell (row 0) is empty.
  TURBORL_HD TURBORL_INLINE static bool is_legal(const int8_t* state, int action) {
    return state[Rules::kTerminal] == 0 && action >= 0 && action < kNumActions && state[action] == 0;
  }

  TURBORL_HD TURBORL_INLINE static void legal_actions(const int8_t* state, bool* mask) {
    for (int a = 0; a < kNumActions; ++a) mask[a] = is_legal(state, a);
  }

  // The row a stone dropped into `col` lands on: the lowest empty one, or -1 if the column is full.
  TURBORL_HD TURBORL_INLINE static int landing_row(const int8_t* state, int col) {
    int row = Rules::kRows - 1;
    while (row >= 0 && state[row * Rules::kCols + col] != 0) --row;
    return row;
  }

  // Plays a legal action (checked by the caller with is_legal).
  TURBORL_HD TURBORL_INLINE static MoveResult step(int8_t* state, int action) {
    return Rules::place(state, landing_row(state, action), action);
  }

  TURBORL_HD TURBORL_INLINE static void observe(const int8_t* state, float* planes) { Rules::observe(state, planes); }

  // Board's checks, and no stone above an empty cell.
  static const char* invalid_reason(const int8_t* state) {
    if (const char* reason = Rules::invalid_reason(state)) return reason;
    for (int row = 0; row + 1 < Rules::kRows; ++row) {
      for (int col = 0; col < Rules::kCols; ++col) {
        if (state[row * Rules::kCols + col] != 0 && state[(row + 1) * Rules::kCols + col] == 0)
          return "a stone floats above an empty cell";
      }
    }
    return nullptr;
  }
};

}  // namespace turborl::games
