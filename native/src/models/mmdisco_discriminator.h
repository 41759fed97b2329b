#pragma once
// The MMDisCo joint discriminator of the released configurations (spec §3, Appendix A/B): two towers of
// time-modulated ResBlocks (video "2d+1d" convs; audio 2-D mel or 1-D dilated waveform convs), optional text
// conditioning vectors, and fusion A (time-mean + concat + Linear) or B (transformer over [CLS, time, frame
// tokens]). The released towers never interact; the cross-attention option (§3.9) couples them inside. Submodule
// names follow the released state dict (§3.8), so its weights load strictly.
//
// Input layouts: video (B, F, C, H, W) or (B, C, F, H, W); audio (B, C, L, M) or (B, C, M, L) for 2-D convs,
// (B, C, N) for 1-D convs (the config's videoLayout / audioLayout: the released pipelines call it with latents in
// their own layouts, and the gradient comes back in the caller's layout).
#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "models/time_embedding.h"

namespace mmdisco {

enum class AudioConv { Conv2d, Conv1d };       // "2d" | "1d"
enum class VideoPool { Mean, Max };            // "mean" | "max"
enum class Fusion { A, B };                    // "A" | "B"
enum class FusionTokens { Separate, Frame };   // "separate" | "frame"
enum class DiscriminatorInput { Noisy, Denoised };  // "noisy" | "denoised"
enum class VideoLayout { Bfchw, Bcfhw };       // "bfchw" | "bcfhw"
enum class AudioLayout { Bclm, Bcml };         // "bclm" | "bcml" (4-D audio only)

// The discriminator network's options and their defaults: the one place either is written. Parsed from and written
// to JSON by config/networks.h (camelCase field names, e.g. fusionWidth), which also holds the presets.
struct DiscriminatorNetworkConfig {
  int64_t video_channels = 4;
  int64_t audio_channels = 8;
  // Conv2d: mel/latent (B,C,L,M); Conv1d: waveform (B,C,N), or a log-mel read with its mel bins as channels.
  AudioConv audio_conv = AudioConv::Conv2d;
  int64_t max_dilation = 1;       // 1-D audio ResBlock k uses dilation 2^(k mod max_dilation)
  // Each frame's p×p pixel patches become channels (C·p² of them, at H/p × W/p) before the video tower, so its
  // first convolutions already span most of a small frame; 1 leaves the frames as they are.
  int64_t video_patch = 1;
  // How each frame's tower features become one vector: Mean over its pixels (the released setting) or Max. A
  // small object on a blank frame lights up a few pixels; the mean dilutes it by the frame's area, the max keeps it.
  VideoPool video_pool = VideoPool::Mean;
  int64_t width = 128;            // base channels; GroupNorm(groups) needs width·mult divisible by groups
  std::vector<int64_t> channel_mult = {1, 2, 4};
  int64_t blocks_per_level = 4;
  int64_t time_dim = 128;         // even, ≥ 4
  int64_t video_text_dim = 0;  // 0: no text conditioning
  int64_t audio_text_dim = 0;
  // Also h += ⟨P_m c_m, pooled tower-m features⟩ per conditioned modality (a projection discriminator): the
  // condition meets the features linearly, not only through the norms' scale and shift.
  bool text_projection = false;
  Fusion fusion = Fusion::A;
  int64_t fusion_width = 256;
  int64_t fusion_layers = 5;
  int64_t fusion_heads = 8;
  int64_t fusion_head_dim = 64;
  int64_t fusion_max_tokens = 128;
  // Fusion B's tokens: Separate (released: the video frames' tokens, then the audio frames'), or Frame: one token
  // per video frame, its video features plus the mean audio features of its span of time, so that what happens in
  // both modalities at once meets in one token instead of having to be matched by the attention.
  FusionTokens fusion_tokens = FusionTokens::Separate;
  int64_t groups = 32;
  // Audio↔video cross-attention after every non-down ResBlock of these levels (0 = full resolution), every
  // released config has none. Windows of `cross_attention_window` video frames (0: the whole clip) attend to the
  // audio frames of the same span; successive blocks alternate between unshifted windows and windows shifted by
  // half a window, so that no frame boundary stays a window boundary (the released code shifts at random instead,
  // which would make the guidance gradient a random function at sampling time).
  std::vector<int64_t> cross_attention_levels = {};
  int64_t cross_attention_window = 0;
  int64_t cross_attention_heads = 1;
  // What the network reads: Noisy x_t (released), or Denoised: the base models' one-step estimates x̂0 of the clean
  // pair (DiscriminatorCritic::set_denoisers, which a discriminator built with this setting needs).
  DiscriminatorInput input = DiscriminatorInput::Noisy;
  // The layouts the network is called with: frames before channels (MM-Diffusion pixels) or after (the latent video
  // models' B,C,F,H,W); mel bins last (AudioLDM) or before the frames (Auffusion's B,C,M,L).
  VideoLayout video_layout = VideoLayout::Bfchw;
  AudioLayout audio_layout = AudioLayout::Bclm;
};

// GroupNorm over (channel group × every frame and pixel), computed in at least float32 and cast back.
class GroupNormWrapperImpl : public torch::nn::Module {
 public:
  GroupNormWrapperImpl(int64_t groups, int64_t channels, bool affine);
  torch::Tensor forward(const torch::Tensor& x);  // (B, C, ...)
  // SiLU(GroupNorm(x) · (1 + scale) + shift), scale and shift (B, C) or absent: the fused kernel where it applies
  // (kernels/group_norm_silu.h).
  torch::Tensor silu(const torch::Tensor& x, const std::optional<torch::Tensor>& scale = std::nullopt,
                     const std::optional<torch::Tensor>& shift = std::nullopt);

