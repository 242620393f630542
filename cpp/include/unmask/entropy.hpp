// Exact subset entropies of a dense joint law (theory section 8).
#pragma once

#include <cstddef>
#include <cstdint>

#include "unmask/common.hpp"

namespace unmask {

/// Bytes of working memory subset_entropies needs beyond the joint and the output.
std::size_t subset_entropies_workspace_bytes(int n, int q, int threads);

/// Fill out[A] = H(X_A) in nats for every bitmask A in [0, 2^n), out[0] = 0.
///
/// joint: C-order array of q^n probabilities (variable 0 slowest). Walks the subset lattice
/// depth-first, each marginal from its parent with one axis summed out, so the memory is the
/// tables along the current paths (about q/(q-1) q^(n-1) per thread), never (q+1)^n.
/// Results do not depend on the thread count (each entropy is computed the same way).
/// Throws Interrupted when `interrupt` (optional) reports a cancellation. Tables of at least
/// `big_table` entries are computed by all threads together, on one chain of scratch tables;
/// smaller subtrees run as tasks with their own buffers (the cut trades memory for balance).
constexpr std::size_t kDefaultBigTable = std::size_t(1) << 20;
void subset_entropies(const double* joint, int n, int q, double* out, int threads,
                      Interrupt* interrupt = nullptr, std::size_t big_table = kDefaultBigTable);

/// One sub-lattice of subset_entropies: the subsets whose intersection with the k highest
/// variables n-k..n-1 is fixed (bit t of `keep` set = variable n-k+t kept). Fills
/// out[L] (2^(n-k) entries) with H(X_{L u K}) for every bitmask L of the variables 0..n-k-1,
/// bit for bit the value subset_entropies writes at index L | (keep << (n-k)).
/// Needs 1 <= k < n. The 2^k sub-lattices are independent (tasks for a cluster).
void subset_entropies_subtree(const double* joint, int n, int q, int k, std::uint64_t keep,
                              double* out, int threads, Interrupt* interrupt = nullptr,
                              std::size_t big_table = kDefaultBigTable);

/// sums[k] = sum of values[A] over |A| = k (compensated), k = 0..n; values has 2^n entries.
void level_sums(const double* values, int n, double* sums);

}  // namespace unmask
