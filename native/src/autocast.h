#pragma once
// bf16 autocast on a device's type for one scope: the ops autocast lists run in bf16, the rest (and the weights,
// their gradients and any optimiser) stay in the model's dtype.
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

namespace mmdisco {

class Bf16Autocast {
 public:
  Bf16Autocast(torch::Device device, bool enabled) : device_type_(device.type()), enabled_(enabled) {
    if (!enabled_) return;
    previous_enabled_ = at::autocast::is_autocast_enabled(device_type_);
    previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
    at::autocast::set_autocast_enabled(device_type_, true);
    at::autocast::set_autocast_dtype(device_type_, at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~Bf16Autocast() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device_type_, previous_enabled_);
    at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
  }
  Bf16Autocast(const Bf16Autocast&) = delete;
  Bf16Autocast& operator=(const Bf16Autocast&) = delete;

 private:
  c10::DeviceType device_type_;
  bool enabled_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

// Keeps the casts autocast makes of weights (leaf tensors that require grad) for the scope's length rather than one
// autocast region's: a sampling run casts each weight to bf16 once, not at every model call. It enables nothing
// itself; the weights must not change inside it.
class AutocastCastScope {
 public:
  AutocastCastScope() { at::autocast::increment_nesting(); }
  ~AutocastCastScope() {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  }
  AutocastCastScope(const AutocastCastScope&) = delete;
  AutocastCastScope& operator=(const AutocastCastScope&) = delete;
};

}  // namespace mmdisco
