#include "config/official.h"

#include <utility>

#include "config/networks.h"
#include "errors.h"

namespace mmdisco {

namespace {

struct OfficialPreset {
  const char* name;
  const char* document;
};

// The released model configs: the residual_predictor arguments and the pipeline classes that decide the call site.
const std::vector<OfficialPreset>& official_table() {
  static const std::vector<OfficialPreset> table = {
      // conf/model/mmdiffusion_landscape.yaml (ckpt_path left out)
      {"mmdiffusion-landscape", R"({"_target_": "mmdisco.models.networks.MMDisCoMMDiffusion",
 "residual_predictor": {"_target_": "mmdisco.models.residual_predictor.mm_block.MultimodalDiscriminator", "video_input_type": "sample_only", "audio_input_type": "sample_only", "time_embed_dims": 128, "text_cond": false, "video_text_emb_dims": null, "audio_text_emb_dims": null, "last_sigmoid": true,
  "feature_extractor": {"_target_": "mmdisco.models.residual_predictor.mm_block.VAResidualBlocks", "video_cdim": 3, "audio_cdim": 1, "model_channels": 128, "time_embed_dims": 128, "num_res_blocks": 2, "cross_attention_resolutions": [], "cross_attention_windows": [], "cross_attention_shift": false, "video_attention_resolutions": [], "audio_attention_resolutions": [], "video_conv_type": "2d+1d", "audio_conv_type": "1d", "dropout": 0, "channel_mult": [1, 2, 4], "use_checkpoint": false, "num_heads": 4, "num_head_channels": 64, "use_scale_shift_norm": true, "first_norm_type": null, "max_dila": 10},
  "fusion_model_conf": {"_target_": "mmdisco.models.residual_predictor.mm_block.FusionModel.ModelConfig", "fusion_type": "aggregate_time_and_cat_ch", "num_attn_layers": -1, "model_channels": -1, "out_channels": -1, "use_class_token": false}}})"},
      // conf/model/mmdiffusion_aist++.yaml (ckpt_path left out)
      {"mmdiffusion-aist++", R"({"_target_": "mmdisco.models.networks.MMDisCoMMDiffusion",
 "residual_predictor": {"_target_": "mmdisco.models.residual_predictor.mm_block.MultimodalDiscriminator", "video_input_type": "sample_only", "audio_input_type": "sample_only", "time_embed_dims": 128, "text_cond": false, "video_text_emb_dims": null, "audio_text_emb_dims": null, "last_sigmoid": true,
  "feature_extractor": {"_target_": "mmdisco.models.residual_predictor.mm_block.VAResidualBlocks", "video_cdim": 3, "audio_cdim": 1, "model_channels": 128, "time_embed_dims": 128, "num_res_blocks": 2, "cross_attention_resolutions": [], "cross_attention_windows": [], "cross_attention_shift": false, "video_attention_resolutions": [], "audio_attention_resolutions": [], "video_conv_type": "2d+1d", "audio_conv_type": "1d", "dropout": 0, "channel_mult": [1, 2, 4], "use_checkpoint": false, "num_heads": 4, "num_head_channels": 64, "use_scale_shift_norm": true, "first_norm_type": null, "max_dila": 10},
  "fusion_model_conf": {"_target_": "mmdisco.models.residual_predictor.mm_block.FusionModel.ModelConfig", "fusion_type": "aggregate_time_and_cat_ch", "num_attn_layers": -1, "model_channels": -1, "out_channels": -1, "use_class_token": false}}})"},
      // conf/model/audioldm_animediff_vggsound.yaml (ckpt_path left out)
      {"audioldm-animatediff", R"({"_target_": "mmdisco.models.networks.MMDisCo",
 "audio_diffusion": {"_target_": "mmdisco.models.diffusion.audio.AudioLDM", "default_guidance_scale": 2.5},
 "video_diffusion": {"_target_": "mmdisco.models.diffusion.video.AnimateDiff", "default_guidance_scale": 7.5},
 "residual_predictor": {"_target_": "mmdisco.models.residual_predictor.mm_block.MultimodalDiscriminator", "video_input_type": "sample_only", "audio_input_type": "sample_only", "time_embed_dims": 128, "text_cond": true, "video_text_emb_dims": 768, "audio_text_emb_dims": 512, "last_sigmoid": true,
  "feature_extractor": {"_target_": "mmdisco.models.residual_predictor.mm_block.VAResidualBlocks", "video_cdim": 4, "audio_cdim": 8, "model_channels": 128, "time_embed_dims": 128, "num_res_blocks": 4, "cross_attention_resolutions": [], "cross_attention_windows": [], "cross_attention_shift": false, "video_attention_resolutions": [], "audio_attention_resolutions": [], "video_conv_type": "2d+1d", "audio_conv_type": "2d", "dropout": 0, "channel_mult": [1, 2, 4], "use_checkpoint": false, "num_heads": 4, "num_head_channels": 64, "use_scale_shift_norm": true, "first_norm_type": null, "max_dila": 1},
  "fusion_model_conf": {"_target_": "mmdisco.models.residual_predictor.mm_block.FusionModel.ModelConfig", "fusion_type": "aggregate_time_and_cat_ch", "num_attn_layers": -1, "model_channels": -1, "out_channels": -1, "use_class_token": false}}})"},
      // conf/model/auffusion_videocrafter2_vggsound.yaml (ckpt_path left out)
      {"auffusion-videocrafter2", R"({"_target_": "mmdisco.models.networks.MMDisCo",
 "audio_diffusion": {"_target_": "mmdisco.models.diffusion.audio.Auffusion", "default_guidance_scale": 8.0},
 "video_diffusion": {"_target_": "mmdisco.models.diffusion.video.VideoCrafter", "default_guidance_scale": 8.0},
 "residual_predictor": {"_target_": "mmdisco.models.residual_predictor.mm_block.MultimodalDiscriminator", "video_input_type": "sample_only", "audio_input_type": "sample_only", "time_embed_dims": 128, "text_cond": true, "video_text_emb_dims": 1024, "audio_text_emb_dims": 768, "last_sigmoid": true,
  "feature_extractor": {"_target_": "mmdisco.models.residual_predictor.mm_block.VAResidualBlocks", "video_cdim": 4, "audio_cdim": 4, "model_channels": 128, "time_embed_dims": 128, "num_res_blocks": 4, "cross_attention_resolutions": [], "cross_attention_windows": [], "cross_attention_shift": false, "video_attention_resolutions": [], "audio_attention_resolutions": [], "video_conv_type": "2d+1d", "audio_conv_type": "2d", "dropout": 0, "channel_mult": [1, 2, 4], "use_checkpoint": false, "num_heads": 4, "num_head_channels": 64, "use_scale_shift_norm": true, "first_norm_type": null, "max_dila": 1},
  "fusion_model_conf": {"_target_": "mmdisco.models.residual_predictor.mm_block.FusionModel.ModelConfig", "fusion_type": "cat_time_and_apply_transformer", "num_attn_layers": 4, "model_channels": 256, "out_channels": 256, "use_class_token": true}}})"},
  };
  return table;
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// Typed reads of one official object; errors name the official field by its dotted path.
class OfficialFields {
 public:
  OfficialFields(const Json& json, std::string path) : json_(json), path_(std::move(path)) {
    if (!json.is_object()) fail("", "must be a mapping");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& message) const {
    throw ConfigError(key.empty() ? path_ : path_ + "." + key, message);
  }
  const Json* find(const std::string& key) const { return json_.find(key); }
  const Json& get(const std::string& key) const {
    const Json* v = json_.find(key);
    if (!v) fail(key, "is required");
    return *v;
  }
  OfficialFields object(const std::string& key) const { return OfficialFields(get(key), path_ + "." + key); }
  int64_t integer(const std::string& key) const {
    const Json& v = get(key);
    if (!v.is_number() || v.number() != static_cast<double>(static_cast<int64_t>(v.number())))
      fail(key, "must be an integer");
    return static_cast<int64_t>(v.number());
  }
  bool boolean(const std::string& key) const {
    const Json& v = get(key);
    if (!v.is_bool()) fail(key, "must be true or false");
    return v.boolean();
  }
  std::string string(const std::string& key) const {
    const Json& v = get(key);
    if (!v.is_string()) fail(key, "must be a string");
    return v.string();
  }
  std::vector<int64_t> integers(const std::string& key) const {
    const Json& v = get(key);
    if (!v.is_array()) fail(key, "must be a list of integers");
    std::vector<int64_t> out;
    for (const auto& item : v.items()) {
      if (!item.is_number()) fail(key, "must be a list of integers");
      out.push_back(static_cast<int64_t>(item.number()));
    }
    return out;
  }
  // Fields of the official module that this network realises only at one value.
  void require(const std::string& key, const Json& value, const std::string& why) const {
    const Json* v = json_.find(key);
    if (v && *v != value) fail(key, "must be " + value.dump() + " (" + why + "), got " + v->dump());
  }
  void require_empty(const std::string& key, const std::string& why) const {
    const Json* v = json_.find(key);
    if (v && !(v->is_null() || (v->is_array() && v->items().empty()))) fail(key, "must be empty (" + why + ")");
  }
  void require_target(const std::string& tail) const {
    const Json* v = json_.find("_target_");
    if (v && (!v->is_string() || !ends_with(v->string(), tail)))
      fail("_target_", "must name " + tail + ", got " + v->dump());
  }

