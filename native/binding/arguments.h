#pragma once
// Conversions of the arguments the JS classes share: placement, optimiser, conditioning, residual CFG, timesteps.
#include <napi.h>

#include <optional>
#include <vector>

#include "convert.h"
#include "gaussian_mixture.h"
#include "guidance.h"
#include "placement.h"
#include "train.h"

namespace mmdisco_binding {

// The core placement (device, dtype, seed) and the worker's intra-op thread count.
struct JsPlacement {
  mmdisco::Placement core;
  int threads = 0;
};

JsPlacement parse_placement(const Options& o);
mmdisco::OptimizerConfig parse_optimizer(const Options& o);
// {audio?: tensor, video?: tensor} → conditioning vectors on the model's device; absent or undefined → none.
mmdisco::Conditioning conditioning_from_js(Napi::Value value, const std::string& what, const mmdisco::Placement& place);
// {nullCondition, scales: {audio, video}}; absent or undefined → none.
std::optional<mmdisco::ResidualCfg> cfg_from_js(Napi::Value value, const mmdisco::Placement& place);
// {weights: number[K], audio: {means: number[K][da], std: number[K]}, video: {…}}: the TS CoupledGaussianMixture.
std::shared_ptr<const mmdisco::GaussianMixturePair> parse_mixture(const Options& o);
// Timesteps as a number (broadcast over the batch) or an Int32Array tensor of shape (B,).
torch::Tensor timesteps_from_js(Napi::Value value, int64_t batch);
// The call's receiver and object arguments, to keep alive (and their arrays unmoved) until the call settles.
std::vector<Napi::Value> call_arguments(const Napi::CallbackInfo& info);

}  // namespace mmdisco_binding
