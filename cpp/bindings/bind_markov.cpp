#include "bindings.hpp"
#include "unmask/markov.hpp"

namespace unmask_bindings {

void bind_markov(py::module_& m) {
  m.def(
      "markov_profile",
      [](const CArray& transition, const CArray& initial, std::int64_t n, bool stationary,
         int threads) {
        if (transition.ndim() != 2 || transition.shape(0) != transition.shape(1))
          throw std::invalid_argument("transition must be a square matrix");
        const int q = static_cast<int>(transition.shape(0));
        require_size(initial, static_cast<std::size_t>(q), "initial");
        if (n < 1) throw std::invalid_argument("n must be >= 1");
        py::array_t<double> h(static_cast<py::ssize_t>(n));
        const double* P = transition.data();
        const double* mu = initial.data();
        double* out = h.mutable_data();
        run_interruptible([&](unmask::Interrupt& stop) {
          unmask::markov_profile(P, mu, q, n, stationary, out, threads, &stop);
        });
        return h;
      },
      py::arg("transition"), py::arg("initial"), py::arg("n"), py::arg("stationary"),
      py::arg("threads"), "Entropy profile h(i) in nats of a first-order Markov chain.");
  m.def("markov_profile_workspace_bytes", &unmask::markov_profile_workspace_bytes, py::arg("n"),
        py::arg("q"));
}

}  // namespace unmask_bindings
