#include "bindings.hpp"
#include "unmask/learning.hpp"

namespace unmask_bindings {

void bind_learning(py::module_& m) {
  m.def(
      "learning_pair_kl",
      [](const CArray& p, const CArray& log_q, std::int64_t count, std::int64_t a, std::int64_t q,
         std::int64_t b, int threads) {
        if (count < 0 || a < 1 || q < 1 || b < 1)
          throw std::invalid_argument("learning_pair_kl: bad layout");
        const auto size = static_cast<std::size_t>(count * a * q * b);
        require_size(p, size, "p");
        require_size(log_q, size, "log_q");
        py::array_t<double> out(static_cast<py::ssize_t>(count));
        const double* pp = p.data();
        const double* lq = log_q.data();
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          unmask::learning_pair_kl(pp, lq, count, a, q, b, o, threads);
        }
        return out;
      },
      py::arg("p"), py::arg("log_q"), py::arg("count"), py::arg("a"), py::arg("q"), py::arg("b"),
      py::arg("threads"),
      "Per subset S = A + j (layout (count, a, q, b)): E_p KL(p(.|X_A) || q_j(.|X_A)) in nats, "
      "compensated, clipped at 0, +inf where log q = -inf on p's support.");
}

}  // namespace unmask_bindings
