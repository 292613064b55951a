// main() of the tests/cuda_*.cpp executables. Catch2 v2 has no SKIP(), so a test case that cannot
// run on this machine is not run at all: a case tagged [gpu] needs a CUDA device, one tagged
// [no-gpu] needs its absence. When every selected case is of that kind, the process exits with
// kSkipped, which tests/CMakeLists.txt declares as CTest's SKIP_RETURN_CODE: CTest then reports
// "Skipped" instead of a pass that checked nothing. Other selections run what can run and say
// what they left out.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "tlc/core/cuda_runtime.hpp"

namespace {

constexpr int kSkipped = 77;

bool has_tag(const Catch::TestCase& t, const std::string& tag) {
  const auto& tags = t.getTestCaseInfo().lcaseTags;
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

// A test spec that matches exactly the case named `name` (Catch2 escapes with a backslash).
std::string exact_name(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (c == '\\' || c == ',' || c == '[' || c == ']' || c == '*' || c == '~' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (const int rc = session.applyCommandLine(argc, argv)) return rc;
  Catch::ConfigData& data = session.configData();
  if (data.listTests || data.listTestNamesOnly || data.listTags || data.listReporters || data.showHelp)
    return session.run();

  const bool have_gpu = tlc::cuda_device_count() > 0;
  const std::string unmet = have_gpu ? "no-gpu" : "gpu";
  const Catch::Config& config = session.config();
  std::vector<std::string> runnable;
  std::size_t left_out = 0;
  for (const Catch::TestCase& t : Catch::filterTests(Catch::getAllTestCasesSorted(config), config.testSpec(), config)) {
    if (has_tag(t, unmet))
      ++left_out;
    else
      runnable.push_back(t.getTestCaseInfo().name);
  }
  if (left_out == 0) return session.run();
  const char* why = have_gpu ? "need a machine without a CUDA device" : "need a CUDA device, found none";
  std::cout << left_out << " test case(s) not run: they " << why << "\n";
  if (runnable.empty()) return kSkipped;
  std::string spec;
  for (const std::string& name : runnable) spec += (spec.empty() ? "" : ",") + exact_name(name);
  data.testsOrTags = {spec};
  session.useConfigData(data);
  return session.run();
}
