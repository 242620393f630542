// Subset entropies on a CUDA device (theory section 8), the same lattice walk as the CPU
// engine cut in two:
//   * the host walks the first d0 = n - r variables depth-first (keep or sum out each one),
//     with the node tables on the device in one stack allocation: a table is [q^k][q^(n-d)]
//     (k kept variables before depth d, then variables d..n-1), "keep" reinterprets it and
//     "sum" writes a table q times smaller above it, so the stack never exceeds q/(q-1) q^n;
//   * at depth d0 one kernel finishes the walk of the last r variables: a thread block per
//     slab a of the node table (q^r values for one value of the kept variables) walks the 2^r
//     inner subsets depth-first in shared memory and writes sum m log m of every inner marginal;
//   * a second kernel adds the slabs' partial sums (compensated, in a fixed order).
// Every sum runs in a fixed order, so the same input gives the same bits on the same device.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_backend.hpp"

namespace unmask_cuda {
namespace {

constexpr int kThreads = 256;
// Inner tables live in shared memory: q^r <= kInnerMax doubles, the walk's stack <= 2 q^r.
constexpr std::uint64_t kInnerMax = 2048;

void check(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return;
  if (err == cudaErrorMemoryAllocation) throw std::bad_alloc();
  throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
}

__host__ __device__ inline std::uint64_t ipow(std::uint64_t q, int k) {
  std::uint64_t r = 1;
  for (int i = 0; i < k; ++i) r *= q;
  return r;
}

int inner_width(int n, int q) {
  int r = 0;
  while (r < n && ipow(q, r + 1) <= kInnerMax) ++r;
  return r;
}

struct DeviceBuffer {
  double* ptr = nullptr;
  explicit DeviceBuffer(std::size_t count) {
    check(cudaMalloc(&ptr, (count ? count : 1) * sizeof(double)), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

// out[a][rest] = sum_{x < q} in[a][x][rest], a < outer, rest < inner; x summed in order.
__global__ void sum_axis_kernel(const double* in, double* out, std::uint64_t outer, int q,
                                std::uint64_t inner) {
  const std::uint64_t total = outer * inner;
  for (std::uint64_t i = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x; i < total;
       i += std::uint64_t(gridDim.x) * blockDim.x) {
    const std::uint64_t a = i / inner, rest = i % inner;
    const double* src = in + a * q * inner + rest;
    double s = 0.0;
    for (int x = 0; x < q; ++x) s += src[x * inner];
    out[i] = s;
  }
}

__device__ double block_sum(double v, double* scratch) {
  scratch[threadIdx.x] = v;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) scratch[threadIdx.x] += scratch[threadIdx.x + stride];
    __syncthreads();
  }
  const double total = scratch[0];
  __syncthreads();
  return total;
}

// One block per slab a < slabs: the slab is node[a * q^r .. (a+1) * q^r). Writes
// partial[a * 2^r + R] = sum of m log m over the marginal of the slab on the inner subset R
// (bit t of R = inner variable t, the (t+1)-th slowest of the slab).
__global__ void inner_walk_kernel(const double* node, double* partial, std::uint64_t slabs, int q,
                                  int r, std::uint64_t qr) {
  extern __shared__ double shared[];
  double* scratch = shared;             // kThreads doubles for reductions
  double* stack = shared + kThreads;    // the walk's tables, at most 2 q^r doubles
  __shared__ std::uint32_t off[32];     // offset of the table at depth t
  __shared__ std::uint64_t size[32];    // its size
  __shared__ int kept[32];              // inner variables kept before depth t
  const std::uint32_t leaves = 1u << r;
  for (std::uint64_t a = blockIdx.x; a < slabs; a += gridDim.x) {
    for (std::uint64_t i = threadIdx.x; i < qr; i += blockDim.x) stack[i] = node[a * qr + i];
    if (threadIdx.x == 0) {
      off[0] = 0;
      size[0] = qr;
      kept[0] = 0;
    }
    __syncthreads();
    for (std::uint32_t leaf = 0; leaf < leaves; ++leaf) {
      // Decision for inner variable t is bit (r-1-t) of `leaf` (1 = keep): consecutive leaves
      // share the decisions above the highest changed bit, so only deeper tables are rebuilt.
      int start = 0;
      if (leaf > 0) {
        const std::uint32_t changed = leaf ^ (leaf - 1);
        int high = 31 - __clz(changed);
        start = r - 1 - high;
      }
      for (int t = start; t < r; ++t) {
        const bool keep = (leaf >> (r - 1 - t)) & 1u;
        if (keep) {
          if (threadIdx.x == 0) {
            off[t + 1] = off[t];
            size[t + 1] = size[t];
            kept[t + 1] = kept[t] + 1;
          }
        } else {
          const std::uint64_t outer = ipow(q, kept[t]);
          const std::uint64_t inner = ipow(q, r - t - 1);
          const double* src = stack + off[t];
          double* dst = stack + off[t] + size[t];
          const std::uint64_t total = outer * inner;
          for (std::uint64_t i = threadIdx.x; i < total; i += blockDim.x) {
            const std::uint64_t o = i / inner, rest = i % inner;
            const double* s0 = src + o * q * inner + rest;
            double s = 0.0;
            for (int x = 0; x < q; ++x) s += s0[x * inner];
            dst[i] = s;
          }
          if (threadIdx.x == 0) {
            off[t + 1] = off[t] + static_cast<std::uint32_t>(size[t]);
            size[t + 1] = total;
            kept[t + 1] = kept[t];
          }
        }
        __syncthreads();
      }
      const double* table = stack + off[r];
      double local = 0.0;
      for (std::uint64_t i = threadIdx.x; i < size[r]; i += blockDim.x) {
        const double m = table[i];
        if (m > 0.0) local += m * log(m);
      }
      const double total = block_sum(local, scratch);
      if (threadIdx.x == 0) {
        // Bit t of the inner subset = variable t kept; leaf's bit (r-1-t) carries that decision.
        std::uint32_t subset = 0;
        for (int t = 0; t < r; ++t)
          if ((leaf >> (r - 1 - t)) & 1u) subset |= 1u << t;
        partial[a * leaves + subset] = total;
      }
    }
    __syncthreads();
  }
}

// out[base | (R << shift)] = compensated sum over slabs a of partial[a][R], a in order.
__global__ void reduce_slabs_kernel(const double* partial, std::uint64_t slabs, std::uint32_t leaves,
                                    double* out, std::uint64_t base, int shift) {
  const std::uint32_t R = blockIdx.x * blockDim.x + threadIdx.x;
  if (R >= leaves) return;
  double sum = 0.0, comp = 0.0;
  for (std::uint64_t a = 0; a < slabs; ++a) {
    const double x = partial[a * leaves + R];
    const double t = sum + x;
    comp += (fabs(sum) >= fabs(x)) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  out[base | (std::uint64_t(R) << shift)] = sum + comp;
}

struct Walk {
  int n, q, r, d0;
  double* stack;     // device: the host walk's tables
  double* partial;   // device: q^d0 * 2^r partial sums
  double* out;       // device: 2^n results
  const std::function<bool()>* interrupted;
  std::uint64_t polls = 0;

  // Node at depth d: table at stack + offset, shape [q^k][q^(n-d)]; `mask` = kept variables.
  void visit(int d, int k, std::uint64_t offset, std::uint64_t mask) {
    const std::uint64_t size = ipow(q, k) * ipow(q, n - d);
    if (d == d0) {
      if (((++polls) & 63u) == 0 && (*interrupted)()) throw std::runtime_error("computation interrupted");
      const std::uint64_t slabs = ipow(q, k), qr = ipow(q, r);
      const unsigned grid = static_cast<unsigned>(slabs < 65535 ? slabs : 65535);
      const std::size_t shmem = (kThreads + 2 * qr) * sizeof(double);
      inner_walk_kernel<<<grid, kThreads, shmem>>>(stack + offset, partial, slabs, q, r, qr);
      check(cudaGetLastError(), "inner_walk_kernel");
      const std::uint32_t leaves = 1u << r;
      reduce_slabs_kernel<<<(leaves + kThreads - 1) / kThreads, kThreads>>>(
          partial, slabs, leaves, out, mask, d0);
      check(cudaGetLastError(), "reduce_slabs_kernel");
      return;
    }
    // Sum variable d out first (its table sits above this one), then keep it (same table).
    const std::uint64_t outer = ipow(q, k), inner = ipow(q, n - d - 1);
    const std::uint64_t total = outer * inner;
    const unsigned grid = static_cast<unsigned>(std::min<std::uint64_t>((total + kThreads - 1) / kThreads, 65535));
    sum_axis_kernel<<<grid, kThreads>>>(stack + offset, stack + offset + size, outer, q, inner);
    check(cudaGetLastError(), "sum_axis_kernel");
    visit(d + 1, k, offset + size, mask);
    visit(d + 1, k + 1, offset, mask | (std::uint64_t(1) << d));
  }
};

}  // namespace

std::vector<DeviceInfo> devices() {
  std::vector<DeviceInfo> found;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return found;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    DeviceInfo info;
    info.index = i;
    info.name = prop.name;
    info.total_memory = prop.totalGlobalMem;
    info.major = prop.major;
    info.minor = prop.minor;
    std::size_t free_b = 0, total_b = 0;
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess)
      info.free_memory = free_b;
    found.push_back(info);
  }
  return found;
}

std::string device_error() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return cudaGetErrorString(err);
  }
  return count > 0 ? std::string() : std::string("no CUDA device is present");
}

int runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return v;
}

std::size_t subset_entropies_device_bytes(int n, int q) {
  const int r = inner_width(n, q), d0 = n - r;
  const double qn = static_cast<double>(ipow(q, n));
  const double stack = qn * q / (q - 1.0);
  const double partial = static_cast<double>(ipow(q, d0)) * static_cast<double>(1u << r);
  const double out = static_cast<double>(std::uint64_t(1) << n);
  return static_cast<std::size_t>(8.0 * (stack + partial + out));
}

void subset_plogp_sums(const double* joint, int n, int q, double* out, int device,
                       const std::function<bool()>& interrupted) {
  if (n < 1 || n > 40) throw std::invalid_argument("n must be in 1..40 for the CUDA backend");
  if (q < 2) throw std::invalid_argument("q must be >= 2");
  check(cudaSetDevice(device), "cudaSetDevice");
  const int r = inner_width(n, q), d0 = n - r;
  const std::uint64_t qn = ipow(q, n);
  const std::uint64_t stack_count = qn + (qn + q - 2) / (q - 1);  // q^n (1 + 1/q + ...) bound
  DeviceBuffer stack(stack_count);
  DeviceBuffer partial(ipow(q, d0) * (std::uint64_t(1) << r));
  DeviceBuffer result(std::uint64_t(1) << n);
  check(cudaMemcpy(stack.ptr, joint, qn * sizeof(double), cudaMemcpyHostToDevice), "cudaMemcpy");
  const std::size_t shmem = (kThreads + 2 * ipow(q, r)) * sizeof(double);
  check(cudaFuncSetAttribute(inner_walk_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(shmem)),
        "cudaFuncSetAttribute");
  Walk walk{n, q, r, d0, stack.ptr, partial.ptr, result.ptr, &interrupted};
  walk.visit(0, 0, 0, 0);
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  check(cudaMemcpy(out, result.ptr, (std::uint64_t(1) << n) * sizeof(double),
                   cudaMemcpyDeviceToHost),
        "cudaMemcpy");
}

}  // namespace unmask_cuda
