#include "errors.h"

namespace mmdisco {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Config: return "MMDISCO_CONFIG";
    case ErrorCode::Shape: return "MMDISCO_SHAPE";
    case ErrorCode::NonFinite: return "MMDISCO_NON_FINITE";
    case ErrorCode::Busy: return "MMDISCO_BUSY";
    case ErrorCode::Argument: return "MMDISCO_ARGUMENT";
    case ErrorCode::Runtime: break;
  }
  return "MMDISCO_RUNTIME";
}

}  // namespace mmdisco
