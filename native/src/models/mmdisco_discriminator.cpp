#include "models/mmdisco_discriminator.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "kernels/group_norm_silu.h"
#include "twice_differentiable.h"

namespace mmdisco {

namespace nn = torch::nn;

namespace {

// (B, C, F, H, W) ↔ (B·F, C, H, W) and (B·H·W, C, F).
torch::Tensor frames_to_batch(const torch::Tensor& x) {
  return x.permute({0, 2, 1, 3, 4}).reshape({-1, x.size(1), x.size(3), x.size(4)});
}

int64_t power_of_two(int64_t k) { return int64_t{1} << k; }

nn::AnyModule pointwise_video(int64_t in, int64_t out) { return nn::AnyModule(nn::Conv3d(nn::Conv3dOptions(in, out, 1))); }

nn::AnyModule audio_conv(bool one_d, int64_t in, int64_t out, int64_t kernel, int64_t dilation) {
  if (one_d) {
    return nn::AnyModule(nn::Conv1d(nn::Conv1dOptions(in, out, kernel).padding(torch::kSame).dilation(dilation)));
  }
  return nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(in, out, kernel).padding(torch::kSame)));
}

void zero_parameters(nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.zero_();
}

// softmax(q kᵀ / √d) v over the last two axes, as explicit matmul–softmax so that double backward works.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  auto weights = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1))), -1);
  return torch::matmul(weights, v);
}

// 'Same' zero padding of the (k, 1) kernel: k / 2 frames on each side, none across positions.
std::vector<int64_t> temporal_padding(const torch::Tensor& weight) { return {weight.size(2) / 2, 0}; }

// The temporal convolution: a (k, 1) conv2d over (B, C, F, H·W), stride 1, zero padding k / 2 along the frames.
// Its input gradient is recorded as the forward convolution of the output gradient with the kernel transposed and
// flipped (the same sums), so the derivative of that gradient with respect to the kernel, which the denoising loss's
// double backward needs, is an ordinary k-tap weight gradient. ATen differentiates its own input gradient with a
// convolution whose kernel spans every F × H·W position: the training step at 16 frames of 16² takes 8–11 % longer
// through it (the same at 4 frames). Only a forward within a TwiceDifferentiableScope records this function.
class TemporalConvFunction : public torch::autograd::Function<TemporalConvFunction> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x,
                               const torch::Tensor& weight, const torch::Tensor& bias) {
    ctx->save_for_backward({x, weight});
    return torch::conv2d(x, weight, bias, /*stride=*/1, temporal_padding(weight));
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& dy = grad_outputs[0];
    // In bf16 autocast the forward ran in dy's dtype; the backward, outside autocast, casts to it itself.
    const auto weight = saved[1].to(dy.scalar_type());
    const auto padding = temporal_padding(weight);
    torch::autograd::variable_list gradients(3);
    if (ctx->needs_input_grad(0)) {
      gradients[0] = torch::conv2d(dy, weight.transpose(0, 1).flip(2), {}, /*stride=*/1, padding);
    }
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2)) {
      const auto [_, dw, db] = at::convolution_backward(
          dy, saved[0].to(dy.scalar_type()), weight, std::vector<int64_t>{weight.size(0)}, /*stride=*/{1, 1},
          padding, /*dilation=*/{1, 1}, /*transposed=*/false, /*output_padding=*/{0, 0}, /*groups=*/1,
          {false, ctx->needs_input_grad(1), ctx->needs_input_grad(2)});
      if (dw.defined()) gradients[1] = dw.to(saved[1].scalar_type());
      if (db.defined()) gradients[2] = db.to(saved[1].scalar_type());
    }
    return gradients;
  }
};

torch::Tensor temporal_conv(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (twice_differentiable() && torch::GradMode::is_enabled())
    return TemporalConvFunction::apply(x, weight, bias);
  return torch::conv2d(x, weight, bias, /*stride=*/1, temporal_padding(weight));
}

}  // namespace

// ---- primitives ---------------------------------------------------------------------------------------------

GroupNormWrapperImpl::GroupNormWrapperImpl(int64_t groups, int64_t channels, bool affine) {
  TORCH_CHECK(channels % groups == 0, "GroupNorm(", groups, ") needs channels divisible by it, got ", channels);
  norm = register_module("GroupNorm", nn::GroupNorm(nn::GroupNormOptions(groups, channels).eps(1e-5).affine(affine)));
}

