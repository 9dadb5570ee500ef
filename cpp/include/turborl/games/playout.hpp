#pragma once
// Random playouts: the value estimate of "plain" Monte Carlo tree search (before value
// networks), which plays uniformly random legal moves to the end of the game. Works for any game
// with the interface of games/tictactoe.hpp.
#include <cstdint>

#include "turborl/core/hd.hpp"
#include "turborl/core/rng.hpp"

namespace turborl::games {

// The stream of playout `playout` from row `row` of a batch: a pure function of its arguments,
// so results depend neither on the thread count nor on how the batch is split.
TURBORL_HD inline CounterRng playout_stream(uint64_t seed, int64_t row, int64_t playout) {
  return CounterRng(seed, uint32_t(row), uint32_t(playout), static_cast<uint32_t>(StreamPurpose::kGamePlayout));
}

// Plays uniformly random legal moves from `state` (not modified) until the game ends; returns
// +1 if the player to move in `state` won, -1 if it lost, 0 for a draw (or a finished draw).
template <class Game>
TURBORL_HD int random_playout(const int8_t* state, CounterRng& rng) {
  using Rules = typename Game::Rules;
  int8_t board[Game::kStateSize];
  for (int i = 0; i < Game::kStateSize; ++i) board[i] = state[i];
  const int8_t me = board[Rules::kToPlay];
  while (board[Rules::kTerminal] == 0) {
    int legal[Game::kNumActions];
    int num_legal = 0;
    for (int a = 0; a < Game::kNumActions; ++a) {
      if (Game::is_legal(board, a)) legal[num_legal++] = a;
    }
    // The modulo bias is below 2^-58 for at most 64 actions.
    Game::step(board, legal[rng.next_u64() % uint64_t(num_legal)]);
  }
  return board[Rules::kWinner] * me;
}

}  // namespace turborl::games
