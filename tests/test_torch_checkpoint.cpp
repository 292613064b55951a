#include <cmath>
#include <cstring>

#include "test_util.hpp"
#include "tlc/io/json.hpp"
#include "tlc/io/torch_checkpoint.hpp"

using namespace tlc;
using Catch::Matchers::Contains;
using namespace std::string_literals;

namespace {

const std::string kData = std::string(TLC_SOURCE_DIR) + "/tests/data/io/";

std::string fixture(const std::string& name) { return io::read_file(kData + name, 1 << 22); }

const io::json::Value& expected() {
  static const io::json::Value v = io::json::parse(fixture("expected.json"));
  return v;
}

float expected_value(const io::json::Value& v) {
  if (v.is_string()) return v.as_string() == "inf" ? INFINITY : -INFINITY;
  return static_cast<float>(v.as_double());
}

void check_against_expected(const std::vector<std::pair<std::string, TensorF>>& got, const std::string& key) {
  const auto* want = expected().find(key);
  REQUIRE(want);
  REQUIRE(got.size() == want->as_object().size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto& [name, w] = want->as_object()[i];
    INFO(key << ": " << name);
    CHECK(got[i].first == name);
    std::vector<index_t> dims;
    for (const auto& d : w.find("shape")->as_array()) dims.push_back(d.as_int());
    REQUIRE(got[i].second.shape() == Shape(dims.begin(), dims.end()));
    const auto& vals = w.find("values")->as_array();
    for (std::size_t k = 0; k < vals.size(); ++k) {
      const float e = expected_value(vals[k]), g = got[i].second.data()[k];
      CHECK(std::memcmp(&e, &g, 4) == 0);  // bit-exact (the conversions are exact or round like torch)
    }
  }
}

// ---- pickle and archive builders for hostile cases --------------------------------------------
std::string le(std::uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}
std::string str(const std::string& s) { return "X" + le(s.size(), 4) + s; }
std::string integer(std::int64_t v) { return "\x8a\x08" + le(static_cast<std::uint64_t>(v), 8); }  // LONG1
std::string global(const std::string& module, const std::string& name) { return "c" + module + "\n" + name + "\n"; }
std::string tuple(const std::vector<std::int64_t>& v) {
  std::string s = "(";
  for (auto x : v) s += integer(x);
  return s + "t";
}
std::string storage(const std::string& type, const std::string& key, std::int64_t numel) {
  return "(" + str("storage") + global("torch", type) + str(key) + str("cpu") + integer(numel) + "tQ";
}
std::string tensor(const std::string& storage_pid, std::int64_t offset, const std::vector<std::int64_t>& size,
                   const std::vector<std::int64_t>& stride) {
  return global("torch._utils", "_rebuild_tensor_v2") + "(" + storage_pid + integer(offset) + tuple(size) +
         tuple(stride) + "\x89" + global("collections", "OrderedDict") + ")Rt" + "R";
}
// {name: value, ...} as a whole pickle
std::string dict_pickle(const std::vector<std::pair<std::string, std::string>>& entries) {
  std::string s = "\x80\x02}(";
  for (const auto& [k, v] : entries) s += str(k) + v;
  return s + "u.";
}
std::string floats(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(&s[0], v.data(), s.size());  // the test machines are little-endian, as torch's files
  return s;
}
std::string archive(const std::string& pkl, const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  std::vector<std::pair<std::string, std::string>> files = {{"ckpt/data.pkl", pkl}};
  for (const auto& [k, data] : storages) files.emplace_back("ckpt/data/" + k, data);
  files.emplace_back("ckpt/version", "3\n");
  return io::make_stored_zip(files);
}

std::vector<std::pair<std::string, TensorF>> parse(const std::string& bytes, const io::TorchLoadOptions& opt = {}) {
  return io::parse_torch_checkpoint(bytes, "mem.pth", opt);
}

}  // namespace

TEST_CASE("torch checkpoint: fixtures written by torch.save load exactly") {
  check_against_expected(io::load_torch_checkpoint(kData + "bare.pth"), "bare.pth");
  check_against_expected(io::load_torch_checkpoint(kData + "bare_deflate.pth"), "bare_deflate.pth");
  check_against_expected(io::load_torch_checkpoint(kData + "views.pth"), "views.pth");
  // dtypes.pth: {'state_dict': {...}}; the int64 tensor and the bool entry are skipped
  check_against_expected(io::load_torch_checkpoint(kData + "dtypes.pth"), "dtypes.pth");
}

