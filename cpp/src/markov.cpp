// Exact entropy profile of a first-order Markov chain (see markov.hpp for the method).
#include "unmask/markov.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "unmask/common.hpp"
#include "unmask/plogp.hpp"

namespace unmask {

namespace {

// Weights below this contribute less than 1e-280 nats (the sums they multiply are below
// n^2 log q); stopping there also keeps the loops out of subnormal arithmetic.
constexpr double kNegligibleWeight = 1e-300;

// Below this length the work is a few milliseconds at most: threads only add start-up cost
// (and much more than that on a busy machine, where a descheduled thread stalls the team).
constexpr std::int64_t kParallelMinN = 2048;

double entropy_of(const double* p, int q) { return -plogp_sum(p, static_cast<std::size_t>(q)); }

double dot(const double* a, const double* b, int q) {
  double s = 0.0;
  for (int k = 0; k < q; ++k) s += a[k] * b[k];
  return s;
}

}  // namespace

std::size_t markov_profile_workspace_bytes(std::int64_t n, int q) {
  const double nn = static_cast<double>(n), qq = static_cast<double>(q);
  // e, E, m, Pre: 4 n q doubles; S2, one-sided sums, H(m_t): 3 n; two q*q power buffers.
  const double bytes = 8.0 * (4.0 * (nn + 1.0) * qq + 3.0 * nn + 2.0 * qq * qq);
  if (bytes > static_cast<double>(std::numeric_limits<std::size_t>::max()))
    throw std::overflow_error("markov_profile workspace overflows size_t");
  return static_cast<std::size_t>(bytes);
}

void markov_profile(const double* P, const double* initial, int q, std::int64_t n,
                    bool stationary, double* h, int threads, Interrupt* interrupt) {
  if (q < 2) throw std::invalid_argument("q must be >= 2");
  if (n < 1) throw std::invalid_argument("n must be >= 1");
  const int nthreads = resolve_threads(threads);
  (void)nthreads;
  const std::size_t N = static_cast<std::size_t>(n), Q = static_cast<std::size_t>(q);
  // Polled by the calling thread only; the others see the flag. OpenMP loops cannot break, so
  // cancelled iterations are skipped and the call throws after the loop.
  auto stopped = [interrupt]() { return interrupt != nullptr && interrupt->check(); };
  auto throw_if_cancelled = [interrupt]() {
    if (interrupt != nullptr && interrupt->cancelled()) throw Interrupted();
  };

  // e[d] = row entropies of P^d (e[0] = 0); m[t] = law of X_t.
  std::vector<double> e(N * Q, 0.0), m(N * Q, 0.0);
  std::vector<double> Hm(N, 0.0);
  {
    std::vector<double> pd(Q * Q, 0.0), next(Q * Q, 0.0);
    for (std::size_t a = 0; a < Q; ++a) pd[a * Q + a] = 1.0;
    for (std::size_t d = 1; d < N; ++d) {
      if (stopped()) throw Interrupted();
#pragma omp parallel for num_threads(nthreads) schedule(static) if (Q >= 64)
      for (std::int64_t a = 0; a < q; ++a) {
        double* out = &next[static_cast<std::size_t>(a) * Q];
        std::fill(out, out + Q, 0.0);
        for (std::size_t k = 0; k < Q; ++k) {
          const double w = pd[static_cast<std::size_t>(a) * Q + k];
          if (w == 0.0) continue;
          const double* row = P + k * Q;
          for (std::size_t b = 0; b < Q; ++b) out[b] += w * row[b];
        }
      }
      // Once P^d == P^(d-1) bit for bit, every later power is computed from the same input by
      // the same arithmetic, so it is that matrix again: copy its row entropies instead of
      // recomputing them. The result is bit-identical. Small aperiodic chains often reach such a
      // fixed point after tens to thousands of steps (q = 64, n = 3000: 5x faster); larger ones
      // may keep flickering in the last bit and then pay the full O(n q^3).
      if (d > 1 && next == pd) {
        for (std::size_t later = d; later < N; ++later)
          std::copy(&e[(d - 1) * Q], &e[(d - 1) * Q] + Q, &e[later * Q]);
        break;
      }
      pd.swap(next);
      for (std::size_t a = 0; a < Q; ++a) e[d * Q + a] = entropy_of(&pd[a * Q], q);
    }
    std::copy(initial, initial + Q, m.begin());
    for (std::size_t t = 1; t < N; ++t) {
      double* out = &m[t * Q];
      if (stationary) {
        std::copy(initial, initial + Q, out);
        continue;
      }
      const double* prev = &m[(t - 1) * Q];
      for (std::size_t k = 0; k < Q; ++k) {
        if (prev[k] == 0.0) continue;
        for (std::size_t b = 0; b < Q; ++b) out[b] += prev[k] * P[k * Q + b];
      }
    }
    for (std::size_t t = 0; t < N; ++t) Hm[t] = entropy_of(&m[t * Q], q);
  }

  // E[k] = sum_{d=1..k} e[d]; Pre[t] = sum_{l<t} m[l] (vectors of length q).
  std::vector<double> E(N * Q, 0.0), Pre((N + 1) * Q, 0.0);
  for (std::size_t k = 1; k < N; ++k)
    for (std::size_t a = 0; a < Q; ++a) E[k * Q + a] = E[(k - 1) * Q + a] + e[k * Q + a];
  for (std::size_t t = 1; t <= N; ++t)
    for (std::size_t a = 0; a < Q; ++a) Pre[t * Q + a] = Pre[(t - 1) * Q + a] + m[(t - 1) * Q + a];

  // Two-sided windows: S2[L] = sum over l (r = l + L) and l < j < r of H(X_j | X_l, X_r), where
  // H(X_j | X_l, X_r) = H(X_j | X_l) + H(X_r | X_j) - H(X_r | X_l) (Markov property).
  std::vector<double> S2(N, 0.0);
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 16) if (n >= kParallelMinN)
  for (std::int64_t L = 2; L < n; ++L) {
    if (stopped()) continue;
    const std::size_t UL = static_cast<std::size_t>(L);
    const double* left_mass = &Pre[(N - UL) * Q];  // sum of m_l over windows l = 0..n-1-L
    CompensatedSum acc;
    acc.add(dot(left_mass, &E[(UL - 1) * Q], q));                     // H(X_j | X_l)
    acc.add(-static_cast<double>(L - 1) * dot(left_mass, &e[UL * Q], q));  // H(X_r | X_l)
    if (stationary) {
      acc.add(dot(left_mass, &E[(UL - 1) * Q], q));  // H(X_r | X_j): same sum by symmetry
    } else {
      for (std::size_t d = 1; d < UL; ++d) {  // d = r - j; X_j at positions L-d .. n-1-d
        const double* hi = &Pre[(N - d) * Q];
        const double* lo = &Pre[(UL - d) * Q];
        double s = 0.0;
        for (std::size_t a = 0; a < Q; ++a) s += e[d * Q + a] * (hi[a] - lo[a]);
        acc.add(s);
      }
    }
    S2[UL] = acc.value();
  }
  throw_if_cancelled();

