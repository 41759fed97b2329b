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

}  // namespace mmdisco
