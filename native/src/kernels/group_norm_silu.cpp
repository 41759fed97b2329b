#include "kernels/group_norm_silu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <vector>

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

// 8 activations as floats, from float32 or bf16 (a bf16 is the top half of a float32).
__attribute__((target("avx2,fma"))) inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
__attribute__((target("avx2,fma"))) inline __m256 load8(const c10::BFloat16* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

// 8 floats stored as float32, or as bf16 rounded to nearest even as c10::BFloat16 rounds (NaN stays NaN).
__attribute__((target("avx2,fma"))) inline void store8(float* p, __m256 v) { _mm256_storeu_ps(p, v); }
__attribute__((target("avx2,fma"))) inline void store8(c10::BFloat16* p, __m256 v) {
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(odd, _mm256_set1_epi32(0x7FFF))), 16);
  const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  rounded = _mm256_blendv_epi8(rounded, _mm256_set1_epi32(0x7FC0), nan);
  // Pack the 8 low halves: packus works per 128-bit lane, the permute puts the lanes' results together.
  const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(rounded, rounded), 0xD8);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
}

// SiLU(h) and SiLU'(h) = σ(h)·(1 + h·(1 − σ(h))) of 8 floats.
__attribute__((target("avx2,fma"))) inline __m256 silu8(__m256 h) {
  return _mm256_div_ps(h, _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(_mm256_xor_ps(h, _mm256_set1_ps(-0.0f)))));
}
__attribute__((target("avx2,fma"))) inline __m256 silu_slope8(__m256 h) {
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 sigma = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_xor_ps(h, _mm256_set1_ps(-0.0f)))));
  return _mm256_mul_ps(sigma, _mm256_fmadd_ps(h, _mm256_sub_ps(one, sigma), one));
}
inline float silu_slope(float h) {
  const float sigma = 1.0f / (1.0f + std::exp(-h));
  return sigma * (1.0f + h * (1.0f - sigma));
}

// Two sums over n activations: add8(i, s, q) adds the terms of activations i … i+7 to the float lanes s and q,
// add1(i, first, second) those of activation i to the double sums; float lanes within blocks of 2048 activations,
// double across blocks.
template <typename Add8, typename Add1>
__attribute__((target("avx2,fma"))) void blocked_sums(int64_t n, double& first, double& second, Add8 add8, Add1 add1) {
  constexpr int64_t kBlock = 2048;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t end = std::min(n, start + kBlock);
    __m256 s = _mm256_setzero_ps(), q = _mm256_setzero_ps();
    int64_t i = start;
    for (; i + 8 <= end; i += 8) add8(i, s, q);
    alignas(32) float lanes_s[8], lanes_q[8];
    _mm256_store_ps(lanes_s, s);
    _mm256_store_ps(lanes_q, q);
    for (int k = 0; k < 8; ++k) {
      first += lanes_s[k];
      second += lanes_q[k];
    }
    for (; i < end; ++i) add1(i, first, second);
  }
}

// Σ (x − centre) and Σ (x − centre)² over n activations.
template <typename T>
__attribute__((target("avx2,fma"))) void centred_moments(const T* x, int64_t n, float centre, double& sum,
                                                          double& squares) {
  const __m256 c = _mm256_set1_ps(centre);
  sum = squares = 0;
  blocked_sums(
      n, sum, squares,
      [&](int64_t i, __m256& s, __m256& q) __attribute__((target("avx2,fma"))) {
        const __m256 d = _mm256_sub_ps(load8(x + i), c);
        s = _mm256_add_ps(s, d);
        q = _mm256_fmadd_ps(d, d, q);
      },
      [&](int64_t i, double& s, double& q) {
        const double d = static_cast<double>(static_cast<float>(x[i])) - centre;
        s += d;
        q += d * d;
      });
}

// y = SiLU(a·x + b) over n activations.
template <typename T>
__attribute__((target("avx2,fma"))) void affine_silu(const T* x, T* y, int64_t n, float a, float b) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store8(y + i, silu8(_mm256_fmadd_ps(load8(x + i), va, vb)));
  for (; i < n; ++i) {
    const float h = static_cast<float>(x[i]) * a + b;
    y[i] = static_cast<T>(h / (1.0f + std::exp(-h)));
  }
}

