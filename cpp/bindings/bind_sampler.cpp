#include <vector>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "unmask/common.hpp"
#include "unmask/sampler.hpp"

namespace unmask_bindings {

using OutArray = py::array_t<double, py::array::c_style>;

void bind_sampler(py::module_& m) {
  m.def(
      "level_marginals",
      [](const CArray& joint, int n, int q, const std::vector<int>& levels, int threads) {
        if (n < 1 || n > 30) throw std::invalid_argument("n must be in 1..30");
        require_size(joint, unmask::checked_pow(q, n), "joint");
        std::vector<bool> wanted(n + 1, false);
        std::vector<double*> out(n + 1, nullptr);
        py::list result;
        for (int l : levels) {
          if (l < 0 || l > n) throw std::invalid_argument("level out of range");
          wanted[l] = true;
        }
        std::vector<OutArray> arrays(n + 1);
        for (int l = 0; l <= n; ++l)
          if (wanted[l]) {
            arrays[l] = OutArray(static_cast<py::ssize_t>(unmask::binomial(n, l) *
                                                          unmask::checked_pow(q, l)));
            out[l] = arrays[l].mutable_data();
          }
        const double* src = joint.data();
        {
          py::gil_scoped_release release;
          unmask::level_marginals(src, n, q, wanted, out, threads);
        }
        py::dict d;
        for (int l = 0; l <= n; ++l)
          if (wanted[l]) d[py::int_(l)] = arrays[l];
        return d;
      },
      py::arg("joint"), py::arg("n"), py::arg("q"), py::arg("levels"), py::arg("threads"),
      "Subset marginals for the given levels: {l: C(n,l)*q^l values, subsets in mask order}.");
  m.def(
      "law_step",
      [](const CArray& src, OutArray dst, int n, int q, int i, int s, double weight,
         py::object marg_cur, py::object marg_next, double temperature, py::object table,
         int threads) {
        if (n < 1 || n > 30) throw std::invalid_argument("n must be in 1..30");
        if (i < 0 || s < 1 || i + s > n) throw std::invalid_argument("need 0 <= i < i+s <= n");
        require_size(src, unmask::binomial(n, i) * unmask::checked_pow(q, i), "src");
        require_size(dst, unmask::binomial(n, i + s) * unmask::checked_pow(q, i + s), "dst");
        CArray marg, cur, tab;
        const double* mp = nullptr;
        const double* cp = nullptr;
        const double* tp = nullptr;
        if (!table.is_none()) {
          tab = table.cast<CArray>();
          require_size(tab, unmask::binomial(n, i) * unmask::checked_pow(q, i) * (n - i) * q,
                       "table");
          tp = tab.data();
        } else {
          marg = marg_next.cast<CArray>();
          require_size(marg, unmask::binomial(n, i + 1) * unmask::checked_pow(q, i + 1),
                       "marg_next");
          mp = marg.data();
          if (!marg_cur.is_none()) {
            cur = marg_cur.cast<CArray>();
            require_size(cur, unmask::binomial(n, i) * unmask::checked_pow(q, i), "marg_cur");
            cp = cur.data();
          }
        }
        const double* sp = src.data();
        double* dp = dst.mutable_data();
        run_interruptible([&](unmask::Interrupt& stop) {
          unmask::law_step(sp, dp, n, q, i, s, weight, cp, mp, temperature, tp, threads, &stop);
        });
      },
      py::arg("src"), py::arg("dst").noconvert(), py::arg("n"), py::arg("q"), py::arg("i"), py::arg("s"),
      py::arg("weight"), py::arg("marg_cur"), py::arg("marg_next"), py::arg("temperature"), py::arg("table"),
      py::arg("threads"), "Accumulate one step of the random-order level DP into dst.");
}

}  // namespace unmask_bindings
