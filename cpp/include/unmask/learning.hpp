// Learning KL of random-order sampling: one E_p KL(p(.|X_A) || q_j(.|X_A)) per pair (A, j).
#pragma once

#include <cstdint>

namespace unmask {

/// For `count` subsets S = A + j laid out (S, x_before, x_j, x_after) with shape
/// (count, a, q, b): p(x_S) in `p`, log q_j(x_j | x_A) in `log_q`. Writes, per S,
/// sum over x_S with p(x_S) > 0 of p(x_S) [log p(x_S) - log p(x_A) - log q_j(x_j | x_A)]
/// (Neumaier-compensated, clipped at 0; +inf where log q = -inf on p's support) to `out`.
/// Sequential inside each S, so the result does not depend on `threads`.
void learning_pair_kl(const double* p, const double* log_q, std::int64_t count, std::int64_t a,
                      std::int64_t q, std::int64_t b, double* out, int threads);

/// A whole level at once: `p` and `m` hold p(x_S) and m(x_S) for the `count` subsets S of size
/// `size` (C order inside S). For every S and every t < size (j = the t-th variable of S) writes
/// the learning KL of the pair (S - j, j) to out[t * count + s], with q_j proportional to
/// m(x_A, x_j)^(1/T) (uniform where m(x_A) = 0). The logs of p and m are taken once per level
/// (2 count q^size doubles of work space).
void learning_level_kl_marginals(const double* p, const double* m, double temperature,
                                 std::int64_t count, int size, std::int64_t q, double* out,
                                 int threads);

}  // namespace unmask
