// The best deterministic take-then-draw planner (theory section 12).
//
// V(x_A, k) = min over admissible T of [ c(T | x_A) + E_{x_T ~ p(. | x_A)} V(x_{A+T}, k-1) ],
// c(T | x_A) = TC(X_T | x_A) + sum_{j in T} KL(p_j(. | x_A) || q_j(. | x_A)) (the second term only
// for learned conditionals). States are solved level by level (number of masked positions
// increasing), so every child is final before its parents; inside a level the states are
// independent and shared among threads. Branch and bound: a candidate whose own cost already
// exceeds the best value found for every budget is dropped before its children are read.
#include "unmask/planner.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace unmask {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

inline int popcount32(std::uint32_t v) { return __builtin_popcount(v); }

/// Relative tolerance under which two values count as a tie (the larger set then wins).
constexpr double kTieTol = 1e-12;

/// How many children ahead the scattered table reads are prefetched.
constexpr std::size_t kAhead = 8;

struct Layout {
  int n, q, budget_cols;
  std::vector<std::uint64_t> weight;  // weight[j] = (q+1)^(n-1-j)
  std::uint32_t all;                  // bitmask of every variable
  std::vector<int> step_of;           // fixed sizes: step index for m masked, else -1
  int block_width;

  explicit Layout(const PlannerProblem& p)
      : n(p.n), q(p.q), budget_cols(planner_columns(p)), weight(p.n), all(0),
        step_of(p.n + 1, -1), block_width(p.block_width) {
    std::uint64_t w = 1;
    for (int j = n - 1; j >= 0; --j) {
      weight[j] = w;
      w *= static_cast<std::uint64_t>(q + 1);
    }
    all = n >= 32 ? 0xffffffffu : ((1u << n) - 1u);
    if (!p.sizes.empty()) {
      int unmasked = 0;
      for (std::size_t k = 0; k < p.sizes.size(); ++k) {
        step_of[n - unmasked] = static_cast<int>(k);
        unmasked += p.sizes[k];
      }
    }
  }

  /// Positions a step may take from the masked set `masked`; 0 when the state is not of the
  /// admissible shape (blocks: everything after the current block still masked; fixed sizes:
  /// a count of masked positions the schedule passes through).
  std::uint32_t candidates(std::uint32_t masked, const PlannerProblem& p) const {
    if (masked == 0) return 0;
    const int m = popcount32(masked);
    if (!p.sizes.empty() && step_of[m] < 0) return 0;
    if (block_width <= 0) return masked;
    const int first = __builtin_ctz(masked);
    const int b = first / block_width;
    const int lo = b * block_width;
    const int hi = std::min(n, lo + block_width);
    const std::uint32_t after = hi >= n ? 0u : (all & ~((1u << hi) - 1u));
    if ((masked & after) != after) return 0;
    const std::uint32_t block = (hi >= 32 ? 0xffffffffu : ((1u << hi) - 1u)) & ~((1u << lo) - 1u);
    return masked & block;
  }

  /// Code of the state with masked set `masked` and the assigned values given by `index` (the
  /// assigned positions' values in C order, smallest position slowest).
  std::uint64_t code_of(std::uint32_t masked, std::uint64_t index) const {
    std::uint64_t code = 0;
    for (int j = n - 1; j >= 0; --j) {
      if (masked >> j & 1u) {
        code += static_cast<std::uint64_t>(q) * weight[j];
      } else {
        code += (index % static_cast<std::uint64_t>(q)) * weight[j];
        index /= static_cast<std::uint64_t>(q);
      }
    }
    return code;
  }
};

/// Next subset of the same size (Gosper's hack) among `count` bits; 0 when exhausted.
inline std::uint32_t next_combination(std::uint32_t v, int count) {
  const std::uint32_t t = v | (v - 1u);
  const std::uint32_t next = (t + 1u) | (((~t & -~t) - 1u) >> (__builtin_ctz(v) + 1));
  if (count < 32 && (next >> count) != 0u) return 0;
  if (next <= v) return 0;
  return next;
}

inline std::uint32_t spread(std::uint32_t local, const std::vector<int>& pos) {
  std::uint32_t out = 0;
  while (local) {
    const int b = __builtin_ctz(local);
    out |= 1u << pos[b];
    local &= local - 1u;
  }
  return out;
}

