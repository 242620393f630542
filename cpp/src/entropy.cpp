#include "unmask/entropy.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <memory>
#include <new>
#include <stdexcept>
#include <vector>

#include "unmask/common.hpp"
#include "unmask/plogp.hpp"

namespace unmask {
namespace {

constexpr std::size_t kChunk = 512;
// Tables of at least this many entries are computed by all threads together (see visit).
constexpr std::size_t kBigTable = kDefaultBigTable;

// Entries [begin, end) (flat, C order) of the table obtained by summing out the middle axis of
// a table of shape (outer, q, inner); written to `out` (indexed like the full result) unless
// it is null. Returns sum out*log(out) over those entries, chunk by chunk so that the
// logarithms run on data in L1 and the chunk sums give a blocked (accurate) total.
double sum_axis_plogp_range(const double* in, int q, std::size_t inner, double* out,
                            std::size_t begin, std::size_t end) {
  double local[kChunk];
  CompensatedSum total;
  if (inner >= 64) {
    std::size_t t = begin;
    while (t < end) {
      const std::size_t o = t / inner;
      const std::size_t i = t - o * inner;
      const std::size_t len = std::min({kChunk, inner - i, end - t});
      const double* src = in + o * q * inner + i;
      if (q == 2) {
        total.add(sum2_plogp(src, src + inner, out ? out + t : nullptr, len));
      } else {
        double* dst = out ? out + t : local;
        for (std::size_t k = 0; k < len; ++k) dst[k] = src[k];
        for (int x = 1; x < q; ++x) {
          const double* sx = src + x * inner;
          for (std::size_t k = 0; k < len; ++k) dst[k] += sx[k];
        }
        total.add(plogp_sum(dst, len));
      }
      t += len;
    }
  } else {
    // Short inner rows: walk (o, i) incrementally (no division per entry).
    std::size_t o = begin / inner;
    std::size_t i = begin - o * inner;
    const std::size_t row = static_cast<std::size_t>(q) * inner;
    const double* base = in + o * row;
    for (std::size_t t0 = begin; t0 < end; t0 += kChunk) {
      const std::size_t len = std::min(kChunk, end - t0);
      double* dst = out ? out + t0 : local;
      for (std::size_t t = 0; t < len; ++t) {
        const double* src = base + i;
        double s = src[0];
        for (int x = 1; x < q; ++x) s += src[x * inner];
        dst[t] = s;
        if (++i == inner) {
          i = 0;
          base += row;
        }
      }
      total.add(plogp_sum(dst, len));
    }
  }
  return total.value();
}

// A table is summed in fixed pieces of kPiece entries whose partial sums are combined in order,
// so the result is bitwise the same whether the pieces run serially or as parallel tasks.
constexpr std::size_t kPiece = std::size_t(1) << 15;

double sum_axis_plogp(const double* in, std::size_t outer, int q, std::size_t inner, double* out,
                      bool parallel = false) {
  const std::size_t count = outer * inner;
  const std::size_t pieces = (count + kPiece - 1) / kPiece;
  if (pieces <= 1) return sum_axis_plogp_range(in, q, inner, out, 0, count);
  std::vector<double> partial(pieces);
  for (std::size_t p = 0; p < pieces; ++p) {
#ifdef UNMASK_HAVE_OPENMP
#pragma omp task if (parallel) firstprivate(p) shared(partial)
#endif
    partial[p] = sum_axis_plogp_range(in, q, inner, out, p * kPiece,
                                      std::min(count, (p + 1) * kPiece));
  }
  if (parallel) {
#ifdef UNMASK_HAVE_OPENMP
#pragma omp taskwait
#endif
  }
  CompensatedSum total;
  for (double v : partial) total.add(v);
  return total.value();
}

double table_plogp(const double* table, std::size_t len) {
  CompensatedSum total;
  for (std::size_t p = 0; p < len; p += kPiece) {
    CompensatedSum piece;
    const std::size_t end = std::min(len, p + kPiece);
    for (std::size_t c = p; c < end; c += kChunk)
      piece.add(plogp_sum(table + c, std::min(kChunk, end - c)));
    total.add(piece.value());
  }
  return total.value();
}

struct Walker {
  int n;
  int q;
  std::vector<std::uint64_t> qpow;    // q^k, k = 0..n
  double* out;
  std::uint64_t out_mask = ~std::uint64_t(0);  // a sub-lattice writes out[A & out_mask]
  double task_work;                   // subtrees at least this costly become tasks
  bool parallel;
  std::size_t big_table = kBigTable;
  Interrupt* interrupt = nullptr;
  std::atomic<bool> failed{false};
  std::exception_ptr error;

