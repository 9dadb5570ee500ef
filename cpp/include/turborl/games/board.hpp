#pragma once
// What tic-tac-toe and Connect Four share: both are k-in-a-row games on a rows x cols grid (an
// m,n,k-game), and differ only in where a stone may go. A game's state is a flat int8 array, a
// value that can be copied, gathered by index (MCTS embeddings) and stored without a class:
//
//   cells[rows * cols]   row-major, row 0 at the top; +1 first player, -1 second, 0 empty
//   to_play              +1 or -1, the player whose move it is (flips after every move)
//   num_moves            stones on the board
//   terminal             1 once the game is over (a win or a full board), else 0
//   winner               +1 or -1 when a player has won, else 0
//
// The functions are TURBORL_HD so that the same rules can run in a CUDA kernel later.
#include <cstdint>

#include "turborl/core/hd.hpp"

namespace turborl::games {

// The result of one move, for the player who made it.
struct MoveResult {
  int8_t reward;  // +1 the move won, 0 otherwise (draw or game not over): the loser never moves last
  bool terminal;
};

template <int Rows, int Cols, int WinLength>
struct Board {
  static constexpr int kRows = Rows;
  static constexpr int kCols = Cols;
  static constexpr int kWinLength = WinLength;
  static constexpr int kNumCells = Rows * Cols;

  // Offsets of the fields after the cells.
  static constexpr int kToPlay = kNumCells;
  static constexpr int kNumMoves = kNumCells + 1;
  static constexpr int kTerminal = kNumCells + 2;
  static constexpr int kWinner = kNumCells + 3;
  static constexpr int kStateSize = kNumCells + 4;
  static_assert(kNumCells <= 127, "num_moves must fit in an int8");

  TURBORL_HD TURBORL_INLINE static void initial_state(int8_t* state) {
    for (int i = 0; i < kNumCells; ++i) state[i] = 0;
    state[kToPlay] = 1;
    state[kNumMoves] = 0;
    state[kTerminal] = 0;
    state[kWinner] = 0;
  }

  // Stones of `player` in a row through (row, col) along (d_row, d_col), counting (row, col)
  // itself once. Only lines through the newest stone can have been completed by it, so this
  // replaces a scan of the whole board.
  TURBORL_HD TURBORL_INLINE static int line_through(const int8_t* cells, int row, int col, int d_row, int d_col,
                                                     int8_t player) {
    int count = 1;
    for (int sign = -1; sign <= 1; sign += 2) {
      int r = row + sign * d_row, c = col + sign * d_col;
      while (r >= 0 && r < Rows && c >= 0 && c < Cols && cells[r * Cols + c] == player) {
        ++count;
        r += sign * d_row;
        c += sign * d_col;
      }
    }
    return count;
  }

  TURBORL_HD TURBORL_INLINE static bool wins_through(const int8_t* cells, int row, int col) {
    const int8_t player = cells[row * Cols + col];
    // Horizontal, vertical and the two diagonals.
    return line_through(cells, row, col, 0, 1, player) >= WinLength ||
           line_through(cells, row, col, 1, 0, player) >= WinLength ||
           line_through(cells, row, col, 1, 1, player) >= WinLength ||
           line_through(cells, row, col, 1, -1, player) >= WinLength;
  }

  // Puts the stone of the player to move on the empty cell (row, col) and ends the game if that
  // completed a line or filled the board. The caller has checked that the move is legal.
  TURBORL_HD TURBORL_INLINE static MoveResult place(int8_t* state, int row, int col) {
    const int8_t player = state[kToPlay];
    state[row * Cols + col] = player;
    state[kNumMoves] = int8_t(state[kNumMoves] + 1);
    state[kToPlay] = int8_t(-player);
    const bool won = wins_through(state, row, col);
    const bool terminal = won || state[kNumMoves] == kNumCells;
    state[kTerminal] = int8_t(terminal);
    state[kWinner] = won ? player : int8_t(0);
    return {int8_t(won), terminal};
  }

  // planes[2, Rows, Cols]: the stones of the player to move, then the opponent's, so that one
  // network plays both sides (AlphaZero's board encoding without the history planes).
  TURBORL_HD TURBORL_INLINE static void observe(const int8_t* state, float* planes) {
    const int8_t me = state[kToPlay];
    for (int i = 0; i < kNumCells; ++i) {
      planes[i] = state[i] == me ? 1.0f : 0.0f;
      planes[kNumCells + i] = state[i] == -me ? 1.0f : 0.0f;
    }
  }

  // Why `state` is not a state these rules can reach, or nullptr when it could be one. Checks
  // only what is cheap to check (field ranges and counts); host code calls it on user input.
  static const char* invalid_reason(const int8_t* state) {
    int first = 0, second = 0;
    for (int i = 0; i < kNumCells; ++i) {
      if (state[i] == 1) {
        ++first;
      } else if (state[i] == -1) {
        ++second;
      } else if (state[i] != 0) {
        return "a cell holds a value other than -1, 0 or 1";
      }
    }
    // The first player moves first, so it has as many stones as the second player or one more.
    if (first != second && first != second + 1)
      return "the players' stone counts differ by more than the turn order allows";
    if (state[kNumMoves] != first + second) return "num_moves is not the number of stones";
    if (state[kToPlay] != (first == second ? 1 : -1)) return "to_play does not match the stone counts";
    if (state[kTerminal] != 0 && state[kTerminal] != 1) return "terminal is neither 0 nor 1";
    if (state[kWinner] != 0 && state[kWinner] != -state[kToPlay]) return "winner is not the player who moved last";
    if (state[kWinner] != 0 && state[kTerminal] == 0) return "a game with a winner is not terminal";
    if (state[kTerminal] == 0 && first + second == kNumCells) return "a full board is not terminal";
    if (state[kTerminal] == 1 && state[kWinner] == 0 && first + second < kNumCells)
      return "a game without a winner ended before the board was full";
    return nullptr;
  }
};

// The part of a game's interface that only forwards to its Board: TicTacToe and ConnectFour
// derive from it and add their name and where a move puts its stone (step). Action a is legal
// while cell a is empty: for tic-tac-toe that is the cell itself, for Connect Four the top cell
// of column a, which stays empty while the column has room.
template <class BoardRules, int NumActions>
struct BoardGame {
  using Rules = BoardRules;
  static constexpr int kNumActions = NumActions;
  static constexpr int kStateSize = Rules::kStateSize;

  TURBORL_HD TURBORL_INLINE static void initial_state(int8_t* state) { Rules::initial_state(state); }

  TURBORL_HD TURBORL_INLINE static bool is_legal(const int8_t* state, int action) {
    return state[Rules::kTerminal] == 0 && action >= 0 && action < kNumActions && state[action] == 0;
  }

  // mask[a] = whether action a is legal; none is at a terminal state.
  TURBORL_HD TURBORL_INLINE static void legal_actions(const int8_t* state, bool* mask) {
    for (int a = 0; a < kNumActions; ++a) mask[a] = is_legal(state, a);
  }

  TURBORL_HD TURBORL_INLINE static void observe(const int8_t* state, float* planes) { Rules::observe(state, planes); }

  // Board's consistency checks; a game with more rules hides this with its own.
  static const char* invalid_reason(const int8_t* state) { return Rules::invalid_reason(state); }
};

}  // namespace turborl::games
