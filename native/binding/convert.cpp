#include "convert.h"

#include <cmath>
#include <cstring>

namespace mmdisco_binding {

Options::Options(Napi::Value value, std::string context, std::string prefix)
    : context_(std::move(context)), prefix_(std::move(prefix)) {
  if (!value.IsObject()) {
    if (prefix_.empty()) throw mmdisco::Error(mmdisco::ErrorCode::Argument, context_ + ": options must be an object");
    throw mmdisco::ConfigError(prefix_.substr(0, prefix_.size() - 1), "must be an object", context_);
  }
  object_ = value.As<Napi::Object>();
}

void Options::fail(const char* key, const std::string& what) const {
  throw mmdisco::ConfigError(prefix_ + key, what, context_);
}

void Options::fail_within(const char* key, const mmdisco::ConfigError& e) const {
  throw e.under(prefix_ + key).in(context_);
}

bool Options::has(const char* key) const {
  return object_.Has(key) && !object_.Get(key).IsUndefined();
}

Napi::Value Options::value(const char* key) const {
  if (!has(key)) fail(key, "is required");
  return object_.Get(key);
}

double Options::number(const char* key) const {
  auto v = value(key);
  if (!v.IsNumber() || !std::isfinite(v.As<Napi::Number>().DoubleValue())) fail(key, "must be a finite number");
  return v.As<Napi::Number>().DoubleValue();
}

double Options::number(const char* key, double fallback) const { return has(key) ? number(key) : fallback; }

int64_t Options::integer(const char* key) const {
  double d = number(key);
  if (d != std::floor(d)) fail(key, "must be an integer");
  return static_cast<int64_t>(d);
}

int64_t Options::integer(const char* key, int64_t fallback) const { return has(key) ? integer(key) : fallback; }

std::string Options::string(const char* key) const {
  auto v = value(key);
  if (!v.IsString()) fail(key, "must be a string");
  return v.As<Napi::String>().Utf8Value();
}

std::string Options::string(const char* key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}

bool Options::boolean(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  auto v = value(key);
  if (!v.IsBoolean()) fail(key, "must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::vector<double> Options::numbers(const char* key) const {
  auto v = value(key);
  if (!v.IsArray()) fail(key, "must be an array of numbers");
  auto arr = v.As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    if (!e.IsNumber()) fail(key, "must be an array of numbers");
    out.push_back(e.As<Napi::Number>().DoubleValue());
  }
  return out;
}

std::vector<int64_t> Options::integers(const char* key) const {
  std::vector<int64_t> out;
  for (double d : numbers(key)) {
    if (d != std::floor(d)) fail(key, "must be an array of integers");
    out.push_back(static_cast<int64_t>(d));
  }
  return out;
}

std::pair<int64_t, int64_t> Options::timestep_range(const char* key, int64_t last) const {
  const auto bounds = numbers(key);
  if (bounds.size() != 2 || bounds[0] != std::floor(bounds[0]) || bounds[1] != std::floor(bounds[1]) ||
      bounds[0] < 0 || bounds[0] > bounds[1] || bounds[1] > static_cast<double>(last))
    fail(key, "must be [tMin, tMax], integers with 0 ≤ tMin ≤ tMax ≤ " + std::to_string(last));
  return {static_cast<int64_t>(bounds[0]), static_cast<int64_t>(bounds[1])};
}

Options Options::object(const char* key) const { return Options(value(key), context_, prefix_ + key + "."); }

namespace {

[[noreturn]] void fail_argument(const std::string& what, const std::string& message) {
  throw mmdisco::Error(mmdisco::ErrorCode::Argument, what + message);
}

}  // namespace

torch::Tensor tensor_from_js(Napi::Value value, const std::string& what) {
  if (!value.IsObject()) fail_argument(what, " must be a tensor {data, shape}");
  auto obj = value.As<Napi::Object>();
  Napi::Value data = obj.Get("data");
  Napi::Value shape_value = obj.Get("shape");
  if (!data.IsTypedArray() || !shape_value.IsArray())
    fail_argument(what, " must be a tensor {data: TypedArray, shape: number[]}");
  auto shape_array = shape_value.As<Napi::Array>();
  std::vector<int64_t> shape;
  int64_t numel = 1;
  for (uint32_t i = 0; i < shape_array.Length(); ++i) {
    Napi::Value s = shape_array.Get(i);
    if (!s.IsNumber() || s.As<Napi::Number>().Int64Value() < 0)
      fail_argument(what, ".shape must hold non-negative integers");
    shape.push_back(s.As<Napi::Number>().Int64Value());
    numel *= shape.back();
  }
  auto array = data.As<Napi::TypedArray>();
  torch::ScalarType dtype;
  switch (array.TypedArrayType()) {
    case napi_float32_array: dtype = torch::kFloat32; break;
    case napi_float64_array: dtype = torch::kFloat64; break;
    case napi_int32_array: dtype = torch::kInt32; break;
    case napi_uint8_array: dtype = torch::kUInt8; break;  // stored video frames, passed as they are
    default:
      fail_argument(what, ".data must be a Float32Array, Float64Array, Int32Array or Uint8Array");
  }
  if (static_cast<int64_t>(array.ElementLength()) != numel)
    throw mmdisco::ShapeError(what + ": data holds " + std::to_string(array.ElementLength()) + " values but shape " +
                              c10::str(shape) + " needs " + std::to_string(numel));
  auto* base = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
  return torch::from_blob(base, shape, torch::TensorOptions().dtype(dtype));
}

Napi::Value tensor_to_js(Napi::Env env, const torch::Tensor& tensor_in) {
  auto tensor = tensor_in.to(torch::kCPU).contiguous();
  if (tensor.dim() == 0) return Napi::Number::New(env, tensor.to(torch::kFloat64).item<double>());
  Napi::Value data;
  const auto n = static_cast<size_t>(tensor.numel());
  switch (tensor.scalar_type()) {
    case torch::kFloat32: {
      auto a = Napi::Float32Array::New(env, n);
      std::memcpy(a.Data(), tensor.data_ptr(), n * sizeof(float));
      data = a;
      break;
    }
    case torch::kFloat64: {
      auto a = Napi::Float64Array::New(env, n);
      std::memcpy(a.Data(), tensor.data_ptr(), n * sizeof(double));
      data = a;
      break;
    }
    case torch::kUInt8: {
      auto a = Napi::Uint8Array::New(env, n);
      std::memcpy(a.Data(), tensor.data_ptr(), n);
      data = a;
      break;
    }
    default: {
      auto as_int = tensor.to(torch::kInt32);
      auto a = Napi::Int32Array::New(env, n);
      std::memcpy(a.Data(), as_int.data_ptr(), n * sizeof(int32_t));
      data = a;
    }
  }
  auto shape = Napi::Array::New(env, tensor.dim());
  for (int64_t i = 0; i < tensor.dim(); ++i) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, tensor.size(i)));
  auto out = Napi::Object::New(env);
  out.Set("data", data);
  out.Set("shape", shape);
  return out;
}

