#include "unmask/adaptive.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "unmask/sampler.hpp"

namespace unmask {

namespace {

// Below this many source states a step runs on one thread (starting a team costs more).
constexpr double kParallelStates = 1 << 12;

inline int count_above(std::uint64_t set, int j) { return __builtin_popcountll(set >> (j + 1)); }

inline void add_to(double* p, double v, bool atomic) {
  if (atomic) {
#ifdef UNMASK_HAVE_OPENMP
#pragma omp atomic
#endif
    *p += v;
  } else {
    *p += v;
  }
}

std::vector<std::uint64_t> masks_of_size(int n, int l) {
  std::vector<std::uint64_t> out;
  out.reserve(binomial(n, l));
  const std::uint64_t total = std::uint64_t(1) << n;
  for (std::uint64_t a = 0; a < total; ++a)
    if (__builtin_popcountll(a) == l) out.push_back(a);
  return out;
}

// 1 / C(t + u, t) = u! t! / (t + u)!.
inline double inverse_binomial(int t, int u) {
  double r = 1.0;
  for (int k = 1; k <= u; ++k) r *= double(k) / double(t + k);
  return r;
}

// Tied candidates from which outside_factor integrates instead of expanding the polynomial.
constexpr int kQuadratureTies = 3;
// Products below this are not divided (the polynomial form is used instead).
constexpr double kTinyProduct = 1e-250;

// Gauss-Legendre rule with g nodes on [0, 1] (exact for polynomials of degree < 2g), for
// g = 1..16, computed once by Newton's method on the Legendre polynomial.
const std::pair<std::vector<double>, std::vector<double>>& gauss_legendre(int g) {
  static const std::vector<std::pair<std::vector<double>, std::vector<double>>> rules = [] {
    std::vector<std::pair<std::vector<double>, std::vector<double>>> out(17);
    const double pi = std::acos(-1.0);
    for (int m = 1; m <= 16; ++m) {
      std::vector<double> x(m), w(m);
      for (int k = 0; k < m; ++k) {
        double z = std::cos(pi * (k + 0.75) / (m + 0.5));
        double dp = 1.0;
        for (int it = 0; it < 100; ++it) {
          double p0 = 1.0, p1 = z;
          for (int d = 2; d <= m; ++d) {
            const double p2 = ((2.0 * d - 1.0) * z * p1 - (d - 1.0) * p0) / d;
            p0 = p1;
            p1 = p2;
          }
          if (m == 1) {
            p1 = z;
            p0 = 1.0;
          }
          dp = m * (z * p1 - p0) / (z * z - 1.0);
          const double step = p1 / dp;
          z -= step;
          if (std::fabs(step) < 1e-16) break;
        }
        // P_m'(z) at the converged node
        double p0 = 1.0, p1 = z;
        for (int d = 2; d <= m; ++d) {
          const double p2 = ((2.0 * d - 1.0) * z * p1 - (d - 1.0) * p0) / d;
          p0 = p1;
          p1 = p2;
        }
        if (m == 1) {
          p1 = z;
          p0 = 1.0;
        }
        dp = m * (z * p1 - p0) / (z * z - 1.0);
        x[k] = 0.5 * (1.0 - z);
        w[k] = 1.0 / ((1.0 - z * z) * dp * dp);  // 2 / ((1 - z^2) P'^2), halved for [0, 1]
      }
      out[m] = {x, w};
    }
    return out;
  }();
  return rules[std::max(1, std::min(g, 16))];
}

// w_k x_k^(t-1) of node k (t >= 1; t - 1 < 64 since t <= n <= 30).
inline double rule_weight(const std::pair<std::vector<double>, std::vector<double>>& rule, int k,
                          int t) {
  double w = rule.second[k];
  const double x = rule.first[k];
  for (int e = 1; e < t; ++e) w *= x;
  return w;
}

// Everything one thread needs to expand one state (A, x_A).
struct State {
  int n, q, i;
  const std::vector<std::uint64_t>& qpow;
  const std::vector<std::uint32_t>& rank;
  const std::vector<int>& block_of;
  const ConditionalSource& cond;

