#pragma once
// An exact Connect Four solver: negamax with alpha-beta pruning on bitboards, following Pascal
// Pons, "Solving Connect 4: how to build a perfect AI" (blog.gamesolver.org) and its code
// (github.com/PascalPons/connect4, position.hpp and solver.cpp): bitboards, the winning-cell
// masks, pruning of moves that lose at once, a transposition table of upper bounds, move
// ordering by the number of threats a move creates, and null-window searches that narrow the
// score. A node budget bounds the work, so that a position too deep to solve is reported as
// unknown instead of taking hours (the empty board needs billions of nodes without an opening
// book).
//
// Pons's score: 0 for a draw; for the player to move, 22 - (the number of its own stones when it
// connects four) if it wins, minus the opponent's such score if it loses. Faster wins score higher;
// a win with the last stone scores 1. Its sign is the game-theoretic value.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

#include "turborl/games/connect4.hpp"

namespace turborl::games {

// The bottom cell of every column in Connect4Solver's bitboard layout.
constexpr uint64_t bottom_cells_mask(int width, int height) {
  uint64_t mask = 0;
  for (int col = 0; col < width; ++col) mask |= uint64_t(1) << (col * (height + 1));
  return mask;
}

struct Connect4SolveResult {
  bool solved;    // false when the node budget ran out
  int score;      // Pons's score for the player to move (meaningful only when solved)
  int64_t nodes;  // negamax nodes visited
};

class Connect4Solver {
 public:
  static constexpr int kWidth = ConnectFour::Rules::kCols;
  static constexpr int kHeight = ConnectFour::Rules::kRows;
  static constexpr int kNumCells = kWidth * kHeight;
  // Scores bounds of a position where nobody wins within two moves (Pons's MIN/MAX_SCORE).
  static constexpr int kMinScore = -kNumCells / 2 + 3;
  static constexpr int kMaxScore = (kNumCells + 1) / 2 - 3;

  // max_nodes bounds the negamax calls of one solve; the transposition table is sized by it.
  explicit Connect4Solver(int64_t max_nodes) : max_nodes_(max_nodes) {
    int bits = 12;
    while (bits < kMaxTableBits && (int64_t(1) << bits) < max_nodes) ++bits;
    table_bits_ = bits;
    table_keys_.assign(size_t(1) << bits, 0);
    table_values_.assign(size_t(1) << bits, 0);
  }

  // Solves a state in ConnectFour's layout (checked by the caller). A finished game scores 0 for
  // a draw and minus the winner's score for the loser, the player to move.
  Connect4SolveResult solve(const int8_t* state) {
    using Rules = ConnectFour::Rules;
    nodes_ = 0;
    out_of_budget_ = false;
    const int moves = state[Rules::kNumMoves];
    if (state[Rules::kTerminal] != 0) {
      const int winner_score = (kNumCells + 2 - moves) / 2;  // its winning stone was move number `moves`
      return {true, state[Rules::kWinner] != 0 ? -winner_score : 0, 0};
    }
    next_generation();
    Position position = from_state(state);
    const int score = solve(position);
    return {!out_of_budget_, score, nodes_};
  }

 private:
  static constexpr int kMaxTableBits = 21;  // 2M entries, 19 MB: enough for what a budget can visit

  // Bit (col * (kHeight + 1) + height) is the cell `height` rows above the bottom of `col`; the
  // extra bit on top of each column keeps the shifts of one column out of the next.
  static constexpr uint64_t kBottomMask = bottom_cells_mask(kWidth, kHeight);
  static constexpr uint64_t kBoardMask = kBottomMask * ((uint64_t(1) << kHeight) - 1);
  static constexpr uint64_t column_mask(int col) { return ((uint64_t(1) << kHeight) - 1) << (col * (kHeight + 1)); }

  struct Position {
    uint64_t current;  // stones of the player to move
    uint64_t mask;     // all stones
    int moves;

    uint64_t key() const { return current + mask; }  // unique: Pons, position.hpp
    uint64_t possible() const { return (mask + kBottomMask) & kBoardMask; }
    uint64_t winning_cells() const { return winning_cells_of(current, mask); }
    uint64_t opponent_winning_cells() const { return winning_cells_of(current ^ mask, mask); }
    bool can_win_next() const { return (winning_cells() & possible()) != 0; }

    // Playable moves after which the opponent cannot win at once: if it threatens two cells
    // the position is lost (none); if one, that is the only move; never play below its threat.
    uint64_t non_losing_moves() const {
      uint64_t moves_mask = possible();
      const uint64_t opponent_wins = opponent_winning_cells();
      const uint64_t forced = moves_mask & opponent_wins;
      if (forced != 0) {
        if ((forced & (forced - 1)) != 0) return 0;
        moves_mask = forced;
      }
      return moves_mask & ~(opponent_wins >> 1);
    }

    // Number of cells where the player to move would connect four after `move`.
    int move_score(uint64_t move) const { return std::popcount(winning_cells_of(current | move, mask)); }

    void play(uint64_t move) {
      current ^= mask;  // the opponent becomes the player to move
      mask |= move;
      ++moves;
    }
  };

  // Empty cells that would complete four for the stones `position` (Pons's
  // compute_winning_position): for each direction, three stones at shifts 1-3 on one side, or
  // two on one side and one on the other.
  static uint64_t winning_cells_of(uint64_t position, uint64_t mask) {
    uint64_t r = (position << 1) & (position << 2) & (position << 3);  // vertical: only upwards
    for (const int shift : {kHeight + 1, kHeight, kHeight + 2}) {     // horizontal, both diagonals
      uint64_t pair = (position << shift) & (position << 2 * shift);
      r |= pair & (position << 3 * shift);
      r |= pair & (position >> shift);
      pair = (position >> shift) & (position >> 2 * shift);
      r |= pair & (position << shift);
      r |= pair & (position >> 3 * shift);
    }
    return r & (kBoardMask ^ mask);
  }