torch::Tensor GroupNormWrapperImpl::forward(const torch::Tensor& x) { return norm_fp32(norm, x); }

torch::Tensor GroupNormWrapperImpl::silu(const torch::Tensor& x, const std::optional<torch::Tensor>& scale,
                                         const std::optional<torch::Tensor>& shift) {
  return group_norm_silu(x, norm, scale, shift);
}

VideoConv2d1dImpl::VideoConv2d1dImpl(int64_t in, int64_t out, int64_t kernel) {
  TORCH_CHECK(kernel % 2 == 1, "video conv: the kernel must be odd for 'same' padding, got ", kernel);
  video_conv_spatial = register_module("video_conv_spatial", nn::Conv2d(nn::Conv2dOptions(in, out, kernel).padding(torch::kSame)));
  video_conv_temporal =
      register_module("video_conv_temporal", nn::Conv1d(nn::Conv1dOptions(out, out, kernel).padding(torch::kSame)));
}

torch::Tensor VideoConv2d1dImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), f = x.size(2);
  auto h = video_conv_spatial(frames_to_batch(x));  // (B·F, C', H, W)
  const int64_t c = h.size(1), hh = h.size(2), ww = h.size(3);
  // The temporal Conv1d over every pixel's frames, taken as a (k, 1) Conv2d over (B, C', F, H·W): the same sums,
  // without moving the frames last and back (two copies forward, more in the backward passes).
  const auto& temporal = *video_conv_temporal;
  h = temporal_conv(h.reshape({b, f, c, hh * ww}).transpose(1, 2), temporal.weight.unsqueeze(3), temporal.bias);
  return h.reshape({b, c, f, hh, ww});  // (B, C', F, H, W)
}

NamedConvImpl::NamedConvImpl(const std::string& name, nn::AnyModule conv)
    : conv_(std::move(conv)), conv1d_(conv_.ptr()->as<nn::Conv1d>()) {
  register_module(name, conv_.ptr());
}

torch::Tensor NamedConvImpl::forward(const torch::Tensor& x) {
  if (conv1d_) {
    // A "same" conv whose dilation reaches past the signal (the deepest audio blocks: dilations 128 and 256 on 100
    // samples) reads only zero padding with its off-centre taps: it is its centre tap, for 1/k of the work.
    const auto& o = conv1d_->options;
    const int64_t k = (*o.kernel_size())[0], dilation = (*o.dilation())[0];
    if (k > 1 && dilation >= x.size(-1) && std::holds_alternative<torch::enumtype::kSame>(o.padding()) &&
        std::holds_alternative<torch::enumtype::kZeros>(o.padding_mode()) && (*o.stride())[0] == 1 && o.groups() == 1)
      return torch::conv1d(x, conv1d_->weight.narrow(2, k / 2, 1), conv1d_->bias);
  }
  return conv_.forward(x);
}

ScaleShiftNormImpl::ScaleShiftNormImpl(int64_t groups, int64_t channels, int64_t emb_dim) {
  norm = register_module("norm", GroupNormWrapper(groups, channels, /*affine=*/false));
  projection = register_module("projection", nn::Sequential(nn::SiLU(), nn::Linear(emb_dim, 2 * channels)));
}

torch::Tensor ScaleShiftNormImpl::silu(const torch::Tensor& h, const torch::Tensor& e) {
  auto ss = projection->forward(e).chunk(2, 1);  // (B, C) each
  return norm->silu(h, ss[0], ss[1]);
}

// ---- blocks -------------------------------------------------------------------------------------------------

