#pragma once
// SiLU(GroupNorm(x) · (1 + scale) + shift): the normalisation that opens every U-Net residual branch, with the
// time embedding's scale-shift folded in. On an x86 CPU with AVX2 it is one fused kernel: two statistics passes
// (the mean, then the moments about it, which stay accurate when the mean is large) and one pass that normalises,
// modulates and applies SiLU, instead of ATen's passes over the activations (GroupNorm's, the scale, the shift,
// SiLU) and their allocations. With gradients it keeps only x and the statistics, and its backward is two fused
// passes per group (SiLU's and the scale-shift's derivatives with the channel sums, then GroupNorm's); a backward
// that must be differentiable itself differentiates the ATen composition. Within a TwiceDifferentiableScope, with
// gradients on, it records that composition from the start: the fused backward would recompute it to differentiate
// it, and the second backward would go through the norms twice. It reads and writes (B, C, …) contiguous and
// channels-last activations alike. Otherwise (another device or CPU, or another layout) it is those ATen operations.
#include <torch/torch.h>

#include <optional>

#include "twice_differentiable.h"

namespace mmdisco {

// GroupNorm with its statistics in at least float32 whatever x's dtype (bf16 variance over many positions is too
// coarse); the result has x's dtype.
torch::Tensor norm_fp32(torch::nn::GroupNorm& norm, const torch::Tensor& x);

// x: (B, C, …). norm: affine or not. scale, shift: (B, C) or absent. The statistics are taken in at least float32
// whatever x's dtype (bf16 variance over many positions is too coarse); the result has x's dtype.
torch::Tensor group_norm_silu(const torch::Tensor& x, torch::nn::GroupNorm& norm,
                              const std::optional<torch::Tensor>& scale = std::nullopt,
                              const std::optional<torch::Tensor>& shift = std::nullopt);

// The ATen composition group_norm_silu computes (its definition, and its path where the fused kernel does not apply).
torch::Tensor group_norm_silu_reference(const torch::Tensor& x, torch::nn::GroupNorm& norm,
                                        const std::optional<torch::Tensor>& scale = std::nullopt,
                                        const std::optional<torch::Tensor>& shift = std::nullopt);

// Whether group_norm_silu takes the fused kernel for these arguments.
bool group_norm_silu_is_fused(const torch::Tensor& x, torch::nn::GroupNorm& norm,
                              const std::optional<torch::Tensor>& scale = std::nullopt,
                              const std::optional<torch::Tensor>& shift = std::nullopt);

}  // namespace mmdisco
