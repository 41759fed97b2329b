#include "official_checkpoint.h"

#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>

#include "errors.h"

namespace mmdisco {

namespace {

// ---- the values a state dict's pickle builds ------------------------------------------------------------------

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Value {
  enum class Kind { None, Bool, Int, Float, String, Tuple, List, Dict, Global, Storage, Tensor, Mark };
  Kind kind = Kind::None;
  int64_t integer = 0;
  double real = 0;
  std::string text;                                // String; Global as "module.name"
  std::vector<ValuePtr> items;                     // Tuple, List
  std::vector<std::pair<ValuePtr, ValuePtr>> dict; // Dict, in insertion order
  torch::Tensor tensor;                            // Storage (flat), Tensor

  static ValuePtr make(Kind kind) {
    auto v = std::make_shared<Value>();
    v->kind = kind;
    return v;
  }
};

[[noreturn]] void refuse(const std::string& file, const std::string& message) {
  throw Error(ErrorCode::Config, file + ": " + message);
}

torch::ScalarType storage_dtype(const std::string& file, const std::string& global) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool},
  };
  auto it = types.find(global);
  if (it == types.end()) refuse(file, "unsupported storage type '" + global + "'");
  return it->second;
}

// Decodes the pickle of a torch.save'd state dict (protocols 2–5), building only the values above.
class StateDictUnpickler {
 public:
  StateDictUnpickler(const std::string& file, caffe2::serialize::PyTorchStreamReader& archive,
                     const std::vector<uint8_t>& bytes)
      : file_(file), archive_(archive), bytes_(bytes) {}

