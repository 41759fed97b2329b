#pragma once
// A forward whose backward will be differentiated again (create_graph, as the denoising loss and a gradient penalty
// need) can record its operations differently: a fused kernel whose backward would have to recompute its ATen
// composition records the composition itself, and a convolution records an input gradient whose own derivative is
// cheap (kernels/group_norm_silu.h, models/mmdisco_discriminator.cpp). A caller that knows it beforehand opens this
// scope around the forward.
namespace mmdisco {

// Within its scope (on this thread) twice_differentiable() is true; scopes nest, and one opened with false changes
// nothing.
class TwiceDifferentiableScope {
 public:
  explicit TwiceDifferentiableScope(bool enabled = true);
  ~TwiceDifferentiableScope();
  TwiceDifferentiableScope(const TwiceDifferentiableScope&) = delete;
  TwiceDifferentiableScope& operator=(const TwiceDifferentiableScope&) = delete;

 private:
  bool previous_;
};

// Whether this thread is within a TwiceDifferentiableScope (gradient mode is the caller's to check).
bool twice_differentiable();

}  // namespace mmdisco
