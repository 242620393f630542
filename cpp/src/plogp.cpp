#include "unmask/plogp.hpp"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define UNMASK_X86_DISPATCH 1
#include <immintrin.h>
#endif

namespace unmask {
namespace {

double plogp_sum_scalar(const double* x, std::size_t len) {
  double acc[4] = {0.0, 0.0, 0.0, 0.0};
  std::size_t i = 0;
  for (; i + 4 <= len; i += 4)
    for (int l = 0; l < 4; ++l) {
      const double v = x[i + l];
      if (v >= DBL_MIN) acc[l] += v * std::log(v);
    }
  for (; i < len; ++i)
    if (x[i] >= DBL_MIN) acc[0] += x[i] * std::log(x[i]);
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

#ifdef UNMASK_X86_DISPATCH
// log(x) for normal positive x: x = 2^e m with m in [sqrt(1/2), sqrt(2)),
// log m = 2 atanh(s), s = (m-1)/(m+1), |s| < 0.1716, by its odd series in s (terms to s^21,
// truncation below 2e-17 relative); e log 2 added in two parts.
__attribute__((target("avx2,fma"))) inline __m256d log_avx2(__m256d x) {
  const __m256i mant_mask = _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL);
  const __m256i one_bits = _mm256_set1_epi64x(0x3FF0000000000000LL);
  const __m256i magic_bits = _mm256_set1_epi64x(0x4330000000000000LL);  // 2^52
  const __m256d magic = _mm256_set1_pd(4503599627370496.0);
  const __m256d bias = _mm256_set1_pd(1023.0);
  const __m256d sqrt2 = _mm256_set1_pd(1.4142135623730951);
  const __m256d one = _mm256_set1_pd(1.0);
  const __m256d half = _mm256_set1_pd(0.5);
  const __m256d ln2_hi = _mm256_set1_pd(6.93147180369123816490e-01);
  const __m256d ln2_lo = _mm256_set1_pd(1.90821492927058770002e-10);

  const __m256i xi = _mm256_castpd_si256(x);
  const __m256i e_bits = _mm256_srli_epi64(xi, 52);
  __m256d e = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(e_bits, magic_bits)), magic);
  e = _mm256_sub_pd(e, bias);
  __m256d m = _mm256_castsi256_pd(_mm256_or_si256(_mm256_and_si256(xi, mant_mask), one_bits));
  const __m256d big = _mm256_cmp_pd(m, sqrt2, _CMP_GT_OQ);
  m = _mm256_blendv_pd(m, _mm256_mul_pd(m, half), big);
  e = _mm256_add_pd(e, _mm256_and_pd(big, one));

  const __m256d s = _mm256_div_pd(_mm256_sub_pd(m, one), _mm256_add_pd(m, one));
  const __m256d z = _mm256_mul_pd(s, s);
  __m256d p = _mm256_set1_pd(1.0 / 21.0);
  p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 19.0));
  p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 17.0));
  p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 15.0));
  p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 13.0));
  p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 11.0));
  p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 9.0));
  p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 7.0));
  p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 5.0));
  p = _mm256_fmadd_pd(p, z, _mm256_set1_pd(1.0 / 3.0));
  const __m256d two_s = _mm256_add_pd(s, s);
  // log m = 2s + 2s z p
  const __m256d log_m = _mm256_fmadd_pd(_mm256_mul_pd(two_s, z), p, two_s);
  return _mm256_fmadd_pd(e, ln2_hi, _mm256_fmadd_pd(e, ln2_lo, log_m));
}

__attribute__((target("avx2,fma"))) double plogp_sum_avx2(const double* x, std::size_t len) {
  const __m256d tiny = _mm256_set1_pd(DBL_MIN);
  const __m256d one = _mm256_set1_pd(1.0);
  __m256d acc0 = _mm256_setzero_pd();
  __m256d acc1 = _mm256_setzero_pd();
  std::size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    const __m256d v0 = _mm256_loadu_pd(x + i);
    const __m256d v1 = _mm256_loadu_pd(x + i + 4);
    const __m256d safe0 = _mm256_blendv_pd(one, v0, _mm256_cmp_pd(v0, tiny, _CMP_GE_OQ));
    const __m256d safe1 = _mm256_blendv_pd(one, v1, _mm256_cmp_pd(v1, tiny, _CMP_GE_OQ));
    acc0 = _mm256_fmadd_pd(safe0, log_avx2(safe0), acc0);
    acc1 = _mm256_fmadd_pd(safe1, log_avx2(safe1), acc1);
  }
  for (; i + 4 <= len; i += 4) {
    const __m256d v0 = _mm256_loadu_pd(x + i);
    const __m256d safe0 = _mm256_blendv_pd(one, v0, _mm256_cmp_pd(v0, tiny, _CMP_GE_OQ));
    acc0 = _mm256_fmadd_pd(safe0, log_avx2(safe0), acc0);
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(acc0, acc1));
  double tail = 0.0;
  if (i < len) {
    alignas(32) double buf[4] = {1.0, 1.0, 1.0, 1.0};
    for (std::size_t l = 0; i + l < len; ++l)
      if (x[i + l] >= DBL_MIN) buf[l] = x[i + l];
    const __m256d v = _mm256_load_pd(buf);
    alignas(32) double t[4];
    _mm256_store_pd(t, _mm256_mul_pd(v, log_avx2(v)));
    tail = (t[0] + t[1]) + (t[2] + t[3]);
  }
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + tail;
}

