// Exact laws of adaptive (value-dependent) unmasking rules: forward pass over partial
// assignments (A, x_A), theory section 11.
#pragma once

#include <cstdint>
#include <vector>

#include "unmask/common.hpp"

namespace unmask {

/// Rules of adaptive_step. Take-then-draw rules rank the candidates by a score of their
/// conditional, take the s best (ties uniformly at random) and then draw them; kSampledProb
/// draws every candidate and keeps the s draws of highest probability.
enum AdaptiveRule : int {
  kRandom = 0,       // every candidate scores the same: a uniform s-subset
  kMaxProb = 1,      // max_x c_j(x)
  kMargin = 2,       // top-1 minus top-2 probability
  kEntropy = 3,      // minus the entropy of c_j (nats)
  kScored = 4,       // scores given by the caller (`scores` table)
  kSampledProb = 5,  // draw all candidates, keep the s most probable draws
};

/// Relative tolerance under which two scores are the same score (a tie). Scores are sorted and
/// split into chains of neighbours closer than kTieTolerance * max(1, |score|); every score of a
/// chain is replaced by the chain's smallest, so ties form an equivalence relation.
constexpr double kTieTolerance = 1e-12;

/// Where a step reads the conditionals c_j(. | x_A) of the states of level i:
/// `marg_next` (level-(i+1) subset marginals, normalised per context, tempered by 1/temperature,
/// uniform on contexts of mass 0) or `table` laid out [rank(A)][x_A][position of j among the
/// variables outside A][x] (as conditional_table).
struct ConditionalSource {
  const double* marg_next = nullptr;
  double temperature = 1.0;
  const double* table = nullptr;
};

/// One fixed-size step of an adaptive rule from level i to level i + s, accumulated into dst:
/// dst(B, x_B) += sum over states (A, x_A) of src(A, x_A) P(the rule reveals B \ A with values
/// x_{B \ A} | A, x_A). Candidates are the masked variables of the current block (the block of
/// the lowest masked variable, `block_of[v]` giving each variable's block). `scores` (rule
/// kScored) is laid out [rank(A)][x_A][position of j among the variables outside A].
/// Layout of src/dst as law_step. Adds are atomic when several threads run, so results may
/// differ between runs in the last few ulps. `stop` is polled once per subset A.
void adaptive_step(int rule, const double* src, double* dst, int n, int q, int i, int s,
                   const std::vector<int>& block_of, const ConditionalSource& cond,
                   const double* scores, int threads, Interrupt* stop = nullptr);

/// Offsets of the levels of the threshold buffer: level l holds C(n, l) q^l states, each with
/// l + 1 slots (the number k of steps taken so far, 0..l). offsets has n + 2 entries.
std::vector<std::uint64_t> threshold_offsets(int n, int q);

/// Pushes the mass of every state of level i of `levels` (layout of threshold_offsets) one
/// threshold step forward: every candidate draws y_j ~ c_j; the draws with c_j(y_j) > tau are
/// kept, and the most probable draw (ties uniformly at random) when none is. Mass with k steps
/// lands at k + 1 in the higher levels.
void adaptive_threshold_level(double* levels, int n, int q, int i, double tau,
                              const std::vector<int>& block_of, const ConditionalSource& cond,
                              int threads, Interrupt* stop = nullptr);

}  // namespace unmask
