#include <pybind11/stl.h>

#include "bindings.hpp"
#include "unmask/common.hpp"
#include "unmask/entropy.hpp"
#include "unmask/plogp.hpp"

namespace unmask_bindings {

void bind_entropy(py::module_& m) {
  m.def(
      "subset_entropies",
      [](const CArray& joint, int n, int q, py::array_t<double, py::array::c_style> out,
         int threads, std::size_t big_table) {
        // `out` is written in place: noconvert() makes a float64 array that is not
        // C-contiguous a TypeError instead of a silently filled temporary copy.
        if (n < 1 || n > 62) throw std::invalid_argument("n must be in 1..62");
        if (q < 2) throw std::invalid_argument("q must be >= 2");
        if (!out.writeable()) throw std::invalid_argument("out must be writeable");
        const std::uint64_t size = unmask::checked_pow(q, n);
        require_size(joint, size, "joint");
        require_size(out, std::size_t(1) << n, "out");
        const double* src = joint.data();
        double* dst = out.mutable_data();
        run_interruptible([&](unmask::Interrupt& stop) {
          unmask::subset_entropies(src, n, q, dst, threads, &stop, big_table);
        });
      },
      py::arg("joint"), py::arg("n"), py::arg("q"), py::arg("out").noconvert(), py::arg("threads"),
      py::arg("big_table") = unmask::kDefaultBigTable,
      "Fill out (length 2^n) with H(X_A) in nats for every bitmask A.");
  m.def(
      "subset_entropies_subtree",
      [](const CArray& joint, int n, int q, int k, std::uint64_t keep,
         py::array_t<double, py::array::c_style> out, int threads) {
        if (n < 2 || n > 62) throw std::invalid_argument("n must be in 2..62");
        if (q < 2) throw std::invalid_argument("q must be >= 2");
        if (k < 1 || k >= n) throw std::invalid_argument("k must be in 1..n-1");
        if (!out.writeable()) throw std::invalid_argument("out must be writeable");
        require_size(joint, unmask::checked_pow(q, n), "joint");
        require_size(out, std::size_t(1) << (n - k), "out");
        const double* src = joint.data();
        double* dst = out.mutable_data();
        run_interruptible([&](unmask::Interrupt& stop) {
          unmask::subset_entropies_subtree(src, n, q, k, keep, dst, threads, &stop);
        });
      },
      py::arg("joint"), py::arg("n"), py::arg("q"), py::arg("k"), py::arg("keep"),
      py::arg("out").noconvert(), py::arg("threads"),
      "Fill out (length 2^(n-k)) with the sub-lattice of subset_entropies whose k highest "
      "variables are fixed by keep.");
  m.def("subset_entropies_workspace_bytes", &unmask::subset_entropies_workspace_bytes,
        py::arg("n"), py::arg("q"), py::arg("threads"));
  m.def(
      "level_sums",
      [](const CArray& values, int n) {
        if (n < 0 || n > 62) throw std::invalid_argument("level_sums needs 0 <= n <= 62");
        require_size(values, std::size_t(1) << n, "values");
        py::array_t<double> sums(n + 1);
        const double* src = values.data();
        double* dst = sums.mutable_data();
        {
          py::gil_scoped_release release;
          unmask::level_sums(src, n, dst);
        }
        return sums;
      },
      py::arg("values"), py::arg("n"), "Compensated sums of values[A] grouped by |A|.");
  m.def(
      "plogp_sum",
      [](const CArray& x, const std::string& kernel) {
        const double* src = x.data();
        const std::size_t len = x.size();
        py::gil_scoped_release release;
        return kernel.empty() ? unmask::plogp_sum(src, len)
                              : unmask::plogp_sum_with(kernel.c_str(), src, len);
      },
      py::arg("x"), py::arg("kernel") = "", "sum x log x with 0 log 0 = 0.");
  m.def(
      "log_array",
      [](const CArray& x, const std::string& kernel) {
        py::array_t<double> out(x.size());
        if (kernel.empty())
          unmask::log_array(x.data(), out.mutable_data(), x.size());
        else
          unmask::log_array_with(kernel.c_str(), x.data(), out.mutable_data(), x.size());
        return out;
      },
      py::arg("x"), py::arg("kernel") = "", "Natural log with the core's vector kernel.");
  m.def("plogp_kernels", &unmask::plogp_kernels, "Kernels this CPU can run, fastest first.");
}

}  // namespace unmask_bindings
