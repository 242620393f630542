// Exact law of the random-order factorized sampler: level DP of theory section 8.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "unmask/common.hpp"

namespace unmask {

/// rank[A] = position of bitmask A among the subsets of its size, in increasing mask order.
/// Every table of the sampler stores level l as C(n, l) blocks of q^l values in that order;
/// inside a block, the values x_A are in C order over A's variables (smallest index slowest).
std::vector<std::uint32_t> subset_ranks(int n);

/// Number of subsets of size l (C(n, l)) as a 64-bit integer.
std::uint64_t binomial(int n, int l);

/// Subset marginals of a dense joint, level by level (top-down, each subset from its parent
/// with one axis summed out). out[l] is filled for every l with wanted[l] true (it must hold
/// C(n, l) q^l values); other levels are only kept while needed to compute lower ones.
void level_marginals(const double* joint, int n, int q, const std::vector<bool>& wanted,
                     const std::vector<double*>& out, int threads);

/// Conditionals of level i from the level-(i+1) marginals, laid out as law_step's table:
/// c_j(x | x_A) proportional to m(x_A, x_j = x)^(1/temperature), normalised over x, uniform where
/// the total is 0 (a context of probability 0).
void conditional_table(const double* marg_next, int n, int q, int i, double temperature,
                       double* table, int threads);

/// One step of the level DP, accumulated into dst:
///   dst(B, x_B) += weight * sum_{A subset B, |B \ A| = s} src(A, x_A) prod_{j in B\A} c_j(x_j | x_A)
/// for |A| = i, |B| = i + s. The conditionals come either from the level-(i+1) marginals
/// the marginals of levels i (`marg_cur`) and i+1 (`marg_next`) directly when temperature is 1
/// (c_j(x | x_A) = m(x_A, x_j = x) / p(x_A), no table), or from
/// `marg_next` through conditional_table (built for the step; C(n,i) q^i (n-i) q doubles) when
/// `table` is null, or from `table`, laid out as
/// [rank(A)][x_A][position of j among the variables outside A][x].
/// Each dst entry is written by one thread in a fixed order, so results do not depend on threads.
/// A non-null `stop` is polled once per subset B; when cancelled, Interrupted is thrown (dst is
/// then incomplete).
void law_step(const double* src, double* dst, int n, int q, int i, int s, double weight,
              const double* marg_cur, const double* marg_next, double temperature,
              const double* table, int threads, Interrupt* stop = nullptr);

}  // namespace unmask