 private:
  torch::nn::GroupNorm norm{nullptr};
};
TORCH_MODULE(GroupNormWrapper);

// Video k×k "2d+1d" conv on (B, C, F, H, W): per-frame spatial conv, then a per-pixel temporal conv.
class VideoConv2d1dImpl : public torch::nn::Module {
 public:
  VideoConv2d1dImpl(int64_t in, int64_t out, int64_t kernel);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d video_conv_spatial{nullptr};
  torch::nn::Conv1d video_conv_temporal{nullptr};
};
TORCH_MODULE(VideoConv2d1d);

// A conv held under the name the released state dict uses ("video_conv" / "audio_conv"): pointwise 3-D on
// (B, C, F, H, W), or the audio tower's 2-D / 1-D conv.
class NamedConvImpl : public torch::nn::Module {
 public:
  NamedConvImpl(const std::string& name, torch::nn::AnyModule conv);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::AnyModule conv_;
  torch::nn::Conv1dImpl* conv1d_ = nullptr;  // conv_ when it is a 1-D conv
};
TORCH_MODULE(NamedConv);

// h·(1 + s) + b after a parameter-free GroupNorm, (s, b) = Linear(SiLU(e)); every use is followed by a SiLU, so
// it is computed with that SiLU, in one fused pass where the kernel applies.
class ScaleShiftNormImpl : public torch::nn::Module {
 public:
  ScaleShiftNormImpl(int64_t groups, int64_t channels, int64_t emb_dim);
  torch::Tensor silu(const torch::Tensor& h, const torch::Tensor& e);  // SiLU(GroupNorm(h)·(1 + s) + b)

 private:
  GroupNormWrapper norm{nullptr};
  torch::nn::Sequential projection{nullptr};
};
TORCH_MODULE(ScaleShiftNorm);

// Per-modality parts of one ResBlock (in_layers, out_layers, skip), named "<modality>_…".
struct TowerResParts {
  torch::nn::ModuleList in_layers{nullptr}, out_layers{nullptr};
  NamedConv skip{nullptr};
};

// One ResBlock for both towers: conv(SiLU(GN(x))) → [pool] → scale-shift norm → zero-init 1×1 conv, plus skip.
class VAResBlockImpl : public torch::nn::Module {
 public:
  VAResBlockImpl(const DiscriminatorNetworkConfig& c, int64_t in, int64_t out, bool down, int64_t audio_dilation);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& v, const torch::Tensor& a,
                                                  const torch::Tensor& e_v, const torch::Tensor& e_a);

 private:
  torch::Tensor branch(TowerResParts& parts, const torch::Tensor& x, const torch::Tensor& e, bool video);
  bool down_;
  bool audio_1d_;
  TowerResParts video_, audio_;
};
TORCH_MODULE(VAResBlock);

// Windowed audio↔video cross-attention (spec §3.9): each modality's tokens (frame × pixel, frame × mel bin) query
// the other modality's tokens of the same window of time, and the zero-initialised projection of the result is
// added to the input, so the block starts as the identity. Windows are cut after rolling both clips back by
// `shift` video frames (and shift·L/F audio frames, rounded down). Attention is explicit matmul–softmax.
class VACrossAttentionImpl : public torch::nn::Module {
 public:
  VACrossAttentionImpl(int64_t groups, int64_t channels, int64_t heads, int64_t window, int64_t shift);
  // v (B, C, F, H, W), a (B, C, L, M) or (B, C, L) → the same shapes.
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& v, const torch::Tensor& a);

 private:
  int64_t heads_, window_, shift_;
  GroupNormWrapper video_norm{nullptr}, audio_norm{nullptr};
  torch::nn::Linear video_qkv{nullptr}, audio_qkv{nullptr}, video_proj_out{nullptr}, audio_proj_out{nullptr};
};
TORCH_MODULE(VACrossAttention);

