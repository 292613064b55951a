#include <dirent.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "test_util.hpp"
#include "tlc/io/safetensors.hpp"

using namespace tlc;
using Catch::Matchers::Contains;

namespace {

const std::string kData = std::string(TLC_SOURCE_DIR) + "/tests/data/io/";

std::string tmp_path(const std::string& name) { return std::string(TLC_BINARY_DIR) + "/test_safetensors_" + name; }

// A file from a header text and data bytes (the header length is written as given).
std::string file_bytes(const std::string& header, const std::string& data = "") {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  return out + header + data;
}

io::SafetensorsData parse(const std::string& bytes) { return io::parse_safetensors(bytes, "mem.safetensors"); }

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) names.emplace_back(e->d_name);
    closedir(d);
  }
  return names;
}

}  // namespace

TEST_CASE("safetensors: round trip keeps order, shapes, values and metadata") {
  std::vector<std::pair<std::string, TensorF>> tensors = {
      {"z.weight", test::random<float>(Shape{2, 3, 3, 3}, 1)},
      {"a.bias", test::random<float>(Shape{5}, 2)},
      {"scalar", TensorF::scalar(-3.25f)},
      {"empty", TensorF::empty(Shape{0, 4})},
      {"m", test::random<float>(Shape{3, 1, 7}, 3, -1e30, 1e30)},
  };
  tensors[1].second.data()[0] = -0.0f;
  tensors[1].second.data()[1] = std::numeric_limits<float>::infinity();
  tensors[1].second.data()[2] = std::numeric_limits<float>::denorm_min();
  const std::map<std::string, std::string> meta = {{"tlc.arch", "{\"name\":\"NAFNet\"}"}, {"tlc.train_size", "256"}};
  const std::string path = tmp_path("roundtrip.safetensors");
  io::save_safetensors(path, tensors, meta);

  const auto loaded = io::load_safetensors(path);
  CHECK(loaded.metadata == meta);
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    INFO(tensors[i].first);
    CHECK(loaded.tensors[i].first == tensors[i].first);
    CHECK(loaded.tensors[i].second.shape() == tensors[i].second.shape());
    const auto a = loaded.tensors[i].second.to_vector(), b = tensors[i].second.to_vector();
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);  // bit-exact, incl. -0 and inf
  }
  CHECK(loaded.find("a.bias").defined());
  CHECK(!loaded.find("nope").defined());

  // Layout: 8-byte header length, header padded with spaces so the data starts 8-byte aligned.
  const std::string raw = io::read_file(path, 1 << 20);
  std::uint64_t n = io::load_le(reinterpret_cast<const unsigned char*>(raw.data()), 8);
  CHECK(n % 8 == 0);
  CHECK(raw[8] == '{');
  CHECK(raw.substr(8, n).find_last_not_of(' ') < n);
  CHECK(raw.size() == 8 + n + (2 * 27 + 5 + 1 + 0 + 21) * 4);
}

TEST_CASE("safetensors: reads F32/F16/BF16/F64 written by an independent writer") {
  const auto all = io::json::parse(io::read_file(kData + "expected.json", 1 << 20));
  const auto* expected = all.find("external.safetensors");
  REQUIRE(expected);
  const auto loaded = io::load_safetensors(kData + "external.safetensors");
  CHECK(loaded.metadata.at("tlc.train_size") == "256");
  CHECK(loaded.metadata.at("format") == "pt");
  REQUIRE(loaded.tensors.size() == expected->as_object().size());
  for (std::size_t i = 0; i < loaded.tensors.size(); ++i) {
    const auto& [name, want] = expected->as_object()[i];
    const auto& [got_name, got] = loaded.tensors[i];
    INFO(name);
    CHECK(got_name == name);
    std::vector<index_t> dims;
    for (const auto& d : want.find("shape")->as_array()) dims.push_back(d.as_int());
    CHECK(got.shape() == Shape(dims.begin(), dims.end()));
    const auto& vals = want.find("values")->as_array();
    REQUIRE(static_cast<index_t>(vals.size()) == got.numel());
    for (std::size_t k = 0; k < vals.size(); ++k) CHECK(got.data()[k] == static_cast<float>(vals[k].as_double()));
  }
}

