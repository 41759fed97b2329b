#pragma once
// A small JSON value: what network configs are read from and written back to (weights' metadata). Objects keep
// their keys in insertion order. Numbers are doubles, as in JS.
#include <cstdint>
#include <string>
#include <vector>

namespace mmdisco {

class Json {
 public:
  enum class Type { Null, Bool, Number, String, Array, Object };

  Json() = default;  // null
  Json(bool b) : type_(Type::Bool), bool_(b) {}
  Json(double d) : type_(Type::Number), number_(d) {}
  Json(int64_t i) : type_(Type::Number), number_(static_cast<double>(i)) {}
  Json(int i) : type_(Type::Number), number_(i) {}
  Json(std::string s) : type_(Type::String), string_(std::move(s)) {}
  Json(const char* s) : type_(Type::String), string_(s) {}
  static Json array(std::vector<Json> items = {});
  static Json object();
  template <typename T>
  static Json array_of(const std::vector<T>& values) {
    std::vector<Json> items(values.begin(), values.end());
    return array(std::move(items));
  }

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  bool boolean() const { return bool_; }
  double number() const { return number_; }
  const std::string& string() const { return string_; }
  // Array items, or object values (in key order).
  const std::vector<Json>& items() const { return values_; }
  const std::vector<std::string>& keys() const { return keys_; }
  // An object's member, or null when absent.
  const Json* find(const std::string& key) const;
  // Sets (or replaces) an object's member.
  Json& set(const std::string& key, Json value);
  void push(Json value) { values_.push_back(std::move(value)); }

  // Strict JSON text; throws std::invalid_argument naming the offset of the first problem.
  static Json parse(const std::string& text);
  // Compact JSON text (integers without a fraction).
  std::string dump() const;

  bool operator==(const Json& other) const;
  bool operator!=(const Json& other) const { return !(*this == other); }

 private:
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<std::string> keys_;  // objects only, parallel to values_
  std::vector<Json> values_;
};

}  // namespace mmdisco
