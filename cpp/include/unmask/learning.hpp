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

/// As learning_pair_kl, with q_j(x | x_A) proportional to m(x_A, x_j = x)^(1/T) computed in logs
/// from the learned law's marginals `m` (same layout as `p`); a context with m(x_A) = 0 gets
/// the uniform law 1/q.
void learning_pair_kl_marginals(const double* p, const double* m, double temperature,
                                std::int64_t count, std::int64_t a, std::int64_t q,
                                std::int64_t b, double* out, int threads);

}  // namespace unmask
