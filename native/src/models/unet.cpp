#include "models/unet.h"

#include <cmath>
#include <functional>

#include "kernels/group_norm_silu.h"

namespace mmdisco {

namespace F = torch::nn::functional;

UNetGeometry parse_unet_geometry(const std::string& name) {
  if (name == "video") return UNetGeometry::kVideo;
  if (name == "audio") return UNetGeometry::kAudio;
  throw std::invalid_argument("U-Net geometry must be 'video' or 'audio', got '" + name + "'");
}

namespace {

// The activations are kept channels-last (2-D or 3-D), the layout of the convolution weights: an op that gives
// another layout makes a residual sum or concatenation fall back to contiguous, and every convolution after it
// then reorders its input and its gradient.
torch::Tensor channels_last(const torch::Tensor& x) {
  return x.contiguous(x.dim() == 5 ? torch::MemoryFormat::ChannelsLast3d : torch::MemoryFormat::ChannelsLast);
}

// Down/up-sampling acts on the last two axes: (H, W) of (B, C, F, H, W) video, (L, M) of (B, C, L, M) audio. Video
// is resampled as the (B, C, F·H, W) view of its frames stacked along H: H is even, so no 2 × 2 window straddles two
// frames, and the 2-D ops keep channels-last where avg_pool3d would give a contiguous output.
torch::Tensor resampled_as_2d(const torch::Tensor& x, const std::function<torch::Tensor(const torch::Tensor&)>& op) {
  if (x.dim() == 4) return op(x);
  const int64_t frames = x.size(2);
  const auto y = op(x.flatten(2, 3));
  return y.unflatten(2, {frames, y.size(2) / frames});
}

torch::Tensor downsample(const torch::Tensor& x) {
  return resampled_as_2d(x, [](const torch::Tensor& v) { return F::avg_pool2d(v, F::AvgPool2dFuncOptions(2)); });
}

torch::Tensor upsample(const torch::Tensor& x) {
  return resampled_as_2d(x, [](const torch::Tensor& v) {
    return F::interpolate(v, F::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{2 * v.size(2), 2 * v.size(3)})
                                 .mode(torch::kNearest));
  });
}

torch::nn::GroupNorm group_norm(int64_t groups, int64_t channels) {
  TORCH_CHECK(channels % groups == 0, "U-Net: GroupNorm groups (", groups, ") must divide every width, not ",
              channels);
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels));
}

}  // namespace

// ---- convolutions ---------------------------------------------------------------------------------------

SpatialConvImpl::SpatialConvImpl(const UNetConfig& c, int64_t in_channels, int64_t out_channels, int64_t kernel) {
  const int64_t pad = kernel / 2;
  if (c.geometry == UNetGeometry::kAudio) {
    conv2d = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, out_channels, kernel)
                                                           .padding(pad)));
    return;
  }
  spatial = register_module(
      "spatial", torch::nn::Conv3d(torch::nn::Conv3dOptions(in_channels, out_channels, {1, kernel, kernel})
                                       .padding({0, pad, pad})));
  // A 1×1 convolution has no temporal extent to factorise.
  if (kernel > 1) {
    const int64_t kt = c.temporal_kernel;
    TORCH_CHECK(kt % 2 == 1, "U-Net: temporal_kernel must be odd, got ", kt);
    temporal = register_module("temporal", torch::nn::Conv3d(torch::nn::Conv3dOptions(out_channels, out_channels,
                                                                                      {kt, 1, 1})
                                                                 .padding({kt / 2, 0, 0})));
  }
}

torch::Tensor SpatialConvImpl::forward(const torch::Tensor& x) {
  if (conv2d) return conv2d(x);
  auto h = spatial(x);
  return temporal ? temporal(channels_last(h)) : h;  // the input convolution's spatial half gives a contiguous output
}