  std::uint64_t amask = 0, xa = 0;
  std::vector<int> x;       // values of every variable, -1 where masked
  std::vector<int> cand;    // the candidates (masked variables of the current block)
  std::vector<double> c;    // c[a * q + y] = c_{cand[a]}(y | x_A)
  std::vector<int> cid;     // tie class of each score (increasing with the score)
  std::vector<double> rep;  // value of each tie class
  std::vector<std::pair<double, int>> order;
  std::vector<double> poly, poly_next;
  std::vector<std::uint64_t> stride;  // weight of each variable's digit in x_B
  std::vector<double> quad_prod, quad_tmp;  // per class: prod_a (L_a + E_a (1 - x_k))
  std::vector<int> quad_zero;               // per class: candidates with L_a + E_a = 0
  std::vector<char> quad_done;
  std::vector<double> cls_low, cls_eq, low_prod;  // see prepare_classes
  std::vector<int> eq_count, low_zero;
  // scratch of the expanders (kept here: one allocation per thread, not per state)
  std::vector<double> score;
  std::vector<int> sorted_ids, above, tied, comb, chosen, digit;
  std::vector<char> kept;

  State(int n_, int q_, int i_, const std::vector<std::uint64_t>& qpow_,
        const std::vector<std::uint32_t>& rank_, const std::vector<int>& block_of_,
        const ConditionalSource& cond_)
      : n(n_), q(q_), i(i_), qpow(qpow_), rank(rank_), block_of(block_of_), cond(cond_),
        x(n_, -1), stride(n_, 0) {
    cand.reserve(n_);
    c.reserve(std::size_t(n_) * q_);
    cid.reserve(std::size_t(n_) * q_);
    poly.reserve(n_ + 1);
    poly_next.reserve(n_ + 1);
  }

  // Values x_A from their index (C order over A's variables, smallest variable slowest),
  // candidates, and their conditionals.
  void load(std::uint64_t amask_, std::uint64_t xa_) {
    amask = amask_;
    xa = xa_;
    std::uint64_t rest = xa;
    for (int v = n - 1; v >= 0; --v) {
      if (amask >> v & 1) {
        x[v] = int(rest % std::uint64_t(q));
        rest /= std::uint64_t(q);
      } else {
        x[v] = -1;
      }
    }
    cand.clear();
    int first = 0;
    while (first < n && (amask >> first & 1)) ++first;
    for (int v = first; v < n; ++v)
      if (!(amask >> v & 1) && block_of[v] == block_of[first]) cand.push_back(v);
    const int m = int(cand.size());
    c.assign(std::size_t(m) * q, 0.0);
    for (int a = 0; a < m; ++a) conditional(cand[a], c.data() + std::size_t(a) * q);
  }

  void conditional(int j, double* out) const {
    if (cond.table) {
      const int pos = j - __builtin_popcountll(amask & ((std::uint64_t(1) << j) - 1));
      const double* row =
          cond.table + ((std::uint64_t(rank[amask]) * qpow[i] + xa) * std::uint64_t(n - i) +
                        std::uint64_t(pos)) * q;
      std::copy(row, row + q, out);
      return;
    }
    const std::uint64_t m = qpow[count_above(amask, j)];
    const std::uint64_t hi = xa / m, lo = xa - hi * m;
    const double* base =
        cond.marg_next + std::uint64_t(rank[amask | (std::uint64_t(1) << j)]) * qpow[i + 1];
    double total = 0.0;
    if (cond.temperature != 1.0) {
      // (v / max)^(1/T), as conditional_table: raw powers of small marginals underflow.
      double vmax = 0.0;
      for (int y = 0; y < q; ++y) vmax = std::max(vmax, base[(hi * q + y) * m + lo]);
      const double inv_t = 1.0 / cond.temperature;
      for (int y = 0; y < q; ++y) {
        const double v = base[(hi * q + y) * m + lo];
        out[y] = v > 0.0 ? std::pow(v / vmax, inv_t) : 0.0;
        total += out[y];
      }
    } else {
      for (int y = 0; y < q; ++y) {
        out[y] = base[(hi * q + y) * m + lo];
        total += out[y];
      }
    }
    if (total >= DBL_MIN) {
      const double inv = 1.0 / total;
      for (int y = 0; y < q; ++y) out[y] *= inv;
    } else if (total > 0.0) {  // subnormal context mass: 1 / total would overflow
      for (int y = 0; y < q; ++y) out[y] /= total;
    } else {
      for (int y = 0; y < q; ++y) out[y] = 1.0 / q;  // a context of mass 0
    }
  }

