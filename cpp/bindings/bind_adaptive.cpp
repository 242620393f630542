#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "unmask/adaptive.hpp"
#include "unmask/common.hpp"
#include "unmask/sampler.hpp"

namespace unmask_bindings {

namespace {

using OutArray = py::array_t<double, py::array::c_style>;

// Resolves the conditional source of level i: a table, or the level-(i+1) marginals.
struct Source {
  CArray marg, tab;
  unmask::ConditionalSource src;
};

void resolve_source(Source& s, int n, int q, int i, py::object marg_next, double temperature,
                    py::object table) {
  if (!table.is_none()) {
    s.tab = table.cast<CArray>();
    require_size(s.tab, unmask::binomial(n, i) * unmask::checked_pow(q, i) * (n - i) * q, "table");
    s.src.table = s.tab.data();
  } else {
    s.marg = marg_next.cast<CArray>();
    require_size(s.marg, unmask::binomial(n, i + 1) * unmask::checked_pow(q, i + 1), "marg_next");
    s.src.marg_next = s.marg.data();
  }
  s.src.temperature = temperature;
}

void check_shape(int n, int q, int i) {
  if (n < 1 || n > 30) throw std::invalid_argument("n must be in 1..30");
  if (q < 2) throw std::invalid_argument("q must be >= 2");
  if (i < 0 || i >= n) throw std::invalid_argument("need 0 <= i < n");
}

}  // namespace

void bind_adaptive(py::module_& m) {
  m.def(
      "adaptive_step",
      [](int rule, const CArray& src, OutArray dst, int n, int q, int i, int s,
         const std::vector<int>& block_of, py::object marg_next, double temperature,
         py::object table, py::object scores, int threads) {
        check_shape(n, q, i);
        if (s < 1 || i + s > n) throw std::invalid_argument("need 1 <= s <= n - i");
        require_size(src, unmask::binomial(n, i) * unmask::checked_pow(q, i), "src");
        require_size(dst, unmask::binomial(n, i + s) * unmask::checked_pow(q, i + s), "dst");
        Source source;
        resolve_source(source, n, q, i, marg_next, temperature, table);
        CArray sc;
        const double* sp = nullptr;
        if (!scores.is_none()) {
          sc = scores.cast<CArray>();
          require_size(sc, unmask::binomial(n, i) * unmask::checked_pow(q, i) * (n - i), "scores");
          sp = sc.data();
        }
        const double* in = src.data();
        double* out = dst.mutable_data();
        run_interruptible([&](unmask::Interrupt& stop) {
          unmask::adaptive_step(rule, in, out, n, q, i, s, block_of, source.src, sp, threads,
                                &stop);
        });
      },
      py::arg("rule"), py::arg("src"), py::arg("dst").noconvert(), py::arg("n"), py::arg("q"),
      py::arg("i"), py::arg("s"), py::arg("block_of"), py::arg("marg_next"),
      py::arg("temperature"), py::arg("table"), py::arg("scores"), py::arg("threads"),
      "Accumulate one fixed-size step of an adaptive rule (level i -> i + s) into dst.");
  m.def(
      "threshold_offsets",
      [](int n, int q) {
        if (n < 1 || n > 30) throw std::invalid_argument("n must be in 1..30");
        if (q < 2) throw std::invalid_argument("q must be >= 2");
        return unmask::threshold_offsets(n, q);
      },
      py::arg("n"), py::arg("q"), "Offsets of the levels of the threshold buffer (n + 2 entries).");
  m.def(
      "adaptive_threshold_level",
      [](OutArray levels, int n, int q, int i, double tau, const std::vector<int>& block_of,
         py::object marg_next, double temperature, py::object table, int threads) {
        check_shape(n, q, i);
        require_size(levels, unmask::threshold_offsets(n, q).back(), "levels");
        Source source;
        resolve_source(source, n, q, i, marg_next, temperature, table);
        double* buf = levels.mutable_data();
        run_interruptible([&](unmask::Interrupt& stop) {
          unmask::adaptive_threshold_level(buf, n, q, i, tau, block_of, source.src, threads, &stop);
        });
      },
      py::arg("levels").noconvert(), py::arg("n"), py::arg("q"), py::arg("i"), py::arg("tau"),
      py::arg("block_of"), py::arg("marg_next"), py::arg("temperature"), py::arg("table"),
      py::arg("threads"), "Push the states of level i one threshold step forward (in place).");
}

}  // namespace unmask_bindings
