#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "unmask/common.hpp"
#include "unmask/sampler.hpp"

namespace unmask {

std::vector<std::uint32_t> subset_ranks(int n) {
  if (n < 1 || n > 30) throw std::invalid_argument("subset_ranks needs 1 <= n <= 30");
  const std::uint64_t total = std::uint64_t(1) << n;
  std::vector<std::uint32_t> rank(total);
  std::vector<std::uint32_t> next(n + 1, 0);
  for (std::uint64_t a = 0; a < total; ++a) rank[a] = next[__builtin_popcountll(a)]++;
  return rank;
}

std::uint64_t binomial(int n, int l) {
  if (l < 0 || l > n) return 0;
  std::uint64_t r = 1;
  for (int t = 1; t <= l; ++t) r = r * std::uint64_t(n - l + t) / std::uint64_t(t);
  return r;
}

namespace {

std::vector<std::uint64_t> masks_of_size(int n, int l) {
  std::vector<std::uint64_t> out;
  out.reserve(binomial(n, l));
  const std::uint64_t total = std::uint64_t(1) << n;
  for (std::uint64_t a = 0; a < total; ++a)
    if (__builtin_popcountll(a) == l) out.push_back(a);
  return out;
}

// Number of variables of `set` with index greater than j.
inline int count_above(std::uint64_t set, int j) {
  return __builtin_popcountll(set >> (j + 1));
}

}  // namespace

void level_marginals(const double* joint, int n, int q, const std::vector<bool>& wanted,
                     const std::vector<double*>& out, int threads) {
  const int nt = resolve_threads(threads);
  std::vector<std::uint64_t> qpow(n + 2, 1);
  for (int k = 1; k <= n + 1; ++k) qpow[k] = qpow[k - 1] * std::uint64_t(q);
  const auto rank = subset_ranks(n);
  int lowest = n;
  for (int l = 0; l <= n; ++l)
    if (wanted[l]) { lowest = l; break; }
  if (wanted[n]) std::copy(joint, joint + qpow[n], out[n]);
  std::vector<double> upper_store, lower_store;
  const double* upper = joint;  // level l + 1
  for (int l = n - 1; l >= lowest; --l) {
    const auto masks = masks_of_size(n, l);
    const std::uint64_t block = qpow[l];
    double* lower;
    if (wanted[l]) {
      lower = out[l];
    } else {
      lower_store.assign(masks.size() * block, 0.0);
      lower = lower_store.data();
    }
    const long long count = static_cast<long long>(masks.size());
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 16) num_threads(nt)
#endif
    for (long long r = 0; r < count; ++r) {
      const std::uint64_t a = masks[r];
      int j = 0;
      while (a >> j & 1) ++j;  // lowest variable outside A: the axis summed out of the parent
      const std::uint64_t parent = a | (std::uint64_t(1) << j);
      const std::uint64_t m = qpow[count_above(a, j)];
      const double* src = upper + std::uint64_t(rank[parent]) * block * q;
      double* dst = lower + std::uint64_t(r) * block;
      for (std::uint64_t hi = 0; hi < block / m; ++hi)
        for (std::uint64_t lo = 0; lo < m; ++lo) {
          double acc = 0.0;
          for (int x = 0; x < q; ++x) acc += src[(hi * q + x) * m + lo];
          dst[hi * m + lo] = acc;
        }
    }
    (void)nt;
    if (!wanted[l]) {
      upper_store.swap(lower_store);
      upper = upper_store.data();
    } else {
      upper = out[l];
      upper_store.clear();
      upper_store.shrink_to_fit();
    }
  }
}

