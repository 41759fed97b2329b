#include "linalg.h"

#include <algorithm>
#include <string>

namespace mmdisco {

namespace {

// The matrix as a symmetrised float64 CPU tensor; fails unless it is square.
torch::Tensor symmetric_double(const torch::Tensor& matrix, const char* what) {
  TORCH_CHECK(matrix.dim() == 2 && matrix.size(0) == matrix.size(1), what, ": expected a square matrix, got shape ",
              matrix.sizes());
  auto m = matrix.to(torch::kCPU, torch::kFloat64);
  return (m + m.t()) * 0.5;
}

}  // namespace

SymmetricEigen symmetric_eigen(const torch::Tensor& matrix) {
  torch::NoGradGuard no_grad;
  auto m = symmetric_double(matrix, "symmetric_eigen");
  if (m.size(0) == 0) return {m.new_empty({0}), m};
  auto [values, vectors] = torch::linalg_eigh(m, "L");  // columns are the eigenvectors, values ascending
  return {values, vectors.t().contiguous()};
}

torch::Tensor symmetric_sqrt(const torch::Tensor& matrix) {
  torch::NoGradGuard no_grad;
  auto m = symmetric_double(matrix, "symmetric_sqrt");
  if (m.size(0) == 0) return m;
  auto [values, vectors] = torch::linalg_eigh(m, "L");
  return (vectors * values.clamp_min(0).sqrt()).mm(vectors.t());
}

double frechet_distance(const torch::Tensor& mu_a, const torch::Tensor& cov_a, const torch::Tensor& mu_b,
                        const torch::Tensor& cov_b) {
  torch::NoGradGuard no_grad;
  const int64_t dim = mu_a.numel();
  TORCH_CHECK(mu_a.dim() == 1 && mu_b.dim() == 1 && mu_b.numel() == dim && cov_a.dim() == 2 && cov_b.dim() == 2 &&
                  cov_a.size(0) == dim && cov_a.size(1) == dim && cov_b.size(0) == dim && cov_b.size(1) == dim,
              "frechet_distance: shapes disagree (means ", mu_a.sizes(), " and ", mu_b.sizes(), ", covariances ",
              cov_a.sizes(), " and ", cov_b.sizes(), ")");
  auto a = cov_a.to(torch::kCPU, torch::kFloat64);
  auto b = cov_b.to(torch::kCPU, torch::kFloat64);
  const double mean_term =
      (mu_a.to(torch::kCPU, torch::kFloat64) - mu_b.to(torch::kCPU, torch::kFloat64)).square().sum().item<double>();
  double cross_trace = 0;
  if (dim > 0) {
    auto sqrt_a = symmetric_sqrt(a);
    auto middle = sqrt_a.mm(b).mm(sqrt_a);
    cross_trace = torch::linalg_eigvalsh((middle + middle.t()) * 0.5, "L").clamp_min(0).sqrt().sum().item<double>();
  }
  const double distance = mean_term + a.trace().item<double>() + b.trace().item<double>() - 2 * cross_trace;
  return std::max(distance, 0.0);
}

}  // namespace mmdisco