  static Position from_state(const int8_t* state) {
    using Rules = ConnectFour::Rules;
    Position p{0, 0, state[Rules::kNumMoves]};
    const int8_t me = state[Rules::kToPlay];
    for (int row = 0; row < kHeight; ++row) {
      for (int col = 0; col < kWidth; ++col) {
        const int8_t cell = state[row * kWidth + col];
        if (cell == 0) continue;
        const uint64_t bit = uint64_t(1) << (col * (kHeight + 1) + (kHeight - 1 - row));
        p.mask |= bit;
        if (cell == me) p.current |= bit;
      }
    }
    return p;
  }

  // The exact score by null-window searches that halve the interval of possible scores
  // (Pons, solver.cpp), leaning towards 0 first, since most positions are close to a draw.
  int solve(const Position& p) {
    if (p.can_win_next()) return (kNumCells + 1 - p.moves) / 2;
    int min = -(kNumCells - p.moves) / 2;
    int max = (kNumCells + 1 - p.moves) / 2;
    while (min < max && !out_of_budget_) {
      int med = min + (max - min) / 2;
      if (med <= 0 && min / 2 < med) {
        med = min / 2;
      } else if (med >= 0 && max / 2 > med) {
        med = max / 2;
      }
      const int r = negamax(p, med, med + 1);
      if (r <= med) {
        max = r;
      } else {
        min = r;
      }
    }
    return min;
  }

  // The score within [alpha, beta], or a bound beyond it; the player to move cannot win at once.
  int negamax(const Position& p, int alpha, int beta) {
    if (++nodes_ > max_nodes_) {
      out_of_budget_ = true;
      return alpha;  // meaningless: the caller discards the whole search
    }
    const uint64_t next = p.non_losing_moves();
    if (next == 0) return -(kNumCells - p.moves) / 2;  // the opponent wins with its next stone
    if (p.moves >= kNumCells - 2) return 0;             // neither player can win any more

    const int min = -(kNumCells - 2 - p.moves) / 2;  // the opponent cannot win with its next stone
    if (alpha < min) {
      alpha = min;
      if (alpha >= beta) return alpha;
    }
    int max = (kNumCells - 1 - p.moves) / 2;  // we cannot win with our next stone
    if (const int bound = table_get(p.key()); bound != 0) max = bound + kMinScore - 1;
    if (beta > max) {
      beta = max;
      if (alpha >= beta) return beta;
    }

    // Moves sorted by the threats they create, ties broken towards the centre.
    uint64_t moves[kWidth];
    int scores[kWidth];
    int count = 0;
    for (int i = kWidth - 1; i >= 0; --i) {
      const int col = kWidth / 2 + (1 - 2 * (i % 2)) * (i + 1) / 2;  // 3, 2, 4, 1, 5, 0, 6
      const uint64_t move = next & column_mask(col);
      if (move == 0) continue;
      const int score = p.move_score(move);
      int pos = count++;
      for (; pos > 0 && scores[pos - 1] > score; --pos) {
        moves[pos] = moves[pos - 1];
        scores[pos] = scores[pos - 1];
      }
      moves[pos] = move;
      scores[pos] = score;
    }
    while (count > 0) {
      Position child = p;
      child.play(moves[--count]);
      const int score = -negamax(child, -beta, -alpha);
      if (out_of_budget_) return alpha;
      if (score >= beta) return score;
      if (score > alpha) alpha = score;
    }
    table_put(p.key(), alpha - kMinScore + 1);
    return alpha;
  }

  // Each solve starts with an empty table. Instead of clearing up to 19 MB per position (more
  // than solving a position near the end of a game costs), entries carry the solve's generation
  // in the key bits above the board's 49, and entries of other generations read as empty; the
  // table is cleared only when the generation counter wraps.
  // A key, current + mask, stays below bit 49: in each 7-bit column the mover's stones are a
  // subset of the filled cells, so the column's sum is at most 2 * 63 and never carries over.
  static constexpr int kKeyBits = kWidth * (kHeight + 1);
  static constexpr uint64_t kMaxGeneration = (uint64_t(1) << (64 - kKeyBits)) - 1;
  static_assert(kKeyBits < 64, "the generation needs bits above the position key");

  void next_generation() {
    if (generation_ == kMaxGeneration) {
      std::fill(table_keys_.begin(), table_keys_.end(), 0);
      std::fill(table_values_.begin(), table_values_.end(), 0);
      generation_ = 0;
    }
    ++generation_;
  }
  uint64_t stamped(uint64_t key) const { return key | (generation_ << kKeyBits); }

  size_t table_index(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> (64 - table_bits_)); }
  // 0 means "no bound stored"; a stored bound is score - kMinScore + 1 >= 1.
  int table_get(uint64_t key) const {
    const size_t i = table_index(key);
    return table_keys_[i] == stamped(key) ? table_values_[i] : 0;
  }
  void table_put(uint64_t key, int value) {
    const size_t i = table_index(key);
    table_keys_[i] = stamped(key);
    table_values_[i] = uint8_t(value);
  }

  int64_t max_nodes_;
  int64_t nodes_ = 0;
  bool out_of_budget_ = false;
  int table_bits_;
  uint64_t generation_ = 0;  // of the current solve, >= 1 during a solve
  // Full keys, so that a collision is a miss, never a wrong bound. An empty slot holds key 0,
  // which no stamped key equals (their generation is >= 1).
  std::vector<uint64_t> table_keys_;
  std::vector<uint8_t> table_values_;
};

}  // namespace turborl::games