TEST_CASE("torch checkpoint: picks params, strips module., honours an explicit key") {
  check_against_expected(io::load_torch_checkpoint(kData + "params_module.pth"), "params_module.pth");
  io::TorchLoadOptions opt;
  opt.key = "params_ema";
  check_against_expected(io::load_torch_checkpoint(kData + "params_module.pth", opt), "params_module.pth#params_ema");
  opt.key = "iter";
  CHECK_THROWS_WITH(io::load_torch_checkpoint(kData + "params_module.pth", opt),
                    Contains("expected a dict under the top-level key 'iter'"));
  opt.key = "missing";
  CHECK_THROWS_AS(io::load_torch_checkpoint(kData + "params_module.pth", opt), FormatError);
}

TEST_CASE("torch checkpoint: shared storage views are copies of the right elements") {
  const auto v = io::load_torch_checkpoint(kData + "views.pth");
  auto find = [&](const std::string& n) {
    for (const auto& [k, t] : v)
      if (k == n) return t;
    FAIL("missing " << n);
    return TensorF();
  };
  const TensorF t = find("transposed"), row0 = find("row0"), row3 = find("row3"), slice = find("slice");
  for (index_t j = 0; j < 6; ++j) {
    CHECK(row0.data()[j] == t.data()[j * 4 + 0]);
    CHECK(row3.data()[j] == t.data()[j * 4 + 3]);
  }
  CHECK(slice.data()[1] == t.data()[2 * 4 + 1]);  // base[1, 2]
  CHECK(!row0.shares_storage(row3));
}

TEST_CASE("torch checkpoint: hand-built pickles (the builders used below) load") {
  const std::string pkl = dict_pickle({{"module.w", tensor(storage("FloatStorage", "0", 6), 1, {2, 2}, {1, 2})},
                                       {"n", integer(5)},
                                       {"h", tensor(storage("HalfStorage", "1", 1), 0, {}, {})}});
  const auto got = parse(archive(pkl, {{"0", floats({0, 1, 2, 3, 4, 5})}, {"1", le(0x3C00, 2)}}));
  REQUIRE(got.size() == 2);
  CHECK(got[0].first == "w");
  CHECK(got[0].second.to_vector() == std::vector<float>{1, 3, 2, 4});
  CHECK(got[1].first == "h");
  CHECK(got[1].second.item() == 1.0f);
  // Later duplicate keys replace the value in place, like a Python dict.
  const std::string dup = dict_pickle({{"a", tensor(storage("FloatStorage", "0", 2), 0, {1}, {1})},
                                       {"b", tensor(storage("FloatStorage", "0", 2), 0, {1}, {1})},
                                       {"a", tensor(storage("FloatStorage", "0", 2), 1, {1}, {1})}});
  const auto d = parse(archive(dup, {{"0", floats({7, 8})}}));
  REQUIRE(d.size() == 2);
  CHECK(d[0].first == "a");
  CHECK(d[0].second.item() == 8.0f);
}