__attribute__((target("avx2,fma"))) void log_array_avx2(const double* x, double* out,
                                                        std::size_t len) {
  std::size_t i = 0;
  for (; i + 4 <= len; i += 4) _mm256_storeu_pd(out + i, log_avx2(_mm256_loadu_pd(x + i)));
  for (; i < len; ++i) {
    alignas(32) double buf[4] = {x[i], 1.0, 1.0, 1.0};
    alignas(32) double t[4];
    _mm256_store_pd(t, log_avx2(_mm256_load_pd(buf)));
    out[i] = t[0];
  }
}

// AVX-512, division-free: x = 2^e m with m in [0.75, 1.5) (getexp/getmant); the nearest
// c_k = (k + 12)/16 to m (k = round(16 m) - 12, in 0..12) gives r_k = 1/c_k rounded to double
// and -log(r_k) in two parts, looked up in 16-entry tables held in registers (permutex2var).
// Then t = m r_k - 1 (one FMA, |t| <= 1/24) and log m = -log(r_k) + log1p(t), log1p by its
// series to t^13 (truncation below 3e-18 relative). c_4 = 1 has r = 1 and log r = 0 exactly,
// so log x stays accurate relative to itself for x near 1.
struct Log16Tables {
  alignas(64) double r[16];
  alignas(64) double neg_log_r_hi[16];
  alignas(64) double neg_log_r_lo[16];
  Log16Tables() {
    for (int k = 0; k < 16; ++k) {
      r[k] = static_cast<double>(16.0L / (k + 12));
      const long double v = -std::log(static_cast<long double>(r[k]));
      neg_log_r_hi[k] = static_cast<double>(v);
      neg_log_r_lo[k] = static_cast<double>(v - static_cast<long double>(neg_log_r_hi[k]));
    }
  }
};

const Log16Tables& log16_tables() {
  static const Log16Tables tables;
  return tables;
}

struct Log16Regs {
  __m512d r_lo, r_hi, h_lo, h_hi, l_lo, l_hi;
};

__attribute__((target("avx512f"))) inline Log16Regs load_log16() {
  const Log16Tables& t = log16_tables();
  return {_mm512_load_pd(t.r), _mm512_load_pd(t.r + 8),
          _mm512_load_pd(t.neg_log_r_hi), _mm512_load_pd(t.neg_log_r_hi + 8),
          _mm512_load_pd(t.neg_log_r_lo), _mm512_load_pd(t.neg_log_r_lo + 8)};
}