VAResBlockImpl::VAResBlockImpl(const DiscriminatorNetworkConfig& c, int64_t in, int64_t out, bool down,
                               int64_t audio_dilation)
    : down_(down), audio_1d_(c.audio_conv == AudioConv::Conv1d) {
  auto build = [&](TowerResParts& parts, const std::string& prefix, bool video) {
    parts.in_layers = register_module(prefix + "_in_layers", nn::ModuleList());
    parts.in_layers->push_back(GroupNormWrapper(c.groups, in, /*affine=*/true));
    parts.in_layers->push_back(nn::SiLU());
    if (video) {
      parts.in_layers->push_back(VideoConv2d1d(in, out, 3));
    } else {
      parts.in_layers->push_back(NamedConv("audio_conv", audio_conv(audio_1d_, in, out, 3, audio_dilation)));
    }
    parts.out_layers = register_module(prefix + "_out_layers", nn::ModuleList());
    parts.out_layers->push_back(ScaleShiftNorm(c.groups, out, c.time_dim));
    parts.out_layers->push_back(nn::SiLU());
    parts.out_layers->push_back(nn::Identity());  // dropout slot; every released config has dropout 0
    auto zero_conv = video ? NamedConv("video_conv", pointwise_video(out, out))
                           : NamedConv("audio_conv", audio_conv(audio_1d_, out, out, 1, 1));
    zero_parameters(*zero_conv);
    parts.out_layers->push_back(zero_conv);
    if (in != out) {
      parts.skip = register_module(prefix + "_skip_connection",
                                   video ? NamedConv("video_conv", pointwise_video(in, out))
                                         : NamedConv("audio_conv", audio_conv(audio_1d_, in, out, 1, 1)));
    }
  };
  build(video_, "video", true);
  build(audio_, "audio", false);
}

torch::Tensor VAResBlockImpl::branch(TowerResParts& p, const torch::Tensor& x, const torch::Tensor& e, bool video) {
  auto h = p.in_layers[0]->as<GroupNormWrapper>()->silu(x);  // in_layers 0 and 1
  h = video ? p.in_layers[2]->as<VideoConv2d1d>()->forward(h) : p.in_layers[2]->as<NamedConv>()->forward(h);
  auto skip_in = x;
  if (down_) {
    auto pool = [&](const torch::Tensor& y) {
      if (video) return torch::avg_pool3d(y, {1, 2, 2});           // (F, H, W): spatial /2, frames kept
      if (audio_1d_) return torch::avg_pool1d(y, {4});              // waveform length /4
      return torch::avg_pool2d(y, {1, 2});                          // (L, M): mel /2, time kept
    };
    h = pool(h);
    skip_in = pool(x);
  }
  h = p.out_layers[0]->as<ScaleShiftNorm>()->silu(h, e);  // out_layers 0 and 1
  h = p.out_layers[3]->as<NamedConv>()->forward(h);
  return (p.skip ? p.skip(skip_in) : skip_in) + h;
}

std::pair<torch::Tensor, torch::Tensor> VAResBlockImpl::forward(const torch::Tensor& v, const torch::Tensor& a,
                                                                const torch::Tensor& e_v, const torch::Tensor& e_a) {
  return {branch(video_, v, e_v, true), branch(audio_, a, e_a, false)};
}

VACrossAttentionImpl::VACrossAttentionImpl(int64_t groups, int64_t channels, int64_t heads, int64_t window,
                                           int64_t shift)
    : heads_(heads), window_(window), shift_(shift) {
  TORCH_CHECK(heads > 0 && channels % heads == 0, "cross-attention: ", heads, " heads must divide ", channels,
              " channels");
  video_norm = register_module("video_norm", GroupNormWrapper(groups, channels, /*affine=*/true));
  audio_norm = register_module("audio_norm", GroupNormWrapper(groups, channels, /*affine=*/true));
  video_qkv = register_module("video_qkv", nn::Linear(channels, 3 * channels));
  audio_qkv = register_module("audio_qkv", nn::Linear(channels, 3 * channels));
  video_proj_out = register_module("video_proj_out", nn::Linear(channels, channels));
  audio_proj_out = register_module("audio_proj_out", nn::Linear(channels, channels));
  zero_parameters(*video_proj_out);
  zero_parameters(*audio_proj_out);
}