TEST_CASE("torch checkpoint: hostile pickles are FormatErrors naming the problem") {
  const std::string s6 = floats({0, 1, 2, 3, 4, 5});
  struct Case {
    std::string bytes, message;
  };
  const std::string w = tensor(storage("FloatStorage", "0", 6), 0, {6}, {1});
  const std::vector<Case> cases = {
      {archive("\x80\x02" + global("os", "system") + str("echo pwned") + "\x85R."), "global 'os.system' is not allowed"},
      {archive("\x80\x02" + str("builtins") + str("eval") + "\x93" + str("1") + "\x85R."),
       "global 'builtins.eval' is not allowed"},
      {archive("\x80\x02" + global("torch", "load") + "."), "global 'torch.load' is not allowed"},
      {archive("\x80\x02}(" + str("x") + "i__main__\nX\n" + "u."), "unsupported opcode 0x69"},
      {archive("\x80\x02}\x8f."), "unsupported opcode 0x8f"},
      {archive("\x80\x09}."), "unsupported protocol 9"},
      {archive("\x80\x02}"), "data ends early (no STOP)"},
      {archive("\x80\x02" + str("x") + "."), "expected a dict at the top level"},
      {archive("\x80\x02h\x05."), "memo key 5 was never stored"},
      {archive("\x80\x02s."), "stack underflow"},
      {archive("\x80\x02}(\x85."), "stack underflow"},  // TUPLE1 may not reach below a MARK
      {archive("\x80\x02]" + str("k") + str("v") + "s."), "SETITEM on something that is not a dict"},
      {archive("\x80\x02}t."), "no MARK"},
      {archive("\x80\x02" + global("collections", "OrderedDict") + "(" + integer(1) + "tR."), "expected no arguments"},
      {archive("\x80\x02" + global("torch", "FloatStorage") + ")R."), "not an allowed function"},
      {archive("\x80\x02" + str("x") + "Q."), "persistent id must be"},
      {archive("\x80\x02(" + str("storage") + global("collections", "OrderedDict") + str("0") + str("cpu") +
               integer(1) + "tQ."),
       "the storage type must be a torch storage class"},
      {archive(dict_pickle({{"w", global("torch._utils", "_rebuild_tensor_v2") + "(" + integer(1) + "tR"}})),
       "unexpected number of arguments"},
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), 0, {6}, {1, 1})}}), {{"0", s6}}),
       "size and stride differ"},
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), 0, {-1}, {1})}}), {{"0", s6}}),
       "non-negative integers"},
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), -1, {6}, {1})}}), {{"0", s6}}),
       "storage offset must be a non-negative integer"},
      // storage file shorter than the persistent id says
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 100), 0, {6}, {1})}}), {{"0", s6}}),
       "tensor 'w': storage '0' holds 24 bytes, expected 100 elements"},
      // views reaching past their storage
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), 0, {7}, {1})}}), {{"0", s6}}),
       "tensor 'w': view (offset 0) reads element 6 of storage '0' which has only 6"},
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), 2, {2, 2}, {3, 1})}}), {{"0", s6}}),
       "reads element 6"},
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), 7, {0}, {1})}}), {{"0", s6}}),
       "offset 7 is past the end"},
      // huge shapes
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), 0, {1LL << 62, 1LL << 62}, {0, 0})}}),
               {{"0", s6}}),
       "size/stride overflow 64 bits"},
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), 0, {0, 1LL << 62, 4}, {1, 1, 1})}}),
               {{"0", s6}}),
       "size/stride overflow 64 bits"},  // empty, but its strides would not fit int64
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), 0, {1LL << 40}, {0})}}), {{"0", s6}}),
       "would exceed the output limit"},
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "0", 6), 0, {1, 1, 1, 1, 6}, {6, 6, 6, 6, 1})}}),
               {{"0", s6}}),
       "expected rank <= 4, found rank 5"},
      {archive(dict_pickle({{"w", tensor(storage("FloatStorage", "9", 6), 0, {6}, {1})}}), {{"0", s6}}),
       "storage '9' is missing"},
      {archive(dict_pickle({{"module.w", w}, {"w", w}}), {{"0", s6}}), "appears twice after stripping 'module.'"},
  };
  for (const auto& c : cases) {
    INFO(c.message);
    CHECK_THROWS_AS(parse(c.bytes), FormatError);
    CHECK_THROWS_WITH(parse(c.bytes), Contains("torch checkpoint 'mem.pth'") && Contains(c.message));
  }
}

TEST_CASE("torch checkpoint: deep nesting, cycles and many objects are harmless") {
  // 200k nested lists: built in an arena, no recursion anywhere.
  std::string deep = "\x80\x02";
  for (int i = 0; i < 200000; ++i) deep += "]";
  for (int i = 0; i < 199999; ++i) deep += "a";
  CHECK_THROWS_WITH(parse(archive(deep + ".")), Contains("expected a dict at the top level"));
  // A dict that contains itself, plus a tensor entry.
  const std::string cyc = "\x80\x02}q\x00("s + str("self") + "h\x00"s + str("w") +
                          tensor(storage("FloatStorage", "0", 1), 0, {1}, {1}) + "u.";
  const auto got = parse(archive(cyc, {{"0", floats({4})}}));
  REQUIRE(got.size() == 1);
  CHECK(got[0].second.item() == 4.0f);
  // The arena has a limit.
  io::pickle::Limits lim;
  lim.max_nodes = 10;
  const std::string many = "\x80\x02" + std::string(20, 'N') + ".";
  CHECK_THROWS_WITH(io::pickle::unpickle(reinterpret_cast<const unsigned char*>(many.data()), many.size(), lim),
                    Contains("more than 10 objects"));
}

