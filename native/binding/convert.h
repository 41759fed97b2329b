#pragma once
// Argument conversion between JS values and torch tensors/configs. Tensors cross as {data, shape} objects:
// inputs are wrapped without copying (the caller keeps the array alive and unchanged until the call settles);
// outputs are copied into fresh typed arrays.
#include <napi.h>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "js_json.h"
#include "module_state.h"
#include "schedule.h"

namespace mmdisco_binding {

// Options readers: errors are mmdisco::ConfigErrors naming the context and the option path, e.g.
// "Discriminator: option 'network.hidden' must be a finite number".
class Options {
 public:
  Options(Napi::Value value, std::string context, std::string prefix = "");
  bool has(const char* key) const;
  double number(const char* key) const;
  double number(const char* key, double fallback) const;
  int64_t integer(const char* key) const;
  int64_t integer(const char* key, int64_t fallback) const;
  std::string string(const char* key) const;
  std::string string(const char* key, const std::string& fallback) const;
  bool boolean(const char* key, bool fallback) const;
  std::vector<double> numbers(const char* key) const;
  std::vector<int64_t> integers(const char* key) const;
  // [tMin, tMax]: two integer diffusion steps with 0 ≤ tMin ≤ tMax ≤ last.
  std::pair<int64_t, int64_t> timestep_range(const char* key, int64_t last) const;
  Options object(const char* key) const;
  Napi::Value value(const char* key) const;
  [[noreturn]] void fail(const char* key, const std::string& what) const;
  const std::string& context() const { return context_; }
  // A core ConfigError about a field of the object at `key` (a network), as one about this object's option.
  [[noreturn]] void fail_within(const char* key, const mmdisco::ConfigError& e) const;

 private:
  Napi::Object object_;
  std::string context_, prefix_;
};

// {data: Float32Array | Float64Array | Int32Array | Uint8Array, shape: number[]} → tensor over the same memory.
torch::Tensor tensor_from_js(Napi::Value value, const std::string& what);
// Contiguous CPU tensor → {data, shape}; 0-dim tensors → number.
Napi::Value tensor_to_js(Napi::Env env, const torch::Tensor& tensor);
Napi::Object named_tensors_to_js(Napi::Env env, const mmdisco::NamedTensors& tensors);

torch::Device parse_device(const std::string& name);
torch::ScalarType parse_dtype(const std::string& name);
mmdisco::ScheduleConfig parse_schedule(const Options& o);

}  // namespace mmdisco_binding
