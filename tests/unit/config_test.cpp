#include "server/config.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "server/config_file.hpp"
#include "server/firewall.hpp"

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

// ---- the table of keys

std::string section_of(std::string_view key) {
  return std::string(key.substr(0, key.find('.')));
}
std::string name_of(std::string_view key) {
  return std::string(key.substr(key.find('.') + 1));
}
std::string one_key(std::string_view key, const std::string& value) {
  return "[" + section_of(key) + "]\n" + name_of(key) + " = " + value + "\n";
}

// "section.name" -> value, as the file spells it (comments and blank lines skipped).
std::map<std::string, std::string> read_keys(const std::string& path) {
  std::map<std::string, std::string> out;
  std::ifstream in(path);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    auto eq = line.find('=');
    std::string key = line.substr(0, line.find_last_not_of(' ', eq - 1) + 1);
    std::string value = eq + 1 < line.size() ? line.substr(line.find_first_not_of(' ', eq + 1)) : "";
    if (line.find_first_not_of(' ', eq + 1) == std::string::npos) value.clear();
    out[section + "." + key] = value;
  }
  return out;
}

TEST(ConfigTable, KeysAreUniqueAndEachParsesItsDefault) {
  std::set<std::string_view> seen;
  for (const auto& k : config_keys()) {
    SCOPED_TRACE(std::string(k.key));
    EXPECT_TRUE(seen.insert(k.key).second) << "listed twice";
    EXPECT_NE(k.key.find('.'), std::string_view::npos);
    EXPECT_FALSE(k.doc.empty());
    EXPECT_EQ(find_config_key(k.key), &k);
    if (k.type == ValueType::kInteger) {
      EXPECT_LT(k.min, k.max);
    }
    if (k.type == ValueType::kEnum) {
      EXPECT_GE(k.allowed.size(), 2u);
    }
    // The default, written in the file, is accepted and changes nothing.
    auto c = parse(one_key(k.key, k.default_text()));
    ASSERT_TRUE(c) << c.error().to_string();
    EXPECT_TRUE(diff_config(DaemonConfig{}, *c).empty());
  }
  EXPECT_EQ(find_config_key("l2tp.bogus"), nullptr);
}

TEST(ConfigTable, ParserAcceptsExactlyTheTablesKeys) {
  // Every key the parser accepts is in the table (anything else is "unknown key"), and the other way round.
  for (const auto& k : config_keys()) EXPECT_TRUE(parse(one_key(k.key, k.default_text()))) << k.key;
  for (const char* text : {"[l2tp]\nhost = x\n", "[ppp]\npppd_path = /x\n", "[status]\nbearer = x\n",
                           "listen = 0.0.0.0\n", "[server]\nlisten = 0.0.0.0\n"}) {
    auto c = parse(text);
    ASSERT_FALSE(c) << text;
    EXPECT_EQ(c.error().message, "unknown key");
  }
}

TEST(ConfigTable, FirewallBackendWordsAreTheFirewallsOwn) {
  const ConfigKey* k = find_config_key("firewall.backend");
  ASSERT_NE(k, nullptr);
  for (auto word : k->allowed) {
    FirewallBackend b{};
    EXPECT_TRUE(word == "auto" || parse_firewall_backend(word, b)) << word;
  }
}

TEST(ConfigTable, ShippedFileListsEveryKeyWithItsDefault) {
  const std::string path = std::string(L2TPVPN_SOURCE_DIR) + "/etc/l2tpvpn/l2tpvpnd.conf";
  auto shipped = read_keys(path);
  for (const auto& k : config_keys()) {
    auto it = shipped.find(std::string(k.key));
    ASSERT_NE(it, shipped.end()) << k.key << " is missing from the shipped file";
    EXPECT_EQ(it->second, k.default_text()) << k.key;
  }
  for (const auto& [key, value] : shipped) EXPECT_NE(find_config_key(key), nullptr) << key << " is not in the table";
  auto c = load_config_file(path);
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(diff_config(DaemonConfig{}, *c).empty());
}

// A valid value other than the default, for every key; `base` is text both sides carry (what the value needs).
struct OtherValue {
  std::string value;
  std::string base;
};

OtherValue other_value(const ConfigKey& k) {
  static const std::map<std::string_view, OtherValue> special = {
      {"l2tp.hide_avps", {"true", "[l2tp]\nsecret = 0123456789\n"}},
      {"ipsec.psk", {"0123456789", ""}},
      {"ppp.auth", {"mschap-v2, pap", ""}},
      {"ppp.dns", {"10.0.0.53", ""}},
      {"pool.range", {"10.99.0.10-10.99.0.200", ""}},
      {"pool.server_address", {"10.99.0.2", ""}},
      {"pool.exclude", {"10.99.0.20", ""}},
      {"ipsec.ike_proposals", {"aes256-sha256-modp2048", ""}},
      {"ipsec.esp_proposals", {"aes256-sha256", ""}},
  };
  if (auto it = special.find(k.key); it != special.end()) return it->second;
  std::string d = k.default_text();
  switch (k.type) {
    case ValueType::kBool: return {d == "true" ? "false" : "true", ""};
    case ValueType::kInteger: return {std::to_string(std::stoll(d) < k.max ? std::stoll(d) + 1 : k.min), ""};
    case ValueType::kEnum:
      for (auto w : k.allowed)
        if (w != d) return {std::string(w), ""};
      break;
    case ValueType::kIpv4: return {d == "127.0.0.2" ? "127.0.0.3" : "127.0.0.2", ""};
    case ValueType::kPath: return {d.empty() ? "/tmp/other" : d + ".other", ""};
    case ValueType::kString: return {d + "x", ""};
    case ValueType::kList: break;
  }
  ADD_FAILURE() << k.key << ": no other value known";
  return {d, ""};
}

