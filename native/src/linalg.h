#pragma once
// Dense symmetric linear algebra for the evaluation metrics, in float64 on the CPU through LibTorch's LAPACK
// (torch::linalg_eigh). Matrices are (n, n) tensors of any floating dtype; results are float64.
#include <torch/torch.h>

namespace mmdisco {

struct SymmetricEigen {
  torch::Tensor values;   // (n), ascending
  torch::Tensor vectors;  // (n, n), row j the unit eigenvector of values[j]
};

// Eigendecomposition of a symmetric matrix, symmetrised as (A + Aᵀ)/2 first so that rounding asymmetry in a
// computed product cannot bias it.
SymmetricEigen symmetric_eigen(const torch::Tensor& matrix);

// The symmetric positive semi-definite square root S^½ = V diag(√max(λ, 0)) Vᵀ: eigenvalues that are negative
// only through rounding (a covariance matrix is PSD) count as zero.
torch::Tensor symmetric_sqrt(const torch::Tensor& matrix);

// Fréchet (2-Wasserstein) distance squared between N(mu_a, cov_a) and N(mu_b, cov_b):
//   |mu_a − mu_b|² + tr cov_a + tr cov_b − 2 tr (cov_a^½ cov_b cov_a^½)^½,
// the quantity reported as FID/FAD/FVD. The cross term uses the symmetric form, so only symmetric
// eigendecompositions are needed (no iterative sqrtm). Clamped at 0: equal distributions give rounding noise.
double frechet_distance(const torch::Tensor& mu_a, const torch::Tensor& cov_a, const torch::Tensor& mu_b,
                        const torch::Tensor& cov_b);

}  // namespace mmdisco