std::pair<torch::Tensor, torch::Tensor> VACrossAttentionImpl::forward(const torch::Tensor& v, const torch::Tensor& a) {
  const int64_t b = v.size(0), c = v.size(1), f = v.size(2), l = a.size(2);
  const int64_t w = window_ == 0 ? f : window_;
  TORCH_CHECK(f % w == 0 && (w * l) % f == 0, "cross-attention: a window of ", w, " frames must divide the ", f,
              " video frames and span a whole number of the ", l, " audio frames");
  const int64_t windows = f / w;
  const int64_t video_shift = shift_ % f, audio_shift = video_shift * l / f;
  // Tokens (B, frames, tokens per frame, C), rolled so that the windows start `shift` frames in.
  auto video_tokens = torch::roll(video_norm(v).permute({0, 2, 3, 4, 1}).reshape({b, f, -1, c}), {-video_shift}, {1});
  const auto a_norm = audio_norm(a);
  auto audio_tokens = torch::roll(a.dim() == 4 ? a_norm.permute({0, 2, 3, 1}) : a_norm.transpose(1, 2).unsqueeze(2),
                                  {-audio_shift}, {1});
  const int64_t per_video_frame = video_tokens.size(2), per_audio_frame = audio_tokens.size(2);
  // (B, windows, tokens, 3C) → q, k, v of shape (B, windows, heads, tokens, C / heads).
  auto project = [&](nn::Linear& qkv, const torch::Tensor& tokens) {
    auto y = qkv(tokens.reshape({b, windows, -1, c}));
    return y.reshape({b, windows, y.size(2), 3, heads_, c / heads_}).permute({3, 0, 1, 4, 2, 5}).unbind(0);
  };
  const auto vq = project(video_qkv, video_tokens), aq = project(audio_qkv, audio_tokens);
  // (B, windows, heads, tokens, C / heads) → (B, windows, tokens, C).
  auto attend = [&](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& values) {
    return attention(q, k, values).permute({0, 1, 3, 2, 4}).reshape({b, windows, -1, c});
  };
  auto video_out = video_proj_out(attend(vq[0], aq[1], aq[2])).reshape({b, f, per_video_frame, c});
  auto audio_out = audio_proj_out(attend(aq[0], vq[1], vq[2])).reshape({b, l, per_audio_frame, c});
  video_out = torch::roll(video_out, {video_shift}, {1}).reshape({b, f, v.size(3), v.size(4), c}).permute({0, 4, 1, 2, 3});
  audio_out = torch::roll(audio_out, {audio_shift}, {1});
  audio_out = a.dim() == 4 ? audio_out.permute({0, 3, 1, 2}) : audio_out.squeeze(2).transpose(1, 2);
  return {v + video_out, a + audio_out};
}

VAInputBlockImpl::VAInputBlockImpl(const DiscriminatorNetworkConfig& c) {
  video_conv = register_module("video_conv", VideoConv2d1d(c.video_channels, c.width, 3));
  audio_conv = register_module(
      "audio_conv", NamedConv("audio_conv", mmdisco::audio_conv(c.audio_conv == AudioConv::Conv1d, c.audio_channels, c.width, 3, 1)));
}

std::pair<torch::Tensor, torch::Tensor> VAInputBlockImpl::forward(const torch::Tensor& v, const torch::Tensor& a) {
  return {video_conv(v), audio_conv(a)};
}

VAFeatureExtractorImpl::VAFeatureExtractorImpl(const DiscriminatorNetworkConfig& c) {
  const auto levels = static_cast<int64_t>(c.channel_mult.size());
  auto input_blocks = register_module("input_blocks", nn::ModuleList());
  auto wrap = [&](std::vector<std::shared_ptr<nn::Module>> blocks) {
    auto seq = nn::ModuleList();
    for (auto& block : blocks) seq->push_back(std::move(block));
    input_blocks->push_back(seq);
  };
  input_block = VAInputBlock(c);
  wrap({input_block.ptr()});
  int64_t channels = c.width;
  int64_t k = 0;  // ResBlock index in construction order (down blocks included) for the dilation schedule
  int64_t crossings = 0;
  for (int64_t level = 0; level < levels; ++level) {
    const int64_t out = c.width * c.channel_mult[level];
    const bool crossed = std::find(c.cross_attention_levels.begin(), c.cross_attention_levels.end(), level) !=
                         c.cross_attention_levels.end();
    for (int64_t i = 0; i < c.blocks_per_level; ++i) {
      ++k;
      res_blocks_.push_back(VAResBlock(c, channels, out, false, power_of_two(k % c.max_dilation)));
      channels = out;
      cross_blocks_.emplace_back(nullptr);
      if (crossed) {
        const int64_t shift = (crossings++ % 2) * (c.cross_attention_window / 2);
        cross_blocks_.back() = VACrossAttention(c.groups, channels, c.cross_attention_heads, c.cross_attention_window, shift);
        wrap({res_blocks_.back().ptr(), cross_blocks_.back().ptr()});
      } else {
        wrap({res_blocks_.back().ptr()});
      }
    }
    if (level + 1 < levels) {
      ++k;
      res_blocks_.push_back(VAResBlock(c, channels, channels, true, power_of_two(k % c.max_dilation)));
      cross_blocks_.emplace_back(nullptr);
      wrap({res_blocks_.back().ptr()});
    }
  }
  out_channels_ = channels;
}