  ValuePtr run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;                 // PROTO
        case 0x95: take(8); break;                // FRAME
        case '.': return pop();                   // STOP
        case '(': push(Value::make(Value::Kind::Mark)); break;
        case 'N': push(Value::make(Value::Kind::None)); break;
        case 0x88: case 0x89: {                   // NEWTRUE, NEWFALSE
          auto v = Value::make(Value::Kind::Bool);
          v->integer = op == 0x88;
          push(v);
          break;
        }
        case 'K': push_int(byte()); break;        // BININT1
        case 'M': push_int(little(2, false)); break;
        case 'J': push_int(little(4, true)); break;
        case 0x8a: push_int(little(byte(), true)); break;  // LONG1
        case 'G': {                                // BINFLOAT, big-endian
          uint64_t raw = 0;
          for (int i = 0; i < 8; ++i) raw = (raw << 8) | byte();
          auto v = Value::make(Value::Kind::Float);
          std::memcpy(&v->real, &raw, 8);
          push(v);
          break;
        }
        case 'X': push_string(little(4, false)); break;     // BINUNICODE
        case 0x8c: push_string(byte()); break;              // SHORT_BINUNICODE
        case 0x8d: push_string(little(8, false)); break;    // BINUNICODE8
        case 'U': push_string(byte()); break;               // SHORT_BINSTRING
        case 'T': push_string(little(4, false)); break;     // BINSTRING
        case 'c': {                                          // GLOBAL "module\nname\n"
          auto module = line();
          auto name = line();
          push_global(module + "." + name);
          break;
        }
        case 0x93: {                                         // STACK_GLOBAL
          auto name = pop();
          auto module = pop();
          push_global(module->text + "." + name->text);
          break;
        }
        case ')': push(Value::make(Value::Kind::Tuple)); break;
        case 't': push(tuple(pop_mark())); break;
        case 0x85: case 0x86: case 0x87: {                  // TUPLE1..3
          std::vector<ValuePtr> items(op - 0x84);
          for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
          push(tuple(std::move(items)));
          break;
        }
        case ']': push(Value::make(Value::Kind::List)); break;
        case 'l': {
          auto v = Value::make(Value::Kind::List);
          v->items = pop_mark();
          push(v);
          break;
        }
        case 'a': {
          auto item = pop();
          expect(top(), Value::Kind::List, "APPEND")->items.push_back(item);
          break;
        }
        case 'e': {
          auto items = pop_mark();
          auto& list = expect(top(), Value::Kind::List, "APPENDS")->items;
          list.insert(list.end(), items.begin(), items.end());
          break;
        }
        case '}': push(Value::make(Value::Kind::Dict)); break;
        case 'd': {
          auto v = Value::make(Value::Kind::Dict);
          set_items(v, pop_mark());
          push(v);
          break;
        }
        case 's': {
          auto value = pop();
          auto key = pop();
          expect(top(), Value::Kind::Dict, "SETITEM")->dict.emplace_back(key, value);
          break;
        }
        case 'u': {
          auto items = pop_mark();
          set_items(expect(top(), Value::Kind::Dict, "SETITEMS"), items);
          break;
        }
        case 'b': pop(); break;  // BUILD: the state of an OrderedDict (its _metadata) is not needed
        case 'q': memo_[byte()] = top(); break;                  // BINPUT
        case 'r': memo_[little(4, false)] = top(); break;        // LONG_BINPUT
        case 0x94: memo_[static_cast<int64_t>(memo_.size())] = top(); break;  // MEMOIZE
        case 'h': push(memo(byte())); break;                     // BINGET
        case 'j': push(memo(little(4, false))); break;           // LONG_BINGET
        case 'Q': push(storage(pop())); break;                   // BINPERSID
        case 'R': {
          auto args = pop();
          auto callable = pop();
          push(reduce(callable, args));
          break;
        }
        default: {
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", op);
          refuse(file_, std::string("is not a saved state dict: unsupported pickle opcode ") + hex + " at byte " +
                            std::to_string(pos_ - 1));
        }
      }
    }
  }

 private:
  uint8_t byte() {
    if (pos_ >= bytes_.size()) refuse(file_, "is not a saved state dict: its pickle ends early");
    return bytes_[pos_++];
  }
  void take(size_t n) {
    if (bytes_.size() - pos_ < n) refuse(file_, "is not a saved state dict: its pickle ends early");
    pos_ += n;
  }
  int64_t little(size_t n, bool is_signed) {
    uint64_t raw = 0;
    for (size_t i = 0; i < n; ++i) raw |= static_cast<uint64_t>(byte()) << (8 * i);
    if (is_signed && n > 0 && n < 8 && (raw >> (8 * n - 1)) & 1) raw |= ~uint64_t{0} << (8 * n);
    return static_cast<int64_t>(raw);
  }
  std::string line() {
    std::string out;
    for (uint8_t c = byte(); c != '\n'; c = byte()) out += static_cast<char>(c);
    return out;
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  void push_int(int64_t i) {
    auto v = Value::make(Value::Kind::Int);
    v->integer = i;
    push(v);
  }
  void push_string(int64_t n) {
    auto v = Value::make(Value::Kind::String);
    const size_t start = pos_;
    take(static_cast<size_t>(n));
    v->text.assign(reinterpret_cast<const char*>(bytes_.data() + start), static_cast<size_t>(n));
    push(v);
  }
  void push_global(const std::string& name) {
    static const std::set<std::string> allowed = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                                  "torch._utils._rebuild_parameter",
                                                  "torch.jit._pickle.restore_type_tag"};
    if (!allowed.count(name) && name.rfind("torch.", 0) != 0)
      refuse(file_, "is not a saved state dict: it refers to '" + name + "'");
    auto v = Value::make(Value::Kind::Global);
    v->text = name;
    push(v);
  }
  ValuePtr top() {
    if (stack_.empty()) refuse(file_, "is not a saved state dict: its pickle is malformed");
    return stack_.back();
  }
  ValuePtr pop() {
    auto v = top();
    stack_.pop_back();
    return v;
  }
  std::vector<ValuePtr> pop_mark() {
    std::vector<ValuePtr> items;
    while (true) {
      auto v = pop();
      if (v->kind == Value::Kind::Mark) break;
      items.push_back(v);
    }
    return {items.rbegin(), items.rend()};
  }
  ValuePtr memo(int64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) refuse(file_, "is not a saved state dict: its pickle reads an unset memo entry");
    return it->second;
  }
  static ValuePtr tuple(std::vector<ValuePtr> items) {
    auto v = Value::make(Value::Kind::Tuple);
    v->items = std::move(items);
    return v;
  }
  ValuePtr expect(const ValuePtr& v, Value::Kind kind, const char* op) {
    if (v->kind != kind) refuse(file_, std::string("is not a saved state dict: ") + op + " on a value of another kind");
    return v;
  }
  void set_items(const ValuePtr& dict, const std::vector<ValuePtr>& items) {
    if (items.size() % 2 != 0) refuse(file_, "is not a saved state dict: odd SETITEMS");
    for (size_t i = 0; i < items.size(); i += 2) dict->dict.emplace_back(items[i], items[i + 1]);
  }
  int64_t int_at(const ValuePtr& tuple_value, size_t i) {
    const auto& v = tuple_value->items.at(i);
    if (v->kind != Value::Kind::Int) refuse(file_, "is not a saved state dict: a tensor's sizes are not integers");
    return v->integer;
  }
  std::vector<int64_t> ints(const ValuePtr& tuple_value) {
    std::vector<int64_t> out;
    for (size_t i = 0; i < tuple_value->items.size(); ++i) out.push_back(int_at(tuple_value, i));
    return out;
  }

  // ('storage', <typed storage global>, key, location, numel) → the archive's record data/<key>, one copy per key.
  ValuePtr storage(const ValuePtr& pid) {
    if (pid->kind != Value::Kind::Tuple || pid->items.size() < 5 || pid->items[0]->text != "storage" ||
        pid->items[1]->kind != Value::Kind::Global)
      refuse(file_, "is not a saved state dict: unsupported persistent id");
    const std::string key = pid->items[2]->text;
    auto cached = storages_.find(key);
    if (cached != storages_.end()) return cached->second;
    const auto dtype = storage_dtype(file_, pid->items[1]->text);
    const int64_t numel = int_at(pid, 4);
    const std::string record = "data/" + key;
    if (!archive_.hasRecord(record)) refuse(file_, "lacks the record '" + record + "'");
    auto [data, size] = archive_.getRecord(record);
    const size_t expected = static_cast<size_t>(numel) * c10::elementSize(dtype);
    if (size < expected)
      refuse(file_, "record '" + record + "' holds " + std::to_string(size) + " bytes, expected " + std::to_string(expected));
    auto v = Value::make(Value::Kind::Storage);
    v->tensor = torch::from_blob(data.get(), {numel}, torch::TensorOptions().dtype(dtype)).clone();
    storages_[key] = v;
    return v;
  }

  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    if (callable->kind != Value::Kind::Global || args->kind != Value::Kind::Tuple)
      refuse(file_, "is not a saved state dict: REDUCE of a non-global");
    const auto& name = callable->text;
    if (name == "collections.OrderedDict") return Value::make(Value::Kind::Dict);
    if (name == "torch._utils._rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (args->items.size() < 4 || args->items[0]->kind != Value::Kind::Storage)
        refuse(file_, "is not a saved state dict: malformed _rebuild_tensor_v2 arguments");
      const auto& flat = args->items[0]->tensor;
      auto v = Value::make(Value::Kind::Tensor);
      v->tensor = flat.as_strided(ints(args->items[2]), ints(args->items[3]), int_at(args, 1));
      return v;
    }
    // libtorch's pickler tags typed containers with their type: (value, "Dict[str, Tensor]").
    if (name == "torch.jit._pickle.restore_type_tag") {
      if (args->items.empty()) refuse(file_, "is not a saved state dict: malformed restore_type_tag arguments");
      return args->items[0];
    }
    if (name == "torch._utils._rebuild_parameter") {
      if (args->items.empty() || args->items[0]->kind != Value::Kind::Tensor)
        refuse(file_, "is not a saved state dict: malformed _rebuild_parameter arguments");
      return args->items[0];
    }
    refuse(file_, "is not a saved state dict: it calls '" + name + "'");
  }

  const std::string& file_;
  caffe2::serialize::PyTorchStreamReader& archive_;
  const std::vector<uint8_t>& bytes_;
  size_t pos_ = 0;
  std::vector<ValuePtr> stack_;
  std::map<int64_t, ValuePtr> memo_;
  std::map<std::string, ValuePtr> storages_;
};