// Channels-last (B, …, C) memory: each position's C channels are contiguous, and the per-channel coefficients are
// vectors across them. The four row kernels below are the channels-last forms of the ones above.

// Two per-channel sums over the positions: add_row(p, s, q) adds position p's terms to the float accumulators s and
// q (one per channel); they are summed in float within blocks of 2048 positions and in double across blocks.
template <typename AddRow>
__attribute__((target("avx2,fma"))) void blocked_channel_sums(int64_t positions, int64_t channels, double* first,
                                                               double* second, AddRow add_row) {
  constexpr int64_t kBlock = 2048;
  std::vector<float> s(channels), q(channels);
  std::fill(first, first + channels, 0.0);
  std::fill(second, second + channels, 0.0);
  for (int64_t start = 0; start < positions; start += kBlock) {
    const int64_t end = std::min(positions, start + kBlock);
    std::fill(s.begin(), s.end(), 0.0f);
    std::fill(q.begin(), q.end(), 0.0f);
    for (int64_t p = start; p < end; ++p) add_row(p, s.data(), q.data());
    for (int64_t c = 0; c < channels; ++c) {
      first[c] += s[c];
      second[c] += q[c];
    }
  }
}

// Per channel, Σ (x − centre_c) and Σ (x − centre_c)² over the positions.
template <typename T>
__attribute__((target("avx2,fma"))) void channel_moments(const T* x, int64_t positions, int64_t channels,
                                                          const float* centre, double* sum, double* squares) {
  blocked_channel_sums(positions, channels, sum, squares,
                       [&](int64_t p, float* s, float* q) __attribute__((target("avx2,fma"))) {
                         const T* row = x + p * channels;
                         int64_t c = 0;
                         for (; c + 8 <= channels; c += 8) {
                           const __m256 d = _mm256_sub_ps(load8(row + c), _mm256_loadu_ps(centre + c));
                           _mm256_storeu_ps(s + c, _mm256_add_ps(_mm256_loadu_ps(s + c), d));
                           _mm256_storeu_ps(q + c, _mm256_fmadd_ps(d, d, _mm256_loadu_ps(q + c)));
                         }
                         for (; c < channels; ++c) {
                           const float d = static_cast<float>(row[c]) - centre[c];
                           s[c] += d;
                           q[c] += d * d;
                         }
                       });
}

// y = SiLU(a_c·x + b_c) over the positions.
template <typename T>
__attribute__((target("avx2,fma"))) void affine_silu_rows(const T* x, T* y, int64_t positions, int64_t channels,
                                                           const float* a, const float* b) {
  for (int64_t p = 0; p < positions; ++p) {
    const T* row = x + p * channels;
    T* out = y + p * channels;
    int64_t c = 0;
    for (; c + 8 <= channels; c += 8) {
      store8(out + c, silu8(_mm256_fmadd_ps(load8(row + c), _mm256_loadu_ps(a + c), _mm256_loadu_ps(b + c))));
    }
    for (; c < channels; ++c) {
      const float h = static_cast<float>(row[c]) * a[c] + b[c];
      out[c] = static_cast<T>(h / (1.0f + std::exp(-h)));
    }
  }
}

// dh = dy·SiLU'(a_c·x + b_c) over the positions into dh (float32), and per channel Σ dh and Σ dh·x.
template <typename T>
__attribute__((target("avx2,fma"))) void affine_silu_backward_rows(const T* x, const T* dy, float* dh, int64_t positions,
                                                                    int64_t channels, const float* a, const float* b,
                                                                    double* sum, double* moment) {
  blocked_channel_sums(positions, channels, sum, moment,
                       [&](int64_t p, float* s, float* q) __attribute__((target("avx2,fma"))) {
                         const T* row = x + p * channels;
                         const T* grad = dy + p * channels;
                         float* out = dh + p * channels;
                         int64_t c = 0;
                         for (; c + 8 <= channels; c += 8) {
                           const __m256 xv = load8(row + c);
                           const __m256 h = _mm256_fmadd_ps(xv, _mm256_loadu_ps(a + c), _mm256_loadu_ps(b + c));
                           const __m256 d = _mm256_mul_ps(load8(grad + c), silu_slope8(h));
                           _mm256_storeu_ps(out + c, d);
                           _mm256_storeu_ps(s + c, _mm256_add_ps(_mm256_loadu_ps(s + c), d));
                           _mm256_storeu_ps(q + c, _mm256_fmadd_ps(d, xv, _mm256_loadu_ps(q + c)));
                         }
                         for (; c < channels; ++c) {
                           const float xc = static_cast<float>(row[c]);
                           const float d = static_cast<float>(grad[c]) * silu_slope(xc * a[c] + b[c]);
                           out[c] = d;
                           s[c] += d;
                           q[c] += d * xc;
                         }
                       });
}

