#include "config/fields.h"

#include <cmath>

namespace mmdisco {

Fields::Fields(const Json& json) : json_(json) {
  if (!json.is_object()) throw ConfigError("(root)", "must be an object");
}

const Json* Fields::value(const char* key) const {
  known_.insert(key);
  const Json* v = json_.find(key);
  return v && !v->is_null() ? v : nullptr;
}

bool Fields::has(const char* key) const {
  const Json* v = json_.find(key);
  return v && !v->is_null();
}

void Fields::read(const char* key, double& out) const {
  const Json* v = value(key);
  if (!v) return;
  if (!v->is_number() || !std::isfinite(v->number())) fail(key, "must be a finite number");
  out = v->number();
}

void Fields::read(const char* key, int64_t& out) const {
  const Json* v = value(key);
  if (!v) return;
  if (!v->is_number() || !std::isfinite(v->number())) fail(key, "must be a finite number");
  if (v->number() != std::floor(v->number())) fail(key, "must be an integer");
  out = static_cast<int64_t>(v->number());
}

void Fields::read(const char* key, bool& out) const {
  const Json* v = value(key);
  if (!v) return;
  if (!v->is_bool()) fail(key, "must be a boolean");
  out = v->boolean();
}

void Fields::read(const char* key, std::string& out) const {
  const Json* v = value(key);
  if (!v) return;
  if (!v->is_string()) fail(key, "must be a string");
  out = v->string();
}

void Fields::read(const char* key, std::vector<int64_t>& out) const {
  const Json* v = value(key);
  if (!v) return;
  if (!v->is_array()) fail(key, "must be an array of integers");
  std::vector<int64_t> values;
  for (const auto& item : v->items()) {
    if (!item.is_number() || item.number() != std::floor(item.number())) fail(key, "must be an array of integers");
    values.push_back(static_cast<int64_t>(item.number()));
  }
  out = std::move(values);
}

void Fields::reject_unknown() const {
  for (const auto& key : json_.keys()) {
    if (!known_.count(key)) throw ConfigError(key, "is not a field of this network");
  }
}

}  // namespace mmdisco
