// Optimal unmasking schedules (theory sections 5 and 7): K-link shortest paths on 0..n.
//
// The cost of a block is g(a, b) = sum_{l=a}^{b-1} (h(a) - h(l)) = (b-a) h(a) - (C[b] - C[a]),
// evaluated in O(1) from Neumaier-compensated prefix sums of h. For non-increasing h, g satisfies
// the quadrangle inequality, so argmins are monotone: per-layer divide and conquer gives the whole
// frontier, and the Lagrangian ("Aliens") relaxation gives a single K in O(n log n) per penalty.
// Long loops poll an optional Interrupt and throw Interrupted when cancelled.
// Plain C++17 (+ OpenMP); no Python here.
#pragma once

#include <cstdint>
#include <vector>

#include "unmask/common.hpp"

namespace unmask {

/// O(1) block cost g(a, b) from a profile h (length n).
class BlockCost {
 public:
  BlockCost(const double* h, int n);
  int n() const { return n_; }
  double operator()(int a, int b) const;

 private:
  int n_;
  std::vector<double> h_;        // h(0..n-1), then 0
  std::vector<double> sum_hi_;   // C[i] = sum_{l<i} h(l) = sum_hi_[i] + sum_lo_[i]
  std::vector<double> sum_lo_;
};

/// What the Lagrangian solver did (for the Python info object and tests).
struct LagrangianReport {
  double cost = 0.0;       // compensated sum of g over the returned blocks
  int iterations = 0;      // penalised DPs run
  bool spliced = false;    // the K-step path was spliced from two penalised optima
  double penalty = 0.0;    // last penalty lambda used
  bool converged = true;   // false when max_iterations ran out before the bracket closed: the
                           // spliced path is then valid but not guaranteed optimal
};

/// Sum of g over consecutive boundaries bounds[0..steps] (compensated).
double path_cost(const BlockCost& g, const std::int64_t* bounds, int steps);

/// Exactly `steps`-step optimum by the Lagrangian relaxation with exact recovery.
/// Writes steps+1 boundaries (0, ..., n) to `bounds`. Requires 1 <= steps <= n and h
/// non-increasing (otherwise the result is a valid schedule but not necessarily optimal).
LagrangianReport lagrangian_schedule(const BlockCost& g, int steps, std::int64_t* bounds,
                                     Interrupt* stop = nullptr, int max_iterations = 200);

/// Penalised unconstrained optimum min over paths of sum (g + penalty); O(n log n).
/// `prefer_more` breaks exact ties towards more steps. Returns the number of steps and fills
/// `bounds` (resized) with the boundaries.
int penalised_path(const BlockCost& g, double penalty, bool prefer_more,
                   std::vector<std::int64_t>& bounds, Interrupt* stop = nullptr);

/// Frontier by per-layer divide and conquer (monotone argmins): costs[k-1] = optimum with k
/// steps, k = 1..max_steps. When `argmins` is non-null it receives max_steps x (n+1) int32
/// parents (row k-1 = layer k) for reconstruction.
void layer_frontier(const BlockCost& g, int max_steps, double* costs, std::int32_t* argmins,
                    int threads, Interrupt* stop = nullptr);

/// Plain O(K n^2) DP for any cost: either a dense (n+1)x(n+1) row-major matrix (`matrix`
/// non-null, entry [a*(n+1)+b] = cost of block a..b-1) or the profile cost `g`.
void plain_frontier(const BlockCost* g, const double* matrix, int n, int max_steps,
                    double* costs, std::int32_t* argmins, int threads,
                    Interrupt* stop = nullptr);

/// Boundaries of the k-step optimum from a parent table written by layer/plain frontier.
void reconstruct(const std::int32_t* argmins, int n, int k, std::int64_t* bounds);

}  // namespace unmask
