#include "js_errors.h"

#include <c10/util/Exception.h>

namespace mmdisco_binding {

Napi::Error js_error(Napi::Env env, std::exception_ptr error, const std::string& context) {
  std::string message, field, reason;
  const char* code = mmdisco::error_code_name(mmdisco::ErrorCode::Runtime);
  bool own_context = false;
  try {
    std::rethrow_exception(error);
  } catch (const mmdisco::ConfigError& e) {
    code = mmdisco::error_code_name(e.code());
    message = e.what();
    field = e.field();
    reason = e.message();
    own_context = !e.context().empty();
  } catch (const mmdisco::Error& e) {
    code = mmdisco::error_code_name(e.code());
    message = e.what();
  } catch (const c10::Error& e) {
    message = e.what_without_backtrace();  // what() carries a multi-KB C++ backtrace
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown native error";
  }
  if (!context.empty() && !own_context) message = context + ": " + message;
  auto js = Napi::Error::New(env, message);
  js.Value().Set("code", code);
  if (!field.empty()) {
    js.Value().Set("field", field);
    js.Value().Set("reason", reason);
  }
  return js;
}

}  // namespace mmdisco_binding