// dx = p_c·dh + q_c·x + r_c over the positions.
template <typename T>
__attribute__((target("avx2,fma"))) void affine_combination_rows(const float* dh, const T* x, T* dx, int64_t positions,
                                                                  int64_t channels, const float* p, const float* q,
                                                                  const float* r) {
  for (int64_t i = 0; i < positions; ++i) {
    const float* grad = dh + i * channels;
    const T* row = x + i * channels;
    T* out = dx + i * channels;
    int64_t c = 0;
    for (; c + 8 <= channels; c += 8) {
      const __m256 rest = _mm256_fmadd_ps(load8(row + c), _mm256_loadu_ps(q + c), _mm256_loadu_ps(r + c));
      store8(out + c, _mm256_fmadd_ps(_mm256_loadu_ps(grad + c), _mm256_loadu_ps(p + c), rest));
    }
    for (; c < channels; ++c) out[c] = static_cast<T>(grad[c] * p[c] + static_cast<float>(row[c]) * q[c] + r[c]);
  }
}

bool is_channels_last(const torch::Tensor& x) {
  return (x.dim() == 4 && x.is_contiguous(torch::MemoryFormat::ChannelsLast)) ||
         (x.dim() == 5 && x.is_contiguous(torch::MemoryFormat::ChannelsLast3d));
}

struct GroupStatistics {
  torch::Tensor mean, rstd;  // float32 (B·groups)
};

// A group's mean and 1/σ from its Σ (x − centre) and Σ (x − centre)² (small deviations: no cancellation).
std::pair<double, double> group_mean_rstd(double sum, double squares, double centre, int64_t size, double eps) {
  const double deviation = sum / size;
  const double variance = squares / size - deviation * deviation;
  return {centre + deviation, 1.0 / std::sqrt(std::max(variance, 0.0) + eps)};
}

// Channel c of sample b as h = a·x + offset: normalised, scaled by γ (1 + scale), shifted by β (1 + scale) + shift.
struct ChannelAffine {
  double m, a, offset;
};
ChannelAffine channel_affine(double mean, double rstd, const float* gamma, const float* beta, const float* scales,
                             const float* shifts, int64_t channels, int64_t b, int64_t c) {
  const double m = scales ? 1.0 + scales[b * channels + c] : 1.0;
  return {m, rstd * gamma[c] * m, (beta[c] - mean * rstd * gamma[c]) * m + (shifts ? shifts[b * channels + c] : 0.0)};
}

