// Optimal schedules: layer divide and conquer, Lagrangian relaxation, plain DP (theory section 7).
#include "unmask/schedule_dp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "unmask/common.hpp"

namespace unmask {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

BlockCost::BlockCost(const double* h, int n)
    : n_(n), h_(h, h + n), sum_hi_(n + 1, 0.0), sum_lo_(n + 1, 0.0) {
  if (n < 1) throw std::invalid_argument("a profile needs n >= 1");
  h_.push_back(0.0);
  // Neumaier running sum: C[i] = sum_hi_[i] + sum_lo_[i] to about one ulp of C[i], so that
  // C[b] - C[a] keeps its accuracy when a and b are far apart and C is large (n = 1e5).
  CompensatedSum acc;
  for (int i = 0; i < n; ++i) {
    acc.add(h[i]);
    sum_hi_[i + 1] = acc.sum;
    sum_lo_[i + 1] = acc.comp;
  }
}

double BlockCost::operator()(int a, int b) const {
  // g is a small difference of two large numbers ((b-a) h(a) and C[b] - C[a] are both about
  // (b-a) h(a)). Both are formed exactly as unevaluated sums (FMA product, TwoSum difference),
  // so the one cancelling subtraction below is exact (Sterbenz) and g keeps full accuracy even
  // when h carries a large offset.
  const double len = static_cast<double>(b - a);
  const double prod = len * h_[a];
  const double prod_err = std::fma(len, h_[a], -prod);
  const double diff = sum_hi_[b] - sum_hi_[a];
  const double back = diff - sum_hi_[b];
  const double diff_err = (sum_hi_[b] - (diff - back)) + (-sum_hi_[a] - back);
  return (prod - diff) + ((prod_err - diff_err) - (sum_lo_[b] - sum_lo_[a]));
}

double path_cost(const BlockCost& g, const std::int64_t* bounds, int steps) {
  CompensatedSum acc;
  for (int k = 0; k < steps; ++k)
    acc.add(g(static_cast<int>(bounds[k]), static_cast<int>(bounds[k + 1])));
  return acc.value();
}

int penalised_path(const BlockCost& g, double penalty, bool prefer_more,
                   std::vector<std::int64_t>& bounds, Interrupt* stop) {
  const int n = g.n();
  std::vector<double> value(n + 1, kInf);
  std::vector<int> count(n + 1, 0), parent(n + 1, 0);
  value[0] = 0.0;
  // Candidate a (a start of the last block) with the first column `from` where it is the best.
  // By the quadrangle inequality a later candidate, once better, stays better for larger columns,
  // so the candidates form a queue ordered by both a and `from`.
  struct Candidate {
    int a;
    int from;
  };
  std::vector<Candidate> queue;
  queue.reserve(static_cast<std::size_t>(n) + 1);
  std::size_t head = 0;
  auto eval = [&](int a, int b) { return value[a] + g(a, b) + penalty; };
  // Whether candidate `x` is strictly better than `y` at column b (ties broken on step count).
  auto better = [&](int x, int y, int b) {
    const double vx = eval(x, b), vy = eval(y, b);
    if (vx != vy) return vx < vy;
    return prefer_more ? count[x] > count[y] : count[x] < count[y];
  };
  queue.push_back({0, 1});
  for (int b = 1; b <= n; ++b) {
    if (stop && stop->check()) throw Interrupted();
    while (queue.size() - head > 1 && queue[head + 1].from <= b) ++head;
    const int a = queue[head].a;
    value[b] = eval(a, b);
    count[b] = count[a] + 1;
    parent[b] = a;
    if (b == n) break;
    // Insert candidate b for columns > b.
    while (queue.size() > head) {
      const Candidate& last = queue.back();
      if (last.from > b && better(b, last.a, last.from))
        queue.pop_back();
      else
        break;
    }
    if (queue.size() == head) {
      queue.push_back({b, b + 1});
      continue;
    }
    const Candidate last = queue.back();
    int lo = std::max(last.from, b + 1), hi = n + 1;  // first column in [lo, n] where b wins
    while (lo < hi) {
      const int mid = lo + (hi - lo) / 2;
      if (better(b, last.a, mid))
        hi = mid;
      else
        lo = mid + 1;
    }
    if (lo <= n) queue.push_back({b, lo});
  }
  const int steps = count[n];
  bounds.assign(static_cast<std::size_t>(steps) + 1, 0);
  int b = n;
  for (int k = steps; k >= 0; --k) {
    bounds[k] = b;
    b = parent[b];
  }
  return steps;
}

namespace {

// A k-step path from an optimal p-step path `low` and an optimal q-step one `high` (p < k < q,
// both optimal for the same penalty): take high up to r_j and low from l_{t+1} on, where
// l_t <= r_j < r_{j+1} <= l_{t+1} and j - t = k - p. The quadrangle inequality makes the spliced
// path (and its mirror with q + p - k steps) optimal too; such (j, t) exists because j - t(j)
// climbs from 0 to q - p in unit steps.
std::vector<std::int64_t> splice(const std::vector<std::int64_t>& low,
                                 const std::vector<std::int64_t>& high, int k) {
  const int p = static_cast<int>(low.size()) - 1, q = static_cast<int>(high.size()) - 1;
  const int d = k - p;
  int t = 0;
  auto advance = [&](std::int64_t r) {
    while (t + 1 <= p && low[t + 1] <= r) ++t;
    return t;
  };
  for (int j = 0; j < q; ++j) {
    const int tj = advance(high[j]);
    if (j - tj != d) continue;
    int tn = tj;
    while (tn + 1 <= p && low[tn + 1] <= high[j + 1]) ++tn;
    if (tn == tj) {
      std::vector<std::int64_t> out(high.begin(), high.begin() + j + 1);
      out.insert(out.end(), low.begin() + tj + 1, low.end());
      return out;
    }
  }
  throw std::runtime_error("splice of two penalised optima failed (no crossing found)");
}

}  // namespace

LagrangianReport lagrangian_schedule(const BlockCost& g, int steps, std::int64_t* bounds,
                                     Interrupt* stop, int max_iterations) {
  const int n = g.n();
  if (steps < 1 || steps > n)
    throw std::invalid_argument("need 1 <= steps <= n, got steps = " + std::to_string(steps) +
                                ", n = " + std::to_string(n));
  LagrangianReport report;
  auto finish = [&](const std::vector<std::int64_t>& path) {
    std::copy(path.begin(), path.end(), bounds);
    report.cost = path_cost(g, bounds, steps);
    return report;
  };
  std::vector<std::int64_t> low{0, n};  // fewest steps: one block
  std::vector<std::int64_t> high(static_cast<std::size_t>(n) + 1);
  for (int i = 0; i <= n; ++i) high[i] = i;
  if (steps == 1) return finish(low);
  if (steps == n) return finish(high);
  double cost_low = path_cost(g, low.data(), 1);
  double cost_high = path_cost(g, high.data(), n);
  std::vector<std::int64_t> path;
  // Chord (Newton) iteration on the convex frontier: the penalty is minus the slope of the chord
  // between the current bracketing hull vertices. A penalised optimum strictly inside the bracket
  // is a new hull vertex; otherwise the chord is a facet and both ends are optimal for it.
  report.converged = false;
  while (report.iterations < max_iterations) {
    const int p = static_cast<int>(low.size()) - 1, q = static_cast<int>(high.size()) - 1;
    const double penalty = (cost_low - cost_high) / static_cast<double>(q - p);
    report.penalty = penalty;
    ++report.iterations;
    const int c = penalised_path(g, penalty, false, path, stop);
    if (c == steps) {
      report.converged = true;
      return finish(path);
    }
    if (c <= p || c >= q) {
      report.converged = true;
      break;
    }
    const double cost = path_cost(g, path.data(), c);
    if (c < steps) {
      low.swap(path);
      cost_low = cost;
    } else {
      high.swap(path);
      cost_high = cost;
    }
  }
  report.spliced = true;
  return finish(splice(low, high, steps));
}

namespace {

struct Subproblem {
  int blo, bhi, olo, ohi;
};

// Best start a in [olo, min(ohi, b-1)] for column b (first minimum: deterministic).
inline void best_start(const BlockCost& g, const double* prev, double* cur, std::int32_t* arg,
                       int b, int olo, int ohi) {
  double best = kInf;
  int best_a = olo;
  const int top = std::min(ohi, b - 1);
  for (int a = olo; a <= top; ++a) {
    const double v = prev[a] + g(a, b);
    if (v < best) {
      best = v;
      best_a = a;
    }
  }
  cur[b] = best;
  arg[b] = best_a;
}

void divide_and_conquer(const BlockCost& g, const double* prev, double* cur, std::int32_t* arg,
                        Subproblem sp, Interrupt* stop) {
  if (sp.blo > sp.bhi || (stop && stop->check())) return;
  const int mid = sp.blo + (sp.bhi - sp.blo) / 2;
  best_start(g, prev, cur, arg, mid, sp.olo, sp.ohi);
  divide_and_conquer(g, prev, cur, arg, {sp.blo, mid - 1, sp.olo, arg[mid]}, stop);
  divide_and_conquer(g, prev, cur, arg, {mid + 1, sp.bhi, arg[mid], sp.ohi}, stop);
}

// One layer. With several threads the top levels of the recursion run serially until there
// are a few independent column ranges per thread, which then run in parallel. Every column's
// argmin is the same as in the serial recursion, so results do not depend on the thread count.
void solve_layer(const BlockCost& g, const double* prev, double* cur, std::int32_t* arg,
                 Subproblem root, int nthreads, Interrupt* stop) {
  if (nthreads <= 1 || root.bhi - root.blo < 32768) {
    divide_and_conquer(g, prev, cur, arg, root, stop);
    return;
  }
  std::vector<Subproblem> level{root};
  while (level.size() < static_cast<std::size_t>(8 * nthreads)) {
    std::vector<Subproblem> next;
    for (const Subproblem& sp : level) {
      if (sp.blo > sp.bhi) continue;
      const int mid = sp.blo + (sp.bhi - sp.blo) / 2;
      best_start(g, prev, cur, arg, mid, sp.olo, sp.ohi);
      next.push_back({sp.blo, mid - 1, sp.olo, arg[mid]});
      next.push_back({mid + 1, sp.bhi, arg[mid], sp.ohi});
    }
    level.swap(next);
  }
  const long count = static_cast<long>(level.size());
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 1)
  for (long i = 0; i < count; ++i) divide_and_conquer(g, prev, cur, arg, level[i], stop);
}

}  // namespace