const ValuePtr* dict_get(const ValuePtr& dict, const std::string& key) {
  for (const auto& [k, v] : dict->dict) {
    if (k->kind == Value::Kind::String && k->text == key) return &v;
  }
  return nullptr;
}

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i == 0 ? "'" : ", '") + names[i] + "'";
  return out;
}

}  // namespace

NamedTensors read_official_state_dict(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> archive;
  try {
    archive = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    refuse(path, "is not a zip-format torch.save checkpoint (" + std::string(e.what_without_backtrace()) + ")");
  }
  if (archive->hasRecord("byteorder")) {
    auto [data, size] = archive->getRecord("byteorder");
    const std::string order(static_cast<const char*>(data.get()), size);
    if (order != "little") refuse(path, "stores its tensors " + order + "-endian; only little-endian is read");
  }
  if (!archive->hasRecord("data.pkl")) refuse(path, "lacks the record 'data.pkl'");
  auto [data, size] = archive->getRecord("data.pkl");
  const auto* begin = static_cast<const uint8_t*>(data.get());
  const std::vector<uint8_t> bytes(begin, begin + size);
  auto root = StateDictUnpickler(path, *archive, bytes).run();
  if (root->kind != Value::Kind::Dict) refuse(path, "does not hold a dict of tensors");
  for (const char* wrapper : {"state_dict", "model"}) {
    if (const auto* inner = dict_get(root, wrapper); inner && (*inner)->kind == Value::Kind::Dict) {
      root = *inner;
      break;
    }
  }
  NamedTensors out;
  for (const auto& [k, v] : root->dict) {
    if (k->kind != Value::Kind::String) refuse(path, "holds a key that is not a string");
    if (v->kind != Value::Kind::Tensor) refuse(path, "entry '" + k->text + "' is not a tensor");
    out.emplace_back(k->text, v->tensor);
  }
  // The official training module's own state_dict() prefixes the discriminator's keys.
  const std::string prefix = "residual_predictor.";
  const bool prefixed = !out.empty() && std::all_of(out.begin(), out.end(), [&](const auto& entry) {
    return entry.first.rfind(prefix, 0) == 0;
  });
  if (prefixed) {
    for (auto& entry : out) entry.first = entry.first.substr(prefix.size());
  }
  return out;
}