struct Scratch {
  std::vector<int> cand_pos;   // candidate positions
  std::vector<double> h;       // H(X_j | x_A), by candidate index
  std::vector<double> learn;   // learning KL of candidate j
  std::vector<double> best;    // best value per column
  std::vector<std::uint32_t> best_set;
  std::vector<double> e;       // expected child value per column
  std::vector<int> tpos, digit;
  std::vector<std::uint64_t> child;
  std::vector<double> r;  // p(x_T | x_A), by child
  std::vector<std::uint8_t> dead;  // free sizes: local candidate sets known to be hopeless
};

struct Solver {
  const PlannerProblem& prob;
  Layout lay;
  double* value;
  std::uint32_t* choice;
  // (m, m log m) for every code, m = marg[code] (0 log 0 = 0), side by side: the candidate
  // loop reads both for each child, and the children are scattered through the table, so one
  // cache line per child instead of two
  const double* mlogm;

  Solver(const PlannerProblem& p, double* v, std::uint32_t* c, const double* ml)
      : prob(p), lay(p), value(v), choice(c), mlogm(ml) {}

  /// Value of a child with `cols_left` budget columns (free sizes: k - 1 steps left).
  void solve(std::uint64_t code, std::uint32_t masked, std::uint32_t cand, Scratch& s) const {
    const int n = lay.n, q = lay.q, C = lay.budget_cols;
    const int m = popcount32(masked);
    const bool fixed = !prob.sizes.empty();
    double* vrow = value + code * static_cast<std::uint64_t>(C);
    std::uint32_t* crow = choice + code * static_cast<std::uint64_t>(C);
    s.cand_pos.clear();
    for (int j = 0; j < n; ++j)
      if (cand >> j & 1u) s.cand_pos.push_back(j);
    const int c = static_cast<int>(s.cand_pos.size());
    const int size_lo = fixed ? prob.sizes[lay.step_of[m]] : 1;
    const int size_hi = fixed ? size_lo : c;
    const double mc = prob.marg[code];
    if (!(mc > 0.0)) {  // unreachable under p: any admissible choice, value irrelevant
      std::uint32_t def = 0;
      for (int t = 0; t < std::min(size_hi, c); ++t) def |= 1u << s.cand_pos[t];
      for (int k = 0; k < C; ++k) {
        vrow[k] = 0.0;
        crow[k] = def;
      }
      return;
    }
    // conditional marginals of the candidates, once per state. Entropies use the table of
    // m log m: H(X_T | x_A) = log p(x_A) - sum_{x_T} m log m / p(x_A), with no logarithm per
    // candidate set (the logs are taken once per partial assignment)
    const double logmc = std::log(mc);
    const double inv_mc = 1.0 / mc;
    s.h.assign(c, 0.0);
    s.learn.assign(c, 0.0);
    for (int t = 0; t < c; ++t) {
      const int j = s.cand_pos[t];
      const std::uint64_t w = lay.weight[j];
      double lsum_j = 0.0, lj = 0.0;
      for (int v = 0; v < q; ++v) {
        const double pv = prob.marg[code - static_cast<std::uint64_t>(q - v) * w] / mc;
        lsum_j += mlogm[2 * (code - static_cast<std::uint64_t>(q - v) * w) + 1];
        if (pv > 0.0) {
          if (prob.cond) {
            const double qv =
                prob.cond[(code - static_cast<std::uint64_t>(q - v) * w) * n + j];
            lj += qv > 0.0 ? pv * std::log(pv / qv) : kInf;
          }
        }
      }
      s.h[t] = logmc - lsum_j / mc;  // the same formula as H(X_T | x_A) below
      s.learn[t] = lj;
    }
    s.best.assign(C, kInf);
    s.best_set.assign(C, 0u);
    s.e.assign(C, 0.0);
    bool have_default = false;
    if (!fixed) s.dead.assign(std::size_t{1} << c, 0);
    for (int size = size_lo; size <= size_hi; ++size) {
      if (size > c) break;
      std::uint32_t local = size >= 32 ? 0xffffffffu : ((1u << size) - 1u);
      for (; local != 0; local = next_combination(local, c)) {
        const std::uint32_t tset = spread(local, s.cand_pos);
        const bool finishes = size == m;
        // a set containing a hopeless set is hopeless: TC (and the learning KL) only grow when
        // positions are added, and the best values only fall (free sizes, columns k >= 2)
        if (!fixed && size >= 2 && !finishes) {
          bool inherited = false;
          for (std::uint32_t rest = local; rest; rest &= rest - 1u)
            if (s.dead[local & ~(rest & -rest)]) {
              inherited = true;
              break;
            }
          if (inherited) {
            s.dead[local] = 1;
            continue;
          }
        }
        if (!have_default) {
          // kept when every value is inf (learned conditionals with zeros): free sizes take
          // every candidate at once, which is admissible whenever any choice is
          for (int k = 0; k < C; ++k) s.best_set[k] = fixed ? tset : cand;
          have_default = true;
        }
        // own cost: conditional TC of the set (+ learning KL)
        s.tpos.clear();
        double hsum = 0.0, lsum = 0.0;
        std::uint64_t base = code;
        for (int t = 0; t < c; ++t)
          if (local >> t & 1u) {
            const int j = s.cand_pos[t];
            s.tpos.push_back(j);
            hsum += s.h[t];
            lsum += s.learn[t];
            base -= static_cast<std::uint64_t>(q) * lay.weight[j];
          }
        const std::size_t count = [&] {
          std::size_t r = 1;
          for (int t = 0; t < size; ++t) r *= static_cast<std::size_t>(q);
          return r;
        }();
        s.child.resize(count);
        s.r.resize(count);
        s.digit.assign(size, 0);
        std::uint64_t ch = base;
        for (std::size_t idx = 0; idx < count; ++idx) {
          s.child[idx] = ch;
          // odometer over x_T (last position fastest)
          int i = size - 1;
          while (i >= 0) {
            const std::uint64_t w = lay.weight[s.tpos[i]];
            if (++s.digit[i] < q) {
              ch += w;
              break;
            }
            s.digit[i] = 0;
            ch -= static_cast<std::uint64_t>(q - 1) * w;
            --i;
          }
        }
        double lsum_t = 0.0;
        for (std::size_t idx = 0; idx < count; ++idx) {
          if (idx + kAhead < count) __builtin_prefetch(mlogm + 2 * s.child[idx + kAhead]);
          const double* e = mlogm + 2 * s.child[idx];
          s.r[idx] = e[0] * inv_mc;
          lsum_t += e[1];
        }
        const double hjoint = logmc - lsum_t / mc;
        double own = hsum - hjoint;
        if (own < 0.0) own = 0.0;  // TC >= 0; only rounding makes it negative
        own += lsum;
        // bound: the set cannot win (or tie) at any budget. Only a set that finishes can be
        // finite with one step left (free sizes, column 0), so the other sets skip that column.
        bool hopeless = true;
        for (int k = (fixed || finishes) ? 0 : 1; k < C; ++k)
          if (!(own > s.best[k] + kTieTol * (1.0 + std::fabs(s.best[k])))) {
            hopeless = false;
            break;
          }
        if (hopeless) {
          if (!fixed) s.dead[local] = 1;
          continue;
        }
        // expected value of the children, per budget column
        if (finishes) {
          std::fill(s.e.begin(), s.e.end(), 0.0);
        } else if (fixed) {
          double acc = 0.0;
          for (std::size_t idx = 0; idx < count; ++idx) {
            if (idx + kAhead < count) __builtin_prefetch(value + s.child[idx + kAhead]);
            const double r = s.r[idx];
            if (r > 0.0) acc += r * value[s.child[idx]];
          }
          s.e[0] = acc;
        } else {
          s.e[0] = kInf;  // one step left but positions would stay masked
          for (int k = 1; k < C; ++k) s.e[k] = 0.0;
          // exact conditionals: a child with at most k masked positions is worth 0 with k
          // steps (one token per step), so only the smaller budgets need its values
          const int live = prob.cond ? C : std::min(C, m - size);
          if (live > 1) {
            for (std::size_t idx = 0; idx < count; ++idx) {
              if (idx + kAhead < count)
                __builtin_prefetch(value + s.child[idx + kAhead] * static_cast<std::uint64_t>(C));
              const double r = s.r[idx];
              if (!(r > 0.0)) continue;
              const double* cv = value + s.child[idx] * static_cast<std::uint64_t>(C);
              for (int k = 1; k < live; ++k) s.e[k] += r * cv[k - 1];
            }
          }
        }
        for (int k = 0; k < C; ++k) {
          const double val = own + s.e[k];
          const double b = s.best[k];
          const double tol = kTieTol * (1.0 + (std::isfinite(b) ? std::fabs(b) : 0.0));
          if (val < b - tol ||
              (std::fabs(val - b) <= tol && popcount32(tset) > popcount32(s.best_set[k]))) {
            s.best[k] = val;
            s.best_set[k] = tset;
          }
        }
      }
    }
    for (int k = 0; k < C; ++k) {
      vrow[k] = s.best[k];
      crow[k] = s.best_set[k];
    }
  }
};

