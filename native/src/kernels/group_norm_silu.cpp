#include "kernels/group_norm_silu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mmdisco {

namespace {

void check_modulation(const std::optional<torch::Tensor>& scale, const std::optional<torch::Tensor>& shift) {
  TORCH_CHECK(scale.has_value() == shift.has_value(), "group_norm_silu: scale and shift come together");
}

#if defined(__x86_64__)

bool cpu_has_avx2_fma() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

// e^x for 8 floats: Cody–Waite range reduction and Cephes' degree-6 polynomial (as expf, within 2 ulp). NaN in
// gives a finite value here, but the caller divides x itself, so a NaN still comes out.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-88.3762626647949f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(x, x), _mm256_add_ps(x, _mm256_set1_ps(1.0f)));
  const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(exponent));
}

// Σ (x − centre) and Σ (x − centre)² over n floats: float lanes within blocks of 2048, double across blocks.
__attribute__((target("avx2,fma"))) void centred_moments(const float* x, int64_t n, float centre, double& sum,
                                                          double& squares) {
  constexpr int64_t kBlock = 2048;
  const __m256 c = _mm256_set1_ps(centre);
  sum = squares = 0;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t end = std::min(n, start + kBlock);
    __m256 s = _mm256_setzero_ps(), q = _mm256_setzero_ps();
    int64_t i = start;
    for (; i + 8 <= end; i += 8) {
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), c);
      s = _mm256_add_ps(s, d);
      q = _mm256_fmadd_ps(d, d, q);
    }
    alignas(32) float lanes_s[8], lanes_q[8];
    _mm256_store_ps(lanes_s, s);
    _mm256_store_ps(lanes_q, q);
    for (int k = 0; k < 8; ++k) {
      sum += lanes_s[k];
      squares += lanes_q[k];
    }
    for (; i < end; ++i) {
      const double d = static_cast<double>(x[i]) - centre;
      sum += d;
      squares += d * d;
    }
  }
}

// y = SiLU(a·x + b) over n floats.
__attribute__((target("avx2,fma"))) void affine_silu(const float* x, float* y, int64_t n, float a, float b) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b), one = _mm256_set1_ps(1.0f);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 h = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), va, vb);
    _mm256_storeu_ps(y + i, _mm256_div_ps(h, _mm256_add_ps(one, exp8(_mm256_xor_ps(h, sign)))));
  }
  for (; i < n; ++i) {
    const float h = x[i] * a + b;
    y[i] = h / (1.0f + std::exp(-h));
  }
}

// The fused kernel on float32 (B, C, …) contiguous x; scale and shift float32 (B, C) contiguous, or undefined.
torch::Tensor fused_group_norm_silu(const torch::Tensor& x, int64_t groups, const torch::Tensor& weight,
                                    const torch::Tensor& bias, double eps, const torch::Tensor& scale,
                                    const torch::Tensor& shift) {
  const int64_t batch = x.size(0), channels = x.size(1), positions = x.numel() / (batch * channels);
  const int64_t per_group = channels / groups, group_size = per_group * positions;
  auto y = torch::empty_like(x);
  const float* xs = x.data_ptr<float>();
  float* ys = y.data_ptr<float>();
  const float* gamma = weight.data_ptr<float>();
  const float* beta = bias.data_ptr<float>();
  const float* scales = scale.defined() ? scale.data_ptr<float>() : nullptr;
  const float* shifts = shift.defined() ? shift.data_ptr<float>() : nullptr;
  at::parallel_for(0, batch * groups, 1, [&](int64_t begin, int64_t end) {
    for (int64_t bg = begin; bg < end; ++bg) {
      const int64_t b = bg / groups, g = bg % groups;
      const float* xg = xs + bg * group_size;
      // Two passes: a first mean, then the moments about it (small deviations: no cancellation in the variance).
      double sum, squares;
      centred_moments(xg, group_size, 0.0f, sum, squares);
      const float centre = static_cast<float>(sum / group_size);
      centred_moments(xg, group_size, centre, sum, squares);
      const double deviation = sum / group_size, mean = centre + deviation;
      const double variance = squares / group_size - deviation * deviation;
      const double rstd = 1.0 / std::sqrt(std::max(variance, 0.0) + eps);
      for (int64_t j = 0; j < per_group; ++j) {
        const int64_t c = g * per_group + j;
        const double m = scales ? 1.0 + scales[b * channels + c] : 1.0;
        const double a = rstd * gamma[c] * m;
        const double offset = (beta[c] - mean * rstd * gamma[c]) * m + (shifts ? shifts[b * channels + c] : 0.0);
        affine_silu(xg + j * positions, ys + bg * group_size + j * positions, positions, static_cast<float>(a),
                    static_cast<float>(offset));
      }
    }
  });
  return y;
}

#endif

bool autograd_needed(std::initializer_list<const torch::Tensor*> tensors) {
  if (!torch::GradMode::is_enabled()) return false;
  return std::any_of(tensors.begin(), tensors.end(), [](const torch::Tensor* t) { return t->defined() && t->requires_grad(); });
}

}  // namespace

torch::Tensor norm_fp32(torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  return norm(x.to(torch::kFloat32)).to(x.scalar_type());
}

torch::Tensor group_norm_silu_reference(const torch::Tensor& x, torch::nn::GroupNorm& norm,
                                        const std::optional<torch::Tensor>& scale,
                                        const std::optional<torch::Tensor>& shift) {
  check_modulation(scale, shift);
  auto h = norm_fp32(norm, x);
  if (scale) {
    std::vector<int64_t> broadcast(h.dim(), 1);
    broadcast[0] = h.size(0);
    broadcast[1] = h.size(1);
    h = h * (1 + scale->view(broadcast)) + shift->view(broadcast);
  }
  return torch::silu(h);
}

bool group_norm_silu_is_fused(const torch::Tensor& x, torch::nn::GroupNorm& norm,
                              const std::optional<torch::Tensor>& scale, const std::optional<torch::Tensor>& shift) {
#if defined(__x86_64__)
  const auto &weight = norm->weight, &bias = norm->bias;
  const torch::Tensor none;
  return cpu_has_avx2_fma() && x.device().is_cpu() && x.dim() >= 2 &&
         (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16) && weight.defined() &&
         bias.defined() && weight.scalar_type() == torch::kFloat32 && bias.scalar_type() == torch::kFloat32 &&
         weight.device().is_cpu() &&
         !autograd_needed({&x, &weight, &bias, scale ? &*scale : &none, shift ? &*shift : &none});
#else
  (void)x;
  (void)norm;
  (void)scale;
  (void)shift;
  return false;
#endif
}

torch::Tensor group_norm_silu(const torch::Tensor& x, torch::nn::GroupNorm& norm,
                              const std::optional<torch::Tensor>& scale, const std::optional<torch::Tensor>& shift) {
  check_modulation(scale, shift);
#if defined(__x86_64__)
  if (group_norm_silu_is_fused(x, norm, scale, shift)) {
    const auto as_float = [&](const std::optional<torch::Tensor>& t) {
      return t ? t->to(torch::kFloat32).contiguous() : torch::Tensor();
    };
    const auto y = fused_group_norm_silu(x.to(torch::kFloat32).contiguous(), norm->options.num_groups(),
                                         norm->weight, norm->bias, norm->options.eps(), as_float(scale),
                                         as_float(shift));
    return y.to(x.scalar_type());
  }
#endif
  return group_norm_silu_reference(x, norm, scale, shift);
}

}  // namespace mmdisco