// The initial conv of both towers (no norm).
class VAInputBlockImpl : public torch::nn::Module {
 public:
  explicit VAInputBlockImpl(const DiscriminatorNetworkConfig& c);
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& v, const torch::Tensor& a);

 private:
  VideoConv2d1d video_conv{nullptr};
  NamedConv audio_conv{nullptr};
};
TORCH_MODULE(VAInputBlock);

class VAFeatureExtractorImpl : public torch::nn::Module {
 public:
  explicit VAFeatureExtractorImpl(const DiscriminatorNetworkConfig& c);
  // v (B, C, F, H, W), a (B, C, L, M) or (B, C, N) → tower outputs of the same rank.
  std::pair<torch::Tensor, torch::Tensor> forward(torch::Tensor v, torch::Tensor a, const torch::Tensor& e_v,
                                                  const torch::Tensor& e_a);
  int64_t out_channels() const { return out_channels_; }

 private:
  VAInputBlock input_block{nullptr};  // input_blocks.0.0; ResBlock i is input_blocks.i.0
  std::vector<VAResBlock> res_blocks_;
  std::vector<VACrossAttention> cross_blocks_;  // input_blocks.i.1 after ResBlock i, or empty
  int64_t out_channels_ = 0;
};
TORCH_MODULE(VAFeatureExtractor);

// Linear then exact GELU, with the Linear under "0" as in the released state dict (…net.0.0.weight).
class LinearGeluImpl : public torch::nn::Module {
 public:
  LinearGeluImpl(int64_t in, int64_t out);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(LinearGelu);

// Multi-head self-attention without q/k/v bias, as explicit matmul–softmax (double backward works).
class FusionAttentionImpl : public torch::nn::Module {
 public:
  FusionAttentionImpl(int64_t width, int64_t heads, int64_t head_dim);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t heads_, head_dim_;
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr}, to_out{nullptr};
};
TORCH_MODULE(FusionAttention);

// Pre-LN transformer over [CLS, tokens…] with learned positions; returns the CLS output after norm + Linear.
class FusionTransformerImpl : public torch::nn::Module {
 public:
  FusionTransformerImpl(int64_t width, int64_t layers, int64_t heads, int64_t head_dim, int64_t max_tokens);
  torch::Tensor forward(const torch::Tensor& tokens);  // (B, T, width) without CLS → (B, width)

 private:
  int64_t max_tokens_;
  torch::Tensor cls_emb;
  torch::nn::Embedding pos_emb{nullptr};  // registered as pos_emb.emb
  torch::nn::ModuleList layers_{nullptr};  // registered as attn_layers.layers: [LN, attention], [LN, MLP], …
  std::vector<torch::nn::Sequential> feed_forwards_;  // the MLPs of layers_, in order
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear out_layer{nullptr};
};
TORCH_MODULE(FusionTransformer);

// The pre-sigmoid output h (B,) and, per modality with a projection head, its class scores ⟨P e_k, pooled
// features⟩ (B, d) for every one-hot condition e_k: h's projection term is ⟨c, scores⟩ (undefined without a head).
struct DiscriminatorNetworkOutput {
  torch::Tensor h, video_class_scores, audio_class_scores;
};

class DiscriminatorNetworkImpl : public torch::nn::Module {
 public:
  explicit DiscriminatorNetworkImpl(const DiscriminatorNetworkConfig& config);
  // text_v / text_a: (B, d) or (B, tokens, d), required iff configured.
  DiscriminatorNetworkOutput forward_with_class_scores(const torch::Tensor& video, const torch::Tensor& audio,
                                                       const torch::Tensor& t, const torch::Tensor& text_v = {},
                                                       const torch::Tensor& text_a = {});
  // Pre-sigmoid output h, shape (B,).
  torch::Tensor forward(const torch::Tensor& video, const torch::Tensor& audio, const torch::Tensor& t,
                        const torch::Tensor& text_v = {}, const torch::Tensor& text_a = {}) {
    return forward_with_class_scores(video, audio, t, text_v, text_a).h;
  }
  const DiscriminatorNetworkConfig& config() const { return config_; }

 private:
  DiscriminatorNetworkConfig config_;
  TimeEmbedding time_embed{nullptr};  // registered as time_embed.projection
  torch::nn::Linear video_text_embed{nullptr}, audio_text_embed{nullptr};
  torch::nn::Linear video_text_projection{nullptr}, audio_text_projection{nullptr};
  VAFeatureExtractor feature_extractor{nullptr};
  // Fusion B, registered under fusion_model.
  torch::nn::Linear fm_video_in{nullptr}, fm_audio_in{nullptr}, fm_time_in{nullptr};
  FusionTransformer fm{nullptr};
  torch::nn::Linear last_linear{nullptr};
};
TORCH_MODULE(DiscriminatorNetwork);

}  // namespace mmdisco
