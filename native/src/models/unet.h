#pragma once
// ε-prediction U-Nets for the base models: one network definition, two geometries.
//  - video: input (B, F, C, H, W). Convolutions are factorised "2d+1d": a (1, k, k) convolution per frame, then a
//    (k_t, 1, 1) convolution along frames per pixel, on the internal layout (B, C, F, H, W) (the same maths as
//    reshaping to (B·F, C, H, W) and (B·H·W, C, F), without the copies). Down/up-sampling halves/doubles H and W
//    and keeps the frames.
//  - audio: input (B, C, L, M) log-mel (time, mel bins), plain k×k 2-D convolutions; down/up-sampling on both
//    axes.
// The two down-sampled axes are zero-padded up to a multiple of 2^(levels−1) and the output is cropped back,
// so any size works (e.g. 160 mel frames with 5 levels).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "models/time_embedding.h"

namespace mmdisco {

enum class UNetGeometry { kVideo, kAudio };

struct UNetConfig {
  UNetGeometry geometry = UNetGeometry::kVideo;
  int64_t in_channels = 1;
  int64_t base_channels = 32;
  std::vector<int64_t> channel_mult = {1, 2, 2};  // one entry per resolution level
  int64_t res_blocks = 1;                          // ResBlocks per level on the way down
  int64_t time_dim = 64;                           // sinusoid width; the embedding is 4 × base_channels wide
  int64_t groups = 8;                              // GroupNorm groups; must divide every level's width
  int64_t temporal_kernel = 3;                     // video only: taps of the per-pixel temporal convolution
  bool mid_attention = true;                       // self-attention at the lowest resolution
};

UNetGeometry parse_unet_geometry(const std::string& name);  // "video" | "audio"

// k×k convolution of the geometry ("same" padding): Conv2d for audio, (1,k,k) then (k_t,1,1) Conv3d for video.
class SpatialConvImpl : public torch::nn::Module {
 public:
  SpatialConvImpl(const UNetConfig& config, int64_t in_channels, int64_t out_channels, int64_t kernel = 3);
  torch::Tensor forward(const torch::Tensor& x);
  void zero_init();  // last convolution's weight and bias to zero, so a residual branch starts as identity

 private:
  torch::nn::Conv2d conv2d{nullptr};
  torch::nn::Conv3d spatial{nullptr}, temporal{nullptr};
};
TORCH_MODULE(SpatialConv);

// GN → SiLU → conv → scale-shift by the time embedding → GN → SiLU → conv (zero-initialised), plus a skip.
class UNetResBlockImpl : public torch::nn::Module {
 public:
  UNetResBlockImpl(const UNetConfig& config, int64_t in_channels, int64_t out_channels, int64_t embed_dim);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& embedding);

 private:
  torch::nn::GroupNorm norm_1{nullptr}, norm_2{nullptr};
  SpatialConv conv_1{nullptr}, conv_2{nullptr}, skip{nullptr};
  torch::nn::Linear modulation{nullptr};
  bool has_skip_ = false;
};
TORCH_MODULE(UNetResBlock);

// Single-head self-attention over every position of a feature map (frames and pixels together for video).
class UNetAttentionImpl : public torch::nn::Module {
 public:
  UNetAttentionImpl(int64_t channels, int64_t groups);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::GroupNorm norm{nullptr};
  torch::nn::Linear qkv{nullptr}, out{nullptr};
};
TORCH_MODULE(UNetAttention);

class UNetEpsNetImpl : public torch::nn::Module {
 public:
  explicit UNetEpsNetImpl(const UNetConfig& config);
  // x_t in the caller's layout ((B, F, C, H, W) video, (B, C, L, M) audio); t: (B,) int64. Returns ε̂, same shape.
  torch::Tensor forward(const torch::Tensor& x_t, const torch::Tensor& t);
  const UNetConfig& config() const { return config_; }

 private:
  UNetConfig config_;
  TimeEmbedding time_embed{nullptr};
  SpatialConv input{nullptr}, output{nullptr};
  torch::nn::GroupNorm output_norm{nullptr};
  torch::nn::ModuleList down{nullptr}, up{nullptr}, upsample_convs{nullptr};
  UNetResBlock mid_1{nullptr}, mid_2{nullptr};
  UNetAttention mid_attention{nullptr};
};
TORCH_MODULE(UNetEpsNet);

}  // namespace mmdisco
