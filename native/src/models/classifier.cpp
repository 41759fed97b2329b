#include "models/classifier.h"

#include <algorithm>
#include <stdexcept>

namespace mmdisco {

namespace {

// conv 3×3 → GroupNorm → ReLU. GroupNorm rather than BatchNorm: no running statistics, so the parameters are
// the whole state (checkpoints) and predictions do not depend on the batch.
void add_conv_block(torch::nn::Sequential& seq, int64_t in, int64_t out) {
  seq->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
  seq->push_back(torch::nn::GroupNorm(torch::nn::GroupNormOptions(std::min<int64_t>(8, out), out)));
  seq->push_back(torch::nn::ReLU());
}

void add_pool(torch::nn::Sequential& seq) { seq->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2))); }

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

void require_shape(const ClassifierConfig& c, size_t dims) {
  if (c.input_shape.size() != dims)
    throw std::invalid_argument(c.kind + ": inputShape must have " + std::to_string(dims) + " entries, got " +
                                shape_string(c.input_shape));
  for (int64_t d : c.input_shape)
    if (d < 1) throw std::invalid_argument(c.kind + ": inputShape entries must be positive");
}

}  // namespace

ClassifierNet::ClassifierNet(ClassifierConfig config) : config_(std::move(config)) {
  if (config_.classes < 2) throw std::invalid_argument(config_.kind + ": classes must be at least 2");
  if (config_.width < 1 || config_.feature_dim < 1)
    throw std::invalid_argument(config_.kind + ": width and featureDim must be positive");
  if (!(config_.input_std > 0)) throw std::invalid_argument(config_.kind + ": inputStd must be positive");
}

torch::Tensor ClassifierNet::prepare(const torch::Tensor& x) const {
  const auto& shape = config_.input_shape;
  bool ok = x.dim() == static_cast<int64_t>(shape.size()) + 1;
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = x.size(static_cast<int64_t>(i) + 1) == shape[i];
  if (!ok)
    throw std::invalid_argument(config_.kind + ": input must have shape (batch, " +
                                shape_string(shape).substr(1) + ", got " + shape_string(x.sizes().vec()));
  const auto p = parameters().front();  // a copy: parameters() returns a temporary vector
  if (x.scalar_type() == torch::kUInt8) return x.to(p.device(), p.scalar_type()) / 127.5 - 1.0;
  if (!x.is_floating_point()) throw std::invalid_argument(config_.kind + ": input must be uint8 or floating point");
  return x.to(p.device(), p.scalar_type());
}

void ClassifierNet::register_head(int64_t trunk_channels) {
  penultimate = register_module("penultimate", torch::nn::Linear(2 * trunk_channels, config_.feature_dim));
  output = register_module("output", torch::nn::Linear(config_.feature_dim, config_.classes));
}

ClassifierOutput ClassifierNet::head(const torch::Tensor& trunk_features) {
  auto pooled = torch::cat({trunk_features.mean(2), std::get<0>(trunk_features.max(2))}, 1);
  auto features = torch::relu(penultimate->forward(pooled));
  return {output->forward(features), features};
}

MelClassifier::MelClassifier(const ClassifierConfig& config) : ClassifierNet(config) {
  require_shape(config, 2);
  const int64_t w = config.width;
  trunk = torch::nn::Sequential();
  add_conv_block(trunk, 1, w);
  add_pool(trunk);
  add_conv_block(trunk, w, 2 * w);
  add_pool(trunk);
  add_conv_block(trunk, 2 * w, 4 * w);
  add_pool(trunk);
  add_conv_block(trunk, 4 * w, 4 * w);
  register_module("trunk", trunk);
  register_head(4 * w);
}

ClassifierOutput MelClassifier::classify(const torch::Tensor& x_in) {
  auto x = (prepare(x_in) - config().input_mean) / config().input_std;
  auto h = trunk->forward(x.unsqueeze(1)).flatten(2);  // (B, C, L'·M')
  return head(h);
}

VideoClassifier::VideoClassifier(const ClassifierConfig& config) : ClassifierNet(config) {
  require_shape(config, 4);
  const int64_t w = config.width;
  const int64_t channels = config.input_shape[1];
  trunk = torch::nn::Sequential();
  add_conv_block(trunk, channels, w);
  add_conv_block(trunk, w, 2 * w);
  add_pool(trunk);
  add_conv_block(trunk, 2 * w, 4 * w);
  add_pool(trunk);
  add_conv_block(trunk, 4 * w, 4 * w);
  register_module("trunk", trunk);
  register_head(4 * w);
}

ClassifierOutput VideoClassifier::classify(const torch::Tensor& x_in) {
  auto x = prepare(x_in);
  const int64_t batch = x.size(0), frames = x.size(1);
  auto h = trunk->forward(x.flatten(0, 1));                      // (B·F, C', H', W')
  h = h.reshape({batch, frames, h.size(1), -1}).transpose(1, 2).flatten(2);  // (B, C', F·H'·W')
  return head(h);
}

std::shared_ptr<ClassifierNet> build_classifier(const ClassifierConfig& config) {
  if (config.kind == "mel-cnn") return std::make_shared<MelClassifier>(config);
  if (config.kind == "video-cnn") return std::make_shared<VideoClassifier>(config);
  throw std::invalid_argument("classifier kind must be 'mel-cnn' or 'video-cnn', got '" + config.kind + "'");
}

}  // namespace mmdisco
