#pragma once
// Reads PyTorch zip checkpoints (torch.save since 1.6): `<prefix>/data.pkl` is a pickle whose
// tensors name their storages by persistent id; storage `k` is the raw little-endian entry
// `<prefix>/data/k`. We rebuild each tensor view (offset, size, stride, non-contiguous allowed)
// from its storage after bounds checks and convert float/half/bfloat16/double to float.
// The state dict is the top-level `params`, else `params_ema`, else `state_dict`, else the top-level
// dict itself (or an explicit key); a leading `module.` is stripped; non-tensor entries and integer
// or bool tensors are skipped. The legacy pre-1.6 format is refused. See docs/FORMATS.md.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tlc/io/file.hpp"
#include "tlc/io/pickle.hpp"
#include "tlc/io/zip.hpp"
#include "tlc/tensor/tensor.hpp"

namespace tlc::io {

struct TorchLoadOptions {
  // Top-level key that holds the state dict; empty: params, params_ema, state_dict, else the whole dict.
  std::string key;
  // Bound on the converted floats (bytes), against views that expand a small storage (stride 0,
  // one storage viewed many times); 0 means max(64 MiB, 16 x the file size).
  std::uint64_t max_output_bytes = 0;
};

namespace detail {

inline bool float_storage(pickle::StorageType t, FloatType& out) {
  switch (t) {
    case pickle::StorageType::Float: out = FloatType::F32; return true;
    case pickle::StorageType::Half: out = FloatType::F16; return true;
    case pickle::StorageType::BFloat16: out = FloatType::BF16; return true;
    case pickle::StorageType::Double: out = FloatType::F64; return true;
    default: return false;
  }
}

// Finds the single `<prefix>/data.pkl` entry and returns prefix.
inline std::string torch_archive_prefix(const ZipReader& zip, const std::string& where) {
  std::string prefix;
  int found = 0;
  for (const auto& e : zip.entries()) {
    const auto slash = e.name.find('/');
    if (slash != std::string::npos && e.name.compare(slash, std::string::npos, "/data.pkl") == 0) {
      prefix = e.name.substr(0, slash);
      ++found;
    }
  }
  TLC_CHECK(found == 1, FormatError, where, "expected one '<archive>/data.pkl' entry, found ", found,
            found == 0 ? " (a TorchScript or non-PyTorch zip?)" : "");
  return prefix;
}

}  // namespace detail

// Parses a checkpoint held in memory; name is used in error messages.
inline std::vector<std::pair<std::string, TensorF>> parse_torch_checkpoint(std::string_view bytes,
                                                                           const std::string& name,
                                                                           const TorchLoadOptions& options = {}) {
  const std::string where = "torch checkpoint '" + name + "': ";
  if (bytes.size() < 4 || bytes.substr(0, 4) != std::string_view("PK\x03\x04", 4)) {
    TLC_CHECK(bytes.empty() || static_cast<unsigned char>(bytes[0]) != 0x80, FormatError, where,
              "legacy (pre-1.6, non-zip) PyTorch format is not supported; re-save it with a current torch.save");
    throw FormatError(where + "not a PyTorch zip checkpoint");
  }
  const ZipReader zip(bytes, name);
  const std::string prefix = detail::torch_archive_prefix(zip, where);
  if (const ZipEntry* order = zip.find(prefix + "/byteorder")) {
    const ZipData d = zip.read(*order, 64);
    TLC_CHECK(std::string_view(reinterpret_cast<const char*>(d.data), d.size) == "little", FormatError, where,
              "only little-endian checkpoints are supported");
  }
  const ZipData pkl = zip.read(*zip.find(prefix + "/data.pkl"), std::uint64_t(1) << 30);
  pickle::Unpickled u;
  try {
    u = pickle::unpickle(pkl.data, pkl.size);
  } catch (const FormatError& e) {
    throw FormatError(where + "data.pkl: " + e.what());
  }
  TLC_CHECK(u[u.root].kind == pickle::Kind::Dict, FormatError, where, "expected a dict at the top level");

  std::size_t dict = u.root;
  if (!options.key.empty()) {
    const std::int64_t v = pickle::dict_get(u, u.root, options.key);
    TLC_CHECK(v >= 0 && u[static_cast<std::size_t>(v)].kind == pickle::Kind::Dict, FormatError, where,
              "expected a dict under the top-level key '", options.key, "'");
    dict = static_cast<std::size_t>(v);
  } else {
    for (const char* key : {"params", "params_ema", "state_dict"}) {
      const std::int64_t v = pickle::dict_get(u, u.root, key);
      if (v >= 0 && u[static_cast<std::size_t>(v)].kind == pickle::Kind::Dict) {
        dict = static_cast<std::size_t>(v);
        break;
      }
    }
  }

  // Names in first-insertion order with the last value, as a Python dict; `module.` stripped.
  std::vector<std::pair<std::string, std::size_t>> entries;
  std::map<std::string, std::size_t> position;
  const auto& items = u[dict].items;
  for (std::size_t k = 0; k + 1 < items.size(); k += 2) {
    if (u[items[k]].kind != pickle::Kind::Str) continue;
    const std::string& key = u[items[k]].s;
    auto it = position.find(key);
    if (it != position.end()) {
      entries[it->second].second = items[k + 1];
    } else {
      position.emplace(key, entries.size());
      entries.emplace_back(key, items[k + 1]);
    }
  }

  const std::uint64_t budget = options.max_output_bytes
                                   ? options.max_output_bytes
                                   : std::max<std::uint64_t>(std::uint64_t(64) << 20, 16 * std::uint64_t(bytes.size()));
  std::uint64_t produced = 0;
  std::map<std::string, ZipData> storages;  // by key: views may share one
  std::set<std::string> names;
  std::vector<std::pair<std::string, TensorF>> out;
  for (const auto& [raw_name, value] : entries) {
    const pickle::Node& t = u[value];
    if (t.kind != pickle::Kind::Tensor) continue;
    const pickle::Node& st = u[t.storage];
    FloatType type;
    if (!detail::float_storage(st.storage_type, type)) continue;
    const std::string tname = raw_name.rfind("module.", 0) == 0 ? raw_name.substr(7) : raw_name;
    const std::string what = where + "tensor '" + raw_name + "': ";
    TLC_CHECK(names.insert(tname).second, FormatError, what, "name '", tname, "' appears twice after stripping 'module.'");

    auto it = storages.find(st.s);
    if (it == storages.end()) {
      const ZipEntry* e = zip.find(prefix + "/data/" + st.s);
      TLC_CHECK(e != nullptr, FormatError, what, "storage '", st.s, "' is missing from the archive");
      it = storages.emplace(st.s, zip.read(*e, kMaxWeightFileBytes)).first;
    }
    const ZipData& data = it->second;
    const std::size_t esize = element_size(type);
    const auto storage_numel = static_cast<std::uint64_t>(st.i);
    TLC_CHECK(data.size % esize == 0 && data.size / esize == storage_numel, FormatError, what, "storage '", st.s,
              "' holds ", data.size, " bytes, expected ", storage_numel, " elements of ", esize, " bytes");

    TLC_CHECK(t.size.size() <= static_cast<std::size_t>(Shape::kMaxRank), FormatError, what, "expected rank <= ",
              Shape::kMaxRank, ", found rank ", t.size.size());
    // last: the highest storage index the view reads; bound: the product of the non-zero sizes,
    // which must fit int64 even for an empty tensor (tensor code computes strides from it).
    std::uint64_t numel = 1, bound = 1, last = static_cast<std::uint64_t>(t.i);
    bool overflow = false;
    for (std::size_t d = 0; d < t.size.size(); ++d) {
      const auto sz = static_cast<std::uint64_t>(t.size[d]), sd = static_cast<std::uint64_t>(t.stride[d]);
      std::uint64_t reach = 0;
      overflow |= __builtin_mul_overflow(bound, std::max<std::uint64_t>(sz, 1), &bound) || bound > INT64_MAX;
      numel = sz == 0 ? 0 : numel * sz;
      if (sz > 0) overflow |= __builtin_mul_overflow(sz - 1, sd, &reach) || __builtin_add_overflow(last, reach, &last);
    }
    TLC_CHECK(!overflow, FormatError, what, "size/stride overflow 64 bits");
    if (numel > 0)
      TLC_CHECK(last < storage_numel, FormatError, what, "view (offset ", t.i, ") reads element ", last,
                " of storage '", st.s, "' which has only ", storage_numel);
    else
      TLC_CHECK(static_cast<std::uint64_t>(t.i) <= storage_numel, FormatError, what, "offset ", t.i,
                " is past the end of storage '", st.s, "' (", storage_numel, " elements)");
    TLC_CHECK(numel <= (budget - produced) / 4, FormatError, what, "converting ", numel,
              " elements would exceed the output limit of ", budget, " bytes");
    produced += numel * 4;

    // Strided copy; pad to rank 4 with size-1 dimensions in front.
    std::int64_t size4[4] = {1, 1, 1, 1}, stride4[4] = {0, 0, 0, 0};
    const std::size_t pad = 4 - t.size.size();
    for (std::size_t d = 0; d < t.size.size(); ++d) {
      size4[pad + d] = t.size[d];
      stride4[pad + d] = t.stride[d];
    }
    TensorF tensor = TensorF::empty(Shape(t.size.begin(), t.size.end()));
    float* dst = tensor.data();
    for (std::int64_t a = 0; a < size4[0]; ++a)
      for (std::int64_t b = 0; b < size4[1]; ++b)
        for (std::int64_t c = 0; c < size4[2]; ++c) {
          const std::int64_t row = t.i + a * stride4[0] + b * stride4[1] + c * stride4[2];
          for (std::int64_t d = 0; d < size4[3]; ++d)
            *dst++ = decode_float(data.data, type, static_cast<std::size_t>(row + d * stride4[3]));
        }
    out.emplace_back(tname, std::move(tensor));
  }
  return out;
}

inline std::vector<std::pair<std::string, TensorF>> load_torch_checkpoint(const std::string& path,
                                                                          const TorchLoadOptions& options = {}) {
  return parse_torch_checkpoint(read_file(path, kMaxWeightFileBytes), path, options);
}

}  // namespace tlc::io