void layer_frontier(const BlockCost& g, int max_steps, double* costs, std::int32_t* argmins,
                    int threads, Interrupt* stop) {
  const int n = g.n();
  if (max_steps < 1 || max_steps > n) throw std::invalid_argument("need 1 <= max_steps <= n");
  const int nthreads = resolve_threads(threads);
  std::vector<double> prev(n + 1, kInf), cur(n + 1, kInf);
  std::vector<std::int32_t> scratch(argmins ? 0 : n + 1, 0);
  for (int b = 0; b <= n; ++b) prev[b] = b == 0 ? kInf : g(0, b);
  costs[0] = prev[n];
  if (argmins) std::fill(argmins, argmins + (n + 1), 0);
  for (int k = 2; k <= max_steps; ++k) {
    std::int32_t* arg = argmins ? argmins + static_cast<std::size_t>(k - 1) * (n + 1)
                                : scratch.data();
    std::fill(cur.begin(), cur.begin() + k, kInf);
    if (argmins) std::fill(arg, arg + k, 0);
    solve_layer(g, prev.data(), cur.data(), arg, {k, n, k - 1, n - 1}, nthreads, stop);
    if (stop && stop->cancelled()) throw Interrupted();
    costs[k - 1] = cur[n];
    prev.swap(cur);
  }
}