// The fused kernel on float32 or bf16 x, (B, C, …) contiguous or channels-last, y of x's dtype and layout; scale
// and shift float32 (B, C) contiguous, or undefined. Writes each group's mean and 1/σ into statistics when given
// (the backward reads them).
torch::Tensor fused_group_norm_silu(const torch::Tensor& x, int64_t groups, const torch::Tensor& weight,
                                    const torch::Tensor& bias, double eps, const torch::Tensor& scale,
                                    const torch::Tensor& shift, GroupStatistics* statistics = nullptr) {
  const int64_t batch = x.size(0), channels = x.size(1), positions = x.numel() / (batch * channels);
  const int64_t per_group = channels / groups, group_size = per_group * positions;
  auto y = torch::empty_like(x);
  float* means = nullptr;
  float* rstds = nullptr;
  if (statistics) {
    statistics->mean = torch::empty({batch * groups}, torch::kFloat32);
    statistics->rstd = torch::empty({batch * groups}, torch::kFloat32);
    means = statistics->mean.data_ptr<float>();
    rstds = statistics->rstd.data_ptr<float>();
  }
  const float* gamma = weight.data_ptr<float>();
  const float* beta = bias.data_ptr<float>();
  const float* scales = scale.defined() ? scale.data_ptr<float>() : nullptr;
  const float* shifts = shift.defined() ? shift.data_ptr<float>() : nullptr;
  const auto keep = [&](int64_t bg, double mean, double rstd) {
    if (!means) return;
    means[bg] = static_cast<float>(mean);
    rstds[bg] = static_cast<float>(rstd);
  };
  // (B, C, …): per (sample, group), two statistics passes (a first mean, then the moments about it), then one pass
  // per channel.
  const auto run = [&](const auto* xs, auto* ys) {
    at::parallel_for(0, batch * groups, 1, [&](int64_t begin, int64_t end) {
      for (int64_t bg = begin; bg < end; ++bg) {
        const int64_t b = bg / groups, g = bg % groups;
        const auto* xg = xs + bg * group_size;
        double sum, squares;
        centred_moments(xg, group_size, 0.0f, sum, squares);
        const float centre = static_cast<float>(sum / group_size);
        centred_moments(xg, group_size, centre, sum, squares);
        const auto [mean, rstd] = group_mean_rstd(sum, squares, centre, group_size, eps);
        keep(bg, mean, rstd);
        for (int64_t j = 0; j < per_group; ++j) {
          const auto f = channel_affine(mean, rstd, gamma, beta, scales, shifts, channels, b, g * per_group + j);
          affine_silu(xg + j * positions, ys + bg * group_size + j * positions, positions, static_cast<float>(f.a),
                      static_cast<float>(f.offset));
        }
      }
    });
  };
  // Channels-last: per sample, the same two statistics passes as per-channel moments, then one pass over the
  // positions.
  const auto run_channels_last = [&](const auto* xs, auto* ys) {
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
      std::vector<double> sum(channels), squares(channels);
      std::vector<float> centre(channels), a(channels), offset(channels);
      for (int64_t b = begin; b < end; ++b) {
        const auto* xb = xs + b * positions * channels;
        std::fill(centre.begin(), centre.end(), 0.0f);
        channel_moments(xb, positions, channels, centre.data(), sum.data(), squares.data());
        for (int64_t g = 0; g < groups; ++g) {
          const auto first = g * per_group, last = first + per_group;
          const double total = std::accumulate(sum.begin() + first, sum.begin() + last, 0.0);
          std::fill(centre.begin() + first, centre.begin() + last, static_cast<float>(total / group_size));
        }
        channel_moments(xb, positions, channels, centre.data(), sum.data(), squares.data());
        for (int64_t g = 0; g < groups; ++g) {
          const auto first = g * per_group, last = first + per_group;
          const auto [mean, rstd] = group_mean_rstd(std::accumulate(sum.begin() + first, sum.begin() + last, 0.0),
                                                    std::accumulate(squares.begin() + first, squares.begin() + last, 0.0),
                                                    centre[first], group_size, eps);
          keep(b * groups + g, mean, rstd);
          for (int64_t c = first; c < last; ++c) {
            const auto f = channel_affine(mean, rstd, gamma, beta, scales, shifts, channels, b, c);
            a[c] = static_cast<float>(f.a);
            offset[c] = static_cast<float>(f.offset);
          }
        }
        affine_silu_rows(xb, ys + b * positions * channels, positions, channels, a.data(), offset.data());
      }
    });
  };
  const bool last = is_channels_last(x) && !x.is_contiguous();
  if (x.scalar_type() == torch::kBFloat16) {
    const auto* xs = x.data_ptr<c10::BFloat16>();
    auto* ys = y.data_ptr<c10::BFloat16>();
    last ? run_channels_last(xs, ys) : run(xs, ys);
  } else {
    const auto* xs = x.data_ptr<float>();
    auto* ys = y.data_ptr<float>();
    last ? run_channels_last(xs, ys) : run(xs, ys);
  }
  return y;
}

