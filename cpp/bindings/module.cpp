// Assembles the private extension module unmask._core from the per-area bindings.
#include "bindings.hpp"
#include "unmask/common.hpp"
#include "unmask/plogp.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_core, m) {
  m.doc() = "unmask private C++ core; use the public unmask package instead.";
  m.attr("__version__") = UNMASK_VERSION;
  m.def("have_openmp", &unmask::have_openmp, "Whether the core was built with OpenMP.");
  m.def("max_threads", [] { return unmask::resolve_threads(0); },
        "Threads the core uses when none is given.");
  m.def("plogp_kernel", &unmask::plogp_kernel, "Kernel used for sums of x log x.");
  unmask_bindings::bind_entropy(m);
  unmask_bindings::bind_sampler(m);
  unmask_bindings::bind_markov(m);
  unmask_bindings::bind_schedule(m);
  unmask_bindings::bind_learning(m);
  unmask_bindings::bind_planner(m);
  unmask_bindings::bind_adaptive(m);
}