void law_step(const double* src, double* dst, int n, int q, int i, int s, double weight,
              const double* marg_next, double temperature, const double* table, int threads) {
  if (i < 0 || s < 1 || i + s > n) throw std::invalid_argument("law_step needs 0 <= i < i+s <= n");
  if (!table && !marg_next) throw std::invalid_argument("law_step needs marginals or a table");
  if (!(temperature > 0.0)) throw std::invalid_argument("temperature must be > 0");
  const int nt = resolve_threads(threads);
  const int b = i + s;
  std::vector<std::uint64_t> qpow(n + 2, 1);
  for (int k = 1; k <= n + 1; ++k) qpow[k] = qpow[k - 1] * std::uint64_t(q);
  const auto rank = subset_ranks(n);
  const auto dst_masks = masks_of_size(n, b);
  const std::uint64_t src_block = qpow[i], dst_block = qpow[b], next_block = qpow[i + 1];
  const std::uint64_t inner = qpow[s];
  const bool tempered = temperature != 1.0;
  const double inv_t = 1.0 / temperature;
  const long long count = static_cast<long long>(dst_masks.size());

#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel num_threads(nt)
#endif
  {
    std::vector<double> cvec(std::size_t(s) * q);
    std::vector<std::uint64_t> spread_d(inner);
    std::vector<int> dvars(s);
    std::vector<std::uint64_t> above_next(s), jpos(s), rank_aj(s);
    std::vector<std::uint64_t> spread_a_idx(src_block);
#ifdef UNMASK_HAVE_OPENMP
#pragma omp for schedule(dynamic, 4)
#endif
    for (long long r = 0; r < count; ++r) {
      const std::uint64_t bmask = dst_masks[r];
      double* out = dst + std::uint64_t(r) * dst_block;
      int bvars[64];
      int nb = 0;
      for (int v = 0; v < n; ++v)
        if (bmask >> v & 1) bvars[nb++] = v;
      // Iterate over the s-subsets D of B by a combination odometer over B's variable list.
      std::vector<int> comb(s);
      for (int t = 0; t < s; ++t) comb[t] = t;
      while (true) {
        std::uint64_t dmask = 0;
        for (int t = 0; t < s; ++t) {
          dvars[t] = bvars[comb[t]];
          dmask |= std::uint64_t(1) << dvars[t];
        }
        const std::uint64_t amask = bmask ^ dmask;
        // Digits of x_A placed at their positions in x_B.
        spread_a_idx[0] = 0;
        std::uint64_t filled = 1;
        for (int v = n - 1; v >= 0; --v) {
          if (!(amask >> v & 1)) continue;
          const std::uint64_t w = qpow[count_above(bmask, v)];
          for (int x = 1; x < q; ++x)
            for (std::uint64_t t = 0; t < filled; ++t)
              spread_a_idx[x * filled + t] = spread_a_idx[t] + std::uint64_t(x) * w;
          filled *= q;
        }
        spread_d[0] = 0;
        filled = 1;
        for (int t = s - 1; t >= 0; --t) {
          const std::uint64_t w = qpow[count_above(bmask, dvars[t])];
          for (int x = 1; x < q; ++x)
            for (std::uint64_t u = 0; u < filled; ++u)
              spread_d[x * filled + u] = spread_d[u] + std::uint64_t(x) * w;
          filled *= q;
        }
        for (int t = 0; t < s; ++t) {
          const int j = dvars[t];
          above_next[t] = qpow[count_above(amask, j)];
          rank_aj[t] = rank[amask | (std::uint64_t(1) << j)];
          jpos[t] = std::uint64_t(j - __builtin_popcountll(amask & ((std::uint64_t(1) << j) - 1)));
        }
        const double* w_src = src + std::uint64_t(rank[amask]) * src_block;
        const int outside = n - i;
        for (std::uint64_t xa = 0; xa < src_block; ++xa) {
          const double w = w_src[xa];
          if (w == 0.0) continue;
          for (int t = 0; t < s; ++t) {
            double* c = cvec.data() + std::size_t(t) * q;
            if (table) {
              const double* row =
                  table + ((std::uint64_t(rank[amask]) * src_block + xa) * outside + jpos[t]) * q;
              for (int x = 0; x < q; ++x) c[x] = row[x];
            } else {
              const std::uint64_t m = above_next[t];
              const std::uint64_t hi = xa / m, lo = xa - hi * m;
              const double* base = marg_next + rank_aj[t] * next_block;
              double total = 0.0;
              for (int x = 0; x < q; ++x) {
                double v = base[(hi * q + x) * m + lo];
                if (tempered && v > 0.0) v = std::pow(v, inv_t);
                c[x] = v;
                total += v;
              }
              if (total > 0.0) {
                for (int x = 0; x < q; ++x) c[x] /= total;
              } else {
                for (int x = 0; x < q; ++x) c[x] = 1.0 / q;  // context of probability 0
              }
            }
          }
          const double ww = weight * w;
          double* o = out + spread_a_idx[xa];
          if (s == 1) {
            for (int x = 0; x < q; ++x) o[spread_d[x]] += ww * cvec[x];
          } else {
            for (std::uint64_t xd = 0; xd < inner; ++xd) {
              double prod = ww;
              std::uint64_t rest = xd;
              for (int t = s - 1; t >= 0; --t) {
                const std::uint64_t digit = rest % q;
                rest /= q;
                prod *= cvec[std::size_t(t) * q + digit];
              }
              o[spread_d[xd]] += prod;
            }
          }
        }
        // Advance the combination.
        int t = s - 1;
        while (t >= 0 && comb[t] == nb - s + t) --t;
        if (t < 0) break;
        ++comb[t];
        for (int u = t + 1; u < s; ++u) comb[u] = comb[u - 1] + 1;
      }
    }
  }
  (void)nt;
}

}  // namespace unmask
