#include "server/config.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace l2tpvpn {
namespace {

Result<DaemonConfig, ConfigError> parse(const std::string& text) {
  std::istringstream in(text);
  return parse_config(in, "test.conf");
}

TEST(Config, DefaultsFromEmptyFile) {
  auto c = parse("");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->port, 1701);
  EXPECT_EQ(c->listen_address, "0.0.0.0");
  EXPECT_TRUE(c->l2tp.secret.empty());
  EXPECT_EQ(c->l2tp.channel.max_retransmissions, 5u);
}

TEST(Config, ShippedExampleParses) {
  auto c = load_config_file(std::string(L2TPVPN_SOURCE_DIR) + "/etc/l2tpvpn/l2tpvpnd.conf");
  ASSERT_TRUE(c) << c.error().to_string();
}

TEST(Config, ValuesApplied) {
  auto c = parse("[l2tp]\nport = 1702\nsecret = abc\nhide_avps = yes\nhello_interval_s = 0\nmax_retransmissions=3\n"
                 "[log]\nlevel = debug\n");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->port, 1702);
  EXPECT_EQ(c->l2tp.secret, "abc");
  EXPECT_TRUE(c->l2tp.hide_avps);
  EXPECT_EQ(c->l2tp.channel.hello_interval.count(), 0);
  EXPECT_EQ(c->l2tp.channel.max_retransmissions, 3u);
  EXPECT_EQ(c->log_level, log::Level::kDebug);
}

struct BadCase {
  std::string text;
  int line;
  std::string key;
};

TEST(Config, ErrorsNameFileLineAndKey) {
  std::vector<BadCase> cases = {
      {"[l2tp]\nport = 70000\n", 2, "l2tp.port"},
      {"[l2tp]\n\nport = -1\n", 3, "l2tp.port"},
      {"[l2tp]\nport = abc\n", 2, "l2tp.port"},
      {"[l2tp]\nbogus = 1\n", 2, "l2tp.bogus"},
      {"# c\n[l2tp]\nlisten = 1.2.3\n", 3, "l2tp.listen"},
      {"[l2tp]\nhide_avps = yes\n", 2, "l2tp.hide_avps"},
      {"[l2tp]\nhide_avps = maybe\n", 2, "l2tp.hide_avps"},
      {"[log]\nlevel = loud\n", 2, "log.level"},
      {"[l2tp]\nretransmit_initial_ms = 5000\nretransmit_cap_ms = 1000\n", 3, "l2tp.retransmit_cap_ms"},
      {"[l2tp]\nport\n", 2, ""},
      {"[ppp]\ndata_path = fast\n", 2, "ppp.data_path"},
      {"[ppp]\nauth = mschap-v2, eap\n", 2, "ppp.auth"},
      {"[ppp]\nauth = ,\n", 2, "ppp.auth"},
      {"[ppp]\ndns = 1.1.1.1, 8.8.8.8, 9.9.9.9\n", 2, "ppp.dns"},
      {"[ppp]\ndns = 1.1.1\n", 2, "ppp.dns"},
      {"[ppp]\nmtu = 9000\n", 2, "ppp.mtu"},
      {"[ppp]\npppd = pppd\n", 2, "ppp.pppd"},
      {"[ppp]\nserver_name = a b\n", 2, "ppp.server_name"},
      {"[pool]\nrange = 10.0.0.9-10.0.0.1\n", 2, "pool.range"},
      {"[pool]\n\nserver_address = 10.0.0\n", 3, "pool.server_address"},
      {"[pool]\nexclude = 10.99.0.1x\n", 2, "pool.exclude"},
      {"[ipsec]\ncharon = maybe\n", 2, "ipsec.charon"},
      {"[ipsec]\npsk = short\n", 2, "ipsec.psk"},
      {"[ipsec]\nike_port = 4500\n", 2, "ipsec.ike_port"},
      {"[ipsec]\nike_port = 4501\nnat_t_port = 4501\n", 3, "ipsec.nat_t_port"},
      {"[ipsec]\nesp_proposals = aes128-sha1, aes 256\n", 2, "ipsec.esp_proposals"},
      {"[ipsec]\nvici_socket = /x\n", 2, "ipsec.vici_socket"},
      {"[firewall]\nbackend = pf\n", 2, "firewall.backend"},
      {"[firewall]\nwan_interface = a-very-long-interface-name\n", 2, "firewall.wan_interface"},
      {"[users]\nfile = users\n", 2, "users.file"},
  };
  for (const auto& bc : cases) {
    SCOPED_TRACE(bc.text);
    auto c = parse(bc.text);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().file, "test.conf");
    EXPECT_EQ(c.error().line, bc.line) << c.error().to_string();
    EXPECT_EQ(c.error().key, bc.key) << c.error().to_string();
    EXPECT_NE(c.error().to_string().find("test.conf:" + std::to_string(bc.line)), std::string::npos);
  }
}