  // Tie classes of `values` (count entries): chains of sorted neighbours closer than the
  // tolerance share a class; classes are numbered in increasing order of value.
  int cluster(const double* values, int count) {
    order.resize(count);
    for (int t = 0; t < count; ++t) order[t] = {values[t], t};
    std::sort(order.begin(), order.end());
    cid.assign(count, 0);
    rep.clear();
    quad_done.assign(count, 0);
    quad_zero.assign(count, 0);
    quad_prod.resize(std::size_t(count) * ((n + 1) / 2 + 1));
    int k = -1;
    double prev = 0.0;
    for (int t = 0; t < count; ++t) {
      const double v = order[t].first;
      if (k < 0 || v - prev > kTieTolerance * std::max(1.0, std::fabs(v))) {
        ++k;
        rep.push_back(v);
      }
      cid[order[t].second] = k;
      prev = v;
    }
    return k + 1;
  }

  // Strides of every variable's digit in x_B, and the index of x_A's digits in x_B.
  std::uint64_t prepare_dst(std::uint64_t bmask) {
    std::uint64_t w = 1, base = 0;
    for (int v = n - 1; v >= 0; --v) {
      if (bmask >> v & 1) {
        stride[v] = w;
        if (x[v] >= 0) base += std::uint64_t(x[v]) * w;
        w *= std::uint64_t(q);
      }
    }
    return base;
  }

  // Per tie class v, for the draw-then-keep rules: E_a(v) = P(a's draw scores v) and
  // L_a(v) = P(it scores below v) for every candidate a (prefix sums over the classes), the
  // number of candidates that can tie at v, and the product of the non-zero L_a(v) with the
  // count of zero ones (so that the product over the candidates outside a kept set is a
  // division, without cancellation).
  void prepare_classes() {
    const int m = int(cand.size()), k = int(rep.size());
    cls_low.assign(std::size_t(m) * k, 0.0);
    cls_eq.assign(std::size_t(m) * k, 0.0);
    eq_count.assign(k, 0);
    low_zero.assign(k, 0);
    low_prod.assign(k, 1.0);
    for (int a = 0; a < m; ++a) {
      double* eq = cls_eq.data() + std::size_t(a) * k;
      double* low = cls_low.data() + std::size_t(a) * k;
      for (int y = 0; y < q; ++y) eq[cid[std::size_t(a) * q + y]] += c[std::size_t(a) * q + y];
      double below = 0.0;
      for (int v = 0; v < k; ++v) {
        low[v] = below;
        below += eq[v];
        if (eq[v] > 0.0) ++eq_count[v];
        if (low[v] > 0.0)
          low_prod[v] *= low[v];
        else
          ++low_zero[v];
      }
    }
  }

  double low_of(int a, int v) const { return cls_low[std::size_t(a) * rep.size() + v]; }
  double eq_of(int a, int v) const { return cls_eq[std::size_t(a) * rep.size() + v]; }

  // Factor of the candidates outside a kept set `kept` (candidate indices; `skip` flags them),
  // all of whose draws must score at most class v: the sum over the set U of those tied at v
  // of prod_U E_a(v) prod_rest L_a(v) / C(t + |U|, t), t the kept draws tied at v (uniform
  // tie-breaking keeps the t tied kept draws out of the t + |U| tied ones).
  // No outsider tied: prod L_a(v), read from the class product. A few: the polynomial
  // prod (L + E z), O(m + r^2). Many (long runs of equal scores): since 1/C(t+u, t) =
  // t int_0^1 x^(t-1) (1-x)^u dx, the factor is t int_0^1 x^(t-1) prod_{a outside}
  // (L_a + E_a (1 - x)) dx, a polynomial of degree < m integrated exactly by Gauss-Legendre;
  // the product over all candidates is formed once per state and class, the kept ones divided
  // out (positive numbers only: no cancellation).
  double outside_factor(int v, int t, const int* kept, int s, const std::vector<char>& skip) {
    int r = eq_count[v];
    int zeros = low_zero[v];
    double div = 1.0;
    for (int u = 0; u < s; ++u) {
      if (eq_of(kept[u], v) > 0.0) --r;
      const double l = low_of(kept[u], v);
      if (l > 0.0)
        div *= l;
      else
        --zeros;
    }
    if (r == 0 && zeros > 0) return 0.0;
    // a kept product that underflowed (0 / 0) takes the explicit product below
    if (r == 0 && div > kTinyProduct) return low_prod[v] / div;
    if (r >= kQuadratureTies) {
      double f;
      if (quadrature(v, t, kept, s, f)) return f;
    }
    const int m = int(cand.size());
    double prod_low = 1.0;
    poly.assign(1, 1.0);
    r = 0;
    for (int a = 0; a < m; ++a) {
      if (skip[a]) continue;
      const double low = low_of(a, v), eq = eq_of(a, v);
      if (eq == 0.0) {
        prod_low *= low;
        if (prod_low == 0.0) return 0.0;
      } else {
        poly_next.assign(r + 2, 0.0);
        for (int u = 0; u <= r; ++u) {
          poly_next[u] += low * poly[u];
          poly_next[u + 1] += eq * poly[u];
        }
        poly.swap(poly_next);
        ++r;
      }
    }
    double f = 0.0;
    for (int u = 0; u <= r; ++u) f += poly[u] * inverse_binomial(t, u);
    return prod_low * f;
  }