// Over n activations with h = a·x + b: dh = dy · SiLU'(h), written to dh (float32); adds Σ dh and Σ dh·x to the
// sums.
template <typename T>
__attribute__((target("avx2,fma"))) void affine_silu_backward(const T* x, const T* dy, float* dh, int64_t n, float a,
                                                              float b, double& sum, double& moment) {
  const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
  blocked_sums(
      n, sum, moment,
      [&](int64_t i, __m256& s, __m256& q) __attribute__((target("avx2,fma"))) {
        const __m256 xv = load8(x + i);
        const __m256 d = _mm256_mul_ps(load8(dy + i), silu_slope8(_mm256_fmadd_ps(xv, va, vb)));
        _mm256_storeu_ps(dh + i, d);
        s = _mm256_add_ps(s, d);
        q = _mm256_fmadd_ps(d, xv, q);
      },
      [&](int64_t i, double& s, double& q) {
        const float xi = static_cast<float>(x[i]);
        const float d = static_cast<float>(dy[i]) * silu_slope(xi * a + b);
        dh[i] = d;
        s += d;
        q += static_cast<double>(d) * xi;
      });
}

// dx = p·dh + q·x + r over n activations.
template <typename T>
__attribute__((target("avx2,fma"))) void affine_combination(const float* dh, const T* x, T* dx, int64_t n, float p,
                                                            float q, float r) {
  const __m256 vp = _mm256_set1_ps(p), vq = _mm256_set1_ps(q), vr = _mm256_set1_ps(r);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 rest = _mm256_fmadd_ps(load8(x + i), vq, vr);
    store8(dx + i, _mm256_fmadd_ps(_mm256_loadu_ps(dh + i), vp, rest));
  }
  for (; i < n; ++i) dx[i] = static_cast<T>(dh[i] * p + static_cast<float>(x[i]) * q + r);
}

struct GroupNormSiluGradients {
  torch::Tensor x, weight, bias, scale, shift;  // scale and shift undefined when the forward had none
};