Napi::Object named_tensors_to_js(Napi::Env env, const mmdisco::NamedTensors& tensors) {
  auto out = Napi::Object::New(env);
  for (const auto& [name, tensor] : tensors) out.Set(name, tensor_to_js(env, tensor));
  return out;
}

torch::Device parse_device(const std::string& name) {
  torch::Device device(name);  // throws c10::Error with a clear message on malformed names
  if (device.is_cuda() && !torch::cuda::is_available())
    throw std::invalid_argument("device '" + name + "' requested but CUDA is not available to this build");
  if (!device.is_cpu() && !device.is_cuda()) throw std::invalid_argument("device must be 'cpu' or 'cuda[:N]'");
  return device;
}

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "float32") return torch::kFloat32;
  if (name == "float64") return torch::kFloat64;
  throw std::invalid_argument("dtype must be 'float32' or 'float64', got '" + name + "'");
}

mmdisco::ScheduleConfig parse_schedule(const Options& o) {
  mmdisco::ScheduleConfig c;
  c.kind = o.string("kind", c.kind);
  c.timesteps = o.integer("timesteps", c.timesteps);
  c.beta_start = o.number("betaStart", c.beta_start);
  c.beta_end = o.number("betaEnd", c.beta_end);
  c.cosine_offset = o.number("cosineOffset", c.cosine_offset);
  return c;
}

}  // namespace mmdisco_binding
