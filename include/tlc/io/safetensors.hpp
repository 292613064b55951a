#pragma once
// safetensors (https://huggingface.co/docs/safetensors): u64 little-endian header length N, N bytes
// of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the
// data; offsets are relative to the end of the header. We write F32 and read F32/F16/BF16/F64
// (converted to float). Every header field is validated before any data is touched; a bad file
// is a tlc::FormatError naming the file and the tensor. See docs/FORMATS.md.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlc/io/file.hpp"
#include "tlc/io/json.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::io {

struct SafetensorsData {
  std::vector<std::pair<std::string, TensorF>> tensors;  // in header order
  std::map<std::string, std::string> metadata;

  // The tensor called name, or an undefined tensor.
  TensorF find(const std::string& name) const {
    for (const auto& t : tensors)
      if (t.first == name) return t.second;
    return TensorF();
  }
};

constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

namespace detail {

inline bool safetensors_dtype(const std::string& name, FloatType& t) {
  if (name == "F32") t = FloatType::F32;
  else if (name == "F16") t = FloatType::F16;
  else if (name == "BF16") t = FloatType::BF16;
  else if (name == "F64") t = FloatType::F64;
  else return false;
  return true;
}

inline bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return !__builtin_mul_overflow(a, b, &out);
}

}  // namespace detail

// Parses a whole safetensors file held in memory; `name` is used in error messages.
inline SafetensorsData parse_safetensors(std::string_view bytes, const std::string& name) {
  const std::string where = "safetensors '" + name + "': ";
  TLC_CHECK(bytes.size() >= 8, FormatError, where, "expected at least 8 bytes (the header length), found ",
            bytes.size());
  const auto* base = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::uint64_t header_len = load_le(base, 8);
  // Another kind of file (an image, a .pth) fails one of these first three checks: say so.
  const std::string other = where + "not a safetensors file: ";
  TLC_CHECK(header_len <= kMaxSafetensorsHeaderBytes, FormatError, other, "its header length ", header_len,
            " is larger than the limit of ", kMaxSafetensorsHeaderBytes, " bytes");
  TLC_CHECK(header_len <= bytes.size() - 8, FormatError, other, "its header length ", header_len,
            " runs past the end of the file (", bytes.size(), " bytes)");
  const std::size_t first = bytes.find_first_not_of(" \t\r\n", 8);
  TLC_CHECK(header_len > 0 && first < 8 + header_len && bytes[first] == '{', FormatError, other,
            "expected the header to be a JSON object (starting with '{') after the 8-byte header length");
  json::Value header;
  try {
    header = json::parse(bytes.substr(8, static_cast<std::size_t>(header_len)), 8);
  } catch (const FormatError& e) {
    throw FormatError(where + "invalid header: " + e.what());
  }
  TLC_CHECK(header.is_object(), FormatError, where, "expected the header to be a JSON object, found ",
            json::Value::kind_name(header.kind()));

  const std::uint64_t data_size = bytes.size() - 8 - header_len;
  const unsigned char* data = base + 8 + header_len;
  SafetensorsData out;
  struct Range {
    std::uint64_t begin, end;
    std::size_t index;  // into out.tensors
  };
  std::vector<Range> ranges;
  for (const auto& [key, info] : header.as_object()) {
    if (key == "__metadata__") {
      TLC_CHECK(info.is_object(), FormatError, where, "expected __metadata__ to be an object, found ",
                json::Value::kind_name(info.kind()));
      for (const auto& [mk, mv] : info.as_object()) {
        TLC_CHECK(mv.is_string(), FormatError, where, "metadata '", mk, "': expected a string value, found ",
                  json::Value::kind_name(mv.kind()));
        out.metadata[mk] = mv.as_string();
      }
      continue;
    }
    const std::string what = where + "tensor '" + key + "': ";
    TLC_CHECK(info.is_object(), FormatError, what, "expected an object, found ", json::Value::kind_name(info.kind()));
    for (const auto& member : info.as_object())
      TLC_CHECK(member.first == "dtype" || member.first == "shape" || member.first == "data_offsets", FormatError,
                what, "unexpected field '", member.first, "'");
    const json::Value* dtype = info.find("dtype");
    const json::Value* shape = info.find("shape");
    const json::Value* offsets = info.find("data_offsets");
    TLC_CHECK(dtype && shape && offsets, FormatError, what, "expected the fields dtype, shape and data_offsets");
    TLC_CHECK(dtype->is_string(), FormatError, what, "expected dtype to be a string");
    FloatType type;
    TLC_CHECK(detail::safetensors_dtype(dtype->as_string(), type), FormatError, what, "unsupported dtype '",
              dtype->as_string(), "' (expected F32, F16, BF16 or F64)");
    TLC_CHECK(shape->is_array(), FormatError, what, "expected shape to be an array");
    const auto& dims = shape->as_array();
    TLC_CHECK(dims.size() <= static_cast<std::size_t>(Shape::kMaxRank), FormatError, what, "expected rank <= ",
              Shape::kMaxRank, ", found rank ", dims.size());
    std::vector<index_t> sizes;
    // Zero dimensions aside, the product must fit int64: tensor code computes strides from it.
    std::uint64_t numel = 1, bound = 1;
    for (const auto& d : dims) {
      TLC_CHECK(d.is_int() && d.as_int() >= 0, FormatError, what, "expected non-negative integer dimensions in shape");
      const auto n = static_cast<std::uint64_t>(d.as_int());
      TLC_CHECK(detail::checked_mul(bound, std::max<std::uint64_t>(n, 1), bound) && bound <= INT64_MAX, FormatError,
                what, "shape overflows 64 bits");
      numel = n == 0 ? 0 : numel * n;
      sizes.push_back(d.as_int());
    }
    std::uint64_t nbytes = 0;
    TLC_CHECK(detail::checked_mul(numel, element_size(type), nbytes), FormatError, what, "shape overflows 64 bits");
    TLC_CHECK(offsets->is_array() && offsets->as_array().size() == 2 && offsets->as_array()[0].is_int() &&
                  offsets->as_array()[1].is_int(),
              FormatError, what, "expected data_offsets to be two integers");
    const std::int64_t b = offsets->as_array()[0].as_int(), e = offsets->as_array()[1].as_int();
    TLC_CHECK(b >= 0 && b <= e, FormatError, what, "data_offsets [", b, ",", e, "] are not an ordered range");
    const auto begin = static_cast<std::uint64_t>(b), end = static_cast<std::uint64_t>(e);
    TLC_CHECK(end <= data_size, FormatError, what, "data_offsets [", b, ",", e, "] run past the data (", data_size,
              " bytes)");
    TLC_CHECK(end - begin == nbytes, FormatError, what, "data_offsets [", b, ",", e, "] hold ", end - begin,
              " bytes, expected ", nbytes, " for shape ", shape->dump(), " of ", dtype->as_string());

    TensorF t = TensorF::empty(Shape(sizes.begin(), sizes.end()));
    decode_floats(data + begin, type, numel, t.data());
    out.tensors.emplace_back(key, std::move(t));
    ranges.push_back({begin, end, out.tensors.size() - 1});
  }
  // The JSON parser already refused duplicate names; refuse overlapping data too.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (std::size_t i = 1; i < ranges.size(); ++i)
    TLC_CHECK(ranges[i].begin >= ranges[i - 1].end, FormatError, where, "tensor '", out.tensors[ranges[i].index].first,
              "' overlaps '", out.tensors[ranges[i - 1].index].first, "' in the data section");
  return out;
}

