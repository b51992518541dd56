// server/status: the /status and /metrics views of the L2TP endpoint. A LAC and an LNS endpoint exchange
// datagrams in memory (virtual time) so the LNS holds a real tunnel to render.
#include "server/status.hpp"

#include <gtest/gtest.h>

#include <random>

namespace l2tpvpn {
namespace {

using namespace l2tp;

RandomFn seeded(uint64_t seed) {
  auto rng = std::make_shared<std::mt19937_64>(seed);
  return [rng](std::span<uint8_t> out) {
    for (auto& b : out) b = static_cast<uint8_t>((*rng)());
  };
}

const PeerAddress kLacAddr = PeerAddress::v4(0xc0000202, 1701);  // 192.0.2.2
const PeerAddress kLnsAddr = PeerAddress::v4(0xc0000201, 1701);  // 192.0.2.1

// An LNS with one established tunnel from a LAC that calls itself `host_name`.
std::unique_ptr<Endpoint> lns_with_tunnel_from(const std::string& host_name) {
  L2tpConfig lac_cfg, lns_cfg;
  lac_cfg.role = Role::kLac;
  lac_cfg.host_name = host_name;
  lns_cfg.role = Role::kLns;
  lns_cfg.host_name = "lns";
  lac_cfg.channel.hello_interval = lns_cfg.channel.hello_interval = Duration(0);
  Endpoint lac(lac_cfg, seeded(1));
  auto lns = std::make_unique<Endpoint>(lns_cfg, seeded(2));
  TimePoint now{};
  EXPECT_TRUE(lac.open_tunnel(now, kLnsAddr));
  for (int round = 0; round < 20; ++round) {
    for (auto& a : lac.take_actions())
      if (auto* s = std::get_if<SendDatagram>(&a)) lns->on_datagram(now, kLacAddr, s->bytes);
    for (auto& a : lns->take_actions())
      if (auto* s = std::get_if<SendDatagram>(&a)) lac.on_datagram(now, kLnsAddr, s->bytes);
    now += Duration(200);  // past the delayed-ack timer, so the last ZLB goes out
    lac.on_timer(now);
    lns->on_timer(now);
  }
  return lns;
}

TEST(Status, HostileHostNameIsEscapedAndTheJsonDumps) {
  // Invalid UTF-8 and a newline: nlohmann's dump() throws on the former, the latter would forge a log line.
  auto lns = lns_with_tunnel_from(std::string("\xff\nevil\"", 7));
  auto j = l2tp_status(*lns);
  ASSERT_EQ(j["tunnels"].size(), 1u);
  EXPECT_EQ(j["tunnels"][0]["state"], "established");
  EXPECT_EQ(j["tunnels"][0]["peer_host_name"], "\\xFF\\x0Aevil\\\"");
  std::string text;
  EXPECT_NO_THROW(text = j.dump(2));
  EXPECT_NE(text.find(R"("peer_host_name": "\\xFF\\x0Aevil\\\"")"), std::string::npos) << text;
}

TEST(Status, OrdinaryHostNameUnchanged) {
  auto lns = lns_with_tunnel_from("WIN-CLIENT01");
  EXPECT_EQ(l2tp_status(*lns)["tunnels"][0]["peer_host_name"], "WIN-CLIENT01");
}

}  // namespace
}  // namespace l2tpvpn
