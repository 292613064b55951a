#pragma once
// A small strict JSON value, parser and writer (RFC 8259) for safetensors headers and model configs.
// Objects keep their key order and refuse duplicate keys; integers that fit int64 stay exact;
// nesting is depth-limited; strings must be valid UTF-8. Every failure is a tlc::FormatError.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tlc/core/error.hpp"

namespace tlc::io::json {

class Value {
 public:
  enum class Kind { Null, Bool, Int, Double, String, Array, Object };
  using Array = std::vector<Value>;
  using Member = std::pair<std::string, Value>;
  using Object = std::vector<Member>;

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : kind_(Kind::Bool), b_(b) {}
  Value(int i) : kind_(Kind::Int), i_(i) {}
  Value(std::int64_t i) : kind_(Kind::Int), i_(i) {}
  Value(double d) : kind_(Kind::Double), d_(d) {}
  Value(const char* s) : kind_(Kind::String), s_(s) {}
  Value(std::string s) : kind_(Kind::String), s_(std::move(s)) {}
  static Value array(Array items = {}) {
    Value v;
    v.kind_ = Kind::Array;
    v.arr_ = std::move(items);
    return v;
  }
  static Value object(Object members = {}) {
    Value v;
    v.kind_ = Kind::Object;
    v.obj_ = std::move(members);
    return v;
  }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::Null; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_number() const { return kind_ == Kind::Int || kind_ == Kind::Double; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_array() const { return kind_ == Kind::Array; }
  bool is_object() const { return kind_ == Kind::Object; }

  bool as_bool() const { return expect(Kind::Bool).b_; }
  std::int64_t as_int() const { return expect(Kind::Int).i_; }
  double as_double() const { return kind_ == Kind::Int ? static_cast<double>(i_) : expect(Kind::Double).d_; }
  const std::string& as_string() const { return expect(Kind::String).s_; }
  const Array& as_array() const { return expect(Kind::Array).arr_; }
  const Object& as_object() const { return expect(Kind::Object).obj_; }

  // The member named key, or nullptr (also for non-objects).
  const Value* find(std::string_view key) const {
    if (kind_ != Kind::Object) return nullptr;
    for (const auto& m : obj_)
      if (m.first == key) return &m.second;
    return nullptr;
  }
  void push_back(Value v) {
    expect(Kind::Array);
    arr_.push_back(std::move(v));
  }
  // Adds a member, or replaces the value of an existing one in place.
  void set(const std::string& key, Value v) {
    expect(Kind::Object);
    for (auto& m : obj_)
      if (m.first == key) {
        m.second = std::move(v);
        return;
      }
    obj_.emplace_back(key, std::move(v));
  }

  static const char* kind_name(Kind k) {
    switch (k) {
      case Kind::Null: return "null";
      case Kind::Bool: return "a boolean";
      case Kind::Int: return "an integer";
      case Kind::Double: return "a number";
      case Kind::String: return "a string";
      case Kind::Array: return "an array";
      case Kind::Object: return "an object";
    }
    return "?";
  }

  // Compact JSON text. Non-finite doubles have no JSON form and are refused.
  std::string dump() const {
    std::string out;
    write(out);
    return out;
  }

 private:
  const Value& expect(Kind k) const {
    TLC_CHECK(kind_ == k, FormatError, "json: expected ", kind_name(k), ", found ", kind_name(kind_));
    return *this;
  }
  static void write_string(std::string& out, const std::string& s) {
    static const char* hex = "0123456789abcdef";
    out += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    out += '"';
  }
  void write(std::string& out) const {
    char buf[32];
    switch (kind_) {
      case Kind::Null: out += "null"; break;
      case Kind::Bool: out += b_ ? "true" : "false"; break;
      case Kind::Int: out += std::to_string(i_); break;
      case Kind::Double: {
        TLC_CHECK(std::isfinite(d_), FormatError, "json: cannot write the non-finite number ", d_);
        auto r = std::to_chars(buf, buf + sizeof buf, d_);  // shortest text that reads back exactly
        std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
        out += text;
        // Keep the value a double when read back.
        if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
        break;
      }
      case Kind::String: write_string(out, s_); break;
      case Kind::Array:
        out += '[';
        for (std::size_t i = 0; i < arr_.size(); ++i) {
          if (i) out += ',';
          arr_[i].write(out);
        }
        out += ']';
        break;
      case Kind::Object:
        out += '{';
        for (std::size_t i = 0; i < obj_.size(); ++i) {
          if (i) out += ',';
          write_string(out, obj_[i].first);
          out += ':';
          obj_[i].second.write(out);
        }
        out += '}';
        break;
    }
  }

  Kind kind_ = Kind::Null;
  bool b_ = false;
  std::int64_t i_ = 0;
  double d_ = 0;
  std::string s_;
  Array arr_;
  Object obj_;
};

namespace detail {

class Parser {
 public:
  Parser(std::string_view text, int max_depth) : t_(text), max_depth_(max_depth) {}

