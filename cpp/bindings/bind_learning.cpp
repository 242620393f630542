#include "bindings.hpp"
#include <cmath>

#include "unmask/learning.hpp"

namespace unmask_bindings {

namespace {

std::size_t checked_layout(std::int64_t count, std::int64_t a, std::int64_t q, std::int64_t b) {
  if (count < 0 || a < 1 || q < 1 || b < 1)
    throw std::invalid_argument("learning_pair_kl: count, a, q, b must be >= 0, 1, 1, 1");
  return static_cast<std::size_t>(count * a * q * b);
}

}  // namespace

void bind_learning(py::module_& m) {
  m.def(
      "learning_pair_kl",
      [](const CArray& p, const CArray& log_q, std::int64_t count, std::int64_t a, std::int64_t q,
         std::int64_t b, int threads) {
        const std::size_t size = checked_layout(count, a, q, b);
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
  m.def(
      "learning_level_kl_marginals",
      [](const CArray& p, const CArray& marg, double temperature, std::int64_t count, int size,
         std::int64_t q, int threads) {
        if (count < 0 || size < 1 || q < 1)
          throw std::invalid_argument("learning_level_kl_marginals: bad count, size or q");
        const std::size_t per = unmask::checked_pow(static_cast<std::uint64_t>(q), size);
        require_size(p, static_cast<std::size_t>(count) * per, "p");
        require_size(marg, static_cast<std::size_t>(count) * per, "marginals");
        if (!(temperature > 0.0) || !std::isfinite(temperature))
          throw std::invalid_argument("temperature must be a finite number > 0");
        py::array_t<double> out(static_cast<py::ssize_t>(count * size));
        const double* pp = p.data();
        const double* mm = marg.data();
        double* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          unmask::learning_level_kl_marginals(pp, mm, temperature, count, size, q, o, threads);
        }
        return out;
      },
      py::arg("p"), py::arg("marginals"), py::arg("temperature"), py::arg("count"),
      py::arg("size"), py::arg("q"), py::arg("threads"),
      "Learning KL of every pair (S - j, j), S of the given size: out[t * count + s], j the t-th "
      "variable of S; q_j proportional to marginals^(1/T).");
}

}  // namespace unmask_bindings