void plain_frontier(const BlockCost* g, const double* matrix, int n, int max_steps,
                    double* costs, std::int32_t* argmins, int threads, Interrupt* stop) {
  if (max_steps < 1 || max_steps > n) throw std::invalid_argument("need 1 <= max_steps <= n");
  const int nthreads = resolve_threads(threads);
  const std::size_t width = static_cast<std::size_t>(n) + 1;
  auto cost = [&](int a, int b) {
    return matrix ? matrix[static_cast<std::size_t>(a) * width + b] : (*g)(a, b);
  };
  std::vector<double> prev(width, kInf), cur(width, kInf);
  prev[0] = 0.0;
  std::vector<std::int32_t> scratch(argmins ? 0 : width, 0);
  for (int k = 1; k <= max_steps; ++k) {
    std::int32_t* arg = argmins ? argmins + static_cast<std::size_t>(k - 1) * width
                                : scratch.data();
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 64) if (n > 2048)
    for (int b = 0; b <= n; ++b) {
      if (stop && stop->check()) continue;  // no exceptions inside the parallel loop
      double best = kInf;
      int best_a = 0;
      for (int a = k - 1; a < b; ++a) {
        const double v = prev[a] + cost(a, b);
        if (v < best) {
          best = v;
          best_a = a;
        }
      }
      cur[b] = best;
      arg[b] = best_a;
    }
    if (stop && stop->cancelled()) throw Interrupted();
    costs[k - 1] = cur[n];
    prev.swap(cur);
  }
}

void reconstruct(const std::int32_t* argmins, int n, int k, std::int64_t* bounds) {
  const std::size_t width = static_cast<std::size_t>(n) + 1;
  bounds[k] = n;
  for (int step = k; step >= 1; --step) {
    const std::size_t column = static_cast<std::size_t>(bounds[step]);
    const std::int64_t parent = argmins[static_cast<std::size_t>(step - 1) * width + column];
    // A parent table from the DPs always points strictly left (and to 0 on layer 1); anything
    // else is a corrupt table, and following it would read outside the buffer.
    if (parent < 0 || parent >= bounds[step] || (step == 1 && parent != 0))
      throw std::out_of_range("corrupt parent table: layer " + std::to_string(step) +
                              " points from " + std::to_string(bounds[step]) + " to " +
                              std::to_string(parent));
    bounds[step - 1] = parent;
  }
}

}  // namespace unmask
