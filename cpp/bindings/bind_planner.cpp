// Bindings for the best deterministic planner (unmask/planner.hpp).
#include <atomic>
#include <cstdint>
#include <vector>

#include <pybind11/stl.h>

#include "bindings.hpp"
#include "unmask/planner.hpp"

namespace unmask_bindings {

namespace {

using ChoiceArray = py::array_t<std::uint32_t, py::array::c_style>;
using OutArray = py::array_t<double, py::array::c_style>;

unmask::PlannerProblem make_problem(const CArray& marg, const py::object& cond, int n, int q,
                                    int budget, const std::vector<int>& sizes, int block_width,
                                    CArray& cond_keep) {
  if (n < 1 || n > 31) throw std::invalid_argument("n must be in 1..31");
  if (q < 2) throw std::invalid_argument("q must be >= 2");
  const std::uint64_t codes = unmask::planner_codes(n, q);
  require_size(marg, codes, "marg");
  unmask::PlannerProblem prob;
  prob.n = n;
  prob.q = q;
  prob.marg = marg.data();
  prob.budget = budget;
  prob.sizes = sizes;
  prob.block_width = block_width;
  if (!cond.is_none()) {
    cond_keep = cond.cast<CArray>();
    require_size(cond_keep, codes * static_cast<std::uint64_t>(n), "cond");
    prob.cond = cond_keep.data();
  }
  if (sizes.empty()) {
    if (budget < 1 || budget > n) throw std::invalid_argument("need 1 <= budget <= n");
  } else {
    int total = 0;
    for (int s : sizes) {
      if (s < 1) throw std::invalid_argument("step sizes must be >= 1");
      total += s;
    }
    if (total != n) throw std::invalid_argument("step sizes must sum to n");
  }
  if (block_width < 0) throw std::invalid_argument("block_width must be >= 0");
  return prob;
}

}  // namespace

void bind_planner(py::module_& m) {
  m.def(
      "planner_work",
      [](int n, int q, int budget, const std::vector<int>& sizes, int block_width) {
        unmask::PlannerProblem prob;
        prob.n = n;
        prob.q = q;
        prob.budget = budget;
        prob.sizes = sizes;
        prob.block_width = block_width;
        if (n < 1 || n > 31 || q < 2) throw std::invalid_argument("need 1 <= n <= 31, q >= 2");
        return unmask::planner_work(prob);
      },
      py::arg("n"), py::arg("q"), py::arg("budget"), py::arg("sizes"), py::arg("block_width"),
      "Candidate-set evaluations of the planner DP without pruning (time estimate).");
  m.def(
      "planner_solve",
      [](const CArray& marg, py::object cond, int n, int q, int budget,
         const std::vector<int>& sizes, int block_width, OutArray value, ChoiceArray choice,
         int threads, py::object progress, std::uint64_t total) {
        CArray cond_keep;
        const unmask::PlannerProblem prob =
            make_problem(marg, cond, n, q, budget, sizes, block_width, cond_keep);
        const std::uint64_t cols = static_cast<std::uint64_t>(unmask::planner_columns(prob));
        const std::uint64_t codes = unmask::planner_codes(n, q);
        require_size(value, codes * cols, "value");
        require_size(choice, codes * cols, "choice");
        double* vp = value.mutable_data();
        std::uint32_t* cp = choice.mutable_data();
        std::atomic<std::uint64_t> done{0};
        unmask::Interrupt stop([&]() {
          py::gil_scoped_acquire gil;
          if (!progress.is_none()) {
            try {
              progress(done.load(), total);
            } catch (py::error_already_set& err) {
              err.restore();
              return true;
            }
          }
          return PyErr_CheckSignals() != 0;
        });
        bool interrupted = false;
        {
          py::gil_scoped_release release;
          try {
            unmask::planner_solve(prob, vp, cp, threads, &stop, &done);
          } catch (const unmask::Interrupted&) {
            interrupted = true;
          }
        }
        if (interrupted) {
          if (PyErr_Occurred()) throw py::error_already_set();
          throw std::runtime_error("computation interrupted");
        }
        if (!progress.is_none()) progress(total, total);
      },
      py::arg("marg"), py::arg("cond"), py::arg("n"), py::arg("q"), py::arg("budget"),
      py::arg("sizes"), py::arg("block_width"), py::arg("value").noconvert(),
      py::arg("choice").noconvert(), py::arg("threads"), py::arg("progress"), py::arg("total"),
      "Solve the planner DP into the value and choice tables (codes x columns).");
  m.def(
      "planner_law",
      [](const CArray& marg, py::object cond, int n, int q, int budget,
         const std::vector<int>& sizes, int block_width, const ChoiceArray& choice) {
        CArray cond_keep;
        const unmask::PlannerProblem prob =
            make_problem(marg, cond, n, q, budget, sizes, block_width, cond_keep);
        const std::uint64_t cols = static_cast<std::uint64_t>(unmask::planner_columns(prob));
        require_size(choice, unmask::planner_codes(n, q) * cols, "choice");
        OutArray out(static_cast<py::ssize_t>(unmask::checked_pow(q, n)));
        double* op = out.mutable_data();
        const std::uint32_t* cp = choice.data();
        run_interruptible(
            [&](unmask::Interrupt& stop) { unmask::planner_law(prob, cp, op, &stop); });
        return out;
      },
      py::arg("marg"), py::arg("cond"), py::arg("n"), py::arg("q"), py::arg("budget"),
      py::arg("sizes"), py::arg("block_width"), py::arg("choice"),
      "Exact law (q^n values, C order) of the planner whose choices are given.");
}

}  // namespace unmask_bindings