inline SafetensorsData load_safetensors(const std::string& path) {
  const MappedFile file(path, kMaxWeightFileBytes);
  return parse_safetensors(file.bytes(), path);
}

// Writes F32 tensors in the given order, atomically (a temp file renamed over path).
inline void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, TensorF>>& tensors,
                             const std::map<std::string, std::string>& metadata = {}) {
  const std::string where = "save_safetensors '" + path + "': ";
  json::Value header = json::Value::object();
  if (!metadata.empty()) {
    json::Value meta = json::Value::object();
    for (const auto& [k, v] : metadata) meta.set(k, json::Value(v));
    header.set("__metadata__", std::move(meta));
  }
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    TLC_CHECK(!name.empty() && name != "__metadata__", FormatError, where, "invalid tensor name '", name, "'");
    TLC_CHECK(names.insert(name).second, FormatError, where, "duplicate tensor name '", name, "'");
    TLC_CHECK(t.defined(), Error, where, "tensor '", name, "' is undefined");
    json::Value shape = json::Value::array();
    for (int i = 0; i < t.dim(); ++i) shape.push_back(json::Value(t.size(i)));
    const std::uint64_t nbytes = t.nbytes();
    header.set(name, json::Value::object({{"dtype", json::Value("F32")},
                                          {"shape", std::move(shape)},
                                          {"data_offsets", json::Value::array({json::Value(std::int64_t(offset)),
                                                                               json::Value(std::int64_t(offset + nbytes))})}}));
    offset += nbytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned
  std::string prefix(8, '\0');
  for (int i = 0; i < 8; ++i) prefix[static_cast<std::size_t>(i)] = static_cast<char>((text.size() >> (8 * i)) & 0xFF);

  AtomicFile f(path);
  f.write(prefix);
  f.write(text);
  std::string chunk;
  for (const auto& entry : tensors) {
    const TensorF cpu = entry.second.cpu();
    const float* p = cpu.data();
    for (index_t i = 0; i < cpu.numel(); ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, &p[i], 4);
      for (int b = 0; b < 4; ++b) chunk += static_cast<char>((bits >> (8 * b)) & 0xFF);
      if (chunk.size() >= (1u << 20)) {
        f.write(chunk);
        chunk.clear();
      }
    }
  }
  f.write(chunk);
  f.commit();
}

}  // namespace tlc::io