// The backward of fused_group_norm_silu on x and dy of one dtype (float32 or bf16) and one layout, from the
// forward's statistics. Per sample and group, two passes: dh = dy·SiLU'(h) into a float32 scratch, with each
// channel's Σ dh and Σ dh·x̂, then GroupNorm's input gradient dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with
// dx̂ = dh·(1 + scale)·γ, that is dx = p_c·dh + q·x + r.
GroupNormSiluGradients fused_group_norm_silu_backward(const torch::Tensor& x, const torch::Tensor& dy, int64_t groups,
                                                      const torch::Tensor& weight, const torch::Tensor& bias,
                                                      const torch::Tensor& scale, const torch::Tensor& shift,
                                                      const GroupStatistics& statistics) {
  const int64_t batch = x.size(0), channels = x.size(1), positions = x.numel() / (batch * channels);
  const int64_t per_group = channels / groups, group_size = per_group * positions;
  auto dx = torch::empty_like(x);
  // Per (b, c): Σ dh and Σ dh·x̂, reduced into the parameter gradients after the parallel loop.
  auto dh_sums = torch::empty({batch, channels}, torch::kFloat64);
  auto dh_moments = torch::empty({batch, channels}, torch::kFloat64);
  double* sums = dh_sums.data_ptr<double>();
  double* moments = dh_moments.data_ptr<double>();
  const float* gamma = weight.data_ptr<float>();
  const float* beta = bias.data_ptr<float>();
  const float* scales = scale.defined() ? scale.data_ptr<float>() : nullptr;
  const float* shifts = shift.defined() ? shift.data_ptr<float>() : nullptr;
  const float* means = statistics.mean.data_ptr<float>();
  const float* rstds = statistics.rstd.data_ptr<float>();
  // With each channel's Σ dh and Σ dh·x̂ of sample b in sums and moments: GroupNorm's q and r of group g.
  const auto group_terms = [&](int64_t b, int64_t g) {
    const double mean = means[b * groups + g], rstd = rstds[b * groups + g];
    double mean_dxhat = 0, mean_dxhat_xhat = 0;
    for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
      const double m = scales ? 1.0 + scales[b * channels + c] : 1.0;
      mean_dxhat += m * gamma[c] * sums[b * channels + c];
      mean_dxhat_xhat += m * gamma[c] * moments[b * channels + c];
    }
    mean_dxhat /= group_size;
    mean_dxhat_xhat /= group_size;
    const double q = -rstd * rstd * mean_dxhat_xhat;
    return std::pair<double, double>{q, -rstd * mean_dxhat - q * mean};
  };
  const auto run = [&](const auto* xs, const auto* dys, auto* dxs) {
    at::parallel_for(0, batch * groups, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> dh(group_size);
      for (int64_t bg = begin; bg < end; ++bg) {
        const int64_t b = bg / groups, g = bg % groups;
        const int64_t offset_bg = bg * group_size;
        const double mean = means[bg], rstd = rstds[bg];
        for (int64_t j = 0; j < per_group; ++j) {
          const int64_t c = g * per_group + j, offset = offset_bg + j * positions;
          const auto f = channel_affine(mean, rstd, gamma, beta, scales, shifts, channels, b, c);
          double sum = 0, moment = 0;
          affine_silu_backward(xs + offset, dys + offset, dh.data() + j * positions, positions, static_cast<float>(f.a),
                               static_cast<float>(f.offset), sum, moment);
          sums[b * channels + c] = sum;
          moments[b * channels + c] = rstd * (moment - mean * sum);  // Σ dh·x̂
        }
        const auto [q, r] = group_terms(b, g);
        for (int64_t j = 0; j < per_group; ++j) {
          const int64_t c = g * per_group + j, offset = offset_bg + j * positions;
          const double m = scales ? 1.0 + scales[b * channels + c] : 1.0;
          affine_combination(dh.data() + j * positions, xs + offset, dxs + offset, positions,
                             static_cast<float>(rstd * m * gamma[c]), static_cast<float>(q), static_cast<float>(r));
        }
      }
    });
  };
  const auto run_channels_last = [&](const auto* xs, const auto* dys, auto* dxs) {
    at::parallel_for(0, batch, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> dh(positions * channels), a(channels), offset(channels), p(channels), q(channels),
          r(channels);
      for (int64_t b = begin; b < end; ++b) {
        const int64_t start = b * positions * channels;
        for (int64_t c = 0; c < channels; ++c) {
          const int64_t bg = b * groups + c / per_group;
          const auto f = channel_affine(means[bg], rstds[bg], gamma, beta, scales, shifts, channels, b, c);
          a[c] = static_cast<float>(f.a);
          offset[c] = static_cast<float>(f.offset);
        }
        affine_silu_backward_rows(xs + start, dys + start, dh.data(), positions, channels, a.data(), offset.data(),
                                  sums + b * channels, moments + b * channels);
        for (int64_t c = 0; c < channels; ++c) {  // Σ dh·x → Σ dh·x̂
          const int64_t bg = b * groups + c / per_group;
          moments[b * channels + c] = rstds[bg] * (moments[b * channels + c] - means[bg] * sums[b * channels + c]);
        }
        for (int64_t g = 0; g < groups; ++g) {
          const auto [q_g, r_g] = group_terms(b, g);
          for (int64_t c = g * per_group; c < (g + 1) * per_group; ++c) {
            const double m = scales ? 1.0 + scales[b * channels + c] : 1.0;
            p[c] = static_cast<float>(rstds[b * groups + g] * m * gamma[c]);
            q[c] = static_cast<float>(q_g);
            r[c] = static_cast<float>(r_g);
          }
        }
        affine_combination_rows(dh.data(), xs + start, dxs + start, positions, channels, p.data(), q.data(), r.data());
      }
    });
  };
  const bool last = is_channels_last(x) && !x.is_contiguous();
  if (x.scalar_type() == torch::kBFloat16) {
    const auto* xs = x.data_ptr<c10::BFloat16>();
    const auto* dys = dy.data_ptr<c10::BFloat16>();
    auto* dxs = dx.data_ptr<c10::BFloat16>();
    last ? run_channels_last(xs, dys, dxs) : run(xs, dys, dxs);
  } else {
    const auto* xs = x.data_ptr<float>();
    const auto* dys = dy.data_ptr<float>();
    auto* dxs = dx.data_ptr<float>();
    last ? run_channels_last(xs, dys, dxs) : run(xs, dys, dxs);
  }
  // h = u·m + shift with u = x̂·γ + β: ∂/∂shift = Σ dh, ∂/∂scale = Σ dh·u, ∂/∂γ = Σ_b m·Σ dh·x̂, ∂/∂β = Σ_b m·Σ dh.
  const auto gamma64 = weight.to(torch::kFloat64), beta64 = bias.to(torch::kFloat64);
  const auto m = scale.defined() ? 1.0 + scale.to(torch::kFloat64) : torch::ones({batch, channels}, torch::kFloat64);
  GroupNormSiluGradients gradients;
  gradients.x = dx;
  gradients.weight = (m * dh_moments).sum(0).to(torch::kFloat32);
  gradients.bias = (m * dh_sums).sum(0).to(torch::kFloat32);
  if (scale.defined()) {
    gradients.scale = (gamma64 * dh_moments + beta64 * dh_sums).to(torch::kFloat32);
    gradients.shift = dh_sums.to(torch::kFloat32);
  }
  return gradients;
}

