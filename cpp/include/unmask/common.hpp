// Shared helpers for the unmask core: plain C++17, no Python.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#ifdef UNMASK_HAVE_OPENMP
#include <omp.h>
#endif

namespace unmask {

/// Number of threads the core will use when asked for `requested` (<= 0 means all).
inline int resolve_threads(int requested) {
#ifdef UNMASK_HAVE_OPENMP
  if (requested <= 0) return omp_get_max_threads();
  return requested;
#else
  (void)requested;
  return 1;
#endif
}

/// Whether the core was built with OpenMP.
inline bool have_openmp() {
#ifdef UNMASK_HAVE_OPENMP
  return true;
#else
  return false;
#endif
}

/// q**k as a 64-bit integer, throwing std::overflow_error rather than wrapping.
inline std::uint64_t checked_pow(std::uint64_t q, int k) {
  std::uint64_t r = 1;
  for (int i = 0; i < k; ++i) {
    if (r > UINT64_MAX / q) throw std::overflow_error("q**n overflows 64 bits");
    r *= q;
  }
  return r;
}

/// Neumaier-compensated accumulator: exact enough to sum 2^24 terms to a few ulps.
struct CompensatedSum {
  double sum = 0.0;
  double comp = 0.0;
  void add(double x) {
    const double t = sum + x;
    if ((sum >= 0 ? sum : -sum) >= (x >= 0 ? x : -x))
      comp += (sum - t) + x;
    else
      comp += (x - t) + sum;
    sum = t;
  }
  double value() const { return sum + comp; }
};

}  // namespace unmask
