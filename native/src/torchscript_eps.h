#pragma once
// An external base model: a TorchScript module whose forward(x_t, t) returns ε, with the schedule it was trained
// under. Usable wherever an EpsSource is (samplers, discriminator training, guidance).
#include <torch/script.h>
#include <torch/torch.h>

#include <mutex>
#include <string>

#include "eps_source.h"

namespace mmdisco {

class TorchScriptEps : public EpsSource {
 public:
  // `dtype` is what the module computes in: inputs are cast to it, outputs are returned in it.
  TorchScriptEps(const std::string& path, NoiseSchedule schedule, torch::Device device, torch::ScalarType dtype);

  torch::Tensor eps(const torch::Tensor& x_t, const torch::Tensor& t) override;
  const NoiseSchedule& schedule() const override { return schedule_; }
  torch::Device device() const override { return device_; }
  torch::ScalarType dtype() const override { return dtype_; }

 private:
  torch::jit::Module module_;
  NoiseSchedule schedule_;
  torch::Device device_;
  torch::ScalarType dtype_;
  std::string path_;
};

// An external joint base model: a TorchScript module whose forward(x_a, x_b, …, t) returns the tuple (ε_a, ε_b, …)
// of every modality from all of them, e.g. MM-Diffusion's U-Net forward(video, audio, t) → (ε_video, ε_audio).
// `arguments[m]` is the position of the sampler's modality m among the module's inputs and outputs; every modality
// shares `schedule`.
class TorchScriptJointEps : public JointEpsSource {
 public:
  TorchScriptJointEps(const std::string& path, std::vector<int64_t> arguments, NoiseSchedule schedule,
                      torch::Device device, torch::ScalarType dtype);

  std::vector<torch::Tensor> eps(const std::vector<torch::Tensor>& x, const torch::Tensor& t) override;
  size_t modalities() const override { return arguments_.size(); }
  const NoiseSchedule& schedule(size_t) const override { return schedule_; }
  torch::TensorOptions options(size_t) const override { return torch::TensorOptions().dtype(dtype_).device(device_); }

 private:
  torch::jit::Module module_;
  std::vector<int64_t> arguments_;
  NoiseSchedule schedule_;
  torch::Device device_;
  torch::ScalarType dtype_;
  std::string path_;
};

}  // namespace mmdisco
