// Declarations shared by the binding translation units (one bind_<area>.cpp per area).
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "unmask/common.hpp"

namespace unmask_bindings {

namespace py = pybind11;

using CArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

void bind_entropy(py::module_& m);
void bind_sampler(py::module_& m);
void bind_markov(py::module_& m);
void bind_schedule(py::module_& m);
void bind_learning(py::module_& m);
void bind_planner(py::module_& m);
void bind_adaptive(py::module_& m);

/// An Interrupt whose poll runs Python's signal handlers (Ctrl-C) with the GIL re-acquired.
inline unmask::Interrupt python_interrupt() {
  return unmask::Interrupt([] {
    py::gil_scoped_acquire gil;
    return PyErr_CheckSignals() != 0;
  });
}

/// Run `fn` with the GIL released; a cancellation becomes the pending Python exception.
template <class Fn>
void run_interruptible(Fn&& fn) {
  auto stop = python_interrupt();
  bool interrupted = false;
  {
    py::gil_scoped_release release;
    try {
      fn(stop);
    } catch (const unmask::Interrupted&) {
      interrupted = true;
    }
  }
  if (interrupted) {
    if (PyErr_Occurred()) throw py::error_already_set();
    throw std::runtime_error("computation interrupted");
  }
}

/// Raise ValueError unless `a` has exactly `size` entries.
inline void require_size(const py::array& a, std::size_t size, const char* name) {
  if (static_cast<std::size_t>(a.size()) != size)
    throw std::invalid_argument(std::string(name) + " has " + std::to_string(a.size()) +
                                " entries, expected " + std::to_string(size));
}

}  // namespace unmask_bindings