std::pair<torch::Tensor, torch::Tensor> VAFeatureExtractorImpl::forward(torch::Tensor v, torch::Tensor a,
                                                                        const torch::Tensor& e_v,
                                                                        const torch::Tensor& e_a) {
  std::tie(v, a) = input_block(v, a);
  for (size_t i = 0; i < res_blocks_.size(); ++i) {
    std::tie(v, a) = res_blocks_[i](v, a, e_v, e_a);
    if (cross_blocks_[i]) std::tie(v, a) = cross_blocks_[i](v, a);
  }
  return {v, a};
}

// ---- fusion B -----------------------------------------------------------------------------------------------

LinearGeluImpl::LinearGeluImpl(int64_t in, int64_t out) { linear = register_module("0", nn::Linear(in, out)); }

torch::Tensor LinearGeluImpl::forward(const torch::Tensor& x) { return torch::gelu(linear(x)); }

FusionAttentionImpl::FusionAttentionImpl(int64_t width, int64_t heads, int64_t head_dim)
    : heads_(heads), head_dim_(head_dim) {
  const int64_t inner = heads * head_dim;
  to_q = register_module("to_q", nn::Linear(nn::LinearOptions(width, inner).bias(false)));
  to_k = register_module("to_k", nn::Linear(nn::LinearOptions(width, inner).bias(false)));
  to_v = register_module("to_v", nn::Linear(nn::LinearOptions(width, inner).bias(false)));
  to_out = register_module("to_out", nn::Linear(inner, width));
}

torch::Tensor FusionAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), n = x.size(1);
  auto split = [&](const torch::Tensor& y) { return y.reshape({b, n, heads_, head_dim_}).transpose(1, 2); };
  auto q = split(to_q(x)), k = split(to_k(x)), v = split(to_v(x));
  return to_out(attention(q, k, v).transpose(1, 2).reshape({b, n, heads_ * head_dim_}));
}

FusionTransformerImpl::FusionTransformerImpl(int64_t width, int64_t layers, int64_t heads, int64_t head_dim,
                                             int64_t max_tokens)
    : max_tokens_(max_tokens) {
  cls_emb = register_parameter("cls_emb", torch::randn({1, 1, width}) * 0.02);
  auto pos_holder = register_module("pos_emb", std::make_shared<nn::Module>());
  pos_emb = pos_holder->register_module("emb", nn::Embedding(max_tokens, width));
  {
    torch::NoGradGuard no_grad;
    pos_emb->weight.normal_(0.0, 0.02);
  }
  auto attn_holder = register_module("attn_layers", std::make_shared<nn::Module>());
  layers_ = attn_holder->register_module("layers", nn::ModuleList());
  for (int64_t j = 0; j < layers; ++j) {
    auto attention = nn::ModuleList();
    attention->push_back(nn::LayerNorm(nn::LayerNormOptions({width})));
    attention->push_back(FusionAttention(width, heads, head_dim));
    layers_->push_back(attention);
    auto feed_forward = nn::ModuleList();
    feed_forward->push_back(nn::LayerNorm(nn::LayerNormOptions({width})));
    // net.0.0 and net.2: Linear(width → 4·width), exact GELU, Linear(4·width → width) (net.1 is dropout 0).
    auto mlp = std::make_shared<nn::Module>();
    feed_forwards_.push_back(mlp->register_module(
        "net", nn::Sequential(LinearGelu(width, 4 * width), nn::Identity(), nn::Linear(4 * width, width))));
    feed_forward->push_back(mlp);
    layers_->push_back(feed_forward);
  }
  norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({width})));
  out_layer = register_module("out_layer", nn::Linear(width, width));
}