TEST_CASE("torch checkpoint: zip damage is a FormatError") {
  const std::string good = fixture("bare.pth");
  REQUIRE_NOTHROW(parse(good));
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO("truncated to " << n);
    CHECK_THROWS_AS(parse(good.substr(0, n)), FormatError);
  }
  // A flipped byte in the first storage's data: CRC mismatch.
  const io::ZipReader zip(good, "bare.pth");
  const io::ZipEntry* e = zip.find("bare/data/0");
  REQUIRE(e);
  std::string bad = good;
  bad[e->local_offset + 30 + e->name.size() + io::load_le(reinterpret_cast<const unsigned char*>(good.data()) +
                                                               e->local_offset + 28, 2) + 5] ^= 1;
  CHECK_THROWS_WITH(parse(bad), Contains("entry 'bare/data/0': CRC-32 mismatch"));

  // Every single-byte corruption of the deflated copy: refused (or, in unchecked padding, still exact).
  const std::string deflated = fixture("bare_deflate.pth");
  const auto reference = parse(deflated);
  int refused = 0;
  for (std::size_t i = 0; i < deflated.size(); ++i) {
    std::string b = deflated;
    b[i] = static_cast<char>(b[i] ^ 0x21);
    try {
      const auto got = parse(b);
      REQUIRE(got.size() == reference.size());
      for (std::size_t k = 0; k < got.size(); ++k) CHECK(test::max_abs_diff(got[k].second, reference[k].second) == 0);
    } catch (const FormatError&) {
      ++refused;
    }
  }
  CHECK(refused > static_cast<int>(deflated.size()) / 2);

  CHECK_THROWS_WITH(parse("hello world, not a zip"), Contains("not a PyTorch zip checkpoint"));
  CHECK_THROWS_WITH(parse(fixture("legacy.pth")), Contains("legacy (pre-1.6, non-zip)"));
  CHECK_THROWS_WITH(parse(io::make_stored_zip({{"a/x.txt", "x"}})), Contains("expected one '<archive>/data.pkl'"));
  CHECK_THROWS_WITH(parse(io::make_stored_zip({{"a/data.pkl", "."}, {"b/data.pkl", "."}})), Contains("found 2"));
  CHECK_THROWS_WITH(parse(io::make_stored_zip({{"a/data.pkl", "."}, {"a/data.pkl", "."}})),
                    Contains("duplicate entry name"));
  CHECK_THROWS_WITH(parse(io::make_stored_zip({{"a/data.pkl", "\x80\x02}."}, {"a/byteorder", "big"}})),
                    Contains("only little-endian"));
}

TEST_CASE("zip: central directory fields are bounds-checked") {
  const std::string good = io::make_stored_zip({{"a/data.pkl", "\x80\x02}."}});
  REQUIRE_NOTHROW(parse(good));
  const std::size_t cd = io::load_le(reinterpret_cast<const unsigned char*>(good.data()) + good.size() - 6, 4);
  const std::size_t eocd = good.size() - 22;
  auto patched = [&](std::size_t at, std::uint64_t value, int bytes) {
    std::string b = good;
    for (int i = 0; i < bytes; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xFF);
    return b;
  };
  CHECK_THROWS_WITH(parse(patched(cd + 8, 1, 2)), Contains("encrypted entries are not supported"));
  CHECK_THROWS_WITH(parse(patched(cd + 10, 12, 2)), Contains("compression method 12 is not supported"));
  CHECK_THROWS_WITH(parse(patched(cd + 42, 0xFFFFFF, 4)), Contains("outside the archive"));
  CHECK_THROWS_WITH(parse(patched(cd + 20, 1000, 4)), Contains("overlaps the central directory"));
  CHECK_THROWS_WITH(parse(patched(cd + 28, 60000, 2)), Contains("runs past its end"));
  CHECK_THROWS_WITH(parse(patched(eocd + 10, 50000, 2)), Contains("claims 50000 entries"));
  CHECK_THROWS_WITH(parse(patched(eocd + 12, 0xFFFFFFFF, 4)), Contains("out of bounds"));
  CHECK_THROWS_WITH(parse(patched(eocd + 4, 1, 2)), Contains("multi-disk"));
  CHECK_THROWS_WITH(parse(patched(eocd + 20, 5, 2)), Contains("no end-of-central-directory record"));
  CHECK_THROWS_WITH(parse(patched(0, 0x04034b51, 4)), Contains("not a PyTorch zip checkpoint"));
  CHECK_THROWS_WITH(parse(patched(cd, 0x12345678, 4)), Contains("bad central directory signature"));
  CHECK_THROWS_WITH(parse(patched(30, 'b', 1)), Contains("local header names a different file"));
  // A zip64 locator pointing outside the file.
  std::string z64 = good.substr(0, eocd) + "PK\x06\x07" + le(0, 4) + le(1u << 30, 8) + le(1, 4) + good.substr(eocd);
  CHECK_THROWS_WITH(parse(z64), Contains("zip64 end-of-central-directory record is out of bounds"));
}