/// Masked sets with `m` positions, in increasing order.
std::vector<std::uint32_t> masked_sets(int n, int m) {
  std::vector<std::uint32_t> out;
  if (m == 0) {
    out.push_back(0);
    return out;
  }
  std::uint32_t v = m >= 32 ? 0xffffffffu : ((1u << m) - 1u);
  for (; v != 0; v = next_combination(v, n)) out.push_back(v);
  return out;
}

}  // namespace

int planner_columns(const PlannerProblem& prob) {
  return prob.sizes.empty() ? prob.budget : 1;
}

std::uint64_t planner_codes(int n, int q) {
  std::uint64_t r = 1;
  for (int i = 0; i < n; ++i) {
    r *= static_cast<std::uint64_t>(q + 1);
    if (r > (std::uint64_t{1} << 40)) throw std::overflow_error("(q+1)^n exceeds 2^40 states");
  }
  return r;
}

double planner_work(const PlannerProblem& prob) {
  Layout lay(prob);
  const int n = prob.n, q = prob.q;
  double total = 0.0;
  const double cols = 1.0 + planner_columns(prob);
  for (int m = 1; m <= n; ++m) {
    const double assigned = std::pow(static_cast<double>(q), n - m);
    for (std::uint32_t masked : masked_sets(n, m)) {
      const std::uint32_t cand = lay.candidates(masked, prob);
      if (!cand) continue;
      const int c = popcount32(cand);
      double per = 0.0;
      if (prob.sizes.empty()) {
        per = std::pow(q + 1.0, c) - 1.0;
      } else {
        const int s = prob.sizes[lay.step_of[m]];
        if (s <= c) {
          double comb = 1.0;
          for (int i = 0; i < s; ++i) comb = comb * (c - i) / (i + 1);
          per = comb * std::pow(static_cast<double>(q), s);
        }
      }
      total += assigned * per * cols;
    }
  }
  return total;
}