torch::Tensor FusionTransformerImpl::forward(const torch::Tensor& tokens) {
  const int64_t b = tokens.size(0), n = tokens.size(1) + 1;
  TORCH_CHECK(n <= max_tokens_, "fusion transformer: ", n, " tokens (CLS included) exceed the positional table of ",
              max_tokens_);
  auto x = torch::cat({cls_emb.expand({b, 1, cls_emb.size(2)}).to(tokens.scalar_type()), tokens}, 1);
  x = x + pos_emb->weight.slice(0, 0, n).unsqueeze(0);
  for (size_t i = 0; i < layers_->size(); i += 2) {
    auto attention = layers_[i]->as<nn::ModuleList>();
    x = x + (*attention)[1]->as<FusionAttention>()->forward((*attention)[0]->as<nn::LayerNorm>()->forward(x));
    auto feed_forward = layers_[i + 1]->as<nn::ModuleList>();
    x = x + feed_forwards_[i / 2]->forward((*feed_forward)[0]->as<nn::LayerNorm>()->forward(x));
  }
  return out_layer(norm(x)).select(1, 0);
}

// ---- the discriminator network (its config is validated by parse_discriminator_network) ------------------------

DiscriminatorNetworkImpl::DiscriminatorNetworkImpl(const DiscriminatorNetworkConfig& c) : config_(c) {
  auto time_holder = register_module("time_embed", std::make_shared<nn::Module>());
  time_embed = time_holder->register_module("projection", TimeEmbedding(c.time_dim, c.time_dim));
  if (c.video_text_dim > 0) video_text_embed = register_module("video_text_embed", nn::Linear(c.video_text_dim, c.time_dim));
  if (c.audio_text_dim > 0) audio_text_embed = register_module("audio_text_embed", nn::Linear(c.audio_text_dim, c.time_dim));
  feature_extractor = register_module("feature_extractor", VAFeatureExtractor(c));
  const int64_t features = feature_extractor->out_channels();
  if (c.text_projection) {
    auto projection = [&](const char* name, int64_t dim) {
      return register_module(name, nn::Linear(nn::LinearOptions(dim, features).bias(false)));
    };
    if (c.video_text_dim > 0) video_text_projection = projection("video_text_projection", c.video_text_dim);
    if (c.audio_text_dim > 0) audio_text_projection = projection("audio_text_projection", c.audio_text_dim);
  }
  if (c.fusion == Fusion::A) {
    last_linear = register_module("last_linear", nn::Linear(2 * features, 1));
  } else {
    auto fusion = register_module("fusion_model", std::make_shared<nn::Module>());
    fm_video_in = fusion->register_module("fm_video_in", nn::Linear(features, c.fusion_width));
    fm_audio_in = fusion->register_module("fm_audio_in", nn::Linear(features, c.fusion_width));
    fm_time_in = fusion->register_module("fm_time_in", nn::Linear(c.time_dim, c.fusion_width));
    fm = fusion->register_module("fm", FusionTransformer(c.fusion_width, c.fusion_layers, c.fusion_heads,
                                                         c.fusion_head_dim, c.fusion_max_tokens));
    last_linear = register_module("last_linear", nn::Linear(c.fusion_width, 1));
  }
}

namespace {

// (B, d) conditioning vector; token embeddings (B, tokens, d) are averaged over tokens.
torch::Tensor text_vector(const torch::Tensor& text, const char* which, int64_t batch) {
  TORCH_CHECK(text.defined(), "discriminator: this configuration needs ", which, " text conditioning");
  TORCH_CHECK(text.size(0) == batch, "discriminator: ", which, " text conditioning has ", text.size(0),
              " rows for a batch of ", batch);
  return text.dim() == 3 ? text.mean(1) : text;
}

// ⟨P e_k, pooled features⟩ for every class k, (B, d), so that ⟨P c, pooled features⟩ = ⟨c, scores⟩; undefined
// without a projection.
torch::Tensor class_scores(nn::Linear& projection, const torch::Tensor& tokens) {
  if (!projection) return {};
  return torch::matmul(tokens.mean(1), projection->weight);
}

torch::Tensor add_projection(const torch::Tensor& h, const torch::Tensor& scores, const torch::Tensor& text) {
  if (!scores.defined()) return h;
  return h + (text.to(scores.scalar_type()) * scores).sum(1);
}

}  // namespace

