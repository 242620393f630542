// unmask._cuda: the optional CUDA backend's bindings (compiled by the host compiler; the
// kernels are in lattice.cu). Imported lazily by unmask.backends; absent when not built.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda_backend.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "unmask private CUDA backend; use the public unmask package instead.";
  m.def("runtime_version", &unmask_cuda::runtime_version);
  m.def("device_error", [] {
    py::gil_scoped_release release;
    return unmask_cuda::device_error();
  });
  m.def("devices", [] {
    std::vector<unmask_cuda::DeviceInfo> found;
    {
      py::gil_scoped_release release;
      found = unmask_cuda::devices();
    }
    py::list out;
    for (const auto& d : found) {
      py::dict item;
      item["index"] = d.index;
      item["name"] = d.name;
      item["total_memory"] = d.total_memory;
      item["free_memory"] = d.free_memory;
      item["compute_capability"] = py::make_tuple(d.major, d.minor);
      out.append(item);
    }
    return out;
  });
  m.def("subset_entropies_device_bytes", &unmask_cuda::subset_entropies_device_bytes,
        py::arg("n"), py::arg("q"));
  m.def(
      "subset_entropies",
      [](py::array_t<double, py::array::c_style | py::array::forcecast> joint, int n, int q,
         py::array_t<double, py::array::c_style> out, int device) {
        if (n < 1 || n > 40) throw std::invalid_argument("n must be in 1..40");
        if (q < 2) throw std::invalid_argument("q must be >= 2");
        std::uint64_t size = 1;
        for (int i = 0; i < n; ++i) size *= static_cast<std::uint64_t>(q);
        if (static_cast<std::uint64_t>(joint.size()) != size)
          throw std::invalid_argument("joint has " + std::to_string(joint.size()) +
                                      " entries, expected " + std::to_string(size));
        if (static_cast<std::uint64_t>(out.size()) != (std::uint64_t(1) << n))
          throw std::invalid_argument("out must have 2^n entries");
        const double* src = joint.data();
        double* dst = out.mutable_data();
        const std::uint64_t count = std::uint64_t(1) << n;
        auto interrupted = [] {
          py::gil_scoped_acquire gil;
          return PyErr_CheckSignals() != 0;
        };
        {
          py::gil_scoped_release release;
          try {
            unmask_cuda::subset_plogp_sums(src, n, q, dst, device, interrupted);
          } catch (const std::runtime_error& err) {
            if (std::string(err.what()) == "computation interrupted") {
              py::gil_scoped_acquire gil;
              if (PyErr_Occurred()) throw py::error_already_set();
            }
            throw;
          }
        }
        for (std::uint64_t i = 0; i < count; ++i) dst[i] = -dst[i];  // sum m log m -> H
      },
      py::arg("joint"), py::arg("n"), py::arg("q"), py::arg("out").noconvert(),
      py::arg("device") = 0, "Fill out (length 2^n) with H(X_A) in nats, on a CUDA device.");
}
