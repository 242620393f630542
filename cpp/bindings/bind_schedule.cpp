// Bindings for the optimal-schedule solvers (unmask/schedule_dp.hpp).
#include <cstdint>
#include <optional>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "unmask/text.hpp"
#include "unmask/schedule_dp.hpp"

namespace unmask_bindings {

namespace {

using IntTable = py::array_t<std::int32_t, py::array::c_style>;
using Bounds = py::array_t<std::int64_t>;

int profile_length(const CArray& h) {
  if (h.ndim() != 1 || h.size() < 1) throw std::invalid_argument("h must be a non-empty 1-d array");
  if (h.size() > 2147483646) throw std::invalid_argument("h is too long for the solver");
  return static_cast<int>(h.size());
}

}  // namespace

void bind_schedule(py::module_& m) {
  m.def(
      "schedule_lagrangian",
      [](const CArray& h, int steps, int max_iterations) {
        const int n = profile_length(h);
        Bounds bounds(static_cast<py::ssize_t>(steps) + 1);
        std::int64_t* out = bounds.mutable_data();
        unmask::LagrangianReport report;
        const double* hp = h.data();
        run_interruptible([&](unmask::Interrupt& stop) {
          const unmask::BlockCost g(hp, n);
          report = unmask::lagrangian_schedule(g, steps, out, &stop, max_iterations);
        });
        return py::make_tuple(bounds, report.cost, report.iterations, report.spliced,
                              report.penalty, report.converged);
      },
      py::arg("h"), py::arg("steps"), py::arg("max_iterations") = 200,
      "Exactly-K optimum by the Lagrangian relaxation: (bounds, cost, iterations, spliced, "
      "penalty, converged).");
  m.def(
      "schedule_penalised",
      [](const CArray& h, double penalty, bool prefer_more) {
        const int n = profile_length(h);
        std::vector<std::int64_t> path;
        {
          py::gil_scoped_release release;
          const unmask::BlockCost g(h.data(), n);
          unmask::penalised_path(g, penalty, prefer_more, path);
        }
        Bounds bounds(static_cast<py::ssize_t>(path.size()));
        std::copy(path.begin(), path.end(), bounds.mutable_data());
        return bounds;
      },
      py::arg("h"), py::arg("penalty"), py::arg("prefer_more"),
      "Boundaries of the optimum of sum (g + penalty) over any number of steps.");
  m.def(
      "schedule_layers",
      [](const CArray& h, int max_steps, bool keep_argmins, int threads) {
        const int n = profile_length(h);
        if (max_steps < 1 || max_steps > n) throw std::invalid_argument("need 1 <= max_steps <= n");
        py::array_t<double> costs(max_steps);
        std::optional<IntTable> argmins;
        std::int32_t* arg = nullptr;
        if (keep_argmins) {
          argmins.emplace(std::vector<py::ssize_t>{max_steps, static_cast<py::ssize_t>(n) + 1});
          arg = argmins->mutable_data();
        }
        double* out = costs.mutable_data();
        const double* hp = h.data();
        run_interruptible([&](unmask::Interrupt& stop) {
          const unmask::BlockCost g(hp, n);
          unmask::layer_frontier(g, max_steps, out, arg, threads, &stop);
        });
        return py::make_tuple(costs, argmins ? py::object(*argmins) : py::object(py::none()));
      },
      py::arg("h"), py::arg("max_steps"), py::arg("keep_argmins"), py::arg("threads"),
      "Frontier by per-layer divide and conquer: (costs[K-1], argmins or None).");
  m.def(
      "schedule_plain",
      [](std::optional<CArray> h, std::optional<CArray> matrix, int n, int max_steps,
         bool keep_argmins, int threads) {
        if (n < 1) throw std::invalid_argument("need n >= 1");
        if (max_steps < 1 || max_steps > n) throw std::invalid_argument("need 1 <= max_steps <= n");
        if (h.has_value() == matrix.has_value())
          throw std::invalid_argument("give exactly one of h and matrix");
        if (h) require_size(*h, static_cast<std::size_t>(n), "h");
        if (matrix)
          require_size(*matrix, (static_cast<std::size_t>(n) + 1) * (n + 1), "cost matrix");
        py::array_t<double> costs(max_steps);
        std::optional<IntTable> argmins;
        std::int32_t* arg = nullptr;
        if (keep_argmins) {
          argmins.emplace(std::vector<py::ssize_t>{max_steps, static_cast<py::ssize_t>(n) + 1});
          arg = argmins->mutable_data();
        }
        double* out = costs.mutable_data();
        const double* hp = h ? h->data() : nullptr;
        const double* mp = matrix ? matrix->data() : nullptr;
        run_interruptible([&](unmask::Interrupt& stop) {
          if (hp) {
            const unmask::BlockCost g(hp, n);
            unmask::plain_frontier(&g, nullptr, n, max_steps, out, arg, threads, &stop);
          } else {
            unmask::plain_frontier(nullptr, mp, n, max_steps, out, arg, threads, &stop);
          }
        });
        return py::make_tuple(costs, argmins ? py::object(*argmins) : py::object(py::none()));
      },
      py::arg("h"), py::arg("matrix"), py::arg("n"), py::arg("max_steps"),
      py::arg("keep_argmins"), py::arg("threads"),
      "Plain O(K n^2) frontier for h or a dense (n+1)x(n+1) cost matrix.");
  m.def(
      "schedule_reconstruct",
      [](const IntTable& argmins, int n, int k) {
        if (argmins.ndim() != 2 || argmins.shape(1) != static_cast<py::ssize_t>(n) + 1 ||
            k < 1 || k > argmins.shape(0))
          throw std::invalid_argument("argmin table does not match n or k");
        Bounds bounds(static_cast<py::ssize_t>(k) + 1);
        unmask::reconstruct(argmins.data(), n, k, bounds.mutable_data());
        return bounds;
      },
      py::arg("argmins"), py::arg("n"), py::arg("k"),
      "Boundaries of the k-step optimum from a parent table.");
  m.def(
      "schedule_path_cost",
      [](const CArray& h, const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>&
                              bounds) {
        const int n = profile_length(h);
        const auto steps = static_cast<int>(bounds.size()) - 1;
        if (steps < 1) throw std::invalid_argument("need at least two boundaries");
        const std::int64_t* b = bounds.data();
        for (int k = 0; k < steps; ++k)
          if (b[k] < 0 || b[k] >= b[k + 1] || b[k + 1] > n)
            throw std::invalid_argument("boundaries must increase strictly within 0..n");
        const unmask::BlockCost g(h.data(), n);
        return unmask::path_cost(g, b, steps);
      },
      py::arg("h"), py::arg("bounds"), "Compensated sum of g over consecutive boundaries.");
  m.def(
      "csv_rows",
      [](const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& ints,
         const CArray& floats) {
        if (ints.ndim() != 2 || floats.ndim() != 2 || ints.shape(0) != floats.shape(0))
          throw std::invalid_argument("csv_rows needs two 2-d arrays with the same rows");
        const auto rows = static_cast<std::int64_t>(ints.shape(0));
        const int ni = static_cast<int>(ints.shape(1)), nf = static_cast<int>(floats.shape(1));
        std::string text;
        {
          py::gil_scoped_release release;
          text = unmask::csv_rows(ints.data(), ni, floats.data(), nf, rows);
        }
        return py::str(text);
      },
      py::arg("ints"), py::arg("floats"),
      "CSV rows: the int columns, then the float columns written as Python's repr.");
}

}  // namespace unmask_bindings
