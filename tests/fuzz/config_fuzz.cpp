// Fuzzes the configuration parser (server/config) with the input as the file's text: parse_config must return a
// config or a ConfigError (never throw, never crash), an error names a line inside the text, and a parsed config
// written back key by key through the table (ConfigKey::get) parses to the same values (diff_config is empty).
//
// Seed corpus (tests/fuzz/corpus/config/): the shipped file, lists, a range error, syntax errors.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "server/config.hpp"

using namespace l2tpvpn;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::istringstream in(text);
  auto c = parse_config(in, "fuzz.conf");
  if (!c) {
    const auto& e = c.error();
    check(e.file == "fuzz.conf" && !e.message.empty() && e.line >= 0);
    int lines = 1;
    for (char ch : text) lines += ch == '\n';
    check(e.line <= lines);
    return 0;
  }
  std::string again;
  for (const auto& k : config_keys()) {
    auto dot = k.key.find('.');
    again +=
        "[" + std::string(k.key.substr(0, dot)) + "]\n" + std::string(k.key.substr(dot + 1)) + " = " + k.get(*c) + "\n";
  }
  std::istringstream in2(again);
  auto c2 = parse_config(in2, "fuzz.conf");
  check(c2.has_value());
  check(diff_config(*c, *c2).empty());
  return 0;
}
