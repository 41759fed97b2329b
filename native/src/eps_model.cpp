#include "eps_model.h"

#include "clipped_eps.h"
#include "errors.h"
#include "model_factory.h"

namespace mmdisco {

EpsModel::EpsModel(const EpsModelConfig& config) : config_(config) {
  if (config.x0_range && !(config.x0_range->first < config.x0_range->second))
    throw ConfigError("x0Range", "must be [low, high] with low < high");
  model_ = make_eps_network(config.network, config.schedule, config.placement);
  if (config.ema_decay) ema_ = make_eps_network(config.network, config.schedule, config.placement);
  sampling_source_ = ema_ ? ema_ : model_;
  // Clipping (below) reads the fp32 ε̂ that the autocast source returns.
  if (config.sampling_bf16_autocast) sampling_source_ = std::make_shared<Bf16AutocastEps>(sampling_source_);
  if (config.x0_range)
    sampling_source_ = std::make_shared<X0ClippedEps>(sampling_source_, config.x0_range->first, config.x0_range->second);
}

const std::shared_ptr<EpsTrainer>& EpsModel::trainer() {
  if (!trainer_) {
    EpsTrainingConfig training;
    training.ema = ema_;
    if (config_.ema_decay) training.ema_decay = *config_.ema_decay;
    training.bf16_autocast = config_.bf16_autocast;
    trainer_ = std::make_shared<EpsTrainer>(model_, config_.optimizer, config_.placement.seed + 1, training);
  }
  return trainer_;
}

void EpsModel::check_train_rows(const torch::Tensor& x0, int64_t batch_size) {
  if (batch_size < 1 || x0.dim() < 1 || x0.size(0) % batch_size != 0)
    throw ShapeError("x0.shape[0] must be a positive multiple of batchSize");
}

EpsTrainLog EpsModel::train_steps(const torch::Tensor& x0, int64_t batch_size) {
  check_train_rows(x0, batch_size);
  auto& trainer = *this->trainer();
  const int64_t steps = x0.size(0) / batch_size;
  auto losses = torch::empty({steps}, torch::kFloat64);
  for (int64_t s = 0; s < steps; ++s) losses[s] = trainer.step(x0.slice(0, s * batch_size, (s + 1) * batch_size));
  return {losses, trainer.steps()};
}

void EpsModel::load_parameters(const NamedTensors& values) {
  // Both copies: a model loaded from a checkpoint samples with, and continues training from, the same weights.
  load_named_parameters(model_->module(), values);
  if (ema_) load_named_parameters(ema_->module(), values);
}

}  // namespace mmdisco
