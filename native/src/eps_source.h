#pragma once
// The one interface samplers and trainers see for a base model: "given x_t and t, return ε".
#include <torch/torch.h>

#include "schedule.h"

namespace mmdisco {

class EpsSource {
 public:
  virtual ~EpsSource() = default;
  // x_t: (B, ...) in the source's layout; t: (B,) int64. Returns ε̂ with x_t's shape. No gradients.
  virtual torch::Tensor eps(const torch::Tensor& x_t, const torch::Tensor& t) = 0;
  virtual const NoiseSchedule& schedule() const = 0;
  virtual torch::Device device() const = 0;
  virtual torch::ScalarType dtype() const = 0;
};

}  // namespace mmdisco

#include <functional>
#include <memory>
#include <vector>

namespace mmdisco {

// ε of every modality at once, in the sampler's modality order (audio, video where a critic guides): a joint model
// that reads all noisy inputs (as MM-Diffusion's U-Net), or independent single-modality sources. No gradients.
class JointEpsSource {
 public:
  virtual ~JointEpsSource() = default;
  virtual std::vector<torch::Tensor> eps(const std::vector<torch::Tensor>& x, const torch::Tensor& t) = 0;
  virtual size_t modalities() const = 0;
  virtual const NoiseSchedule& schedule(size_t modality) const = 0;
  // The dtype and device of a modality's input.
  virtual torch::TensorOptions options(size_t modality) const = 0;
};

// Each modality's ε from its own source.
class IndependentEps : public JointEpsSource {
 public:
  explicit IndependentEps(std::vector<EpsSource*> sources) : sources_(std::move(sources)) {}
  // Shares ownership of the sources, for holders that outlive the caller's references.
  explicit IndependentEps(std::vector<std::shared_ptr<EpsSource>> sources);
  std::vector<torch::Tensor> eps(const std::vector<torch::Tensor>& x, const torch::Tensor& t) override;
  size_t modalities() const override { return sources_.size(); }
  const NoiseSchedule& schedule(size_t modality) const override { return sources_.at(modality)->schedule(); }
  torch::TensorOptions options(size_t modality) const override {
    return torch::TensorOptions().dtype(sources_.at(modality)->dtype()).device(sources_.at(modality)->device());
  }
  EpsSource* source(size_t modality) const { return sources_.at(modality); }

 private:
  std::vector<EpsSource*> sources_;
  std::vector<std::shared_ptr<EpsSource>> owned_;
};

// An ε-source backed by a trainable network (built-in models).
class NetworkEps : public EpsSource {
 public:
  using Forward = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>;
  NetworkEps(std::shared_ptr<torch::nn::Module> module, Forward forward, NoiseSchedule schedule,
             torch::Device device, torch::ScalarType dtype);

  // Inference: no gradients, evaluation mode.
  torch::Tensor eps(const torch::Tensor& x_t, const torch::Tensor& t) override;
  // Training: with gradients.
  torch::Tensor forward(const torch::Tensor& x_t, const torch::Tensor& t) { return forward_(x_t, t); }
  const NoiseSchedule& schedule() const override { return schedule_; }
  torch::Device device() const override { return device_; }
  torch::ScalarType dtype() const override { return dtype_; }
  torch::nn::Module& module() { return *module_; }

 private:
  std::shared_ptr<torch::nn::Module> module_;
  Forward forward_;
  NoiseSchedule schedule_;
  torch::Device device_;
  torch::ScalarType dtype_;
};

// An ε-source that changes how another computes ε̂ and is otherwise that source: its schedule, device and dtype.
class WrappedEps : public EpsSource {
 public:
  explicit WrappedEps(std::shared_ptr<EpsSource> inner) : inner_(std::move(inner)) {}
  const NoiseSchedule& schedule() const override { return inner_->schedule(); }
  torch::Device device() const override { return inner_->device(); }
  torch::ScalarType dtype() const override { return inner_->dtype(); }

 protected:
  std::shared_ptr<EpsSource> inner_;
};

// Any ε-source with its forward pass in bf16 autocast on its device, ε̂ returned in the source's dtype: sampling at
// what a bf16 forward costs, at an error of the order of bf16's 3 significant digits (test/base/precision.test.ts
// measures it).
class Bf16AutocastEps : public WrappedEps {
 public:
  using WrappedEps::WrappedEps;
  torch::Tensor eps(const torch::Tensor& x_t, const torch::Tensor& t) override;
};

}  // namespace mmdisco
