// Fuzzes every place a peer-chosen string is shown: the input's bytes, split at 0xff 0xfe into up to five pieces,
// become a tunnel's Host Name, a user name, a drop reason and the IKE/CHILD SA names of a status snapshot. Then:
//   - /status JSON (to_json) dumps without throwing, and reading it back (status_from_json) gives the same bytes;
//   - /metrics has no line that starts anything but a comment or an l2tpvpn_ sample;
//   - l2tpvpnctl's tables are printable ASCII, with as many lines as for plain names (no injected line).
//
// Seed corpus (tests/fuzz/corpus/status_render/): terminal escapes, newlines, invalid UTF-8, quotes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "cli/render.hpp"
#include "server/status.hpp"

using namespace l2tpvpn;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

StatusSnapshot snapshot(const std::vector<std::string>& s) {
  StatusSnapshot snap;
  TunnelView t;
  t.id = 1;
  t.peer = "192.0.2.2:1701";
  t.peer_host_name = s[0];
  t.state = l2tp::TunnelState::kEstablished;
  snap.l2tp.tunnels.push_back(t);
  snap.l2tp.drops[s[2].empty() ? "x" : s[2]] = 1;
  IpsecView ip;
  ip.sas.push_back(SaView{"192.0.2.2", 4500, true, true, s[3], s[4], "ike", "esp", 1, 2});
  snap.ipsec = ip;
  snap.ppp = PppView{};
  SessionView v;
  v.tunnel = 1;
  v.session = 2;
  v.user = s[1];
  snap.sessions.push_back(v);
  return snap;
}

size_t lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> pieces(5);
  size_t k = 0;
  for (size_t i = 0; i < size; ++i) {
    if (i + 1 < size && data[i] == 0xff && data[i + 1] == 0xfe && k + 1 < pieces.size()) {
      ++k;
      ++i;
      continue;
    }
    pieces[k].push_back(static_cast<char>(data[i]));
  }
  const StatusSnapshot snap = snapshot(pieces);

  const nlohmann::json j = to_json(snap);
  std::string dumped;
  try {
    dumped = j.dump();
  } catch (...) {
    std::abort();
  }
  auto read = status_from_json(nlohmann::json::parse(dumped));
  check(read.unread.empty());
  check(read.value.l2tp.tunnels.at(0).peer_host_name == pieces[0]);
  check(read.value.sessions.at(0).user == pieces[1]);
  check(read.value.l2tp.drops == snap.l2tp.drops);
  check(read.value.ipsec->sas.at(0).ike_sa == pieces[3] && read.value.ipsec->sas.at(0).child_sa == pieces[4]);

  const std::string metrics = to_metrics(snap);
  for (size_t pos = 0; pos < metrics.size();) {
    size_t nl = metrics.find('\n', pos);
    check(nl != std::string::npos);
    check(metrics.compare(pos, 2, "# ") == 0 || metrics.compare(pos, 8, "l2tpvpn_") == 0);
    pos = nl + 1;
  }

  const std::string table = cli::render_status(read.value);
  for (char c : table) check(c == '\n' || (c >= 0x20 && c < 0x7f));
  const StatusSnapshot plain = snapshot({"h", "u", "r", "i", "c"});
  check(lines(table) == lines(cli::render_status(plain)));
  return 0;
}