NamedTensors match_state_dict(const NamedTensors& state, const torch::nn::Module& module, const std::string& source) {
  std::map<std::string, torch::Tensor> given(state.begin(), state.end());
  NamedTensors out;
  std::vector<std::string> missing, unexpected;
  for (const auto& p : module.named_parameters()) {
    auto it = given.find(p.key());
    if (it == given.end()) {
      missing.push_back(p.key());
      continue;
    }
    out.emplace_back(p.key(), it->second);
    given.erase(it);
  }
  for (const auto& [name, tensor] : given) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty()) {
    std::string message = source + " does not fit the network:";
    if (!missing.empty()) message += " missing keys " + list_names(missing) + ";";
    if (!unexpected.empty()) message += " unexpected keys " + list_names(unexpected) + ";";
    message.pop_back();
    throw Error(ErrorCode::Config, message);
  }
  const auto params = module.named_parameters();
  for (auto& [name, value] : out) {
    if (value.sizes() != params[name].sizes())
      throw ShapeError(source + ": key '" + name + "' has shape " + c10::str(value.sizes()) + ", the network expects " +
                       c10::str(params[name].sizes()));
    if (!value.is_floating_point())
      throw Error(ErrorCode::Config, source + ": key '" + name + "' is not floating point (" +
                                         std::string(c10::toString(value.scalar_type())) + ")");
    if (!torch::isfinite(value).all().item<bool>())
      throw NonFiniteError(source + ": key '" + name + "' holds a NaN or infinity");
    value = value.to(params[name].scalar_type()).contiguous();
  }
  return out;
}

}  // namespace mmdisco
