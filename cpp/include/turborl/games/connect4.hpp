#pragma once
// Connect Four: four in a row on a board 7 columns wide and 6 rows high; a stone dropped into a
// column falls to its lowest empty cell. The state layout and the win check are Board's
// (games/board.hpp), row 0 at the top. Action a drops a stone into column a.
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/games/board.hpp"

namespace turborl::games {

struct ConnectFour : BoardGame<Board</*Rows=*/6, /*Cols=*/7, /*WinLength=*/4>, /*NumActions=*/7> {
  static constexpr const char* name = "connect4";
  static_assert(kNumActions == Rules::kCols, "one action per column");

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
