#include <algorithm>
#include <cfloat>
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

// Below this many elementary updates a kernel runs on one thread (starting a team costs more).
constexpr double kParallelWork = 1 << 18;

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
    const bool big = double(count) * double(block) * q > kParallelWork;
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 16) num_threads(nt) if (big)
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
    (void)big;
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

void conditional_table(const double* marg_next, int n, int q, int i, double temperature,
                       double* table, int threads) {
  if (i < 0 || i >= n) throw std::invalid_argument("conditional_table needs 0 <= i < n");
  if (!(temperature > 0.0)) throw std::invalid_argument("temperature must be > 0");
  const int nt = resolve_threads(threads);
  std::vector<std::uint64_t> qpow(n + 2, 1);
  for (int k = 1; k <= n + 1; ++k) qpow[k] = qpow[k - 1] * std::uint64_t(q);
  const auto rank = subset_ranks(n);
  const auto masks = masks_of_size(n, i);
  const std::uint64_t block = qpow[i], next_block = qpow[i + 1];
  const int outside = n - i;
  const bool tempered = temperature != 1.0;
  const double inv_t = 1.0 / temperature;
  const long long count = static_cast<long long>(masks.size());
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel for schedule(dynamic, 8) num_threads(nt) \
    if (double(count) * double(block) * outside * q > kParallelWork)
#endif
  for (long long r = 0; r < count; ++r) {
    const std::uint64_t amask = masks[r];
    double* out = table + std::uint64_t(r) * block * outside * q;
    int pos = 0;
    for (int j = 0; j < n; ++j) {
      if (amask >> j & 1) continue;
      const std::uint64_t m = qpow[count_above(amask, j)];
      const double* base = marg_next + std::uint64_t(rank[amask | (std::uint64_t(1) << j)]) * next_block;
      for (std::uint64_t xa = 0; xa < block; ++xa) {
        const std::uint64_t hi = xa / m, lo = xa - hi * m;
        double* c = out + (xa * outside + pos) * q;
        double total = 0.0;
        if (tempered) {
          // (v / max)^(1/T): the raw powers v^(1/T) of small marginals underflow to 0 for small
          // T (every value of a context at once, which would then read as probability 0).
          double vmax = 0.0;
          for (int x = 0; x < q; ++x) vmax = std::max(vmax, base[(hi * q + x) * m + lo]);
          for (int x = 0; x < q; ++x) {
            const double v = base[(hi * q + x) * m + lo];
            c[x] = v > 0.0 ? std::pow(v / vmax, inv_t) : 0.0;
            total += c[x];
          }
        } else {
          for (int x = 0; x < q; ++x) {
            c[x] = base[(hi * q + x) * m + lo];
            total += c[x];
          }
        }
        if (total >= DBL_MIN) {
          const double inv = 1.0 / total;
          for (int x = 0; x < q; ++x) c[x] *= inv;
        } else if (total > 0.0) {  // subnormal context mass: 1 / total would overflow
          for (int x = 0; x < q; ++x) c[x] /= total;
        } else {
          for (int x = 0; x < q; ++x) c[x] = 1.0 / q;  // context of probability 0
        }
      }
      ++pos;
    }
  }
  (void)nt;
}