void SpatialConvImpl::zero_init() {
  torch::NoGradGuard no_grad;
  auto& weight = conv2d ? conv2d->weight : (temporal ? temporal->weight : spatial->weight);
  auto& bias = conv2d ? conv2d->bias : (temporal ? temporal->bias : spatial->bias);
  weight.zero_();
  bias.zero_();
}

// ---- blocks ---------------------------------------------------------------------------------------------

UNetResBlockImpl::UNetResBlockImpl(const UNetConfig& c, int64_t in_channels, int64_t out_channels,
                                   int64_t embed_dim) {
  norm_1 = register_module("norm_1", group_norm(c.groups, in_channels));
  conv_1 = register_module("conv_1", SpatialConv(c, in_channels, out_channels));
  modulation = register_module("modulation", torch::nn::Linear(embed_dim, 2 * out_channels));
  norm_2 = register_module("norm_2", group_norm(c.groups, out_channels));
  conv_2 = register_module("conv_2", SpatialConv(c, out_channels, out_channels));
  conv_2->zero_init();
  has_skip_ = in_channels != out_channels;
  if (has_skip_) skip = register_module("skip", SpatialConv(c, in_channels, out_channels, 1));
}

torch::Tensor UNetResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& embedding) {
  auto h = conv_1(group_norm_silu(x, norm_1));
  auto scale_shift = modulation(torch::silu(embedding)).chunk(2, 1);
  h = conv_2(group_norm_silu(h, norm_2, scale_shift[0], scale_shift[1]));
  return (has_skip_ ? skip(x) : x) + h;
}

UNetAttentionImpl::UNetAttentionImpl(int64_t channels, int64_t groups) {
  norm = register_module("norm", group_norm(groups, channels));
  qkv = register_module("qkv", torch::nn::Linear(channels, 3 * channels));
  out = register_module("out", torch::nn::Linear(channels, channels));
  torch::NoGradGuard no_grad;
  out->weight.zero_();
  out->bias.zero_();
}

torch::Tensor UNetAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1);
  auto tokens = norm_fp32(norm, x).reshape({b, c, -1}).transpose(1, 2);  // (B, N, C)
  auto q_k_v = qkv(tokens).chunk(3, -1);
  auto attended = at::scaled_dot_product_attention(q_k_v[0], q_k_v[1], q_k_v[2]);
  return x + out(attended).transpose(1, 2).reshape(x.sizes());
}

// ---- the network ----------------------------------------------------------------------------------------

UNetEpsNetImpl::UNetEpsNetImpl(const UNetConfig& c) : config_(c) {
  TORCH_CHECK(c.in_channels > 0 && c.base_channels > 0 && c.res_blocks > 0 && !c.channel_mult.empty(),
              "U-Net: in_channels, base_channels, res_blocks and channel_mult must be positive / non-empty");
  const int64_t embed_dim = 4 * c.base_channels;
  time_embed = register_module("time_embed", TimeEmbedding(c.time_dim, embed_dim));
  input = register_module("input", SpatialConv(c, c.in_channels, c.base_channels));

  down = register_module("down", torch::nn::ModuleList());
  std::vector<int64_t> skip_channels = {c.base_channels};
  int64_t channels = c.base_channels;
  const auto levels = static_cast<int64_t>(c.channel_mult.size());
  for (int64_t level = 0; level < levels; ++level) {
    const int64_t width = c.base_channels * c.channel_mult[level];
    for (int64_t i = 0; i < c.res_blocks; ++i) {
      down->push_back(UNetResBlock(c, channels, width, embed_dim));
      channels = width;
      skip_channels.push_back(channels);
    }
    if (level + 1 < levels) skip_channels.push_back(channels);  // the down-sampled map is a skip too
  }

  mid_1 = register_module("mid_1", UNetResBlock(c, channels, channels, embed_dim));
  if (c.mid_attention) mid_attention = register_module("mid_attention", UNetAttention(channels, c.groups));
  mid_2 = register_module("mid_2", UNetResBlock(c, channels, channels, embed_dim));

  up = register_module("up", torch::nn::ModuleList());
  upsample_convs = register_module("upsample_convs", torch::nn::ModuleList());
  for (int64_t level = levels - 1; level >= 0; --level) {
    const int64_t width = c.base_channels * c.channel_mult[level];
    for (int64_t i = 0; i <= c.res_blocks; ++i) {
      const int64_t skip = skip_channels.back();
      skip_channels.pop_back();
      up->push_back(UNetResBlock(c, channels + skip, width, embed_dim));
      channels = width;
    }
    if (level > 0) upsample_convs->push_back(SpatialConv(c, channels, channels));
  }

  output_norm = register_module("output_norm", group_norm(c.groups, channels));
  output = register_module("output", SpatialConv(c, channels, c.in_channels));
  output->zero_init();

  // Channels-last convolution weights: the convolutions then take and give channels-last activations, which oneDNN
  // runs without reordering every input and output, and the ops between them (the fused GroupNorm + SiLU
  // included) keep that layout.
  torch::NoGradGuard no_grad;
  for (auto& p : parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    if (p.dim() == 5) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast3d));
  }
}