  // The Gauss-Legendre form of outside_factor; false when a product is too small to divide.
  bool quadrature(int v, int t, const int* kept, int s, double& out) {
    const int m = int(cand.size());
    const auto& rule = gauss_legendre((m + 1) / 2);
    const int g = int(rule.first.size());
    if (!quad_done[v]) {
      quad_done[v] = 1;
      quad_zero[v] = 0;
      double* f = quad_prod.data() + std::size_t(v) * g;
      std::fill(f, f + g, 1.0);
      for (int a = 0; a < m; ++a) {
        const double low = low_of(a, v), eq = eq_of(a, v);
        if (low + eq == 0.0) {
          ++quad_zero[v];
          continue;
        }
        for (int k = 0; k < g; ++k) f[k] *= low + eq * (1.0 - rule.first[k]);
      }
    }
    int zeros = quad_zero[v];
    const double* f = quad_prod.data() + std::size_t(v) * g;
    double total = 0.0;
    for (int k = 0; k < g; ++k) {
      double div = 1.0;
      for (int u = 0; u < s; ++u) {
        const double low = low_of(kept[u], v), eq = eq_of(kept[u], v);
        if (low + eq == 0.0) {
          if (k == 0) --zeros;
          continue;
        }
        div *= low + eq * (1.0 - rule.first[k]);
      }
      if (k == 0 && zeros > 0) {
        out = 0.0;
        return true;
      }
      if (!(f[k] > kTinyProduct && div > kTinyProduct)) return false;  // use the polynomial
      total += rule_weight(rule, k, t) * (f[k] / div);
    }
    out = double(t) * total;
    return true;
  }
};

double take_score(int rule, const double* c, int q) {
  switch (rule) {
    case kMaxProb:
      return *std::max_element(c, c + q);
    case kMargin: {
      double top1 = -1.0, top2 = -1.0;
      for (int y = 0; y < q; ++y) {
        if (c[y] > top1) {
          top2 = top1;
          top1 = c[y];
        } else if (c[y] > top2) {
          top2 = c[y];
        }
      }
      return top1 - top2;
    }
    case kEntropy: {
      double h = 0.0;
      for (int y = 0; y < q; ++y)
        if (c[y] > 0.0) h -= c[y] * std::log(c[y]);
      return -h;
    }
    default:
      return 0.0;  // kRandom: every candidate ties
  }
}

// Take-then-draw: the s best candidates (uniform among the tied ones at the cut), then draws.
void expand_take(State& st, int rule, int s, double w, const double* score_row, double* dst,
                 bool atomic) {
  const int q = st.q, n = st.n;
  const int m = int(st.cand.size());
  std::vector<double>& score = st.score;
  score.resize(m);
  for (int a = 0; a < m; ++a) {
    if (rule == kScored) {
      const int j = st.cand[a];
      score[a] = score_row[j - __builtin_popcountll(st.amask & ((std::uint64_t(1) << j) - 1))];
    } else {
      score[a] = take_score(rule, st.c.data() + std::size_t(a) * q, q);
    }
  }
  st.cluster(score.data(), m);
  std::vector<int>& sorted_ids = st.sorted_ids;
  sorted_ids.assign(st.cid.begin(), st.cid.end());
  std::sort(sorted_ids.begin(), sorted_ids.end(), std::greater<int>());
  const int cut = sorted_ids[s - 1];
  std::vector<int>& above = st.above;
  std::vector<int>& tied = st.tied;
  above.clear();
  tied.clear();
  for (int a = 0; a < m; ++a) {
    if (st.cid[a] > cut) above.push_back(a);
    if (st.cid[a] == cut) tied.push_back(a);
  }
  const int e = int(tied.size()), need = s - int(above.size());
  const double wt = w / double(binomial(e, need));
  std::vector<int>& comb = st.comb;
  std::vector<int>& chosen = st.chosen;
  std::vector<int>& digit = st.digit;
  comb.resize(need);
  chosen.resize(s);
  digit.resize(s);
  for (int t = 0; t < need; ++t) comb[t] = t;
  const int b = st.i + s;
  const std::uint64_t dst_block = st.qpow[b];
  while (true) {
    std::uint64_t bmask = st.amask;
    int idx = 0;
    for (int a : above) chosen[idx++] = a;
    for (int t = 0; t < need; ++t) chosen[idx++] = tied[comb[t]];
    for (int t = 0; t < s; ++t) bmask |= std::uint64_t(1) << st.cand[chosen[t]];
    const std::uint64_t base = st.prepare_dst(bmask);
    double* out = dst + std::uint64_t(st.rank[bmask]) * dst_block + base;
    std::fill(digit.begin(), digit.end(), 0);
    while (true) {
      double prod = wt;
      std::uint64_t off = 0;
      for (int t = 0; t < s && prod != 0.0; ++t) {
        const int a = chosen[t];
        prod *= st.c[std::size_t(a) * q + digit[t]];
        off += std::uint64_t(digit[t]) * st.stride[st.cand[a]];
      }
      if (prod != 0.0) add_to(out + off, prod, atomic);
      int t = s - 1;
      while (t >= 0 && ++digit[t] == q) digit[t--] = 0;
      if (t < 0) break;
    }
    int t = need - 1;
    while (t >= 0 && comb[t] == e - need + t) --t;
    if (t < 0) break;
    ++comb[t];
    for (int u = t + 1; u < need; ++u) comb[u] = comb[u - 1] + 1;
  }
  (void)n;
}

// Draw-then-keep with a fixed number s of kept draws.
void expand_sampled(State& st, int s, double w, double* dst, bool atomic) {
  const int q = st.q;
  const int m = int(st.cand.size());
  st.cluster(st.c.data(), m * q);
  st.prepare_classes();
  std::vector<int>& comb = st.comb;
  std::vector<int>& digit = st.digit;
  std::vector<char>& kept = st.kept;
  comb.resize(s);
  digit.resize(s);
  kept.assign(m, 0);
  for (int t = 0; t < s; ++t) comb[t] = t;
  const std::uint64_t dst_block = st.qpow[st.i + s];
  while (true) {
    std::uint64_t bmask = st.amask;
    std::fill(kept.begin(), kept.end(), 0);
    for (int t = 0; t < s; ++t) {
      bmask |= std::uint64_t(1) << st.cand[comb[t]];
      kept[comb[t]] = 1;
    }
    const std::uint64_t base = st.prepare_dst(bmask);
    double* out = dst + std::uint64_t(st.rank[bmask]) * dst_block + base;
    std::fill(digit.begin(), digit.end(), 0);
    while (true) {
      double prod = w;
      std::uint64_t off = 0;
      int v = 1 << 30;
      for (int t = 0; t < s && prod != 0.0; ++t) {
        const std::size_t k = std::size_t(comb[t]) * q + digit[t];
        prod *= st.c[k];
        v = std::min(v, st.cid[k]);
        off += std::uint64_t(digit[t]) * st.stride[st.cand[comb[t]]];
      }
      if (prod != 0.0) {
        int tied = 0;
        for (int t = 0; t < s; ++t) tied += st.cid[std::size_t(comb[t]) * q + digit[t]] == v;
        const double f = st.outside_factor(v, tied, comb.data(), s, kept);
        if (f != 0.0) add_to(out + off, prod * f, atomic);
      }
      int t = s - 1;
      while (t >= 0 && ++digit[t] == q) digit[t--] = 0;
      if (t < 0) break;
    }
    int t = s - 1;
    while (t >= 0 && comb[t] == m - s + t) --t;
    if (t < 0) break;
    ++comb[t];
    for (int u = t + 1; u < s; ++u) comb[u] = comb[u - 1] + 1;
  }
}

void check_common(int n, int q, int i, const std::vector<int>& block_of,
                  const ConditionalSource& cond) {
  if (n < 1 || n > 30) throw std::invalid_argument("adaptive rules need 1 <= n <= 30");
  if (q < 2) throw std::invalid_argument("adaptive rules need q >= 2");
  if (i < 0 || i >= n) throw std::invalid_argument("adaptive rules need 0 <= i < n");
  if (int(block_of.size()) != n) throw std::invalid_argument("block_of must have n entries");
  for (int v = 1; v < n; ++v)
    if (block_of[v] < block_of[v - 1])
      throw std::invalid_argument("blocks must be consecutive, numbered left to right");
  if (!cond.table && !cond.marg_next)
    throw std::invalid_argument("adaptive rules need marginals or a conditional table");
  if (!(cond.temperature > 0.0)) throw std::invalid_argument("temperature must be > 0");
}

}  // namespace

void adaptive_step(int rule, const double* src, double* dst, int n, int q, int i, int s,
                   const std::vector<int>& block_of, const ConditionalSource& cond,
                   const double* scores, int threads, Interrupt* stop) {
  check_common(n, q, i, block_of, cond);
  if (s < 1 || i + s > n) throw std::invalid_argument("adaptive_step needs 1 <= s <= n - i");
  if (rule < kRandom || rule > kSampledProb) throw std::invalid_argument("unknown rule");
  if (rule == kScored && !scores) throw std::invalid_argument("rule kScored needs scores");
  const int nt = resolve_threads(threads);
  std::vector<std::uint64_t> qpow(n + 2, 1);
  for (int k = 1; k <= n + 1; ++k) qpow[k] = qpow[k - 1] * std::uint64_t(q);
  const auto rank = subset_ranks(n);
  const auto masks = masks_of_size(n, i);
  const std::uint64_t src_block = qpow[i];
  const long long count = static_cast<long long>(masks.size());
  const bool big = double(count) * double(src_block) > kParallelStates && nt > 1;
  const bool atomic = big;
  bool too_few = false;
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel num_threads(nt) if (big)
#endif
  {
    State st(n, q, i, qpow, rank, block_of, cond);
#ifdef UNMASK_HAVE_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
    for (long long r = 0; r < count; ++r) {
      if (stop && stop->check()) continue;  // cancelled: skip the remaining work quickly
      const std::uint64_t amask = masks[r];
      const double* w_src = src + std::uint64_t(r) * src_block;
      for (std::uint64_t xa = 0; xa < src_block; ++xa) {
        const double w = w_src[xa];
        if (w == 0.0) continue;
        st.load(amask, xa);
        if (int(st.cand.size()) < s) {
          too_few = true;  // a schedule that does not fit its block: refused below
          continue;
        }
        if (rule == kSampledProb) {
          expand_sampled(st, s, w, dst, atomic);
        } else {
          const double* row =
              rule == kScored
                  ? scores + (std::uint64_t(r) * src_block + xa) * std::uint64_t(n - i)
                  : nullptr;
          expand_take(st, rule, s, w, row, dst, atomic);
        }
      }
    }
  }
  (void)nt;
  if (stop && stop->cancelled()) throw Interrupted();
  if (too_few)
    throw std::invalid_argument("a step reveals more tokens than its block has masked");
}

std::vector<std::uint64_t> threshold_offsets(int n, int q) {
  std::vector<std::uint64_t> off(n + 2, 0);
  for (int l = 0; l <= n; ++l)
    off[l + 1] = off[l] + binomial(n, l) * checked_pow(q, l) * std::uint64_t(l + 1);
  return off;
}

namespace {

struct ThresholdExpand {
  State& st;
  const std::vector<char>& high;  // per tie class: does it exceed tau
  const std::vector<double>& low;  // per candidate: P(its draw does not exceed tau)
  const double* wk;                // mass of the state with k = 0..i steps taken
  double* levels;
  const std::vector<std::uint64_t>& off;
  bool atomic;
  std::vector<std::pair<int, int>>& kept;  // (candidate, value)