  // Scratch needed to walk, serially, below a table of q^size entries.
  std::size_t scratch_len(int size) const {
    std::size_t s = 0;
    for (int k = size - 1; k >= 1; --k) s += qpow[k];
    return s;
  }

  double subtree_work(int size, int m) const {
    return std::pow(double(q), size - m) * std::pow(double(q + 1), m);
  }

  void record(std::exception_ptr e) {
    bool expected = false;
    if (failed.compare_exchange_strong(expected, true)) error = e;
  }

  // `table` is the marginal of S (|S| = size, variables ascending, C order). Every variable
  // below m is in S; the children of S in the walk are S \ {j} for j < m, and the child j
  // keeps j as its own bound, so each subset is reached exactly once.
  void visit(const double* table, std::uint64_t S, int size, int m, double* scratch) {
    const std::size_t child_len = qpow[size - 1];
    bool spawned = false;
    for (int j = m - 1; j >= 0; --j) {
      if (failed.load(std::memory_order_relaxed)) break;
      if (interrupt && interrupt->check()) {
        record(std::make_exception_ptr(Interrupted()));
        break;
      }
      const std::uint64_t child = S & ~(std::uint64_t(1) << j);
      const std::size_t outer = qpow[j];
      const std::size_t inner = qpow[size - 1 - j];
      // Large tables are split into pieces that all threads share (tasks), on one chain of
      // tables in `scratch`: memory stays that of a serial walk, not one big table per thread.
      const bool big = parallel && child_len >= big_table;
      if (j == 0) {  // a leaf: its table is never needed, only its entropy
        out[child & out_mask] = -sum_axis_plogp(table, outer, q, inner, nullptr, big);
        continue;
      }
      if (big) {
        out[child & out_mask] = -sum_axis_plogp(table, outer, q, inner, scratch, true);
        visit(scratch, child, size - 1, j, scratch + child_len);
      } else if (parallel && subtree_work(size - 1, j) >= task_work) {
        spawned = true;
#ifdef UNMASK_HAVE_OPENMP
#pragma omp task firstprivate(child, outer, inner, j, size, table)
#endif
        {
          try {
            const std::size_t len = child_len + scratch_len(size - 1);
            std::unique_ptr<double[]> buf(new double[len]);
            out[child & out_mask] = -sum_axis_plogp(table, outer, q, inner, buf.get());
            visit(buf.get(), child, size - 1, j, buf.get() + child_len);
          } catch (...) {
            record(std::current_exception());
          }
        }
      } else {
        out[child & out_mask] = -sum_axis_plogp(table, outer, q, inner, scratch);
        visit(scratch, child, size - 1, j, scratch + child_len);
      }
    }
    if (spawned) {
#ifdef UNMASK_HAVE_OPENMP
#pragma omp taskwait
#endif
    }
  }
};

}  // namespace

std::size_t subset_entropies_workspace_bytes(int n, int q, int threads) {
  if (n < 1 || q < 2) throw std::invalid_argument("need n >= 1 and q >= 2");
  const int t = std::max(1, resolve_threads(threads));
  // The root's serial chain of tables plus, per thread, the chains of tasks, whose tables are
  // below kBigTable entries (a task's table and the scratch of its own serial walk).
  double per_path = 0.0;
  for (int k = n - 1; k >= 1; --k) per_path += std::pow(double(q), k);
  const double task_path = std::min(per_path, 2.0 * q * double(kBigTable));
  const double bytes = 8.0 * (per_path + (t > 1 ? t * task_path : 0.0));
  return static_cast<std::size_t>(std::min(bytes, 1.8e19));
}

void subset_entropies(const double* joint, int n, int q, double* out, int threads,
                      Interrupt* interrupt, std::size_t big_table) {
  if (n < 1 || n > 62) throw std::invalid_argument("subset_entropies needs 1 <= n <= 62");
  if (q < 2) throw std::invalid_argument("subset_entropies needs q >= 2");
  Walker w;
  w.n = n;
  w.q = q;
  w.qpow.resize(n + 1);
  for (int k = 0; k <= n; ++k) w.qpow[k] = checked_pow(q, k);
  w.out = out;
  w.interrupt = interrupt;
  w.big_table = std::max<std::size_t>(big_table, kPiece);
  const int t = resolve_threads(threads);
  // Below about ten million table entries in all (about 8 ms of work), waking threads costs
  // more than it saves, and far more when another process holds a core.
  w.parallel = t > 1 && w.subtree_work(n, n) >= 1.0e7;
  // Every subtree above about 1/1000 of the walk per thread becomes a task: the thread that
  // walks the big tables then keeps the others fed (a coarser cut left one core idle while the
  // other finished a long serial subtree).
  w.task_work = std::max(w.subtree_work(n, n) / (1024.0 * t), 65536.0);

  const std::uint64_t full = (std::uint64_t(1) << n) - 1;  // n <= 62 was checked above
  out[0] = 0.0;
  out[full] = -table_plogp(joint, w.qpow[n]);
  if (n == 1) return;

  std::unique_ptr<double[]> scratch(new double[w.scratch_len(n)]);
  if (w.parallel) {
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel num_threads(t)
#pragma omp single
#endif
    w.visit(joint, full, n, n, scratch.get());
  } else {
    w.visit(joint, full, n, n, scratch.get());
  }
  if (w.failed.load()) std::rethrow_exception(w.error);
  out[0] = 0.0;  // the walk reaches the empty set as a marginal of total mass 1 +- ulps
}

void subset_entropies_subtree(const double* joint, int n, int q, int k, std::uint64_t keep,
                              double* out, int threads, Interrupt* interrupt,
                              std::size_t big_table) {
  if (n < 2 || n > 62) throw std::invalid_argument("subset_entropies_subtree needs 2 <= n <= 62");
  if (q < 2) throw std::invalid_argument("subset_entropies_subtree needs q >= 2");
  if (k < 1 || k >= n) throw std::invalid_argument("subset_entropies_subtree needs 1 <= k < n");
  if (keep >> k) throw std::invalid_argument("keep has bits beyond the k fixed variables");
  Walker w;
  w.n = n;
  w.q = q;
  w.qpow.resize(n + 1);
  for (int t = 0; t <= n; ++t) w.qpow[t] = checked_pow(q, t);
  w.out = out;
  w.out_mask = (std::uint64_t(1) << (n - k)) - 1;
  w.interrupt = interrupt;
  w.big_table = std::max<std::size_t>(big_table, kPiece);
  const int t = resolve_threads(threads);
  w.parallel = t > 1 && w.subtree_work(n, n) >= 1.0e7;
  w.task_work = std::max(w.subtree_work(n, n) / (1024.0 * t), 65536.0);

  // The local walk reaches every subset by summing out its missing variables from the highest
  // index down. Sum out the fixed variables that are not kept in that same order, with the
  // same kernel, so the sub-lattice's root table (and every table below it) is bit for bit the
  // one of the local walk.
  std::size_t chain_len = 0;
  {
    int size = n;
    for (int j = n - 1; j >= n - k; --j)
      if (!((keep >> (j - (n - k))) & 1)) chain_len += w.qpow[--size];
  }
  std::unique_ptr<double[]> chain(new double[std::max<std::size_t>(chain_len, 1)]);
  std::uint64_t S = (std::uint64_t(1) << n) - 1;
  int size = n;
  const double* table = joint;
  double* dst = chain.get();
  double root = 0.0;
  bool removed = false;
  for (int j = n - 1; j >= n - k; --j) {
    if ((keep >> (j - (n - k))) & 1) continue;
    if (interrupt && interrupt->check()) throw Interrupted();
    const std::size_t child_len = w.qpow[size - 1];
    const bool big = w.parallel && child_len >= w.big_table;
    // every variable below j is still in S, so j is axis j of the table
    if (big) {
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel num_threads(t)
#pragma omp single
#endif
      root = -sum_axis_plogp(table, w.qpow[j], q, w.qpow[size - 1 - j], dst, true);
    } else {
      root = -sum_axis_plogp(table, w.qpow[j], q, w.qpow[size - 1 - j], dst);
    }
    table = dst;
    dst += child_len;
    S &= ~(std::uint64_t(1) << j);
    --size;
    removed = true;
  }
  if (!removed) root = -table_plogp(joint, w.qpow[n]);
  out[S & w.out_mask] = root;

  std::unique_ptr<double[]> scratch(new double[std::max<std::size_t>(w.scratch_len(size), 1)]);
  if (w.parallel) {
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel num_threads(t)
#pragma omp single
#endif
    w.visit(table, S, size, n - k, scratch.get());
  } else {
    w.visit(table, S, size, n - k, scratch.get());
  }
  if (w.failed.load()) std::rethrow_exception(w.error);
  if (keep == 0) out[0] = 0.0;  // the empty set, as in subset_entropies
}

void level_sums(const double* values, int n, double* sums) {
  if (n < 0 || n > 62) throw std::invalid_argument("level_sums needs 0 <= n <= 62");
  std::vector<CompensatedSum> acc(n + 1);
  const std::uint64_t size = std::uint64_t(1) << n;
  for (std::uint64_t a = 0; a < size; ++a) acc[__builtin_popcountll(a)].add(values[a]);
  for (int k = 0; k <= n; ++k) sums[k] = acc[k].value();
}

}  // namespace unmask
