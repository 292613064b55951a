#pragma once
// Model configurations as flat key → value text (lists comma-separated: "enc_blocks": "1,1,1,28").
// The same map comes from a JSON object, from `--set key=value` and from model-file metadata.
#include <map>
#include <string>
#include <vector>

#include "tlc/core/config.hpp"
#include "tlc/core/error.hpp"

namespace tlc::models {

class Config {
 public:
  Config() = default;
  explicit Config(std::map<std::string, std::string> values) : values_(std::move(values)) {}

  void set(const std::string& key, const std::string& value) { values_[key] = value; }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  const std::map<std::string, std::string>& values() const { return values_; }

  std::string str(const std::string& key, const std::string& fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : it->second;
  }
  index_t integer(const std::string& key, index_t fallback) const {
    auto it = values_.find(key);
    return it == values_.end() ? fallback : parse_int(key, it->second);
  }
  double number(const std::string& key, double fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    try {
      size_t used = 0;
      double v = std::stod(it->second, &used);
      if (used == it->second.size()) return v;
    } catch (const std::exception&) {
    }
    throw Error("config: expected a number for '" + key + "', found '" + it->second + "'");
  }
  bool boolean(const std::string& key, bool fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    if (it->second == "true" || it->second == "1") return true;
    if (it->second == "false" || it->second == "0") return false;
    throw Error("config: expected true or false for '" + key + "', found '" + it->second + "'");
  }
  std::vector<index_t> integers(const std::string& key, const std::vector<index_t>& fallback) const {
    auto it = values_.find(key);
    if (it == values_.end()) return fallback;
    std::vector<index_t> out;
    std::string item;
    for (size_t i = 0; i <= it->second.size(); ++i) {
      if (i == it->second.size() || it->second[i] == ',') {
        out.push_back(parse_int(key, item));
        item.clear();
      } else if (it->second[i] != ' ' && it->second[i] != '[' && it->second[i] != ']') {
        item += it->second[i];
      }
    }
    return out;
  }

  // Keys that were given but that no model option read: misspellings are errors, not silence.
  void check_known(const std::vector<std::string>& known, const std::string& arch) const {
    for (const auto& [k, v] : values_) {
      bool ok = k == "arch";
      for (const auto& n : known) ok = ok || n == k;
      TLC_CHECK(ok, Error, arch, ": unknown config key '", k, "'");
    }
  }

 private:
  static index_t parse_int(const std::string& key, const std::string& s) {
    try {
      size_t used = 0;
      long long v = std::stoll(s, &used);
      if (used == s.size()) return static_cast<index_t>(v);
    } catch (const std::exception&) {
    }
    throw Error("config: expected an integer for '" + key + "', found '" + s + "'");
  }
  std::map<std::string, std::string> values_;
};

}  // namespace tlc::models
