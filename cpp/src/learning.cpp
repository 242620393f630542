#include "unmask/learning.hpp"

#include <cmath>
#include <limits>
#include <vector>

#include "unmask/common.hpp"

namespace unmask {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// Below this many values a level runs on one thread (waking a team costs more).
constexpr std::int64_t kParallelMin = std::int64_t{1} << 16;

/// log q_j(x | x_A) for x = 0..q-1 from m(x_A, x) (stride b), tempered by 1/T, in logs.
void log_conditional(const double* m, std::int64_t q, std::int64_t b, double inv_t, double* lq) {
  double top = -kInf;
  for (std::int64_t x = 0; x < q; ++x) {
    const double v = m[x * b];
    lq[x] = v > 0.0 ? std::log(v) * inv_t : -kInf;
    if (lq[x] > top) top = lq[x];
  }
  if (top == -kInf) {  // a context of mass 0: the uniform law
    const double u = -std::log(static_cast<double>(q));
    for (std::int64_t x = 0; x < q; ++x) lq[x] = u;
    return;
  }
  double total = 0.0;
  for (std::int64_t x = 0; x < q; ++x)
    if (lq[x] != -kInf) total += std::exp(lq[x] - top);
  const double shift = top + std::log(total);
  for (std::int64_t x = 0; x < q; ++x)
    if (lq[x] != -kInf) lq[x] -= shift;
}

/// The shared loop; `m == nullptr` reads log q from `log_q`, else computes it from `m`.
void pair_kl(const double* p, const double* log_q, const double* m, double temperature,
             std::int64_t count, std::int64_t a, std::int64_t q, std::int64_t b, double* out,
             int threads) {
  const std::int64_t per_subset = a * q * b;
  const double inv_t = 1.0 / temperature;
  (void)threads;
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel num_threads(resolve_threads(threads)) if (count * per_subset >= kParallelMin)
#endif
  {
    std::vector<double> lq(static_cast<std::size_t>(q));
#ifdef UNMASK_HAVE_OPENMP
#pragma omp for schedule(dynamic, 16)
#endif
    for (std::int64_t s = 0; s < count; ++s) {
      CompensatedSum acc;
      bool infinite = false;
      for (std::int64_t u = 0; u < a && !infinite; ++u) {
        for (std::int64_t w = 0; w < b && !infinite; ++w) {
          const std::int64_t base = s * per_subset + u * q * b + w;
          double pa = 0.0;
          for (std::int64_t x = 0; x < q; ++x) pa += p[base + x * b];
          if (!(pa > 0.0)) continue;
          if (m != nullptr) {
            log_conditional(m + base, q, b, inv_t, lq.data());
          } else {
            for (std::int64_t x = 0; x < q; ++x) lq[x] = log_q[base + x * b];
          }
          const double log_pa = std::log(pa);
          for (std::int64_t x = 0; x < q; ++x) {
            const double v = p[base + x * b];
            if (!(v > 0.0)) continue;
            if (lq[x] == -kInf) {
              infinite = true;
              break;
            }
            acc.add(v * (std::log(v) - log_pa - lq[x]));
          }
        }
      }
      if (infinite) {
        out[s] = kInf;
      } else {
        const double kl = acc.value();
        out[s] = kl > 0.0 ? kl : 0.0;  // a KL is >= 0 (Gibbs): what falls below is rounding
      }
    }
  }
}

}  // namespace

void learning_pair_kl(const double* p, const double* log_q, std::int64_t count, std::int64_t a,
                      std::int64_t q, std::int64_t b, double* out, int threads) {
  pair_kl(p, log_q, nullptr, 1.0, count, a, q, b, out, threads);
}

void learning_pair_kl_marginals(const double* p, const double* m, double temperature,
                                std::int64_t count, std::int64_t a, std::int64_t q,
                                std::int64_t b, double* out, int threads) {
  pair_kl(p, nullptr, m, temperature, count, a, q, b, out, threads);
}

}  // namespace unmask
