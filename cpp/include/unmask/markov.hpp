// Exact entropy profile of a first-order Markov chain at any length (theory section 4).
#pragma once

#include <cstddef>
#include <cstdint>

#include "unmask/common.hpp"

namespace unmask {

/// Bytes of workspace markov_profile allocates for a chain of length n on q symbols.
std::size_t markov_profile_workspace_bytes(std::int64_t n, int q);

/// Fill h[0..n) with the entropy profile h(i) (nats) of the chain X_0 -> ... -> X_{n-1} with
/// row-stochastic transition P (q*q, row-major, P[a*q+b] = P(X_{t+1}=b | X_t=a)) and law `initial`
/// of X_0. When `stationary` is true, `initial` must be a stationary law of P and every X_t is
/// taken to have it exactly (a faster O(n q^3 + n^2) path); otherwise the marginals are
/// propagated and the cost is O(n q^3 + n^2 q).
///
/// Uses H(X_j | X_A) = H(X_j | X_l, X_r) with l < j < r the nearest members of A around j and the
/// law of the nearest-neighbour gaps of a uniform i-subset (ratios of binomials, built by stable
/// products so that nothing overflows). Results do not depend on `threads`. A non-null
/// `interrupt` is polled in every outer loop; once cancelled, the call throws Interrupted.
void markov_profile(const double* P, const double* initial, int q, std::int64_t n,
                    bool stationary, double* h, int threads, Interrupt* interrupt = nullptr);

}  // namespace unmask