TEST_CASE("safetensors: half and bfloat16 conversion is exact, incl. subnormals, inf and nan") {
  CHECK(io::half_to_float(0x3C00) == 1.0f);
  CHECK(io::half_to_float(0xC000) == -2.0f);
  CHECK(io::half_to_float(0x7BFF) == 65504.0f);
  CHECK(io::half_to_float(0x0001) == std::ldexp(1.0f, -24));
  CHECK(io::half_to_float(0x03FF) == std::ldexp(1023.0f, -24));
  CHECK(io::half_to_float(0x0400) == std::ldexp(1.0f, -14));
  CHECK(std::signbit(io::half_to_float(0x8000)));
  CHECK(io::half_to_float(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(io::half_to_float(0xFC00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(io::half_to_float(0x7E00)));
  CHECK(io::bfloat16_to_float(0x3F80) == 1.0f);
  CHECK(io::bfloat16_to_float(0xC2F7) == -123.5f);
  CHECK(std::isnan(io::bfloat16_to_float(0x7FC0)));
}

TEST_CASE("safetensors: saving is atomic and validates names") {
  const std::string dir = std::string(TLC_BINARY_DIR) + "/test_safetensors_atomic";
  ::mkdir(dir.c_str(), 0755);
  const std::string path = dir + "/model.safetensors";
  io::save_safetensors(path, {{"w", TensorF::full(Shape{2}, 1.0f)}});
  const std::string before = io::read_file(path, 1 << 20);

  CHECK_THROWS_WITH(io::save_safetensors(path, {{"w", TensorF::ones(Shape{1})}, {"w", TensorF::ones(Shape{1})}}),
                    Contains("duplicate tensor name 'w'"));
  CHECK_THROWS_AS(io::save_safetensors(path, {{"__metadata__", TensorF::ones(Shape{1})}}), FormatError);
  CHECK_THROWS_AS(io::save_safetensors(path, {{"", TensorF::ones(Shape{1})}}), FormatError);
  CHECK_THROWS_AS(io::save_safetensors(path, {{"u", TensorF()}}), Error);
  CHECK(io::read_file(path, 1 << 20) == before);  // the failed saves left the old file alone

  io::save_safetensors(path, {{"w", TensorF::full(Shape{3}, 2.0f)}});
  CHECK(io::load_safetensors(path).tensors.at(0).second.numel() == 3);
  auto names = files_in(dir);
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{".", "..", "model.safetensors"});  // no temporary files left

  CHECK_THROWS_AS(io::save_safetensors(dir + "/no/such/dir/x.safetensors", {}), IoError);
  CHECK_THROWS_AS(io::load_safetensors(dir + "/missing.safetensors"), IoError);
  CHECK_THROWS_AS(io::load_safetensors(dir), IoError);  // a directory
}

TEST_CASE("safetensors: hostile headers are FormatErrors naming the file and the tensor") {
  const std::string ok_entry = R"("t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
  const std::string data8(8, '\0');
  CHECK_NOTHROW(parse(file_bytes("{" + ok_entry + "}", data8)));

  struct Case {
    std::string bytes, message;
  };
  std::string huge_len = file_bytes("{}");
  huge_len[5] = 0x10;  // ~ 2^44 bytes of header
  std::string past_end = file_bytes("{}");
  past_end[0] = 3;
  const std::vector<Case> cases = {
      {"", "expected at least 8 bytes"},
      {std::string(7, '\0'), "expected at least 8 bytes"},
      {huge_len, "larger than the limit"},
      {past_end, "runs past the end of the file"},
      {file_bytes("{\"t\":", data8), "invalid header"},
      {file_bytes("[]"), "expected the header to be a JSON object"},
      {file_bytes(R"({"t":[]})"), "tensor 't': expected an object"},
      {file_bytes(R"({"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", data8), "tensor 't': unsupported dtype 'I64'"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[2]}})", data8), "expected the fields"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}})", data8), "unexpected field 'x'"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data8), "non-negative integer dimensions"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", data8), "non-negative integer dimensions"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[1,1,1,1,2],"data_offsets":[0,8]}})", data8), "expected rank <= 4"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", data8), "overflows 64 bits"},
      {file_bytes(R"({"t":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,8]}})", data8), "overflows 64 bits"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[0,4611686018427387904,4],"data_offsets":[0,0]}})"), "overflows 64 bits"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", data8), "hold 4 bytes, expected 8"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", data8), "run past the data"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", data8), "not an ordered range"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data8), "two integers"},
      {file_bytes(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}})", data8), "two integers"},
      {file_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}})", data8),
       "tensor 'b' overlaps 'a'"},
      {file_bytes("{" + ok_entry + "," + ok_entry + "}", data8), "duplicate key \"t\""},
      {file_bytes(R"({"__metadata__":{"k":1}})"), "metadata 'k': expected a string value"},
      {file_bytes(R"({"__metadata__":[]})"), "expected __metadata__ to be an object"},
  };
  for (const auto& c : cases) {
    INFO(c.message);
    CHECK_THROWS_AS(parse(c.bytes), FormatError);
    CHECK_THROWS_WITH(parse(c.bytes), Contains("safetensors 'mem.safetensors'") && Contains(c.message));
  }
}