TEST(ConfigReload, ChangingOneKeyIsDetectedAsExactlyThatKey) {
  for (const auto& k : config_keys()) {
    SCOPED_TRACE(std::string(k.key));
    auto other = other_value(k);
    auto before = parse(other.base);
    auto after = parse(other.base + one_key(k.key, other.value));
    ASSERT_TRUE(before) << before.error().to_string();
    ASSERT_TRUE(after) << after.error().to_string();
    EXPECT_EQ(diff_config(*before, *after), (std::vector<ConfigChange>{{k.key, k.reload}}));
    // Applied or reported, never neither.
    auto plan = plan_reload(*before, *after);
    EXPECT_EQ(plan.applied.size() + plan.needs_restart.size(), 1u);
    if (k.reload == ReloadClass::kRestart) {
      EXPECT_TRUE(diff_config(*before, plan.next).empty()) << "a restart key keeps its running value";
    } else {
      EXPECT_TRUE(diff_config(*after, plan.next).empty()) << "an applicable key is applied";
    }
  }
}

TEST(ConfigReload, ChangingEveryKeyAppliesOrReportsEachOne) {
  std::string text;
  for (const auto& k : config_keys()) text += one_key(k.key, other_value(k).value);
  auto fresh = parse(text);
  ASSERT_TRUE(fresh) << fresh.error().to_string();
  DaemonConfig running;
  auto changes = diff_config(running, *fresh);
  ASSERT_EQ(changes.size(), config_keys().size());
  auto plan = plan_reload(running, *fresh);
  EXPECT_EQ(plan.applied.size() + plan.needs_restart.size(), config_keys().size());
  for (const auto& c : plan.applied) EXPECT_NE(c.reload, ReloadClass::kRestart) << c.key;
  for (const auto& c : plan.needs_restart) EXPECT_EQ(c.reload, ReloadClass::kRestart) << c.key;
  // What is left between the new running config and the file is exactly what needs a restart.
  EXPECT_EQ(diff_config(plan.next, *fresh), plan.needs_restart);
}

TEST(ConfigReload, ClassesOfSomeKeys) {
  auto reload_of = [](std::string_view key) { return find_config_key(key)->reload; };
  EXPECT_EQ(reload_of("log.level"), ReloadClass::kLive);
  EXPECT_EQ(reload_of("status.token"), ReloadClass::kLive);
  EXPECT_EQ(reload_of("users.file"), ReloadClass::kLive);
  EXPECT_EQ(reload_of("l2tp.hello_interval_s"), ReloadClass::kNewSessions);
  EXPECT_EQ(reload_of("ppp.dns"), ReloadClass::kNewSessions);
  EXPECT_EQ(reload_of("l2tp.port"), ReloadClass::kRestart);
  EXPECT_EQ(reload_of("pool.range"), ReloadClass::kRestart);
  EXPECT_EQ(reload_of("firewall.backend"), ReloadClass::kRestart);
}

TEST(Config, DuplicateKeyNamesItsSecondLine) {
  auto c = parse("[l2tp]\nport = 1\n[ppp]\nmtu = 1400\n[l2tp]\nport = 2\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().line, 6);
  EXPECT_EQ(c.error().key, "l2tp.port");
  EXPECT_EQ(c.error().message, "given more than once");
}

TEST(Config, RangeErrorsSayTheRange) {
  auto c = parse("[ppp]\n\nlcp_echo_failure = 0\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().to_string(), "test.conf:3: ppp.lcp_echo_failure: must be between 1 and 100, got 0");
}

TEST(Config, SecretKeysAreMarkedInTheTable) {
  std::vector<std::string_view> marked;
  for (const auto& k : config_keys())
    if (k.secret) marked.push_back(k.key);
  EXPECT_EQ(marked, (std::vector<std::string_view>{"l2tp.secret", "status.token", "ipsec.psk"}));
}

TEST(Config, InlineSecretKeysAreTheSecretsThatAreSet) {
  auto none = parse("[ipsec]\npsk =\npsk_file = /etc/l2tpvpn/ipsec.secret\n[status]\ntoken =\n");
  ASSERT_TRUE(none) << none.error().to_string();
  EXPECT_TRUE(inline_secret_keys(*none).empty());
  auto some = parse("[ipsec]\npsk = 0123456789\n[l2tp]\nsecret = s\n");
  ASSERT_TRUE(some) << some.error().to_string();
  EXPECT_EQ(inline_secret_keys(*some), (std::vector<std::string_view>{"l2tp.secret", "ipsec.psk"}));
}

TEST(Config, KeyLine) {
  const std::string text = "# comment\n[l2tp]\nport = 1702\n\n[ipsec]\n  psk = 0123456789\n";
  EXPECT_EQ(config_key_line(text, "ipsec.psk"), 6);
  EXPECT_EQ(config_key_line(text, "l2tp.port"), 3);
  EXPECT_EQ(config_key_line(text, "status.token"), 0);
}

}  // namespace
}  // namespace l2tpvpn