void planner_solve(const PlannerProblem& prob, double* value, std::uint32_t* choice, int threads,
                   Interrupt* stop, std::atomic<std::uint64_t>* done) {
  if (prob.n < 1 || prob.n > 31) throw std::invalid_argument("n must be in 1..31");
  if (prob.q < 2) throw std::invalid_argument("q must be >= 2");
  if (prob.sizes.empty() && prob.budget < 1)
    throw std::invalid_argument("the budget must be >= 1 step");
  const int nthreads = resolve_threads(threads);
  const std::uint64_t ncodes = planner_codes(prob.n, prob.q);
  std::vector<double> mlogm(2 * ncodes);
  {
    const std::int64_t total = static_cast<std::int64_t>(ncodes);
#pragma omp parallel for num_threads(nthreads) schedule(static) if (nthreads > 1 && total > 65536)
    for (std::int64_t i = 0; i < total; ++i) {
      const double m = prob.marg[i];
      mlogm[2 * i] = m;
      mlogm[2 * i + 1] = m > 0.0 ? m * std::log(m) : 0.0;
    }
  }
  Solver solver(prob, value, choice, mlogm.data());
  const Layout& lay = solver.lay;
  const int n = prob.n, q = prob.q, C = lay.budget_cols;
  // fully assigned states: nothing left to do
  {
    const std::uint64_t assigned = checked_pow(q, n);
    for (std::uint64_t idx = 0; idx < assigned; ++idx) {
      const std::uint64_t code = lay.code_of(0u, idx);
      for (int k = 0; k < C; ++k) {
        value[code * C + k] = 0.0;
        choice[code * C + k] = 0u;
      }
    }
  }
  bool cancelled = false;
  for (int m = 1; m <= n && !cancelled; ++m) {
    std::vector<std::uint32_t> sets;
    std::vector<std::uint32_t> cands;
    for (std::uint32_t masked : masked_sets(n, m)) {
      const std::uint32_t cand = lay.candidates(masked, prob);
      if (cand) {
        sets.push_back(masked);
        cands.push_back(cand);
      }
    }
    const std::uint64_t per_set = checked_pow(q, n - m);
    const std::int64_t total = static_cast<std::int64_t>(sets.size() * per_set);
    // waking a team costs more than a small level's work (much more on a loaded machine)
    double level_work = 0.0;
    for (std::uint32_t cand : cands)
      level_work += std::pow(static_cast<double>(q + 1), popcount32(cand));
    level_work *= static_cast<double>(per_set);
    const bool parallel = nthreads > 1 && level_work >= 2e6;
#pragma omp parallel num_threads(nthreads) if (parallel)
    {
      Scratch scratch;
#pragma omp for schedule(dynamic, 16)
      for (std::int64_t i = 0; i < total; ++i) {
        if (cancelled) continue;
        if (stop && stop->check()) {
          cancelled = true;
          continue;
        }
        const std::uint64_t si = static_cast<std::uint64_t>(i) / per_set;
        const std::uint64_t xi = static_cast<std::uint64_t>(i) % per_set;
        const std::uint64_t code = lay.code_of(sets[si], xi);
        solver.solve(code, sets[si], cands[si], scratch);
        if (done) done->fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (stop && stop->cancelled()) cancelled = true;
  }
  if (cancelled) throw Interrupted();
}

void planner_law(const PlannerProblem& prob, const std::uint32_t* choice, double* out,
                 Interrupt* stop) {
  Layout lay(prob);
  const int n = prob.n, q = prob.q, C = lay.budget_cols;
  const std::uint64_t S = planner_codes(n, q);
  const bool fixed = !prob.sizes.empty();
  std::vector<double> mass(S, 0.0);
  std::vector<std::int16_t> left(fixed ? 0 : S, -1);
  const std::uint64_t root = S - 1;  // every digit q: all masked
  mass[root] = 1.0;
  if (!fixed) left[root] = static_cast<std::int16_t>(C);
  std::vector<double> cond(static_cast<std::size_t>(n) * q);
  std::vector<int> tpos, digit;
  // a child replaces masked digits (q) by values (< q), so its code is smaller: descending
  // code order visits every parent before its children
  for (std::uint64_t code = S; code-- > 0;) {
    const double w = mass[code];
    if (!(w > 0.0)) continue;
    if (stop && (code & 1023u) == 0 && stop->check()) throw Interrupted();
    std::uint32_t masked = 0;
    std::uint64_t rest = code;
    for (int j = n - 1; j >= 0; --j) {
      if (static_cast<int>(rest % (q + 1)) == q) masked |= 1u << j;
      rest /= static_cast<std::uint64_t>(q + 1);
    }
    if (masked == 0) continue;
    int col = 0;
    if (!fixed) {
      if (left[code] < 1) throw std::logic_error("planner law: a state with no budget left");
      col = left[code] - 1;
    }
    const std::uint32_t tset = choice[code * C + col];
    if (tset == 0 || (tset & ~masked) != 0)
      throw std::logic_error("planner law: no admissible set stored for a reached state");
    tpos.clear();
    std::uint64_t base = code;
    for (int j = 0; j < n; ++j)
      if (tset >> j & 1u) {
        tpos.push_back(j);
        base -= static_cast<std::uint64_t>(q) * lay.weight[j];
      }
    const int size = static_cast<int>(tpos.size());
    const double mc = prob.marg[code];
    for (int t = 0; t < size; ++t) {
      const int j = tpos[t];
      double* cj = cond.data() + static_cast<std::size_t>(t) * q;
      for (int v = 0; v < q; ++v) {
        const std::uint64_t cv = code - static_cast<std::uint64_t>(q - v) * lay.weight[j];
        if (prob.cond)
          cj[v] = prob.cond[cv * n + j];
        else
          cj[v] = mc > 0.0 ? prob.marg[cv] / mc : 1.0 / q;
      }
    }
    digit.assign(size, 0);
    std::uint64_t ch = base;
    std::uint64_t count = 1;
    for (int t = 0; t < size; ++t) count *= static_cast<std::uint64_t>(q);
    for (std::uint64_t idx = 0; idx < count; ++idx) {
      double pr = w;
      for (int t = 0; t < size; ++t) pr *= cond[static_cast<std::size_t>(t) * q + digit[t]];
      if (pr > 0.0) {
        mass[ch] += pr;
        if (!fixed) left[ch] = static_cast<std::int16_t>(left[code] - 1);
      }
      int i = size - 1;
      while (i >= 0) {
        const std::uint64_t wj = lay.weight[tpos[i]];
        if (++digit[i] < q) {
          ch += wj;
          break;
        }
        digit[i] = 0;
        ch -= static_cast<std::uint64_t>(q - 1) * wj;
        --i;
      }
    }
  }
  // fully assigned codes -> the C-order index of x
  const std::uint64_t full = checked_pow(q, n);
  for (std::uint64_t idx = 0; idx < full; ++idx) out[idx] = mass[lay.code_of(0u, idx)];
}

}  // namespace unmask
