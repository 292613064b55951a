#include "test_util.hpp"
#include "tlc/io/json.hpp"

using tlc::FormatError;
using namespace tlc::io;
using Catch::Matchers::Contains;

TEST_CASE("json: parses values, keeps key order and exact integers") {
  const auto v = json::parse(R"( {"z": [1, -2, 3.5, 1e3, true, false, null], "a": {"s": "x\"y\\\n\u00e9\ud83d\ude00"},
                                  "big": 9007199254740993, "neg": -9223372036854775808} )");
  REQUIRE(v.is_object());
  const auto& members = v.as_object();
  REQUIRE(members.size() == 4);
  CHECK(members[0].first == "z");
  CHECK(members[1].first == "a");
  const auto& z = v.find("z")->as_array();
  CHECK(z[0].as_int() == 1);
  CHECK(z[1].as_int() == -2);
  CHECK(z[2].as_double() == 3.5);
  CHECK(!z[3].is_int());
  CHECK(z[3].as_double() == 1000.0);
  CHECK(z[4].as_bool());
  CHECK(!z[5].as_bool());
  CHECK(z[6].is_null());
  CHECK(v.find("a")->find("s")->as_string() == "x\"y\\\n\xc3\xa9\xf0\x9f\x98\x80");
  CHECK(v.find("big")->as_int() == 9007199254740993LL);  // not representable as a double
  CHECK(v.find("neg")->as_int() == std::numeric_limits<std::int64_t>::min());
  CHECK(json::parse("9223372036854775808").as_double() == 9223372036854775808.0);  // beyond int64: a double
  CHECK(v.find("missing") == nullptr);
}

TEST_CASE("json: dump round-trips and escapes") {
  json::Value v = json::Value::object();
  v.set("name", json::Value("tab\there \x01 \"q\" \xc3\xa9"));
  v.set("n", json::Value(std::int64_t(-7)));
  v.set("x", json::Value(0.1));
  v.set("whole", json::Value(2.0));
  v.set("list", json::Value::array({json::Value(true), json::Value(), json::Value("s")}));
  v.set("n", json::Value(3));  // replaces in place
  const std::string text = v.dump();
  CHECK(text ==
        "{\"name\":\"tab\\there \\u0001 \\\"q\\\" \xc3\xa9\",\"n\":3,\"x\":0.1,\"whole\":2.0,"
        "\"list\":[true,null,\"s\"]}");
  const auto back = json::parse(text);
  CHECK(back.dump() == text);
  CHECK(back.find("x")->as_double() == 0.1);
  CHECK(!back.find("whole")->is_int());
  CHECK_THROWS_AS(json::Value(std::nan("")).dump(), FormatError);
  CHECK_THROWS_AS(json::Value(HUGE_VAL).dump(), FormatError);
}

TEST_CASE("json: depth limit") {
  auto nested = [](int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); };
  CHECK_NOTHROW(json::parse(nested(64)));
  CHECK_THROWS_WITH(json::parse(nested(65)), Contains("nesting deeper than the limit of 64"));
  CHECK_THROWS_AS(json::parse(nested(3), 2), FormatError);
  // Far beyond the limit: refused before any deep recursion.
  CHECK_THROWS_AS(json::parse(std::string(1000000, '[')), FormatError);
}

TEST_CASE("json: refuses malformed text with FormatError") {
  const char* bad[] = {
      "",         "   ",       "{",          "[1,]",        "{\"a\":1,}",  "{\"a\" 1}",     "{a:1}",
      "[1 2]",    "01",        "-",          "1.",          ".5",          "1e",            "+1",
      "NaN",      "Infinity",  "1e999",      "-1e999",      "tru",         "nul",           "\"abc",
      "\"\\x\"",  "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\nb\"", "[] []",
      "{\"a\":1,\"a\":2}",     "\"\xc3\"",    "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xff\"",
      "1e-400"};
  for (const char* text : bad) {
    INFO(text);
    CHECK_THROWS_AS(json::parse(text), FormatError);
  }
  CHECK_THROWS_WITH(json::parse("{\"k\":1,\"k\":2}"), Contains("duplicate key \"k\""));
}

TEST_CASE("json: typed accessors name what they expected and found") {
  const auto v = json::parse("[\"s\", 1.5]");
  CHECK_THROWS_WITH(v.as_object(), Contains("expected an object, found an array"));
  CHECK_THROWS_WITH(v.as_array()[0].as_int(), Contains("expected an integer, found a string"));
  CHECK_THROWS_WITH(v.as_array()[1].as_int(), Contains("expected an integer, found a number"));
  CHECK_THROWS_AS(v.as_array()[0].as_double(), FormatError);
}
