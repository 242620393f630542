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

/// One pair per subset, log q_j read from `log_q` (same layout as `p`).
void pair_kl(const double* p, const double* log_q, std::int64_t count, std::int64_t a,
             std::int64_t q, std::int64_t b, double* out, int threads) {
  const std::int64_t per_subset = a * q * b;
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
          for (std::int64_t x = 0; x < q; ++x) lq[x] = log_q[base + x * b];
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
  pair_kl(p, log_q, count, a, q, b, out, threads);
}

void learning_level_kl_marginals(const double* p, const double* m, double temperature,
                                 std::int64_t count, int size, std::int64_t q, double* out,
                                 int threads) {
  const std::int64_t per_subset = static_cast<std::int64_t>(checked_pow(q, size));
  const std::int64_t total = count * per_subset;
  const double inv_t = 1.0 / temperature;
  const bool parallel = total >= kParallelMin;
  (void)threads;
  (void)parallel;
  std::vector<double> log_p(static_cast<std::size_t>(total));
  std::vector<double> log_m(static_cast<std::size_t>(total));
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(resolve_threads(threads)) if (parallel)
#endif
  for (std::int64_t k = 0; k < total; ++k) {
    log_p[k] = p[k] > 0.0 ? std::log(p[k]) : 0.0;
    log_m[k] = m[k] > 0.0 ? std::log(m[k]) * inv_t : -kInf;
  }
  const double uniform = -std::log(static_cast<double>(q));
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 16) num_threads(resolve_threads(threads)) if (parallel)
#endif
  for (std::int64_t s = 0; s < count; ++s) {
    std::int64_t a = 1;
    for (int t = 0; t < size; ++t, a *= q) {
      const std::int64_t b = per_subset / (a * q);
      CompensatedSum acc;
      bool infinite = false;
      for (std::int64_t u = 0; u < a && !infinite; ++u) {
        for (std::int64_t w = 0; w < b && !infinite; ++w) {
          const std::int64_t base = s * per_subset + u * q * b + w;
          double pa = 0.0;
          double top = -kInf;
          for (std::int64_t x = 0; x < q; ++x) {
            pa += p[base + x * b];
            if (log_m[base + x * b] > top) top = log_m[base + x * b];
          }
          if (!(pa > 0.0)) continue;
          double shift = 0.0;  // log q_j(x) = log_m - shift, or the uniform law
          if (top != -kInf) {
            double z = 0.0;
            for (std::int64_t x = 0; x < q; ++x) z += std::exp(log_m[base + x * b] - top);
            shift = top + std::log(z);
          }
          const double log_pa = std::log(pa);
          for (std::int64_t x = 0; x < q; ++x) {
            const std::int64_t k = base + x * b;
            if (!(p[k] > 0.0)) continue;
            const double lq = top == -kInf ? uniform : log_m[k] - shift;
            if (lq == -kInf) {
              infinite = true;
              break;
            }
            acc.add(p[k] * (log_p[k] - log_pa - lq));
          }
        }
      }
      const double kl = acc.value();
      out[t * count + s] = infinite ? kInf : (kl > 0.0 ? kl : 0.0);
    }
  }
}

}  // namespace unmask
