// Fuzzes the status reader (server/status: status_from_json, sessions_from_json), what l2tpvpnctl applies to the
// daemon's answer. The input is parsed as JSON (inputs that are not JSON are skipped). The reader must never throw
// or crash, whatever the shape. What it read, written again (to_json), must dump, and read back with nothing
// unread. With an "ipsec" part it must also come back as the same document (without one, the writer fills the
// part in, so the second reading differs by those defaults).
//
// Seed corpus (tests/fuzz/corpus/status_read/): a whole document, one with wrong types and unknown states.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "server/status.hpp"

using namespace l2tpvpn;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  (void)sessions_from_json(doc);
  auto first = status_from_json(doc);
  nlohmann::json again = to_json(first.value);
  (void)again.dump();
  auto second = status_from_json(again);
  check(second.unread.empty());
  if (first.value.ipsec) check(to_json(second.value) == again);
  return 0;
}