#endif

bool autograd_needed(std::initializer_list<const torch::Tensor*> tensors) {
  if (!torch::GradMode::is_enabled()) return false;
  return std::any_of(tensors.begin(), tensors.end(), [](const torch::Tensor* t) { return t->defined() && t->requires_grad(); });
}

// t in the memory layout of like ((B, C, …) contiguous or channels-last), as the fused kernels read them together.
torch::Tensor in_layout_of(const torch::Tensor& t, const torch::Tensor& like) {
  if (like.is_contiguous()) return t.contiguous();
  return t.contiguous(like.dim() == 5 ? torch::MemoryFormat::ChannelsLast3d : torch::MemoryFormat::ChannelsLast);
}

torch::Tensor as_float(const torch::Tensor& t) { return t.defined() ? t.to(torch::kFloat32).contiguous() : t; }

// The ATen composition on tensors: GroupNorm in float32, the scale-shift and SiLU in x's dtype. scale and shift
// undefined for none.
torch::Tensor composition(const torch::Tensor& x, int64_t groups, const torch::Tensor& weight,
                          const torch::Tensor& bias, double eps, const torch::Tensor& scale,
                          const torch::Tensor& shift) {
  auto h = torch::nn::functional::group_norm(
               x.to(at::promote_types(x.scalar_type(), torch::kFloat32)),
               torch::nn::functional::GroupNormFuncOptions(groups).weight(weight).bias(bias).eps(eps))
               .to(x.scalar_type());
  if (scale.defined()) {
    std::vector<int64_t> broadcast(h.dim(), 1);
    broadcast[0] = h.size(0);
    broadcast[1] = h.size(1);
    h = h * (1 + scale.view(broadcast)) + shift.view(broadcast);
  }
  return torch::silu(h);
}

#if defined(__x86_64__)

// With gradients: the fused forward, which keeps only x and the groups' statistics for the backward (ATen's
// composition keeps the normalised, the modulated and the activated maps too), and the fused backward. A backward
// that must itself be differentiable (create_graph, as a gradient penalty needs) differentiates the composition
// instead, recomputed from x.
class GroupNormSiluFunction : public torch::autograd::Function<GroupNormSiluFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& scale,
                               const torch::Tensor& shift, int64_t groups, double eps) {
    GroupStatistics statistics;
    const auto y = fused_group_norm_silu(x, groups, weight, bias, eps, as_float(scale), as_float(shift),
                                         &statistics);
    ctx->save_for_backward({x, weight, bias, scale, shift, statistics.mean, statistics.rstd});
    ctx->saved_data["groups"] = groups;
    ctx->saved_data["eps"] = eps;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1], &bias = saved[2], &scale = saved[3], &shift = saved[4];
    const int64_t groups = ctx->saved_data["groups"].toInt();
    const double eps = ctx->saved_data["eps"].toDouble();
    const auto& dy = grad_outputs[0];
    torch::autograd::variable_list gradients(7);
    if (torch::GradMode::is_enabled()) {
      std::vector<torch::Tensor> inputs;
      std::vector<size_t> slots;
      for (size_t i = 0; i < 5; ++i) {
        if (saved[i].requires_grad() && ctx->needs_input_grad(i)) {
          inputs.push_back(saved[i]);
          slots.push_back(i);
        }
      }
      if (inputs.empty()) return gradients;
      const auto y = composition(x, groups, weight, bias, eps, scale, shift);
      const auto grads = torch::autograd::grad({y}, inputs, {dy}, /*retain_graph=*/true, /*create_graph=*/true,
                                               /*allow_unused=*/true);
      for (size_t k = 0; k < slots.size(); ++k) gradients[slots[k]] = grads[k];
      return gradients;
    }
    const auto g = fused_group_norm_silu_backward(x, in_layout_of(dy.to(x.scalar_type()), x), groups, weight,
                                                  bias, as_float(scale), as_float(shift), {saved[5], saved[6]});
    gradients[0] = g.x;
    gradients[1] = g.weight;
    gradients[2] = g.bias;
    gradients[3] = g.scale.to(scale.scalar_type());
    gradients[4] = g.shift.to(shift.scalar_type());
    return gradients;
  }
};

