#pragma once
// The core's typed errors. Each carries a stable code that the binding hands to JS as `error.code`; a config error
// also names the field it is about ("network.groups"), so that a caller can point at the line of a config file.
#include <stdexcept>
#include <string>

namespace mmdisco {

enum class ErrorCode {
  Config,    // an option or network field is missing, of the wrong type or out of range
  Shape,     // tensors whose shapes or row counts do not fit together
  Busy,      // an object is in use by an unfinished asynchronous operation
  Argument,  // an argument of the wrong kind (not a tensor, not an object of this addon)
  NonFinite, // a NaN or infinity where training or sampling needs finite values (what() names where)
  Runtime,   // anything else raised while computing (torch errors included)
};

// "MMDISCO_CONFIG", "MMDISCO_SHAPE", …
const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// A bad field: what() reads "[<context>: ]option '<field>' <message>", e.g. "EpsModel: option 'network.groups' must
// divide baseChannels × every channelMult entry". The context names where the options came from, when known.
class ConfigError : public Error {
 public:
  ConfigError(std::string field, std::string message, std::string context = "")
      : Error(ErrorCode::Config, (context.empty() ? "" : context + ": ") + "option '" + field + "' " + message),
        field_(std::move(field)),
        message_(std::move(message)),
        context_(std::move(context)) {}
  const std::string& field() const { return field_; }
  const std::string& message() const { return message_; }
  const std::string& context() const { return context_; }
  // The same error with its field under `prefix` ("network" + "groups" → "network.groups").
  ConfigError under(const std::string& prefix) const {
    return ConfigError(prefix.empty() ? field_ : prefix + "." + field_, message_, context_);
  }
  ConfigError in(const std::string& context) const { return ConfigError(field_, message_, context); }

 private:
  std::string field_, message_, context_;
};

class ShapeError : public Error {
 public:
  explicit ShapeError(const std::string& message) : Error(ErrorCode::Shape, message) {}
};

class NonFiniteError : public Error {
 public:
  explicit NonFiniteError(const std::string& message) : Error(ErrorCode::NonFinite, message) {}
};

}  // namespace mmdisco
