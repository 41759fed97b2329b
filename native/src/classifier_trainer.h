#pragma once
// Supervised training of an evaluator classifier: cross-entropy on (input, class) batches, one optimiser step
// per call.
#include <torch/torch.h>

#include <memory>

#include "models/classifier.h"
#include "train.h"

namespace mmdisco {

struct ClassifierStep {
  double loss = 0;      // mean cross-entropy of the batch, before the step
  double accuracy = 0;  // fraction of the batch classified correctly, before the step
};

class ClassifierTrainer {
 public:
  ClassifierTrainer(std::shared_ptr<ClassifierNet> net, const OptimizerConfig& optimizer);
  // x: (B, *input_shape) in the encodings ClassifierNet accepts; labels: (B,) integers in [0, classes).
  ClassifierStep step(const torch::Tensor& x, const torch::Tensor& labels);

 private:
  std::shared_ptr<ClassifierNet> net_;
  OptimizerConfig config_;
  torch::optim::AdamW optimizer_;
};

}  // namespace mmdisco
