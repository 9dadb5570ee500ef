#pragma once
// Tic-tac-toe: three in a row on a 3 x 3 board, a stone on any empty cell. The state layout and
// the win check are Board's (games/board.hpp). Action a puts a stone on cell a = 3 * row + col.
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/games/board.hpp"

namespace turborl::games {

// Any arrangement that Board's counts allow is a tic-tac-toe position (BoardGame's checks).
struct TicTacToe : BoardGame<Board</*Rows=*/3, /*Cols=*/3, /*WinLength=*/3>, /*NumActions=*/9> {
  static constexpr const char* name = "tictactoe";
  static_assert(kNumActions == Rules::kNumCells, "one action per cell");

  // Plays a legal action (checked by the caller with is_legal).
  TURBORL_HD TURBORL_INLINE static MoveResult step(int8_t* state, int action) {
    return Rules::place(state, action / Rules::kCols, action % Rules::kCols);
  }
};

}  // namespace turborl::games
