#include "classifier_trainer.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace mmdisco {

ClassifierTrainer::ClassifierTrainer(std::shared_ptr<ClassifierNet> net, const OptimizerConfig& optimizer,
                                     const MelAugmentation& augmentation, uint64_t seed)
    : net_(std::move(net)), config_(optimizer), optimizer_(make_optimizer(*net_, optimizer)),
      augmentation_(augmentation), rng_(seed) {
  if (augmentation_.gain_log < 0 || augmentation_.mel_shift < 0)
    throw std::invalid_argument("classifier augmentation: gainLog and melShift must be ≥ 0");
  if ((augmentation_.gain_log > 0 || augmentation_.mel_shift > 0) && net_->config().kind != "mel-cnn")
    throw std::invalid_argument("classifier augmentation applies to mel-cnn only");
}

torch::Tensor augment_mel(const torch::Tensor& x_in, const MelAugmentation& a, Rng& rng) {
  auto x = x_in.to(torch::kFloat32);
  const int64_t batch = x.size(0), bins = x.size(2);
  if (a.gain_log > 0) x = x + (rng.uniform({batch, 1, 1}, x.options()) * 2 - 1) * a.gain_log;
  if (a.mel_shift == 0) return x;
  auto shifts = rng.randint(-a.mel_shift, a.mel_shift + 1, {batch}, torch::kCPU);
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t s = std::min(shifts[b].item<int64_t>(), bins - 1);
    auto row = x[b];  // (L, M)
    if (s > 0) row = torch::cat({row.narrow(1, 0, 1).expand({row.size(0), s}), row.narrow(1, 0, bins - s)}, 1);
    if (s < 0) row = torch::cat({row.narrow(1, -s, bins + s), row.narrow(1, bins - 1, 1).expand({row.size(0), -s})}, 1);
    rows.push_back(row);
  }
  return torch::stack(rows);
}

ClassifierStep ClassifierTrainer::step(const torch::Tensor& x, const torch::Tensor& labels_in) {
  if (labels_in.dim() != 1 || labels_in.size(0) != x.size(0))
    throw std::invalid_argument("classifier training: labels must have shape (batch,) matching the inputs");
  auto labels = labels_in.to(torch::kInt64);
  const int64_t classes = net_->config().classes;
  if (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= classes)
    throw std::invalid_argument("classifier training: labels must lie in [0, " + std::to_string(classes) + ")");
  torch::AutoGradMode grad_on(true);
  net_->train();
  const bool augment = augmentation_.gain_log > 0 || augmentation_.mel_shift > 0;
  auto logits = net_->classify(augment ? augment_mel(x, augmentation_, rng_) : x).logits;
  labels = labels.to(logits.device());
  auto loss = torch::nn::functional::cross_entropy(logits, labels);
  optimizer_.zero_grad();
  loss.backward();
  clip_and_step(*net_, optimizer_, config_.grad_clip);
  ClassifierStep out;
  out.loss = loss.item<double>();
  out.accuracy = logits.argmax(1).eq(labels).to(torch::kFloat64).mean().item<double>();
  return out;
}

}  // namespace mmdisco
