#include "arguments.h"

namespace mmdisco_binding {

JsPlacement parse_placement(const Options& o) {
  JsPlacement p;
  p.core.device = parse_device(o.string("device", "cpu"));
  p.core.dtype = parse_dtype(o.string("dtype", "float32"));
  p.core.seed = static_cast<uint64_t>(o.integer("seed", 0));
  p.threads = static_cast<int>(o.integer("threads", 0));
  return p;
}

mmdisco::OptimizerConfig parse_optimizer(const Options& o) {
  mmdisco::OptimizerConfig c;
  c.lr = o.number("lr", c.lr);
  c.weight_decay = o.number("weightDecay", c.weight_decay);
  c.beta1 = o.number("beta1", c.beta1);
  c.beta2 = o.number("beta2", c.beta2);
  c.grad_clip = o.number("gradClip", c.grad_clip);
  return c;
}

mmdisco::Conditioning conditioning_from_js(Napi::Value value, const std::string& what, const mmdisco::Placement& place) {
  mmdisco::Conditioning c;
  if (value.IsUndefined() || value.IsNull()) return c;
  Options o(value, what);
  if (o.has("audio")) c.audio = tensor_from_js(o.value("audio"), what + ".audio").to(place.device, place.dtype);
  if (o.has("video")) c.video = tensor_from_js(o.value("video"), what + ".video").to(place.device, place.dtype);
  return c;
}

std::optional<mmdisco::ResidualCfg> cfg_from_js(Napi::Value value, const mmdisco::Placement& place) {
  if (value.IsUndefined() || value.IsNull()) return std::nullopt;
  Options o(value, "cfg");
  auto null_condition = conditioning_from_js(o.value("nullCondition"), "cfg.nullCondition", place);
  auto scales = o.object("scales");
  return mmdisco::ResidualCfg{null_condition, {scales.number("audio"), scales.number("video")}};
}

std::shared_ptr<const mmdisco::GaussianMixturePair> parse_mixture(const Options& o) {
  mmdisco::GaussianMixtureConfig c;
  c.weights = o.numbers("weights");
  auto components = [&](const char* key, std::vector<double>& means, std::vector<double>& std, int64_t& dim) {
    auto m = o.object(key);
    std = m.numbers("std");
    auto rows = m.value("means");
    if (!rows.IsArray()) m.fail("means", "must be an array of mean vectors");
    auto arr = rows.As<Napi::Array>();
    dim = -1;
    for (uint32_t k = 0; k < arr.Length(); ++k) {
      Napi::Value row = arr.Get(k);
      if (!row.IsArray()) m.fail("means", "must be an array of mean vectors");
      auto r = row.As<Napi::Array>();
      if (dim >= 0 && dim != static_cast<int64_t>(r.Length())) m.fail("means", "rows must share one length");
      dim = r.Length();
      for (uint32_t j = 0; j < r.Length(); ++j) means.push_back(r.Get(j).As<Napi::Number>().DoubleValue());
    }
  };
  components("audio", c.audio_means, c.audio_std, c.audio_dim);
  components("video", c.video_means, c.video_std, c.video_dim);
  return std::make_shared<const mmdisco::GaussianMixturePair>(c);
}

torch::Tensor timesteps_from_js(Napi::Value value, int64_t batch) {
  if (value.IsNumber()) return torch::full({batch}, value.As<Napi::Number>().Int64Value(), torch::kInt64);
  return tensor_from_js(value, "t").to(torch::kInt64);
}

// Primitives need no reference (and Node-API cannot make one to them).
std::vector<Napi::Value> call_arguments(const Napi::CallbackInfo& info) {
  std::vector<Napi::Value> values{info.This()};
  for (size_t i = 0; i < info.Length(); ++i) {
    if (info[i].IsObject()) values.push_back(info[i]);
  }
  return values;
}

}  // namespace mmdisco_binding
