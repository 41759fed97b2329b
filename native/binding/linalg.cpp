// Float64 linear algebra for the evaluation metrics (native/src/linalg.h). Synchronous: a Fréchet distance of
// 512-dimensional features takes milliseconds.
#include "linalg.h"

#include "../src/linalg.h"
#include "convert.h"
#include "handle.h"

namespace mmdisco_binding {

namespace {

template <typename F>
Napi::Value guarded(const Napi::CallbackInfo& info, const char* name, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string(name) + ": " + error_message(e));
  }
}

// symmetricEigen(matrix (n, n)) → {values (n) ascending, vectors (n, n) with the eigenvectors as rows}.
Napi::Value SymmetricEigen(const Napi::CallbackInfo& info) {
  return guarded(info, "symmetricEigen", [&]() -> Napi::Value {
    auto eigen = mmdisco::symmetric_eigen(tensor_from_js(info[0], "matrix"));
    auto out = Napi::Object::New(info.Env());
    out.Set("values", tensor_to_js(info.Env(), eigen.values));
    out.Set("vectors", tensor_to_js(info.Env(), eigen.vectors));
    return out;
  });
}

// symmetricSqrt(matrix (n, n)) → (n, n), the PSD square root.
Napi::Value SymmetricSqrt(const Napi::CallbackInfo& info) {
  return guarded(info, "symmetricSqrt", [&]() -> Napi::Value {
    return tensor_to_js(info.Env(), mmdisco::symmetric_sqrt(tensor_from_js(info[0], "matrix")));
  });
}

// frechetDistance(muA (d), covA (d, d), muB (d), covB (d, d)) → number.
Napi::Value FrechetDistance(const Napi::CallbackInfo& info) {
  return guarded(info, "frechetDistance", [&]() -> Napi::Value {
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