DiscriminatorNetworkOutput DiscriminatorNetworkImpl::forward_with_class_scores(const torch::Tensor& video_in,
                                                                               const torch::Tensor& audio_in,
                                                                               const torch::Tensor& t,
                                                                               const torch::Tensor& text_v,
                                                                               const torch::Tensor& text_a) {
  // To (B, F, C, H, W) and (B, C, L, M) whatever the caller's layout.
  const auto video = config_.video_layout == VideoLayout::Bcfhw && video_in.dim() == 5 ? video_in.transpose(1, 2) : video_in;
  const auto audio = config_.audio_layout == AudioLayout::Bcml && audio_in.dim() == 4 ? audio_in.transpose(2, 3) : audio_in;
  const bool one_d = config_.audio_conv == AudioConv::Conv1d;
  const int64_t p = config_.video_patch;
  TORCH_CHECK(video.dim() == 5 && video.size(2) * p * p == config_.video_channels && video.size(3) % p == 0 &&
                  video.size(4) % p == 0,
              "discriminator: video must be (B, F, C, H, W) with C·", p, "² = ", config_.video_channels,
              " and H, W multiples of ", p, ", got ", video.sizes(),
              config_.video_layout == VideoLayout::Bcfhw ? " (read as B, C, F, H, W and transposed)" : "");
  const int64_t b = video.size(0);
  const auto v_in = p == 1 ? video
                           : torch::pixel_unshuffle(video.flatten(0, 1), p).unflatten(0, {b, video.size(1)});
  // The 1-D tower reads a log-mel (B, C, L, M) with its C·M bins as channels: each conv then sees the whole
  // spectrum of its frames, which frequency-shared 2-D convs pooled over the mel axis cannot tell apart.
  const auto a_in = one_d && audio.dim() == 4 ? audio.transpose(2, 3).reshape({b, -1, audio.size(2)}) : audio;
  TORCH_CHECK(a_in.dim() == (one_d ? 3 : 4) && a_in.size(1) == config_.audio_channels,
              "discriminator: audio must be ", one_d ? "(B, K, N) or a log-mel (B, C, L, M) with C·M = K" : "(B, K, L, M)",
              " for K = ", config_.audio_channels, " audio channels, got ", audio.sizes());
  auto e_t = time_embed(t).to(video.scalar_type());
  const auto c_v = video_text_embed ? text_vector(text_v, "video", b) : torch::Tensor();
  const auto c_a = audio_text_embed ? text_vector(text_a, "audio", b) : torch::Tensor();
  auto e_v = video_text_embed ? e_t + video_text_embed(c_v) : e_t;
  auto e_a = audio_text_embed ? e_t + audio_text_embed(c_a) : e_t;

  auto [fv, fa] = feature_extractor(v_in.transpose(1, 2), a_in, e_v, e_a);
  auto video_frames = (config_.video_pool == VideoPool::Max ? fv.amax({3, 4}) : fv.mean({3, 4})).transpose(1, 2);  // (B, F, C)
  auto audio_frames = (one_d ? fa : fa.mean(3)).transpose(1, 2);                // (B, L, C)
  torch::Tensor h;
  if (config_.fusion == Fusion::A) {
    h = last_linear(torch::cat({video_frames.mean(1), audio_frames.mean(1)}, 1)).squeeze(1);
  } else {
    torch::Tensor frame_tokens;
    if (config_.fusion_tokens == FusionTokens::Frame) {
      const int64_t f = video_frames.size(1), l = audio_frames.size(1);
      TORCH_CHECK(l % f == 0, "discriminator: frame tokens need the ", l, " audio frames of the last level to be a ",
                  "whole number per video frame (", f, " frames)");
      frame_tokens = fm_video_in(video_frames) + fm_audio_in(audio_frames.reshape({b, f, l / f, -1}).mean(2));
    } else {
      frame_tokens = torch::cat({fm_video_in(video_frames), fm_audio_in(audio_frames)}, 1);
    }
    auto tokens = torch::cat({fm_time_in(e_t).unsqueeze(1), frame_tokens}, 1);
    h = last_linear(fm(tokens)).squeeze(1);
  }
  DiscriminatorNetworkOutput out{h, class_scores(video_text_projection, video_frames),
                                 class_scores(audio_text_projection, audio_frames)};
  out.h = add_projection(add_projection(h, out.video_class_scores, c_v), out.audio_class_scores, c_a);
  return out;
}

}  // namespace mmdisco
