// Float64 linear algebra for the evaluation metrics (native/src/linalg.h). Synchronous: a Fréchet distance of
// 512-dimensional features takes milliseconds.
#include "linalg.h"

#include "../src/linalg.h"
#include "convert.h"
#include "js_errors.h"

namespace mmdisco_binding {

namespace {

// symmetricEigen(matrix (n, n)) → {values (n) ascending, vectors (n, n) with the eigenvectors as rows}.
Napi::Value SymmetricEigen(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "symmetricEigen", [&]() -> Napi::Value {
    auto eigen = mmdisco::symmetric_eigen(tensor_from_js(info[0], "matrix"));
    auto out = Napi::Object::New(info.Env());
    out.Set("values", tensor_to_js(info.Env(), eigen.values));
    out.Set("vectors", tensor_to_js(info.Env(), eigen.vectors));
    return out;
  });
}

// symmetricSqrt(matrix (n, n)) → (n, n), the PSD square root.
Napi::Value SymmetricSqrt(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "symmetricSqrt", [&]() -> Napi::Value {
    return tensor_to_js(info.Env(), mmdisco::symmetric_sqrt(tensor_from_js(info[0], "matrix")));
  });
}

// frechetDistance(muA (d), covA (d, d), muB (d), covB (d, d)) → number.
Napi::Value FrechetDistance(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), "frechetDistance", [&]() -> Napi::Value {
    const double d = mmdisco::frechet_distance(tensor_from_js(info[0], "muA"), tensor_from_js(info[1], "covA"),
                                               tensor_from_js(info[2], "muB"), tensor_from_js(info[3], "covB"));
    return Napi::Number::New(info.Env(), d);
  });
}

}  // namespace

void register_linalg(Napi::Env env, Napi::Object exports) {
  exports.Set("symmetricEigen", Napi::Function::New(env, SymmetricEigen, "symmetricEigen"));
  exports.Set("symmetricSqrt", Napi::Function::New(env, SymmetricSqrt, "symmetricSqrt"));
  exports.Set("frechetDistance", Napi::Function::New(env, FrechetDistance, "frechetDistance"));
}

}  // namespace mmdisco_binding
