// The best deterministic take-then-draw planner: a DP over partial assignments (theory section 12).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "unmask/common.hpp"

namespace unmask {

/// A partial assignment x_A is one integer, its *code*: digit j (weight (q+1)^(n-1-j), so
/// variable 0 is the slowest digit, as in the C order of a joint) is x_j, or q when variable j
/// is still masked. There are (q+1)^n codes. marg[code] = p(X_A = x_A), the subset marginal.
struct PlannerProblem {
  int n = 0;
  int q = 0;
  /// p(X_A = x_A) for every code.
  const double* marg = nullptr;
  /// Optional learned conditionals, n entries per code: cond[code * n + j] for j unmasked in
  /// code is q_j(x_j | the other unmasked values of code). Null: the exact conditionals of p.
  const double* cond = nullptr;
  /// Free sizes: at most `budget` steps (sizes empty). Fixed sizes: the step sizes in order.
  int budget = 0;
  std::vector<int> sizes;
  /// 0: any masked positions; W > 0: each step inside the current block [bW, (b+1)W), where b
  /// is the block of the first masked position.
  int block_width = 0;
};

/// Columns of the value and choice tables: the budget for free sizes, 1 for fixed sizes.
int planner_columns(const PlannerProblem& prob);

/// Number of codes, (q+1)^n (throws std::overflow_error above 2^40).
std::uint64_t planner_codes(int n, int q);

/// Candidate-set evaluations the DP performs without pruning (sum over states and candidate
/// sets T of q^|T|); the time estimate is proportional to it.
double planner_work(const PlannerProblem& prob);

/// Solves the DP. value[code * C + (k - 1)] (C = planner_columns) is the best expected
/// remaining cost from the state with k steps left (free sizes), or with the schedule's
/// remaining steps (fixed sizes, C = 1); choice[...] is the bitmask (bit j = variable j) of the
/// set unmasked next. States that no admissible policy reaches are left untouched; states of
/// probability 0 get value 0 and a default choice (all masked positions allowed at once for
/// free sizes, the first allowed ones for fixed sizes). Each state is solved by one thread in a
/// fixed order, so the tables do not depend on `threads`. `done` (if not null) counts solved
/// states; `stop` is polled once per state.
void planner_solve(const PlannerProblem& prob, double* value, std::uint32_t* choice, int threads,
                   Interrupt* stop = nullptr, std::atomic<std::uint64_t>* done = nullptr);

/// Exact law of the planner stored in `choice` (from planner_solve): a forward pass from the
/// all-masked state, each step drawing its set from prod_{j in T} q_j(x_j | x_A) (exact
/// conditionals of p, uniform where p(x_A) = 0, or prob.cond). out has q^n entries (C order).
void planner_law(const PlannerProblem& prob, const std::uint32_t* choice, double* out,
                 Interrupt* stop = nullptr);

}  // namespace unmask
