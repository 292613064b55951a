#pragma once
// A restricted unpickler for PyTorch state dicts. It interprets the opcodes that protocol 2-5
// pickles of dicts, lists, tuples, strings, numbers and tensors use, and knows a fixed set of
// data-only globals (OrderedDict, the torch storage classes, _rebuild_tensor(_v2),
// _rebuild_parameter). Nothing is ever executed: "calling" an allowed global builds a node.
// Any other global, any other opcode, a malformed stream or a limit exceeded is a FormatError.
//
// Values live in an arena (Unpickled::nodes) and refer to each other by index, so memo sharing and
// even cycles cost nothing and destruction never recurses.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "tlc/core/error.hpp"
#include "tlc/io/file.hpp"

namespace tlc::io::pickle {

enum class Kind { None, Bool, Int, Float, Str, Bytes, Tuple, List, Dict, Global, Storage, Tensor };
enum class Callable { None, OrderedDict, RebuildTensorV2, RebuildTensor, RebuildParameter, StorageClass };
enum class StorageType { Float, Half, BFloat16, Double, Long, Int, Short, Char, Byte, Bool };

inline std::size_t storage_element_size(StorageType t) {
  switch (t) {
    case StorageType::Double:
    case StorageType::Long: return 8;
    case StorageType::Float:
    case StorageType::Int: return 4;
    case StorageType::Half:
    case StorageType::BFloat16:
    case StorageType::Short: return 2;
    default: return 1;
  }
}

struct Node {
  Kind kind = Kind::None;
  bool b = false;
  std::int64_t i = 0;                // Int; Storage: numel; Tensor: storage offset
  double f = 0;                      // Float
  std::string s;                     // Str, Bytes; Global: "module.name"; Storage: key
  std::vector<std::size_t> items;    // Tuple, List; Dict: key0, value0, key1, value1, ...
  Callable callable = Callable::None;            // Global
  StorageType storage_type = StorageType::Float;  // Global (StorageClass), Storage
  std::size_t storage = 0;                        // Tensor: index of its Storage node
  std::vector<std::int64_t> size, stride;         // Tensor
};

struct Limits {
  std::size_t max_nodes = std::size_t(1) << 22;  // ~150 bytes each; a state dict needs ~20 per tensor
  std::size_t max_memo = std::size_t(1) << 22;
  std::size_t max_stack = std::size_t(1) << 22;
};

struct Unpickled {
  std::vector<Node> nodes;
  std::size_t root = 0;
  const Node& operator[](std::size_t i) const { return nodes[i]; }
};

namespace detail {

struct AllowedGlobal {
  const char* module;
  const char* name;
  Callable callable;
  StorageType storage_type;
};
inline const AllowedGlobal* find_global(const std::string& module, const std::string& name) {
  static const AllowedGlobal table[] = {
      {"collections", "OrderedDict", Callable::OrderedDict, StorageType::Float},
      {"torch._utils", "_rebuild_tensor_v2", Callable::RebuildTensorV2, StorageType::Float},
      {"torch._utils", "_rebuild_tensor", Callable::RebuildTensor, StorageType::Float},
      {"torch._utils", "_rebuild_parameter", Callable::RebuildParameter, StorageType::Float},
      {"torch", "FloatStorage", Callable::StorageClass, StorageType::Float},
      {"torch", "HalfStorage", Callable::StorageClass, StorageType::Half},
      {"torch", "BFloat16Storage", Callable::StorageClass, StorageType::BFloat16},
      {"torch", "DoubleStorage", Callable::StorageClass, StorageType::Double},
      {"torch", "LongStorage", Callable::StorageClass, StorageType::Long},
      {"torch", "IntStorage", Callable::StorageClass, StorageType::Int},
      {"torch", "ShortStorage", Callable::StorageClass, StorageType::Short},
      {"torch", "CharStorage", Callable::StorageClass, StorageType::Char},
      {"torch", "ByteStorage", Callable::StorageClass, StorageType::Byte},
      {"torch", "BoolStorage", Callable::StorageClass, StorageType::Bool},
  };
  for (const auto& g : table)
    if (module == g.module && name == g.name) return &g;
  return nullptr;
}

class Machine {
 public:
  Machine(const unsigned char* p, std::size_t n, const Limits& limits) : p_(p), n_(n), lim_(limits) {}

