// Shared helpers for the unmask core: plain C++17, no Python.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

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

/// Thrown by a long computation that was cancelled through an Interrupt.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("computation interrupted") {}
};

/// Cooperative cancellation for long loops. `poll` (e.g. "did the user press Ctrl-C?") is
/// called only from the thread that created the Interrupt, the caller's thread, which alone
/// may run Python's signal handlers, and at most every 50 ms; other threads only read the flag.
class Interrupt {
 public:
  explicit Interrupt(std::function<bool()> poll)
      : poll_(std::move(poll)), owner_(std::this_thread::get_id()),
        last_(std::chrono::steady_clock::now()) {}

  /// True once cancelled. Cheap: call it in every outer iteration of a long loop.
  bool check() {
    if (cancelled_.load(std::memory_order_relaxed)) return true;
    if (!poll_ || std::this_thread::get_id() != owner_) return false;
    if (++calls_ % 64 != 0) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(50)) return false;
    last_ = now;
    if (poll_()) cancelled_.store(true);
    return cancelled_.load();
  }

  bool cancelled() const { return cancelled_.load(); }

 private:
  std::function<bool()> poll_;
  std::thread::id owner_;
  std::chrono::steady_clock::time_point last_;
  unsigned calls_ = 0;
  std::atomic<bool> cancelled_{false};
};

}  // namespace unmask
