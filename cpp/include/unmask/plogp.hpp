// Vectorised sums of x*log(x) over probability buffers.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace unmask {

/// sum_i x_i log x_i over x[0..len), with 0 log 0 = 0 (entries below DBL_MIN count as 0).
/// Uses an AVX2/FMA kernel when the CPU has it (about 1-2 ulp per logarithm), else std::log.
double plogp_sum(const double* x, std::size_t len);

/// out[i] = a[i] + b[i] (skipped when out is null), returning sum out[i] log out[i]: the
/// binary marginalisation step fused with its entropy term.
double sum2_plogp(const double* a, const double* b, double* out, std::size_t len);

/// Natural logarithm of each entry (x > 0), same kernel as plogp_sum; used by tests.
void log_array(const double* x, double* out, std::size_t len);

/// Name of the kernel plogp_sum dispatches to on this CPU ("avx512", "avx2-fma" or "scalar").
const char* plogp_kernel();

/// Kernels this CPU can run, fastest first.
std::vector<std::string> plogp_kernels();

/// plogp_sum / log_array with an explicit kernel (std::invalid_argument if unavailable).
double plogp_sum_with(const char* kernel, const double* x, std::size_t len);
void log_array_with(const char* kernel, const double* x, double* out, std::size_t len);

}  // namespace unmask