  Value parse_document() {
    skip_ws();
    Value v = parse_value(0);
    skip_ws();
    if (p_ != t_.size()) fail("expected the end of the text, found more characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError("json: " + what + " at byte " + std::to_string(p_));
  }
  bool at_end() const { return p_ >= t_.size(); }
  char peek() const { return at_end() ? '\0' : t_[p_]; }
  void skip_ws() {
    while (!at_end() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r')) ++p_;
  }
  void expect_literal(std::string_view lit) {
    if (t_.substr(p_, lit.size()) != lit) fail("expected '" + std::string(lit) + "'");
    p_ += lit.size();
  }

  Value parse_value(int depth) {
    if (at_end()) fail("expected a value, found the end of the text");
    switch (t_[p_]) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Value(parse_string());
      case 't': expect_literal("true"); return Value(true);
      case 'f': expect_literal("false"); return Value(false);
      case 'n': expect_literal("null"); return Value();
      default: return parse_number();
    }
  }

  void check_depth(int depth) const {
    if (depth > max_depth_) fail("nesting deeper than the limit of " + std::to_string(max_depth_));
  }

  Value parse_object(int depth) {
    check_depth(depth);
    ++p_;
    Value::Object members;
    std::unordered_set<std::string> keys;
    skip_ws();
    if (peek() == '}') {
      ++p_;
      return Value::object();
    }
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("expected a string key");
      std::string key = parse_string();
      if (!keys.insert(key).second) fail("duplicate key \"" + key + "\"");
      skip_ws();
      if (peek() != ':') fail("expected ':' after key \"" + key + "\"");
      ++p_;
      skip_ws();
      Value v = parse_value(depth);
      members.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() == '}') {
        ++p_;
        return Value::object(std::move(members));
      }
      fail("expected ',' or '}' in an object");
    }
  }

  Value parse_array(int depth) {
    check_depth(depth);
    ++p_;
    Value::Array items;
    skip_ws();
    if (peek() == ']') {
      ++p_;
      return Value::array();
    }
    for (;;) {
      skip_ws();
      items.push_back(parse_value(depth));
      skip_ws();
      if (peek() == ',') {
        ++p_;
        continue;
      }
      if (peek() == ']') {
        ++p_;
        return Value::array(std::move(items));
      }
      fail("expected ',' or ']' in an array");
    }
  }

  unsigned parse_hex4() {
    if (t_.size() - p_ < 4) fail("expected 4 hex digits after \\u");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = t_[p_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else fail("expected a hex digit after \\u");
    }
    return v;
  }
  static void append_utf8(std::string& s, unsigned cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  // Copies one UTF-8 encoded code point, refusing overlong forms, surrogates and values > U+10FFFF.
  void copy_utf8(std::string& s) {
    const auto b0 = static_cast<unsigned char>(t_[p_]);
    int n;
    unsigned cp, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) n = 1, cp = b0 & 0x1Fu, min = 0x80;
    else if (b0 >= 0xE0 && b0 <= 0xEF) n = 2, cp = b0 & 0x0Fu, min = 0x800;
    else if (b0 >= 0xF0 && b0 <= 0xF4) n = 3, cp = b0 & 0x07u, min = 0x10000;
    else fail("invalid UTF-8 in a string");
    if (t_.size() - p_ <= static_cast<std::size_t>(n)) fail("truncated UTF-8 in a string");
    for (int i = 1; i <= n; ++i) {
      const auto b = static_cast<unsigned char>(t_[p_ + static_cast<std::size_t>(i)]);
      if ((b & 0xC0) != 0x80) fail("invalid UTF-8 in a string");
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid UTF-8 in a string");
    s.append(t_.data() + p_, static_cast<std::size_t>(n) + 1);
    p_ += static_cast<std::size_t>(n) + 1;
  }

  std::string parse_string() {
    ++p_;  // opening quote
    std::string s;
    for (;;) {
      if (at_end()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(t_[p_]);
      if (c == '"') {
        ++p_;
        return s;
      }
      if (c < 0x20) fail("control character in a string");
      if (c >= 0x80) {
        copy_utf8(s);
        continue;
      }
      ++p_;
      if (c != '\\') {
        s += static_cast<char>(c);
        continue;
      }
      if (at_end()) fail("unterminated escape");
      const char e = t_[p_++];
      switch (e) {
        case '"': s += '"'; break;
        case '\\': s += '\\'; break;
        case '/': s += '/'; break;
        case 'b': s += '\b'; break;
        case 'f': s += '\f'; break;
        case 'n': s += '\n'; break;
        case 'r': s += '\r'; break;
        case 't': s += '\t'; break;
        case 'u': {
          unsigned cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (t_.substr(p_, 2) != "\\u") fail("high surrogate without a low surrogate");
            p_ += 2;
            const unsigned lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("high surrogate without a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(s, cp);
          break;
        }
        default: fail(std::string("invalid escape \\") + e);
      }
    }
  }

  Value parse_number() {
    const std::size_t start = p_;
    auto digits = [&] {
      const std::size_t d = p_;
      while (!at_end() && t_[p_] >= '0' && t_[p_] <= '9') ++p_;
      return p_ - d;
    };
    if (peek() == '-') ++p_;
    if (peek() == '0') {
      ++p_;
    } else if (digits() == 0) {
      p_ = start;
      fail("expected a value");
    }
    bool integral = true;
    if (peek() == '.') {
      ++p_;
      integral = false;
      if (digits() == 0) fail("expected digits after '.'");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++p_;
      integral = false;
      if (peek() == '+' || peek() == '-') ++p_;
      if (digits() == 0) fail("expected digits in the exponent");
    }
    const char* first = t_.data() + start;
    const char* last = t_.data() + p_;
    if (integral) {
      std::int64_t i = 0;
      auto r = std::from_chars(first, last, i);
      if (r.ec == std::errc() && r.ptr == last) return Value(i);
    }
    double d = 0;
    auto r = std::from_chars(first, last, d);  // locale-independent, unlike strtod
    if (r.ec == std::errc::result_out_of_range) fail("number out of the range of a double");
    if (r.ec != std::errc() || r.ptr != last) fail("malformed number");
    return Value(d);
  }

  std::string_view t_;
  std::size_t p_ = 0;
  int max_depth_;
};

}  // namespace detail

// Parses a complete JSON text; arrays and objects may nest at most max_depth deep.
inline Value parse(std::string_view text, int max_depth = 64) { return detail::Parser(text, max_depth).parse_document(); }

}  // namespace tlc::io::json
