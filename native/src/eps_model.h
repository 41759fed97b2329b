#pragma once
// A built-in ε-network (MLP or U-Net, by its config's kind) with its optimiser and, optionally, an EMA copy of its
// weights. With an EMA, the EMA is the model's face: sampling, eps and parameters() use it; load_parameters() sets
// both copies. With an x0 range, sampling keeps the implied clean sample in that range (clipped_eps.h); with
// sampling_bf16_autocast, sampling's forward passes run in bf16 autocast.
#include <memory>
#include <optional>
#include <utility>

#include "config/networks.h"
#include "module_state.h"
#include "placement.h"
#include "schedule.h"
#include "train.h"

namespace mmdisco {

struct EpsModelConfig {
  EpsNetworkConfig network;
  ScheduleConfig schedule;
  Placement placement;
  OptimizerConfig optimizer;
  std::optional<double> ema_decay;                  // none: no EMA
  bool bf16_autocast = false;                       // forward in bf16 autocast when training
  bool sampling_bf16_autocast = false;              // sampling and eps() in bf16 autocast (Bf16AutocastEps)
  std::optional<std::pair<double, double>> x0_range;  // [low, high], low < high
};

// What train_steps did: each step's loss and the steps taken so far.
struct EpsTrainLog {
  torch::Tensor losses;  // (steps,) float64
  int64_t step = 0;
};

class EpsModel {
 public:
  explicit EpsModel(const EpsModelConfig& config);
  // What samplers and eps() use: the inference model, x̂0-clipped when configured.
  const std::shared_ptr<EpsSource>& sampling_source() const { return sampling_source_; }
  // The weights it samples with (the EMA when there is one).
  NetworkEps& inference_model() { return ema_ ? *ema_ : *model_; }
  NetworkEps& trained_model() { return *model_; }
  // Created on first use, so that load_parameters() before training sets the starting weights (and the EMA's).
  const std::shared_ptr<EpsTrainer>& trainer();
  // A ShapeError unless x0's rows are a positive multiple of batch_size.
  static void check_train_rows(const torch::Tensor& x0, int64_t batch_size);
  // One optimiser step per consecutive batch_size rows of x0.
  EpsTrainLog train_steps(const torch::Tensor& x0, int64_t batch_size);
  NamedTensors parameters() { return named_parameters(inference_model().module()); }
  void load_parameters(const NamedTensors& values);
  int64_t parameter_count() { return mmdisco::parameter_count(model_->module()); }
  const Placement& placement() const { return config_.placement; }

 private:
  EpsModelConfig config_;
  std::shared_ptr<NetworkEps> model_, ema_;
  std::shared_ptr<EpsSource> sampling_source_;
  std::shared_ptr<EpsTrainer> trainer_;
};

}  // namespace mmdisco
