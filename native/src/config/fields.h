#pragma once
// Typed reads of a JSON object's fields, for the network parsers: every error is a ConfigError naming the field,
// and fields nobody asked for are rejected (a misspelt option must not be silently ignored).
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "errors.h"
#include "json.h"

namespace mmdisco {

template <typename E>
struct EnumName {
  const char* name;
  E value;
};

class Fields {
 public:
  explicit Fields(const Json& json);
  bool has(const char* key) const;
  // Each read leaves `out` as it is when the field is absent, and registers the key as known.
  void read(const char* key, int64_t& out) const;
  void read(const char* key, double& out) const;
  void read(const char* key, bool& out) const;
  void read(const char* key, std::string& out) const;
  void read(const char* key, std::vector<int64_t>& out) const;
  // One of `names`; `label` words the field in the message ("fusion tokens must be 'separate' or 'frame', …").
  template <typename E>
  void read(const char* key, E& out, const char* label, std::initializer_list<EnumName<E>> names) const {
    std::string name;
    read(key, name);
    if (!has(key)) return;
    std::string choices;
    size_t i = 0;
    for (const auto& n : names) {
      if (name == n.name) {
        out = n.value;
        return;
      }
      choices += (i == 0 ? "'" : i + 1 == names.size() ? " or '" : ", '") + std::string(n.name) + "'";
      ++i;
    }
    fail(key, "is invalid: " + std::string(label) + " must be " + choices + ", got '" + name + "'");
  }
  // Registers keys that are read elsewhere (e.g. "kind").
  void known(const char* key) const { known_.insert(key); }
  // A ConfigError for the first field no read registered.
  void reject_unknown() const;
  [[noreturn]] void fail(const char* key, const std::string& message) const { throw ConfigError(key, message); }

 private:
  const Json* value(const char* key) const;
  const Json& json_;
  mutable std::set<std::string> known_;
};

// The name of an enum value in `names`.
template <typename E>
const char* enum_name(E value, std::initializer_list<EnumName<E>> names) {
  for (const auto& n : names) {
    if (n.value == value) return n.name;
  }
  return "?";
}

}  // namespace mmdisco