  Unpickled run() {
    for (;;) {
      op_pos_ = pos_;
      const unsigned char op = byte();
      switch (op) {
        case 0x80: {  // PROTO
          const unsigned v = byte();
          if (v < 2 || v > 5) fail("unsupported protocol " + std::to_string(v));
          break;
        }
        case 0x95: take(8); break;  // FRAME: a framing hint only
        case '.': {                 // STOP
          if (stack_.empty()) fail("STOP with an empty stack");
          out_.root = stack_.back();
          return std::move(out_);
        }
        case '(': marks_.push_back(stack_.size()); break;  // MARK
        case 'N': push(make(Kind::None)); break;
        case 0x88:
        case 0x89: {  // NEWTRUE, NEWFALSE
          const std::size_t v = make(Kind::Bool);
          out_.nodes[v].b = op == 0x88;
          push(v);
          break;
        }
        case 'J': push_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(load_le(take(4), 4)))); break;
        case 'K': push_int(byte()); break;
        case 'M': push_int(static_cast<std::int64_t>(load_le(take(2), 2))); break;
        case 0x8a: {  // LONG1: little-endian two's complement of n bytes
          const unsigned len = byte();
          if (len > 8) fail("integer wider than 64 bits");
          const unsigned char* b = take(len);
          std::uint64_t v = len ? load_le(b, static_cast<int>(len)) : 0;
          if (len > 0 && len < 8 && (b[len - 1] & 0x80)) v |= ~std::uint64_t(0) << (8 * len);  // sign-extend
          push_int(static_cast<std::int64_t>(v));
          break;
        }
        case 'G': {  // BINFLOAT: big-endian double
          const unsigned char* b = take(8);
          std::uint64_t bits = 0;
          for (int k = 0; k < 8; ++k) bits = (bits << 8) | b[k];
          const std::size_t v = make(Kind::Float);
          std::memcpy(&out_.nodes[v].f, &bits, 8);
          push(v);
          break;
        }
        case 0x8c: push_text(Kind::Str, byte()); break;                  // SHORT_BINUNICODE
        case 'X': push_text(Kind::Str, load_le(take(4), 4)); break;      // BINUNICODE
        case 0x8d: push_text(Kind::Str, load_le(take(8), 8)); break;     // BINUNICODE8
        case 'C': push_text(Kind::Bytes, byte()); break;                 // SHORT_BINBYTES
        case 'B': push_text(Kind::Bytes, load_le(take(4), 4)); break;    // BINBYTES
        case '}': push(make(Kind::Dict)); break;                         // EMPTY_DICT
        case ']': push(make(Kind::List)); break;                         // EMPTY_LIST
        case ')': push(make(Kind::Tuple)); break;                        // EMPTY_TUPLE
        case 0x85:
        case 0x86:
        case 0x87: {  // TUPLE1..3
          const std::size_t k = static_cast<std::size_t>(op - 0x84);
          if (stack_.size() - floor() < k) fail("stack underflow");
          push_tuple(std::vector<std::size_t>(stack_.end() - static_cast<std::ptrdiff_t>(k), stack_.end()), k);
          break;
        }
        case 't': {  // TUPLE
          auto items = pop_mark();
          push_tuple(std::move(items), 0);
          break;
        }
        case 'q': memo_put(byte()); break;                           // BINPUT
        case 'r': memo_put(load_le(take(4), 4)); break;              // LONG_BINPUT
        case 0x94: memo_put(memo_.size()); break;                    // MEMOIZE
        case 'h': push(memo_get(byte())); break;                     // BINGET
        case 'j': push(memo_get(load_le(take(4), 4))); break;        // LONG_BINGET
        case '0': pop(); break;                                      // POP
        case 's': {                                                  // SETITEM
          const std::size_t v = pop(), k = pop();
          auto& d = container(top(), Kind::Dict, "SETITEM").items;
          d.push_back(k);
          d.push_back(v);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_mark();
          if (items.size() % 2) fail("SETITEMS with an odd number of items");
          auto& d = container(top(), Kind::Dict, "SETITEMS").items;
          d.insert(d.end(), items.begin(), items.end());
          break;
        }
        case 'a': {  // APPEND
          const std::size_t v = pop();
          container(top(), Kind::List, "APPEND").items.push_back(v);
          break;
        }
        case 'e': {  // APPENDS
          auto items = pop_mark();
          auto& l = container(top(), Kind::List, "APPENDS").items;
          l.insert(l.end(), items.begin(), items.end());
          break;
        }
        case 'c': {  // GLOBAL: "module\nname\n"
          std::string module = line(), name = line();
          push(make_global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const std::size_t name = pop(), module = pop();
          if (out_.nodes[module].kind != Kind::Str || out_.nodes[name].kind != Kind::Str)
            fail("STACK_GLOBAL expects two strings");
          push(make_global(out_.nodes[module].s, out_.nodes[name].s));
          break;
        }
        case 'R': {  // REDUCE: callable(*args)
          const std::size_t args = pop(), fn = pop();
          push(call(fn, args));
          break;
        }
        case 0x81: {  // NEWOBJ: cls.__new__(cls, *args); only OrderedDict is a class we build
          const std::size_t args = pop(), cls = pop();
          if (out_.nodes[cls].kind != Kind::Global || out_.nodes[cls].callable != Callable::OrderedDict)
            fail("NEWOBJ is only supported for collections.OrderedDict");
          push(call(cls, args));
          break;
        }
        case 'b': {  // BUILD: an OrderedDict's state holds attributes (e.g. _metadata); we keep none
          pop();
          if (out_.nodes[top()].kind != Kind::Dict) fail("BUILD is only supported on an OrderedDict");
          break;
        }
        case 'Q': push(persistent(pop())); break;  // BINPERSID
        default: {
          char text[64];
          std::snprintf(text, sizeof text, "unsupported opcode 0x%02x", static_cast<unsigned>(op));
          fail(text);
        }
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("pickle: " + what + " at byte " + std::to_string(op_pos_));
  }

  unsigned char byte() {
    if (pos_ >= n_) fail("data ends early (no STOP)");
    return p_[pos_++];
  }
  const unsigned char* take(std::uint64_t k) {
    if (k > n_ - pos_) fail("data ends early (no STOP)");
    const unsigned char* b = p_ + pos_;
    pos_ += static_cast<std::size_t>(k);
    return b;
  }
  std::string line() {
    std::string s;
    for (;;) {
      const unsigned char c = byte();
      if (c == '\n') return s;
      if (s.size() >= 256) fail("GLOBAL name longer than 256 characters");
      s += static_cast<char>(c);
    }
  }

  std::size_t make(Kind k) {
    if (out_.nodes.size() >= lim_.max_nodes) fail("more than " + std::to_string(lim_.max_nodes) + " objects");
    out_.nodes.emplace_back();
    out_.nodes.back().kind = k;
    return out_.nodes.size() - 1;
  }
  void push(std::size_t v) {
    if (stack_.size() >= lim_.max_stack) fail("stack deeper than " + std::to_string(lim_.max_stack));
    stack_.push_back(v);
  }
  // The stack position below which the current mark protects items.
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::size_t pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    const std::size_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  std::size_t top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<std::size_t> pop_mark() {
    if (marks_.empty()) fail("no MARK on the stack");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<std::size_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Node& container(std::size_t v, Kind k, const char* op) {
    if (out_.nodes[v].kind != k) fail(std::string(op) + " on something that is not a " + (k == Kind::Dict ? "dict" : "list"));
    return out_.nodes[v];
  }

  void push_int(std::int64_t i) {
    const std::size_t v = make(Kind::Int);
    out_.nodes[v].i = i;
    push(v);
  }
  void push_text(Kind k, std::uint64_t len) {
    const unsigned char* b = take(len);
    const std::size_t v = make(k);
    out_.nodes[v].s.assign(reinterpret_cast<const char*>(b), static_cast<std::size_t>(len));
    push(v);
  }
  // Replaces the top `drop` stack items by a tuple of `items`.
  void push_tuple(std::vector<std::size_t> items, std::size_t drop) {
    stack_.resize(stack_.size() - drop);
    const std::size_t v = make(Kind::Tuple);
    out_.nodes[v].items = std::move(items);
    push(v);
  }

  void memo_put(std::uint64_t key) {
    if (memo_.size() >= lim_.max_memo && !memo_.count(key))
      fail("memo larger than " + std::to_string(lim_.max_memo) + " entries");
    memo_[key] = top();
  }
  std::size_t memo_get(std::uint64_t key) {
    auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key " + std::to_string(key) + " was never stored");
    return it->second;
  }

  std::size_t make_global(const std::string& module, const std::string& name) {
    const AllowedGlobal* g = find_global(module, name);
    if (!g) fail("global '" + module + "." + name + "' is not allowed (only data-only torch state-dict globals)");
    const std::size_t v = make(Kind::Global);
    out_.nodes[v].s = module + "." + name;
    out_.nodes[v].callable = g->callable;
    out_.nodes[v].storage_type = g->storage_type;
    return v;
  }

  const Node& arg(const Node& args, std::size_t k) const { return out_.nodes[args.items[k]]; }
  std::vector<std::int64_t> int_tuple(const Node& t, const char* what) const {
    if (t.kind != Kind::Tuple) fail(std::string(what) + " must be a tuple of integers");
    std::vector<std::int64_t> v;
    for (std::size_t x : t.items) {
      const Node& e = out_.nodes[x];
      if (e.kind != Kind::Int || e.i < 0) fail(std::string(what) + " must hold non-negative integers");
      v.push_back(e.i);
    }
    return v;
  }

  std::size_t call(std::size_t fn_index, std::size_t args_index) {
    const Node& fn = out_.nodes[fn_index];
    if (fn.kind != Kind::Global || fn.callable == Callable::StorageClass)
      fail("REDUCE on something that is not an allowed function");
    const std::string name = fn.s;
    const Callable c = fn.callable;
    const Node& args = out_.nodes[args_index];
    if (args.kind != Kind::Tuple) fail(name + ": arguments must be a tuple");
    const std::size_t nargs = args.items.size();
    switch (c) {
      case Callable::OrderedDict:
        if (nargs != 0) fail(name + ": expected no arguments, found " + std::to_string(nargs));
        return make(Kind::Dict);
      case Callable::RebuildParameter:
        if (nargs != 3 || arg(args, 0).kind != Kind::Tensor) fail(name + ": expected (tensor, requires_grad, hooks)");
        return args.items[0];
      case Callable::RebuildTensor:
      case Callable::RebuildTensorV2: {
        // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
        const bool v2 = c == Callable::RebuildTensorV2;
        if (v2 ? (nargs != 6 && nargs != 7) : nargs != 4)
          fail(name + ": unexpected number of arguments " + std::to_string(nargs));
        if (arg(args, 0).kind != Kind::Storage) fail(name + ": the first argument must be a storage");
        if (arg(args, 1).kind != Kind::Int || arg(args, 1).i < 0)
          fail(name + ": the storage offset must be a non-negative integer");
        std::vector<std::int64_t> size = int_tuple(arg(args, 2), "size"), stride = int_tuple(arg(args, 3), "stride");
        if (size.size() != stride.size()) fail(name + ": size and stride differ in length");
        const std::size_t storage = args.items[0];
        const std::int64_t offset = arg(args, 1).i;
        const std::size_t v = make(Kind::Tensor);
        Node& t = out_.nodes[v];
        t.storage = storage;
        t.i = offset;
        t.size = std::move(size);
        t.stride = std::move(stride);
        return v;
      }
      default: fail(name + " is not callable");
    }
  }

  // ('storage', storage class, key, location, numel) -> a Storage node
  std::size_t persistent(std::size_t pid_index) {
    const Node& pid = out_.nodes[pid_index];
    if (pid.kind != Kind::Tuple || pid.items.size() != 5 || arg(pid, 0).kind != Kind::Str ||
        arg(pid, 0).s != "storage")
      fail("persistent id must be ('storage', type, key, location, numel)");
    const Node& type = arg(pid, 1);
    if (type.kind != Kind::Global || type.callable != Callable::StorageClass)
      fail("persistent id: the storage type must be a torch storage class");
    if (arg(pid, 2).kind != Kind::Str || arg(pid, 3).kind != Kind::Str || arg(pid, 4).kind != Kind::Int ||
        arg(pid, 4).i < 0)
      fail("persistent id must be ('storage', type, key, location, numel)");
    const StorageType st = type.storage_type;
    std::string key = arg(pid, 2).s;
    const std::int64_t numel = arg(pid, 4).i;
    const std::size_t v = make(Kind::Storage);
    out_.nodes[v].storage_type = st;
    out_.nodes[v].s = std::move(key);
    out_.nodes[v].i = numel;
    return v;
  }

  const unsigned char* p_;
  std::size_t n_, pos_ = 0, op_pos_ = 0;
  Limits lim_;
  Unpickled out_;
  std::vector<std::size_t> stack_, marks_;
  std::unordered_map<std::uint64_t, std::size_t> memo_;
};

}  // namespace detail

// Interprets a pickle; the result's root is the value STOP returned.
inline Unpickled unpickle(const unsigned char* data, std::size_t n, const Limits& limits = {}) {
  return detail::Machine(data, n, limits).run();
}

// The value stored under the string key in a Dict node (the last one, as Python's dict keeps), or -1.
inline std::int64_t dict_get(const Unpickled& u, std::size_t dict, const std::string& key) {
  const Node& d = u[dict];
  if (d.kind != Kind::Dict) return -1;
  std::int64_t found = -1;
  for (std::size_t k = 0; k + 1 < d.items.size(); k += 2)
    if (u[d.items[k]].kind == Kind::Str && u[d.items[k]].s == key) found = static_cast<std::int64_t>(d.items[k + 1]);
  return found;
}

}  // namespace tlc::io::pickle