  void leaf(double prod) {
    const int l = st.i + int(kept.size());
    std::uint64_t bmask = st.amask;
    for (auto& kv : kept) {
      bmask |= std::uint64_t(1) << st.cand[kv.first];
      st.x[st.cand[kv.first]] = kv.second;
    }
    const std::uint64_t idx = st.prepare_dst(bmask);
    for (auto& kv : kept) st.x[st.cand[kv.first]] = -1;
    double* out = levels + off[l] +
                  (std::uint64_t(st.rank[bmask]) * st.qpow[l] + idx) * std::uint64_t(l + 1);
    for (int k = 0; k <= st.i; ++k)
      if (wk[k] != 0.0) add_to(out + k + 1, wk[k] * prod, atomic);
  }

  void walk(int a, double prod) {
    const int m = int(st.cand.size());
    if (a == m) {
      if (!kept.empty()) leaf(prod);
      return;
    }
    if (low[a] > 0.0) walk(a + 1, prod * low[a]);
    const int q = st.q;
    for (int y = 0; y < q; ++y) {
      const std::size_t k = std::size_t(a) * q + y;
      if (!high[st.cid[k]] || st.c[k] == 0.0) continue;
      kept.emplace_back(a, y);
      walk(a + 1, prod * st.c[k]);
      kept.pop_back();
    }
  }
};

}  // namespace

void adaptive_threshold_level(double* levels, int n, int q, int i, double tau,
                              const std::vector<int>& block_of, const ConditionalSource& cond,
                              int threads, Interrupt* stop) {
  check_common(n, q, i, block_of, cond);
  if (!(tau > 0.0 && tau <= 1.0)) throw std::invalid_argument("threshold must lie in (0, 1]");
  const int nt = resolve_threads(threads);
  std::vector<std::uint64_t> qpow(n + 2, 1);
  for (int k = 1; k <= n + 1; ++k) qpow[k] = qpow[k - 1] * std::uint64_t(q);
  const auto rank = subset_ranks(n);
  const auto masks = masks_of_size(n, i);
  const auto off = threshold_offsets(n, q);
  const std::uint64_t src_block = qpow[i];
  const long long count = static_cast<long long>(masks.size());
  const bool big = double(count) * double(src_block) > kParallelStates && nt > 1;
  const bool atomic = big;
  const double tau_gap = kTieTolerance * std::max(1.0, tau);
#ifdef UNMASK_HAVE_OPENMP
#pragma omp parallel num_threads(nt) if (big)
#endif
  {
    State st(n, q, i, qpow, rank, block_of, cond);
    std::vector<char> high, kept_flag;
    std::vector<double> low;
    std::vector<std::pair<int, int>> kept_draws;
    kept_draws.reserve(n);
#ifdef UNMASK_HAVE_OPENMP
#pragma omp for schedule(dynamic, 1)
#endif
    for (long long r = 0; r < count; ++r) {
      if (stop && stop->check()) continue;
      const std::uint64_t amask = masks[r];
      for (std::uint64_t xa = 0; xa < src_block; ++xa) {
        const double* wk =
            levels + off[i] + (std::uint64_t(r) * src_block + xa) * std::uint64_t(i + 1);
        bool any = false;
        for (int k = 0; k <= i; ++k) any = any || wk[k] != 0.0;
        if (!any) continue;
        st.load(amask, xa);
        const int m = int(st.cand.size());
        const int classes = st.cluster(st.c.data(), m * q);
        high.assign(classes, 0);
        for (int k = 0; k < classes; ++k) high[k] = st.rep[k] - tau > tau_gap;
        st.prepare_classes();
        low.assign(m, 0.0);
        for (int a = 0; a < m; ++a)
          for (int y = 0; y < q; ++y)
            if (!high[st.cid[std::size_t(a) * q + y]]) low[a] += st.c[std::size_t(a) * q + y];
        kept_draws.clear();
        ThresholdExpand ex{st, high, low, wk, levels, off, atomic, kept_draws};
        ex.walk(0, 1.0);
        // No draw exceeds tau: the most probable draw is kept (uniform among the tied ones).
        kept_flag.assign(m, 0);
        for (int a = 0; a < m; ++a) {
          kept_flag[a] = 1;
          for (int y = 0; y < q; ++y) {
            const std::size_t k = std::size_t(a) * q + y;
            if (high[st.cid[k]] || st.c[k] == 0.0) continue;
            const double f = st.outside_factor(st.cid[k], 1, &a, 1, kept_flag);
            if (f == 0.0) continue;
            ex.kept.assign(1, {a, y});
            ex.leaf(st.c[k] * f);
          }
          kept_flag[a] = 0;
        }
      }
    }
  }
  (void)nt;
  if (stop && stop->cancelled()) throw Interrupted();
}

}  // namespace unmask
