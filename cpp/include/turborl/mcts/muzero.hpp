#pragma once
// MuZero's action selection (Schrittwieser et al. 2020, "Mastering Atari, Go, chess and shogi by
// planning with a learned model", Appendix B: the pUCT rule), as mctx's muzero_action_selection
// (mctx/_src/action_selection.py), in float32.
#include <cmath>
#include <cstdint>

#include "turborl/core/rng.hpp"
#include "turborl/mcts/row_ops.hpp"
#include "turborl/mcts/tree.hpp"

namespace turborl::mcts {

struct MuZeroSelection {
  float pb_c_init = 1.25f;    // c_1 in the pUCT formula (MuZero, Appendix B)
  float pb_c_base = 19652.f;  // c_2 in the pUCT formula (MuZero, Appendix B)
  QTransform qtransform{};

  // `work` holds 3 * A floats; `noise` draws the tie-break noise.
  int32_t select(const Tree& tree, int64_t b, int32_t index, CounterRng& noise, float* work) const {
    const int64_t A = tree.num_actions;
    float* scores = work + A;
    const int64_t e0 = tree.edge(b, index, 0);
    const float* probs = tree.children_prior_probs.data() + e0;
    const int32_t* visits = tree.children_visits.data() + e0;
    const float node_visit = float(tree.node_visits[tree.node(b, index)]);
    const float pb_c = pb_c_init + std::log((node_visit + pb_c_base + 1.0f) / pb_c_base);
    qtransform_node(tree, qtransform, b, index, scores, work + 2 * A);
    const float sqrt_visit = std::sqrt(node_visit);
    uint64_t bits = 0;
    for (int64_t a = 0; a < A; ++a) {
      const float policy_score = sqrt_visit * pb_c * probs[a] / (float(visits[a]) + 1.0f);
      // mctx adds uniform noise of at most 1e-7 so that exact ties are broken at random. Only
      // ties need it, so 16 random bits per action do: four actions per 64-bit draw (a Philox
      // draw per action was a third of the time of a pUCT step).
      if ((a & 3) == 0) bits = noise.next_u64();
      const float tie_noise = float(bits & 0xFFFFu) * (1.0f / 65536.0f);
      bits >>= 16;
      scores[a] = scores[a] + policy_score + 1e-7f * tie_noise;
    }
    return masked_argmax(scores, tree.invalid_actions.data() + e0, A, work);
  }
};

}  // namespace turborl::mcts
