#include "griffin_lim.h"

#include <cmath>

namespace mmdisco {

torch::Tensor griffin_lim(const torch::Tensor& log_mel, const torch::Tensor& filterbank, const GriffinLimConfig& c) {
  TORCH_CHECK(log_mel.dim() == 3, "griffin_lim: log-mel must be (N, frames, melBins), got ", log_mel.sizes());
  TORCH_CHECK(filterbank.dim() == 2 && filterbank.size(0) == log_mel.size(2) && filterbank.size(1) == c.n_fft / 2 + 1,
              "griffin_lim: filterbank must be (melBins, nFft/2 + 1) = (", log_mel.size(2), ", ", c.n_fft / 2 + 1,
              "), got ", filterbank.sizes());
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().dtype(torch::kFloat64);
  const int64_t frames = log_mel.size(1);
  const int64_t length = frames * c.hop;
  // (N, frames, M) → linear magnitudes (N, F, frames) with F = nFft/2 + 1.
  auto mel = torch::exp(log_mel.to(torch::kFloat64));
  auto inverse = torch::linalg_pinv(filterbank.to(torch::kFloat64));  // (F, M)
  auto magnitude = torch::matmul(mel, inverse.t()).clamp_min(0).transpose(1, 2).contiguous();
  auto window = torch::hann_window(c.n_fft, /*periodic=*/true, options);

  // The STFT of a waveform as melspec.ts defines it, trimmed to its `frames` frames.
  auto stft = [&](const torch::Tensor& wave) {
    return torch::stft(wave, c.n_fft, c.hop, c.n_fft, window, /*center=*/true, "reflect", /*normalized=*/false,
                       /*onesided=*/true, /*return_complex=*/true)
        .narrow(2, 0, frames);
  };
  auto istft = [&](const torch::Tensor& spectrum) {
    // Pad one frame at the end: a centred STFT of `length` samples has frames + 1 frames.
    auto padded = torch::cat({spectrum, torch::zeros_like(spectrum.narrow(2, 0, 1))}, 2);
    return torch::istft(padded, c.n_fft, c.hop, c.n_fft, window, /*center=*/true, /*normalized=*/false,
                        /*onesided=*/true, length);
  };

  auto generator = at::detail::createCPUGenerator(c.seed);
  auto phase = at::rand(magnitude.sizes(), generator, options) * (2 * M_PI);
  auto angles = torch::polar(torch::ones_like(magnitude), phase);
  auto previous = torch::zeros_like(angles);
  torch::Tensor wave;
  for (int64_t i = 0; i < c.iterations; ++i) {
    wave = istft(magnitude * angles);
    auto rebuilt = stft(wave);
    auto accelerated = rebuilt - (c.momentum / (1 + c.momentum)) * previous;
    previous = rebuilt;
    angles = accelerated / (accelerated.abs() + 1e-16);
  }
  wave = istft(magnitude * angles);
  return wave.to(torch::kFloat32);
}

}  // namespace mmdisco
