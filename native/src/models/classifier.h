#pragma once
// Evaluator classifiers: small CNNs that map one modality of a pair to class logits. Their penultimate
// activations are the feature space of the Fréchet distance and KID of that modality (FAD/FVD-style,
// "fidelity-lite"), and their predictions give class agreement between modalities.
//
// Inputs are taken in the datasets' stored encodings, so callers pass shard tensors as they are:
// - log-mel (B, L, M), natural-log magnitudes, standardised inside with the training set's
//   scalar mean and std (input_mean, input_std);
// - video (B, F, C, H, W), either uint8 (0..255, the shard encoding) or floating point already in the model
//   space [-1, 1] (x / 127.5 − 1, what generators produce).
#include <torch/torch.h>

#include <string>
#include <vector>

namespace mmdisco {

struct ClassifierConfig {
  std::string kind;                 // "mel-cnn" | "video-cnn"
  std::vector<int64_t> input_shape;  // per example: (L, M) for mel-cnn, (F, C, H, W) for video-cnn
  int64_t classes = 10;
  int64_t width = 16;         // channels of the first convolution; doubled at each downsampling
  int64_t feature_dim = 64;   // penultimate features
  double input_mean = 0.0;    // mel-cnn only: standardisation of the log-mel
  double input_std = 1.0;
};

struct ClassifierOutput {
  torch::Tensor logits;    // (B, classes)
  torch::Tensor features;  // (B, feature_dim), after the penultimate nonlinearity
};

// Common face of the evaluator networks, so one trainer and one binding serve both.
class ClassifierNet : public torch::nn::Module {
 public:
  explicit ClassifierNet(ClassifierConfig config);
  virtual ClassifierOutput classify(const torch::Tensor& x) = 0;
  const ClassifierConfig& config() const { return config_; }

 protected:
  // Checks x = (B, *input_shape) and returns it as floating point on the parameters' device and dtype.
  torch::Tensor prepare(const torch::Tensor& x) const;
  // The head shared by both networks, registered after the trunk: mean- and max-pooled trunk channels →
  // penultimate features → class logits.
  void register_head(int64_t trunk_channels);
  ClassifierOutput head(const torch::Tensor& trunk_features);  // (B, C, N) → pool over N
  torch::nn::Linear penultimate{nullptr}, output{nullptr};

 private:
  ClassifierConfig config_;
};

// 2-D CNN over the log-mel as an image (1, L, M): three conv blocks with 2×2 max pooling, a fourth conv, then
// mean and max over (time, mel) so the prediction does not depend on where in the clip the sound is.
class MelClassifier : public ClassifierNet {
 public:
  explicit MelClassifier(const ClassifierConfig& config);
  ClassifierOutput classify(const torch::Tensor& x) override;

 private:
  torch::nn::Sequential trunk{nullptr};
};

// Per-frame 2-D CNN shared across frames, then mean and max over frames and positions: max over frames keeps
// objects that appear in a few frames only (a digit fading in), the mean keeps overall brightness (material).
class VideoClassifier : public ClassifierNet {
 public:
  explicit VideoClassifier(const ClassifierConfig& config);
  ClassifierOutput classify(const torch::Tensor& x) override;

 private:
  torch::nn::Sequential trunk{nullptr};
};

// The network named by config.kind (unseeded; model_factory's make_classifier seeds it).
std::shared_ptr<ClassifierNet> build_classifier(const ClassifierConfig& config);

}  // namespace mmdisco