#endif

torch::Tensor optional_tensor(const std::optional<torch::Tensor>& t) { return t ? *t : torch::Tensor(); }

#if defined(__x86_64__)
// γ and β as the fused kernel reads them: a GroupNorm without affine parameters has γ = 1 and β = 0.
std::pair<torch::Tensor, torch::Tensor> affine_parameters(torch::nn::GroupNorm& norm) {
  if (norm->options.affine()) return {norm->weight, norm->bias};
  const int64_t channels = norm->options.num_channels();
  return {torch::ones({channels}), torch::zeros({channels})};
}
#endif

}  // namespace

torch::Tensor norm_fp32(torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  return norm(x.to(at::promote_types(x.scalar_type(), torch::kFloat32))).to(x.scalar_type());
}

torch::Tensor group_norm_silu_reference(const torch::Tensor& x, torch::nn::GroupNorm& norm,
                                        const std::optional<torch::Tensor>& scale,
                                        const std::optional<torch::Tensor>& shift) {
  check_modulation(scale, shift);
  return composition(x, norm->options.num_groups(), norm->weight, norm->bias, norm->options.eps(),
                     optional_tensor(scale), optional_tensor(shift));
}

bool group_norm_silu_is_fused(const torch::Tensor& x, torch::nn::GroupNorm& norm,
                              const std::optional<torch::Tensor>& scale, const std::optional<torch::Tensor>& shift) {
#if defined(__x86_64__)
  if (twice_differentiable() && torch::GradMode::is_enabled()) return false;
  const auto on_cpu = [](const std::optional<torch::Tensor>& t) { return !t || t->device().is_cpu(); };
  const auto readable = [](const torch::Tensor& p) {
    return p.defined() && p.scalar_type() == torch::kFloat32 && p.device().is_cpu();
  };
  // Without affine parameters the kernel reads γ = 1 and β = 0 (affine_parameters).
  const bool affine_readable = !norm->options.affine() || (readable(norm->weight) && readable(norm->bias));
  return cpu_has_avx2_fma() && x.device().is_cpu() && x.dim() >= 2 && (x.is_contiguous() || is_channels_last(x)) &&
         (x.scalar_type() == torch::kFloat32 || x.scalar_type() == torch::kBFloat16) && affine_readable &&
         on_cpu(scale) && on_cpu(shift);
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
    const auto [weight, bias] = affine_parameters(norm);
    const int64_t groups = norm->options.num_groups();
    const double eps = norm->options.eps();
    const auto scale_tensor = optional_tensor(scale), shift_tensor = optional_tensor(shift);
    if (autograd_needed({&x, &weight, &bias, &scale_tensor, &shift_tensor})) {
      // A custom function's inputs must be defined: no scale-shift is a zero one, which changes nothing.
      const auto zeros = scale ? torch::Tensor() : torch::zeros({x.size(0), x.size(1)}, x.options().dtype(torch::kFloat32));
      return GroupNormSiluFunction::apply(x, weight, bias, scale ? scale_tensor : zeros, shift ? shift_tensor : zeros,
                                          groups, eps);
    }
    return fused_group_norm_silu(x, groups, weight, bias, eps, as_float(scale_tensor), as_float(shift_tensor));
  }
#endif
  return group_norm_silu_reference(x, norm, scale, shift);
}

}  // namespace mmdisco