namespace {

// Exact conditionals read straight from the marginals: for a pair (B, D), A = B \ D,
//   dst(B, x_B) += weight * W(A, x_A) / p(x_A) * prod_{j in D} m_{A+j}(x_A, x_j).
// The digits of x_A split into s+1 runs at the places where D's variables sit in B; every index
// (into W, into the blocks of A+j, into dst) is affine in the digits of the runs, so the last run
// is a contiguous loop and no per-entry division or lookup table is needed. The blocks of A+j are
// B minus one variable: at most |B| of them per B, reused by every D.
void law_step_marginals(const double* src, double* dst, int n, int q, int i, int s, double weight,
                        const double* marg_cur, const double* marg_next, int threads,
                        Interrupt* stop) {
  const int nt = resolve_threads(threads);
  const int b = i + s;
  std::vector<std::uint64_t> qpow(n + 2, 1);
  for (int k = 1; k <= n + 1; ++k) qpow[k] = qpow[k - 1] * std::uint64_t(q);
  const auto rank = subset_ranks(n);
  const auto dst_masks = masks_of_size(n, b);
  const std::uint64_t src_block = qpow[i], dst_block = qpow[b], next_block = qpow[i + 1];
  const std::uint64_t inner = qpow[s];
  const double uniform = std::pow(1.0 / q, s);
  // Pairs (V, 1/p(x_A)): V = W on contexts of positive probability, -W on contexts of
  // probability 0 (they use the uniform conditional), 0 where W = 0. For p(x_A) below DBL_MIN
  // the reciprocal would overflow: the pair holds 0 and the conditionals are divided instead.
  const std::uint64_t nsrc = binomial(n, i) * src_block;
  std::vector<double> ratio(2 * nsrc);
  {
    const long long len = static_cast<long long>(nsrc);
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(nt) if (double(len) > kParallelWork)
#endif
    for (long long t = 0; t < len; ++t) {
      const double w = src[t], pa = marg_cur[t];
      ratio[2 * t] = w == 0.0 ? 0.0 : (pa > 0.0 ? w : -w);
      ratio[2 * t + 1] = pa >= DBL_MIN ? 1.0 / pa : 0.0;
    }
  }
  const long long count = static_cast<long long>(dst_masks.size());
  const bool big = double(count) * double(binomial(b, s)) * double(dst_block) > kParallelWork;
  (void)big;
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel num_threads(nt) if (big)
#endif
  {
    std::vector<double> buf(inner), tmp(inner);
    std::vector<int> dvars(s), comb(s);
    std::vector<std::uint64_t> run_len(s + 1), digit(s + 1);
    std::vector<std::uint64_t> str_a(s + 1), str_b(s + 1), stride_bx(s), stride_jx(s);
    std::vector<std::vector<std::uint64_t>> str_j(s, std::vector<std::uint64_t>(s + 1));
    std::vector<const double*> mblock(s);
    std::vector<std::uint64_t> off_d(inner);
#ifdef UNMASK_HAVE_OPENMP
#pragma omp for schedule(dynamic, 2)
#endif
    for (long long r = 0; r < count; ++r) {
      if (stop && stop->check()) continue;  // cancelled: skip the remaining work quickly
      const std::uint64_t bmask = dst_masks[r];
      double* out = dst + std::uint64_t(r) * dst_block;
      int bvars[64];
      int nb = 0;
      for (int v = 0; v < n; ++v)
        if (bmask >> v & 1) bvars[nb++] = v;
      for (int t = 0; t < s; ++t) comb[t] = t;
      while (true) {
        std::uint64_t dmask = 0;
        for (int t = 0; t < s; ++t) {
          dvars[t] = bvars[comb[t]];
          dmask |= std::uint64_t(1) << dvars[t];
        }
        const std::uint64_t amask = bmask ^ dmask;
        // Runs of A's variables: run 0 before dvars[0], run t between dvars[t-1] and dvars[t],
        // run s after dvars[s-1]. Run lengths in digits, and strides of one unit of each run.
        for (int t = 0; t <= s; ++t) {
          const int lo_var = t == 0 ? -1 : dvars[t - 1];
          const int hi_var = t == s ? n : dvars[t];
          std::uint64_t in_run = 0;
          for (int v = lo_var + 1; v < hi_var; ++v) in_run += amask >> v & 1;
          run_len[t] = qpow[in_run];
          // A variables strictly after this run (weights are powers of q of what follows).
          std::uint64_t a_after = 0, b_after = 0;
          for (int v = hi_var; v < n; ++v) {
            a_after += amask >> v & 1;
            b_after += bmask >> v & 1;
          }
          str_a[t] = qpow[a_after];
          str_b[t] = qpow[b_after];
          for (int u = 0; u < s; ++u) {
            // Block A + dvars[u]: D's variable u sits among A's; count it if after the run.
            str_j[u][t] = qpow[a_after + (dvars[u] >= hi_var ? 1 : 0)];
          }
        }
        for (int u = 0; u < s; ++u) {
          stride_bx[u] = qpow[count_above(bmask, dvars[u])];
          stride_jx[u] = qpow[count_above(amask, dvars[u])];
          mblock[u] = marg_next + std::uint64_t(rank[amask | (std::uint64_t(1) << dvars[u])]) *
                                      next_block;
        }
        // Offsets in x_B of every x_D.
        off_d[0] = 0;
        std::uint64_t filled = 1;
        for (int u = s - 1; u >= 0; --u) {
          for (int x = 1; x < q; ++x)
            for (std::uint64_t e = 0; e < filled; ++e)
              off_d[x * filled + e] = off_d[e] + std::uint64_t(x) * stride_bx[u];
          filled *= q;
        }
        const double* v_src = ratio.data() + 2 * std::uint64_t(rank[amask]) * src_block;
        const double* p_src = marg_cur + std::uint64_t(rank[amask]) * src_block;
        // The longest run is the inner loop (its digits are contiguous in A, B and every A+j);
        // the other runs are enumerated by an odometer.
        int tl = 0;
        for (int t = 1; t <= s; ++t)
          if (run_len[t] > run_len[tl]) tl = t;
        const std::uint64_t last = run_len[tl], sa = str_a[tl], sb = str_b[tl];
        std::uint64_t sj[64];
        for (int u = 0; u < s; ++u) sj[u] = str_j[u][tl];
        std::uint64_t outer = 1;
        for (int t = 0; t <= s; ++t)
          if (t != tl) outer *= run_len[t];
        for (int t = 0; t <= s; ++t) digit[t] = 0;
        for (std::uint64_t o = 0; o < outer; ++o) {
          std::uint64_t ia0 = 0, ib0 = 0;
          std::uint64_t ij0[64];
          for (int u = 0; u < s; ++u) ij0[u] = 0;
          for (int t = 0; t <= s; ++t) {
            if (t == tl) continue;
            ia0 += digit[t] * str_a[t];
            ib0 += digit[t] * str_b[t];
            for (int u = 0; u < s; ++u) ij0[u] += digit[t] * str_j[u][t];
          }
          for (std::uint64_t lo = 0; lo < last; ++lo) {
            const std::uint64_t ia = ia0 + lo * sa;
            std::uint64_t ij[64];
            for (int u = 0; u < s; ++u) ij[u] = ij0[u] + lo * sj[u];
            const double v = v_src[2 * ia];
            if (v == 0.0) continue;
            double* dst_b = out + ib0 + lo * sb;
            if (v < 0.0) {
              const double add = -v * weight * uniform;
              for (std::uint64_t xd = 0; xd < inner; ++xd) dst_b[off_d[xd]] += add;
              continue;
            }
            const double inv = v_src[2 * ia + 1];
            const double ww = v * weight;
            if (s == 2 && inv > 0.0) {
              const double* m0 = mblock[0] + ij[0];
              const double* m1 = mblock[1] + ij[1];
              // ww * inv * inv overflows for 1e-308 < p(x_A) < 1e-154: scale each factor by inv
              // on its own (m / p(x_A) is a conditional, <= 1; ww * inv <= 1 / DBL_MIN).
              const double wi = ww * inv;
              if (q == 2) {  // the common binary case, unrolled
                const std::uint64_t b0 = stride_bx[0], b1 = stride_bx[1];
                const std::uint64_t j0 = stride_jx[0], j1 = stride_jx[1];
                const double a0 = wi * m0[0], a1 = wi * m0[j0];
                const double c0 = m1[0] * inv, c1 = m1[j1] * inv;
                dst_b[0] += a0 * c0;
                dst_b[b1] += a0 * c1;
                dst_b[b0] += a1 * c0;
                dst_b[b0 + b1] += a1 * c1;
                continue;
              }
              for (int x0 = 0; x0 < q; ++x0) {
                const double a = wi * m0[x0 * stride_jx[0]];
                double* d0 = dst_b + x0 * stride_bx[0];
                for (int x1 = 0; x1 < q; ++x1)
                  d0[x1 * stride_bx[1]] += a * (m1[x1 * stride_jx[1]] * inv);
              }
            } else {
              // c_j(x | x_A) = m_{A+j}(x_A, x) / p(x_A), one factor at a time.
              const double pa = p_src[ia];
              buf[0] = ww;
              std::uint64_t len = 1;
              for (int u = 0; u < s; ++u) {
                const double* m = mblock[u] + ij[u];
                for (std::uint64_t e = 0; e < len; ++e)
                  for (int x = 0; x < q; ++x) {
                    const double c = inv > 0.0 ? m[x * stride_jx[u]] * inv : m[x * stride_jx[u]] / pa;
                    tmp[e * q + x] = buf[e] * c;
                  }
                len *= q;
                buf.swap(tmp);
              }
              for (std::uint64_t xd = 0; xd < inner; ++xd) dst_b[off_d[xd]] += buf[xd];
            }
          }
          for (int t = s; t >= 0; --t) {  // odometer over the runs other than tl
            if (t == tl) continue;
            if (++digit[t] < run_len[t]) break;
            digit[t] = 0;
          }
        }
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

}  // namespace

void law_step(const double* src, double* dst, int n, int q, int i, int s, double weight,
              const double* marg_cur, const double* marg_next, double temperature,
              const double* table, int threads, Interrupt* stop) {
  if (i < 0 || s < 1 || i + s > n) throw std::invalid_argument("law_step needs 0 <= i < i+s <= n");
  if (!table && !marg_next) throw std::invalid_argument("law_step needs marginals or a table");
  if (!table && marg_cur && temperature == 1.0 && s <= 60) {
    law_step_marginals(src, dst, n, q, i, s, weight, marg_cur, marg_next, threads, stop);
    if (stop && stop->cancelled()) throw Interrupted();
    return;
  }
  std::vector<double> own;
  if (!table) {
    own.resize(binomial(n, i) * checked_pow(q, i) * std::uint64_t(n - i) * q);
    conditional_table(marg_next, n, q, i, temperature, own.data(), threads);
    table = own.data();
  }
  const int nt = resolve_threads(threads);
  const int b = i + s;
  std::vector<std::uint64_t> qpow(n + 2, 1);
  for (int k = 1; k <= n + 1; ++k) qpow[k] = qpow[k - 1] * std::uint64_t(q);
  const auto rank = subset_ranks(n);
  const auto dst_masks = masks_of_size(n, b);
  const std::uint64_t src_block = qpow[i], dst_block = qpow[b];
  const std::uint64_t inner = qpow[s];
  const int outside = n - i;
  const long long count = static_cast<long long>(dst_masks.size());
  const bool big = double(count) * double(binomial(b, s)) * double(dst_block) > kParallelWork;
  (void)big;

#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel num_threads(nt) if (big)
#endif
  {
    std::vector<double> buf(inner), tmp(inner);
    std::vector<std::uint64_t> spread_d(inner), spread_a(src_block), jpos(s);
    std::vector<int> dvars(s), comb(s);
#ifdef UNMASK_HAVE_OPENMP
#pragma omp for schedule(dynamic, 4)
#endif
    for (long long r = 0; r < count; ++r) {
      if (stop && stop->check()) continue;  // cancelled: skip the remaining work quickly
      const std::uint64_t bmask = dst_masks[r];
      double* out = dst + std::uint64_t(r) * dst_block;
      int bvars[64];
      int nb = 0;
      for (int v = 0; v < n; ++v)
        if (bmask >> v & 1) bvars[nb++] = v;
      // Every s-subset D of B (combination odometer over B's variables), in a fixed order.
      for (int t = 0; t < s; ++t) comb[t] = t;
      while (true) {
        std::uint64_t dmask = 0;
        for (int t = 0; t < s; ++t) {
          dvars[t] = bvars[comb[t]];
          dmask |= std::uint64_t(1) << dvars[t];
        }
        const std::uint64_t amask = bmask ^ dmask;
        // Position in x_B of every x_A (digits of A's variables at their places in B).
        spread_a[0] = 0;
        std::uint64_t filled = 1;
        for (int v = n - 1; v >= 0; --v) {
          if (!(amask >> v & 1)) continue;
          const std::uint64_t w = qpow[count_above(bmask, v)];
          for (int x = 1; x < q; ++x)
            for (std::uint64_t t = 0; t < filled; ++t)
              spread_a[x * filled + t] = spread_a[t] + std::uint64_t(x) * w;
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
        for (int t = 0; t < s; ++t)
          jpos[t] = std::uint64_t(dvars[t] -
                                  __builtin_popcountll(amask & ((std::uint64_t(1) << dvars[t]) - 1)));
        const double* w_src = src + std::uint64_t(rank[amask]) * src_block;
        const double* t_src = table + std::uint64_t(rank[amask]) * src_block * outside * q;
        for (std::uint64_t xa = 0; xa < src_block; ++xa) {
          const double w = w_src[xa];
          if (w == 0.0) continue;
          const double* row = t_src + xa * outside * q;
          double* o = out + spread_a[xa];
          const double ww = weight * w;
          if (s == 1) {
            const double* c = row + jpos[0] * q;
            for (int x = 0; x < q; ++x) o[spread_d[x]] += ww * c[x];
          } else if (s == 2) {
            const double* c0 = row + jpos[0] * q;
            const double* c1 = row + jpos[1] * q;
            for (int x0 = 0; x0 < q; ++x0) {
              const double a = ww * c0[x0];
              for (int x1 = 0; x1 < q; ++x1) o[spread_d[x0 * q + x1]] += a * c1[x1];
            }
          } else {
            // Outer product of the s conditionals, built one factor at a time.
            buf[0] = ww;
            std::uint64_t len = 1;
            for (int t = 0; t < s; ++t) {
              const double* c = row + jpos[t] * q;
              for (std::uint64_t e = 0; e < len; ++e)
                for (int x = 0; x < q; ++x) tmp[e * q + x] = buf[e] * c[x];
              len *= q;
              buf.swap(tmp);
            }
            for (std::uint64_t xd = 0; xd < inner; ++xd) o[spread_d[xd]] += buf[xd];
          }
        }
        int t = s - 1;
        while (t >= 0 && comb[t] == nb - s + t) --t;
        if (t < 0) break;
        ++comb[t];
        for (int u = t + 1; u < s; ++u) comb[u] = comb[u - 1] + 1;
      }
    }
  }
  (void)nt;
  if (stop && stop->cancelled()) throw Interrupted();
}

}  // namespace unmask
