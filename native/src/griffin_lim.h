#pragma once
// Waveforms from log-mel spectrograms, for listening to generated audio: the mel magnitudes are mapped back to
// linear-frequency magnitudes with the filterbank's pseudo-inverse (clamped at 0), then Griffin-Lim iterates
// phase estimates with the STFT convention of ts/media/melspec.ts (periodic Hann window of nFft, hop, centred
// frames with reflect padding, magnitude |X|).
#include <torch/torch.h>

namespace mmdisco {

struct GriffinLimConfig {
  int64_t n_fft = 512;
  int64_t hop = 160;
  int64_t iterations = 64;
  double momentum = 0.99;  // "fast Griffin-Lim" (Perraudin et al. 2013); 0 gives the classic algorithm
  uint64_t seed = 0;       // initial random phases
};

// log_mel: (N, frames, melBins) natural-log magnitudes; filterbank: (melBins, nFft/2 + 1).
// Returns (N, frames · hop) float32 waveforms.
torch::Tensor griffin_lim(const torch::Tensor& log_mel, const torch::Tensor& filterbank, const GriffinLimConfig& config);

}  // namespace mmdisco
