#include "classifier_trainer.h"

#include <stdexcept>

namespace mmdisco {

ClassifierTrainer::ClassifierTrainer(std::shared_ptr<ClassifierNet> net, const OptimizerConfig& optimizer)
    : net_(std::move(net)), config_(optimizer), optimizer_(make_optimizer(*net_, optimizer)) {}

ClassifierStep ClassifierTrainer::step(const torch::Tensor& x, const torch::Tensor& labels_in) {
  if (labels_in.dim() != 1 || labels_in.size(0) != x.size(0))
    throw std::invalid_argument("classifier training: labels must have shape (batch,) matching the inputs");
  auto labels = labels_in.to(torch::kInt64);
  const int64_t classes = net_->config().classes;
  if (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= classes)
    throw std::invalid_argument("classifier training: labels must lie in [0, " + std::to_string(classes) + ")");
  torch::AutoGradMode grad_on(true);
  net_->train();
  auto logits = net_->classify(x).logits;
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