TEST_CASE("safetensors: every truncation and every single-byte corruption is refused or parsed, never a crash") {
  const std::string path = tmp_path("truncate.safetensors");
  io::save_safetensors(path, {{"a", test::random<float>(Shape{3, 2}, 4)}, {"b", test::random<float>(Shape{2}, 5)}},
                       {{"k", "v"}});
  const std::string full = io::read_file(path, 1 << 20);
  for (std::size_t n = 0; n < full.size(); ++n) {
    INFO(n);
    CHECK_THROWS_AS(parse(full.substr(0, n)), FormatError);
  }
  const std::size_t header_end = 8 + io::load_le(reinterpret_cast<const unsigned char*>(full.data()), 8);
  for (std::size_t i = 0; i < header_end; ++i) {
    std::string bad = full;
    bad[i] = static_cast<char>(bad[i] ^ 0x5A);
    try {
      parse(bad);  // a flip inside a string or padding may still be a valid file
    } catch (const FormatError&) {
    }
  }
}

TEST_CASE("safetensors: another kind of file is named as not a safetensors file") {
  // The first bytes of a PNG read as a header length far beyond the file; a JSON array header
  // and a zip archive (.pth) fail the '{' check.
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(64, '\0');
  const std::string pth = std::string("\x08\0\0\0\0\0\0\0PK\x03\x04", 12) + std::string(8, '\0');
  for (const std::string& bytes : {png, pth, file_bytes("[]")})
    CHECK_THROWS_WITH(parse(bytes), Catch::Contains("safetensors 'mem.safetensors': not a safetensors file"));
}

TEST_CASE("safetensors: weight files are mapped, with the copied reader's checks and errors") {
  const std::string path = tmp_path("mapped.safetensors");
  io::save_safetensors(path, {{"w", test::random<float>(Shape{5, 7}, 6)}});
  const std::string full = io::read_file(path, 1 << 20);
  CHECK(io::MappedFile(path, 1 << 20).bytes() == full);
  // Files cut short on disk go through the mapping and fail as the in-memory parse does.
  for (std::size_t n : {std::size_t(0), std::size_t(7), std::size_t(8), full.size() / 2, full.size() - 1}) {
    INFO(n);
    const std::string cut = tmp_path("mapped_cut.safetensors");
    {
      std::FILE* f = std::fopen(cut.c_str(), "wb");
      REQUIRE(f);
      std::fwrite(full.data(), 1, n, f);
      std::fclose(f);
    }
    CHECK(io::MappedFile(cut, 1 << 20).bytes() == full.substr(0, n));
    CHECK_THROWS_AS(io::load_safetensors(cut), FormatError);
  }
  CHECK_THROWS_WITH(io::MappedFile(path, full.size() - 1), Contains("more than the limit"));
  CHECK_THROWS_WITH(io::MappedFile(std::string(TLC_BINARY_DIR), 1 << 20), Contains("is not a regular file"));
  CHECK_THROWS_WITH(io::load_safetensors(tmp_path("absent.safetensors")), Contains("cannot open"));
  const auto loaded = io::load_safetensors(path);
  REQUIRE(loaded.tensors.size() == 1);
  CHECK(loaded.tensors[0].second.to_vector() == test::random<float>(Shape{5, 7}, 6).to_vector());
}