TEST_CASE("zip: zip64 extra fields replace the 0xFFFFFFFF sizes and offset") {
  // One stored entry whose central directory record defers size, compressed size and offset to a
  // zip64 extra field (what writers do for entries beyond 4 GiB), with `extra_fields` 8-byte values.
  auto archive64 = [](int extra_fields) {
    const std::string name = "a/data.pkl", data = "\x80\x02}.";
    const auto crc = io::crc32(reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string z = le(0x04034b50, 4) + le(45, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) + le(data.size(), 4) +
                    le(data.size(), 4) + le(name.size(), 2) + le(0, 2) + name + data;
    const std::uint64_t values[3] = {data.size(), data.size(), 0};
    std::string extra = le(0x0001, 2) + le(8 * extra_fields, 2);
    for (int i = 0; i < extra_fields; ++i) extra += le(values[i], 8);
    const std::string cd = le(0x02014b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(crc, 4) +
                           le(0xFFFFFFFF, 4) + le(0xFFFFFFFF, 4) + le(name.size(), 2) + le(extra.size(), 2) +
                           le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0xFFFFFFFF, 4) + name + extra;
    return z + cd + le(0x06054b50, 4) + le(0, 4) + le(1, 2) + le(1, 2) + le(cd.size(), 4) + le(z.size(), 4) + le(0, 2);
  };
  const io::ZipReader zip(archive64(3), "z64");
  REQUIRE(zip.entries().size() == 1);
  CHECK(zip.entries()[0].size == 4);
  CHECK(zip.entries()[0].local_offset == 0);
  CHECK(parse(archive64(3)).empty());  // an empty state dict
  CHECK_THROWS_WITH(parse(archive64(2)), Contains("zip64 extra field is too short"));
}

TEST_CASE("inflate: stored, fixed and dynamic blocks") {
  auto bytes = [](const char* hex) {
    std::vector<unsigned char> v;
    for (std::size_t i = 0; hex[i] && hex[i + 1]; i += 2) v.push_back(static_cast<unsigned char>(std::stoi(std::string(hex + i, 2), nullptr, 16)));
    return v;
  };
  auto text = [](const std::vector<unsigned char>& v) { return std::string(v.begin(), v.end()); };
  // Stored: BFINAL=1, BTYPE=00, LEN=3, NLEN=~3.
  const std::vector<unsigned char> stored = {0x01, 0x03, 0x00, 0xFC, 0xFF, 'a', 'b', 'c'};
  CHECK(text(io::inflate(stored.data(), stored.size(), 100)) == "abc");
  // Fixed Huffman (zlib's raw deflate of "hello").
  const auto fixed = bytes("cb48cdc9c90700");
  CHECK(text(io::inflate(fixed.data(), fixed.size(), 100)) == "hello");
  // Dynamic Huffman with back-references (zlib level 9); the data is a formula, checked byte by byte.
  const auto dyn = bytes("edcab11100300802c059f15051f6efdd2255be7ea89788f49a7028731814599e81aaf1c3cb70");
  REQUIRE((dyn[0] >> 1 & 3) == 2);
  const auto out = io::inflate(dyn.data(), dyn.size(), 1000);
  REQUIRE(out.size() == 400);
  for (int i = 0; i < 400; ++i) CHECK(out[static_cast<std::size_t>(i)] == 97 + (i * i * 7 + i / 3) % 11);
  CHECK(io::crc32(out.data(), out.size()) == 2804511538u);

  // Damage.
  CHECK_THROWS_WITH(io::inflate(dyn.data(), dyn.size(), 399), Contains("output larger than the limit of 399"));
  CHECK_THROWS_WITH(io::inflate(dyn.data(), dyn.size() / 2, 1000), Contains("ends early"));
  const std::vector<unsigned char> type3 = {0x07};
  CHECK_THROWS_WITH(io::inflate(type3.data(), type3.size(), 10), Contains("invalid block type 3"));
  const std::vector<unsigned char> bad_len = {0x01, 0x03, 0x00, 0xFC, 0xFE, 'a', 'b', 'c'};
  CHECK_THROWS_WITH(io::inflate(bad_len.data(), bad_len.size(), 10), Contains("complement"));
  // Fixed block: a length/distance pair (length 3, distance 1) before any output.
  const std::vector<unsigned char> far = {0x03, 0x02, 0x00};
  CHECK_THROWS_WITH(io::inflate(far.data(), far.size(), 10), Contains("distance points before the start"));
  CHECK_THROWS_AS(io::inflate(nullptr, 0, 10), FormatError);
}
