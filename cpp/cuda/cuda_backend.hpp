// The optional CUDA backend: plain C++ declarations, implemented in lattice.cu (nvcc) and bound
// to Python by bind_cuda.cpp (the host compiler). No pybind11 and no CUDA header here, so the
// bindings compile without nvcc's help.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace unmask_cuda {

/// One CUDA device as the runtime reports it.
struct DeviceInfo {
  int index = 0;
  std::string name;
  std::size_t total_memory = 0;
  std::size_t free_memory = 0;
  int major = 0;
  int minor = 0;
};

/// Devices present (empty when there is no driver or no GPU; never throws).
std::vector<DeviceInfo> devices();

/// Why no device is usable ("" when at least one is), e.g. "CUDA driver version is insufficient".
std::string device_error();

/// The CUDA runtime version this module was built against (e.g. 13000).
int runtime_version();

/// Device bytes the subset-entropy walk needs for a law on [q]^n (tables, partial sums, output).
std::size_t subset_entropies_device_bytes(int n, int q);

/// out[A] = sum over the marginal table of X_A of m log m (nats; the caller negates), for every
/// bitmask A in [0, 2^n), computed on `device`. Deterministic: every reduction runs in a fixed
/// order, so the same input gives the same bits. `interrupted` is polled between kernel
/// launches on the caller's thread; when it returns true the walk stops and throws
/// std::runtime_error("computation interrupted").
void subset_plogp_sums(const double* joint, int n, int q, double* out, int device,
                       const std::function<bool()>& interrupted);

}  // namespace unmask_cuda
