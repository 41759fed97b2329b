#include "unet_options.h"

namespace mmdisco_binding {

bool is_unet_kind(const std::string& kind) { return kind == "video-unet" || kind == "audio-unet"; }

mmdisco::UNetConfig parse_unet_network(const Options& o) {
  mmdisco::UNetConfig c;
  const auto kind = o.string("kind");
  if (!is_unet_kind(kind)) o.fail("kind", "must be 'video-unet' or 'audio-unet', got '" + kind + "'");
  c.geometry = kind == "video-unet" ? mmdisco::UNetGeometry::kVideo : mmdisco::UNetGeometry::kAudio;
  c.in_channels = o.integer("inChannels", c.in_channels);
  c.base_channels = o.integer("baseChannels", c.base_channels);
  if (o.has("channelMult")) c.channel_mult = o.integers("channelMult");
  c.res_blocks = o.integer("resBlocks", c.res_blocks);
  c.time_dim = o.integer("timeDim", c.time_dim);
  c.groups = o.integer("groups", c.groups);
  c.temporal_kernel = o.integer("temporalKernel", c.temporal_kernel);
  c.mid_attention = o.boolean("midAttention", c.mid_attention);
  for (auto m : c.channel_mult) {
    if (m < 1) o.fail("channelMult", "must hold positive integers");
    if ((c.base_channels * m) % c.groups != 0) o.fail("groups", "must divide baseChannels × every channelMult");
  }
  if (c.temporal_kernel < 1 || c.temporal_kernel % 2 == 0) o.fail("temporalKernel", "must be a positive odd integer");
  return c;
}

}  // namespace mmdisco_binding