torch::Tensor UNetEpsNetImpl::forward(const torch::Tensor& x_t, const torch::Tensor& t) {
  const bool video = config_.geometry == UNetGeometry::kVideo;
  TORCH_CHECK(x_t.dim() == (video ? 5 : 4), "U-Net: expected ", video ? "(B, F, C, H, W)" : "(B, C, L, M)",
              " input, got shape ", x_t.sizes());
  auto x = video ? x_t.permute({0, 2, 1, 3, 4}) : x_t;
  TORCH_CHECK(x.size(1) == config_.in_channels, "U-Net: expected ", config_.in_channels, " channels, got ",
              x.size(1));

  // Pad the two down-sampled axes to a multiple of 2^(levels−1).
  const int64_t multiple = int64_t{1} << (config_.channel_mult.size() - 1);
  const int64_t rows = x.size(-2), cols = x.size(-1);
  const int64_t pad_rows = (multiple - rows % multiple) % multiple, pad_cols = (multiple - cols % multiple) % multiple;
  if (pad_rows || pad_cols) x = F::pad(x, F::PadFuncOptions({0, pad_cols, 0, pad_rows}));

  auto embedding = time_embed(t);
  // The audio input convolution reads one channel, which oneDNN takes as contiguous, and gives a contiguous output
  // (the video one's temporal half already reads and gives channels-last).
  auto h = channels_last(input(x));
  std::vector<torch::Tensor> skips = {h};
  const auto levels = static_cast<int64_t>(config_.channel_mult.size());
  size_t block = 0;
  for (int64_t level = 0; level < levels; ++level) {
    for (int64_t i = 0; i < config_.res_blocks; ++i) {
      h = down[block++]->as<UNetResBlock>()->forward(h, embedding);
      skips.push_back(h);
    }
    if (level + 1 < levels) {
      h = downsample(h);
      skips.push_back(h);
    }
  }

  h = mid_1(h, embedding);
  if (mid_attention) h = mid_attention(h);
  h = mid_2(h, embedding);

  block = 0;
  size_t upsampler = 0;
  for (int64_t level = levels - 1; level >= 0; --level) {
    for (int64_t i = 0; i <= config_.res_blocks; ++i) {
      h = up[block++]->as<UNetResBlock>()->forward(torch::cat({h, skips.back()}, 1), embedding);
      skips.pop_back();
    }
    if (level > 0) h = upsample_convs[upsampler++]->as<SpatialConv>()->forward(upsample(h));
  }

  auto eps = output(group_norm_silu(h, output_norm));
  if (pad_rows || pad_cols) eps = eps.narrow(-2, 0, rows).narrow(-1, 0, cols);
  return video ? eps.permute({0, 2, 1, 3, 4}).contiguous() : eps.contiguous();
}

}  // namespace mmdisco