__attribute__((target("avx512f"))) inline __m512d log_avx512(__m512d x, const Log16Regs& T) {
  const __m512d one = _mm512_set1_pd(1.0);
  const __m512d ln2_hi = _mm512_set1_pd(6.93147180369123816490e-01);
  const __m512d ln2_lo = _mm512_set1_pd(1.90821492927058770002e-10);
  // 2^52 - 12: adding 16 m rounds 16 m - 12 to the nearest integer in the low mantissa bits.
  const __m512d shifter = _mm512_set1_pd(4503599627370484.0);
  const __m512d m = _mm512_getmant_pd(x, _MM_MANT_NORM_p75_1p5, _MM_MANT_SIGN_zero);
  __m512d e = _mm512_getexp_pd(x);
  e = _mm512_mask_add_pd(e, _mm512_cmp_pd_mask(m, one, _CMP_LT_OQ), e, one);
  const __m512d k = _mm512_fmadd_pd(m, _mm512_set1_pd(16.0), shifter);
  const __m512i idx = _mm512_and_si512(_mm512_castpd_si512(k), _mm512_set1_epi64(15));
  const __m512d r = _mm512_permutex2var_pd(T.r_lo, idx, T.r_hi);
  const __m512d lhi = _mm512_permutex2var_pd(T.h_lo, idx, T.h_hi);
  const __m512d llo = _mm512_permutex2var_pd(T.l_lo, idx, T.l_hi);
  const __m512d t = _mm512_fmsub_pd(m, r, one);
  // log1p(t) = t + t^2 P(t), P(t) = -1/2 + t/3 - t^2/4 + ... + t^11/13
  __m512d p = _mm512_set1_pd(1.0 / 13.0);
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(-1.0 / 12.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(1.0 / 11.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(-1.0 / 10.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(1.0 / 9.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(-1.0 / 8.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(1.0 / 7.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(-1.0 / 6.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(1.0 / 5.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(-1.0 / 4.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(1.0 / 3.0));
  p = _mm512_fmadd_pd(p, t, _mm512_set1_pd(-1.0 / 2.0));
  const __m512d t2 = _mm512_mul_pd(t, t);
  // small terms first: (t^2 P + llo + e ln2_lo) + t, then the large lhi + e ln2_hi
  __m512d small = _mm512_fmadd_pd(t2, p, llo);
  small = _mm512_fmadd_pd(e, ln2_lo, small);
  const __m512d big = _mm512_fmadd_pd(e, ln2_hi, lhi);
  return _mm512_add_pd(big, _mm512_add_pd(t, small));
}

__attribute__((target("avx512f"))) double plogp_sum_avx512(const double* x, std::size_t len) {
  const Log16Regs T = load_log16();
  const __m512d tiny = _mm512_set1_pd(DBL_MIN);
  const __m512d one = _mm512_set1_pd(1.0);
  __m512d acc0 = _mm512_setzero_pd();
  __m512d acc1 = _mm512_setzero_pd();
  std::size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    const __m512d v0 = _mm512_loadu_pd(x + i);
    const __m512d v1 = _mm512_loadu_pd(x + i + 8);
    const __m512d s0 = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(v0, tiny, _CMP_GE_OQ), one, v0);
    const __m512d s1 = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(v1, tiny, _CMP_GE_OQ), one, v1);
    acc0 = _mm512_fmadd_pd(s0, log_avx512(s0, T), acc0);
    acc1 = _mm512_fmadd_pd(s1, log_avx512(s1, T), acc1);
  }
  for (; i < len; i += 8) {
    const std::size_t rest = len - i < 8 ? len - i : 8;
    const __mmask8 lanes = static_cast<__mmask8>((1u << rest) - 1u);
    const __m512d v = _mm512_maskz_loadu_pd(lanes, x + i);
    const __m512d sv = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(v, tiny, _CMP_GE_OQ), one, v);
    acc0 = _mm512_fmadd_pd(sv, log_avx512(sv, T), acc0);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

// Fused a + b and sum (a+b) log(a+b): the binary marginalisation step, one pass over L1 data.
__attribute__((target("avx512f"))) double sum2_plogp_avx512(const double* a, const double* b,
                                                            double* out, std::size_t len) {
  const Log16Regs T = load_log16();
  const __m512d tiny = _mm512_set1_pd(DBL_MIN);
  const __m512d one = _mm512_set1_pd(1.0);
  __m512d acc0 = _mm512_setzero_pd();
  __m512d acc1 = _mm512_setzero_pd();
  std::size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    const __m512d v0 = _mm512_add_pd(_mm512_loadu_pd(a + i), _mm512_loadu_pd(b + i));
    const __m512d v1 = _mm512_add_pd(_mm512_loadu_pd(a + i + 8), _mm512_loadu_pd(b + i + 8));
    if (out) {
      _mm512_storeu_pd(out + i, v0);
      _mm512_storeu_pd(out + i + 8, v1);
    }
    const __m512d s0 = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(v0, tiny, _CMP_GE_OQ), one, v0);
    const __m512d s1 = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(v1, tiny, _CMP_GE_OQ), one, v1);
    acc0 = _mm512_fmadd_pd(s0, log_avx512(s0, T), acc0);
    acc1 = _mm512_fmadd_pd(s1, log_avx512(s1, T), acc1);
  }
  for (; i < len; i += 8) {
    const std::size_t rest = len - i < 8 ? len - i : 8;
    const __mmask8 lanes = static_cast<__mmask8>((1u << rest) - 1u);
    const __m512d v =
        _mm512_add_pd(_mm512_maskz_loadu_pd(lanes, a + i), _mm512_maskz_loadu_pd(lanes, b + i));
    if (out) _mm512_mask_storeu_pd(out + i, lanes, v);
    const __m512d sv = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(v, tiny, _CMP_GE_OQ), one, v);
    acc0 = _mm512_fmadd_pd(sv, log_avx512(sv, T), acc0);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

__attribute__((target("avx512f"))) void log_array_avx512(const double* x, double* out,
                                                          std::size_t len) {
  const Log16Regs T = load_log16();
  for (std::size_t i = 0; i < len; i += 8) {
    const std::size_t rest = len - i < 8 ? len - i : 8;
    const __mmask8 lanes = static_cast<__mmask8>((1u << rest) - 1u);
    const __m512d v = _mm512_mask_loadu_pd(_mm512_set1_pd(1.0), lanes, x + i);
    _mm512_mask_storeu_pd(out + i, lanes, log_avx512(v, T));
  }
}

// UNMASK_KERNEL=avx2-fma or =scalar caps the dispatch (to test the fallbacks on any CPU).
int kernel_cap() {
  static const int cap = [] {
    const char* env = std::getenv("UNMASK_KERNEL");
    const std::string v = env ? env : "";
    if (v == "scalar") return 0;
    if (v == "avx2-fma") return 1;
    return 2;
  }();
  return cap;
}

bool cpu_has_avx512() {
  static const bool ok = kernel_cap() >= 2 && __builtin_cpu_supports("avx512f");
  return ok;
}

bool cpu_has_avx2_fma() {
  static const bool ok =
      kernel_cap() >= 1 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}
#endif

}  // namespace

double plogp_sum_with(const char* kernel, const double* x, std::size_t len) {
  const std::string k(kernel);
#ifdef UNMASK_X86_DISPATCH
  if (k == "avx512" && cpu_has_avx512()) return plogp_sum_avx512(x, len);
  if (k == "avx2-fma" && cpu_has_avx2_fma()) return plogp_sum_avx2(x, len);
#endif
  if (k == "scalar") return plogp_sum_scalar(x, len);
  throw std::invalid_argument("kernel '" + k + "' is not available on this CPU");
}

void log_array_with(const char* kernel, const double* x, double* out, std::size_t len) {
  const std::string k(kernel);
#ifdef UNMASK_X86_DISPATCH
  if (k == "avx512" && cpu_has_avx512()) return log_array_avx512(x, out, len);
  if (k == "avx2-fma" && cpu_has_avx2_fma()) return log_array_avx2(x, out, len);
#endif
  if (k == "scalar") {
    for (std::size_t i = 0; i < len; ++i) out[i] = std::log(x[i]);
    return;
  }
  throw std::invalid_argument("kernel '" + k + "' is not available on this CPU");
}

std::vector<std::string> plogp_kernels() {
  std::vector<std::string> out;
#ifdef UNMASK_X86_DISPATCH
  if (cpu_has_avx512()) out.emplace_back("avx512");
  if (cpu_has_avx2_fma()) out.emplace_back("avx2-fma");
#endif
  out.emplace_back("scalar");
  return out;
}

double sum2_plogp(const double* a, const double* b, double* out, std::size_t len) {
#ifdef UNMASK_X86_DISPATCH
  if (cpu_has_avx512()) return sum2_plogp_avx512(a, b, out, len);
#endif
  double local[512];
  double total = 0.0;
  for (std::size_t c = 0; c < len; c += 512) {
    const std::size_t n = len - c < 512 ? len - c : 512;
    double* dst = out ? out + c : local;
    for (std::size_t i = 0; i < n; ++i) dst[i] = a[c + i] + b[c + i];
    total += plogp_sum(dst, n);
  }
  return total;
}

double plogp_sum(const double* x, std::size_t len) {
#ifdef UNMASK_X86_DISPATCH
  if (cpu_has_avx512()) return plogp_sum_avx512(x, len);
  if (cpu_has_avx2_fma()) return plogp_sum_avx2(x, len);
#endif
  return plogp_sum_scalar(x, len);
}

void log_array(const double* x, double* out, std::size_t len) {
#ifdef UNMASK_X86_DISPATCH
  bool all_normal = true;
  for (std::size_t i = 0; i < len; ++i) all_normal &= (x[i] >= DBL_MIN && x[i] <= DBL_MAX);
  if (cpu_has_avx512() && all_normal) {
    log_array_avx512(x, out, len);
    return;
  }
  if (cpu_has_avx2_fma() && all_normal) {
    log_array_avx2(x, out, len);
    return;
  }
#endif
  for (std::size_t i = 0; i < len; ++i) out[i] = std::log(x[i]);
}

const char* plogp_kernel() {
#ifdef UNMASK_X86_DISPATCH
  if (cpu_has_avx512()) return "avx512";
  if (cpu_has_avx2_fma()) return "avx2-fma";
#endif
  return "scalar";
}

}  // namespace unmask
