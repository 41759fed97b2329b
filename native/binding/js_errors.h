#pragma once
// The binding's one error path: every C++ exception that leaves a call, synchronous or settled asynchronously,
// becomes a JS Error here, with `code` from the core's error (MMDISCO_CONFIG, MMDISCO_SHAPE, MMDISCO_BUSY,
// MMDISCO_ARGUMENT, MMDISCO_RUNTIME) and, for a config error, `field` (the option's path) and `reason` (the message
// without it).
#include <napi.h>

#include <exception>
#include <string>

#include "errors.h"  // the core's (native/src)

namespace mmdisco_binding {

// The JS error of `error`; `context` ("sample") prefixes the message unless the error names its own.
Napi::Error js_error(Napi::Env env, std::exception_ptr error, const std::string& context = "");

// Runs fn; any C++ exception leaves as js_error.
template <typename Fn>
auto guarded(Napi::Env env, const std::string& context, Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Napi::Error&) {
    throw;  // already a JS exception (raised by node-addon-api itself)
  } catch (...) {
    throw js_error(env, std::current_exception(), context);
  }
}

// A JS class whose methods all pass through the error path: define them with method<&T::Name>("name").
template <typename T>
class JsClass : public Napi::ObjectWrap<T> {
 public:
  using Napi::ObjectWrap<T>::ObjectWrap;

 protected:
  using Method = Napi::Value (T::*)(const Napi::CallbackInfo&);
  template <Method M>
  static typename Napi::ObjectWrap<T>::PropertyDescriptor method(const char* name) {
    return Napi::ObjectWrap<T>::InstanceMethod(name, &JsClass::call<M>);
  }
  template <Method M>
  static typename Napi::ObjectWrap<T>::PropertyDescriptor getter(const char* name) {
    return Napi::ObjectWrap<T>::InstanceAccessor(name, &JsClass::call<M>, nullptr);
  }

 private:
  template <Method M>
  Napi::Value call(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), "", [&] { return (static_cast<T*>(this)->*M)(info); });
  }
};

}  // namespace mmdisco_binding