 private:
  const Json& json_;
  std::string path_;
};

Json network_of(const OfficialFields& rp, const std::string& video_layout, const std::string& audio_layout) {
  rp.require_target(".MultimodalDiscriminator");
  rp.require("video_input_type", "sample_only", "the network reads the noisy sample");
  rp.require("audio_input_type", "sample_only", "the network reads the noisy sample");
  rp.require("last_sigmoid", true, "guidance uses the smoothed logit of a sigmoid output");
  const auto fe = rp.object("feature_extractor");
  fe.require_target(".VAResidualBlocks");
  fe.require_empty("cross_attention_resolutions", "the released towers never interact");
  fe.require_empty("video_attention_resolutions", "no released tower has self-attention");
  fe.require_empty("audio_attention_resolutions", "no released tower has self-attention");
  fe.require("video_conv_type", "2d+1d", "the video tower's convolutions");
  fe.require("use_scale_shift_norm", true, "the ResBlocks' time modulation");
  fe.require("first_norm_type", Json(), "the input block has no norm");
  const auto fm = rp.object("fusion_model_conf");

  Json n = Json::object();
  n.set("kind", "mmdisco");
  n.set("videoChannels", fe.integer("video_cdim"));
  n.set("audioChannels", fe.integer("audio_cdim"));
  const auto audio_conv = fe.string("audio_conv_type");
  if (audio_conv != "2d" && audio_conv != "1d") fe.fail("audio_conv_type", "must be '2d' or '1d', got '" + audio_conv + "'");
  n.set("audioConv", audio_conv);
  n.set("maxDilation", fe.integer("max_dila"));
  n.set("width", fe.integer("model_channels"));
  n.set("channelMult", Json::array_of(fe.integers("channel_mult")));
  n.set("blocksPerLevel", fe.integer("num_res_blocks"));
  const int64_t time_dim = rp.integer("time_embed_dims");
  if (fe.integer("time_embed_dims") != time_dim)
    fe.fail("time_embed_dims", "must equal residual_predictor.time_embed_dims (" + std::to_string(time_dim) + ")");
  n.set("timeDim", time_dim);
  const bool text = rp.boolean("text_cond");
  n.set("videoTextDim", text ? rp.integer("video_text_emb_dims") : int64_t{0});
  n.set("audioTextDim", text ? rp.integer("audio_text_emb_dims") : int64_t{0});
  n.set("textProjection", false);
  const auto fusion = fm.string("fusion_type");
  if (fusion == "aggregate_time_and_cat_ch") {
    n.set("fusion", "A");
  } else if (fusion == "cat_time_and_apply_transformer") {
    // TransformerWrapperNoTokenEmb: x-transformers Encoder (8 heads of 64) of num_attn_layers + 1 layers with the
    // class token, 128 learned positions.
    if (!fm.boolean("use_class_token")) fm.fail("use_class_token", "must be true (the output is the class token's)");
    const int64_t width = fm.integer("model_channels");
    if (fm.integer("out_channels") != width) fm.fail("out_channels", "must equal model_channels");
    n.set("fusion", "B");
    n.set("fusionWidth", width);
    n.set("fusionLayers", fm.integer("num_attn_layers") + 1);
    n.set("fusionHeads", int64_t{8});
    n.set("fusionHeadDim", int64_t{64});
    n.set("fusionMaxTokens", int64_t{128});
    n.set("fusionTokens", "separate");
  } else {
    fm.fail("fusion_type", "must be 'aggregate_time_and_cat_ch' or 'cat_time_and_apply_transformer', got '" + fusion + "'");
  }
  n.set("groups", int64_t{32});  // normalization(): GroupNorm32(32, channels)
  n.set("videoLayout", video_layout);
  n.set("audioLayout", audio_layout);
  return validate_network(n);
}

}  // namespace

