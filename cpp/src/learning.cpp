#include "unmask/learning.hpp"

#include <cmath>
#include <limits>

#include "unmask/common.hpp"

namespace unmask {

void learning_pair_kl(const double* p, const double* log_q, std::int64_t count, std::int64_t a,
                      std::int64_t q, std::int64_t b, double* out, int threads) {
  const std::int64_t per_subset = a * q * b;
  const double inf = std::numeric_limits<double>::infinity();
  (void)threads;
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 16) num_threads(resolve_threads(threads))
#endif
  for (std::int64_t s = 0; s < count; ++s) {
    const double* ps = p + s * per_subset;
    const double* ls = log_q + s * per_subset;
    CompensatedSum acc;
    bool infinite = false;
    for (std::int64_t u = 0; u < a && !infinite; ++u) {
      for (std::int64_t w = 0; w < b && !infinite; ++w) {
        const std::int64_t base = u * q * b + w;
        double pa = 0.0;
        for (std::int64_t x = 0; x < q; ++x) pa += ps[base + x * b];
        if (!(pa > 0.0)) continue;
        const double log_pa = std::log(pa);
        for (std::int64_t x = 0; x < q; ++x) {
          const double v = ps[base + x * b];
          if (!(v > 0.0)) continue;
          const double lq = ls[base + x * b];
          if (lq == -inf) {
            infinite = true;
            break;
          }
          acc.add(v * (std::log(v) - log_pa - lq));
        }
      }
    }
    if (infinite) {
      out[s] = inf;
    } else {
      const double kl = acc.value();
      out[s] = kl > 0.0 ? kl : 0.0;  // a KL is >= 0 (Gibbs): what falls below is rounding
    }
  }
}

}  // namespace unmask
