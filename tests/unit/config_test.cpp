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

TEST(Config, MissingFile) {
  auto c = load_config_file("/nonexistent/l2tpvpnd.conf");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().file, "/nonexistent/l2tpvpnd.conf");
}

}  // namespace
}  // namespace l2tpvpn