Json official_network(const Json& document) {
  const OfficialFields doc(document, "config");
  // A parity fixture's config.json: the constructor arguments and the call site's flags as run.
  if (const Json* init = doc.find("MultimodalDiscriminator.__init__")) {
    Json rp = *init;
    rp.set("feature_extractor", doc.get("VAResidualBlocks.__init__"));
    rp.set("fusion_model_conf", doc.get("FusionModel.ModelConfig"));
    const auto flags = doc.object("forward_kwargs");
    return network_of(OfficialFields(rp, "MultimodalDiscriminator.__init__"),
                      flags.boolean("video_channel_time_transpose") ? "bcfhw" : "bfchw",
                      flags.boolean("audio_spatial_transpose") ? "bcml" : "bclm");
  }
  // A model YAML: MMDisCoMMDiffusion passes pixels (B,F,C,H,W) and waveforms; MMDisCo passes latents
  // (B,C,F,H,W) and transposes the audio latent unless its mel axis is last (Auffusion's is not).
  const auto pipeline = doc.string("_target_");
  std::string video_layout = "bfchw", audio_layout = "bclm";
  if (ends_with(pipeline, ".MMDisCo")) {
    video_layout = "bcfhw";
    if (ends_with(doc.object("audio_diffusion").string("_target_"), ".Auffusion")) audio_layout = "bcml";
  } else if (!ends_with(pipeline, ".MMDisCoMMDiffusion")) {
    doc.fail("_target_", "must name mmdisco.models.networks.MMDisCo or MMDisCoMMDiffusion, got '" + pipeline + "'");
  }
  return network_of(doc.object("residual_predictor"), video_layout, audio_layout);
}

Json official_preset(const std::string& name) {
  for (const auto& p : official_table()) {
    if (name == p.name) return Json::parse(p.document);
  }
  std::string list;
  for (const auto& n : official_presets()) list += (list.empty() ? "" : ", ") + n;
  throw ConfigError("preset", "names no released configuration: '" + name + "' (expected " + list + ")");
}

std::vector<std::string> official_presets() {
  std::vector<std::string> names;
  for (const auto& p : official_table()) names.emplace_back(p.name);
  return names;
}

}  // namespace mmdisco
