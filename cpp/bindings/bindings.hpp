// Declarations shared by the binding translation units (one bind_<area>.cpp per area).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

namespace unmask_bindings {

namespace py = pybind11;

using CArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

void bind_entropy(py::module_& m);
void bind_markov(py::module_& m);

/// Raise ValueError unless `a` has exactly `size` entries.
inline void require_size(const py::array& a, std::size_t size, const char* name) {
  if (static_cast<std::size_t>(a.size()) != size)
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(a.size()) +
                                " entries, expected " + std::to_string(size));
}

}  // namespace unmask_bindings
