#pragma once
// A small command-line parser: --name value, --name=value, boolean --flag, positionals, and a
// generated --help that lists exactly the options a command declares.
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tlc/core/error.hpp"

namespace tlc::cli {

class UsageError : public Error {
 public:
  using Error::Error;
};

class Args {
 public:
  Args(std::string command, std::string summary) : command_(std::move(command)), summary_(std::move(summary)) {}

  // Declares an option taking a value (repeatable options keep every value).
  Args& option(const std::string& name, const std::string& meta, const std::string& help, const std::string& def = "",
               bool repeatable = false) {
    specs_.push_back({name, meta, help, def, false, repeatable});
    return *this;
  }
  Args& flag(const std::string& name, const std::string& help) {
    specs_.push_back({name, "", help, "", true, false});
    return *this;
  }
  // A one-letter alias: -m VALUE means --model VALUE.
  Args& alias(char letter, const std::string& name) {
    aliases_[letter] = name;
    return *this;
  }
  Args& positional(const std::string& name, const std::string& help) {
    positional_names_.push_back({name, help});
    return *this;
  }

  // Returns false when --help was asked (help text already printed to `out`).
  bool parse(const std::vector<std::string>& argv, std::ostream& out) {
    for (size_t i = 0; i < argv.size(); ++i) {
      const std::string& a = argv[i];
      if (a == "-h" || a == "--help") {
        out << help();
        return false;
      }
      if (a.rfind("--", 0) == 0) {
        std::string name = a.substr(2), value;
        const size_t eq = name.find('=');
        bool has_value = eq != std::string::npos;
        if (has_value) {
          value = name.substr(eq + 1);
          name = name.substr(0, eq);
        }
        const Spec* s = find(name);
        if (!s) throw UsageError("unknown option --" + name + " (see tlc " + command_ + " --help)");
        if (s->is_flag) {
          if (has_value) throw UsageError("--" + name + " takes no value");
          values_[name].push_back("true");
          continue;
        }
        if (!has_value) {
          if (i + 1 >= argv.size()) throw UsageError("--" + name + " expects " + s->meta);
          value = argv[++i];
        }
        if (!s->repeatable && values_.count(name))
          throw UsageError("--" + name + " given twice");
        values_[name].push_back(value);
      } else if (a.size() > 1 && a[0] == '-' && !(a[1] >= '0' && a[1] <= '9')) {
        auto al = a.size() == 2 ? aliases_.find(a[1]) : aliases_.end();
        const Spec* s = al == aliases_.end() ? nullptr : find(al->second);
        if (!s) throw UsageError("unknown option " + a + " (see tlc " + command_ + " --help)");
        if (i + 1 >= argv.size()) throw UsageError(a + " expects " + s->meta);
        values_[s->name].push_back(argv[++i]);
      } else {
        positionals_.push_back(a);
      }
    }
    if (positionals_.size() > positional_names_.size())
      throw UsageError("unexpected argument '" + positionals_[positional_names_.size()] + "'");
    return true;
  }

  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::string get(const std::string& name) const {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second.back();
    const Spec* s = find(name);
    return s ? s->def : "";
  }
  std::vector<std::string> all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
  }
  bool is_set(const std::string& flag_name) const { return has(flag_name); }
  // The value of --name as a whole number / a number; anything else is a UsageError naming it.
  long long integer(const std::string& name) const {
    const std::string v = get(name);
    try {
      size_t used = 0;
      const long long n = std::stoll(v, &used);
      if (used == v.size()) return n;
    } catch (const std::exception&) {
    }
    throw UsageError("--" + name + " expects a whole number, found '" + v + "'");
  }
  double number(const std::string& name) const {
    const std::string v = get(name);
    try {
      size_t used = 0;
      const double x = std::stod(v, &used);
      if (used == v.size()) return x;
    } catch (const std::exception&) {
    }
    throw UsageError("--" + name + " expects a number, found '" + v + "'");
  }
  std::string require(const std::string& name) const {
    if (!has(name)) throw UsageError("--" + name + " is required (see tlc " + command_ + " --help)");
    return get(name);
  }
  const std::vector<std::string>& positionals() const { return positionals_; }
  std::string positional_or_throw(size_t i) const {
    if (i >= positionals_.size())
      throw UsageError("missing " + positional_names_.at(i).first + " (see tlc " + command_ + " --help)");
    return positionals_[i];
  }

  std::string help() const {
    std::ostringstream os;
    os << "usage: tlc " << command_;
    for (auto& p : positional_names_) os << " " << p.first;
    os << " [options]\n\n" << summary_ << "\n";
    if (!positional_names_.empty()) {
      os << "\narguments:\n";
      for (auto& p : positional_names_) os << "  " << pad(p.first, 26) << p.second << "\n";
    }
    os << "\noptions:\n";
    for (auto& s : specs_) {
      std::string left = "--" + s.name + (s.is_flag ? "" : " " + s.meta);
      for (auto& [letter, name] : aliases_)
        if (name == s.name) left = std::string("-") + letter + ", " + left;
      os << "  " << pad(left, 26) << s.help;
      if (!s.def.empty()) os << " (default: " << s.def << ")";
      if (s.repeatable) os << " (repeatable)";
      os << "\n";
    }
    os << "  " << pad("-h, --help", 26) << "show this help\n";
    return os.str();
  }

 private:
  struct Spec {
    std::string name, meta, help, def;
    bool is_flag, repeatable;
  };
  const Spec* find(const std::string& name) const {
    for (const auto& s : specs_)
      if (s.name == name) return &s;
    return nullptr;
  }
  static std::string pad(const std::string& s, size_t n) { return s.size() >= n ? s + " " : s + std::string(n - s.size(), ' '); }

  std::string command_, summary_;
  std::vector<Spec> specs_;
  std::vector<std::pair<std::string, std::string>> positional_names_;
  std::map<std::string, std::vector<std::string>> values_;
  std::map<char, std::string> aliases_;
  std::vector<std::string> positionals_;
};

}  // namespace tlc::cli
