#include "config/networks.h"

#include <algorithm>

#include "config/fields.h"

namespace mmdisco {

namespace {

// ---- presets: the only place they are written ---------------------------------------------------------------

struct Preset {
  const char* kind;
  const char* name;
  const char* fields;                 // JSON: the fields the preset sets over the struct's defaults
  std::vector<const char*> required;  // fields a network of this preset must state
};

const std::vector<Preset>& presets() {
  static const std::vector<Preset> table = {
      // The released MMDisCo settings (spec Appendix A/B).
      {"mmdisco", "audioldm-animatediff",
       R"({"videoChannels": 4, "audioChannels": 8, "videoTextDim": 768, "audioTextDim": 512, "fusion": "A"})", {}},
      {"mmdisco", "auffusion-videocrafter2",
       R"({"videoChannels": 4, "audioChannels": 4, "videoTextDim": 1024, "audioTextDim": 768, "fusion": "B"})", {}},
      {"mmdisco", "mmdiffusion",
       R"({"videoChannels": 3, "audioChannels": 1, "audioConv": "1d", "maxDilation": 10, "blocksPerLevel": 2})", {}},
      // The discriminator block of a train-guidance config (configs/guidance/): a small fusion transformer; the
      // towers' sizes must be stated.
      {"mmdisco", "guidance-config",
       R"({"fusionWidth": 64, "fusionLayers": 1, "fusionHeads": 2, "fusionHeadDim": 32, "fusionMaxTokens": 256})",
       {"width", "channelMult", "blocksPerLevel", "timeDim", "groups", "fusion"}},
      // The network block of a train-base config (configs/base/): every size stated.
      {"video-unet", "base-config", "{}", {"baseChannels", "channelMult", "resBlocks", "timeDim", "groups", "midAttention"}},
      {"audio-unet", "base-config", "{}", {"baseChannels", "channelMult", "resBlocks", "timeDim", "groups", "midAttention"}},
  };
  return table;
}

const Preset* find_preset(const std::string& kind, const std::string& name) {
  for (const auto& p : presets()) {
    if (kind == p.kind && name == p.name) return &p;
  }
  return nullptr;
}

std::string preset_list(const std::string& kind) {
  const auto names = network_presets(kind);
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return out;
}

std::string kind_of(const Json& json) {
  Fields f(json);
  std::string kind;
  f.read("kind", kind);
  if (!f.has("kind")) f.fail("kind", "is required");
  return kind;
}

// The preset named by the JSON ("preset", else `fallback`; none when both are empty), after checking that the JSON
// states the preset's required fields.
const Preset* preset_of(const Json& json, const std::string& kind, const std::string& fallback) {
  Fields f(json);
  std::string name = fallback;
  f.read("preset", name);
  if (name.empty()) return nullptr;
  const Preset* p = find_preset(kind, name);
  if (!p) f.fail("preset", "names no " + kind + " preset: '" + name + "' (expected " + preset_list(kind) + ")");
  for (const char* key : p->required) {
    if (!f.has(key)) f.fail(key, "is required");
  }
  return p;
}

void check_positive(const Fields& f, const char* key, int64_t value) {
  if (value < 1) f.fail(key, "must be a positive integer");
}

void check_time_dim(const Fields& f, int64_t value) {
  if (value < 4 || value % 2 != 0) f.fail("timeDim", "must be even and at least 4");
}

void check_channel_mult(const Fields& f, const std::vector<int64_t>& mult) {
  if (mult.empty()) f.fail("channelMult", "must hold at least one level");
  for (auto m : mult) {
    if (m < 1) f.fail("channelMult", "must hold positive integers");
  }
}

// ---- the fields of each network, read over a starting config (defaults, then a preset's fields) ----------------

constexpr std::initializer_list<EnumName<AudioConv>> kAudioConv = {{"2d", AudioConv::Conv2d}, {"1d", AudioConv::Conv1d}};
constexpr std::initializer_list<EnumName<VideoPool>> kVideoPool = {{"mean", VideoPool::Mean}, {"max", VideoPool::Max}};
constexpr std::initializer_list<EnumName<Fusion>> kFusion = {{"A", Fusion::A}, {"B", Fusion::B}};
constexpr std::initializer_list<EnumName<FusionTokens>> kFusionTokens = {{"separate", FusionTokens::Separate},
                                                                         {"frame", FusionTokens::Frame}};
constexpr std::initializer_list<EnumName<DiscriminatorInput>> kInput = {{"noisy", DiscriminatorInput::Noisy},
                                                                        {"denoised", DiscriminatorInput::Denoised}};
constexpr std::initializer_list<EnumName<VideoLayout>> kVideoLayout = {{"bfchw", VideoLayout::Bfchw},
                                                                       {"bcfhw", VideoLayout::Bcfhw}};
constexpr std::initializer_list<EnumName<AudioLayout>> kAudioLayout = {{"bclm", AudioLayout::Bclm},
                                                                       {"bcml", AudioLayout::Bcml}};
constexpr std::initializer_list<EnumName<ToyFusion>> kToyFusion = {{"joint", ToyFusion::Joint},
                                                                   {"additive", ToyFusion::Additive}};

void read_fields(const Fields& f, DiscriminatorNetworkConfig& c) {
  f.known("kind");
  f.known("preset");
  f.read("videoChannels", c.video_channels);
  f.read("audioChannels", c.audio_channels);
  f.read("audioConv", c.audio_conv, "audio conv", kAudioConv);
  f.read("maxDilation", c.max_dilation);
  f.read("videoPatch", c.video_patch);
  f.read("videoPool", c.video_pool, "video pool", kVideoPool);
  f.read("width", c.width);
  f.read("channelMult", c.channel_mult);
  f.read("blocksPerLevel", c.blocks_per_level);
  f.read("timeDim", c.time_dim);
  f.read("videoTextDim", c.video_text_dim);
  f.read("audioTextDim", c.audio_text_dim);
  f.read("textProjection", c.text_projection);
  f.read("fusion", c.fusion, "fusion", kFusion);
  f.read("fusionWidth", c.fusion_width);
  f.read("fusionLayers", c.fusion_layers);
  f.read("fusionHeads", c.fusion_heads);
  f.read("fusionHeadDim", c.fusion_head_dim);
  f.read("fusionMaxTokens", c.fusion_max_tokens);
  f.read("fusionTokens", c.fusion_tokens, "fusion tokens", kFusionTokens);
  f.read("groups", c.groups);
  f.read("crossAttentionLevels", c.cross_attention_levels);
  f.read("crossAttentionWindow", c.cross_attention_window);
  f.read("crossAttentionHeads", c.cross_attention_heads);
  f.read("input", c.input, "input", kInput);
  f.read("videoLayout", c.video_layout, "video layout", kVideoLayout);
  f.read("audioLayout", c.audio_layout, "audio layout", kAudioLayout);
}

void validate(const Fields& f, const DiscriminatorNetworkConfig& c) {
  check_positive(f, "videoChannels", c.video_channels);
  check_positive(f, "audioChannels", c.audio_channels);
  check_positive(f, "maxDilation", c.max_dilation);
  check_positive(f, "videoPatch", c.video_patch);
  check_positive(f, "width", c.width);
  check_channel_mult(f, c.channel_mult);
  check_positive(f, "blocksPerLevel", c.blocks_per_level);
  check_time_dim(f, c.time_dim);
  if (c.video_text_dim < 0) f.fail("videoTextDim", "must be ≥ 0 (0: unconditioned)");
  if (c.audio_text_dim < 0) f.fail("audioTextDim", "must be ≥ 0 (0: unconditioned)");
  if (c.text_projection && c.video_text_dim == 0 && c.audio_text_dim == 0)
    f.fail("textProjection", "needs text conditioning (videoTextDim or audioTextDim > 0)");
  check_positive(f, "fusionWidth", c.fusion_width);
  check_positive(f, "fusionLayers", c.fusion_layers);
  check_positive(f, "fusionHeads", c.fusion_heads);
  check_positive(f, "fusionHeadDim", c.fusion_head_dim);
  check_positive(f, "fusionMaxTokens", c.fusion_max_tokens);
  check_positive(f, "groups", c.groups);
  for (auto m : c.channel_mult) {
    if ((c.width * m) % c.groups != 0)
      f.fail("groups", "must divide width × every channelMult entry (GroupNorm(" + std::to_string(c.groups) +
                           ") needs channels divisible by it, got " + std::to_string(c.width * m) + ")");
  }
  const auto levels = static_cast<int64_t>(c.channel_mult.size());
  for (const int64_t level : c.cross_attention_levels) {
    if (level < 0 || level >= levels)
      f.fail("crossAttentionLevels", "must be levels of channelMult, 0 to " + std::to_string(levels - 1));
  }
  if (c.cross_attention_window < 0) f.fail("crossAttentionWindow", "must be ≥ 0 (0: the whole clip)");
  if (c.cross_attention_heads < 1) f.fail("crossAttentionHeads", "must be ≥ 1");
  for (const int64_t level : c.cross_attention_levels) {
    const int64_t channels = c.width * c.channel_mult[level];
    if (channels % c.cross_attention_heads != 0)
      f.fail("crossAttentionHeads", "must divide width × channelMult at every cross-attention level (" +
                                        std::to_string(c.cross_attention_heads) + " heads must divide " +
                                        std::to_string(channels) + " channels at level " + std::to_string(level) + ")");
  }
}

void read_fields(const Fields& f, UNetConfig& c) {
  f.known("kind");
  f.known("preset");
  f.read("inChannels", c.in_channels);
  f.read("baseChannels", c.base_channels);
  f.read("channelMult", c.channel_mult);
  f.read("resBlocks", c.res_blocks);
  f.read("timeDim", c.time_dim);
  f.read("groups", c.groups);
  f.read("temporalKernel", c.temporal_kernel);  // read by the video geometry only
  f.read("midAttention", c.mid_attention);
}

void validate(const Fields& f, const UNetConfig& c) {
  check_positive(f, "inChannels", c.in_channels);
  check_positive(f, "baseChannels", c.base_channels);
  check_channel_mult(f, c.channel_mult);
  check_positive(f, "resBlocks", c.res_blocks);
  check_time_dim(f, c.time_dim);
  check_positive(f, "groups", c.groups);
  for (auto m : c.channel_mult) {
    if ((c.base_channels * m) % c.groups != 0) f.fail("groups", "must divide baseChannels × every channelMult entry");
  }
  if (c.temporal_kernel < 1 || c.temporal_kernel % 2 == 0) f.fail("temporalKernel", "must be a positive odd integer");
}

void read_fields(const Fields& f, ToyDiscriminatorConfig& c) {
  f.known("kind");
  f.read("audioDim", c.audio_dim);
  f.read("videoDim", c.video_dim);
  f.read("hidden", c.hidden);
  f.read("blocks", c.blocks);
  f.read("timeDim", c.time_dim);
  f.read("fusion", c.fusion, "fusion", kToyFusion);
}

void validate(const Fields& f, const ToyDiscriminatorConfig& c) {
  if (!f.has("audioDim")) f.fail("audioDim", "is required");
  if (!f.has("videoDim")) f.fail("videoDim", "is required");
  check_positive(f, "audioDim", c.audio_dim);
  check_positive(f, "videoDim", c.video_dim);
  check_positive(f, "hidden", c.hidden);
  check_positive(f, "blocks", c.blocks);
  check_time_dim(f, c.time_dim);
}

void read_fields(const Fields& f, MlpEpsConfig& c) {
  f.known("kind");
  f.read("dim", c.dim);
  f.read("hidden", c.hidden);
  f.read("blocks", c.blocks);
  f.read("timeDim", c.time_dim);
}

void validate(const Fields& f, const MlpEpsConfig& c) {
  if (!f.has("dim")) f.fail("dim", "is required");
  check_positive(f, "dim", c.dim);
  check_positive(f, "hidden", c.hidden);
  check_positive(f, "blocks", c.blocks);
  check_time_dim(f, c.time_dim);
}

// Defaults, then the preset's fields, then the JSON's; validated; unknown fields rejected.
template <typename Config>
Config parse(const Json& json, const std::string& kind, const std::string& default_preset, Config c = {}) {
  Fields f(json);
  if (const Preset* p = preset_of(json, kind, default_preset)) read_fields(Fields(Json::parse(p->fields)), c);
  read_fields(f, c);
  f.reject_unknown();
  validate(f, c);
  return c;
}

void expect_kind(const Json& json, std::initializer_list<const char*> kinds) {
  const auto kind = kind_of(json);
  std::string list;
  size_t i = 0;
  for (const char* k : kinds) {
    if (kind == k) return;
    list += (i == 0 ? "'" : i + 1 == kinds.size() ? " or '" : ", '") + std::string(k) + "'";
    ++i;
  }
  throw ConfigError("kind", "must be " + list + ", got '" + kind + "'");
}

}  // namespace

std::vector<std::string> network_presets(const std::string& kind) {
  std::vector<std::string> names;
  for (const auto& p : presets()) {
    if (kind == p.kind) names.emplace_back(p.name);
  }
  return names;
}

MlpEpsConfig parse_mlp_eps_network(const Json& json) {
  expect_kind(json, {"mlp"});
  return parse<MlpEpsConfig>(json, "mlp", "");
}

UNetConfig parse_unet_network(const Json& json) {
  expect_kind(json, {"video-unet", "audio-unet"});
  const auto kind = kind_of(json);
  UNetConfig c;
  c.geometry = kind == "video-unet" ? UNetGeometry::kVideo : UNetGeometry::kAudio;
  return parse<UNetConfig>(json, kind, "", c);
}

ToyDiscriminatorConfig parse_toy_discriminator_network(const Json& json) {
  expect_kind(json, {"toy-mlp"});
  return parse<ToyDiscriminatorConfig>(json, "toy-mlp", "");
}

DiscriminatorNetworkConfig parse_discriminator_network(const Json& json) {
  expect_kind(json, {"mmdisco"});
  return parse<DiscriminatorNetworkConfig>(json, "mmdisco", "audioldm-animatediff");
}

EpsNetworkConfig parse_eps_network(const Json& json) {
  expect_kind(json, {"mlp", "video-unet", "audio-unet"});
  if (kind_of(json) == "mlp") return parse_mlp_eps_network(json);
  return parse_unet_network(json);
}

DiscriminatorNetworkVariant parse_discriminator_network_of_any_kind(const Json& json) {
  expect_kind(json, {"toy-mlp", "mmdisco"});
  if (kind_of(json) == "toy-mlp") return parse_toy_discriminator_network(json);
  return parse_discriminator_network(json);
}

Json validate_network(const Json& json) {
  expect_kind(json, {"mlp", "video-unet", "audio-unet", "toy-mlp", "mmdisco"});
  const auto kind = kind_of(json);
  if (kind == "mlp" || kind == "video-unet" || kind == "audio-unet")
    return std::visit([](const auto& c) { return to_json(c); }, parse_eps_network(json));
  return std::visit([](const auto& c) { return to_json(c); }, parse_discriminator_network_of_any_kind(json));
}

Json to_json(const MlpEpsConfig& c) {
  Json j = Json::object();
  j.set("kind", "mlp");
  j.set("dim", c.dim);
  j.set("hidden", c.hidden);
  j.set("blocks", c.blocks);
  j.set("timeDim", c.time_dim);
  return j;
}

Json to_json(const UNetConfig& c) {
  Json j = Json::object();
  j.set("kind", c.geometry == UNetGeometry::kVideo ? "video-unet" : "audio-unet");
  j.set("inChannels", c.in_channels);
  j.set("baseChannels", c.base_channels);
  j.set("channelMult", Json::array_of(c.channel_mult));
  j.set("resBlocks", c.res_blocks);
  j.set("timeDim", c.time_dim);
  j.set("groups", c.groups);
  j.set("midAttention", c.mid_attention);
  j.set("temporalKernel", c.temporal_kernel);
  return j;
}

Json to_json(const ToyDiscriminatorConfig& c) {
  Json j = Json::object();
  j.set("kind", "toy-mlp");
  j.set("audioDim", c.audio_dim);
  j.set("videoDim", c.video_dim);
  j.set("hidden", c.hidden);
  j.set("blocks", c.blocks);
  j.set("timeDim", c.time_dim);
  j.set("fusion", enum_name(c.fusion, kToyFusion));
  return j;
}

Json to_json(const DiscriminatorNetworkConfig& c) {
  Json j = Json::object();
  j.set("kind", "mmdisco");
  j.set("videoChannels", c.video_channels);
  j.set("audioChannels", c.audio_channels);
  j.set("audioConv", enum_name(c.audio_conv, kAudioConv));
  j.set("maxDilation", c.max_dilation);
  j.set("videoPatch", c.video_patch);
  j.set("videoPool", enum_name(c.video_pool, kVideoPool));
  j.set("width", c.width);
  j.set("channelMult", Json::array_of(c.channel_mult));
  j.set("blocksPerLevel", c.blocks_per_level);
  j.set("timeDim", c.time_dim);
  j.set("videoTextDim", c.video_text_dim);
  j.set("audioTextDim", c.audio_text_dim);
  j.set("textProjection", c.text_projection);
  j.set("fusion", enum_name(c.fusion, kFusion));
  j.set("fusionWidth", c.fusion_width);
  j.set("fusionLayers", c.fusion_layers);
  j.set("fusionHeads", c.fusion_heads);
  j.set("fusionHeadDim", c.fusion_head_dim);
  j.set("fusionMaxTokens", c.fusion_max_tokens);
  j.set("fusionTokens", enum_name(c.fusion_tokens, kFusionTokens));
  j.set("groups", c.groups);
  j.set("crossAttentionLevels", Json::array_of(c.cross_attention_levels));
  j.set("crossAttentionWindow", c.cross_attention_window);
  j.set("crossAttentionHeads", c.cross_attention_heads);
  j.set("input", enum_name(c.input, kInput));
  j.set("videoLayout", enum_name(c.video_layout, kVideoLayout));
  j.set("audioLayout", enum_name(c.audio_layout, kAudioLayout));
  return j;
}

}  // namespace mmdisco