TEST(Config, SessionSectionsApplied) {
  auto c = parse(
      "[ppp]\ndata_path = pty\nauth = mschap-v2, pap\ndns = 10.0.0.53, 10.0.0.54\nmtu = 1400\n"
      "plugin = /opt/l2tpvpn.so\n[pool]\nrange = 10.5.0.0/24\nserver_address = 10.5.0.1\nexclude = 10.5.0.2, "
      "10.5.0.5-10.5.0.9\n[ipsec]\nrequired = no\ncharon = embedded\npsk = 0123456789\nlegacy = yes\n"
      "[firewall]\nbackend = iptables-legacy\nwan_interface = eth0\n[users]\nfile = /tmp/u\n");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->ppp.data_path, DataPathMode::kPty);
  EXPECT_TRUE(c->ppp.mschap_v2);
  EXPECT_TRUE(c->ppp.pap);
  EXPECT_FALSE(c->ppp.chap);
  EXPECT_EQ(c->ppp.dns, (std::vector<std::string>{"10.0.0.53", "10.0.0.54"}));
  EXPECT_EQ(c->ppp.mtu, 1400);
  EXPECT_EQ(c->ppp.plugin, "/opt/l2tpvpn.so");
  EXPECT_EQ(c->pool.range, "10.5.0.0/24");
  EXPECT_EQ(c->pool.exclude, (std::vector<std::string>{"10.5.0.2", "10.5.0.5-10.5.0.9"}));
  EXPECT_FALSE(c->ipsec.required);
  EXPECT_EQ(c->ipsec.charon, CharonMode::kEmbedded);
  EXPECT_EQ(c->ipsec.psk, "0123456789");
  EXPECT_TRUE(c->ipsec.legacy);
  EXPECT_EQ(c->firewall.backend, "iptables-legacy");
  EXPECT_EQ(c->firewall.wan_interface, "eth0");
  EXPECT_EQ(c->users_file, "/tmp/u");
}

TEST(Config, PoolCidrCoversRangeAndServer) {
  EXPECT_EQ(pool_cidr(PoolSection{}), "10.99.0.0/24");
  EXPECT_EQ(pool_cidr(PoolSection{"10.5.0.0/24", "10.5.0.1", {}}), "10.5.0.0/24");
  EXPECT_EQ(pool_cidr(PoolSection{"10.5.0.16-10.5.0.31", "10.5.0.17", {}}), "10.5.0.16/28");
  EXPECT_EQ(pool_cidr(PoolSection{"10.5.0.16-10.5.0.31", "10.5.1.1", {}}), "10.5.0.0/23");
  EXPECT_EQ(pool_cidr(PoolSection{"192.168.7.5-192.168.7.5", "192.168.7.5", {}}), "192.168.7.5/32");
}

TEST(Config, MissingFile) {
  auto c = load_config_file("/nonexistent/l2tpvpnd.conf");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().file, "/nonexistent/l2tpvpnd.conf");
}

}  // namespace
}  // namespace l2tpvpn
