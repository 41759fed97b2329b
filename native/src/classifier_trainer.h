#pragma once
// Supervised training of an evaluator classifier: cross-entropy on (input, class) batches, one optimiser step
// per call.
#include <torch/torch.h>

#include <memory>

#include "models/classifier.h"
#include "rng.h"
#include "train.h"

namespace mmdisco {

struct ClassifierStep {
  double loss = 0;      // mean cross-entropy of the batch, before the step
  double accuracy = 0;  // fraction of the batch classified correctly, before the step
};

// Training-time augmentation of log-mel inputs (mel-cnn only), for evaluators that must generalise to voices
// and recording levels they were not trained on.
struct MelAugmentation {
  double gain_log = 0;    // adds U(−gain_log, gain_log) to a whole example's log-mel: a gain of e^±gain_log
  int64_t mel_shift = 0;  // shifts an example along the mel axis by U{−mel_shift..mel_shift} bins (edge bins repeat)
};

class ClassifierTrainer {
 public:
  ClassifierTrainer(std::shared_ptr<ClassifierNet> net, const OptimizerConfig& optimizer,
                    const MelAugmentation& augmentation, uint64_t seed);
  // x: (B, *input_shape) in the encodings ClassifierNet accepts; labels: (B,) integers in [0, classes).
  ClassifierStep step(const torch::Tensor& x, const torch::Tensor& labels);

 private:
  std::shared_ptr<ClassifierNet> net_;
  OptimizerConfig config_;
  FusedAdamW optimizer_;
  MelAugmentation augmentation_;
  Rng rng_;
};

// x (B, L, M) log-mel with the augmentation applied, each example drawn independently.
torch::Tensor augment_mel(const torch::Tensor& x, const MelAugmentation& augmentation, Rng& rng);

}  // namespace mmdisco