  // One-sided: only a right neighbour r (X_0..X_{r-1} masked) and only a left neighbour
  // l = n-1-k (X_{l+1}..X_{n-1} masked) have the same weight C(n-1-k, i-1) / C(n, i).
  std::vector<double> One(N, 0.0);
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 16) if (n >= kParallelMinN)
  for (std::int64_t k = 0; k < n; ++k) {
    if (stopped()) continue;
    const std::size_t r = static_cast<std::size_t>(k), l = N - 1 - r;
    CompensatedSum acc;
    acc.add(dot(&m[l * Q], &E[(N - 1 - l) * Q], q));  // sum_{j>l} H(X_j | X_l)
    if (stationary) {
      acc.add(dot(&m[r * Q], &E[r * Q], q));  // H(X_j | X_r) = pi . e_{r-j}
    } else {
      // H(X_j | X_r) = H(X_j) + H(X_r | X_j) - H(X_r)
      for (std::size_t j = 0; j < r; ++j) {
        acc.add(Hm[j] - Hm[r]);
        acc.add(dot(&m[j * Q], &e[(r - j) * Q], q));
      }
    }
    One[r] = acc.value();
  }
  throw_if_cancelled();

  {
    CompensatedSum acc;
    for (std::size_t t = 0; t < N; ++t) acc.add(Hm[t]);
    h[0] = acc.value() / static_cast<double>(n);
  }
  const double nd = static_cast<double>(n);
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 8) if (n >= kParallelMinN)
  for (std::int64_t i = 1; i < n; ++i) {
    if (stopped()) continue;
    const double id = static_cast<double>(i);
    CompensatedSum acc;
    double w = id / nd;  // C(n-1-k, i-1) / C(n, i) at k = 0
    for (std::int64_t k = 0; k < n && w > kNegligibleWeight; ++k) {
      acc.add(w * One[static_cast<std::size_t>(k)]);
      if (k + 1 < n) w *= static_cast<double>(n - k - i) / static_cast<double>(n - 1 - k);
    }
    if (i >= 2 && n >= 3) {
      // C(n-L-1, i-2) / C(n, i) at L = 2
      double v = id * (id - 1.0) * (nd - id) / (nd * (nd - 1.0) * (nd - 2.0));
      for (std::int64_t L = 2; L < n && v > kNegligibleWeight; ++L) {
        acc.add(v * S2[static_cast<std::size_t>(L)]);
        if (L + 1 < n) v *= static_cast<double>(n - L - i + 1) / static_cast<double>(n - L - 1);
      }
    }
    h[i] = acc.value() / static_cast<double>(n - i);
  }
  throw_if_cancelled();
}

}  // namespace unmask
